//! Time-bound grants: a parent's member acts in a linked company while the grant is
//! in force, and from its end on is refused as if it had none (`missing_grant`),
//! read from the records on both stores (the SQLite read cache holds the grant with
//! its end; the guard tells it by its own `now`).

use pw_auth_core::{CompanyId, UserId};

use crate::fixture::{Backend, FROZEN_AT, Fixture, Stores, TestClock, bearer, send};

on_both_stores!(
    a_grant_with_an_end_works_until_then_and_never_after,
    the_parents_administrator_gives_and_withdraws_grants_over_the_api,
);

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

/// `POST`/`DELETE /fabric/api/linked-companies/{company}/grants`: ann (acme's
/// administrator) withdraws max's grant for acme-eu (refused there from his next
/// request) and gives it again, until a time; what the policy refuses (a manager, an
/// API key), what the route refuses (a member below manager, a company not linked,
/// an end in the past); each change audited.
async fn the_parents_administrator_gives_and_withdraws_grants_over_the_api(backend: Backend) {
    use reqwest::Method;
    let clock = TestClock::frozen(FROZEN_AT);
    let f = Fixture::with(Stores::on(backend, "grants-api"), clock, |_| {}).await;
    let http = reqwest::Client::new();
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let max = bearer(&http, &f.server, "max@acme.example", "max-demo-password").await;
    let key = f.key(&f.ann(), "erp").await;
    let max_in_eu = || {
        let r = http
            .get(f.url("/fabric/api/flows"))
            .header("authorization", &max)
            .header("x-company", "acme-eu")
            .send();
        async move { r.await.unwrap().status().as_u16() }
    };
    let grants = "/fabric/api/linked-companies/acme-eu/grants";
    assert_eq!(max_in_eu().await, 200, "the demo's grant");

    // Withdrawn: max is refused in acme-eu from his next request.
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::DELETE,
        &format!("{grants}/max"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(max_in_eu().await, 403);
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::DELETE,
        &format!("{grants}/max"),
        None,
    )
    .await;
    assert_eq!(status, 404, "no grant to withdraw");

    // Given again, until a time: max acts in acme-eu again.
    let until = (f.clock.now() + time::Duration::days(7))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = serde_json::json!({"user": "max", "until": until});
    let (status, given) = send(&http, &f, &ann, Method::POST, grants, Some(body.clone())).await;
    assert_eq!(status, 200, "{given}");
    assert_eq!(
        (given["user"].as_str(), given["linked_company"].as_str()),
        (Some("max"), Some("acme-eu"))
    );
    assert!(given["until"].is_string());
    assert_eq!(max_in_eu().await, 200);

    // The policy: a manager and an API key are refused, with their reasons.
    for (who, kind) in [(&max, "administrator_only"), (&key, "administrator_only")] {
        let (status, v) = send(&http, &f, who, Method::POST, grants, Some(body.clone())).await;
        assert_eq!(
            (status, v["reason"]["kind"].as_str()),
            (403, Some(kind)),
            "{v}"
        );
    }
    // The route: a member below manager, no such member, an end that is not in the
    // future (now is not), a company not linked to acme (or none), an unknown field.
    let now = f
        .clock
        .now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for (body, field) in [
        (serde_json::json!({"user": "max", "until": now}), "until"),
        (serde_json::json!({"user": "uma"}), "user"),
        (serde_json::json!({"user": "nobody"}), "user"),
        (
            serde_json::json!({"user": "max", "until": "2000-01-01T00:00:00Z"}),
            "until",
        ),
        (
            serde_json::json!({"user": "max", "until": "tomorrow"}),
            "until",
        ),
        (serde_json::json!({"user": "max", "scope": "all"}), "body"),
    ] {
        let (status, v) = send(&http, &f, &ann, Method::POST, grants, Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {v}");
        assert!(v["errors"][field].is_array(), "{body}: {v}");
    }
    for company in ["acme", "globex", "no-such-company"] {
        let path = format!("/fabric/api/linked-companies/{company}/grants");
        let (status, _) = send(
            &http,
            &f,
            &ann,
            Method::POST,
            &path,
            Some(serde_json::json!({"user": "max"})),
        )
        .await;
        assert_eq!(status, 404, "{company}");
    }

    // Each change audited, with who made it.
    let records = f.server.db().audit_records().await.unwrap();
    let changes: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r["reason"]["kind"] == "grant_changed")
        .map(|r| {
            assert_eq!(r["principal"]["user"], "ann");
            assert_eq!(r["action"], "linked-companies.grant");
            (
                r["reason"]["change"].as_str().unwrap(),
                r["reason"]["user"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(changes, [("withdrawn", "max"), ("given", "max")]);
    f.stop().await;
}
