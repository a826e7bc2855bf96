//! `/fabric/api/users`: the platform's user administration over loopback, with its
//! refusals — each route by its policy action, role changes and disabling by the
//! platform's role rules — and what each did, audited.

use crate::fixture::{Backend, Fixture, bearer, login, send};

on_both_stores!(
    users_are_listed_created_promoted_and_disabled_by_the_platforms_rules,
    a_users_username_and_password_are_updated_by_the_platforms_rules,
    a_parent_member_with_a_grant_manages_the_linked_companys_users,
);

fn ids(page: &serde_json::Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn users_are_listed_created_promoted_and_disabled_by_the_platforms_rules(backend: Backend) {
    use reqwest::Method;
    let f = Fixture::start(backend, "users").await;
    let http = reqwest::Client::new();
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let max = bearer(&http, &f.server, "max@acme.example", "max-demo-password").await;
    let uma = bearer(&http, &f.server, "uma@acme.example", "uma-demo-password").await;
    // An API key makes an api-user; people are listed, api-users are not.
    let key = f.key(&f.ann(), "erp").await;

    let (status, all) = send(&http, &f, &uma, Method::GET, "/fabric/api/users", None).await;
    assert_eq!(status, 200, "every role may view");
    assert_eq!(ids(&all), ["ann", "max", "uma"]);
    assert_eq!(all["data"][0]["username"], "ann@acme.example");
    assert_eq!(all["data"][0]["role"], "administrator");
    assert!(all.to_string().find("argon2").is_none(), "never a hash");
    let (_, found) = send(
        &http,
        &f,
        &uma,
        Method::GET,
        "/fabric/api/users/search?q=MAX",
        None,
    )
    .await;
    assert_eq!(ids(&found), ["max"]);
    let (status, _) = send(
        &http,
        &f,
        &uma,
        Method::GET,
        "/fabric/api/users/search",
        None,
    )
    .await;
    assert_eq!(status, 422);

    // A manager creates a user, who logs in; an API key, at manager level, may not
    // (a credential never makes people).
    let ulf = serde_json::json!({"id": "ulf", "username": "ulf@acme.example", "password": "ulf-password-1"});
    let (status, refused) = send(
        &http,
        &f,
        &key,
        Method::POST,
        "/fabric/api/users",
        Some(ulf.clone()),
    )
    .await;
    assert_eq!(
        (status, refused["reason"]["kind"].as_str()),
        (403, Some("human_only"))
    );
    let (status, made) = send(
        &http,
        &f,
        &max,
        Method::POST,
        "/fabric/api/users",
        Some(ulf.clone()),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (made["role"].as_str(), made["status"].as_str()),
        (Some("user"), Some("active"))
    );
    assert_eq!(
        login(&http, &f.server, "ulf@acme.example", "ulf-password-1")
            .await
            .status(),
        200
    );
    let (status, _) = send(
        &http,
        &f,
        &max,
        Method::POST,
        "/fabric/api/users",
        Some(ulf),
    )
    .await;
    assert_eq!(status, 409, "the id and username are taken");
    for (body, field) in [
        (
            serde_json::json!({"id": "x1", "username": "x1@acme.example", "password": "short"}),
            "password",
        ),
        (
            serde_json::json!({"id": "x 1", "username": "x1@acme.example", "password": "long-enough-1"}),
            "id",
        ),
        (
            serde_json::json!({"id": "x1", "username": "x1@acme.example", "password": "long-enough-1", "role": "manager"}),
            "role",
        ),
        (
            serde_json::json!({"id": "x1", "username": "x1@acme.example", "password": "long-enough-1", "role": "administrator"}),
            "role",
        ),
    ] {
        let (status, errors) = send(
            &http,
            &f,
            &max,
            Method::POST,
            "/fabric/api/users",
            Some(body),
        )
        .await;
        assert_eq!(status, 422, "{errors}");
        assert!(errors["errors"][field].is_array(), "{errors}");
    }

    // Managers: an administrator creates them; a manager is refused by the policy.
    let mo = serde_json::json!({"id": "mo", "username": "mo@acme.example", "password": "mo-password-12"});
    let (status, refused) = send(
        &http,
        &f,
        &max,
        Method::POST,
        "/fabric/api/users/managers",
        Some(mo.clone()),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(refused["reason"]["kind"], "administrator_only");
    let (status, made) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/users/managers",
        Some(mo),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["role"], "manager");

    // Role changes, by the platform's table.
    let to = |role: &str| Some(serde_json::json!({"role": role}));
    let (status, refused) = send(
        &http,
        &f,
        &max,
        Method::POST,
        "/fabric/api/users/ulf/role",
        to("manager"),
    )
    .await;
    assert_eq!(status, 403, "a manager promotes up to user");
    assert_eq!(refused["reason"]["kind"], "above_actors_grant");
    let (status, refused) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/users/ulf/role",
        to("administrator"),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(refused["reason"]["kind"], "no_one_makes_administrator");
    let (status, changed) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/users/ulf/role",
        to("manager"),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["role"], "manager");
    let (status, _) = send(
        &http,
        &f,
        &uma,
        Method::POST,
        "/fabric/api/users/ulf/role",
        to("user"),
    )
    .await;
    assert_eq!(status, 403, "a user may not update users (policy)");
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/users/nobody/role",
        to("user"),
    )
    .await;
    assert_eq!(status, 404);

    // Disabling: uma's token stops working at the very next request; enabling again.
    let (status, refused) = send(
        &http,
        &f,
        &max,
        Method::POST,
        "/fabric/api/users/ann/disable",
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(refused["reason"]["kind"], "target_outranks_actor");
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/users/ann/disable",
        None,
    )
    .await;
    assert_eq!(status, 403, "nobody disables themselves");
    let flows = |who: String| {
        let http = http.clone();
        let url = f.url("/fabric/api/flows");
        async move {
            http.get(url)
                .header("authorization", who)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(flows(uma.clone()).await, 200);
    let (status, off) = send(
        &http,
        &f,
        &max,
        Method::POST,
        "/fabric/api/users/uma/disable",
        None,
    )
    .await;
    assert_eq!(status, 200, "{off}");
    assert_eq!(off["status"], "disabled");
    assert_eq!(flows(uma.clone()).await, 401, "refused at the next request");
    assert_eq!(
        login(&http, &f.server, "uma@acme.example", "uma-demo-password")
            .await
            .status(),
        401
    );
    let (status, on) = send(
        &http,
        &f,
        &max,
        Method::POST,
        "/fabric/api/users/uma/enable",
        None,
    )
    .await;
    assert_eq!(status, 200, "{on}");
    assert_eq!(flows(uma.clone()).await, 200);

    // A parent member without a grant for the linked company: refused by the policy.
    let r = http
        .get(f.url("/fabric/api/users"))
        .header("authorization", &ann)
        .header("x-company", "acme-eu")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // What each did is in the audit log, refusals of the role rules too.
    let (_, log) = send(
        &http,
        &f,
        &ann,
        Method::GET,
        "/fabric/api/audit-logs?kind=user_changed&limit=200",
        None,
    )
    .await;
    let changes: Vec<(String, String, String)> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|r| {
            (
                r["reason"]["user"].as_str().unwrap().to_owned(),
                r["reason"]["change"].as_str().unwrap().to_owned(),
                r["effect"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("ulf", "created", "allow"),
        ("mo", "created", "allow"),
        ("ulf", "role_changed", "deny"),
        ("ulf", "role_changed", "deny"),
        ("ulf", "role_changed", "allow"),
        ("ann", "disabled", "deny"),
        ("ann", "disabled", "deny"),
        ("uma", "disabled", "allow"),
        ("uma", "enabled", "allow"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect();
    assert_eq!(changes, expected);
    f.stop().await;
}

/// `PATCH /fabric/api/users/{id}`: a new username and password for uma, by max (a
/// manager outranks a user): her old session ends at once, the new login works and
/// the old does not; refused by the role rules (max updating ann), the policy (uma,
/// an API key), a username taken, a body that changes nothing or a short password;
/// audited as `updated`.
async fn a_users_username_and_password_are_updated_by_the_platforms_rules(backend: Backend) {
    use reqwest::Method;
    let f = Fixture::start(backend, "users-update").await;
    let http = reqwest::Client::new();
    let max = bearer(&http, &f.server, "max@acme.example", "max-demo-password").await;
    let uma = bearer(&http, &f.server, "uma@acme.example", "uma-demo-password").await;
    let key = f.key(&f.ann(), "erp").await;
    let patch = |who: &str, path: &str, body: serde_json::Value| {
        let (http, f, who, path) = (http.clone(), &f, who.to_owned(), path.to_owned());
        async move { send(&http, f, &who, Method::PATCH, &path, Some(body)).await }
    };
    let kind = |v: &serde_json::Value| v["reason"]["kind"].as_str().map(str::to_owned);

    // Refusals first: nothing changes.
    let (status, v) = patch(
        &max,
        "/fabric/api/users/ann",
        serde_json::json!({"username": "a@x.example"}),
    )
    .await;
    assert_eq!(
        (status, v["reason"]["kind"].as_str()),
        (403, Some("target_outranks_actor")),
        "{v}"
    );
    for (who, expect) in [(&uma, "role_too_low"), (&key, "human_only")] {
        let (status, v) = patch(
            who,
            "/fabric/api/users/uma",
            serde_json::json!({"username": "u@x.example"}),
        )
        .await;
        assert_eq!((status, kind(&v).as_deref()), (403, Some(expect)), "{v}");
    }
    let (status, _) = patch(
        &max,
        "/fabric/api/users/uma",
        serde_json::json!({"username": "max@acme.example"}),
    )
    .await;
    assert_eq!(status, 409, "another user's username");
    for (body, field) in [
        (serde_json::json!({}), "body"),
        (serde_json::json!({"password": "short"}), "password"),
        (serde_json::json!({"username": "a b"}), "username"),
        (
            serde_json::json!({"username": "uma@x.example", "password": "uma@x.example"}),
            "password",
        ),
        (serde_json::json!({"role": "manager"}), "body"),
    ] {
        let (status, v) = patch(&max, "/fabric/api/users/uma", body.clone()).await;
        assert_eq!(status, 422, "{body}: {v}");
        assert!(v["errors"][field].is_array(), "{body}: {v}");
    }
    let (status, _) = patch(
        &max,
        "/fabric/api/users/nobody",
        serde_json::json!({"username": "n@x.example"}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        login(&http, &f.server, "uma@acme.example", "uma-demo-password")
            .await
            .status(),
        200
    );

    // Done: a new username and password; her session with the old one ends at once.
    let body =
        serde_json::json!({"username": "uma@north.example", "password": "a new long password"});
    let (status, v) = patch(&max, "/fabric/api/users/uma", body).await;
    assert_eq!(
        (status, v["username"].as_str()),
        (200, Some("uma@north.example")),
        "{v}"
    );
    let (status, _) = send(&http, &f, &uma, Method::GET, "/fabric/api/users", None).await;
    assert_eq!(status, 401, "her token was revoked with the old password");
    assert_eq!(
        login(&http, &f.server, "uma@acme.example", "uma-demo-password")
            .await
            .status(),
        401
    );
    assert_eq!(
        login(&http, &f.server, "uma@north.example", "uma-demo-password")
            .await
            .status(),
        401
    );
    assert_eq!(
        login(&http, &f.server, "uma@north.example", "a new long password")
            .await
            .status(),
        200
    );
    // A username alone keeps the password, and the sessions.
    let uma = bearer(&http, &f.server, "uma@north.example", "a new long password").await;
    let (status, _) = patch(
        &max,
        "/fabric/api/users/uma",
        serde_json::json!({"username": "uma@acme.example"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = send(&http, &f, &uma, Method::GET, "/fabric/api/users", None).await;
    assert_eq!(status, 200, "a new username alone keeps her sessions");
    assert_eq!(
        login(&http, &f.server, "uma@acme.example", "a new long password")
            .await
            .status(),
        200
    );

    // Eight characters is long enough; seven is not.
    for (password, status) in [("seven77", 422), ("eight888", 200)] {
        let body = serde_json::json!({ "password": password });
        assert_eq!(
            patch(&max, "/fabric/api/users/uma", body).await.0,
            status,
            "{password}"
        );
    }

    let records = f.server.db().audit_records().await.unwrap();
    let updated: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["reason"]["kind"] == "user_changed" && r["reason"]["change"] == "updated")
        .collect();
    assert_eq!(
        updated.len(),
        4,
        "max's refusal and the three updates: {updated:?}"
    );
    assert_eq!(updated.iter().filter(|r| r["effect"] == "deny").count(), 1);
    assert!(updated.iter().all(|r| r["reason"]["user"] != "nobody"));
    f.stop().await;
}

/// In a linked company, the role rules read the actor's grants as the guard did: max
/// (acme's manager, granted acme-eu in the demo) makes a user in acme-eu and may
/// disable her there; ann (acme's administrator, no grant) may not even list them.
async fn a_parent_member_with_a_grant_manages_the_linked_companys_users(backend: Backend) {
    let f = Fixture::start(backend, "users-linked").await;
    let http = reqwest::Client::new();
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let max = bearer(&http, &f.server, "max@acme.example", "max-demo-password").await;
    let in_eu =
        |who: &str, method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
            let mut r = http
                .request(method, f.url(path))
                .header("authorization", who)
                .header("x-company", "acme-eu");
            if let Some(b) = body {
                r = r.json(&b);
            }
            async move {
                let r = r.send().await.unwrap();
                let status = r.status().as_u16();
                let text = r.text().await.unwrap();
                (
                    status,
                    serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default(),
                )
            }
        };
    let eve = serde_json::json!({"id": "eve", "username": "eve@acme-eu.example", "password": "eve-password-1"});
    let (status, made) = in_eu(&max, reqwest::Method::POST, "/fabric/api/users", Some(eve)).await;
    assert_eq!(status, 201, "{made}");
    let (status, off) = in_eu(
        &max,
        reqwest::Method::POST,
        "/fabric/api/users/eve/disable",
        None,
    )
    .await;
    assert_eq!(
        (status, &off["status"]),
        (200, &serde_json::json!("disabled")),
        "{off}"
    );
    let (status, _) = in_eu(
        &ann,
        reqwest::Method::POST,
        "/fabric/api/users/eve/enable",
        None,
    )
    .await;
    assert_eq!(status, 403, "no grant for acme-eu");
    let (status, on) = in_eu(
        &max,
        reqwest::Method::POST,
        "/fabric/api/users/eve/enable",
        None,
    )
    .await;
    assert_eq!(
        (status, &on["status"]),
        (200, &serde_json::json!("active")),
        "{on}"
    );
    f.stop().await;
}
