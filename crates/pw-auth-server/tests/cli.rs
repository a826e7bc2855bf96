//! The `pw-auth-server` binary as an operator runs it: `check-config`, and `serve`
//! from a TOML file with a flag over it, its logs on stderr, a policy reloaded by
//! `SIGHUP`, and a clean stop on `SIGINT`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code: a failing unwrap is a failing test"
)]

#[path = "support/temp_dir.rs"]
mod temp_dir;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pw-auth-server");

fn check_config(file: &Path) -> (bool, String, String) {
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn check_config_says_ok_or_names_the_line() {
    let dir = temp_dir::TempDir::new("cli-check");
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "listen = \"127.0.0.1:9000\"\nlog-format = \"json\"\n",
    )
    .unwrap();
    let (ok, out, _) = check_config(&good);
    assert!(ok);
    assert!(
        out.contains("ok") && out.contains("127.0.0.1:9000"),
        "{out}"
    );

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "listen = \"127.0.0.1:9000\"\nmax-connections = 0\n").unwrap();
    let (ok, _, err) = check_config(&bad);
    assert!(!ok);
    assert!(
        err.starts_with(&format!("{}:2:1: ", bad.display())),
        "{err}"
    );

    // The policy file it names is compiled too, its error located in that file.
    let policy = dir.join("policy.json");
    std::fs::write(&policy, "{\"name\": \"x\",\n \"version\": 1}").unwrap();
    let with_policy = dir.join("with-policy.toml");
    std::fs::write(
        &with_policy,
        format!("policy = {:?}\n", policy.display().to_string()),
    )
    .unwrap();
    let (ok, _, err) = check_config(&with_policy);
    assert!(!ok);
    assert!(
        err.contains("policy.json") && err.contains("line 2"),
        "{err}"
    );
}

/// Lines of the child's stderr, as they come.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (at most 30 s) for a line containing `needle`; returns it.
fn wait_for(lines: &Receiver<String>, needle: &str, seen: &mut Vec<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                panic!("no line with {needle:?}; saw {seen:#?}")
            }
        }
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn get(url: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().status().as_u16() })
}

#[test]
fn serve_reads_its_file_and_flags_reloads_on_sighup_and_stops_on_sigint() {
    let dir = temp_dir::TempDir::new("cli-serve");
    let policy = dir.join("policy.json");
    std::fs::write(&policy, pw_auth_core::Policy::default_document_json()).unwrap();
    let config = dir.join("pw-auth.toml");
    std::fs::write(
        &config,
        format!(
            "# from the file\nlisten = \"127.0.0.1:1\"\nmetrics-listen = \"127.0.0.1:0\"\ndb = {:?}\npolicy = {:?}\n",
            dir.join("records.sqlite").display().to_string(),
            policy.display().to_string(),
        ),
    )
    .unwrap();
    let pid_file = dir.join("pw-auth.pid");
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        // The flag wins over the file's port 1.
        .args(["--listen", "127.0.0.1:0", "--pid-file"])
        .arg(&pid_file)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut child);
    let mut seen = Vec::new();
    let listening = wait_for(&lines, "listening on http://", &mut seen);
    let addr = listening
        .split("http://")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let metrics = wait_for(&lines, "metrics on http://", &mut seen);
    let metrics = metrics.split("metrics on ").nth(1).unwrap().to_owned();
    assert_eq!(get(&format!("http://{addr}/healthz")), 200);
    assert_eq!(get(&metrics), 200, "the file's metrics-listen");
    assert_eq!(get(&format!("http://{addr}/metrics")), 404);
    wait_for(&lines, "answered", &mut seen);

    // SIGHUP reloads the policy file: a new version is named in the log.
    let text = pw_auth_core::Policy::default_document_json().replacen(
        "\"version\": \"",
        "\"version\": \"reloaded-",
        1,
    );
    std::fs::write(&policy, text).unwrap();
    signal(&child, "-HUP");
    let reloaded = wait_for(&lines, "policy reloaded", &mut seen);
    assert!(reloaded.contains("@reloaded-"), "{reloaded}");

    // And a broken one is refused, the error located, the server still up — this
    // time asked by the operators' command, through the pid file.
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        child.id().to_string()
    );
    std::fs::write(&policy, "{\n  oops\n}").unwrap();
    let asked = Command::new(BIN)
        .args(["admin", "reload-policy", "--pid-file"])
        .arg(&pid_file)
        .output()
        .unwrap();
    assert!(asked.status.success(), "{asked:?}");
    let refused = wait_for(&lines, "policy reload refused", &mut seen);
    assert!(refused.contains("line 2"), "{refused}");
    assert_eq!(get(&format!("http://{addr}/healthz")), 200);

    signal(&child, "-INT");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(!pid_file.exists(), "removed at the stop");
    let gone = Command::new(BIN)
        .args(["admin", "reload-policy", "--pid-file"])
        .arg(&pid_file)
        .output()
        .unwrap();
    assert!(!gone.status.success());
}

