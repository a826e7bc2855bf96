//! The server's logs, captured at the most verbose level in both formats (text and
//! JSON) for the whole binary: what a request's event says, that every 503 logs its
//! cause once, and that no password, token or key the tests used ever appears.
//!
//! A binary of its own: it installs the process's one global subscriber.
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

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use pw_auth_core::Quota;
use pw_auth_server::{BYTES_PER_HASH, Config, HashingLimits, RecordsAt, Running, start};
use tracing_subscriber::layer::SubscriberExt;

/// Everything logged in this process, at TRACE, once as text and once as JSON.
fn captured() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let logs = Arc::clone(&logs);
            move || Sink(Arc::clone(&logs))
        };
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::TRACE)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(writer.clone()),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(writer),
            );
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_text() -> String {
    String::from_utf8_lossy(&captured().lock().unwrap()).into_owned()
}

/// The JSON events whose span's request id is `id`.
fn events_of(id: &str) -> Vec<serde_json::Value> {
    log_text()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["span"]["id"] == id)
        .collect()
}

/// A server on a fresh records file, and the directory that holds it: removed when
/// dropped, so bind it before the server (which is then dropped first).
async fn server(adjust: impl FnOnce(&mut Config)) -> (temp_dir::TempDir, Running) {
    captured();
    let dir = temp_dir::TempDir::new("logs");
    let mut config = Config::on(
        RecordsAt::Sqlite(dir.join("records.sqlite")),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.seed_demo = true;
    adjust(&mut config);
    let running = start(config).await.unwrap();
    (dir, running)
}

async fn login(
    http: &reqwest::Client,
    s: &Running,
    id: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    http.post(s.url("/fabric/api/login"))
        .header("x-request-id", id)
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
}

/// A loopback session touching every path that handles a secret — right and wrong
/// passwords, a token, a key created and used, unknown and malformed credentials in
/// every scheme, a logout and the revoked token — with the logs at TRACE; then not
/// one of those secrets is anywhere in the logs, while the events of those requests
/// are (so the scan is not of an empty log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs_at_the_most_verbose_level() {
    let (_dir, s) = server(|_| {}).await;
    let http = reqwest::Client::new();
    let mut secrets: Vec<String> = vec![
        "ann-demo-password".into(),
        "max-demo-password".into(),
        "uma-demo-password".into(),
    ];
    let wrong = "wrong-password-7f3a9c";
    secrets.push(wrong.into());
    assert_eq!(
        login(&http, &s, "wrong-password", "ann@acme.example", wrong)
            .await
            .status(),
        401
    );
    let typed_into_username = "password-in-the-username-field-51e0";
    secrets.push(typed_into_username.into());
    assert_eq!(
        login(&http, &s, "typed-into-username", typed_into_username, "x")
            .await
            .status(),
        401
    );
    let r = login(
        &http,
        &s,
        "right-password",
        "ann@acme.example",
        "ann-demo-password",
    )
    .await;
    assert_eq!(r.status(), 200);
    let token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push(token.clone());
    let bearer = format!("Bearer {token}");
    let r = http
        .post(s.url("/fabric/api/api-keys"))
        .header("authorization", &bearer)
        .header("content-type", "application/json")
        .body(r#"{"label": "logs"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let key = r.json::<serde_json::Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push(key.clone());
    // A password in an administration request's body: a new user's, and one changed.
    let made = "a-new-users-password-3d8e";
    let changed = "umas-changed-password-b51a";
    for (method, path, body, status) in [
        (
            reqwest::Method::POST,
            "/fabric/api/users",
            serde_json::json!({"id": "lou", "username": "lou@acme.example", "password": made}),
            201,
        ),
        (
            reqwest::Method::PATCH,
            "/fabric/api/users/uma",
            serde_json::json!({"password": changed}),
            200,
        ),
    ] {
        let r = http
            .request(method, s.url(path))
            .header("authorization", &bearer)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
    secrets.push(made.into());
    secrets.push(changed.into());
    let unknown_key = format!("pwk_{}", "7".repeat(key.len() - 4));
    let junk_token = "Bearer junk-token-that-is-nobodys-c4e1";
    let basic = "Basic YW5uQGFjbWUuZXhhbXBsZTphbm4tZGVtby1wYXNzd29yZA==";
    secrets.push(unknown_key.clone());
    secrets.push("junk-token-that-is-nobodys-c4e1".into());
    secrets.push("YW5uQGFjbWUuZXhhbXBsZTphbm4tZGVtby1wYXNzd29yZA==".into());
    let mut statuses = Vec::new();
    let mut decisions = Vec::new();
    for (id, authorization) in [
        ("with-token", bearer.as_str()),
        ("with-key", key.as_str()),
        ("unknown-key", unknown_key.as_str()),
        ("junk-token", junk_token),
        ("basic", basic),
    ] {
        let r = http
            .get(s.url("/fabric/api/flows?api_key=also-not-logged-92b7"))
            .header("authorization", authorization)
            .header("x-request-id", id)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        assert_eq!(r.headers()["x-request-id"], id, "echoed");
        decisions.push(r.headers()["x-decision-id"].to_str().unwrap().to_owned());
    }
    secrets.push("also-not-logged-92b7".into());
    assert_eq!(statuses, [200, 200, 401, 401, 401]);
    let r = http
        .post(s.url("/fabric/api/logout"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http
        .get(s.url("/fabric/api/flows"))
        .header("authorization", &bearer)
        .header("x-request-id", "revoked-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await.unwrap();

    // The events are there, with what an operator needs.
    let allowed = events_of("with-key");
    let answered = allowed.iter().find(|e| e["message"] == "answered").unwrap();
    assert_eq!(answered["status"], 200);
    assert_eq!(answered["kind"], "allowed");
    assert_eq!(answered["company"], "acme");
    assert_eq!(answered["route"], "/fabric/api/flows");
    assert_eq!(answered["span"]["method"], "GET");
    assert_eq!(
        answered["decision_id"],
        decisions[1].as_str(),
        "the answer's id"
    );
    assert!(answered["latency_ms"].as_f64().unwrap() > 0.0);
    let revoked = events_of("revoked-token");
    let answered = revoked.iter().find(|e| e["message"] == "answered").unwrap();
    assert_eq!(answered["kind"], "unauthenticated");
    assert_eq!(answered["detail"], "revoked");
    let wrong = events_of("wrong-password");
    let answered = wrong.iter().find(|e| e["message"] == "answered").unwrap();
    assert_eq!(answered["detail"], "wrong_password");

    let logs = log_text();
    assert!(logs.len() > 1000, "the capture holds the session");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret in the logs: {secret}"
        );
    }
}

/// A burst of logins past the hashing queue: every 503 it gets is logged exactly once
/// at ERROR with its cause, under the request's id; no other answer logs an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_503_logs_its_cause_once() {
    let (_dir, s) = server(|c| {
        c.failure_quota = Quota::new(10_000, 60, 10_000).unwrap();
        c.username_ceiling = Quota::new(10_000, 60, 10_000).unwrap();
        c.hashing = HashingLimits {
            memory: BYTES_PER_HASH,
            queue: 1,
        };
    })
    .await;
    let http = reqwest::Client::new();
    let burst: Vec<_> = (0..24)
        .map(|i| {
            let http = http.clone();
            let url = s.url("/fabric/api/login");
            tokio::spawn(async move {
                let id = format!("burst-{i}");
                let r = http
                    .post(url)
                    .header("x-request-id", &id)
                    .json(&serde_json::json!({"username": "max@acme.example", "password": "guess"}))
                    .send()
                    .await
                    .unwrap();
                (id, r.status().as_u16())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in burst {
        answers.push(t.await.unwrap());
    }
    s.stop().await.unwrap();
    let busy = answers.iter().filter(|(_, s)| *s == 503).count();
    assert!(
        busy > 0,
        "a queue of one cannot hold 24 at once: {answers:?}"
    );
    for (id, status) in &answers {
        let errors: Vec<_> = events_of(id)
            .into_iter()
            .filter(|e| e["level"] == "ERROR")
            .collect();
        if *status == 503 {
            assert_eq!(errors.len(), 1, "{id}: {errors:?}");
            assert_eq!(errors[0]["cause"], "busy");
            let chain = errors[0]["error"].as_str().unwrap();
            assert!(
                chain.contains("the password hashing pool is full"),
                "{chain}"
            );
        } else {
            assert_eq!(*status, 401, "{id}");
            assert!(errors.is_empty(), "{id}: {errors:?}");
        }
    }
}
