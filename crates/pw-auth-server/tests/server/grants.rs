//! Time-bound grants: a parent's member acts in a linked company while the grant is
//! in force, and from its end on is refused as if it had none (`missing_grant`),
//! read from the records on both stores (the SQLite read cache holds the grant with
//! its end; the guard tells it by its own `now`).

use pw_auth_core::{CompanyId, UserId};

use crate::fixture::{Backend, FROZEN_AT, Fixture, Stores, TestClock, bearer};

on_both_stores!(a_grant_with_an_end_works_until_then_and_never_after,);

async fn a_grant_with_an_end_works_until_then_and_never_after(backend: Backend) {
    let clock = TestClock::frozen(FROZEN_AT);
    let f = Fixture::with(Stores::on(backend, "grants-until"), clock, |_| {}).await;
    let http = reqwest::Client::new();
    let in_eu = |token: String| {
        let http = http.clone();
        let url = f.url("/fabric/api/flows");
        async move {
            let r = http
                .get(url)
                .header("authorization", token)
                .header("x-company", "acme-eu")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
            (status, v["reason"]["kind"].as_str().map(str::to_owned))
        }
    };
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let missing = (403, Some("missing_grant".to_owned()));
    assert_eq!(in_eu(ann.clone()).await, missing, "no grant yet");

    let end = f.clock.now() + time::Duration::hours(1);
    let (ann_id, eu) = (
        UserId::new("ann").unwrap(),
        CompanyId::new("acme-eu").unwrap(),
    );
    f.server
        .db()
        .grant(ann_id.clone(), eu.clone(), Some(end))
        .await
        .unwrap();
    assert_eq!(in_eu(ann.clone()).await.0, 200);
    f.clock.advance(3599);
    assert_eq!(in_eu(ann.clone()).await.0, 200, "a second before its end");
    f.clock.advance(1);
    assert_eq!(in_eu(ann.clone()).await, missing, "from its end on");
    // Granted again, without an end: in force again.
    f.server.db().grant(ann_id, eu, None).await.unwrap();
    assert_eq!(in_eu(ann).await.0, 200);
    f.stop().await;
}
