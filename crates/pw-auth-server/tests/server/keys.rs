//! API keys as an attacker with one leaked key would try them: a credential does not
//! mint credentials (`docs/design.md`), so revoking the leaked key evicts whoever
//! holds it. Each refusal is the policy's `human_only`, in the 403 and in the audit
//! log; the key's creation is recorded with who created it and the new key's id.

use crate::fixture::{Backend, Fixture, Stores, TestClock, bearer, send};

on_both_stores!(
    a_leaked_key_mints_nothing_and_revoking_it_evicts_its_holder,
    an_expiring_key_stops_at_its_expiry_and_a_rotated_one_after_its_grace_period,
    a_scoped_key_does_only_what_its_scope_names,
    a_keys_last_use_is_written_behind_once_a_minute,
);

async fn a_leaked_key_mints_nothing_and_revoking_it_evicts_its_holder(backend: Backend) {
    use reqwest::Method;
    let f = Fixture::start(backend, "keys-leaked").await;
    let http = reqwest::Client::new();
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let leaked = f.key(&f.ann(), "erp").await;
    let other = f.key(&f.ann(), "shop").await;
    let leaked_id = f.key_id(&f.ann(), "erp").await;
    let other_id = f.key_id(&f.ann(), "shop").await;

    // The key does its integration's work and reads what a manager reads.
    let (status, _) = send(&http, &f, &leaked, Method::GET, "/fabric/api/flows", None).await;
    assert_eq!(status, 200);
    let (status, listed) = send(
        &http,
        &f,
        &leaked,
        Method::GET,
        "/fabric/api/api-keys",
        None,
    )
    .await;
    assert_eq!(status, 200, "reading is not minting: {listed}");
    let (status, _) = send(&http, &f, &leaked, Method::GET, "/fabric/api/users", None).await;
    assert_eq!(status, 200);

    // Everything that would make or keep a credential is refused, by the policy.
    let user = serde_json::json!({"id": "mallory", "username": "mallory@acme.example", "password": "mallory-pass-1"});
    let attempts = [
        (
            Method::POST,
            "/fabric/api/api-keys".to_owned(),
            Some(serde_json::json!({"label": "persistence"})),
        ),
        (
            Method::POST,
            format!("/fabric/api/api-keys/{other_id}/revoke"),
            None,
        ),
        (
            Method::DELETE,
            format!("/fabric/api/api-keys/{other_id}"),
            None,
        ),
        (Method::POST, "/fabric/api/users".to_owned(), Some(user)),
        (
            Method::POST,
            "/fabric/api/users/uma/role".to_owned(),
            Some(serde_json::json!({"role": "user"})),
        ),
        (
            Method::POST,
            "/fabric/api/users/uma/disable".to_owned(),
            None,
        ),
    ];
    for (method, path, body) in attempts.clone() {
        let (status, refused) = send(&http, &f, &leaked, method.clone(), &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {refused}");
        assert_eq!(refused["reason"]["kind"], "human_only", "{method} {path}");
    }
    // The same requests by a person are allowed (the refusals were the key's).
    let (status, made) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/api-keys",
        Some(serde_json::json!({"label": "by ann"})),
    )
    .await;
    assert_eq!(status, 201, "{made}");

    // Nothing was made: the keys are the three ann created; uma is still active.
    let (_, keys) = send(&http, &f, &ann, Method::GET, "/fabric/api/api-keys", None).await;
    let mut labels: Vec<&str> = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["label"].as_str().unwrap())
        .collect();
    labels.sort_unstable();
    assert_eq!(labels, ["by ann", "erp", "shop"]);
    let (_, users) = send(&http, &f, &ann, Method::GET, "/fabric/api/users", None).await;
    assert!(!users.to_string().contains("mallory"), "{users}");
    let (status, _) = send(&http, &f, &other, Method::GET, "/fabric/api/flows", None).await;
    assert_eq!(status, 200, "the other key still works");

    // Revoking the leaked key evicts its holder: there is no second key to fall back on.
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        &format!("/fabric/api/api-keys/{leaked_id}/revoke"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(&http, &f, &leaked, Method::GET, "/fabric/api/flows", None).await;
    assert_eq!(status, 401);

    // The audit log: each refusal as human_only, and each creation with its creator.
    let (status, log) = send(
        &http,
        &f,
        &ann,
        Method::GET,
        "/fabric/api/audit-logs?kind=human_only",
        None,
    )
    .await;
    assert_eq!(status, 200, "{log}");
    let refused = log["data"].as_array().unwrap();
    assert_eq!(refused.len(), attempts.len(), "{log}");
    for r in refused {
        assert_eq!(r["effect"], "deny");
        assert_eq!(r["principal"]["role"], "api-user");
        assert_eq!(r["principal"]["method"]["key_id"], leaked_id.as_str());
    }
    let (_, log) = send(
        &http,
        &f,
        &ann,
        Method::GET,
        "/fabric/api/audit-logs?kind=key_created",
        None,
    )
    .await;
    let created = log["data"].as_array().unwrap();
    assert_eq!(created.len(), 3, "{log}");
    for r in created {
        assert_eq!(r["principal"]["user"], "ann", "{r}");
        assert_eq!(r["principal"]["method"]["kind"], "bearer", "{r}");
    }
    let ids: Vec<&str> = created
        .iter()
        .map(|r| r["reason"]["key_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&leaked_id.as_str()) && ids.contains(&other_id.as_str()),
        "{ids:?}"
    );
    assert!(!log.to_string().contains(&leaked), "never the key itself");
    f.stop().await;
}

/// The `WWW-Authenticate` description and status of a request with `key`.
async fn with_key(http: &reqwest::Client, f: &Fixture, key: &str) -> (u16, String) {
    let r = http
        .get(f.url("/fabric/api/flows"))
        .header("authorization", key)
        .send()
        .await
        .unwrap();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), challenge)
}

