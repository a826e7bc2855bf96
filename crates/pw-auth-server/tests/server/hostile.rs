//! The reference server under attack, on loopback: each finding of the hostile-load
//! review performed as an attacker would, and shown to fail. Servers, PostgreSQL and
//! Redis are started by the tests on 127.0.0.1 (and other loopback addresses, to be
//! several clients); every loop is bounded in count, every wait in time.

use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;

use std::time::Duration;

use pw_auth_core::Quota;
use pw_auth_http::{Cidr, TrustedProxies};
use pw_auth_server::{ConnectionLimits, HashingLimits, ServerError, start};

use crate::fixture::{Stores, ann_token_and_key, login};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A client whose connections come from `local` (any 127.x.y.z address).
fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// 200 concurrent wrong passwords from one address verify at most the quota (10),
/// on every store: SQLite, PostgreSQL, and PostgreSQL with the budgets on Redis.
/// (Before, all 200 were verified: the budget was read, the password hashed, and
/// only then the failure charged.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_guesses_verifies_at_most_the_quota_on_every_store() {
    for stores in [
        Stores::sqlite("burst-sqlite"),
        Stores::postgres("burst-pg", false),
        Stores::postgres("burst-redis", true),
    ] {
        let mut config = stores.config();
        // A queue that holds the whole burst, so nothing is refused for the pool,
        // and room for 200 connections from one address: the throttle is on test.
        config.hashing = HashingLimits {
            memory: 2 * pw_auth_server::BYTES_PER_HASH,
            queue: 256,
        };
        config.connections.max_connections_per_client = 256;
        let server = start(config).await.unwrap();
        let http = reqwest::Client::new();
        let before = server.password_stats().verifications;
        let url = server.url("/fabric/api/login");
        let attempts = (0..200).map(|_| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                http.post(url)
                    .json(&serde_json::json!({"username": "ann@acme.example", "password": "guess"}))
                    .send()
                    .await
                    .unwrap()
            }
        });
        let statuses: Vec<u16> = futures_join(attempts).await;
        let verified = server.password_stats().verifications - before;
        let refused = statuses.iter().filter(|&&s| s == 401).count();
        let throttled = statuses.iter().filter(|&&s| s == 429).count();
        assert_eq!(refused + throttled, 200, "{statuses:?}");
        assert!(
            verified <= 10,
            "{verified} passwords verified, the quota is 10"
        );
        assert_eq!(refused as u64, verified);
        assert!(refused >= 1);
        server.stop().await.unwrap();
    }
}

/// Runs the requests concurrently and collects their statuses.
async fn futures_join<F>(requests: impl Iterator<Item = F>) -> Vec<u16>
where
    F: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    let tasks: Vec<_> = requests.map(tokio::spawn).collect();
    let mut statuses = Vec::with_capacity(tasks.len());
    for t in tasks {
        statuses.push(t.await.unwrap().status().as_u16());
    }
    statuses
}

/// 200 concurrent logins (the throttle opened wide, so only the pool bounds them):
/// never more verifications at once than the memory budget allows, the overflow
/// refused at once with 503 and `Retry-After`, and an API-key request answered while
/// the burst is still being verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hashing_stays_within_its_pool_and_other_requests_go_on() {
    let stores = Stores::sqlite("pool");
    let mut config = stores.config();
    config.failure_quota = Quota::new(10_000, 60, 10_000).unwrap();
    config.username_ceiling = Quota::new(10_000, 60, 10_000).unwrap();
    config.hashing = HashingLimits {
        memory: 2 * pw_auth_server::BYTES_PER_HASH,
        queue: 8,
    };
    config.connections.max_connections_per_client = 256;
    let server = start(config).await.unwrap();
    let (_, key) = ann_token_and_key(&server).await;
    let before = server.password_stats();
    let http = reqwest::Client::new();
    let burst: Vec<_> = (0..200)
        .map(|_| {
            let http = http.clone();
            let url = server.url("/fabric/api/login");
            tokio::spawn(async move {
                let r = http
                    .post(url)
                    .json(&serde_json::json!({"username": "max@acme.example", "password": "guess"}))
                    .send()
                    .await
                    .unwrap();
                let retry = r.headers().get("retry-after").is_some();
                (r.status().as_u16(), retry)
            })
        })
        .collect();
    // Meanwhile, an API-key request: answered while verifications are still queued.
    let flows = http
        .get(server.url("/fabric/api/flows"))
        .header("authorization", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(flows.status(), 200);
    let mut answers = Vec::new();
    for t in burst {
        answers.push(t.await.unwrap());
    }
    let stats = server.password_stats();
    assert!(stats.workers <= 2, "{stats:?}");
    assert!(stats.peak_running <= stats.workers, "{stats:?}");
    let busy = answers.iter().filter(|(s, _)| *s == 503).count();
    assert!(busy > 0, "a queue of 8 cannot hold 200 at once");
    assert!(
        answers
            .iter()
            .filter(|(s, _)| *s == 503)
            .all(|(_, retry)| *retry)
    );
    assert_eq!(
        stats.verifications - before.verifications + busy as u64,
        200,
        "every login was verified or refused at once: {answers:?}"
    );
    assert_eq!(stats.refused - before.refused, busy as u64);
    server.stop().await.unwrap();
}

