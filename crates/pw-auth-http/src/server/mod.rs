//! The server side, sans-IO: one request from its `Authorization` field lines to the
//! complete response and its audit record, and the login endpoint in two steps.
//!
//! ```text
//!  Authorization lines ─▶ parse ─▶ store: records by digest ─▶ authenticate ─▶ store: grants
//!        │ 400/401            │ 401                                              │
//!        ▼                    ▼                                                  ▼
//!   Served::Refused { outcome, audit, cause }      authorize (policy, now) ─▶ 403
//!                                                         │ allowed
//!                                                         ▼
//!                                 charge the caller's own company's budget ─▶ 429
//!                                                         │ admitted
//!                                                         ▼
//!                                  Served::Admitted: run the handler
//! ```
//!
//! The order is fixed: authenticate, authorize, then charge the usage budget of the
//! principal's own company ([`usage_key`](pw_auth_core::usage_key)), whichever company
//! it acts in. Nothing is charged before authentication (so nobody can drain a
//! company's budget without its credentials), a refused (403) request is not charged
//! either, and a parent company acting in a linked one spends its own budget.

use std::borrow::Cow;
use std::time::Duration;

use pw_auth_core::{
    ApiKeyId, AuditRecord, Authenticator, AuthnConfig, AuthnFailure, CompanyId, Credential,
    CredentialDigest, JointDecision, LimitDecision, LimitState, LimitedBy, Policy, Principal,
    Quota, RecordStore, Request, Tier, UserId, authorize, check_joint_limit, check_limit,
    usage_key,
};
use time::OffsetDateTime;

use crate::authorization::{AuthorizationError, parse_authorization_fields_ref};
use crate::outcome::{
    Outcome, RateLimitFields, Responder, joint_rate_limit_fields, legacy_rate_limit_fields,
    rate_limit_fields,
};
use crate::served::{Admission, Cause, Refused, Served};

mod login;
mod throttle;

pub use throttle::{DEFAULT_FAILURE_QUOTA, DEFAULT_USERNAME_CEILING, LoginBudgets};

/// What the server flow looks up: the core's records by digest, and the linked
/// companies a user holds an explicit grant for.
///
/// Callers with asynchronous stores look the records up first (by the credential's
/// digest, and the grants of the record's user) and hand them over in a small
/// in-memory implementation; see `docs/server.md`.
pub trait ServerStore: RecordStore {
    /// The linked companies `user` holds an explicit grant for.
    fn grants(&self, user: &UserId) -> Cow<'_, [CompanyId]>;
}

/// The grants [`pw_auth_core::MemoryRecords`] holds (feature `memory`).
#[cfg(feature = "memory")]
impl ServerStore for pw_auth_core::MemoryRecords {
    fn grants(&self, user: &UserId) -> Cow<'_, [CompanyId]> {
        Cow::Borrowed(self.grants_of(user))
    }
}

/// The usage budget a request spends: the limiter state of the principal's own
/// company ([`usage_key`](pw_auth_core::usage_key)) and that company's tier, whose
/// quota applies, and, when the request's API key has a quota of its own
/// ([`Principal::key_quota`]), the key's limiter state too. The states are updated
/// in place; store them back afterwards, together.
#[derive(Debug)]
pub struct Budget<'a> {
    tier: Tier,
    state: &'a mut LimitState,
    key: Option<&'a mut LimitState>,
}