async fn an_expiring_key_stops_at_its_expiry_and_a_rotated_one_after_its_grace_period(
    backend: Backend,
) {
    use reqwest::Method;
    let clock = TestClock::frozen(crate::fixture::FROZEN_AT);
    let f = Fixture::with(Stores::on(backend, "keys-dated"), clock, |_| {}).await;
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

    // Expiry: validated, listed, and refused from its instant on with its own words.
    for bad in [0, 731] {
        let (status, errors) =
            create(serde_json::json!({"label": "ci", "expires_in_days": bad})).await;
        assert_eq!(status, 422, "{errors}");
        assert!(errors["errors"]["expires_in_days"].is_array(), "{errors}");
    }
    let (status, ci) = create(serde_json::json!({"label": "ci", "expires_in_days": 1})).await;
    assert_eq!(status, 201, "{ci}");
    let ci_key = ci["key"].as_str().unwrap().to_owned();
    assert_eq!(
        ci["expires_at"], "2026-11-19T11:06:40Z",
        "a day after the clock"
    );
    assert_eq!(ci["retires_at"], serde_json::Value::Null);
    let (status, plain) = create(serde_json::json!({"label": "erp"})).await;
    assert_eq!(status, 201);
    assert_eq!(
        plain["expires_at"],
        serde_json::Value::Null,
        "none by default"
    );
    let erp_key = plain["key"].as_str().unwrap().to_owned();
    let erp_id = plain["id"].as_str().unwrap().to_owned();
    assert_eq!(with_key(&http, &f, &ci_key).await.0, 200);
    f.clock.advance(86_400 - 1);
    assert_eq!(with_key(&http, &f, &ci_key).await.0, 200, "a second before");
    f.clock.advance(1);
    let (status, challenge) = with_key(&http, &f, &ci_key).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains(r#"error_description="The API key expired""#),
        "{challenge}"
    );
    assert_eq!(
        with_key(&http, &f, &erp_key).await.0,
        200,
        "the other key lives on"
    );
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;

    // Rotation: the successor for the same api-user, both keys for the grace period.
    let rotate = format!("/fabric/api/api-keys/{erp_id}/rotate");
    let (status, errors) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        &rotate,
        Some(serde_json::json!({"grace_secs": 30 * 86_400 + 1})),
    )
    .await;
    assert_eq!(status, 422, "{errors}");
    let (status, next) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        &rotate,
        Some(serde_json::json!({"grace_secs": 3600})),
    )
    .await;
    assert_eq!(status, 201, "{next}");
    let next_key = next["key"].as_str().unwrap().to_owned();
    let next_id = next["id"].as_str().unwrap().to_owned();
    assert_eq!(next["replaces"], erp_id.as_str());
    assert_eq!(next["user"], plain["user"], "the same api-user");
    assert_eq!(next["label"], "erp");
    assert_eq!(next["replaced_key_retires_at"], "2026-11-19T12:06:40Z");
    let (status, conflict) = send(&http, &f, &ann, Method::POST, &rotate, None).await;
    assert_eq!(status, 409, "rotated once: {conflict}");
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/api-keys/key_nope/rotate",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, refused) = send(
        &http,
        &f,
        &next_key,
        Method::POST,
        &format!("/fabric/api/api-keys/{next_id}/rotate"),
        None,
    )
    .await;
    assert_eq!(
        (status, refused["reason"]["kind"].as_str()),
        (403, Some("human_only")),
        "a key rotates no key"
    );
    assert_eq!(with_key(&http, &f, &erp_key).await.0, 200);
    assert_eq!(with_key(&http, &f, &next_key).await.0, 200);
    let (_, listed) = send(&http, &f, &ann, Method::GET, "/fabric/api/api-keys", None).await;
    let old = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == erp_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(old["retires_at"], "2026-11-19T12:06:40Z", "{listed}");
    f.clock.advance(3599);
    assert_eq!(
        with_key(&http, &f, &erp_key).await.0,
        200,
        "a second before"
    );
    f.clock.advance(1);
    let (status, challenge) = with_key(&http, &f, &erp_key).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains("The API key was rotated and has retired"),
        "{challenge}"
    );
    assert_eq!(with_key(&http, &f, &next_key).await.0, 200);

    // Deleting the retired key leaves its successor's api-user in place.
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::DELETE,
        &format!("/fabric/api/api-keys/{erp_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        with_key(&http, &f, &next_key).await.0,
        200,
        "the successor still acts"
    );
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::DELETE,
        &format!("/fabric/api/api-keys/{next_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(with_key(&http, &f, &next_key).await.0, 401);

    // The audit log names both keys of the rotation, and each failure by its kind.
    let (_, log) = send(
        &http,
        &f,
        &ann,
        Method::GET,
        "/fabric/api/audit-logs?kind=key_created",
        None,
    )
    .await;
    let rotation = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reason"]["replaces"].is_string())
        .unwrap()
        .clone();
    assert_eq!(rotation["reason"]["key_id"], next_id.as_str(), "{rotation}");
    assert_eq!(rotation["reason"]["replaces"], erp_id.as_str());
    assert_eq!(rotation["principal"]["user"], "ann");
    // A 401 belongs to no company's log (nobody could be told apart from a guess),
    // so the records are read from the store.
    let records = f.server.db().audit_records().await.unwrap();
    let failures: Vec<&str> = records
        .iter()
        .filter_map(|r| r["reason"]["failure"].as_str())
        .collect();
    assert!(
        failures.contains(&"key_expired") && failures.contains(&"key_retired"),
        "{failures:?}"
    );
    let log = serde_json::Value::Array(records.clone());
    for secret in [&ci_key, &erp_key, &next_key] {
        assert!(!log.to_string().contains(secret.as_str()));
    }
    f.stop().await;
}

