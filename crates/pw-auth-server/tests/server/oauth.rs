//! The standard OAuth 2.0 endpoints, used by a client nobody here wrote: the
//! `oauth2` crate fetches a token by client credentials (HTTP Basic, and in the
//! body), and the token calls a protected route; it introspects and revokes tokens
//! (RFC 7662, RFC 7009); RFC 6749 §5.2 errors for what is wrong; the metadata
//! document; each attempt audited.

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, TokenResponse, TokenUrl};

use crate::fixture::{Fixture, Stores, TestClock};

/// `oauth2`'s HTTP client, over this suite's reqwest. The crate leaves the
/// transport to its user; this one takes a request for `https://127.0.0.1:…` (the
/// crate sends revocations to https URLs only, as RFC 7009 §2 tells clients to) to
/// the loopback test server, which speaks plain http. The request itself — method,
/// headers, body — is the crate's, unchanged.
async fn send(request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let http = reqwest::Client::new();
    let uri = parts.uri.to_string();
    let uri = match uri.strip_prefix("https://127.0.0.1:") {
        Some(rest) => format!("http://127.0.0.1:{rest}"),
        None => uri,
    };
    let mut r = http.request(parts.method, uri).body(body);
    for (name, value) in &parts.headers {
        r = r.header(name, value);
    }
    let answer = r.send().await?;
    let mut out = http::Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        out = out.header(name, value);
    }
    let bytes = answer.bytes().await?.to_vec();
    Ok(out.body(bytes).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_off_the_shelf_oauth_client_gets_a_token_that_works() {
    let f = Fixture::with(Stores::sqlite("oauth"), TestClock::default(), |_| {}).await;
    let token_url = TokenUrl::new(f.url("/oauth/token")).unwrap();
    let client = |secret: &str, how: AuthType| {
        BasicClient::new(ClientId::new("ann@acme.example".to_owned()))
            .set_client_secret(ClientSecret::new(secret.to_owned()))
            .set_token_uri(token_url.clone())
            .set_auth_type(how)
    };
    let http = reqwest::Client::new();
    for how in [AuthType::BasicAuth, AuthType::RequestBody] {
        let token = client("ann-demo-password", how.clone())
            .exchange_client_credentials()
            .request_async(&send)
            .await
            .unwrap_or_else(|e| panic!("{how:?}: {e:?}"));
        assert_eq!(token.token_type().as_ref(), "bearer");
        assert_eq!(token.expires_in().map(|d| d.as_secs()), Some(86_400));
        let r = http
            .get(f.url("/fabric/api/flows"))
            .bearer_auth(token.access_token().secret())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{how:?}");
    }
    // A wrong secret: the client reads the server's RFC 6749 error.
    let wrong = client("not-her-password", AuthType::BasicAuth)
        .exchange_client_credentials()
        .request_async(&send)
        .await
        .unwrap_err();
    match wrong {
        oauth2::RequestTokenError::ServerResponse(e) => {
            assert_eq!(e.error().as_ref(), "invalid_client");
        }
        other => panic!("{other:?}"),
    }
    f.stop().await;
}

#[tokio::test]
async fn the_token_endpoint_answers_rfc_6749_errors_and_its_metadata() {
    let f = Fixture::with(Stores::sqlite("oauth-errors"), TestClock::default(), |_| {}).await;
    let http = reqwest::Client::new();
    let post = |body: &'static str, basic: Option<(&'static str, &'static str)>| {
        let mut r = http
            .post(f.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some((u, p)) = basic {
            r = r.basic_auth(u, Some(p));
        }
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let challenge = r
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            let store = r
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap().to_owned());
            let v: serde_json::Value = r.json().await.unwrap();
            (status, v, challenge, store)
        }
    };
    let ann = Some(("ann@acme.example", "ann-demo-password"));
    let (s, v, _, store) = post("grant_type=client_credentials", ann).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert!(
        v["access_token"].is_string() && v.get("token").is_none(),
        "{v}"
    );
    assert_eq!(store.as_deref(), Some("no-store"));
    for (body, basic, status, error) in [
        ("grant_type=password", ann, 400, "unsupported_grant_type"),
        ("scope=x", ann, 400, "invalid_request"),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            ann,
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&client_id=ann%40acme.example&client_secret=x",
            ann,
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&client_id=ann%40acme.example",
            None,
            400,
            "invalid_request",
        ),
        ("grant_type=client_credentials", None, 401, "invalid_client"),
        (
            "grant_type=client_credentials",
            Some(("ann@acme.example", "wrong-password")),
            401,
            "invalid_client",
        ),
        (
            "grant_type=client_credentials",
            Some(("nobody@acme.example", "long-enough-1")),
            401,
            "invalid_client",
        ),
    ] {
        let (s, v, challenge, _) = post(body, basic).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (status, Some(error)),
            "{body}: {v}"
        );
        assert!(v["error_description"].is_string());
        if status == 401 {
            assert!(
                challenge.is_some_and(|c| c.starts_with("Basic realm=")),
                "{body}"
            );
        }
    }
    // JSON is not this endpoint's format.
    let r = http
        .post(f.url("/oauth/token"))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // The attempts are audited as logins, with their results.
    let records = f.server.db().audit_records().await.unwrap();
    let results: Vec<&str> = records
        .iter()
        .filter_map(|r| r["reason"]["result"].as_str())
        .collect();
    for result in [
        "token_issued",
        "wrong_password",
        "unknown_user",
        "malformed_body",
    ] {
        assert!(results.contains(&result), "{result} in {results:?}");
    }
    assert!(
        !records
            .iter()
            .any(|r| r.to_string().contains("ann-demo-password"))
    );
    // RFC 8414 metadata.
    let meta: serde_json::Value = http
        .get(f.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issuer = meta["issuer"].as_str().unwrap();
    assert_eq!(meta["token_endpoint"], format!("{issuer}/oauth/token"));
    assert_eq!(
        meta["grant_types_supported"],
        serde_json::json!(["client_credentials"])
    );
    f.stop().await;
}

