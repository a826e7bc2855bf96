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
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code: a failing unwrap is a failing test"
)]

mod secrets;
mod services;

use pw_auth_memcheck::Scanning;
use secrets::{CLOSING, KEPT_ALIVE, issued_secrets_in_freed_blocks, log_in_and_stop};

#[global_allocator]
static ALLOC: Scanning = Scanning;

#[test]
fn a_login_on_a_closed_connection_leaves_the_password_in_no_freed_block() {
    let (answer, found) = log_in_and_stop("memcheck-close", CLOSING, false);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"token\""), "{answer}");
    assert_eq!(
        found, [0; 0],
        "freed blocks (these sizes) held the password"
    );
}

#[test]
fn a_login_on_a_kept_alive_connection_leaves_the_password_in_no_freed_block() {
    let (answer, found) = log_in_and_stop("memcheck-alive", KEPT_ALIVE, false);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.contains("connection: close"), "{answer}");
    assert_eq!(
        found, [0; 0],
        "freed blocks (these sizes) held the password"
    );
}

#[test]
fn a_connection_aborted_at_the_shutdown_deadline_leaves_the_password_in_no_freed_block() {
    let (answer, found) = log_in_and_stop("memcheck-abort", KEPT_ALIVE, true);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        found, [0; 0],
        "freed blocks (these sizes) held the password"
    );
}

#[test]
fn over_a_login_and_a_key_creation_the_server_copies_no_secret_into_a_small_block() {
    let found = issued_secrets_in_freed_blocks();
    for (what, sizes) in [
        ("password", &found.password),
        ("token", &found.token),
        ("key", &found.key),
    ] {
        assert!(
            sizes.iter().all(|&size| size >= 1024),
            "freed blocks of these sizes held the {what}: {sizes:?}"
        );
    }
}
