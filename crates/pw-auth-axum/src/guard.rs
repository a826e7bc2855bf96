//! The guard itself: [`PwAuth`], its settings, and [`PwAuth::check`], which decides
//! one request with the sans-IO flow and the store's lookups.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use axum::response::Response;
use http::request::Parts;
use pw_auth_core::{
    AuditRecord, CompanyId, DecisionId, Principal, Request, Tier, grants_in_force, usage_key,
};
use pw_auth_http::{
    Budget, ClientAddr, Clock, Outcome, Served, ServerFlow, credential_ref_from_headers,
};
use time::OffsetDateTime;

use crate::{
    AuthStore, CompanyInfo, Loaded, RequireLayer, StoreError, StoreErrorKind, Verdict,
    outcome_response, unavailable,
};

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

/// Where each decision's id comes from, given the decision's time: the server draws
/// its random part ([`DecisionId::new`]). The id goes in the audit record and, as
/// `X-Decision-Id`, in the answer.
pub type DecisionIds = dyn Fn(OffsetDateTime) -> DecisionId + Send + Sync;

/// The field that carries a decision's id in an answer.
pub const DECISION_ID: &str = "x-decision-id";

pub(crate) struct Inner<S> {
    flow: ArcSwap<ServerFlow>,
    /// Every action a layer of this adapter requires: a replacement flow must define
    /// them all.
    required: Mutex<BTreeSet<Arc<str>>>,
    store: S,
    clock: Arc<Clock>,
    company: Arc<CompanyHook>,
    client_of: Option<Arc<ClientOf>>,
    decision_ids: Option<Arc<DecisionIds>>,
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

/// Builds a [`PwAuth`]: every setting is given before the adapter exists, so none can
/// be lost to a clone made earlier. From [`PwAuth::builder`]; each setting once, in
/// any order, then [`build`](PwAuthBuilder::build).
///
/// ```
/// use std::sync::Arc;
/// use pw_auth_axum::{MemoryStore, PwAuth};
/// use pw_auth_core::Policy;
/// use pw_auth_http::{ClientAddr, Responder, ServerFlow};
/// let flow = ServerFlow::new(Policy::default_policy(), Responder::new("example")?);
/// let auth = PwAuth::builder(flow, MemoryStore::default())
///     .client(Arc::new(|_parts: &http::request::Parts| {
///         Some(ClientAddr::new("203.0.113.7".parse().ok()?))
///     }))
///     .build();
/// # let _ = auth;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct PwAuthBuilder<S> {
    inner: Inner<S>,
}

impl<S: AuthStore> PwAuthBuilder<S> {
    /// Reads `clock` instead of the system clock (e.g. a test's fake clock).
    pub fn clock(mut self, clock: Arc<Clock>) -> PwAuthBuilder<S> {
        self.inner.clock = clock;
        self
    }

    /// Chooses the company a request acts in with `hook` (for example from a header
    /// naming a linked company; see [`CompanyHook`]).
    pub fn company_hook(mut self, hook: Arc<CompanyHook>) -> PwAuthBuilder<S> {
        self.inner.company = hook;
        self
    }

    /// Tells clients apart with `client_of`, which names each request's client in its
    /// audit record and throttles failed authentications per client (without it, none
    /// are throttled): after the flow's failure quota of 401s, a client's failing
    /// requests are answered 429 with `Retry-After` instead until its budget refills.
    /// Each failure is charged atomically ([`AuthStore::with_failures`]), so
    /// concurrency cannot pass the quota; a request with a valid credential is never
    /// refused by this throttle.
    pub fn client(mut self, client_of: Arc<ClientOf>) -> PwAuthBuilder<S> {
        self.inner.client_of = Some(client_of);
        self
    }

    /// Gives each decision an id from `ids`: in its audit record, in the answer's
    /// `X-Decision-Id` field, and in its [`Verdict`]. Without it, decisions have no id.
    pub fn decision_ids(mut self, ids: Arc<DecisionIds>) -> PwAuthBuilder<S> {
        self.inner.decision_ids = Some(ids);
        self
    }

    /// Serves without usage limits.
    pub fn without_limit(mut self) -> PwAuthBuilder<S> {
        self.inner.limit = false;
        self
    }

    /// The adapter, cheap to clone from here on.
    pub fn build(self) -> PwAuth<S> {
        PwAuth {
            inner: Arc::new(self.inner),
        }
    }
}

impl<S: AuthStore> PwAuth<S> {
    /// The adapter over `flow` and `store`, with the system clock, the usage limit
    /// on, requests acting in the principal's own company, and no client throttle:
    /// [`PwAuth::builder`] with no setting changed.
    pub fn new(flow: ServerFlow, store: S) -> PwAuth<S> {
        PwAuth::builder(flow, store).build()
    }