/// RFC 7009 and RFC 7662 through the `oauth2` crate: a client introspects its own
/// token (active, with whose, until when, company and role), a manager its
/// company's, nobody another company's; a client revokes its own token (then
/// inactive, and refused by the API), never another's; each call audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_off_the_shelf_client_introspects_and_revokes_its_tokens() {
    use oauth2::{
        IntrospectionUrl, RevocationUrl, StandardRevocableToken, TokenIntrospectionResponse,
    };
    let f = Fixture::with(Stores::sqlite("oauth-revoke"), TestClock::default(), |_| {}).await;
    let client = |user: &str, secret: &str| {
        BasicClient::new(ClientId::new(user.to_owned()))
            .set_client_secret(ClientSecret::new(secret.to_owned()))
            .set_token_uri(TokenUrl::new(f.url("/oauth/token")).unwrap())
            .set_revocation_url(
                RevocationUrl::new(f.url("/oauth/revoke").replace("http://", "https://")).unwrap(),
            )
            .set_introspection_url(IntrospectionUrl::new(f.url("/oauth/introspect")).unwrap())
    };
    let ann = client("ann@acme.example", "ann-demo-password");
    let max = client("max@acme.example", "max-demo-password");
    // A user of another company.
    let hash = pw_auth_server::hash_password("gus-password-1").unwrap();
    f.server
        .db()
        .add_user(
            pw_auth_core::UserRecord::active(
                pw_auth_core::UserId::new("gus").unwrap(),
                pw_auth_core::CompanyId::new("globex").unwrap(),
                pw_auth_core::Role::Administrator,
            ),
            Some(("gus@globex.example".to_owned(), hash)),
        )
        .await
        .unwrap();
    let gail = client("gus@globex.example", "gus-password-1");
    // A user below manager: her own tokens only.
    let uma = client("uma@acme.example", "uma-demo-password");
    let ann_token = ann
        .exchange_client_credentials()
        .request_async(&send)
        .await
        .unwrap()
        .access_token()
        .clone();
    let max_token = max
        .exchange_client_credentials()
        .request_async(&send)
        .await
        .unwrap()
        .access_token()
        .clone();

    // Her own: active, with the extension members.
    let own = ann
        .introspect(&ann_token)
        .request_async(&send)
        .await
        .unwrap();
    assert!(own.active());
    assert_eq!(own.sub(), Some("ann"));
    assert_eq!(own.token_type().map(|t| t.as_ref()), Some("bearer"));
    let (iat, exp) = (own.iat().unwrap(), own.exp().unwrap());
    assert_eq!((exp - iat).num_seconds(), 86_400);
    // The company and role, as extension members: read from the raw answer.
    let http = reqwest::Client::new();
    let raw: serde_json::Value = http
        .post(f.url("/oauth/introspect"))
        .basic_auth("ann@acme.example", Some("ann-demo-password"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("token", max_token.secret())
                .finish(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        raw["active"], true,
        "an administrator introspects her company's"
    );
    assert_eq!(
        (raw["sub"].as_str(), raw["company"].as_str()),
        (Some("max"), Some("acme"))
    );
    assert_eq!(raw["role"], "manager");
    // A user below manager does not introspect another's token of her company.
    assert!(
        !uma.introspect(&max_token)
            .request_async(&send)
            .await
            .unwrap()
            .active()
    );
    // Another company's token is not active to gus, nor his to ann.
    let gail_token = gail
        .exchange_client_credentials()
        .request_async(&send)
        .await
        .unwrap()
        .access_token()
        .clone();
    let theirs = gail
        .introspect(&ann_token)
        .request_async(&send)
        .await
        .unwrap();
    assert!(!theirs.active() && theirs.sub().is_none());
    assert!(
        !ann.introspect(&gail_token)
            .request_async(&send)
            .await
            .unwrap()
            .active()
    );
    // Garbage is inactive, not an error.
    let junk = oauth2::AccessToken::new("not-a-token".to_owned());
    assert!(
        !ann.introspect(&junk)
            .request_async(&send)
            .await
            .unwrap()
            .active()
    );

    // Revocations by the `oauth2` crate (see `send` for the https URL it insists on),
    // and a few built by hand for what the crate would not send.
    let revoke = |user: &'static str, password: &'static str, token: &oauth2::AccessToken| {
        http.post(f.url("/oauth/revoke"))
            .basic_auth(user, Some(password))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("token", token.secret())
                    .append_pair("token_type_hint", "access_token")
                    .finish(),
            )
            .send()
    };
    // Revoking another's token does nothing (200 all the same).
    max.revoke_token(StandardRevocableToken::AccessToken(ann_token.clone()))
        .unwrap()
        .request_async(&send)
        .await
        .unwrap();
    assert!(
        ann.introspect(&ann_token)
            .request_async(&send)
            .await
            .unwrap()
            .active()
    );
    let flows = |token: &oauth2::AccessToken| {
        http.get(f.url("/fabric/api/flows"))
            .bearer_auth(token.secret())
            .send()
    };
    assert_eq!(flows(&ann_token).await.unwrap().status(), 200);
    // Revoking her own: inactive, and refused by the API at once.
    ann.revoke_token(StandardRevocableToken::AccessToken(ann_token.clone()))
        .unwrap()
        .request_async(&send)
        .await
        .unwrap();
    // Revoked already, or garbage: 200 still.
    let r = revoke("ann@acme.example", "ann-demo-password", &ann_token)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = revoke("ann@acme.example", "ann-demo-password", &junk)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Without the token parameter: invalid_request; with a wrong secret: invalid_client.
    let r = http
        .post(f.url("/oauth/revoke"))
        .basic_auth("ann@acme.example", Some("ann-demo-password"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token_type_hint=access_token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_request");
    let r = revoke("ann@acme.example", "not-her-password", &max_token)
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        !ann.introspect(&ann_token)
            .request_async(&send)
            .await
            .unwrap()
            .active()
    );
    assert_eq!(flows(&ann_token).await.unwrap().status(), 401);
    assert_eq!(
        flows(&max_token).await.unwrap().status(),
        200,
        "max's stays"
    );

    // A wrong secret is invalid_client, audited as a login's refusal.
    let wrong = client("ann@acme.example", "not-her-password");
    let e = wrong
        .introspect(&max_token)
        .request_async(&send)
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("invalid_client"), "{e:?}");

    // Each call audited, by result; never a token.
    let records = f.server.db().audit_records().await.unwrap();
    let calls: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r["reason"]["kind"] == "oauth")
        .map(|r| {
            (
                r["reason"]["operation"].as_str().unwrap(),
                r["reason"]["result"].as_str().unwrap(),
            )
        })
        .collect();
    for call in [
        ("introspect", "active"),
        ("introspect", "inactive"),
        ("revoke", "not_revoked"),
        ("revoke", "revoked"),
    ] {
        assert!(calls.contains(&call), "{call:?} in {calls:?}");
    }
    let text = serde_json::to_string(&records).unwrap();
    for secret in [ann_token.secret(), max_token.secret(), gail_token.secret()] {
        assert!(!text.contains(secret.as_str()));
    }
    let meta: serde_json::Value = http
        .get(f.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issuer = meta["issuer"].as_str().unwrap();
    assert_eq!(
        meta["revocation_endpoint"],
        format!("{issuer}/oauth/revoke")
    );
    assert_eq!(
        meta["introspection_endpoint"],
        format!("{issuer}/oauth/introspect")
    );
    f.stop().await;
}

