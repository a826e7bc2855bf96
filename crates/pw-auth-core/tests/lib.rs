//! Integration tests of pw-auth-core: one binary, one module per concern.
#![allow(
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failing unwrap is a failing test"
)]

mod audit;
mod authn;
mod decisions;
mod edges;
mod grants;
mod keys;
mod lifetimes;
mod limits;
mod policy;
mod roles;
mod secrets;
mod support;