/// Reads until the server closes the connection (or `limit` passes): what it sent.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

fn short_timeouts() -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    }
}

/// A request whose headers never finish, one whose body never finishes, and a
/// kept-alive connection left idle are each closed after their timeout (before, all
/// were still open 45 s later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed() {
    let stores = Stores::sqlite("slow");
    let mut config = stores.config();
    config.connections = short_timeouts();
    let server = start(config).await.unwrap();
    let addr = server.addr();

    let mut headers = TcpStream::connect(addr).await.unwrap();
    headers
        .write_all(b"GET /fabric/api/flows HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut headers, Duration::from_secs(10)).await;
    assert!(answer.is_some(), "a half-sent header block was not closed");

    let mut body = TcpStream::connect(addr).await.unwrap();
    body.write_all(
        b"POST /fabric/api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let answer = read_until_closed(&mut body, Duration::from_secs(10))
        .await
        .expect("a half-sent body was not closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /fabric/api/flows HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut idle, Duration::from_secs(10))
        .await
        .expect("an idle kept-alive connection was not closed");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    server.stop().await.unwrap();
}

/// 300 idle sockets from one address: past its cap (64 by default) they are closed as
/// they arrive, and a login from another address goes through meanwhile. Stopping the
/// server with connections still open returns within the grace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_the_server() {
    let stores = Stores::sqlite("idle");
    let mut config = stores.config();
    config.connections.shutdown_grace = Duration::from_secs(1);
    // Long enough that the held connections outlive the checks below.
    config.connections.header_read_timeout = Duration::from_secs(120);
    let server = start(config).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(TcpStream::connect(server.addr()).await.unwrap());
    }
    // The server closes the ones over the cap: they read end-of-file at once.
    let mut closed = 0;
    for s in &mut held {
        let mut b = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(200), s.read(&mut b)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 300 - 64, "the cap per client is 64");
    let other = client_from("127.0.0.2");
    let r = login(&other, &server, "ann@acme.example", "ann-demo-password").await;
    assert_eq!(r.status(), 200);
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.stop()).await;
    assert!(
        stopped.is_ok(),
        "stop waited past its grace for idle connections"
    );
    drop(held);
}

