//! The server's own wiping, under the scanning allocator over the system's (no
//! zeroing): after a login and a key creation over loopback, which freed heap blocks
//! still held the password, the token or the key? The scenarios are in `secrets/`.
//!
//! On one connection, the password (a slice of hyper's read buffer, kept and wiped
//! once the server holds its only reference) is in no freed block at all.
//!
//! Over a login and then a key creation, secrets also reach blocks no code outside
//! hyper and the compiler can reach: hyper reads the key request's `Authorization:
//! Bearer` head into a connection buffer of its own (8 KiB) and frees it unwiped; and
//! a large future moved from the stack to the heap (a connection's task, ~2 KiB) takes
//! along the stack's stale bytes in its uninitialised parts, where the handler of an
//! earlier request on that thread left the password or the token (seen at offset 768
//! of a 1,920-byte task: a length, then the secret). So here the secrets may be found
//! only in blocks of 1 KiB or more: a copy the server made of one (a `String` of a
//! password or of a body, 17 to ~200 bytes) would be smaller. `memcheck_zeroing.rs`
//! runs the same scenarios under the binary's zeroing allocator, where nothing may be
//! found at all.
//!
//! Stale stack bytes reach the heap by chance — which thread ran what, and what it
//! moved to the heap next — so now and then (about once in fifty runs, seen under
//! load) one lands where these checks look. A copy the server makes is made on every
//! run. So each check here passes when one of [`RUNS`] runs is clean, and fails when
//! every run finds the secret: a server that copies a secret fails it every time,
//! residue that happened once does not.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code: a failing unwrap is a failing test"
)]

mod secrets;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use pw_auth_memcheck::Scanning;
use secrets::{CLOSING, KEPT_ALIVE, issued_secrets_in_freed_blocks, log_in_and_stop};

#[global_allocator]
static ALLOC: Scanning = Scanning;

/// How many runs a check gets; it passes on the first clean one.
const RUNS: usize = 3;

/// Runs `run` until it returns `None` (clean), at most [`RUNS`] times; panics with
/// every run's finding if none was clean.
fn clean_in_one_of_the_runs(what: &str, mut run: impl FnMut() -> Option<String>) {
    let mut found = Vec::new();
    for _ in 0..RUNS {
        match run() {
            None => return,
            Some(f) => found.push(f),
        }
    }
    panic!("{what}, in every one of {RUNS} runs: {found:#?}");
}

/// The check of a login on one connection: answered 200, and the password in no
/// freed block.
fn one_login(kind: &'static str, request: &'static [u8], abort: bool) {
    clean_in_one_of_the_runs("freed blocks held the password", || {
        let (answer, found) = log_in_and_stop(kind, request, abort);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\"token\""), "{answer}");
        (!found.is_empty()).then(|| format!("block sizes {found:?}"))
    });
}

#[test]
fn a_login_on_a_closed_connection_leaves_the_password_in_no_freed_block() {
    one_login("memcheck-close", CLOSING, false);
}

#[test]
fn a_login_on_a_kept_alive_connection_leaves_the_password_in_no_freed_block() {
    one_login("memcheck-alive", KEPT_ALIVE, false);
}

#[test]
fn a_connection_aborted_at_the_shutdown_deadline_leaves_the_password_in_no_freed_block() {
    one_login("memcheck-abort", KEPT_ALIVE, true);
}

#[test]
fn over_a_login_and_a_key_creation_the_server_copies_no_secret_into_a_small_block() {
    clean_in_one_of_the_runs("freed blocks under 1 KiB held a secret", || {
        let found = issued_secrets_in_freed_blocks();
        let small: Vec<String> = [
            ("password", &found.password),
            ("token", &found.token),
            ("key", &found.key),
        ]
        .into_iter()
        .filter(|(_, sizes)| sizes.iter().any(|&size| size < 1024))
        .map(|(what, sizes)| format!("the {what} in blocks of {sizes:?}"))
        .collect();
        (!small.is_empty()).then(|| small.join("; "))
    });
}