impl<'a> Budget<'a> {
    /// The budget of a company of `tier` whose limiter state is `state`.
    pub fn new(tier: Tier, state: &'a mut LimitState) -> Budget<'a> {
        Budget {
            tier,
            state,
            key: None,
        }
    }

    /// The same budget with the API key's own limiter state, `key`: required when
    /// the principal's key has a quota ([`Principal::key_quota`]). Without it, such
    /// a key's requests are refused (429, limited by the key): the flow never
    /// admits a request whose budget it could not charge.
    pub fn with_key(mut self, key: &'a mut LimitState) -> Budget<'a> {
        self.key = Some(key);
        self
    }
}

/// Where [`ServerFlow::serve`] finds the budget of the company that pays, once it
/// knows who is calling.
pub trait Budgets {
    /// The budget of `company` (the authenticated principal's own company); `None`
    /// if that company has no usage limit. `key` names the principal's API key when
    /// that key has a quota of its own: the budget must then carry the key's state
    /// too ([`Budget::with_key`]).
    fn budget(&mut self, company: &CompanyId, key: Option<&ApiKeyId>) -> Option<Budget<'_>>;
}

/// The server flow: a policy, the responses of one realm, and authentication
/// settings. Build it once and share it; every method is `&self` and sans-IO.
///
/// # Methods, in groups, in the order a request calls them
///
/// * **Building**: [`new`](Self::new), then [`with_failure_quota`](Self::with_failure_quota),
///   [`with_username_ceiling`](Self::with_username_ceiling),
///   [`with_authn_config`](Self::with_authn_config).
/// * **A request**, in one call when the target is known before authentication:
///   [`serve`](Self::serve). Or in two, when the caller names it (a linked company):
///   [`authenticate_digest`](Self::authenticate_digest) (or
///   [`authenticate`](Self::authenticate), [`authenticate_parsed`](Self::authenticate_parsed)),
///   then [`decide`](Self::decide). After a failed authentication:
///   [`charge_auth_failure`](Self::charge_auth_failure) in the store's atomic update of
///   the client's budget, and [`auth_throttled`](Self::auth_throttled) if it was spent.
/// * **A login**: [`login_request`](Self::login_request); then, in one atomic update
///   of its budgets, [`reserve_login`](Self::reserve_login) (or
///   [`login_throttled`](Self::login_throttled) when refused); then the caller's
///   password check and [`login`](Self::login); and when it issued a token,
///   [`release_login`](Self::release_login). An endpoint that authenticates its
///   client by username and password without issuing a token (OAuth 2.0
///   revocation, introspection): the same steps with
///   [`authenticate_client`](Self::authenticate_client) in place of `login`.
/// * **Reading**: [`policy`](Self::policy), [`responder`](Self::responder).
///
/// ```
/// use std::borrow::Cow;
/// use std::collections::HashMap;
/// use pw_auth_core::*;
/// use pw_auth_http::{Budget, Budgets, Responder, ServerFlow, ServerStore};
/// use time::macros::datetime;
///
/// // The caller's records (in memory here; see docs/server.md for async stores).
/// struct Store { key: ApiKeyRecord, user: UserRecord }
/// impl RecordStore for Store {
///     fn api_key(&self, d: &ApiKeyDigest) -> Lookup<'_, ApiKeyRecord> { Some(&self.key).filter(|k| &k.digest == d).into() }
///     fn token(&self, _: &TokenDigest) -> Lookup<'_, TokenRecord> { Lookup::NotFound }
///     fn user(&self, id: &UserId) -> Option<&UserRecord> { Some(&self.user).filter(|u| &u.id == id) }
/// }
/// impl ServerStore for Store {
///     fn grants(&self, _: &UserId) -> Cow<'_, [CompanyId]> { Cow::Borrowed(&[]) }
/// }
/// // Each company's tier and limiter state.
/// struct Limits(HashMap<CompanyId, (Tier, LimitState)>);
/// impl Budgets for Limits {
///     fn budget(&mut self, c: &CompanyId, _: Option<&ApiKeyId>) -> Option<Budget<'_>> {
///         self.0.get_mut(c).map(|(tier, state)| Budget::new(*tier, state))
///     }
/// }
///
/// let now = datetime!(2026-11-27 12:00 UTC);
/// let acme = CompanyId::new("acme")?;
/// let random = [7, 42, 1, 99, 3, 250, 18, 64, 5, 77, 120, 9, 200, 33, 8, 161];
/// let minted = mint_api_key(&acme, KeyLabel::new("erp")?, &random, now)?;
/// let store = Store { key: minted.record, user: minted.user };
/// let flow = ServerFlow::new(Policy::default_policy(), Responder::new("patchworks")?);
/// let header = format!("{}", minted.key.expose_secret());
/// let mut limits = Limits(HashMap::from([(acme.clone(), (Tier::Professional, LimitState::default()))]));
///
/// let deploy = Request::new("flows.deploy", &acme, Tier::Professional);
/// let served = flow.serve([header.as_bytes()], &store, deploy, Some(&mut limits), now);
/// assert!(served.is_allowed());
/// assert_eq!(served.outcome().header("ratelimit"), Some(r#""default";r=239;t=1"#));
///
/// let publish = Request::new("blueprints.publish", &acme, Tier::Professional);
/// let served = flow.serve([header.as_bytes()], &store, publish, Some(&mut limits), now);
/// assert_eq!(served.outcome().status(), 403);
/// assert_eq!(served.audit().effect, Effect::Deny);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerFlow {
    policy: Policy,
    responder: Responder,
    authenticator: Authenticator,
    failures: Quota,
    username_ceiling: Quota,
    legacy_limit_headers: bool,
}

impl ServerFlow {
    /// A flow deciding with `policy` and answering with `responder`, with no leeway.
    pub fn new(policy: Policy, responder: Responder) -> ServerFlow {
        ServerFlow {
            policy,
            responder,
            authenticator: Authenticator::default(),
            failures: DEFAULT_FAILURE_QUOTA,
            username_ceiling: DEFAULT_USERNAME_CEILING,
            legacy_limit_headers: false,
        }
    }

