//! # pw-auth-axum
//!
//! pw-auth for [axum] 0.8 and tower: an action guard, an extractor for the
//! authenticated principal, and responses. It holds **no policy logic**: every
//! decision is made by the sans-IO [`ServerFlow`] of `pw-auth-http`; this crate does
//! the IO around it (the asynchronous lookups of an [`AuthStore`], the clock) and
//! translates types.
//!
//! ```text
//!  request ─▶ RequireLayer("flows.deploy")
//!               │ credential_ref_from_headers ─▶ digest ─▶ AuthStore::load (records, user, grants)
//!               │ ServerFlow::authenticate ─────────────────────────────▶ 400/401
//!               │ company hook (own company, or one the caller names) ─▶ AuthStore::company
//!               │ AuthStore::with_budget(company, ServerFlow::decide) ─▶ 403/429
//!               │ AuthStore::audit(record)                  any store error ─▶ 503, never an allow
//!               ▼
//!             handler, with `Authenticated(principal)`; the RateLimit headers are added
//! ```
//!
//! ```
//! use axum::{Router, routing::get};
//! use pw_auth_axum::{Authenticated, MemoryStore, PwAuth};
//! use pw_auth_core::Policy;
//! use pw_auth_http::{Responder, ServerFlow};
//!
//! async fn flows(Authenticated(who): Authenticated) -> String {
//!     format!("flows of {}", who.company())
//! }
//!
//! let flow = ServerFlow::new(Policy::default_policy(), Responder::new("patchworks")?);
//! let auth = PwAuth::new(flow, MemoryStore::default());
//! // An action the policy does not define is an error here, not a route that denies
//! // every request.
//! let app: Router = Router::new().route("/flows", get(flows).route_layer(auth.require("flows.view")?));
//! assert!(auth.require("flows.veiw").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod error;
mod memory;

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode};
use pw_auth_core::{
    ApiKeyDigest, ApiKeyRecord, AuditRecord, CompanyId, CredentialDigest, LimitState, Lookup,
    Principal, RecordStore, Tier, TokenDigest, TokenRecord, UserId, UserRecord, usage_key,
};
use pw_auth_http::{
    Budget, ClientAddr, Outcome, Served, ServerFlow, ServerStore, Target,
    credential_ref_from_headers,
};
use time::OffsetDateTime;

pub use error::{StoreError, StoreErrorKind, Unavailable};
pub use memory::MemoryStore;

/// An action named to [`PwAuth::require`] that the policy does not define. A route
/// guarded by it would deny every request, so it is refused when the router is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the policy has no action `{}`", action.escape_debug())]
pub struct UnknownAction {
    action: String,
}

impl UnknownAction {
    /// The action named.
    pub fn action(&self) -> &str {
        &self.action
    }
}

/// A record looked up by digest, owned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Record<T> {
    /// A record with that digest.
    Found(T),
    /// The store remembers that a record with that digest was deleted.
    Deleted,
    /// No record with that digest.
    #[default]
    NotFound,
}

impl<T> Record<T> {
    fn lookup(&self) -> Lookup<'_, T> {
        match self {
            Record::Found(r) => Lookup::Found(r),
            Record::Deleted => Lookup::Deleted,
            Record::NotFound => Lookup::NotFound,
        }
    }
}

/// What an [`AuthStore`] found for one credential: its key or token record, the user
/// that record names, and that user's grants. It is the synchronous
/// [`ServerStore`] the flow authenticates against.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The API-key record, for a key.
    pub key: Record<ApiKeyRecord>,
    /// The token record, for a bearer token.
    pub token: Record<TokenRecord>,
    /// The user the record names.
    pub user: Option<UserRecord>,
    /// The linked companies that user holds an explicit grant for.
    pub grants: Vec<CompanyId>,
}

