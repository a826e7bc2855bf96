//! The standard OAuth 2.0 token endpoint beside the platform's own login, for
//! off-the-shelf clients: `POST /oauth/token` with `grant_type=client_credentials`
//! (RFC 6749 §4.4), the client being the user's username and password — the
//! platform's own login, unsimplified — by HTTP Basic (§2.3.1) or in the body; and
//! its metadata at `/.well-known/oauth-authorization-server` (RFC 8414). The same
//! attempt as a login: the failure throttle, the bounded hashing pool, the audit
//! record.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use pw_auth_axum::UnknownAction;
use pw_auth_core::Password;
use pw_auth_http::LoginRequest;
use zeroize::Zeroizing;

use super::login::{Arrived, Attempt, attempt, audited};
use super::{App, Handled, json_response, secret_json};
use crate::wipe::{Wipes, wipe};

pub(super) fn router(_: &App) -> Result<Router<App>, UnknownAction> {
    Ok(Router::new()
        .route("/oauth/token", post(token))
        .route("/.well-known/oauth-authorization-server", get(metadata)))
}

/// An RFC 6749 §5.2 error: `status`, `{"error", "error_description"}`, no-store.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": error, "error_description": description});
    let mut r = json_response(status, body.to_string());
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// `invalid_client`: 401 with a `Basic` challenge (§5.2).
fn invalid_client(description: &str) -> Response {
    let mut r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"patchworks\", charset=\"UTF-8\""),
    );
    r
}

fn invalid_request(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// A client's id and secret.
type ClientCredentials = (Zeroizing<String>, Zeroizing<String>);

/// What a token request says: its parameters (each at most once, §3.2) and its
/// client's credentials.
struct TokenRequest {
    grant_type: Option<Zeroizing<String>>,
    client: Option<ClientCredentials>,
}

/// The body's parameters, each at most once; a secret's decoded copy is wiped.
fn parameters(body: &[u8]) -> Result<Vec<(String, Zeroizing<String>)>, &'static str> {
    let mut seen: Vec<(String, Zeroizing<String>)> = Vec::new();
    for (name, value) in form_urlencoded::parse(body) {
        // A decoded value is moved (not copied) into its wiped buffer.
        let value = Zeroizing::new(value.into_owned());
        if seen.iter().any(|(n, _)| *n == name) {
            return Err("a parameter is given more than once");
        }
        seen.push((name.into_owned(), value));
    }
    Ok(seen)
}

/// The `Authorization: Basic` credentials: the client id and secret, each
/// form-urlencoded before encoding (§2.3.1). `Ok(None)` without the header.
fn basic(headers: &HeaderMap) -> Result<Option<ClientCredentials>, ()> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    let text = value.to_str().map_err(|_| ())?;
    let (scheme, encoded) = text.trim().split_once(' ').ok_or(())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(());
    }
    let decoded = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| ())?,
    );
    let text = std::str::from_utf8(&decoded).map_err(|_| ())?;
    let (id, secret) = text.split_once(':').ok_or(())?;
    // Each part form-urlencoded (§2.3.1); every decoded copy of the secret wiped.
    let unescape = |s: &str| -> Zeroizing<String> {
        let mut query = Zeroizing::new(String::with_capacity(s.len().saturating_add(2)));
        query.push_str("v=");
        query.push_str(s);
        let mut out = Zeroizing::new(String::new());
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k == "v" {
                match v {
                    std::borrow::Cow::Owned(decoded) => out.push_str(&Zeroizing::new(decoded)),
                    std::borrow::Cow::Borrowed(raw) => out.push_str(raw),
                }
            }
        }
        out
    };
    Ok(Some((unescape(id), unescape(secret))))
}

fn token_request(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, Box<Response>> {
    let params = parameters(body).map_err(|e| Box::new(invalid_request(e)))?;
    let take = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let in_body = match (take("client_id"), take("client_secret")) {
        (Some(id), Some(secret)) => Some((id, secret)),
        (None, None) => None,
        _ => {
            return Err(Box::new(invalid_request(
                "client_id and client_secret come together",
            )));
        }
    };
    let by_header = basic(headers).map_err(|()| {
        Box::new(invalid_client(
            "the Authorization field is not HTTP Basic credentials",
        ))
    })?;
    let client = match (by_header, in_body) {
        (Some(_), Some(_)) => {
            return Err(Box::new(invalid_request(
                "the client authenticates one way only, not by the header and the body both",
            )));
        }
        (one, other) => one.or(other),
    };
    Ok(TokenRequest {
        grant_type: take("grant_type"),
        client,
    })
}

/// `POST /oauth/token`: RFC 6749 §4.4's client credentials grant, form-encoded.
async fn token(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    wipes: Option<Extension<Arc<Wipes>>>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    let arrived = Arrived::new(&app, peer, &headers);
    let (now, client) = (arrived.now, arrived.client);
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let wrong_type = || invalid_request("the body must be application/x-www-form-urlencoded");
    let body = match arrived.body(&app, body, form, wrong_type).await {
        Ok(b) => b,
        Err(answered) => return answered,
    };
    let malformed = || arrived.malformed(&app);
    let parsed = token_request(&headers, &body);
    wipe(body, wipes.as_deref().map(|w| &**w));
    let request = match parsed {
        Ok(r) => r,
        Err(refusal) => return audited(&app, malformed(), *refusal).await,
    };
    match request.grant_type.as_deref().map(String::as_str) {
        None => {
            let refusal = invalid_request("the grant_type parameter is required");
            return audited(&app, malformed(), refusal).await;
        }
        Some("client_credentials") => {}
        Some(_) => {
            let refusal = oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "the grant_type this server supports is client_credentials",
            );
            return audited(&app, malformed(), refusal).await;
        }
    }
    let Some((id, secret)) = request.client else {
        return audited(
            &app,
            malformed(),
            invalid_client("client authentication is required"),
        )
        .await;
    };
    let login = Password::new(String::clone(&secret))
        .map_err(|_| ())
        .and_then(|password| LoginRequest::new(&id, password).map_err(|_| ()));
    let Ok(login) = login else {
        return audited(
            &app,
            malformed(),
            invalid_client("the client credentials are invalid"),
        )
        .await;
    };
    drop((id, secret));
    let (audit, attempt) = attempt(&app, login, client, now).await?;
    let response = match attempt {
        Attempt::Throttled(refused) => {
            let mut r = oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                "Too Many Attempts.",
            );
            if let Some(wait) = refused.outcome.header("retry-after")
                && let Ok(v) = HeaderValue::from_str(wait)
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Attempt::Refused(_) => invalid_client("the client credentials are invalid"),
        Attempt::Issued(issued) => {
            let mut r = secret_json(StatusCode::OK, issued.oauth_body());
            r.headers_mut()
                .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            r
        }
    };
    audited(&app, audit, response).await
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414), the issuer being the
/// address the request was sent to.
async fn metadata(headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let issuer = format!("http://{host}");
    json_response(
        StatusCode::OK,
        serde_json::json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}/oauth/token"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": [],
        })
        .to_string(),
    )
}
