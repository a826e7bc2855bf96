//! `GET /fabric/api/audit-logs`: a company's audit log, newest first, paged by a
//! stable cursor, filtered by time, kind and decision id; each answer's
//! `X-Decision-Id` finds its record; one company never reads another's.

use std::collections::BTreeSet;

use pw_auth_core::{CompanyId, Role, UserId, UserRecord};

use crate::fixture::{Backend, Fixture, bearer};

on_both_stores!(
    the_audit_log_is_paged_newest_first_and_found_by_decision_id,
    a_company_reads_its_own_log_and_no_other,
);

async fn get_json(
    http: &reqwest::Client,
    f: &Fixture,
    who: &str,
    query: &str,
) -> (u16, serde_json::Value) {
    let r = http
        .get(f.url(&format!("/fabric/api/audit-logs{query}")))
        .header("authorization", who)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The decision id an answer carries.
fn decision_of(r: &reqwest::Response) -> String {
    r.headers()["x-decision-id"].to_str().unwrap().to_owned()
}

async fn the_audit_log_is_paged_newest_first_and_found_by_decision_id(backend: Backend) {
    let f = Fixture::start(backend, "audit-log").await;
    let http = reqwest::Client::new();
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let uma = bearer(&http, &f.server, "uma@acme.example", "uma-demo-password").await;
    let flows = http
        .get(f.url("/fabric/api/flows"))
        .header("authorization", &ann)
        .send()
        .await
        .unwrap();
    assert_eq!(flows.status(), 200);
    let flows_id = decision_of(&flows);
    let publish = http
        .post(f.url("/fabric/api/blueprints/b1/publish"))
        .header("authorization", &uma)
        .send()
        .await
        .unwrap();
    assert_eq!(publish.status(), 403);
    let publish_id = decision_of(&publish);
    assert_ne!(flows_id, publish_id);

    // The record of each answer, by the id the answer carried.
    let (status, page) = get_json(&http, &f, &ann, &format!("?decision_id={flows_id}")).await;
    assert_eq!(status, 200);
    let found = page["data"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{page}");
    assert_eq!(found[0]["decision_id"], flows_id.as_str());
    assert_eq!(found[0]["action"], "flows.view");
    assert_eq!(found[0]["principal"]["user"], "ann");
    assert_eq!(
        found[0]["schema_version"],
        pw_auth_core::AUDIT_SCHEMA_VERSION
    );
    let (_, page) = get_json(&http, &f, &ann, "?kind=administrator_only").await;
    let refused = page["data"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{page}");
    assert_eq!(refused[0]["decision_id"], publish_id.as_str());
    assert_eq!(refused[0]["principal"]["user"], "uma");

    // Every record, one page; then the same, two at a time by the cursor.
    let (_, all) = get_json(&http, &f, &ann, "?limit=200").await;
    let all: Vec<serde_json::Value> = all["data"].as_array().unwrap().clone();
    assert!(
        all.len() >= 5,
        "logins, the requests, and these reads: {all:?}"
    );
    let times: Vec<&str> = all.iter().map(|r| r["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let mut paged = Vec::new();
    let mut cursor = String::new();
    for _ in 0..100 {
        let query = if cursor.is_empty() {
            "?limit=2".to_owned()
        } else {
            format!("?limit=2&cursor={cursor}")
        };
        let (status, page) = get_json(&http, &f, &ann, &query).await;
        assert_eq!(status, 200);
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        paged.extend(data.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    // The pages hold the records of the one read before them, in its order (the reads
    // made since are newer, so they come before it and are skipped here).
    let start = paged
        .iter()
        .position(|r| r["decision_id"] == all[0]["decision_id"])
        .unwrap();
    assert_eq!(
        paged[start..],
        all[..],
        "disjoint pages, together the whole log"
    );

    // Time filters: nothing after the far future, everything since the epoch.
    let (_, none) = get_json(&http, &f, &ann, "?since=2999-01-01T00:00:00Z").await;
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
    assert!(none["next_cursor"].is_null());
    let (_, old) = get_json(&http, &f, &ann, "?until=2000-01-01T00:00:00Z").await;
    assert_eq!(old["data"].as_array().unwrap().len(), 0);

    // Bad parameters: 422, each named.
    let (status, bad) = get_json(&http, &f, &ann, "?limit=0&decision_id=x&kind=Nope").await;
    assert_eq!(status, 422);
    let named: BTreeSet<&str> = bad["errors"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(named, BTreeSet::from(["decision_id", "kind", "limit"]));

    // Administrators only: a user and an API key are refused by the policy.
    let (status, body) = get_json(&http, &f, &uma, "").await;
    assert_eq!(status, 403, "{body}");
    let key = f.key(&f.ann(), "reader").await;
    let (status, _) = get_json(&http, &f, &key, "").await;
    assert_eq!(status, 403);
    f.stop().await;
}

async fn a_company_reads_its_own_log_and_no_other(backend: Backend) {
    let f = Fixture::start(backend, "audit-tenants").await;
    let globex = CompanyId::new("globex").unwrap();
    let hash = pw_auth_server::hash_password("gus-password-1").unwrap();
    f.server
        .db()
        .add_user(
            UserRecord::active(UserId::new("gus").unwrap(), globex, Role::Administrator),
            Some(("gus@globex.example".to_owned(), hash)),
        )
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let gus = bearer(&http, &f.server, "gus@globex.example", "gus-password-1").await;
    for who in [&ann, &gus] {
        let r = http
            .get(f.url("/fabric/api/flows"))
            .header("authorization", who)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let companies = |page: &serde_json::Value| -> BTreeSet<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| {
                [
                    r["company"].as_str().map(str::to_owned),
                    r["principal"]["company"].as_str().map(str::to_owned),
                ]
            })
            .flatten()
            .collect()
    };
    let (status, acme_log) = get_json(&http, &f, &ann, "?limit=200").await;
    assert_eq!(status, 200);
    let (status, globex_log) = get_json(&http, &f, &gus, "?limit=200").await;
    assert_eq!(status, 200);
    assert_eq!(companies(&acme_log), BTreeSet::from(["acme".to_owned()]));
    assert_eq!(
        companies(&globex_log),
        BTreeSet::from(["globex".to_owned()])
    );
    assert!(!globex_log["data"].as_array().unwrap().is_empty());
    // Naming the other company is a decision for the policy: refused, no records.
    let r = http
        .get(f.url("/fabric/api/audit-logs"))
        .header("authorization", &gus)
        .header("x-company", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    f.stop().await;
}
