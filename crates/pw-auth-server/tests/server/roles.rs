//! The role manager over the API: acme's administrator creates, edits and deletes
//! the company's own custom roles and assigns them, on an Enterprise tier; a user
//! holding one is decided by it from their next request on (read through the SQLite
//! read cache, and from PostgreSQL); what the policy refuses (a manager, an API key,
//! a tier without the role manager) and what the routes refuse (a bad definition,
//! with the core's located error; a name taken; a role still held; oneself); each
//! change audited.

use pw_auth_core::{CompanyId, Tier};
use reqwest::Method;

use crate::fixture::{Backend, FROZEN_AT, Fixture, Stores, TestClock, bearer, send};

on_both_stores!(the_role_manager_makes_edits_assigns_and_deletes_custom_roles);

async fn the_role_manager_makes_edits_assigns_and_deletes_custom_roles(backend: Backend) {
    let clock = TestClock::frozen(FROZEN_AT);
    let f = Fixture::with(Stores::on(backend, "roles"), clock, |_| {}).await;
    let http = reqwest::Client::new();
    let ann = bearer(&http, &f.server, "ann@acme.example", "ann-demo-password").await;
    let max = bearer(&http, &f.server, "max@acme.example", "max-demo-password").await;
    let uma = bearer(&http, &f.server, "uma@acme.example", "uma-demo-password").await;
    let key = f.key(&f.ann(), "erp").await;
    let kind = |v: &serde_json::Value| v["reason"]["kind"].as_str().map(str::to_owned);
    let lead =
        serde_json::json!({"name": "lead", "view": ["scripts", "flows"], "edit": ["scripts"]});

    // acme is on Professional: no role manager.
    let (status, v) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/roles",
        Some(lead.clone()),
    )
    .await;
    assert_eq!(
        (status, kind(&v).as_deref()),
        (403, Some("tier_excludes")),
        "{v}"
    );
    let acme = CompanyId::new("acme").unwrap();
    assert!(
        f.server
            .db()
            .set_tier(acme, Tier::Enterprise)
            .await
            .unwrap()
    );

    // Created, kept with its areas sorted; the name is taken after.
    let (status, v) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/roles",
        Some(lead.clone()),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        v,
        serde_json::json!({"name": "lead", "view": ["flows", "scripts"], "edit": ["scripts"], "defined_by": "company"})
    );
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/roles",
        Some(lead.clone()),
    )
    .await;
    assert_eq!(status, 409);
    // Definitions the core refuses: the error, placed in the body.
    for (body, says) in [
        (
            serde_json::json!({"name": "x", "view": [], "edit": ["flows"]}),
            "edit on `flows` without view",
        ),
        (
            serde_json::json!({"name": "x", "view": ["flow"]}),
            "unknown area `flow` in view",
        ),
        (
            serde_json::json!({"name": "X", "view": []}),
            "custom_roles[0]",
        ),
        (
            serde_json::json!({"name": "x", "view": [], "admin": true}),
            "unknown field `admin`",
        ),
    ] {
        let (status, v) = send(
            &http,
            &f,
            &ann,
            Method::POST,
            "/fabric/api/roles",
            Some(body.clone()),
        )
        .await;
        let message = v["errors"]["role"][0].as_str().unwrap_or_default();
        assert_eq!(status, 422, "{body}: {v}");
        assert!(
            message.starts_with("line 1, column ") && message.contains(says),
            "{body}: {message}"
        );
    }
    // The policy: a manager and an API key may not.
    for who in [&max, &key] {
        let (status, v) = send(
            &http,
            &f,
            who,
            Method::POST,
            "/fabric/api/roles",
            Some(lead.clone()),
        )
        .await;
        assert_eq!(
            (status, kind(&v).as_deref()),
            (403, Some("administrator_only")),
            "{v}"
        );
    }
    let (status, v) = send(&http, &f, &ann, Method::GET, "/fabric/api/roles", None).await;
    assert_eq!(status, 200);
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1), "{v}");

    // uma, a user: below a manager, no scripts.
    let script = |who: &str| {
        let (http, f, who) = (http.clone(), &f, who.to_owned());
        async move {
            let (status, v) = send(
                &http,
                f,
                &who,
                Method::POST,
                "/fabric/api/scripts",
                Some(serde_json::json!({})),
            )
            .await;
            (status, kind(&v))
        }
    };
    let deploy = |who: &str| {
        let (http, f, who) = (http.clone(), &f, who.to_owned());
        async move {
            let (status, v) = send(
                &http,
                f,
                &who,
                Method::POST,
                "/fabric/api/flows/1/deploy",
                None,
            )
            .await;
            (status, kind(&v))
        }
    };
    assert_eq!(script(&uma).await, (403, Some("role_too_low".to_owned())));
    let assign = |name: serde_json::Value| Some(serde_json::json!({"custom_role": name}));
    let (status, v) = send(
        &http,
        &f,
        &ann,
        Method::PUT,
        "/fabric/api/users/uma/custom-role",
        assign("lead".into()),
    )
    .await;
    assert_eq!(
        (status, v["custom_role"].as_str()),
        (200, Some("lead")),
        "{v}"
    );
    // From her next request (the same token): exactly the role's toggles.
    assert_eq!(script(&uma).await.0, 201);
    assert_eq!(
        deploy(&uma).await,
        (403, Some("custom_role_lacks".to_owned()))
    );

    // Edited: decided by the new toggles from the next request.
    let narrower = serde_json::json!({"name": "lead", "view": ["flows"]});
    let (status, v) = send(
        &http,
        &f,
        &ann,
        Method::PUT,
        "/fabric/api/roles/lead",
        Some(narrower.clone()),
    )
    .await;
    assert_eq!(
        (status, v["view"].clone()),
        (200, serde_json::json!(["flows"])),
        "{v}"
    );
    assert_eq!(
        script(&uma).await,
        (403, Some("custom_role_lacks".to_owned()))
    );
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::PUT,
        "/fabric/api/roles/other",
        Some(narrower.clone()),
    )
    .await;
    assert_eq!(status, 422, "a name not the path's");
    let ghost = serde_json::json!({"name": "ghost", "view": ["flows"]});
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::PUT,
        "/fabric/api/roles/ghost",
        Some(ghost),
    )
    .await;
    assert_eq!(status, 404);

    // Deleting a role held is refused; so are assignments to oneself, to nobody, of
    // a role nobody defines, and by a manager.
    let (status, v) = send(
        &http,
        &f,
        &ann,
        Method::DELETE,
        "/fabric/api/roles/lead",
        None,
    )
    .await;
    assert_eq!(status, 409, "{v}");
    for (path, name, expect) in [
        ("/fabric/api/users/ann/custom-role", "lead", 422),
        ("/fabric/api/users/nobody/custom-role", "lead", 404),
        ("/fabric/api/users/max/custom-role", "ghost", 422),
        ("/fabric/api/users/max/custom-role", "Not A Name", 422),
    ] {
        let (status, v) = send(&http, &f, &ann, Method::PUT, path, assign(name.into())).await;
        assert_eq!(status, expect, "{path} {name}: {v}");
    }
    // Another administrator: the role rules refuse it, as they refuse disabling them.
    let ada = pw_auth_core::UserRecord::active(
        pw_auth_core::UserId::new("ada").unwrap(),
        CompanyId::new("acme").unwrap(),
        pw_auth_core::Role::Administrator,
    );
    f.server.db().add_user(ada, None).await.unwrap();
    let (status, v) = send(
        &http,
        &f,
        &ann,
        Method::PUT,
        "/fabric/api/users/ada/custom-role",
        assign("lead".into()),
    )
    .await;
    assert_eq!(
        (status, kind(&v).as_deref()),
        (403, Some("target_outranks_actor")),
        "{v}"
    );
    // An API key's user never holds one (its key would stop working): refused, and
    // the key goes on.
    let (_, keys) = send(&http, &f, &ann, Method::GET, "/fabric/api/api-keys", None).await;
    let api_user = keys["data"][0]["user"].as_str().unwrap().to_owned();
    let path = format!("/fabric/api/users/{api_user}/custom-role");
    let (status, v) = send(&http, &f, &ann, Method::PUT, &path, assign("lead".into())).await;
    assert_eq!(status, 422, "{v}");
    let (status, _) = send(&http, &f, &key, Method::GET, "/fabric/api/flows", None).await;
    assert_eq!(status, 200);
    // A definition up to 64 KiB is read; one over the cap is refused unread.
    let text = r#"{"name": "padded", "view": ["flows"]}"#;
    let at_cap = format!("{text}{}", " ".repeat(64 * 1024 - text.len()));
    let r = http
        .post(f.url("/fabric/api/roles"))
        .header("authorization", &ann)
        .header("content-type", "application/json")
        .body(at_cap)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::DELETE,
        "/fabric/api/roles/padded",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let huge = serde_json::json!({"name": "huge", "view": ["flows"], "pad": "x".repeat(64 * 1024)});
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::POST,
        "/fabric/api/roles",
        Some(huge),
    )
    .await;
    assert_eq!(status, 413);
    let (status, v) = send(
        &http,
        &f,
        &max,
        Method::PUT,
        "/fabric/api/users/uma/custom-role",
        assign(serde_json::Value::Null),
    )
    .await;
    assert_eq!(
        (status, kind(&v).as_deref()),
        (403, Some("administrator_only"))
    );

    // Taken away: her standard role again. Then the role can go, once.
    let (status, v) = send(
        &http,
        &f,
        &ann,
        Method::PUT,
        "/fabric/api/users/uma/custom-role",
        assign(serde_json::Value::Null),
    )
    .await;
    assert_eq!(
        (status, v["custom_role"].clone()),
        (200, serde_json::Value::Null),
        "{v}"
    );
    assert_eq!(script(&uma).await, (403, Some("role_too_low".to_owned())));
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::DELETE,
        "/fabric/api/roles/lead",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = send(
        &http,
        &f,
        &ann,
        Method::DELETE,
        "/fabric/api/roles/lead",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, v) = send(&http, &f, &ann, Method::GET, "/fabric/api/roles", None).await;
    assert_eq!(v["data"], serde_json::json!([]));

    // Each change audited, with who made it and under which action.
    let records = f.server.db().audit_records().await.unwrap();
    let changes: Vec<(String, String, String)> = records
        .iter()
        .filter(|r| {
            r["reason"]["kind"] == "custom_role_changed"
                || r["reason"]["change"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("custom_role_"))
        })
        .map(|r| {
            assert_eq!(r["principal"]["user"], "ann");
            assert_eq!(r["company"], "acme");
            // The one refusal: ada, an administrator, by the role rules.
            let refused = r["reason"]["user"] == "ada";
            assert_eq!(r["effect"] == "deny", refused, "{r}");
            assert_eq!(
                r["reason"]["refused"] == "target_outranks_actor",
                refused,
                "{r}"
            );
            let name = r["reason"]["name"]
                .as_str()
                .or(r["reason"]["custom_role"].as_str());
            (
                r["action"].as_str().unwrap().to_owned(),
                r["reason"]["change"].as_str().unwrap().to_owned(),
                name.unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("roles.create", "created", "lead"),
        ("roles.assign", "custom_role_assigned", "lead"),
        ("roles.edit", "edited", "lead"),
        ("roles.assign", "custom_role_assigned", "lead"),
        ("roles.create", "created", "padded"),
        ("roles.edit", "deleted", "padded"),
        ("roles.assign", "custom_role_removed", "lead"),
        ("roles.edit", "deleted", "lead"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, c, n)| ((*a).to_owned(), (*c).to_owned(), (*n).to_owned()))
        .collect();
    assert_eq!(changes, expected);
    let created = records
        .iter()
        .find(|r| {
            r["reason"]["change"] == "created" && r["reason"]["kind"] == "custom_role_changed"
        })
        .unwrap();
    assert_eq!(created["reason"]["edit"], serde_json::json!(["scripts"]));
    f.stop().await;
}