    /// A builder of the adapter over `flow` and `store`, starting from the settings
    /// of [`PwAuth::new`].
    pub fn builder(flow: ServerFlow, store: S) -> PwAuthBuilder<S> {
        PwAuthBuilder {
            inner: Inner {
                flow: ArcSwap::from_pointee(flow),
                required: Mutex::new(BTreeSet::new()),
                store,
                clock: Arc::new(OffsetDateTime::now_utc),
                company: Arc::new(|_: &Parts, _: &Principal| Ok(None)),
                client_of: None,
                decision_ids: None,
                limit: true,
            },
        }
    }

    /// The flow now (a request decided meanwhile keeps the one it started with).
    pub fn flow(&self) -> Arc<ServerFlow> {
        self.inner.flow.load_full()
    }

    /// Replaces the flow (a reloaded policy, say): every request that starts from
    /// now on is decided, answered and audited by `flow`; a request already being
    /// decided finishes with the flow it started with. Clones of this adapter, and
    /// the layers made from it, share the change.
    ///
    /// # Errors
    /// [`UnknownAction`] if `flow`'s policy lacks an action that a layer made by
    /// [`PwAuth::require`] guards its route with: the running flow is kept, since
    /// the route would deny every request.
    pub fn replace_flow(&self, flow: ServerFlow) -> Result<(), UnknownAction> {
        let required = self
            .inner
            .required
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(missing) = required.iter().find(|a| flow.policy().action(a).is_none()) {
            return Err(UnknownAction {
                action: missing.to_string(),
            });
        }
        // Swapped while the set is held: no layer can be added in between.
        self.inner.flow.store(Arc::new(flow));
        Ok(())
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
        let mut required = self
            .inner
            .required
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let flow = self.inner.flow.load();
        let def = flow.policy().action(action).ok_or_else(|| UnknownAction {
            action: action.to_owned(),
        })?;
        let action: Arc<str> = Arc::from(def.id());
        required.insert(Arc::clone(&action));
        Ok(RequireLayer {
            auth: self.clone(),
            action,
        })
    }

    /// The response for a refusal made before authentication, once its audit record
    /// is kept (503 if it cannot be).
    async fn refuse(
        &self,
        mut refused: Box<pw_auth_http::Refused>,
        client: Option<ClientAddr>,
        now: OffsetDateTime,
    ) -> Response {
        if let Some(c) = client {
            refused.record_client(c.ip());
        }
        if let Some(ids) = &self.inner.decision_ids {
            refused.record_decision_id(ids(now));
        }
        match self.inner.store.audit(&refused.audit).await {
            Ok(()) => refusal_response(&refused),
            Err(e) => unavailable(e),
        }
    }

    /// Decides one request for `action`: `Ok` with who may proceed, in which company,
    /// and the headers for the handler's answer; or `Err` with the whole response (a
    /// refusal, or 503 for a failed store), its audit record kept.
    pub async fn check(&self, parts: &Parts, action: &str) -> Result<Admitted, Response> {
        self.check_shared(parts, Arc::from(action)).await
    }