async fn a_scoped_key_does_only_what_its_scope_names(backend: Backend) {
    use reqwest::Method;
    let f = Fixture::start(backend, "keys-scoped").await;
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
    // A scope is checked against the policy: never a silent grant.
    for (scope, says) in [
        (
            serde_json::json!({"actions": ["flows.launch"]}),
            "flows.launch",
        ),
        (
            serde_json::json!({"actions": ["api-keys.create"]}),
            "never do",
        ),
        (serde_json::json!({"view": ["flow"]}), "area `flow`"),
        (serde_json::json!({}), "allows nothing"),
        (serde_json::json!({"edit": "flows"}), "lists"),
        (serde_json::json!({"admin": true}), "lists"),
    ] {
        let (status, errors) = create(serde_json::json!({"label": "x", "scope": scope})).await;
        assert_eq!(status, 422, "{scope}: {errors}");
        let message = errors["errors"]["scope"][0].as_str().unwrap();
        assert!(message.contains(says), "{scope}: {message}");
    }
    let scope = serde_json::json!({"actions": ["flows.deploy"], "view": ["flows"]});
    let (status, made) = create(serde_json::json!({"label": "deployer", "scope": scope})).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["scope"], scope);
    let key = made["key"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    let call = |method: Method, path: &'static str| {
        let key = key.clone();
        let http = http.clone();
        let url = f.url(path);
        async move {
            let r = http
                .request(method, url)
                .header("authorization", key)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
            (status, body["reason"]["kind"].as_str().map(str::to_owned))
        }
    };
    assert_eq!(call(Method::GET, "/fabric/api/flows").await.0, 200);
    assert_eq!(
        call(Method::POST, "/fabric/api/flows/f1/deploy").await.0,
        200
    );
    // What the unscoped key may do, the scoped one may not; other refusals keep
    // their reason.
    assert_eq!(
        call(Method::GET, "/fabric/api/api-keys").await,
        (403, Some("outside_key_scope".to_owned()))
    );
    assert_eq!(
        call(Method::GET, "/fabric/api/users").await,
        (403, Some("outside_key_scope".to_owned()))
    );
    assert_eq!(
        call(Method::POST, "/fabric/api/blueprints/b1/publish").await,
        (403, Some("administrator_only".to_owned()))
    );
    // The listing shows the scope; a rotation keeps it.
    let (_, listed) = send(&http, &f, &ann, Method::GET, "/fabric/api/api-keys", None).await;
    assert_eq!(listed["data"][0]["scope"], scope, "{listed}");
    let (status, next) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        &format!("/fabric/api/api-keys/{id}/rotate"),
        None,
    )
    .await;
    assert_eq!(status, 201, "{next}");
    assert_eq!(next["scope"], scope);
    let next_key = next["key"].as_str().unwrap();
    let r = http
        .get(f.url("/fabric/api/api-keys"))
        .header("authorization", next_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the successor is as narrow");
    // The refusal is audited with its reason.
    let (_, log) = send(
        &http,
        &f,
        &ann,
        Method::GET,
        "/fabric/api/audit-logs?kind=outside_key_scope",
        None,
    )
    .await;
    let refused = log["data"].as_array().unwrap();
    assert_eq!(refused.len(), 3, "{log}");
    assert!(
        refused.iter().all(|r| r["reason"]["action_kind"] == "view"),
        "{log}"
    );
    f.stop().await;
}

