//! API keys as an attacker with one leaked key would try them: a credential does not
//! mint credentials (`docs/design.md`), so revoking the leaked key evicts whoever
//! holds it. Each refusal is the policy's `human_only`, in the 403 and in the audit
//! log; the key's creation is recorded with who created it and the new key's id.

use crate::fixture::{Backend, Fixture, bearer};

on_both_stores!(a_leaked_key_mints_nothing_and_revoking_it_evicts_its_holder,);

async fn send(
    http: &reqwest::Client,
    f: &Fixture,
    who: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut r = http
        .request(method, f.url(path))
        .header("authorization", who);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

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
