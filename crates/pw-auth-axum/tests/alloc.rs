//! What the guard allocates to decide one request: counted, and pinned, so that no
//! change adds an allocation to every request unnoticed. A separate binary, since the
//! counting allocator is global.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::Request;
use pw_auth_axum::{Admitted, MemoryStore, PwAuth};
use pw_auth_core::Policy;
use pw_auth_http::{Responder, ServerFlow};
use time::macros::datetime;

mod common;
use common::acme_and_its_key;

/// `f`'s output: the memory store never waits, so its future is ready at once.
fn ready<T>(f: impl Future<Output = T>) -> T {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the memory store never waits"),
    }
}

fn allocations(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

/// A store with acme's API key, a guard over it with a fixed clock, and the key.
fn guard() -> (PwAuth<MemoryStore>, String) {
    let now = datetime!(2026-11-27 12:00 UTC);
    let (store, minted) = acme_and_its_key(now);
    let flow = ServerFlow::new(
        Policy::default_policy(),
        Responder::new("patchworks").unwrap(),
    );
    let auth = PwAuth::builder(flow, store)
        .clock(std::sync::Arc::new(move || now))
        .build();
    (auth, minted.key.expose_secret().to_owned())
}

/// `PwAuth::check` allocates only for what it hands back: the outcome's header list
/// and its two `RateLimit` values (each its exact length, so the header value keeps
/// it), and the action's name it was given as a `&str`. The records are shared by
/// the store, not copied; the audit record is copied into the store's log, whose ids
/// and texts are shared.
#[test]
fn check_allocates_only_for_its_results() {
    let (auth, key) = guard();
    let (parts, ()) = Request::get("/fabric/api/flows")
        .header("authorization", &key)
        .body(())
        .unwrap()
        .into_parts();
    let check = || -> Admitted { ready(auth.check(&parts, "flows.view")).unwrap() };
    // Warmed up: the first request reads the records and makes the company's budget.
    drop(check());
    let mut admitted = None;
    let n = allocations(|| admitted = Some(check()));
    let admitted = admitted.unwrap();
    assert_eq!(admitted.company.as_str(), "acme");
    assert_eq!(admitted.headers.len(), 2, "{:?}", admitted.headers);
    assert_eq!(n, 4, "allocations for one allowed request");
}

/// What the guard adds to a request through axum's router: pinned, against the same
/// route unguarded, so that no change adds one unnoticed.
#[test]
fn the_guard_adds_a_pinned_number_of_allocations_to_a_request() {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;
    let (auth, key) = guard();
    let bare: Router = Router::new().route("/f", get(|| async { "ok" }));
    let guarded: Router = Router::new().route(
        "/f",
        get(|| async { "ok" }).route_layer(auth.require("flows.view").unwrap()),
    );
    let request = || {
        Request::get("/f")
            .header("authorization", &key)
            .body(Body::empty())
            .unwrap()
    };
    let count = |app: &Router| {
        assert_eq!(ready(app.clone().oneshot(request())).unwrap().status(), 200);
        let mut response = None;
        let n = allocations(|| response = Some(ready(app.clone().oneshot(request())).unwrap()));
        assert_eq!(response.unwrap().status(), 200);
        n
    };
    let (bare, guarded) = (count(&bare), count(&guarded));
    // Of these, 7 are the guard's own: the boxed future; the outcome's list and two
    // values; the principal and the company, together, in the request's extensions;
    // the verdict in the answer's (its map and its box). The others are axum's and
    // http's, for the layered route and the fields added to the answer.
    assert_eq!(guarded - bare, 12, "bare {bare}, guarded {guarded}");
}