/// The value of the counter of last-use writes, from `/metrics`.
async fn last_use_writes(http: &reqwest::Client, f: &Fixture) -> u64 {
    let text = http
        .get(f.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("pw_auth_key_last_used_writes_total "))
        .unwrap_or_else(|| panic!("no counter in {text}"))
        .trim()
        .parse()
        .unwrap()
}

/// The key `id`'s last use as stored, once the writer wrote `writes` in all (it
/// writes behind; a bounded wait). Read from the store: the thousand requests spent
/// the company's budget, so the listing route would answer 429.
async fn last_used_once_written(
    http: &reqwest::Client,
    f: &Fixture,
    id: &str,
    writes: u64,
) -> String {
    for _ in 0..200 {
        if last_use_writes(http, f).await >= writes {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let acme = pw_auth_core::CompanyId::new("acme").unwrap();
    let keys = f.server.db().keys_of(acme).await.unwrap();
    let (_, used) = keys.iter().find(|(k, _)| k.id.as_str() == id).unwrap();
    used.map(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    })
    .unwrap_or_default()
}

async fn a_keys_last_use_is_written_behind_once_a_minute(backend: Backend) {
    use reqwest::Method;
    // 11:06:40 on the test clock: the minute began at 11:06:00.
    let clock = TestClock::frozen(crate::fixture::FROZEN_AT);
    let f = Fixture::with(Stores::on(backend, "keys-used"), clock, |_| {}).await;
    let http = reqwest::Client::new();
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let (_, made) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/api-keys",
        Some(serde_json::json!({"label": "erp"})),
    )
    .await;
    let key = made["key"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["last_used_at"], serde_json::Value::Null);
    assert_eq!(
        last_use_writes(&http, &f).await,
        0,
        "a person's requests are no key's use"
    );

    // A thousand uses within a minute (allowed and refused alike): one write.
    for n in 0..1000 {
        let path = if n % 10 == 0 {
            "/fabric/api/blueprints/b1/publish"
        } else {
            "/fabric/api/flows"
        };
        let method = if n % 10 == 0 {
            Method::POST
        } else {
            Method::GET
        };
        let r = http
            .request(method, f.url(path))
            .header("authorization", &key)
            .send()
            .await
            .unwrap();
        assert!(
            matches!(r.status().as_u16(), 200 | 403 | 429),
            "{}",
            r.status()
        );
    }
    assert_eq!(
        last_used_once_written(&http, &f, &id, 1).await,
        "2026-11-18T11:06:00Z"
    );
    // Given time to write more, it wrote no more.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(last_use_writes(&http, &f).await, 1);

    // The next minute's first use writes once more, and the last use moves on.
    f.clock.advance(60);
    for _ in 0..20 {
        http.get(f.url("/fabric/api/flows"))
            .header("authorization", &key)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        last_used_once_written(&http, &f, &id, 2).await,
        "2026-11-18T11:07:00Z"
    );
    assert_eq!(last_use_writes(&http, &f).await, 2);
    // The listing shows it (the budget spent a minute ago has refilled).
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let (status, listed) = send(&http, &f, &ann, Method::GET, "/fabric/api/api-keys", None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["data"][0]["last_used_at"], "2026-11-18T11:07:00Z");
    f.stop().await;
}
