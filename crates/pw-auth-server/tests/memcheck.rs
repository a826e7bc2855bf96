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
//! moved to the heap next — so now and then one lands where these checks look (in a
//! 288-byte block, a small task, about one process in ten under load; and then in
//! every run of that process, its threads repeating the same steps). A copy the server
//! makes is made in every process. So each check runs its scenario in a fresh process
//! of this test binary (an ignored test that fails on any finding), up to [`RUNS`]
//! times, and passes when one of them is clean: a server that copies a secret fails
//! every time, residue that happened once does not.
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

/// How many processes a check gets; it passes on the first clean one.
const RUNS: usize = 3;

/// Runs `scenario`, an ignored test of this binary, in a fresh process, at most
/// [`RUNS`] times; panics with every run's finding if none was clean.
fn clean_in_one_of_the_processes(what: &str, scenario: &str) {
    let exe = std::env::current_exe().unwrap();
    let mut found = Vec::new();
    for _ in 0..RUNS {
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
        found.push(finding.join("; "));
    }
    panic!("{what}, in every one of {RUNS} processes: {found:#?}");
}

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
    clean_in_one_of_the_processes("freed blocks held the password", "scenario_login_closed");
}

#[test]
fn a_login_on_a_kept_alive_connection_leaves_the_password_in_no_freed_block() {
    clean_in_one_of_the_processes(
        "freed blocks held the password",
        "scenario_login_kept_alive",
    );
}

#[test]
fn a_connection_aborted_at_the_shutdown_deadline_leaves_the_password_in_no_freed_block() {
    clean_in_one_of_the_processes("freed blocks held the password", "scenario_login_aborted");
}

#[test]
fn over_a_login_and_a_key_creation_the_server_copies_no_secret_into_a_small_block() {
    clean_in_one_of_the_processes(
        "freed blocks under 1 KiB held a secret",
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
    let small: Vec<String> = [
        ("password", &found.password),
        ("token", &found.token),
        ("key", &found.key),
    ]
    .into_iter()
    .filter(|(_, sizes)| sizes.iter().any(|&size| size < 1024))
    .map(|(what, sizes)| format!("the {what} in blocks of {sizes:?}"))
    .collect();
    assert!(small.is_empty(), "{FINDING} {}", small.join("; "));
}
