//! A bounded load run of the reference server on loopback: one allowed API-key
//! request (`GET /fabric/api/flows`), many times, from concurrent connections; and
//! the time pw-auth's flow takes of each. Prints one line of figures.
//!
//! `cargo run --release -p pw-auth-server --example load [REQUESTS] [CONCURRENCY] [SERVERS]`
//!
//! On an embedded SQLite file by default. With `PW_AUTH_POSTGRES_URL` set (an empty
//! database), the records are on PostgreSQL; with `PW_AUTH_REDIS_URL` too, the budgets
//! are on Redis, and SERVERS (1 or 2) servers share them, the connections split
//! between them; the run then also times the shared limiter's round trip alone.
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a load run prints its figures, and what went wrong"
)]
#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a load run stops loudly on a broken set-up"
)]
#![expect(
    clippy::arithmetic_side_effects,
    clippy::cast_precision_loss,
    reason = "figures for people, not for decisions"
)]

use std::sync::Arc;
use std::time::Instant;

use pw_auth_axum::AuthStore;
use pw_auth_core::{Policy, PolicyDocument};
use pw_auth_server::{Config, RecordsAt, start};

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let requests = args.first().copied().unwrap_or(20_000).min(1_000_000);
    let concurrency = args.get(1).copied().unwrap_or(32).clamp(1, 256);
    let postgres = std::env::var("PW_AUTH_POSTGRES_URL").ok();
    let redis = std::env::var("PW_AUTH_REDIS_URL").ok();
    let servers = if postgres.is_some() {
        args.get(2).copied().unwrap_or(1).clamp(1, 2)
    } else {
        1
    };

    // The default policy with a quota no load run reaches, so every request is allowed.
    let mut doc: PolicyDocument =
        serde_json::from_str(Policy::default_document_json()).expect("the default policy");
    doc.quotas = serde_json::from_value(serde_json::json!({
        "professional": {"limit": 100_000_000, "period_secs": 1}
    }))
    .expect("a quota");
    // A directory of its own, private (the server refuses one others may write).
    let dir = std::env::temp_dir().join(format!("pw-auth-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .expect("a private directory");
    }
    let db = dir.join("records.sqlite");
    let records = match &postgres {
        Some(url) => RecordsAt::Postgres(url.clone()),
        None => RecordsAt::Sqlite(db.clone()),
    };
    let mut config = Config::on(records, "127.0.0.1:0".parse().expect("an address"));
    config.seed_demo = true;
    config.redis = redis.clone();
    config.policy = Policy::compile(&doc).expect("the load policy");
    let mut running = Vec::new();
    for _ in 0..servers {
        running.push(start(config.clone()).await.expect("the server starts"));
    }
    let server = &running[0];

    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(server.url("/fabric/api/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "ann@acme.example", "password": "ann-demo-password"}"#)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("a login answer");
    let token = format!("Bearer {}", login["token"].as_str().expect("a token"));
    let created: serde_json::Value = http
        .post(server.url("/fabric/api/api-keys"))
        .header("authorization", &token)
        .header("content-type", "application/json")
        .body(r#"{"label": "load"}"#)
        .send()
        .await
        .expect("a key")
        .json()
        .await
        .expect("the key");
    let key = created["key"].as_str().expect("the key").to_owned();
    let urls: Vec<Arc<String>> = running
        .iter()
        .map(|s| Arc::new(s.url("/fabric/api/flows")))
        .collect();

    let start_at = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (http, url, key) = (http.clone(), Arc::clone(&urls[t % servers]), key.clone());
        let n = requests / concurrency + usize::from(t < requests % concurrency);
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            for _ in 0..n {
                let r = http.get(&*url).header("authorization", &key).send().await;
                match r {
                    Ok(r) if r.status() == 200 => ok += 1,
                    Ok(r) => eprintln!("not allowed: {} {:?}", r.status(), r.text().await),
                    Err(e) => eprintln!("not answered: {e}"),
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.expect("a load task");
    }
    let elapsed = start_at.elapsed().as_secs_f64();
    let rps = requests as f64 / elapsed;

    // pw-auth's part of one such request: the flow over records already loaded.
    let credential = pw_auth_http::parse_authorization(key.as_bytes()).expect("the key parses");
    let loaded = server
        .db()
        .load(&credential.digest())
        .await
        .expect("the key's records");
    let flow = pw_auth_http::ServerFlow::new(
        Policy::compile(&doc).expect("the load policy"),
        pw_auth_http::Responder::new("patchworks").expect("a realm"),
    );
    let acme = pw_auth_core::CompanyId::new("acme").expect("an id");
    let now = time::OffsetDateTime::now_utc();
    let rounds = 200_000u32;
    struct One(pw_auth_core::LimitState);
    impl pw_auth_http::Budgets for One {
        fn budget(
            &mut self,
            _: &pw_auth_core::CompanyId,
            _: Option<&pw_auth_core::ApiKeyId>,
        ) -> Option<pw_auth_http::Budget<'_>> {
            Some(pw_auth_http::Budget::new(
                pw_auth_core::Tier::Professional,
                &mut self.0,
            ))
        }
    }
    let mut budget = One(pw_auth_core::LimitState::default());
    let t0 = Instant::now();
    for _ in 0..rounds {
        let target =
            pw_auth_core::Request::new("flows.view", &acme, pw_auth_core::Tier::Professional);
        let served = flow.serve([key.as_bytes()], &*loaded, target, Some(&mut budget), now);
        assert!(std::hint::black_box(served).is_allowed());
    }
    let flow_ns = t0.elapsed().as_nanos() as f64 / f64::from(rounds);
    let per_request_ns = 1e9 / rps * concurrency as f64;
    let store = match (&postgres, &redis) {
        (None, _) => "SQLite",
        (Some(_), None) => "PostgreSQL",
        (Some(_), Some(_)) => "PostgreSQL + Redis",
    };
    println!(
        "{store}, {servers} server(s): {requests} requests, {concurrency} connections: {ok} allowed in {elapsed:.2} s = {rps:.0} req/s; \
         mean latency {:.2} ms; pw-auth flow {flow_ns:.0} ns per request = {:.2} % of it",
        per_request_ns / 1e6,
        100.0 * flow_ns / per_request_ns
    );
    if let Some(url) = &redis {
        // The shared limiter alone: one compare-and-set charge after another.
        let limits = pw_auth_server::RedisLimits::connect(url, "pw-auth-load:")
            .await
            .expect("Redis");
        let quota = pw_auth_core::Quota::new(100_000_000, 1, 100_000_000).expect("a quota");
        let rounds = 5_000u32;
        let t0 = Instant::now();
        for _ in 0..rounds {
            let now = time::OffsetDateTime::now_utc();
            let allowed = limits
                .with_budget(&acme, None, move |state, _| {
                    let (decision, next) = pw_auth_core::check_limit(*state, &quota, now);
                    *state = next;
                    decision.is_allowed()
                })
                .await
                .expect("a charge");
            assert!(allowed);
        }
        let us = t0.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
        println!(
            "Redis limiter: one charge (one compare-and-set; a read only after a conflict) {us:.1} µs on loopback"
        );
    }
    for server in running {
        server.stop().await.expect("the server stops");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
