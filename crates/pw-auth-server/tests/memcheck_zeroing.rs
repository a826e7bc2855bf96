//! The reference server as its binary runs it: under 1Password's `zeroizing-alloc`
//! (every freed block zeroed, as `src/main.rs` installs it) over the scanning
//! allocator, no freed heap block holds the password, the token or the key after a
//! login and a key creation over loopback — not even hyper's read buffers, which hold
//! request heads and which nothing outside hyper can wipe. The scenarios are in
//! `secrets/`; `memcheck.rs` runs them without the zeroing.
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
use zeroizing_alloc::ZeroAlloc;

/// Zeroes each block, then hands it to the scanner, which then sees only zeros.
#[global_allocator]
static ALLOC: ZeroAlloc<Scanning> = ZeroAlloc(Scanning);

#[test]
fn logins_leave_the_password_in_no_freed_block() {
    for (kind, request) in [("zeroing-close", CLOSING), ("zeroing-alive", KEPT_ALIVE)] {
        let (answer, found) = log_in_and_stop(kind, request, false);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert_eq!(
            found, [0; 0],
            "freed blocks (these sizes) held the password"
        );
    }
}

#[test]
fn no_password_token_or_key_is_left_in_a_freed_block() {
    let found = issued_secrets_in_freed_blocks();
    assert_eq!(
        found.password, [0; 0],
        "freed blocks (these sizes) held the password"
    );
    assert_eq!(
        found.token, [0; 0],
        "freed blocks (these sizes) held the token"
    );
    assert_eq!(found.key, [0; 0], "freed blocks (these sizes) held the key");
}