/// `admin OP …` on `db`, with `stdin` written to it: success, stdout, stderr.
fn admin(db: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("admin")
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A server on `db`, and its address.
fn serve(db: &Path) -> (Child, Receiver<String>, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut child);
    let line = wait_for(&lines, "listening on http://", &mut Vec::new());
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    (child, lines, addr)
}

fn stop(mut child: Child) {
    signal(&child, "-INT");
    assert!(child.wait().unwrap().success());
}

/// Logs in as `username`: the status, and `Bearer <token>` when it worked.
fn log_in(addr: &str, username: &str, password: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("http://{addr}/fabric/api/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        (
            status,
            format!("Bearer {}", v["token"].as_str().unwrap_or("")),
        )
    })
}

/// `GET /fabric/api/flows` as `who`, in `company` when given.
fn flows(addr: &str, who: &str, company: Option<&str>) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut r = reqwest::Client::new()
            .get(format!("http://{addr}/fabric/api/flows"))
            .header("authorization", who);
        if let Some(c) = company {
            r = r.header("x-company", c);
        }
        r.send().await.unwrap().status().as_u16()
    })
}

#[test]
fn operators_create_companies_link_grant_reset_and_disable_from_the_command_line() {
    let dir = temp_dir::TempDir::new("cli-admin");
    let db = dir.join("records.sqlite");
    let (ok, out, err) = admin(
        &db,
        &[
            "create-company",
            "north",
            "--tier",
            "professional",
            "--admin-id",
            "zoe",
            "--admin-username",
            "zoe@north.example",
        ],
        "zoe-password-1\n",
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("north") && !out.contains("zoe-password-1"),
        "{out}"
    );
    let (ok, _, err) = admin(
        &db,
        &[
            "create-company",
            "north-eu",
            "--tier",
            "standard",
            "--parent",
            "north",
            "--admin-id",
            "eva",
            "--admin-username",
            "eva@north.example",
        ],
        "eva-password-1\n",
    );
    assert!(ok, "{err}");
    let (ok, _, err) = admin(
        &db,
        &[
            "create-company",
            "x",
            "--tier",
            "gold",
            "--admin-id",
            "a",
            "--admin-username",
            "a@x",
        ],
        "long-enough-1\n",
    );
    assert!(!ok && err.contains("gold"), "{err}");
    let (ok, _, err) = admin(&db, &["reset-password", "zoe@north.example"], "short\n");
    assert!(!ok && err.contains("at least 8"), "{err}");
    for bad in ["tomorrow", "2020-01-01T00:00:00Z"] {
        let (ok, _, err) = admin(&db, &["grant", "zoe", "north-eu", "--until", bad], "");
        assert!(!ok && err.contains(bad), "{err}");
    }
    let (ok, out, _) = admin(
        &db,
        &[
            "grant",
            "zoe",
            "north-eu",
            "--until",
            "2999-01-01T00:00:00Z",
        ],
        "",
    );
    assert!(ok && out.contains("until 2999-01-01T00:00:00Z"), "{out}");
    // Granted again without an end: the grant has none.
    assert!(admin(&db, &["grant", "zoe", "north-eu"], "").0);

    // zoe logs in, and acts in the linked company with her grant.
    let (server, _lines, addr) = serve(&db);
    let (status, zoe) = log_in(&addr, "zoe@north.example", "zoe-password-1");
    assert_eq!(status, 200);
    assert_eq!(flows(&addr, &zoe, Some("north-eu")), 200);
    // One server a SQLite file: the command is refused while it runs.
    let (ok, _, err) = admin(&db, &["set-tier", "north", "enterprise"], "");
    assert!(!ok, "the file is the server's");
    assert!(!err.is_empty());
    stop(server);

    // Unlinking withdraws the grant; a reset password revokes every token.
    assert!(admin(&db, &["unlink", "north-eu"], "").0);
    let (ok, _, err) = admin(&db, &["withdraw-grant", "zoe", "north-eu"], "");
    assert!(
        !ok && err.contains("no grant"),
        "withdrawn by the unlink: {err}"
    );
    let (ok, out, err) = admin(
        &db,
        &["reset-password", "zoe@north.example"],
        "zoe-password-2\n",
    );
    assert!(ok, "{err}");
    assert!(out.contains("revoked"), "{out}");
    assert!(
        !admin(
            &db,
            &["reset-password", "nobody@north.example"],
            "long-enough-1\n"
        )
        .0
    );
    let (server, _lines, addr) = serve(&db);
    assert_eq!(flows(&addr, &zoe, None), 401, "her old token is revoked");
    assert_eq!(log_in(&addr, "zoe@north.example", "zoe-password-1").0, 401);
    let (status, zoe) = log_in(&addr, "zoe@north.example", "zoe-password-2");
    assert_eq!(status, 200);
    assert_eq!(flows(&addr, &zoe, None), 200);
    assert_eq!(
        flows(&addr, &zoe, Some("north-eu")),
        403,
        "no longer linked"
    );
    stop(server);

    // A disabled company: nobody of it gets in.
    assert!(admin(&db, &["disable-company", "north"], "").0);
    assert!(admin(&db, &["set-tier", "north", "enterprise"], "").0);
    assert!(!admin(&db, &["set-tier", "nowhere", "enterprise"], "").0);
    let (server, _lines, addr) = serve(&db);
    assert_eq!(flows(&addr, &zoe, None), 401);
    assert_eq!(log_in(&addr, "zoe@north.example", "zoe-password-2").0, 401);
    assert_eq!(
        log_in(&addr, "eva@north.example", "eva-password-1").0,
        200,
        "north-eu is another company"
    );
    stop(server);

    // Every command that changed the records left an audit record, in order; the
    // refused ones none.
    let records = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store =
            pw_auth_server::Db::open_sqlite(&db, pw_auth_server::AuditSync::Normal).unwrap();
        store.audit_records().await.unwrap()
    });
    let done: Vec<(String, String, String)> = records
        .iter()
        .filter(|r| r["reason"]["kind"] == "operator_command")
        .map(|r| {
            assert_eq!(r["principal"], serde_json::Value::Null);
            assert_eq!(r["effect"], "allow");
            let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
            (
                text(&r["reason"]["command"]),
                text(&r["company"]),
                text(&r["reason"]["user"]),
            )
        })
        .collect();
    let expected = [
        ("create_company", "north", "zoe"),
        ("create_company", "north-eu", "eva"),
        ("grant", "north-eu", "zoe"),
        ("grant", "north-eu", "zoe"),
        ("unlink", "north-eu", "-"),
        ("reset_password", "north", "zoe"),
        ("disable_company", "north", "-"),
        ("set_tier", "north", "-"),
    ]
    .map(|(c, co, u)| (c.to_owned(), co.to_owned(), u.to_owned()));
    assert_eq!(done, expected);
    assert!(
        !records.iter().any(|r| r.to_string().contains("password-")),
        "no password in the audit log"
    );
}
