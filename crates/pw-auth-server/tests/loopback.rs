//! The reference server over real loopback HTTP: the server on 127.0.0.1:0 inside the
//! test, its records in a temporary SQLite file or in a PostgreSQL instance of the
//! test's own (every test runs on both), the reqwest adapter (or raw reqwest where a
//! test needs to send exactly one request) driving it. Loops are bounded.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test code: a failing unwrap is a failing test"
)]

mod services;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use pw_auth_core::{ApiKey, ExpiresIn, Password, UserId};
use pw_auth_http::{SessionConfig, SessionError};
use pw_auth_reqwest::{AuthClient, ClientConfig, ClientError};
use pw_auth_server::{Config, RecordsAt, Running, start};
use services::Pg;
use time::OffsetDateTime;

/// Which store a test runs on.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A test's records: a temporary SQLite file (removed when dropped) or a PostgreSQL
/// instance of its own (stopped and removed when dropped).
enum TempDb {
    Sqlite(PathBuf),
    Postgres { _pg: Pg, url: String },
}

impl TempDb {
    fn new(backend: Backend, name: &str) -> TempDb {
        match backend {
            Backend::Sqlite => {
                TempDb::Sqlite(services::temp_dir(&format!("sqlite-{name}")).join("records.sqlite"))
            }
            Backend::Postgres => {
                let pg = Pg::start();
                let url = pg.database();
                TempDb::Postgres { _pg: pg, url }
            }
        }
    }

