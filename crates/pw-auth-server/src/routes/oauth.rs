//! The standard OAuth 2.0 endpoints beside the platform's own login, for
//! off-the-shelf clients: `POST /oauth/token` with `grant_type=client_credentials`
//! (RFC 6749 §4.4), the client being the user's username and password — the
//! platform's own login, unsimplified — by HTTP Basic (§2.3.1) or in the body;
//! token revocation (`POST /oauth/revoke`, RFC 7009) and introspection (`POST
//! /oauth/introspect`, RFC 7662) by a client authenticated the same way; and the
//! metadata at `/.well-known/oauth-authorization-server` (RFC 8414). Each client
//! authentication is a login's: the failure throttle, the bounded hashing pool, the
//! audit record of a refusal.
//!
//! Whose tokens: a client revokes only its own tokens (another's, or an unknown
//! one, is answered 200 and left alone, as RFC 7009 §2.2 asks); it introspects its
//! own, and at manager level or above any token of its own company — a resource
//! server introspects with a manager's credentials — and every other token is
//! `{"active": false}`, so no company learns of another's tokens.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use pw_auth_axum::{AuthStore, Loaded, Record, UnknownAction};
use pw_auth_core::{
    AccessToken, AuditRecord, CredentialDigest, Level, OAuthCall, OAuthOperation, OAuthResult,
    Password, UserRecord,
};
use pw_auth_http::LoginRequest;
use zeroize::Zeroizing;

use super::login::{Arrived, Attempt, ClientCheck, attempt, audited, authenticate_client};
use super::{App, Handled, json_response, secret_json};
use crate::wipe::{Wipes, wipe};

