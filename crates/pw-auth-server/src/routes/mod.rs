//! The routes, grouped by resource, each module with its `router()`, and what they
//! share: the application state, JSON answers, capped and timed body reads, and the
//! client's address.

mod audit;
mod authz;
mod bodies;
mod demo;
mod grants;
mod keys;
mod login;
mod oauth;
mod roles;
mod users;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use pw_auth_axum::{PwAuth, outcome_response};
use pw_auth_core::ExpiresIn;
use pw_auth_http::{ClientAddr, TrustedProxies};
use time::OffsetDateTime;

use crate::config::{Clock, Random};
use crate::hashing::PasswordPool;
use crate::observe::Metrics;
use crate::store::Store;
use pw_auth_axum::{StoreError, UnknownAction};

/// What every handler reads, shared: axum clones a router's state for every request
/// (each handler's service holds a copy, and a layered route's service is cloned per
/// request too), so it is one `Arc` — one reference count to touch — rather than a
/// count for each of its fields, on cache lines every worker thread writes.
#[derive(Clone)]
pub(crate) struct App(Arc<AppState>);

impl App {
    pub(crate) fn new(state: AppState) -> App {
        App(Arc::new(state))
    }
}

impl std::ops::Deref for App {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}

/// The state behind [`App`].
pub(crate) struct AppState {
    pub(crate) auth: PwAuth<Store>,
    /// Each decision's id (the guard's, and the login's and key creation's own).
    pub(crate) decision_ids: Arc<pw_auth_axum::DecisionIds>,
    pub(crate) store: Store,
    /// A hash of a random password, verified against when the username is unknown,
    /// so that an unknown user and a wrong password cost the same argon2 work.
    pub(crate) dummy_hash: Arc<str>,
    pub(crate) expires_in: ExpiresIn,
    pub(crate) clock: Arc<Clock>,
    pub(crate) random: Arc<Random>,
    pub(crate) hashing: PasswordPool,
    pub(crate) trusted: TrustedProxies,
    pub(crate) body_timeout: Duration,
    /// The forward-auth endpoint's route table (`/authz`).
    pub(crate) authz: Arc<[crate::gateway::AuthzRoute]>,
}

impl AppState {
    pub(crate) fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    /// 32 fresh random bytes for a secret.
    pub(crate) fn random_bytes(&self) -> Result<[u8; 32], StoreError> {
        crate::config::random_bytes(&*self.random)
    }
}

/// What a handler answers instead of its success: a failed store (503; the failure
/// goes with the response for the layer that logs it), or a whole refusal.
pub(crate) enum ApiError {
    /// The store (or the server's own resources) failed.
    Store(StoreError),
    /// A complete answer: a refusal, a 404, a validation error.
    Answer(Response),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::Store(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Store(e) => pw_auth_axum::unavailable(e),
            ApiError::Answer(r) => r,
        }
    }
}

/// A handler's result: `?` on a store call answers 503.
pub(crate) type Handled = Result<Response, ApiError>;

/// The client of a request from `peer` with `headers`: the peer, or behind a trusted
/// proxy the address it forwarded for.
pub(crate) fn client_of(
    trusted: &TrustedProxies,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> ClientAddr {
    let lines = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .map(HeaderValue::as_bytes)
            .collect::<Vec<_>>()
    };
    if trusted.is_empty() {
        return ClientAddr::new(peer.ip());
    }
    trusted.client(peer.ip(), lines("forwarded"), lines("x-forwarded-for"))
}

/// The client of a request, from its parts (for the guard's throttle).
pub(crate) fn client_of_parts(
    trusted: &TrustedProxies,
    parts: &http::request::Parts,
) -> Option<ClientAddr> {
    let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
    Some(client_of(trusted, *peer, &parts.headers))
}

