//! A limit per API key inside its company's budget, over loopback: a key minted with
//! a quota of its own spends it and the company's together (both or neither), on
//! SQLite (in memory, written with the audit commits), on PostgreSQL (both rows
//! locked, written in one statement) and on Redis (one script over both keys), and
//! across two servers sharing one Redis, exactly. Clocks are frozen: no budget
//! refills during a test. Loops are bounded.

use reqwest::Method;

use crate::fixture::{Backend, FROZEN_AT, Fixture, Stores, TestClock, bearer, send};

on_both_stores!(a_keys_own_quota_is_spent_with_its_companys_and_kept_across_a_restart);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_a_keys_own_quota_is_spent_with_its_companys() {
    quota_is_spent(Stores::postgres("key-limits-redis", true)).await;
}

async fn a_keys_own_quota_is_spent_with_its_companys_and_kept_across_a_restart(backend: Backend) {
    quota_is_spent(Stores::on(backend, "key-limits")).await;
}

/// The `RateLimit` field's `"default"` remaining count, and the whole header.
async fn flows(http: &reqwest::Client, f: &Fixture, key: &str) -> (u16, String) {
    let r = http
        .get(f.url("/fabric/api/flows"))
        .header("authorization", key)
        .send()
        .await
        .unwrap();
    let limit = r
        .headers()
        .get("ratelimit")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), limit)
}

/// The `r=` of policy `name` in a `RateLimit` value.
fn remaining(limit: &str, name: &str) -> u32 {
    let item = limit
        .split(", ")
        .find(|i| i.starts_with(&format!("\"{name}\";")))
        .unwrap_or_else(|| panic!("no {name} in {limit}"));
    let r = item.split(';').find_map(|p| p.strip_prefix("r=")).unwrap();
    r.parse().unwrap()
}

