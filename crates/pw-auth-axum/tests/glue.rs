//! The guide's server (examples/glue_server.rs, shown whole in docs/server.md) run
//! through its routes, and the glue's size counted as the issue measures it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failing unwrap is a failing test"
)]

#[path = "../examples/glue_server.rs"]
#[allow(dead_code, reason = "the example's main is not called here")]
mod glue_server;

use axum::body::{Body, to_bytes};
use http::{Request, StatusCode};
use pw_auth_axum::{CompanyInfo, MemoryStore};
use pw_auth_core::{CompanyId, Role, Tier, UserId, UserRecord};
use tower::ServiceExt;

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    auth: Option<&str>,
    body: &str,
) -> (StatusCode, String) {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    let response = app
        .clone()
        .oneshot(r.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn the_guides_server_works() {
    let store = MemoryStore::default();
    let acme = CompanyId::new("acme").unwrap();
    store.add_company(
        acme.clone(),
        CompanyInfo {
            tier: Tier::Professional,
            parent: None,
        },
    );
    // The application's users are the store's: a token is authenticated against them.
    store.add_user(UserRecord::active(
        UserId::new("ann").unwrap(),
        acme,
        Role::Administrator,
    ));
    let app = glue_server::app(store).unwrap();

    let (status, _) = call(&app, "GET", "/fabric/api/flows", None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let wrong = r#"{"username": "ann", "password": "nope"}"#;
    assert_eq!(
        call(&app, "POST", "/fabric/api/login", None, wrong).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, body) = call(
        &app,
        "POST",
        "/fabric/api/login",
        None,
        r#"{"username": "ann", "password": "demo"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    assert_eq!(
        call(&app, "GET", "/fabric/api/flows", Some(&bearer), "").await,
        (StatusCode::OK, "the flows of acme".to_owned())
    );

    let (status, body) = call(&app, "POST", "/fabric/api/api-keys", Some(&bearer), "").await;
    assert_eq!(status, StatusCode::CREATED);
    let key: serde_json::Value = serde_json::from_str(&body).unwrap();
    let key = key["key"].as_str().unwrap();
    assert_eq!(
        call(&app, "POST", "/fabric/api/flows/f1/deploy", Some(key), "")
            .await
            .0,
        StatusCode::OK
    );
    // An API key acts at manager level, but a credential does not mint credentials:
    // the policy keeps key creation for people.
    let (status, body) = call(&app, "POST", "/fabric/api/api-keys", Some(key), "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("only a person may do this"), "{body}");
}

/// Lines of glue as the issue counts them: code lines (no blank, comment or attribute
/// lines), the `use` lines included, the stand-ins for the application's own user
/// table and `main` excluded.
fn glue_lines(source: &str, stop: &str) -> usize {
    source
        .lines()
        .take_while(|l| !l.starts_with(stop))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with('#'))
        .count()
}

#[test]
fn the_glue_is_small_and_the_guide_shows_it_whole() {
    let server = include_str!("../examples/glue_server.rs");
    let client = include_str!("../../pw-auth-reqwest/examples/glue_client.rs");
    assert_eq!(
        glue_lines(server, "/// Stand-ins"),
        53,
        "server glue (target: at most 60)"
    );
    assert_eq!(
        glue_lines(client, "fn main"),
        15,
        "client glue (target: at most 30)"
    );
    let guide = include_str!("../../../docs/server.md");
    for (name, source) in [("server", server), ("client", client)] {
        assert!(
            guide.contains(source.trim_end()),
            "docs/server.md does not show the {name} glue as it is"
        );
    }
}