impl RecordStore for Loaded {
    fn api_key(&self, digest: &ApiKeyDigest) -> Lookup<'_, ApiKeyRecord> {
        match &self.key {
            Record::Found(k) if &k.digest != digest => Lookup::NotFound,
            other => other.lookup(),
        }
    }

    fn token(&self, digest: &TokenDigest) -> Lookup<'_, TokenRecord> {
        match &self.token {
            Record::Found(t) if &t.digest != digest => Lookup::NotFound,
            other => other.lookup(),
        }
    }

    fn user(&self, id: &UserId) -> Option<&UserRecord> {
        self.user.as_ref().filter(|u| &u.id == id)
    }
}

impl ServerStore for Loaded {
    fn grants(&self, user: &UserId) -> Cow<'_, [CompanyId]> {
        match &self.user {
            Some(u) if &u.id == user => Cow::Borrowed(&self.grants),
            _ => Cow::Borrowed(&[]),
        }
    }
}

/// A company's tier, and its parent if it is a linked company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyInfo {
    /// The subscription tier.
    pub tier: Tier,
    /// The parent company, if linked.
    pub parent: Option<CompanyId>,
}

/// The asynchronous lookups behind the guard. Implement it over your database; see
/// [`MemoryStore`] for a complete, in-memory one.
pub trait AuthStore: Send + Sync + 'static {
    /// The records for a credential, looked up by its digest (the store never sees
    /// the secret): the key or token record, the user it names, and that user's grants.
    fn load(
        &self,
        digest: &CredentialDigest,
    ) -> impl Future<Output = Result<Loaded, StoreError>> + Send;

    /// A company's tier and parent; `None` if there is no such company.
    fn company(
        &self,
        id: &CompanyId,
    ) -> impl Future<Output = Result<Option<CompanyInfo>, StoreError>> + Send;

    /// Runs `f` on `company`'s limiter state and stores what it leaves, atomically
    /// with respect to every other request charging the same company.
    ///
    /// A store that updates by compare-and-set (a shared store such as Redis) runs `f`
    /// again on the fresh state when another server wrote first: `f` is pure, and only
    /// the result of the run whose state was stored counts.
    fn with_budget<R, F>(
        &self,
        company: &CompanyId,
        f: F,
    ) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState) -> R + Send + 'static;

    /// Runs `f` on the failure budgets at `keys` (in that order; a key never charged
    /// has a fresh one) and stores what it leaves, atomically with respect to every
    /// other request updating any of those keys: the throttles' reservations and
    /// charges (see [`PwAuth::with_client`]) are decided and stored in one step,
    /// so no number of concurrent requests can pass a spent budget. `keys` are
    /// distinct. As in [`AuthStore::with_budget`], a compare-and-set store may run `f`
    /// again on fresh states; only the run whose states were stored counts.
    fn with_failures<R, F>(
        &self,
        keys: Vec<String>,
        f: F,
    ) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static;

    /// Keeps an audit record. A failure refuses the request (503): nothing is allowed
    /// that could not be recorded.
    fn audit(&self, record: &AuditRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Which company a request acts in, given the request and the authenticated
/// principal: `Ok(None)` for the principal's own company (the default), `Ok(Some(c))`
/// for a company the request names (the flow then decides whether the principal may
/// act there), or `Err` with the refusal to send (a 400 for a header that names no
/// company, or names one twice).
pub type CompanyHook =
    dyn Fn(&Parts, &Principal) -> Result<Option<CompanyId>, Outcome> + Send + Sync;

/// Who a request's client is (the peer's address, or behind a trusted proxy the
/// address it forwarded for; see [`TrustedProxies`](pw_auth_http::TrustedProxies)):
/// its [`ClientAddr::key`] keys the throttle on failed authentications, and its
/// address is named in the request's audit record. `None`: no throttle, no address.
pub type ClientOf = dyn Fn(&Parts) -> Option<ClientAddr> + Send + Sync;

/// The clock the guard reads (`OffsetDateTime::now_utc` unless replaced, e.g. by a
/// test's fake clock).
pub type Clock = dyn Fn() -> OffsetDateTime + Send + Sync;

struct Inner<S> {
    flow: Arc<ServerFlow>,
    store: S,
    clock: Arc<Clock>,
    company: Arc<CompanyHook>,
    client_of: Option<Arc<ClientOf>>,
    limit: bool,
}

/// The adapter: a server flow, a store, a clock and a company hook. Cheap to clone.
pub struct PwAuth<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for PwAuth<S> {
    fn clone(&self) -> Self {
        PwAuth {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: AuthStore> PwAuth<S> {
    /// The adapter over `flow` and `store`, with the system clock, the usage limit
    /// on, and requests acting in the principal's own company.
    pub fn new(flow: ServerFlow, store: S) -> PwAuth<S> {
        PwAuth {
            inner: Arc::new(Inner {
                flow: Arc::new(flow),
                store,
                clock: Arc::new(OffsetDateTime::now_utc),
                company: Arc::new(|_: &Parts, _: &Principal| Ok(None)),
                client_of: None,
                limit: true,
            }),
        }
    }

    fn with(self, f: impl FnOnce(&mut Inner<S>)) -> PwAuth<S> {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                f(&mut inner);
                PwAuth {
                    inner: Arc::new(inner),
                }
            }
            Err(inner) => PwAuth { inner },
        }
    }

    /// The same adapter reading another clock. Call it before cloning.
    pub fn with_clock(self, clock: Arc<Clock>) -> PwAuth<S> {
        self.with(|i| i.clock = clock)
    }

    /// The same adapter choosing the company a request acts in with `hook` (for
    /// example from a header naming a linked company; see [`CompanyHook`]). Call it
    /// before cloning.
    pub fn with_company_hook(self, hook: Arc<CompanyHook>) -> PwAuth<S> {
        self.with(|i| i.company = hook)
    }

    /// The same adapter telling clients apart with `client_of`, which names each
    /// request's client in its audit record and throttles failed authentications per
    /// client (without it, none are throttled): after the flow's failure quota of
    /// 401s, a client's failing requests are answered 429 with `Retry-After` instead
    /// until its budget refills. Each failure is charged atomically
    /// ([`AuthStore::with_failures`]), so concurrency cannot pass the quota; a request
    /// with a valid credential is never refused by this throttle. Call it before
    /// cloning.
    pub fn with_client(self, client_of: Arc<ClientOf>) -> PwAuth<S> {
        self.with(|i| i.client_of = Some(client_of))
    }

    /// The same adapter without usage limits. Call it before cloning.
    pub fn without_limit(self) -> PwAuth<S> {
        self.with(|i| i.limit = false)
    }

    /// The flow.
    pub fn flow(&self) -> &ServerFlow {
        &self.inner.flow
    }

    /// The flow, shared (for work that outlives the request's borrow, such as a
    /// store's update closure).
    pub fn shared_flow(&self) -> Arc<ServerFlow> {
        Arc::clone(&self.inner.flow)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The time now, by the adapter's clock.
    pub fn now(&self) -> OffsetDateTime {
        (self.inner.clock)()
    }

    /// A layer that lets a request through only if its principal may perform
    /// `action`; use it with `Router::route_layer`.
    ///
    /// # Errors
    /// [`UnknownAction`] if the flow's policy does not define `action`: checked once,
    /// here, so that a mistyped action fails the router's building rather than
    /// denying every request to its route.
    pub fn require(&self, action: &str) -> Result<RequireLayer<S>, UnknownAction> {
        let def = self
            .inner
            .flow
            .policy()
            .action(action)
            .ok_or_else(|| UnknownAction {
                action: action.to_owned(),
            })?;
        Ok(RequireLayer {
            auth: self.clone(),
            action: Arc::from(def.id()),
        })
    }

    /// The response for a refusal made before authentication, once its audit record
    /// is kept (503 if it cannot be).
    async fn refuse(
        &self,
        mut refused: Box<pw_auth_http::Refused>,
        client: Option<ClientAddr>,
    ) -> Response {
        if let Some(c) = client {
            refused.record_client(c.ip());
        }
        match self.inner.store.audit(&refused.audit).await {
            Ok(()) => outcome_response(&refused.outcome),
            Err(e) => unavailable(e),
        }
    }

    /// Decides one request for `action`: `Ok` with who may proceed, in which company,
    /// and the headers for the handler's answer; or `Err` with the whole response (a
    /// refusal, or 503 for a failed store), its audit record kept.
    pub async fn check(&self, parts: &Parts, action: &str) -> Result<Admitted, Response> {
        let inner = &self.inner;
        let now = self.now();
        let client = inner.client_of.as_ref().and_then(|c| c(parts));
        // Parsed once, borrowing the secret, and hashed once: the digest is what the
        // records are looked up by and all that authentication reads.
        let parsed = credential_ref_from_headers(&parts.headers).map(|c| c.map(|c| c.digest()));
        let loaded = match &parsed {
            Ok(Some(digest)) => inner.store.load(digest).await.map_err(unavailable)?,
            _ => Loaded::default(),
        };
        let principal = match inner.flow.authenticate_digest(parsed, &loaded, None, now) {
            Ok(p) => p,
            Err(refused) => {
                // Only a failure is charged, and only a failure is refused by the
                // throttle: a valid credential never waits for anyone's failures.
                let refused = match client {
                    Some(addr) => {
                        let key = addr.key();
                        let flow = Arc::clone(&inner.flow);
                        let wait = inner
                            .store
                            .with_failures(vec![key], move |states| match states {
                                [client] => flow.charge_auth_failure(client, now),
                                // A store that hands back the wrong states: refuse.
                                _ => Some(std::time::Duration::from_secs(1)),
                            })
                            .await
                            .map_err(unavailable)?;
                        match wait {
                            Some(wait) => inner.flow.auth_throttled(wait, None, now),
                            None => refused,
                        }
                    }
                    None => refused,
                };
                return Err(self.refuse(refused, client).await);
            }
        };
        let company = match (inner.company)(parts, &principal) {
            Ok(Some(named)) => named,
            Ok(None) => principal.company().clone(),
            Err(refusal) => return Err(outcome_response(&refusal)),
        };
        let info = match inner.store.company(&company).await.map_err(unavailable)? {
            Some(info) => info,
            // The principal's own company must exist: corrupt data, fail closed.
            None if &company == principal.company() => {
                return Err(unavailable(StoreError::new(
                    StoreErrorKind::Corrupt,
                    format!("the principal's company `{company}` is missing"),
                )));
            }
            // Anything else unknown is not linked to it: the flow denies it.
            None => CompanyInfo {
                tier: Tier::Standard,
                parent: None,
            },
        };
        let flow = Arc::clone(&inner.flow);
        let action = action.to_owned();
        let grants = loaded.grants;
        let served = if inner.limit {
            // The principal's own company pays (`usage_key`), at its own tier.
            let payer = usage_key(&principal).clone();
            let payer_tier = if payer == company {
                info.tier
            } else {
                match inner.store.company(&payer).await.map_err(unavailable)? {
                    Some(home) => home.tier,
                    None => {
                        return Err(unavailable(StoreError::new(
                            StoreErrorKind::Corrupt,
                            format!("the principal's company `{payer}` is missing"),
                        )));
                    }
                }
            };
            let company_id = company.clone();
            inner
                .store
                .with_budget(&payer, move |state| {
                    let target = target_of(&action, &company_id, &info);
                    let budget = Budget::new(payer_tier, state);
                    // Cloned: a compare-and-set store may run this more than once.
                    flow.decide(principal.clone(), &grants, target, Some(budget), now)
                })
                .await
                .map_err(unavailable)?
        } else {
            let target = target_of(&action, &company, &info);
            flow.decide(principal, &grants, target, None, now)
        };
        let mut served = served;
        if let Some(c) = client {
            served.record_client(c.ip());
        }
        inner
            .store
            .audit(served.audit())
            .await
            .map_err(unavailable)?;
        match served {
            Served::Admitted(admission) => {
                let (principal, outcome) = admission.into_parts();
                Ok(Admitted {
                    principal,
                    company,
                    headers: outcome.headers().to_vec(),
                })
            }
            Served::Refused(refused) => Err(outcome_response(&refused.outcome)),
        }
    }
}

/// A request [`PwAuth::check`] let through.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Admitted {
    /// Who is calling.
    pub principal: Principal,
    /// The company the request was authorised to act in (the caller's own, or one
    /// the company hook named).
    pub company: CompanyId,
    /// The headers for the handler's answer (the `RateLimit` fields, when limited).
    pub headers: Vec<(&'static str, String)>,
}

fn target_of<'a>(action: &'a str, company: &'a CompanyId, info: &'a CompanyInfo) -> Target<'a> {
    Target::new(action, company, info.tier).with_parent(info.parent.as_ref())
}

/// The response for an [`Outcome`]: its status, headers and JSON body.
pub fn outcome_response(outcome: &Outcome) -> Response {
    let (parts, body) = outcome.to_http_response().into_parts();
    Response::from_parts(parts, Body::from(body))
}

/// An [`Outcome`] as an axum response.
#[derive(Debug, Clone)]
pub struct OutcomeResponse(pub Outcome);

impl IntoResponse for OutcomeResponse {
    fn into_response(self) -> Response {
        outcome_response(&self.0)
    }
}

/// 503 for a store that failed: nothing is allowed that could not be checked. The
/// answer says nothing about the failure (it may name a file or a host); the failure
/// goes with the response as [`Unavailable`], for the layer that logs it.
pub fn unavailable(error: StoreError) -> Response {
    let mut r = (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (http::header::CONTENT_TYPE, "application/json"),
            (http::header::RETRY_AFTER, "1"),
        ],
        r#"{"message":"Service unavailable."}"#,
    )
        .into_response();
    r.extensions_mut().insert(Unavailable(error));
    r
}

