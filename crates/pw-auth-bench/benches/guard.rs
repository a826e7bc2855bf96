//! What `pw-auth-axum`'s guard adds to a request, in process (no network): the same
//! route served by an axum `Router` bare and behind `PwAuth::require`, an allowed
//! API-key request on the memory store, and `PwAuth::check` alone. The load run
//! (`scripts/load.sh`) measures the same over loopback, kernel and all; this is its
//! noise-free part.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::result_large_err,
    reason = "benchmark code"
)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pw_auth_axum::{CompanyInfo, MemoryStore, PwAuth};
use pw_auth_core::{CompanyId, KeyLabel, Policy, Tier, mint_api_key};
use pw_auth_http::{Responder, ServerFlow};
use time::macros::datetime;
use tower::ServiceExt;

/// `f`'s output: the memory store and these handlers never wait.
fn ready<T>(f: impl Future<Output = T>) -> T {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("nothing here waits"),
    }
}

fn guard(c: &mut Criterion) {
    let now = datetime!(2026-11-27 12:00 UTC);
    let acme = CompanyId::new("acme").unwrap();
    let minted = mint_api_key(
        &acme,
        KeyLabel::new("load").unwrap(),
        b"0123456789abcdef",
        now,
    )
    .unwrap();
    let store = MemoryStore::default();
    store.add_company(
        acme.clone(),
        CompanyInfo {
            tier: Tier::Professional,
            parent: None,
        },
    );
    store.add_minted(&minted);
    // A quota no run of the benchmark reaches.
    let mut doc: pw_auth_core::PolicyDocument =
        serde_json::from_str(Policy::default_document_json()).unwrap();
    doc.quotas = serde_json::from_value(serde_json::json!({
        "professional": {"limit": 1_000_000_000, "period_secs": 1}
    }))
    .unwrap();
    let flow = ServerFlow::new(
        Policy::compile(&doc).unwrap(),
        Responder::new("patchworks").unwrap(),
    );
    let auth = PwAuth::builder(flow, store)
        .clock(Arc::new(move || now))
        .build();
    let handler = || async { "ok" };
    let bare: Router = Router::new().route("/fabric/api/flows", get(handler));
    let guarded: Router = Router::new().route(
        "/fabric/api/flows",
        get(handler).route_layer(auth.require("flows.view").unwrap()),
    );
    let key = minted.key.expose_secret().to_owned();
    let request = || {
        http::Request::get("/fabric/api/flows")
            .header("authorization", &key)
            .body(Body::empty())
            .unwrap()
    };
    for app in [&bare, &guarded] {
        assert_eq!(ready(app.clone().oneshot(request())).unwrap().status(), 200);
    }
    let (parts, ()) = http::Request::get("/fabric/api/flows")
        .header("authorization", &key)
        .body(())
        .unwrap()
        .into_parts();
    assert!(ready(auth.check(&parts, "flows.view")).is_ok());

    // `PW_AUTH_GUARD_COUNT="bare|guarded|check N"`: serve N requests of one kind and
    // stop, without criterion, for `valgrind --tool=callgrind`, whose instruction
    // counts repeat exactly from run to run where this machine's timings do not (the
    // difference of two runs' totals, N apart, is N requests' cost, set-up excluded).
    if let Ok(spec) = std::env::var("PW_AUTH_GUARD_COUNT") {
        let (kind, n) = spec.split_once(' ').unwrap();
        let n: u64 = n.parse().unwrap();
        for _ in 0..n {
            match kind {
                "bare" => drop(black_box(ready(bare.clone().oneshot(request())))),
                "guarded" => drop(black_box(ready(guarded.clone().oneshot(request())))),
                "check" => drop(black_box(ready(auth.check(&parts, "flows.view")))),
                other => panic!("PW_AUTH_GUARD_COUNT: no kind `{other}`"),
            }
        }
        std::process::exit(0);
    }

    let mut g = c.benchmark_group("guard");
    g.bench_function(BenchmarkId::new("router", "bare"), |b| {
        b.iter(|| ready(bare.clone().oneshot(black_box(request()))))
    });
    g.bench_function(BenchmarkId::new("router", "guarded"), |b| {
        b.iter(|| ready(guarded.clone().oneshot(black_box(request()))))
    });
    g.bench_function(BenchmarkId::new("pw-auth", "check"), |b| {
        b.iter(|| ready(auth.check(black_box(&parts), "flows.view")))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! { name = benches; config = config(); targets = guard }
criterion_main!(benches);