/// `pw-auth-reqwest` logs in through the standard token endpoint too: one token for
/// several requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reqwest_client_logs_in_at_the_token_endpoint() {
    let f = Fixture::with(
        Stores::sqlite("oauth-reqwest"),
        TestClock::default(),
        |_| {},
    )
    .await;
    let client = pw_auth_reqwest::AuthClient::with_client_credentials(
        reqwest::Client::new(),
        &f.url("/oauth/token"),
        "ann@acme.example",
        pw_auth_core::Password::new("ann-demo-password".to_owned()).unwrap(),
        pw_auth_http::SessionConfig::default(),
    )
    .unwrap();
    for _ in 0..3 {
        let r = client
            .send(|http| http.get(f.url("/fabric/api/flows")))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let records = f.server.db().audit_records().await.unwrap();
    let issued = records
        .iter()
        .filter(|r| r["reason"]["result"] == "token_issued")
        .count();
    assert_eq!(issued, 1, "one login for three requests");
    // A wrong secret stops the client (invalid_client is a refusal, not retried).
    let wrong = pw_auth_reqwest::AuthClient::with_client_credentials(
        reqwest::Client::new(),
        &f.url("/oauth/token"),
        "ann@acme.example",
        pw_auth_core::Password::new("not-her-password".to_owned()).unwrap(),
        pw_auth_http::SessionConfig::default(),
    )
    .unwrap();
    let e = wrong
        .send(|http| http.get(f.url("/fabric/api/flows")))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("401"), "{e}");
    f.stop().await;
}