/// Behind a trusted proxy (all traffic from one address), each client is the address
/// the proxy forwarded for: one client's guesses are throttled, another's are not,
/// and a valid key is answered even from the client that guessed. A peer that is not
/// trusted cannot choose its address with the same header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_a_valid_key_is_never_throttled() {
    let stores = Stores::sqlite("proxy");
    let mut config = stores.config();
    config.trusted_proxies = TrustedProxies::new(["127.0.0.1".parse::<Cidr>().unwrap()]);
    let server = start(config).await.unwrap();
    let (_, key) = ann_token_and_key(&server).await;
    let http = reqwest::Client::new();
    let get = |auth: String, forwarded_for: &'static str| {
        let http = http.clone();
        let url = server.url("/fabric/api/flows");
        async move {
            http.get(url)
                .header("authorization", auth)
                .header("x-forwarded-for", forwarded_for)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for i in 0..10 {
        assert_eq!(get(format!("Bearer guess{i}"), "198.51.100.1").await, 401);
    }
    assert_eq!(get("Bearer guess".to_owned(), "198.51.100.1").await, 429);
    // Another client behind the same proxy guesses freely, and keys work for both.
    assert_eq!(get("Bearer guess".to_owned(), "198.51.100.2").await, 401);
    assert_eq!(get(key.clone(), "198.51.100.2").await, 200);
    assert_eq!(get(key.clone(), "198.51.100.1").await, 200);
    // The audit log names the forwarded client.
    let audit = server.db().audit_records().await.unwrap();
    assert!(audit.iter().any(|r| r["client"] == "198.51.100.2"));
    // From an untrusted peer the header is ignored: 127.0.0.3 is its own client.
    let untrusted = client_from("127.0.0.3");
    let r = untrusted
        .get(server.url("/fabric/api/flows"))
        .header("authorization", "Bearer guess")
        .header("x-forwarded-for", "198.51.100.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let audit = server.db().audit_records().await.unwrap();
    assert!(audit.iter().any(|r| r["client"] == "127.0.0.3"));
    assert!(!audit.iter().any(|r| r["client"] == "198.51.100.9"));
    server.stop().await.unwrap();
}

/// A stranger's guesses cannot lock a user out: while one address is throttled for
/// ann (the default ceiling), ann logs in from another. Then, with a username-wide
/// ceiling of five an hour spent by guesses from five addresses, each address that
/// guessed is refused although its own budgets have room, a fresh address still gets
/// one guess, and ann, from an address that never failed, logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_logs_in_during_a_lock_out_attack() {
    let status = |r: reqwest::Response| r.status().as_u16();
    let stores = Stores::sqlite("owner");
    let server = start(stores.config()).await.unwrap();
    let attacker = client_from("127.0.0.10");
    for _ in 0..10 {
        assert_eq!(
            status(login(&attacker, &server, "ann@acme.example", "guess").await),
            401
        );
    }
    assert_eq!(
        status(login(&attacker, &server, "ann@acme.example", "guess").await),
        429
    );
    let owner = client_from("127.0.0.20");
    assert_eq!(
        status(login(&owner, &server, "ann@acme.example", "ann-demo-password").await),
        200
    );
    server.stop().await.unwrap();

    let stores = Stores::sqlite("ceiling");
    let mut config = stores.config();
    config.username_ceiling = Quota::new(5, 3600, 5).unwrap();
    let server = start(config).await.unwrap();
    let attackers: Vec<_> = (11..16)
        .map(|n| client_from(&format!("127.0.0.{n}")))
        .collect();
    for a in &attackers {
        assert_eq!(
            status(login(a, &server, "ann@acme.example", "guess").await),
            401
        );
    }
    for a in &attackers {
        assert_eq!(
            status(login(a, &server, "ann@acme.example", "guess").await),
            429,
            "an address that failed is refused over the ceiling"
        );
    }
    let fresh = client_from("127.0.0.16");
    assert_eq!(
        status(login(&fresh, &server, "ann@acme.example", "guess").await),
        401
    );
    assert_eq!(
        status(login(&fresh, &server, "ann@acme.example", "guess").await),
        429
    );
    let owner = client_from("127.0.0.21");
    assert_eq!(
        status(login(&owner, &server, "ann@acme.example", "ann-demo-password").await),
        200
    );
    // Other usernames are not touched by ann's ceiling.
    assert_eq!(
        status(
            login(
                &attackers[0],
                &server,
                "max@acme.example",
                "max-demo-password"
            )
            .await
        ),
        200
    );
    server.stop().await.unwrap();
}