    /// The same flow, sending the legacy `X-RateLimit-*` fields beside the draft's
    /// `RateLimit` fields ([`legacy_rate_limit_fields`](crate::legacy_rate_limit_fields));
    /// off by default.
    pub fn with_legacy_limit_headers(mut self, on: bool) -> ServerFlow {
        self.legacy_limit_headers = on;
        self
    }

    /// The same flow with other authentication settings (a clock-skew leeway).
    pub fn with_authn_config(mut self, config: AuthnConfig) -> ServerFlow {
        self.authenticator = Authenticator::new(config);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The responder.
    pub fn responder(&self) -> &Responder {
        &self.responder
    }

    /// Serves one request: `authorization` is every `Authorization` field line sent
    /// (none, one, or several), `store` the caller's records, `request` what it
    /// asks (its grants are the principal's, looked up in `store`), `budgets` where the principal's own company's budget is found (`None`: no
    /// usage limit). The budget is charged, and updated in place, only for a request
    /// that is authenticated and allowed; store it back afterwards.
    ///
    /// This is [`ServerFlow::authenticate`] then [`ServerFlow::decide`], for callers
    /// that know what is asked before anyone is authenticated.
    pub fn serve<'h, I, S>(
        &self,
        authorization: I,
        store: &S,
        request: Request<'_>,
        budgets: Option<&mut dyn Budgets>,
        now: OffsetDateTime,
    ) -> Served
    where
        I: IntoIterator<Item = &'h [u8]>,
        S: ServerStore,
    {
        match self.authenticate(authorization, store, Some(request), now) {
            Ok(principal) => {
                let grants = store.grants(principal.user());
                let key = principal.key_quota().and(principal.key_id());
                let budget = budgets.and_then(|b| b.budget(usage_key(&principal), key));
                self.decide(principal, &grants, request, budget, now)
            }
            Err(refused) => Served::Refused(*refused),
        }
    }

    /// The first half of [`ServerFlow::serve`], for servers that learn what is asked
    /// from the caller (its own company, or a linked one it names): parse the field lines
    /// and authenticate against `store`. A refusal (400 or 401) comes whole, with its
    /// audit record (which names `request`, when known).
    pub fn authenticate<'h, I, S>(
        &self,
        authorization: I,
        store: &S,
        request: Option<Request<'_>>,
        now: OffsetDateTime,
    ) -> Result<Principal, Box<Refused>>
    where
        I: IntoIterator<Item = &'h [u8]>,
        S: RecordStore,
    {
        // Borrowed: the secret is never copied; its digest is all authentication reads.
        let parsed = parse_authorization_fields_ref(authorization).map(|c| c.map(|c| c.digest()));
        self.authenticate_digest(parsed, store, request, now)
    }