/// Every route, with `Cache-Control: no-store` on every answer (tokens, keys and
/// records are never for a cache) and its matched route for the observing service
/// outside; the health endpoints and `metrics` (when served here) beside them. Fails
/// if a route names an action the policy does not define.
pub(crate) fn router(app: App, metrics: Option<Arc<Metrics>>) -> Result<Router, UnknownAction> {
    let store = app.store.clone();
    Ok(Router::new()
        .merge(login::router(&app)?)
        .merge(keys::router(&app)?)
        .merge(audit::router(&app)?)
        .merge(users::router(&app)?)
        .merge(demo::router(&app)?)
        .merge(authz::router(&app)?)
        .merge(oauth::router(&app)?)
        .merge(grants::router(&app)?)
        .merge(roles::router(&app)?)
        .route("/openapi.json", axum::routing::get(openapi))
        // Bodies are read by the handlers with their own caps and timeouts (login
        // 64 KiB, key creation 4 KiB), answered with the library's 413 or a 408.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(app)
        .merge(crate::observe::router(store, metrics))
        .layer(crate::observe::RouteLayer))
}

/// The OpenAPI 3.1 description of every route (`docs/openapi.json`).
pub(crate) const OPENAPI: &str = include_str!("../../../../docs/openapi.json");

/// `GET /openapi.json`: [`OPENAPI`].
async fn openapi() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// A JSON answer holding a secret (a token, a new key): its bytes go to hyper
/// without a plain copy, and are wiped when hyper drops them after writing.
pub(crate) fn secret_json(status: StatusCode, body: zeroize::Zeroizing<String>) -> Response {
    struct Wiped(zeroize::Zeroizing<String>);
    impl AsRef<[u8]> for Wiped {
        fn as_ref(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }
    let bytes = Bytes::from_owner(Wiped(body));
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(bytes),
    )
        .into_response()
}

/// A 422 in the platform's validation shape, naming `field`.
pub(crate) fn invalid(app: &App, field: &str, message: &str) -> ApiError {
    let errors = std::collections::BTreeMap::from([(field.to_owned(), vec![message.to_owned()])]);
    ApiError::Answer(outcome_response(
        &app.auth
            .flow()
            .responder()
            .validation("The given data was invalid.", &errors),
    ))
}

pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Whether the request says its body is JSON (`application/json`, any parameters).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// Why a body could not be read.
/// A JSON request's body, read up to `cap` bytes: a 415 for another media type, a
/// 413 over the cap, a 408 when it comes too slowly.
pub(crate) async fn json_body(
    app: &App,
    headers: &HeaderMap,
    body: Body,
    cap: usize,
) -> Result<Bytes, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::Answer(outcome_response(
            &app.auth.flow().responder().unsupported_media_type(),
        )));
    }
    read_body(app, body, cap)
        .await
        .map_err(|refused| ApiError::Answer(refused.into_response()))
}

pub(crate) enum BodyRefused {
    /// Over the cap: the library's 413 naming it.
    TooLarge(Response),
    /// Not sent in time, or the connection failed: 408.
    TooSlow(Response),
}

impl BodyRefused {
    pub(crate) fn into_response(self) -> Response {
        match self {
            BodyRefused::TooLarge(r) | BodyRefused::TooSlow(r) => r,
        }
    }
}

/// Reads a body of at most `cap` bytes within the body-read timeout.
pub(crate) async fn read_body(app: &App, body: Body, cap: usize) -> Result<Bytes, BodyRefused> {
    let read = axum::body::to_bytes(body, cap.saturating_add(1));
    match tokio::time::timeout(app.body_timeout, read).await {
        Ok(Ok(bytes)) if bytes.len() <= cap => Ok(bytes),
        // `to_bytes` fails past its limit too; anything else is a broken connection.
        Ok(_) => Err(BodyRefused::TooLarge(outcome_response(
            &app.auth.flow().responder().payload_too_large(cap),
        ))),
        Err(_) => Err(BodyRefused::TooSlow(request_timeout())),
    }
}

fn request_timeout() -> Response {
    let mut r = json_response(
        StatusCode::REQUEST_TIMEOUT,
        r#"{"message":"The request body was not sent in time."}"#.to_owned(),
    );
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

pub(crate) fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        r#"{"message":"Not found."}"#.to_owned(),
    )
}