/// The answers: `no-store` on every one (a token, a key, a refusal), 415 for a body
/// that is not JSON, 413 for a key creation over 4 KiB, 400 for an `X-Company` that
/// names no company or is sent twice; a key creation's audit record names the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_never_cached_and_bodies_are_checked() {
    let stores = Stores::sqlite("answers");
    let server = start(stores.config()).await.unwrap();
    let http = reqwest::Client::new();
    let no_store = |r: &reqwest::Response| {
        assert_eq!(r.headers()["cache-control"], "no-store", "{:?}", r.url());
        assert_eq!(r.headers()["pragma"], "no-cache");
    };
    let r = login(&http, &server, "ann@acme.example", "ann-demo-password").await;
    no_store(&r);
    let token = format!(
        "Bearer {}",
        r.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
    );
    let keys = server.url("/fabric/api/api-keys");
    let r = http
        .post(&keys)
        .header("authorization", &token)
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"label": "erp"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    no_store(&r);
    let created: serde_json::Value = r.json().await.unwrap();
    let r = http
        .get(server.url("/fabric/api/flows"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    no_store(&r);
    // Not JSON: a browser's cross-site form post.
    for (url, body) in [
        (
            server.url("/fabric/api/login"),
            r#"{"username":"ann@acme.example","password":"x"}"#,
        ),
        (keys.clone(), r#"{"label": "erp"}"#),
    ] {
        let r = http
            .post(&url)
            .header("authorization", &token)
            .header("content-type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{url}");
        assert_eq!(
            r.text().await.unwrap(),
            r#"{"message":"The body must be application/json."}"#
        );
    }
    let big = format!(r#"{{"label": "{}"}}"#, "x".repeat(5 * 1024));
    let r = http
        .post(&keys)
        .header("authorization", &token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    for bad in [vec!["not a company!"], vec!["acme-eu", "acme-eu"]] {
        let mut req = http
            .get(server.url("/fabric/api/flows"))
            .header("authorization", &token);
        for v in &bad {
            req = req.header("x-company", *v);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad:?}");
    }
    let ok = http
        .get(server.url("/fabric/api/flows"))
        .header("authorization", &token)
        .header("x-company", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let audit = server.db().audit_records().await.unwrap();
    let made: Vec<_> = audit
        .iter()
        .filter(|r| r["reason"]["kind"] == "key_created")
        .collect();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["reason"]["key_id"], created["id"]);
    assert_eq!(made[0]["client"], "127.0.0.1");
    assert_eq!(made[0]["principal"]["user"], "ann");
    server.stop().await.unwrap();
}

/// One client's 3,000 rejected requests, ten at a time (so commits of the audit log
/// gather several throttled refusals each), add a bounded number of audit rows (ten
/// 401s, then one counted row for the throttled rest) on either store, and pruning
/// removes what is past its retention.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_floods_and_old_records_take_bounded_space() {
    for stores in [
        Stores::sqlite("retention"),
        Stores::postgres("retention", false),
    ] {
        flood_and_prune(stores).await;
    }
}

async fn flood_and_prune(stores: Stores) {
    let mut config = stores.config();
    let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1_795_000_000));
    let c = std::sync::Arc::clone(&clock);
    config.clock = std::sync::Arc::new(move || {
        time::OffsetDateTime::from_unix_timestamp(c.load(std::sync::atomic::Ordering::SeqCst))
            .unwrap()
    });
    let server = start(config).await.unwrap();
    let before = server.db().audit_count().await.unwrap();
    let http = reqwest::Client::new();
    let url = server.url("/fabric/api/flows");
    let mut tasks = Vec::new();
    for t in 0..10 {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..300 {
                let r = http
                    .get(&url)
                    .header("authorization", format!("Bearer guess{t}x{i}"))
                    .send()
                    .await
                    .unwrap();
                statuses.push(r.status().as_u16());
            }
            statuses
        }));
    }
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    for task in tasks {
        for status in task.await.unwrap() {
            *statuses.entry(status).or_default() += 1;
        }
    }
    assert_eq!(statuses, [(401, 10), (429, 2990)].into());
    let added = server.db().audit_count().await.unwrap() - before;
    assert_eq!(added, 11, "ten 401s and one gathered row");
    let audit = server.db().audit_records().await.unwrap();
    let gathered = audit
        .iter()
        .find(|r| r["reason"]["kind"] == "throttled")
        .unwrap();
    assert_eq!(gathered["count"], 2990);
    // 91 days on, everything is past the audit retention (90 days), the token-less
    // failure budgets are whole, and both go.
    clock.fetch_add(91 * 86_400, std::sync::atomic::Ordering::SeqCst);
    let pruned = server.prune_now().await.unwrap();
    assert!(pruned.audit >= 11, "{pruned:?}");
    assert!(pruned.failures >= 1, "{pruned:?}");
    assert_eq!(server.db().audit_count().await.unwrap(), 0);
    server.stop().await.unwrap();
}

/// The SQLite file and its `-wal`, `-shm` and `-lock` are the owner's alone (0600); a file or a
/// directory that group or others may write is refused at start; the demo data is
/// refused off loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_is_private_and_the_demo_stays_on_loopback() {
    let stores = Stores::sqlite("files");
    let server = start(stores.config()).await.unwrap();
    let (_, _key) = ann_token_and_key(&server).await;
    for name in [
        "records.sqlite",
        "records.sqlite-wal",
        "records.sqlite-shm",
        "records.sqlite-lock",
    ] {
        let mode = std::fs::metadata(stores.dir().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
    }
    server.stop().await.unwrap();

    let file = stores.dir().join("records.sqlite");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).unwrap();
    let e = start(stores.config()).await.unwrap_err();
    assert!(
        matches!(e, ServerError::Store(_)) && e.to_string().contains("writable by group or others"),
        "{e}"
    );
    // Readable by others only: narrowed, not refused.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = start(stores.config()).await.unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    server.stop().await.unwrap();
    std::fs::set_permissions(stores.dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = start(stores.config()).await.unwrap_err();
    assert!(e.to_string().contains("directory"), "{e}");
    std::fs::set_permissions(stores.dir(), std::fs::Permissions::from_mode(0o700)).unwrap();

    let mut open = Stores::sqlite("demo-open").config();
    open.listen = SocketAddr::from(([0, 0, 0, 0], 0));
    let e = start(open).await.unwrap_err();
    assert!(matches!(e, ServerError::Config(_)), "{e}");
    // Not seeding again on a database that has data: the start says so.
    let server = start(stores.config()).await.unwrap();
    assert!(!server.seeded_demo());
    server.stop().await.unwrap();
}