    /// [`ServerFlow::authenticate`] for a caller that already parsed the field lines
    /// (with [`parse_authorization_fields`](crate::parse_authorization_fields), or
    /// `credential_from_headers`) to look the credential's records up first: the
    /// value is parsed once per request.
    pub fn authenticate_parsed<S: RecordStore>(
        &self,
        parsed: Result<Option<Credential>, AuthorizationError>,
        store: &S,
        request: Option<Request<'_>>,
        now: OffsetDateTime,
    ) -> Result<Principal, Box<Refused>> {
        let digest = parsed.map(|c| c.map(|c| c.digest()));
        self.authenticate_digest(digest, store, request, now)
    }

    /// [`ServerFlow::authenticate`] for a caller that parsed the field lines and
    /// computed the credential's digest to look its records up
    /// ([`parse_authorization_fields_ref`], then [`CredentialRef::digest`]): the value
    /// is parsed once and hashed once per request, and the secret never copied.
    ///
    /// [`CredentialRef::digest`]: pw_auth_core::CredentialRef::digest
    pub fn authenticate_digest<S: RecordStore>(
        &self,
        parsed: Result<Option<CredentialDigest>, AuthorizationError>,
        store: &S,
        request: Option<Request<'_>>,
        now: OffsetDateTime,
    ) -> Result<Principal, Box<Refused>> {
        let unauthenticated = |failure: AuthnFailure| {
            let bare = request.map(|r| r.resolved_in(&self.policy).with_grants(&[]));
            Box::new(Refused {
                outcome: self.responder.unauthenticated(failure),
                audit: AuditRecord::unauthenticated(&self.policy, failure, bare.as_ref(), now),
                cause: Cause::Unauthenticated(failure),
            })
        };
        let digest = match parsed {
            Ok(Some(d)) => d,
            Ok(None) => return Err(unauthenticated(AuthnFailure::Missing)),
            Err(e) => return Err(unauthenticated(e.failure())),
        };
        self.authenticator
            .authenticate_digest(&digest, store, now)
            .map_err(unauthenticated)
    }

    /// The second half of [`ServerFlow::serve`]: authorise `principal` (holding
    /// `grants`, which replace any the request holds) for `request` at `now`, then charge `budget`, the budget of the
    /// principal's own company ([`usage_key`]), if the request is allowed.
    pub fn decide(
        &self,
        principal: Principal,
        grants: &[CompanyId],
        request: Request<'_>,
        budget: Option<Budget<'_>>,
        now: OffsetDateTime,
    ) -> Served {
        // The action looked up once: the decision and the audit record read the
        // same definition. The grants are the principal's, as the store holds them.
        let request = request.resolved_in(&self.policy).with_grants(grants);
        let decision = authorize(&self.policy, &principal, &request, now);
        if !decision.is_allowed() {
            return Served::Refused(Refused {
                audit: AuditRecord::decision(&self.policy, &principal, &request, decision, now),
                outcome: self.responder.forbidden_outcome(&decision),
                cause: Cause::Forbidden {
                    principal,
                    decision,
                },
            });
        }
        let Some(budget) = budget else {
            return Served::Admitted(Admission {
                audit: AuditRecord::decision(&self.policy, &principal, &request, decision, now),
                outcome: Outcome::proceed(Vec::new()),
                principal,
                decision,
                limit: None,
                key_limit: None,
            });
        };
        // `budget` is the principal's own company's (`usage_key`), whichever
        // credential was used and whichever company the request acts in.
        let quota = self.policy.quota(budget.tier);
        let Some(key_quota) = principal.key_quota().copied() else {
            let (limit, charged) = check_limit(*budget.state, &quota, now);
            *budget.state = charged;
            let legacy = self.legacy(&quota, &limit, now);
            let fields = rate_limit_fields(&quota, &limit);
            return self.limited(
                principal,
                request,
                decision,
                (limit, None),
                (fields, legacy),
                now,
            );
        };
        // The key's own quota too: both budgets charged, or neither.
        let joint = match budget.key {
            Some(key_state) => {
                let (joint, company, key) =
                    check_joint_limit(*budget.state, &quota, *key_state, &key_quota, now);
                *budget.state = company;
                *key_state = key;
                joint
            }
            // The caller did not hand over the key's state: refused, never admitted
            // on a budget that was not charged.
            None => {
                let wait = Duration::from_secs(key_quota.period_secs());
                let (company, _) = check_limit(*budget.state, &quota, now);
                JointDecision {
                    company,
                    key: LimitDecision::Deny {
                        retry_after: wait,
                        reset_after: wait,
                    },
                }
            }
        };
        // The legacy fields name the budget that binds: the refusing one with the
        // longer wait, or the one with fewer requests left.
        let binding = match (joint.company, joint.key) {
            (
                LimitDecision::Deny { retry_after: c, .. },
                LimitDecision::Deny { retry_after: k, .. },
            ) => {
                if k > c {
                    (&key_quota, &joint.key)
                } else {
                    (&quota, &joint.company)
                }
            }
            (LimitDecision::Deny { .. }, _) => (&quota, &joint.company),
            (_, LimitDecision::Deny { .. }) => (&key_quota, &joint.key),
            (
                LimitDecision::Allow { remaining: c, .. },
                LimitDecision::Allow { remaining: k, .. },
            ) => {
                if k < c {
                    (&key_quota, &joint.key)
                } else {
                    (&quota, &joint.company)
                }
            }
        };
        let legacy = self.legacy(binding.0, binding.1, now);
        let fields = joint_rate_limit_fields(&quota, &key_quota, &joint);
        self.limited(
            principal,
            request,
            decision,
            (joint.company, Some(joint.key)),
            (fields, legacy),
            now,
        )
    }

