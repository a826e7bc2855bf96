//! What an operator reads: `/metrics` parsed by the Prometheus project's own
//! OpenMetrics parser (its Python client, the distribution's package), `/healthz` and
//! `/readyz` as a load balancer calls them, and the request id.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::fixture::{Backend, Fixture, Stores, TestClock, ann_token_and_key};

/// The samples of an OpenMetrics exposition, as the reference parser reads them:
/// `name{label="value",…}` (labels sorted) → value. The parser refuses anything
/// that is not valid OpenMetrics, and then so does this.
fn parse(exposition: &str) -> BTreeMap<String, f64> {
    const READ: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}}\t{s.value!r}")
"#;
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", READ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the system's python3 (bash .ci/services installs its prometheus client)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused the exposition: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (name, value) = l.rsplit_once('\t').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

async fn scrape(http: &reqwest::Client, url: &str) -> BTreeMap<String, f64> {
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    parse(&r.text().await.unwrap())
}

fn value(samples: &BTreeMap<String, f64>, name: &str) -> f64 {
    samples.get(name).copied().unwrap_or(0.0)
}

on_both_stores!(
    metrics_count_requests_decisions_and_store_calls,
    health_and_readiness_say_only_up_and_ready,
);

/// Three allowed requests, one refused by the policy and one unauthenticated move
/// exactly their counters; the store calls and open connections are there.
async fn metrics_count_requests_decisions_and_store_calls(backend: Backend) {
    let f = Fixture::start(backend, "metrics").await;
    let http = reqwest::Client::new();
    let (_, key) = ann_token_and_key(&f.server).await;
    let uma =
        crate::fixture::bearer(&http, &f.server, "uma@acme.example", "uma-demo-password").await;
    let metrics = f.url("/metrics");
    let before = scrape(&http, &metrics).await;
    for _ in 0..3 {
        let r = http
            .get(f.url("/fabric/api/flows"))
            .header("authorization", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = http
        .post(f.url("/fabric/api/blueprints/b1/publish"))
        .header("authorization", &uma)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http.get(f.url("/fabric/api/flows")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let after = scrape(&http, &metrics).await;
    let moved = |name: &str| value(&after, name) - value(&before, name);
    assert_eq!(
        moved(
            r#"pw_auth_http_requests_total{method="GET",route="/fabric/api/flows",status="200"}"#
        ),
        3.0
    );
    assert_eq!(
        moved(
            r#"pw_auth_http_requests_total{method="GET",route="/fabric/api/flows",status="401"}"#
        ),
        1.0
    );
    assert_eq!(
        moved(r#"pw_auth_decisions_total{effect="allow",kind="allowed"}"#),
        3.0
    );
    assert_eq!(
        moved(r#"pw_auth_decisions_total{effect="deny",kind="administrator_only"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"pw_auth_decisions_total{effect="deny",kind="unauthenticated"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"pw_auth_http_request_duration_seconds_count{route="/fabric/api/flows"}"#),
        4.0
    );
    assert_eq!(
        moved(r#"pw_auth_store_call_duration_seconds_count{call="audit"}"#),
        5.0,
        "one audit record a decided request"
    );
    assert!(moved(r#"pw_auth_store_call_duration_seconds_count{call="load"}"#) >= 4.0);
    assert!(value(&after, "pw_auth_open_connections{}") >= 1.0);
    assert!(value(&after, "pw_auth_password_verifications_total{}") >= 2.0);
    assert_eq!(
        value(&after, "pw_auth_password_verifications_queued{}"),
        0.0
    );
    f.stop().await;
}

/// `/healthz` and `/readyz` answer without credentials and say one word; `/readyz`
/// turns 503 when a store stops answering (Redis killed, on the PostgreSQL stores),
/// while `/healthz` stays 200: the process is up, it cannot serve.
async fn health_and_readiness_say_only_up_and_ready(backend: Backend) {
    let stores = match backend {
        Backend::Sqlite => Stores::sqlite("health"),
        Backend::Postgres | Backend::PostgresRedis => Stores::postgres("health", true),
    };
    let mut f = Fixture::with(stores, TestClock::default(), |_| {}).await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(f.url(path)).send();
    let r = get("/healthz").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"status":"ok"}"#);
    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"status":"ready"}"#);
    if let Some(redis) = f.stores.redis_mut() {
        redis.kill();
        let r = http.get(f.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 503);
        assert_eq!(r.text().await.unwrap(), r#"{"status":"unavailable"}"#);
        let r = http.get(f.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    f.stop().await;
}

/// With `metrics_listen`, `/metrics` is served there and not beside the API; every
/// answer carries a request id: the client's when usable, else one of the server's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_apart_and_request_ids() {
    let f = Fixture::with(Stores::sqlite("apart"), TestClock::default(), |c| {
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let http = reqwest::Client::new();
    let apart = f.server.metrics_addr().unwrap();
    assert_ne!(apart, f.server.addr());
    let samples = scrape(&http, &format!("http://{apart}/metrics")).await;
    assert!(samples.contains_key("pw_auth_open_connections{}"));
    let r = http.get(f.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404, "not beside the API");

    let r = http
        .get(f.url("/healthz"))
        .header("x-request-id", "ticket-1234")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "ticket-1234");
    let made = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let a = http
        .get(f.url("/healthz"))
        .header("x-request-id", "has space")
        .send()
        .await
        .unwrap();
    let b = http.get(f.url("/nowhere")).send().await.unwrap();
    assert_eq!(b.status(), 404);
    let (a, b) = (made(&a), made(&b));
    assert_ne!(a, "has space");
    assert_ne!(a, b, "each made id its own");
    f.stop().await;
}
