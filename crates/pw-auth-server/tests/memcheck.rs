//! The server's own wiping, under the scanning allocator over the system's (no
//! zeroing): after a login and a key creation over loopback, which freed heap blocks
//! still held the password, the token or the key? The scenarios are in `secrets/`.
//!
//! On one connection, the password (a slice of hyper's read buffer, kept and wiped
//! once the server holds its only reference) is in no freed block at all.
//!
//! Over a login and then a key creation, one secret reaches a block no code outside
//! hyper can reach: hyper reads the key request's `Authorization: Bearer` head into a
//! connection buffer of its own (8 KiB) and frees it unwiped (the binary's zeroing
//! allocator clears it; `memcheck_zeroing.rs`). So here the token may be found in
//! blocks of that size and nowhere else, and the password and the key nowhere.
//!
//! Each check runs its scenario (an ignored test of this binary) in a fresh process
//! of its own, which must be clean: one server, one allocator's record, no other
//! test's frees. Until 2026-12-07 a check passed when one of three processes was:
//! the scanner gathered its needle on the stack of every thread that freed a block
//! while armed, and the next large value built there with room it left unwritten (a
//! future, a task) carried that copy to the heap, now and then where the checks look
//! (`pw-auth-memcheck` compares the needle from its atomics now, copying it nowhere).
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

/// Runs `scenario`, an ignored test of this binary, in a fresh process; panics with
/// its finding unless it passed.
fn clean_in_a_process_of_its_own(what: &str, scenario: &str) {
    let exe = std::env::current_exe().unwrap();
    let run = std::process::Command::new(&exe)
        .args(["--exact", scenario, "--ignored", "--test-threads=1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    if run.status.success() {
        assert!(
            stdout.contains("1 passed"),
            "{scenario} did not run: {stdout}"
        );
        return;
    }
    let stderr = String::from_utf8_lossy(&run.stderr);
    let finding: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| l.contains(FINDING))
        .collect();
    assert!(
        !finding.is_empty(),
        "{scenario} failed otherwise: {stdout}{stderr}"
    );
    panic!("{what}: {}", finding.join("; "));
}

/// The size of hyper's connection read buffer, which holds a request's head and is
/// freed unwiped (the module's documentation).
const HYPER_READ_BUFFER: usize = 8192;

/// What a scenario's failure says, so that a failure of another kind is told apart.
const FINDING: &str = "memcheck finding:";

/// A login on one connection: answered 200, and the password in no freed block.
fn one_login(kind: &'static str, request: &'static [u8], abort: bool) {
    let (answer, found) = log_in_and_stop(kind, request, abort);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"token\""), "{answer}");
    assert!(found.is_empty(), "{FINDING} block sizes {found:?}");
}

#[test]
fn a_login_on_a_closed_connection_leaves_the_password_in_no_freed_block() {
    clean_in_a_process_of_its_own("freed blocks held the password", "scenario_login_closed");
}

#[test]
fn a_login_on_a_kept_alive_connection_leaves_the_password_in_no_freed_block() {
    clean_in_a_process_of_its_own(
        "freed blocks held the password",
        "scenario_login_kept_alive",
    );
}

#[test]
fn a_connection_aborted_at_the_shutdown_deadline_leaves_the_password_in_no_freed_block() {
    clean_in_a_process_of_its_own("freed blocks held the password", "scenario_login_aborted");
}

#[test]
fn over_a_login_and_a_key_creation_no_secret_is_left_but_the_token_in_hypers_read_buffer() {
    clean_in_a_process_of_its_own(
        "freed blocks held a secret",
        "scenario_login_and_key_creation",
    );
}

#[test]
#[ignore = "one run of a check, in a process of its own: run by the check"]
fn scenario_login_closed() {
    one_login("memcheck-close", CLOSING, false);
}

#[test]
#[ignore = "one run of a check, in a process of its own: run by the check"]
fn scenario_login_kept_alive() {
    one_login("memcheck-alive", KEPT_ALIVE, false);
}

#[test]
#[ignore = "one run of a check, in a process of its own: run by the check"]
fn scenario_login_aborted() {
    one_login("memcheck-abort", KEPT_ALIVE, true);
}

#[test]
#[ignore = "one run of a check, in a process of its own: run by the check"]
fn scenario_login_and_key_creation() {
    let found = issued_secrets_in_freed_blocks();
    let copies: Vec<String> = [
        ("password", &found.password, None),
        ("token", &found.token, Some(HYPER_READ_BUFFER)),
        ("key", &found.key, None),
    ]
    .into_iter()
    .filter(|(_, sizes, allowed)| sizes.iter().any(|&size| Some(size) != *allowed))
    .map(|(what, sizes, _)| format!("the {what} in blocks of {sizes:?}"))
    .collect();
    assert!(copies.is_empty(), "{FINDING} {}", copies.join("; "));
}