    /// The first column of what `sql` selects, read straight from the store.
    async fn texts(&self, sql: &str) -> Vec<String> {
        match self {
            TempDb::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut q = conn.prepare(sql).unwrap();
                q.query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            TempDb::Postgres { url, .. } => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                let rows = client.query(sql, &[]).await.unwrap();
                rows.iter().map(|r| r.get(0)).collect()
            }
        }
    }

    fn records(&self) -> RecordsAt {
        match self {
            TempDb::Sqlite(path) => RecordsAt::Sqlite(path.clone()),
            TempDb::Postgres { url, .. } => RecordsAt::Postgres(url.clone()),
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let TempDb::Sqlite(path) = self
            && let Some(dir) = path.parent()
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Each named test, once on SQLite and once on PostgreSQL.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_stores!(
    log_in_call_and_renew_before_expiry,
    an_expired_token_gets_one_relogin,
    a_revoked_key_stops_the_client_and_a_revoked_token_means_one_relogin,
    over_the_limit_the_client_waits_out_retry_after,
    malformed_requests_get_the_librarys_outcome,
    a_restart_keeps_keys_tokens_and_revocations,
    concurrent_requests_lose_no_record_and_the_budget_is_exact,
    concurrent_callers_share_one_login,
    failed_logins_are_throttled_by_username_and_client,
    failed_authentications_are_throttled_per_client,
);

/// A clock the test moves: real time plus an offset, or frozen at a fixed instant.
#[derive(Clone, Default)]
struct TestClock {
    offset_secs: Arc<AtomicI64>,
    frozen_unix: Arc<AtomicI64>,
}

impl TestClock {
    fn frozen(at: i64) -> TestClock {
        let c = TestClock::default();
        c.frozen_unix.store(at, Ordering::SeqCst);
        c
    }

    fn now(&self) -> OffsetDateTime {
        let frozen = self.frozen_unix.load(Ordering::SeqCst);
        let base = if frozen != 0 {
            OffsetDateTime::from_unix_timestamp(frozen).unwrap()
        } else {
            OffsetDateTime::now_utc()
        };
        base + time::Duration::seconds(self.offset_secs.load(Ordering::SeqCst))
    }

    fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
    }

    fn shared(&self) -> Arc<dyn Fn() -> OffsetDateTime + Send + Sync> {
        let c = self.clone();
        Arc::new(move || c.now())
    }
}

async fn serve(db: &TempDb, clock: &TestClock, expires_in: ExpiresIn) -> Running {
    serve_with(db, clock, expires_in, |_| {}).await
}

async fn serve_with(
    db: &TempDb,
    clock: &TestClock,
    expires_in: ExpiresIn,
    adjust: impl FnOnce(&mut Config),
) -> Running {
    let mut config = Config::on(db.records(), "127.0.0.1:0".parse().unwrap());
    config.seed_demo = true;
    config.expires_in = expires_in;
    config.clock = clock.shared();
    adjust(&mut config);
    start(config).await.unwrap()
}

fn ann(server: &Running, clock: &TestClock) -> AuthClient {
    AuthClient::with_password(
        reqwest::Client::new(),
        &server.url("/fabric/api/login"),
        "ann@acme.example",
        Password::new("ann-demo-password".to_owned()).unwrap(),
        SessionConfig::default(),
    )
    .unwrap()
    .with_clock(clock.shared())
}

/// How many logins the server recorded, and how many issued a token.
async fn logins(server: &Running) -> (usize, usize) {
    let audit = server.db().audit_records().await.unwrap();
    let logins: Vec<_> = audit
        .iter()
        .filter(|r| r["reason"]["kind"] == "login")
        .collect();
    let issued = logins
        .iter()
        .filter(|r| r["reason"]["result"] == "token_issued")
        .count();
    (logins.len(), issued)
}

async fn create_key(server: &Running, client: &AuthClient, label: &str) -> String {
    let url = server.url("/fabric/api/api-keys");
    let body = format!(r#"{{"label": "{label}"}}"#);
    let r = client
        .send(|http| {
            http.post(&url)
                .header("content-type", "application/json")
                .body(body.clone())
        })
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    v["key"].as_str().unwrap().to_owned()
}

async fn log_in_call_and_renew_before_expiry(backend: Backend) {
    let db = TempDb::new(backend, "renew");
    let clock = TestClock::default();
    let server = serve(&db, &clock, ExpiresIn::from_secs(600).unwrap()).await;
    let client = ann(&server, &clock);
    let flows = server.url("/fabric/api/flows");

    let r = client.send(|http| http.get(&flows)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["ratelimit-policy"], r#""default";q=240;w=60"#);
    assert_eq!(logins(&server).await, (1, 1));
    assert_eq!(client.send(|h| h.get(&flows)).await.unwrap().status(), 200);
    assert_eq!(logins(&server).await, (1, 1), "the token is reused");

    // Past the token's expiry on the shared clock: the client logs in before sending,
    // and never sends a token the server considers expired.
    clock.advance(601);
    assert_eq!(client.send(|h| h.get(&flows)).await.unwrap().status(), 200);
    assert_eq!(logins(&server).await, (2, 2));
    let audit = server.db().audit_records().await.unwrap();
    assert!(audit.iter().all(|r| r["reason"]["failure"] != "expired"));
    server.stop().await.unwrap();
}

async fn an_expired_token_gets_one_relogin(backend: Backend) {
    let db = TempDb::new(backend, "expired");
    let server_clock = TestClock::default();
    let client_clock = TestClock::default();
    let server = serve(&db, &server_clock, ExpiresIn::from_secs(600).unwrap()).await;
    let client = ann(&server, &client_clock);
    let flows = server.url("/fabric/api/flows");
    assert_eq!(client.send(|h| h.get(&flows)).await.unwrap().status(), 200);
    // Only the server's clock moves past the expiry (a skewed client).
    server_clock.advance(601);
    assert_eq!(client.send(|h| h.get(&flows)).await.unwrap().status(), 200);
    let audit = server.db().audit_records().await.unwrap();
    let expired = audit
        .iter()
        .filter(|r| r["reason"]["failure"] == "expired")
        .count();
    assert_eq!(expired, 1);
    assert_eq!(logins(&server).await, (2, 2), "exactly one re-login");
    server.stop().await.unwrap();
}

async fn a_revoked_key_stops_the_client_and_a_revoked_token_means_one_relogin(backend: Backend) {
    let db = TempDb::new(backend, "revocations");
    let clock = TestClock::default();
    let server = serve(&db, &clock, ExpiresIn::DEFAULT).await;
    let admin = ann(&server, &clock);
    let flows = server.url("/fabric/api/flows");

    let key = create_key(&server, &admin, "ERP").await;
    let erp = AuthClient::with_api_key(reqwest::Client::new(), ApiKey::new(key.clone()).unwrap());
    assert_eq!(erp.send(|h| h.get(&flows)).await.unwrap().status(), 200);

    // Revoke the key through the API; the key's client stops for good.
    let list = server.url("/fabric/api/api-keys");
    let keys: serde_json::Value = admin
        .send(|h| h.get(&list))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    assert!(
        !keys.to_string().contains(&key),
        "a listed key never shows the key"
    );
    let revoke = server.url(&format!("/fabric/api/api-keys/{id}/revoke"));
    assert_eq!(admin.send(|h| h.post(&revoke)).await.unwrap().status(), 200);
    assert_eq!(admin.send(|h| h.post(&revoke)).await.unwrap().status(), 409);
    let sent_before = server.db().audit_count().await.unwrap();
    assert!(matches!(
        erp.send(|h| h.get(&flows)).await,
        Err(ClientError::Session(SessionError::KeyRejected))
    ));
    assert!(matches!(
        erp.send(|h| h.get(&flows)).await,
        Err(ClientError::Session(SessionError::KeyRejected))
    ));
    assert_eq!(
        server.db().audit_count().await.unwrap(),
        sent_before + 1,
        "after the 401 the key is never sent again"
    );

    // A deleted key is gone from the list, and a request with it is told "deleted".
    let doomed = create_key(&server, &admin, "doomed").await;
    let keys: serde_json::Value = admin
        .send(|h| h.get(&list))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let doomed_id = keys["data"][1]["id"].as_str().unwrap().to_owned();
    let delete = server.url(&format!("/fabric/api/api-keys/{doomed_id}"));
    assert_eq!(
        admin.send(|h| h.delete(&delete)).await.unwrap().status(),
        204
    );
    assert_eq!(
        admin.send(|h| h.delete(&delete)).await.unwrap().status(),
        404
    );
    let r = reqwest::Client::new()
        .get(&flows)
        .header("authorization", &doomed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let audit = server.db().audit_records().await.unwrap();
    assert_eq!(audit.last().unwrap()["reason"]["failure"], "deleted");

    // An operator revokes ann's tokens: her client logs in once more and goes on.
    let before = logins(&server).await;
    let n = server
        .db()
        .revoke_tokens_of(UserId::new("ann").unwrap(), clock.now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(admin.send(|h| h.get(&flows)).await.unwrap().status(), 200);
    assert_eq!(logins(&server).await, (before.0 + 1, before.1 + 1));
    server.stop().await.unwrap();
}

async fn over_the_limit_the_client_waits_out_retry_after(backend: Backend) {
    let db = TempDb::new(backend, "limit");
    // Frozen: the budget refills only when the test moves the clock.
    let clock = TestClock::frozen(1_795_000_000);
    let server = serve(&db, &clock, ExpiresIn::DEFAULT).await;
    let admin = ann(&server, &clock);
    let patient = create_key(&server, &admin, "patient").await;
    let impatient = create_key(&server, &admin, "impatient").await;
    let flows = server.url("/fabric/api/flows");
    // Spend the rest of acme's 240 (two went on creating the keys), raw.
    let http = reqwest::Client::new();
    let mut allowed = 0;
    for _ in 0..240 {
        let r = http
            .get(&flows)
            .header("authorization", &patient)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            allowed += 1;
        } else {
            assert_eq!(r.status(), 429);
            assert_eq!(r.headers()["retry-after"], "1");
        }
    }
    assert_eq!(
        allowed, 238,
        "one budget for the company, whichever credential"
    );

    // The adapter waits out Retry-After (a second); meanwhile the clock moves on.
    let mover = {
        let clock = clock.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            clock.advance(2);
        })
    };
    let erp = AuthClient::with_api_key(reqwest::Client::new(), ApiKey::new(patient).unwrap());
    assert_eq!(erp.send(|h| h.get(&flows)).await.unwrap().status(), 200);
    mover.await.unwrap();

    // A client told not to wait gets the 429 back once the refill (8) is spent.
    let mut no_wait = ClientConfig::default();
    no_wait.max_retry_after = std::time::Duration::ZERO;
    let impatient =
        AuthClient::with_api_key(reqwest::Client::new(), ApiKey::new(impatient).unwrap())
            .with_config(no_wait);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            impatient
                .send(|h| h.get(&flows))
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 429]);
    server.stop().await.unwrap();
}

