//! Tests of the harness: corpus replay, proptest over the same harness functions, and
//! the model-based check of the policy engine.
#![allow(
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failing unwrap is a failing test"
)]

mod model;
mod properties;
mod replay;