    /// [`PwAuth::check`] for an action the caller holds shared (a layer's, made once):
    /// not copied per request.
    pub(crate) async fn check_shared(
        &self,
        parts: &Parts,
        action: Arc<str>,
    ) -> Result<Admitted, Response> {
        let inner = &self.inner;
        // One flow for the whole request, even if it is replaced meanwhile.
        let flow = inner.flow.load_full();
        let now = self.now();
        let client = inner.client_of.as_ref().and_then(|c| c(parts));
        // Parsed once, borrowing the secret, and hashed once: the digest is what the
        // records are looked up by and all that authentication reads.
        let parsed = credential_ref_from_headers(&parts.headers).map(|c| c.map(|c| c.digest()));
        let loaded = match &parsed {
            Ok(Some(digest)) => Some(inner.store.load(digest).await.map_err(unavailable)?),
            _ => None,
        };
        let records = loaded.as_deref().unwrap_or(&NO_RECORDS);
        let principal = match flow.authenticate_digest(parsed, records, None, now) {
            Ok(p) => p,
            Err(refused) => {
                // Only a failure is charged, and only a failure is refused by the
                // throttle: a valid credential never waits for anyone's failures.
                let refused = match client {
                    Some(addr) => {
                        let key = addr.key();
                        let charging = Arc::clone(&flow);
                        let wait = inner
                            .store
                            .with_failures(vec![key], move |states| match states {
                                [client] => charging.charge_auth_failure(client, now),
                                // A store that hands back the wrong states: refuse.
                                _ => Some(std::time::Duration::from_secs(1)),
                            })
                            .await
                            .map_err(unavailable)?;
                        match wait {
                            Some(wait) => flow.auth_throttled(wait, None, now),
                            None => refused,
                        }
                    }
                    None => refused,
                };
                return Err(self.refuse(refused, client, now).await);
            }
        };
        let company = match (inner.company)(parts, &principal) {
            Ok(Some(named)) => named,
            Ok(None) => principal.company().clone(),
            Err(refusal) => {
                let mut response = outcome_response(&refusal);
                response
                    .extensions_mut()
                    .insert(Verdict::bad_request(principal.user(), principal.company()));
                return Err(response);
            }
        };
        // The principal's own company, if the store read it with the records.
        let own = records.company.as_ref().filter(|_| {
            records
                .user
                .as_ref()
                .is_some_and(|u| &u.company == principal.company())
        });
        let read = match own {
            Some(info) if &company == principal.company() => Some(info.clone()),
            _ => inner.store.company(&company).await.map_err(unavailable)?,
        };
        let info = match read {
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
        // Only the grants in force now: one that ended is as if it never was.
        let grants = grants_in_force(&records.grants, now);
        let mut served = if inner.limit {
            // The principal's own company pays (`usage_key`), at its own tier.
            let payer = usage_key(&principal).clone();
            let payer_tier = if payer == company {
                info.tier
            } else if let Some(own) = own.filter(|_| &payer == principal.company()) {
                own.tier
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
            // A key with a quota of its own spends its own budget too, in the same
            // update as the company's.
            let key = principal.key_quota().and(principal.key_id()).cloned();
            inner
                .store
                .with_budget(&payer, key.as_ref(), move |state, key_state| {
                    // The company's own definition of the principal's custom role, if
                    // it has one (the records are shared, not copied, into the charge).
                    let own_role = loaded.as_ref().and_then(|l| l.custom_role.as_ref());
                    let request =
                        request_of(&action, &company_id, &info).with_custom_role(own_role);
                    let budget = match key_state {
                        Some(k) => Budget::new(payer_tier, state).with_key(k),
                        None => Budget::new(payer_tier, state),
                    };
                    // Cloned: a compare-and-set store may run this more than once.
                    flow.decide(principal.clone(), &grants, request, Some(budget), now)
                })
                .await
                .map_err(unavailable)?
        } else {
            let request =
                request_of(&action, &company, &info).with_custom_role(records.custom_role.as_ref());
            flow.decide(principal, &grants, request, None, now)
        };
        if let Some(c) = client {
            served.record_client(c.ip());
        }
        if let Some(ids) = &inner.decision_ids {
            served.record_decision_id(ids(now));
        }
        inner
            .store
            .audit(served.audit())
            .await
            .map_err(unavailable)?;
        match served {
            Served::Admitted(admission) => {
                let verdict = Verdict::of(admission.audit());
                let (principal, outcome) = admission.into_parts();
                let mut headers = outcome.into_headers();
                if let Some(id) = verdict.decision_id {
                    headers.push((DECISION_ID, id.to_string()));
                }
                Ok(Admitted {
                    principal,
                    company,
                    headers,
                    verdict,
                })
            }
            Served::Refused(refused) => Err(refusal_response(&refused)),
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
    /// The decision, for the handler's answer's extensions.
    pub verdict: Verdict,
}

/// A refusal's response, with its [`Verdict`].
fn refusal_response(refused: &pw_auth_http::Refused) -> Response {
    let mut response = outcome_response(&refused.outcome);
    decided(&mut response, &refused.audit);
    response
}

/// Marks `response` with the decision `audit` records: its [`Verdict`] in the
/// extensions, and its id (when it has one) in `X-Decision-Id`. For answers a server
/// makes itself around an audit record it keeps (a login, say).
pub fn decided(response: &mut Response, audit: &AuditRecord) {
    if let Some(id) = audit.decision_id {
        let digits = id.to_hex();
        if let Ok(value) = http::HeaderValue::from_bytes(&digits) {
            response
                .headers_mut()
                .insert(http::HeaderName::from_static(DECISION_ID), value);
        }
    }
    response.extensions_mut().insert(Verdict::of(audit));
}

/// The records of a request without a credential: none.
static NO_RECORDS: Loaded = Loaded {
    key: crate::Record::NotFound,
    token: crate::Record::NotFound,
    user: None,
    grants: Vec::new(),
    custom_role: None,
    company: None,
};

pub(crate) fn request_of<'a>(
    action: &'a str,
    company: &'a CompanyId,
    info: &'a CompanyInfo,
) -> Request<'a> {
    Request::new(action, company, info.tier).with_parent(info.parent.as_ref())
}
