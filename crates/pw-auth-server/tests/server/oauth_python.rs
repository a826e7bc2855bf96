//! The standard OAuth 2.0 endpoints used by a widely used Python client nobody here
//! wrote: authlib (PyPI, pinned; `.ci/services` installs it into `target/ci-venv`)
//! runs `python/oauth_authlib.py` against a server on loopback — a token by client
//! credentials both ways, a protected route, introspection, revocation, and a wrong
//! secret refused.

use std::path::Path;

use crate::fixture::{Fixture, Stores, TestClock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_fetches_introspects_and_revokes_a_token() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = manifest.join("../../target/ci-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run .ci/services (the README's test command does)",
        python.display()
    );
    let script = manifest.join("tests/server/python/oauth_authlib.py");
    let f = Fixture::with(
        Stores::sqlite("oauth-authlib"),
        TestClock::default(),
        |_| {},
    )
    .await;
    let base = f.url("/");
    // Bounded: the script makes a dozen requests; killed past a minute.
    let run = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(python)
            .arg(script)
            .arg(base)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        for _ in 0..600 {
            if child.try_wait().unwrap().is_some() {
                return child.wait_with_output().unwrap();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        child.kill().unwrap();
        panic!("the authlib script did not finish within a minute");
    });
    let out = run.await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "ok", "{stderr}");
    f.stop().await;
}
