//! A bounded hostile-load run against the reference server on loopback, for the
//! figures in `docs/security.md` ("Hostile load"):
//!
//! ```sh
//! cargo run --release -p pw-auth-server --example hostile
//! ```
//!
//! 1. 200 concurrent logins with wrong passwords (the failure quotas opened wide, as
//!    an attack from 200 addresses would see them): the process's peak resident
//!    memory before and after, and how the hashing pool answered.
//! 2. Meanwhile, API-key requests one after another: their latencies.
//! 3. A connection that sends half a request's headers: how long it lives.
//!
//! Everything runs in this process on 127.0.0.1 and stops by itself.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    reason = "an example that reports what it measured"
)]

use std::time::{Duration, Instant};

use pw_auth_core::Quota;
use pw_auth_server::{Config, RecordsAt, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The process's peak resident set (VmHWM) in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = std::env::temp_dir().join(format!("pw-auth-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .expect("a private directory");
    }
    let mut config = Config::on(
        RecordsAt::Sqlite(dir.join("records.sqlite")),
        "127.0.0.1:0".parse().expect("an address"),
    );
    config.seed_demo = true;
    let wide = Quota::new(100_000, 60, 100_000).expect("a quota");
    config.failure_quota = wide;
    config.username_ceiling = wide;
    config.connections.max_connections_per_client = 512;
    let hashing = config.hashing;
    let header_timeout = config.connections.header_read_timeout;
    let server = start(config).await.expect("the server starts");
    let http = reqwest::Client::new();

    // A key to make allowed requests with.
    let login: serde_json::Value = http
        .post(server.url("/fabric/api/login"))
        .json(&serde_json::json!({"username": "ann@acme.example", "password": "ann-demo-password"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("a token");
    let token = format!("Bearer {}", login["token"].as_str().expect("a token"));
    let created: serde_json::Value = http
        .post(server.url("/fabric/api/api-keys"))
        .header("authorization", &token)
        .header("content-type", "application/json")
        .body(r#"{"label": "hostile"}"#)
        .send()
        .await
        .expect("a key")
        .json()
        .await
        .expect("a key body");
    let key = created["key"].as_str().expect("a key").to_owned();
    let flows = server.url("/fabric/api/flows");
    // Warm up, then the idle latency of an allowed request.
    let mut idle = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let r = http
            .get(&flows)
            .header("authorization", &key)
            .send()
            .await
            .expect("flows");
        assert_eq!(r.status(), 200);
        idle.push(t.elapsed());
    }
    let before = peak_rss_mib();
    let pool_before = server.password_stats();

    // 1 and 2: the burst, and allowed requests meanwhile.
    let start_burst = Instant::now();
    let burst: Vec<_> = (0..200)
        .map(|i| {
            let http = http.clone();
            let url = server.url("/fabric/api/login");
            tokio::spawn(async move {
                let user = format!("user{i}@acme.example");
                http.post(url)
                    .json(&serde_json::json!({"username": user, "password": "guess"}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    // At most 150 more: with the 50 above, inside the company's 240 a minute.
    let mut during = Vec::new();
    while during.len() < 150 && !burst.iter().all(|t| t.is_finished()) {
        let t = Instant::now();
        let r = http
            .get(&flows)
            .header("authorization", &key)
            .send()
            .await
            .expect("flows");
        assert_eq!(r.status(), 200);
        during.push(t.elapsed());
    }
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    for t in burst {
        *statuses.entry(t.await.expect("a login task")).or_default() += 1;
    }
    let burst_time = start_burst.elapsed();
    let after = peak_rss_mib();
    let stats = server.password_stats();

    // 3: half a request's headers.
    let mut slow = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("a socket");
    slow.write_all(b"GET /fabric/api/flows HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("half the headers");
    let opened = Instant::now();
    let mut buf = [0u8; 256];
    let lived = loop {
        match tokio::time::timeout(Duration::from_secs(60), slow.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) | Err(_) => break opened.elapsed(),
            Ok(Ok(_)) => {}
        }
    };

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let quantile = |v: &mut Vec<Duration>, q: f64| {
        v.sort();
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "hashing pool: {} threads, queue {}",
        hashing.workers(),
        hashing.queue
    );
    println!(
        "200 concurrent wrong-password logins: {statuses:?} in {:.0} ms; {} verified, {} refused at once, at most {} at a time",
        ms(burst_time),
        stats.verifications - pool_before.verifications,
        stats.refused - pool_before.refused,
        stats.peak_running
    );
    println!("peak resident memory: {before:.0} MiB before the burst, {after:.0} MiB after");
    println!(
        "an allowed API-key request: p50 {:.2} ms / max {:.2} ms idle; p50 {:.2} ms / p99 {:.2} ms / max {:.2} ms during the burst ({} requests)",
        ms(quantile(&mut idle, 0.5)),
        ms(quantile(&mut idle, 1.0)),
        ms(quantile(&mut during, 0.5)),
        ms(quantile(&mut during, 0.99)),
        ms(quantile(&mut during, 1.0)),
        during.len()
    );
    println!(
        "half-sent headers: the connection lived {:.2} s (header timeout {} s)",
        lived.as_secs_f64(),
        header_timeout.as_secs()
    );
    server.stop().await.expect("the server stops");
    let _ = std::fs::remove_dir_all(&dir);
}