async fn quota_is_spent(stores: Stores) {
    let f = Fixture::with(stores, TestClock::frozen(FROZEN_AT), |_| {}).await;
    let http = reqwest::Client::new();
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let create = |body: serde_json::Value| {
        send(
            &http,
            &f,
            &ann,
            Method::POST,
            "/fabric/api/api-keys",
            Some(body),
        )
    };
    // Never looser than the company's quota (240 a minute at Professional), and a
    // valid quota at all.
    for (quota, says) in [
        (
            serde_json::json!({"limit": 300, "period_secs": 60}),
            "looser",
        ),
        (
            serde_json::json!({"limit": 10, "period_secs": 60, "burst": 241}),
            "looser",
        ),
        (
            serde_json::json!({"limit": 0, "period_secs": 60}),
            "at least 1",
        ),
        (serde_json::json!({"limit": 5, "period_secs": 0}), "period"),
        (serde_json::json!({"limit": 5}), "an object of"),
        (serde_json::json!(5), "an object of"),
    ] {
        let (status, errors) = create(serde_json::json!({"label": "x", "quota": quota})).await;
        assert_eq!(status, 422, "{quota}: {errors}");
        let message = errors["errors"]["quota"][0].as_str().unwrap();
        assert!(message.contains(says), "{quota}: {message}");
    }
    let quota = serde_json::json!({"limit": 5, "period_secs": 3600});
    let (status, made) = create(serde_json::json!({"label": "sync", "quota": quota})).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["quota"], quota);
    let limited = made["key"].as_str().unwrap().to_owned();
    let limited_id = made["id"].as_str().unwrap().to_owned();
    let (status, plain) = create(serde_json::json!({"label": "shop"})).await;
    assert_eq!(status, 201);
    assert_eq!(plain["quota"], serde_json::Value::Null);
    let plain = plain["key"].as_str().unwrap().to_owned();

    // Five admitted, each naming both policies; the sixth refused by the key alone.
    let mut company_left = 0;
    for left in (0..5).rev() {
        let (status, limit) = flows(&http, &f, &limited).await;
        assert_eq!(status, 200, "{limit}");
        assert_eq!(remaining(&limit, "key"), left, "{limit}");
        company_left = remaining(&limit, "default");
    }
    let (status, limit) = flows(&http, &f, &limited).await;
    assert_eq!(status, 429);
    assert_eq!(remaining(&limit, "key"), 0);
    assert_eq!(
        remaining(&limit, "default"),
        company_left,
        "the company's budget as it stands: not charged for the refusal"
    );
    // The company's other key goes on, one request below where the limited key left
    // the company: the refused request was not charged to it.
    let (status, limit) = flows(&http, &f, &plain).await;
    assert_eq!(status, 200);
    assert_eq!(remaining(&limit, "default"), company_left - 1);
    assert!(
        !limit.contains("\"key\""),
        "one policy for a key without a quota"
    );
    // And its charge was kept: the next one finds one fewer still.
    let (status, limit) = flows(&http, &f, &plain).await;
    assert_eq!(status, 200);
    assert_eq!(remaining(&limit, "default"), company_left - 2);

    // The audit log says which budget refused.
    let (status, page) = send(
        &http,
        &f,
        &ann,
        Method::GET,
        "/fabric/api/audit-logs?kind=over_limit",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let refused = page["data"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{page}");
    assert_eq!(refused[0]["reason"]["limited_by"], "key");
    assert_eq!(
        refused[0]["principal"]["method"]["key_id"],
        limited_id.as_str()
    );

    // The listing shows the quota.
    let (_, listed) = send(&http, &f, &ann, Method::GET, "/fabric/api/api-keys", None).await;
    let row = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == limited_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["quota"], quota);

    // A restart keeps the key's spent budget (written with the answered requests'
    // audit commits, or at once on PostgreSQL and Redis).
    let (stores, clock) = f.stop().await;
    let f = Fixture::with(stores, clock, |_| {}).await;
    let (status, _) = flows(&http, &f, &limited).await;
    assert_eq!(status, 429, "the key's budget survived the restart");
    let (status, _) = flows(&http, &f, &plain).await;
    assert_eq!(status, 200);

    // A rotation keeps the quota; the successor has a budget of its own.
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let (status, rotated) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        &format!("/fabric/api/api-keys/{limited_id}/rotate"),
        None,
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    assert_eq!(rotated["quota"], quota);
    let successor = rotated["key"].as_str().unwrap().to_owned();
    let (status, limit) = flows(&http, &f, &successor).await;
    assert_eq!(status, 200);
    assert_eq!(remaining(&limit, "key"), 4);

    // Deleting a key deletes its budget's row (the records' own store only: on
    // Redis, the row was never written there).
    let key_budgets = "SELECT key_id FROM key_budgets ORDER BY key_id";
    let before = f.stores.texts(key_budgets).await;
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::DELETE,
        &format!("/fabric/api/api-keys/{limited_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    // SQLite writes the budgets with its next audit commit: one more request.
    let _ = flows(&http, &f, &plain).await;
    let after = f.stores.texts(key_budgets).await;
    assert!(!after.contains(&limited_id), "{after:?}");
    if !f.stores.has_redis() {
        assert!(before.contains(&limited_id), "{before:?}");
    }
    f.stop().await;
}

/// Two servers on one PostgreSQL and one Redis: a key's own quota and its company's
/// budget are each one budget across both, to the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_redis_spend_a_keys_quota_exactly() {
    use pw_auth_server::start;
    let stores = Stores::postgres("key-limits-two", true);
    let clock = TestClock::frozen(FROZEN_AT);
    let a = start(stores.config_on(&clock)).await.unwrap();
    let b = start(stores.config_on(&clock)).await.unwrap();
    let http = reqwest::Client::new();
    let ann = bearer(&http, &a, "ann@acme.example", "ann-demo-password").await;
    let made = |label: &str, quota: Option<serde_json::Value>| {
        let mut body = serde_json::json!({ "label": label });
        if let Some(q) = quota {
            body["quota"] = q;
        }
        http.post(a.url("/fabric/api/api-keys"))
            .header("authorization", &ann)
            .json(&body)
            .send()
    };
    let key_of = |v: serde_json::Value| v["key"].as_str().unwrap().to_owned();
    const QUOTA: usize = 30;
    let quota = serde_json::json!({"limit": QUOTA, "period_secs": 3600});
    let limited = key_of(
        made("sync", Some(quota))
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    let plain = key_of(made("shop", None).await.unwrap().json().await.unwrap());
    let company_left = |server: &pw_auth_server::Running| {
        let r = http
            .get(server.url("/fabric/api/flows"))
            .header("authorization", &plain)
            .send();
        async move {
            let r = r.await.unwrap();
            assert_eq!(r.status(), 200);
            let limit = r.headers()["ratelimit"].to_str().unwrap().to_owned();
            remaining(&limit, "default")
        }
    };
    let before = company_left(&b).await;

    // 10 callers, alternating between the servers, 100 requests in all.
    const TASKS: usize = 10;
    const EACH: usize = 10;
    let urls = [a.url("/fabric/api/flows"), b.url("/fabric/api/flows")];
    let (total, admitted_by) = crate::fixture::spread(&http, &urls, &limited, TASKS, EACH).await;
    assert_eq!(
        total,
        [QUOTA, TASKS * EACH - QUOTA, 0],
        "[200, 429, other] across both servers"
    );
    assert!(
        admitted_by[0] > 0 && admitted_by[1] > 0,
        "both servers admitted some: {admitted_by:?}"
    );
    // The company was charged for exactly the admitted requests (and this one).
    let after = company_left(&a).await;
    assert_eq!(usize::try_from(before - after).unwrap(), QUOTA + 1);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
