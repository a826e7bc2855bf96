//! Integration tests of pw-auth-http: one binary, one module per concern.
#![allow(
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failing unwrap is a failing test"
)]

mod authorization;
mod challenges;
mod client;
mod forwarded;
mod greenbytes;
#[cfg(feature = "http")]
mod http_types;
#[cfg(feature = "memory")]
mod key_limit;
mod login;
mod outcomes;
mod server;