/// The OAuth endpoints share the login's failure throttle: once a client has failed
/// its budget, the token, revocation and introspection endpoints answer 429
/// `temporarily_unavailable` with `Retry-After`, unverified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_failed_too_often_is_throttled_at_every_oauth_endpoint() {
    let f = Fixture::with(
        Stores::sqlite("oauth-throttle"),
        TestClock::default(),
        |c| {
            c.failure_quota = pw_auth_core::Quota::new(2, 3600, 2).unwrap();
        },
    )
    .await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: &'static str, password: &'static str| {
        http.post(f.url(path))
            .basic_auth("ann@acme.example", Some(password))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    for _ in 0..2 {
        let r = post(
            "/oauth/token",
            "grant_type=client_credentials",
            "wrong-password-1",
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 401);
    }
    for (path, body) in [
        ("/oauth/token", "grant_type=client_credentials"),
        ("/oauth/revoke", "token=pwt_x"),
        ("/oauth/introspect", "token=pwt_x"),
    ] {
        // Even with the right password: the budget is spent.
        let r = post(path, body, "ann-demo-password").await.unwrap();
        assert_eq!(r.status(), 429, "{path}");
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait >= 1, "{path}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"], "temporarily_unavailable", "{path}");
    }
    f.stop().await;
}