async fn malformed_requests_get_the_librarys_outcome(backend: Backend) {
    let db = TempDb::new(backend, "malformed");
    let clock = TestClock::default();
    let server = serve(&db, &clock, ExpiresIn::DEFAULT).await;
    let http = reqwest::Client::new();
    let flows = server.url("/fabric/api/flows");

    let two = http
        .get(&flows)
        .header("authorization", "Bearer a")
        .header("authorization", "some-key")
        .send()
        .await
        .unwrap();
    assert_eq!(two.status(), 400);
    assert!(
        two.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_request")
    );

    let basic = http
        .get(&flows)
        .header("authorization", "Basic eDp5")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(
        basic.headers()["www-authenticate"],
        r#"Bearer realm="patchworks""#
    );

    let none = http.get(&flows).send().await.unwrap();
    assert_eq!(none.status(), 401);

    let big = vec![b'x'; 70 * 1024];
    let login = http
        .post(server.url("/fabric/api/login"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 413);
    assert_eq!(
        login.text().await.unwrap(),
        r#"{"message":"The payload is larger than the limit of 65536 bytes."}"#
    );

    let bad = http
        .post(server.url("/fabric/api/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "ann@acme.example"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);

    let wrong = http
        .post(server.url("/fabric/api/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "ann@acme.example", "password": "nope"}"#)
        .send()
        .await
        .unwrap();
    let unknown = http
        .post(server.url("/fabric/api/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "nobody@acme.example", "password": "nope"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());

    // Never a secret in the audit log.
    let audit = serde_json::to_string(&server.db().audit_records().await.unwrap()).unwrap();
    for secret in ["nope", "eDp5", "ann-demo-password", "nobody@acme.example"] {
        assert!(!audit.contains(secret), "{secret} in the audit log");
    }
    server.stop().await.unwrap();
}

async fn a_restart_keeps_keys_tokens_and_revocations(backend: Backend) {
    let db = TempDb::new(backend, "restart");
    let clock = TestClock::default();
    let server = serve(&db, &clock, ExpiresIn::DEFAULT).await;
    let admin = ann(&server, &clock);
    let kept = create_key(&server, &admin, "kept").await;
    let revoked = create_key(&server, &admin, "revoked").await;
    let list: serde_json::Value = admin
        .send(|h| h.get(server.url("/fabric/api/api-keys")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["data"][1]["id"].as_str().unwrap().to_owned();
    let revoke = server.url(&format!("/fabric/api/api-keys/{id}/revoke"));
    assert_eq!(admin.send(|h| h.post(&revoke)).await.unwrap().status(), 200);
    let login: serde_json::Value = reqwest::Client::new()
        .post(server.url("/fabric/api/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "max@acme.example", "password": "max-demo-password"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = format!("Bearer {}", login["token"].as_str().unwrap());
    server.stop().await.unwrap();

    let server = serve(&db, &clock, ExpiresIn::DEFAULT).await;
    let http = reqwest::Client::new();
    let flows = server.url("/fabric/api/flows");
    let status = |v: String| {
        let http = http.clone();
        let flows = flows.clone();
        async move {
            http.get(&flows)
                .header("authorization", v)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(status(kept).await, 200, "the key survived");
    assert_eq!(status(token).await, 200, "the token survived");
    assert_eq!(status(revoked).await, 401, "the revocation survived");
    server.stop().await.unwrap();
}

async fn concurrent_requests_lose_no_record_and_the_budget_is_exact(backend: Backend) {
    const TASKS: usize = 50;
    const EACH: usize = 100;
    let db = TempDb::new(backend, "concurrent");
    // A frozen clock: the budget never refills, so exactly its burst is admitted.
    let clock = TestClock::frozen(1_795_000_000);
    // This test is about the records, not the connection caps (tests/hostile.rs has
    // those): reqwest's pool opens a new connection whenever none is idle at the
    // moment of asking, so 50 busy tasks can grow it past the per-client cap of 64,
    // and the server then closes the newest at once (seen in CI as `IncompleteMessage`).
    let server = serve_with(&db, &clock, ExpiresIn::DEFAULT, |c| {
        c.connections.max_connections_per_client = 1024;
    })
    .await;
    let admin = ann(&server, &clock);
    let key = create_key(&server, &admin, "load").await;
    let audit_before = server.db().audit_count().await.unwrap();
    let flows = Arc::new(server.url("/fabric/api/flows"));
    // Idle connections are let go before the server's 10 s keep-alive timeout, so none
    // is reused just as the server closes it.
    let http = reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (http, flows, key) = (http.clone(), Arc::clone(&flows), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut counts = [0usize; 3];
            for _ in 0..EACH {
                let r = http
                    .get(&*flows)
                    .header("authorization", &key)
                    .send()
                    .await
                    .unwrap();
                match r.status().as_u16() {
                    200 => counts[0] += 1,
                    429 => counts[1] += 1,
                    _ => counts[2] += 1,
                }
            }
            counts
        }));
    }
    let mut total = [0usize; 3];
    for t in tasks {
        let c = t.await.unwrap();
        for i in 0..3 {
            total[i] += c[i];
        }
    }
    // The key's creation spent one request of acme's 240 (ann's login is free).
    assert_eq!(total, [239, TASKS * EACH - 239, 0], "[200, 429, other]");
    let audit_after = server.db().audit_count().await.unwrap();
    assert_eq!(
        audit_after - audit_before,
        (TASKS * EACH) as u64,
        "one audit record per request, none lost"
    );
    server.stop().await.unwrap();
}

/// Every route's action is checked against the policy at start: the default policy
/// defines them all (every other test starts), and a policy that lacks one is refused
/// by name before the server listens, instead of a route that denies every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_without_a_routes_action_is_refused_at_start() {
    let db = TempDb::new(Backend::Sqlite, "route-actions");
    let mut config = Config::on(db.records(), "127.0.0.1:0".parse().unwrap());
    config.policy = pw_auth_core::Policy::deny_all();
    match start(config).await {
        Err(pw_auth_server::ServerError::Route(e)) => {
            assert_eq!(e.action(), "company.view", "the first route built: logout");
            assert_eq!(
                pw_auth_server::ServerError::Route(e).to_string(),
                "a route cannot be guarded: the policy has no action `company.view`"
            );
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("started with a policy that defines none of its actions"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_fails_closed_and_recovers() {
    let db = TempDb::new(Backend::Sqlite, "fault");
    let clock = TestClock::default();
    let server = serve(&db, &clock, ExpiresIn::DEFAULT).await;
    let admin = ann(&server, &clock);
    let key = create_key(&server, &admin, "fault").await;
    let flows = server.url("/fabric/api/flows");
    let http = reqwest::Client::new();
    let get = || http.get(&flows).header("authorization", &key).send();
    assert_eq!(get().await.unwrap().status(), 200);

    // Another process takes the database's exclusive lock.
    let TempDb::Sqlite(path) = &db else {
        unreachable!()
    };
    let blocker = rusqlite::Connection::open(path).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    for _ in 0..3 {
        let r = get().await.unwrap();
        assert_eq!(r.status(), 503, "fail closed while the database is locked");
        let body = r.text().await.unwrap();
        assert_eq!(body, r#"{"message":"Service unavailable."}"#);
        assert!(!body.contains(&key) && !body.contains("sqlite"));
    }
    let login = http
        .post(server.url("/fabric/api/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "max@acme.example", "password": "max-demo-password"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        login.status(),
        503,
        "no token issued that could not be stored"
    );

    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    assert_eq!(get().await.unwrap().status(), 200, "recovered");
    server.stop().await.unwrap();
}

/// PostgreSQL's counterpart of the locked file: another session holds the key table
/// locked; requests wait at most the lock timeout (250 ms), then are refused (503), and
/// are served again once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_postgres_table_fails_closed_and_recovers() {
    let db = TempDb::new(Backend::Postgres, "pg-fault");
    let clock = TestClock::default();
    let server = serve(&db, &clock, ExpiresIn::DEFAULT).await;
    let admin = ann(&server, &clock);
    let key = create_key(&server, &admin, "fault").await;
    let flows = server.url("/fabric/api/flows");
    let http = reqwest::Client::new();
    let get = || http.get(&flows).header("authorization", &key).send();
    assert_eq!(get().await.unwrap().status(), 200);

    let TempDb::Postgres { url, .. } = &db else {
        unreachable!()
    };
    let (blocker, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    blocker
        .batch_execute("BEGIN; LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    for _ in 0..3 {
        let r = get().await.unwrap();
        assert_eq!(r.status(), 503, "fail closed while the table is locked");
        let body = r.text().await.unwrap();
        assert_eq!(body, r#"{"message":"Service unavailable."}"#);
    }
    blocker.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(get().await.unwrap().status(), 200, "recovered");
    server.stop().await.unwrap();
}

async fn concurrent_callers_share_one_login(backend: Backend) {
    let db = TempDb::new(backend, "one-login");
    let clock = TestClock::default();
    let server = serve(&db, &clock, ExpiresIn::DEFAULT).await;
    let client = Arc::new(ann(&server, &clock));
    let flows = Arc::new(server.url("/fabric/api/flows"));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, flows) = (Arc::clone(&client), Arc::clone(&flows));
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for _ in 0..5 {
                if client.send(|h| h.get(&*flows)).await.unwrap().status() == 200 {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    assert_eq!(ok, 100);
    assert_eq!(
        logins(&server).await,
        (1, 1),
        "20 callers waited on one login"
    );
    server.stop().await.unwrap();
}

/// Failed logins are throttled like the platform's (429 "Too Many Attempts." with
/// `Retry-After`), by client and by username from that client: ten wrong passwords
/// for ann, then even the right one is refused unread until the budget refills. The
/// client is spent for every username it tries. The throttled refusals are one audit
/// record with a count, naming the client; the username is stored only as a digest.
async fn failed_logins_are_throttled_by_username_and_client(backend: Backend) {
    let db = TempDb::new(backend, "throttle");
    let clock = TestClock::frozen(1_795_000_000);
    let server = serve(&db, &clock, ExpiresIn::DEFAULT).await;
    let http = reqwest::Client::new();
    let login = server.url("/fabric/api/login");
    let attempt = |user: &'static str, password: &'static str| {
        let http = http.clone();
        let login = login.clone();
        async move {
            let r = http
                .post(&login)
                .json(&serde_json::json!({"username": user, "password": password}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, retry, r.text().await.unwrap())
        }
    };
    for _ in 0..10 {
        assert_eq!(attempt("ann@acme.example", "guess").await.0, 401);
    }
    let (status, retry, body) = attempt("ann@acme.example", "ann-demo-password").await;
    assert_eq!((status, retry.as_deref()), (429, Some("6")));
    assert_eq!(body, r#"{"message":"Too Many Attempts."}"#);
    // The client is spent too (all eleven came from 127.0.0.1): max waits as well.
    assert_eq!(
        attempt("max@acme.example", "max-demo-password").await.0,
        429
    );
    // Six seconds later one more attempt fits, and the right password works.
    clock.advance(6);
    assert_eq!(
        attempt("ann@acme.example", "ann-demo-password").await.0,
        200
    );
    assert_eq!(server.password_stats().verifications, 11);
    let records = server.db().audit_records().await.unwrap();
    let throttled: Vec<_> = records
        .iter()
        .filter(|r| r["reason"]["result"] == "throttled")
        .collect();
    assert_eq!(throttled.len(), 1, "{throttled:?}");
    assert_eq!(throttled[0]["count"], 2);
    assert_eq!(throttled[0]["client"], "127.0.0.1");
    // The username is never stored: only its digest keys the budgets (the client's,
    // each username's, each username's from the client; PostgreSQL also keeps the
    // untouched rows of max's refused attempt, which its lock made).
    let keys = db.texts("SELECT key FROM failures ORDER BY key").await;
    assert!(keys.len() == 3 || keys.len() == 5, "{keys:?}");
    assert_eq!(keys[0], "client:127.0.0.1");
    for pair in keys[1..].chunks(2) {
        assert!(
            pair[0].starts_with("user:") && pair[0].len() == 5 + 64,
            "{keys:?}"
        );
        assert_eq!(pair[1], format!("{}@client:127.0.0.1", pair[0]));
    }
    assert!(
        keys.iter()
            .all(|k| !k.contains("ann") && !k.contains("max"))
    );
    server.stop().await.unwrap();
}

/// Failed authentications are throttled per client, and only failures are: ten
/// guessed tokens, then the client's guesses are answered 429 (`Retry-After`,
/// audited as `throttled`) — while its valid token still answers 200 — until its
/// budget refills.
async fn failed_authentications_are_throttled_per_client(backend: Backend) {
    let db = TempDb::new(backend, "auth-throttle");
    let clock = TestClock::frozen(1_795_000_000);
    let server = serve(&db, &clock, ExpiresIn::DEFAULT).await;
    let http = reqwest::Client::new();
    let flows = server.url("/fabric/api/flows");
    let login = http
        .post(server.url("/fabric/api/login"))
        .json(&serde_json::json!({"username": "ann@acme.example", "password": "ann-demo-password"}))
        .send()
        .await
        .unwrap();
    let token: serde_json::Value = login.json().await.unwrap();
    let good = format!("Bearer {}", token["token"].as_str().unwrap());
    let get = |authorization: String| {
        let http = http.clone();
        let flows = flows.clone();
        async move {
            let r = http
                .get(&flows)
                .header("authorization", authorization)
                .send()
                .await
                .unwrap();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (r.status().as_u16(), retry)
        }
    };
    assert_eq!(get(good.clone()).await.0, 200);
    for i in 0..10 {
        assert_eq!(get(format!("Bearer guess{i}")).await.0, 401);
    }
    assert_eq!(
        get("Bearer guess10".to_owned()).await,
        (429, Some("6".to_owned()))
    );
    assert_eq!(
        get(good.clone()).await,
        (200, None),
        "a valid token is never throttled"
    );
    clock.advance(6);
    assert_eq!(get("Bearer guess11".to_owned()).await.0, 401);
    let records = server.db().audit_records().await.unwrap();
    let throttled: Vec<_> = records
        .iter()
        .filter(|r| r["reason"]["kind"] == "throttled")
        .collect();
    assert_eq!(throttled.len(), 1);
    assert_eq!(throttled[0]["client"], "127.0.0.1");
    server.stop().await.unwrap();
}

/// The database URLs a server is configured with may hold passwords: its `Debug`
/// shows neither.
#[test]
fn a_configs_debug_never_shows_database_urls() {
    let mut config = Config::on(
        RecordsAt::Postgres("postgres://app:pg-secret@db.example/pw".to_owned()),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.redis = Some("redis://:redis-secret@cache.example/".to_owned());
    let shown = format!("{config:?}");
    assert!(
        shown.contains("Postgres(..)") && shown.contains("redis: Some(\"..\")"),
        "{shown}"
    );
    for secret in ["pg-secret", "redis-secret", "db.example", "cache.example"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}