    /// The legacy `X-RateLimit-*` fields, if this flow sends them.
    fn legacy(
        &self,
        quota: &Quota,
        limit: &LimitDecision,
        now: OffsetDateTime,
    ) -> Vec<(&'static str, String)> {
        if self.legacy_limit_headers {
            legacy_rate_limit_fields(quota, limit, now)
        } else {
            Vec::new()
        }
    }

    /// An allowed request after its limit check: admitted with the rate-limit
    /// fields, or refused (429) if a budget refused it. `limits` is the company's
    /// answer and the key's, if it has a quota; then the draft's fields and the
    /// legacy ones.
    fn limited(
        &self,
        principal: Principal,
        request: Request<'_>,
        decision: pw_auth_core::Decision,
        limits: (LimitDecision, Option<LimitDecision>),
        (fields, legacy): (RateLimitFields, Vec<(&'static str, String)>),
        now: OffsetDateTime,
    ) -> Served {
        let (limit, key_limit) = limits;
        let joint = key_limit.map(|key| JointDecision {
            company: limit,
            key,
        });
        let refusal = match joint {
            Some(j) => j.limited_by().zip(j.retry_after()),
            None => match limit {
                LimitDecision::Deny { retry_after, .. } => Some((LimitedBy::Company, retry_after)),
                LimitDecision::Allow { .. } => None,
            },
        };
        match refusal {
            None => Served::Admitted(Admission {
                outcome: Outcome::proceed({
                    let mut headers: Vec<(&'static str, String)> = fields.into_headers().into();
                    headers.extend(legacy);
                    headers
                }),
                audit: AuditRecord::decision(&self.policy, &principal, &request, decision, now),
                principal,
                decision,
                limit: Some(limit),
                key_limit,
            }),
            Some((limited_by, retry_after)) => Served::Refused(Refused {
                outcome: {
                    let mut o = self.responder.over_limit_with(fields, retry_after);
                    o.extend_headers(legacy);
                    o
                },
                audit: AuditRecord::over_limit(
                    &self.policy,
                    &principal,
                    &request,
                    retry_after,
                    limited_by,
                    now,
                ),
                cause: Cause::OverLimit {
                    principal,
                    decision,
                    limit,
                    key_limit,
                    limited_by,
                },
            }),
        }
    }
}