/// The authenticated principal of a request that passed a [`RequireLayer`]. Used
/// without one, it refuses the request (500): a handler never runs unauthenticated
/// by mistake.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl<T: Send + Sync> FromRequestParts<T> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &T) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Authenticated)
            .ok_or_else(|| {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the route has no pw-auth guard",
                )
                    .into_response()
            })
    }
}

/// The company a request that passed a [`RequireLayer`] was authorised to act in
/// (its caller's own, or the linked one the company hook named). Handlers act on
/// this company's entities and no other. Used without a guard, it refuses (500).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActingIn(pub CompanyId);

impl<T: Send + Sync> FromRequestParts<T> for ActingIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &T) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<ActingIn>().cloned().ok_or_else(|| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the route has no pw-auth guard",
            )
                .into_response()
        })
    }
}

/// The layer of [`PwAuth::require`].
pub struct RequireLayer<S> {
    auth: PwAuth<S>,
    /// An action of the policy's (checked by [`PwAuth::require`]).
    action: Arc<str>,
}

impl<S> Clone for RequireLayer<S> {
    fn clone(&self) -> Self {
        RequireLayer {
            auth: self.auth.clone(),
            action: Arc::clone(&self.action),
        }
    }
}

impl<S, I> tower::Layer<I> for RequireLayer<S> {
    type Service = Require<S, I>;

    fn layer(&self, inner: I) -> Self::Service {
        Require {
            auth: self.auth.clone(),
            action: Arc::clone(&self.action),
            inner,
        }
    }
}

/// The service of [`RequireLayer`].
pub struct Require<S, I> {
    auth: PwAuth<S>,
    action: Arc<str>,
    inner: I,
}

impl<S, I: Clone> Clone for Require<S, I> {
    fn clone(&self) -> Self {
        Require {
            auth: self.auth.clone(),
            action: Arc::clone(&self.action),
            inner: self.inner.clone(),
        }
    }
}

impl<S, I> tower::Service<Request<Body>> for Require<S, I>
where
    S: AuthStore,
    I: tower::Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    I::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's rule).
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let auth = self.auth.clone();
        let action = Arc::clone(&self.action);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let Admitted {
                principal,
                company,
                headers,
            } = match auth.check(&parts, &action).await {
                Ok(ok) => ok,
                Err(refusal) => return Ok(refusal),
            };
            parts.extensions.insert(principal);
            parts.extensions.insert(ActingIn(company));
            let mut response = inner.call(Request::from_parts(parts, body)).await?;
            for (name, value) in headers {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, v);
                }
            }
            Ok(response)
        })
    }
}