pub(super) fn router(_: &App) -> Result<Router<App>, UnknownAction> {
    Ok(Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/introspect", post(introspect))
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

/// What a request to one of the endpoints says: its parameters (each at most once,
/// §3.2) and its client's credentials.
struct ClientRequest {
    params: Vec<(String, Zeroizing<String>)>,
    client: Option<ClientCredentials>,
}

impl ClientRequest {
    /// The parameter `name`, if given.
    fn take(&self, name: &str) -> Option<Zeroizing<String>> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
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

fn client_request(headers: &HeaderMap, body: &[u8]) -> Result<ClientRequest, Box<Response>> {
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
    Ok(ClientRequest { params, client })
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
    let malformed = || arrived.malformed(&app);
    let request = match read_request(&app, &arrived, wipes, &headers, body).await {
        Ok(r) => r,
        Err(answered) => return answered,
    };
    match request.take("grant_type").as_deref().map(String::as_str) {
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
    let login = match login_of(request.client) {
        Ok(login) => login,
        Err(refusal) => return audited(&app, malformed(), *refusal).await,
    };
    let (audit, attempt) = attempt(&app, login, client, now).await?;
    let response = match attempt {
        Attempt::Throttled(refused) => throttled(&refused),
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

/// The client's credentials as a login's username and password; the
/// `invalid_client` refusal when there are none or they cannot be one.
fn login_of(client: Option<ClientCredentials>) -> Result<LoginRequest, Box<Response>> {
    let Some((id, secret)) = client else {
        return Err(Box::new(invalid_client(
            "client authentication is required",
        )));
    };
    Password::new(String::clone(&secret))
        .map_err(|_| ())
        .and_then(|password| LoginRequest::new(&id, password).map_err(|_| ()))
        .map_err(|()| Box::new(invalid_client("the client credentials are invalid")))
}

/// The form body of a request to one of the endpoints, read within the login's cap
/// and time and wiped, and parsed; or the answer already given (a refusal audited as
/// a malformed login).
async fn read_request(
    app: &App,
    arrived: &Arrived,
    wipes: Option<Extension<Arc<Wipes>>>,
    headers: &HeaderMap,
    body: Body,
) -> Result<ClientRequest, Handled> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let wrong_type = || invalid_request("the body must be application/x-www-form-urlencoded");
    let body = arrived.body(app, body, form, wrong_type).await?;
    let parsed = client_request(headers, &body);
    wipe(body, wipes.as_deref().map(|w| &**w));
    match parsed {
        Ok(r) => Ok(r),
        Err(refusal) => Err(audited(app, arrived.malformed(app), *refusal).await),
    }
}

/// The client of a revocation or introspection, authenticated as a login is: the
/// user, or the answer already given (`invalid_client`, or 429 when throttled; the
/// refusal audited as a login's).
async fn client_user(
    app: &App,
    arrived: &Arrived,
    client: Option<ClientCredentials>,
) -> Result<UserRecord, Handled> {
    let login = match login_of(client) {
        Ok(login) => login,
        Err(refusal) => return Err(audited(app, arrived.malformed(app), *refusal).await),
    };
    match authenticate_client(app, login, arrived.client, arrived.now).await {
        Err(e) => Err(Err(e)),
        Ok(ClientCheck::Verified(user)) => Ok(user),
        Ok(ClientCheck::Throttled(audit, refused)) => {
            Err(audited(app, audit, throttled(&refused)).await)
        }
        Ok(ClientCheck::Refused(audit)) => {
            let refusal = invalid_client("the client credentials are invalid");
            Err(audited(app, audit, refusal).await)
        }
    }
}

/// 429 `temporarily_unavailable` with the throttle's `Retry-After`.
fn throttled(refused: &pw_auth_http::Refused) -> Response {
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

/// The token a revocation or introspection names, and its records; `None` for a
/// value that is no token of this server's shape.
async fn token_of(
    app: &App,
    request: &ClientRequest,
) -> Result<Option<(AccessToken, Arc<Loaded>)>, Response> {
    let Some(value) = request.take("token") else {
        return Err(invalid_request("the token parameter is required"));
    };
    let Ok(token) = AccessToken::new(String::clone(&value)) else {
        return Ok(None);
    };
    match app
        .store
        .load(&CredentialDigest::Bearer(token.digest()))
        .await
    {
        Ok(loaded) => Ok(Some((token, loaded))),
        Err(e) => Err(pw_auth_axum::unavailable(e)),
    }
}

/// A revocation or introspection once its client is authenticated: when it came and
/// from whom, the client, and the token it names with its records (`None`: no token
/// of this server's shape).
struct TokenCall {
    arrived: Arrived,
    user: UserRecord,
    found: Option<(AccessToken, Arc<Loaded>)>,
}

/// The prologue the two token endpoints share: the form read, the client
/// authenticated, the named token looked up; or the answer already given.
async fn token_call(
    app: &App,
    peer: SocketAddr,
    wipes: Option<Extension<Arc<Wipes>>>,
    headers: &HeaderMap,
    body: Body,
) -> Result<TokenCall, Handled> {
    let arrived = Arrived::new(app, peer, headers);
    let mut request = read_request(app, &arrived, wipes, headers, body).await?;
    let user = client_user(app, &arrived, request.client.take()).await?;
    let found = token_of(app, &request).await.map_err(Ok)?;
    Ok(TokenCall {
        arrived,
        user,
        found,
    })
}

/// The answer to a revocation or introspection, once `call` is audited (the
/// client's company, its address).
async fn audited_call(
    app: &App,
    arrived: &Arrived,
    user: &UserRecord,
    call: OAuthCall,
    answer: Response,
) -> Handled {
    let audit = AuditRecord::oauth(app.auth.flow().policy(), call, &user.company, arrived.now)
        .with_client(arrived.client.ip());
    audited(app, audit, answer).await
}

/// `POST /oauth/revoke` (RFC 7009): the client's own token revoked; 200 whatever
/// the token was (§2.2), and the call audited.
async fn revoke(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    wipes: Option<Extension<Arc<Wipes>>>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    let TokenCall {
        arrived,
        user,
        found,
    } = match token_call(&app, peer, wipes, &headers, body).await {
        Ok(call) => call,
        Err(answered) => return answered,
    };
    let mut call = OAuthCall {
        operation: OAuthOperation::Revoke,
        client: user.id.clone(),
        token_id: None,
        result: OAuthResult::NotRevoked,
    };
    if let Some((token, loaded)) = found
        && let Record::Found(record) = &loaded.token
        && record.user == user.id
    {
        call.token_id = Some(record.id.clone());
        if app
            .store
            .records()
            .revoke_token(token.digest(), arrived.now)
            .await?
        {
            call.result = OAuthResult::Revoked;
        }
    }
    audited_call(&app, &arrived, &user, call, StatusCode::OK.into_response()).await
}

/// `POST /oauth/introspect` (RFC 7662): whether the token is active, and if it is,
/// whose, until when, in which company and with which role; `{"active": false}`
/// for any token the client may not introspect.
async fn introspect(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    wipes: Option<Extension<Arc<Wipes>>>,
    headers: HeaderMap,
    body: Body,
) -> Handled {
    let TokenCall {
        arrived,
        user,
        found,
    } = match token_call(&app, peer, wipes, &headers, body).await {
        Ok(call) => call,
        Err(answered) => return answered,
    };
    let flow = app.auth.flow();
    // Active exactly when a request with it would authenticate now.
    let active = found.and_then(|(token, loaded)| {
        let digest = CredentialDigest::Bearer(token.digest());
        let principal = flow
            .authenticate_digest(Ok(Some(digest)), &*loaded, None, arrived.now)
            .ok()?;
        let Record::Found(record) = &loaded.token else {
            return None;
        };
        let mine = principal.user() == &user.id;
        let company = principal.company() == &user.company && user.role.level() >= Level::Manager;
        (mine || company).then(|| (principal, record.clone()))
    });
    let (body, call) = match &active {
        Some((principal, record)) => (
            serde_json::json!({
                "active": true,
                "token_type": "Bearer",
                "sub": principal.user(),
                "client_id": principal.user(),
                "iat": record.lifetime.issued_at().unix_timestamp(),
                "exp": record.lifetime.expires_at().unix_timestamp(),
                "company": principal.company(),
                "role": principal.role().as_str(),
            }),
            OAuthCall {
                operation: OAuthOperation::Introspect,
                client: user.id.clone(),
                token_id: Some(record.id.clone()),
                result: OAuthResult::Active,
            },
        ),
        None => (
            serde_json::json!({"active": false}),
            OAuthCall {
                operation: OAuthOperation::Introspect,
                client: user.id.clone(),
                token_id: None,
                result: OAuthResult::Inactive,
            },
        ),
    };
    let answer = json_response(StatusCode::OK, body.to_string());
    audited_call(&app, &arrived, &user, call, answer).await
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
            "revocation_endpoint": format!("{issuer}/oauth/revoke"),
            "introspection_endpoint": format!("{issuer}/oauth/introspect"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": [],
        })
        .to_string(),
    )
}
