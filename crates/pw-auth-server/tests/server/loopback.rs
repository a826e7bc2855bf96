//! The reference server over real loopback HTTP: the server on 127.0.0.1:0 inside the
//! test, its records in a temporary SQLite file or in a PostgreSQL instance of the
//! test's own (every test runs on both), the reqwest adapter (or raw reqwest where a
//! test needs to send exactly one request) driving it. Loops are bounded.

use std::sync::Arc;

use pw_auth_core::{ApiKey, ExpiresIn, UserId};
use pw_auth_http::SessionError;
use pw_auth_reqwest::{AuthClient, ClientConfig, ClientError};
use pw_auth_server::{Config, RecordsAt, Running, start};

use crate::fixture::{Backend, FROZEN_AT, Fixture, Stores, TestClock, ann};

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

async fn log_in_call_and_renew_before_expiry(backend: Backend) {
    let fx = Fixture::with(Stores::on(backend, "renew"), TestClock::default(), |c| {
        c.expires_in = ExpiresIn::from_secs(600).unwrap()
    })
    .await;
    let client = fx.ann();
    let flows = fx.url("/fabric/api/flows");

    let r = client.send(|http| http.get(&flows)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["ratelimit-policy"], r#""default";q=240;w=60"#);
    assert_eq!(logins(&fx.server).await, (1, 1));
    assert_eq!(client.send(|h| h.get(&flows)).await.unwrap().status(), 200);
    assert_eq!(logins(&fx.server).await, (1, 1), "the token is reused");

    // Past the token's expiry on the shared fx.clock: the client logs in before sending,
    // and never sends a token the fx.server considers expired.
    fx.clock.advance(601);
    assert_eq!(client.send(|h| h.get(&flows)).await.unwrap().status(), 200);
    assert_eq!(logins(&fx.server).await, (2, 2));
    let audit = fx.server.db().audit_records().await.unwrap();
    assert!(audit.iter().all(|r| r["reason"]["failure"] != "expired"));
    fx.stop().await;
}

async fn an_expired_token_gets_one_relogin(backend: Backend) {
    let client_clock = TestClock::default();
    let fx = Fixture::with(Stores::on(backend, "expired"), TestClock::default(), |c| {
        c.expires_in = ExpiresIn::from_secs(600).unwrap();
    })
    .await;
    let client = ann(&fx.server, &client_clock);
    let flows = fx.url("/fabric/api/flows");
    assert_eq!(client.send(|h| h.get(&flows)).await.unwrap().status(), 200);
    // Only the fx.server's clock moves past the expiry (a skewed client).
    fx.clock.advance(601);
    assert_eq!(client.send(|h| h.get(&flows)).await.unwrap().status(), 200);
    let audit = fx.server.db().audit_records().await.unwrap();
    let expired = audit
        .iter()
        .filter(|r| r["reason"]["failure"] == "expired")
        .count();
    assert_eq!(expired, 1);
    assert_eq!(logins(&fx.server).await, (2, 2), "exactly one re-login");
    fx.stop().await;
}

async fn a_revoked_key_stops_the_client_and_a_revoked_token_means_one_relogin(backend: Backend) {
    let fx = Fixture::with(
        Stores::on(backend, "revocations"),
        TestClock::default(),
        |_| {},
    )
    .await;
    let admin = fx.ann();
    let flows = fx.url("/fabric/api/flows");

    let key = fx.key(&admin, "ERP").await;
    let erp = AuthClient::with_api_key(reqwest::Client::new(), ApiKey::new(key.clone()).unwrap());
    assert_eq!(erp.send(|h| h.get(&flows)).await.unwrap().status(), 200);

    // Revoke the key through the API; the key's client stops for good.
    let list = fx.url("/fabric/api/api-keys");
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
    let revoke = fx.url(&format!("/fabric/api/api-keys/{id}/revoke"));
    assert_eq!(admin.send(|h| h.post(&revoke)).await.unwrap().status(), 200);
    assert_eq!(admin.send(|h| h.post(&revoke)).await.unwrap().status(), 409);
    let sent_before = fx.server.db().audit_count().await.unwrap();
    assert!(matches!(
        erp.send(|h| h.get(&flows)).await,
        Err(ClientError::Session(SessionError::KeyRejected))
    ));
    assert!(matches!(
        erp.send(|h| h.get(&flows)).await,
        Err(ClientError::Session(SessionError::KeyRejected))
    ));
    assert_eq!(
        fx.server.db().audit_count().await.unwrap(),
        sent_before + 1,
        "after the 401 the key is never sent again"
    );

    // A deleted key is gone from the list, and a request with it is told "deleted".
    let doomed = fx.key(&admin, "doomed").await;
    let keys: serde_json::Value = admin
        .send(|h| h.get(&list))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let doomed_id = keys["data"][1]["id"].as_str().unwrap().to_owned();
    let delete = fx.url(&format!("/fabric/api/api-keys/{doomed_id}"));
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
    let audit = fx.server.db().audit_records().await.unwrap();
    assert_eq!(audit.last().unwrap()["reason"]["failure"], "deleted");

    // An operator revokes ann's tokens: her client logs in once more and goes on.
    let before = logins(&fx.server).await;
    let n = fx
        .server
        .db()
        .revoke_tokens_of(UserId::new("ann").unwrap(), fx.clock.now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(admin.send(|h| h.get(&flows)).await.unwrap().status(), 200);
    assert_eq!(logins(&fx.server).await, (before.0 + 1, before.1 + 1));
    fx.stop().await;
}

async fn over_the_limit_the_client_waits_out_retry_after(backend: Backend) {
    // Frozen: the budget refills only when the test moves the clock.
    let fx = Fixture::with(
        Stores::on(backend, "limit"),
        TestClock::frozen(FROZEN_AT),
        |_| {},
    )
    .await;
    let admin = fx.ann();
    let patient = fx.key(&admin, "patient").await;
    let impatient = fx.key(&admin, "impatient").await;
    let flows = fx.url("/fabric/api/flows");
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
        let clock = fx.clock.clone();
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
    fx.stop().await;
}

async fn malformed_requests_get_the_librarys_outcome(backend: Backend) {
    let fx = Fixture::with(
        Stores::on(backend, "malformed"),
        TestClock::default(),
        |_| {},
    )
    .await;
    let http = reqwest::Client::new();
    let flows = fx.url("/fabric/api/flows");

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
        .post(fx.url("/fabric/api/login"))
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
        .post(fx.url("/fabric/api/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "ann@acme.example"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);

    let wrong = http
        .post(fx.url("/fabric/api/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "ann@acme.example", "password": "nope"}"#)
        .send()
        .await
        .unwrap();
    let unknown = http
        .post(fx.url("/fabric/api/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "nobody@acme.example", "password": "nope"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());

    // Never a secret in the audit log.
    let audit = serde_json::to_string(&fx.server.db().audit_records().await.unwrap()).unwrap();
    for secret in ["nope", "eDp5", "ann-demo-password", "nobody@acme.example"] {
        assert!(!audit.contains(secret), "{secret} in the audit log");
    }
    fx.stop().await;
}

async fn a_restart_keeps_keys_tokens_and_revocations(backend: Backend) {
    let fx = Fixture::with(Stores::on(backend, "restart"), TestClock::default(), |_| {}).await;
    let admin = fx.ann();
    let kept = fx.key(&admin, "kept").await;
    let revoked = fx.key(&admin, "revoked").await;
    let list: serde_json::Value = admin
        .send(|h| h.get(fx.url("/fabric/api/api-keys")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["data"][1]["id"].as_str().unwrap().to_owned();
    let revoke = fx.url(&format!("/fabric/api/api-keys/{id}/revoke"));
    assert_eq!(admin.send(|h| h.post(&revoke)).await.unwrap().status(), 200);
    let login: serde_json::Value = reqwest::Client::new()
        .post(fx.url("/fabric/api/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "max@acme.example", "password": "max-demo-password"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = format!("Bearer {}", login["token"].as_str().unwrap());
    let (stores, clock) = fx.stop().await;

    let fx = Fixture::with(stores, clock, |_| {}).await;
    let http = reqwest::Client::new();
    let flows = fx.url("/fabric/api/flows");
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
    fx.stop().await;
}

async fn concurrent_requests_lose_no_record_and_the_budget_is_exact(backend: Backend) {
    const TASKS: usize = 50;
    const EACH: usize = 100;
    // A frozen clock: the budget never refills, so exactly its burst is admitted.
    // This test is about the records, not the connection caps (tests/server/hostile.rs has
    // those): reqwest's pool opens a new connection whenever none is idle at the
    // moment of asking, so 50 busy tasks can grow it past the per-client cap of 64,
    // and the server then closes the newest at once (seen in CI as `IncompleteMessage`).
    let fx = Fixture::with(
        Stores::on(backend, "concurrent"),
        TestClock::frozen(FROZEN_AT),
        |c| c.connections.max_connections_per_client = 1024,
    )
    .await;
    let admin = fx.ann();
    let key = fx.key(&admin, "load").await;
    let audit_before = fx.server.db().audit_count().await.unwrap();
    let flows = Arc::new(fx.url("/fabric/api/flows"));
    // Idle connections are let go before the fx.server's 10 s keep-alive timeout, so none
    // is reused just as the fx.server closes it.
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
    let audit_after = fx.server.db().audit_count().await.unwrap();
    assert_eq!(
        audit_after - audit_before,
        (TASKS * EACH) as u64,
        "one audit record per request, none lost"
    );
    fx.stop().await;
}

/// Every route's action is checked against the policy at start: the default policy
/// defines them all (every other test starts), and a policy that lacks one is refused
/// by name before the fx.server listens, instead of a route that denies every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_without_a_routes_action_is_refused_at_start() {
    let db = Stores::sqlite("route-actions");
    let mut config = db.config();
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
    let fx = Fixture::start(Backend::Sqlite, "fault").await;
    let admin = fx.ann();
    let key = fx.key(&admin, "fault").await;
    let flows = fx.url("/fabric/api/flows");
    let http = reqwest::Client::new();
    let get = || http.get(&flows).header("authorization", &key).send();
    assert_eq!(get().await.unwrap().status(), 200);

    // Another process takes the database's exclusive lock.
    let blocker = rusqlite::Connection::open(fx.stores.sqlite_path()).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    for _ in 0..3 {
        let r = get().await.unwrap();
        assert_eq!(r.status(), 503, "fail closed while the database is locked");
        let body = r.text().await.unwrap();
        assert_eq!(body, r#"{"message":"Service unavailable."}"#);
        assert!(!body.contains(&key) && !body.contains("sqlite"));
    }
    let login = http
        .post(fx.url("/fabric/api/login"))
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
    fx.stop().await;
}

/// PostgreSQL's counterpart of the locked file: another session holds the key table
/// locked; requests wait at most the lock timeout (250 ms), then are refused (503), and
/// are served again once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_postgres_table_fails_closed_and_recovers() {
    let fx = Fixture::start(Backend::Postgres, "pg-fault").await;
    let admin = fx.ann();
    let key = fx.key(&admin, "fault").await;
    let flows = fx.url("/fabric/api/flows");
    let http = reqwest::Client::new();
    let get = || http.get(&flows).header("authorization", &key).send();
    assert_eq!(get().await.unwrap().status(), 200);

    let url = fx.stores.postgres_url().unwrap();
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
    fx.stop().await;
}

async fn concurrent_callers_share_one_login(backend: Backend) {
    let fx = Fixture::with(
        Stores::on(backend, "one-login"),
        TestClock::default(),
        |_| {},
    )
    .await;
    let client = Arc::new(fx.ann());
    let flows = Arc::new(fx.url("/fabric/api/flows"));
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
        logins(&fx.server).await,
        (1, 1),
        "20 callers waited on one login"
    );
    fx.stop().await;
}

/// Failed logins are throttled like the platform's (429 "Too Many Attempts." with
/// `Retry-After`), by client and by username from that client: ten wrong passwords
/// for ann, then even the right one is refused unread until the budget refills. The
/// client is spent for every username it tries. The throttled refusals are one audit
/// record with a count, naming the client; the username is stored only as a digest.
async fn failed_logins_are_throttled_by_username_and_client(backend: Backend) {
    let fx = Fixture::with(
        Stores::on(backend, "throttle"),
        TestClock::frozen(FROZEN_AT),
        |_| {},
    )
    .await;
    let http = reqwest::Client::new();
    let login = fx.url("/fabric/api/login");
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
    fx.clock.advance(6);
    assert_eq!(
        attempt("ann@acme.example", "ann-demo-password").await.0,
        200
    );
    assert_eq!(fx.server.password_stats().verifications, 11);
    let records = fx.server.db().audit_records().await.unwrap();
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
    let keys = fx
        .stores
        .texts("SELECT key FROM failures ORDER BY key")
        .await;
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
    fx.stop().await;
}

/// Failed authentications are throttled per client, and only failures are: ten
/// guessed tokens, then the client's guesses are answered 429 (`Retry-After`,
/// audited as `throttled`) — while its valid token still answers 200 — until its
/// budget refills.
async fn failed_authentications_are_throttled_per_client(backend: Backend) {
    let fx = Fixture::with(
        Stores::on(backend, "auth-throttle"),
        TestClock::frozen(FROZEN_AT),
        |_| {},
    )
    .await;
    let http = reqwest::Client::new();
    let flows = fx.url("/fabric/api/flows");
    let login = http
        .post(fx.url("/fabric/api/login"))
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
    fx.clock.advance(6);
    assert_eq!(get("Bearer guess11".to_owned()).await.0, 401);
    let records = fx.server.db().audit_records().await.unwrap();
    let throttled: Vec<_> = records
        .iter()
        .filter(|r| r["reason"]["kind"] == "throttled")
        .collect();
    assert_eq!(throttled.len(), 1);
    assert_eq!(throttled[0]["client"], "127.0.0.1");
    fx.stop().await;
}

/// The database URLs a fx.server is configured with may hold passwords: its `Debug`
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
