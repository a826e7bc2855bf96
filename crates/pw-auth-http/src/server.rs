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

use pw_auth_core::{
    ApiKeyRecord, AuditRecord, Authenticator, AuthnConfig, AuthnFailure, CompanyId, Credential,
    CredentialDigest, ExpiresIn, IssuedToken, LimitDecision, LimitState, LoginResult, Lookup,
    MintError, MintedApiKey, Policy, Principal, Quota, RecordStore, Request, Role, Tier, UserId,
    UserRecord, UserStatus, authorize, check_limit, issue_token, refund_limit, usage_key,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use crate::authorization::{AuthorizationError, parse_authorization_fields_ref};
use crate::login::{BodyError, LoginRequest, LoginResponse, MAX_LOGIN_BODY_LEN};
use crate::outcome::{Outcome, Responder, rate_limit_fields};
use crate::served::{Admission, Cause, Issued, LoginServed, Refused, Served};

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

/// The usage budget a request spends: the limiter state of the principal's own
/// company ([`usage_key`](pw_auth_core::usage_key)) and that company's tier, whose
/// quota applies. The state is updated in place; store it back afterwards.
#[derive(Debug)]
pub struct Budget<'a> {
    tier: Tier,
    state: &'a mut LimitState,
}

impl<'a> Budget<'a> {
    /// The budget of a company of `tier` whose limiter state is `state`.
    pub fn new(tier: Tier, state: &'a mut LimitState) -> Budget<'a> {
        Budget { tier, state }
    }
}

/// Where [`ServerFlow::serve`] finds the budget of the company that pays, once it
/// knows who is calling.
pub trait Budgets {
    /// The budget of `company` (the authenticated principal's own company); `None`
    /// if that company has no usage limit.
    fn budget(&mut self, company: &CompanyId) -> Option<Budget<'_>>;
}

/// What a request asks for, as the server's routing knows it before anyone is
/// authenticated: the action, the company that owns the target, that company's tier,
/// and its parent if it is a linked company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    action: &'a str,
    company: &'a CompanyId,
    tier: Tier,
    parent: Option<&'a CompanyId>,
}

impl<'a> Target<'a> {
    /// `action` on entities of `company`, whose tier is `tier`.
    pub const fn new(action: &'a str, company: &'a CompanyId, tier: Tier) -> Target<'a> {
        Target {
            action,
            company,
            tier,
            parent: None,
        }
    }

    /// The parent `company` is linked to, if it is a linked company: a parent, or an
    /// `Option` of one (`None` leaves the target unlinked).
    pub fn with_parent(mut self, parent: impl Into<Option<&'a CompanyId>>) -> Target<'a> {
        self.parent = parent.into();
        self
    }

    /// The action id.
    pub const fn action(&self) -> &'a str {
        self.action
    }

    /// The company that owns the target.
    pub const fn company(&self) -> &'a CompanyId {
        self.company
    }

    /// That company's tier.
    pub const fn tier(&self) -> Tier {
        self.tier
    }

    /// The request, its action looked up in `policy` once: the decision and the
    /// audit record both read the definition found here.
    fn request(&self, policy: &'a Policy, grants: &'a [CompanyId]) -> Request<'a> {
        match policy.action(self.action) {
            Some(def) => Request::for_action(def, self.company, self.tier),
            None => Request::new(self.action, self.company, self.tier),
        }
        .with_grants(grants)
        .with_parent(self.parent)
    }
}

/// The server flow: a policy, the responses of one realm, and authentication
/// settings. Build it once and share it; every method is `&self` and sans-IO.
///
/// ```
/// use std::borrow::Cow;
/// use std::collections::HashMap;
/// use pw_auth_core::*;
/// use pw_auth_http::{Budget, Budgets, Responder, ServerFlow, ServerStore, Target};
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
///     fn budget(&mut self, c: &CompanyId) -> Option<Budget<'_>> {
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
/// let deploy = Target::new("flows.deploy", &acme, Tier::Professional);
/// let served = flow.serve([header.as_bytes()], &store, deploy, Some(&mut limits), now);
/// assert!(served.is_allowed());
/// assert_eq!(served.outcome().header("ratelimit"), Some(r#""default";r=239;t=1"#));
///
/// let publish = Target::new("blueprints.publish", &acme, Tier::Professional);
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
}

/// How many failed attempts are tolerated per client, and per username from one
/// client, before further attempts are refused unread (429 "Too Many Attempts.", with
/// `Retry-After`): 10 a minute, all at once or spread out.
pub const DEFAULT_FAILURE_QUOTA: Quota = match Quota::new(10, 60, 10) {
    Ok(q) => q,
    Err(_) => Quota::DEFAULT,
};

/// How many failed logins one username tolerates across every client before clients
/// that already failed for it are refused (see [`ServerFlow::reserve_login`]): 100 a
/// minute.
pub const DEFAULT_USERNAME_CEILING: Quota = match Quota::new(100, 60, 100) {
    Ok(q) => q,
    Err(_) => Quota::DEFAULT,
};

/// The three failure budgets one login attempt is reserved against
/// ([`ServerFlow::reserve_login`]), as the store keeps them: one per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginBudgets {
    /// The client's (every username it tries).
    pub client: LimitState,
    /// The username's, from this client.
    pub pair: LimitState,
    /// The username's, across every client (the ceiling).
    pub username: LimitState,
}

impl LoginBudgets {
    /// The budgets from the store's states in the order of the login's keys (client,
    /// username from the client, username); `None` unless there are exactly three.
    pub fn from_states(states: &[LimitState]) -> Option<LoginBudgets> {
        match *states {
            [client, pair, username] => Some(LoginBudgets {
                client,
                pair,
                username,
            }),
            _ => None,
        }
    }

    /// Writes the budgets back into the store's states, in the same order.
    pub fn store_into(&self, states: &mut [LimitState]) {
        for (slot, value) in states
            .iter_mut()
            .zip([self.client, self.pair, self.username])
        {
            *slot = value;
        }
    }
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
        }
    }

    /// The same flow tolerating `quota` failed attempts per client, and per username
    /// from one client, instead of [`DEFAULT_FAILURE_QUOTA`].
    pub fn with_failure_quota(mut self, quota: Quota) -> ServerFlow {
        self.failures = quota;
        self
    }

    /// The same flow allowing `quota` failed logins per username across every client
    /// (a ceiling for attacks spread over many addresses) instead of
    /// [`DEFAULT_USERNAME_CEILING`]; see [`ServerFlow::reserve_login`].
    pub fn with_username_ceiling(mut self, quota: Quota) -> ServerFlow {
        self.username_ceiling = quota;
        self
    }

    /// The wait before `state` admits one more attempt under `quota` at `now`, or
    /// `None` if it admits one now.
    fn wait(state: LimitState, quota: &Quota, now: OffsetDateTime) -> Option<std::time::Duration> {
        match check_limit(state, quota, now).0 {
            LimitDecision::Deny { retry_after, .. } => Some(retry_after),
            LimitDecision::Allow { .. } => None,
        }
    }

    /// Reserves one login attempt before its password is verified, charging it in
    /// advance to the three failure budgets of [`LoginBudgets`]: `None` when it is
    /// reserved (all three charged), or the time to wait when it is refused (nothing
    /// charged; answer [`ServerFlow::login_throttled`]).
    ///
    /// Run it inside the store's atomic update of the three budgets, and verify the
    /// password only after it reserved: then no number of concurrent attempts can
    /// verify more passwords than the quota allows. After a login that issued a token,
    /// give the reservation back with [`ServerFlow::release_login`]; after any other
    /// answer it stays spent, as a failure.
    ///
    /// The rule, so that strangers cannot lock an owner out:
    /// - the client's budget (every username it tries) and the budget of this
    ///   username from this client each allow the failure quota
    ///   ([`DEFAULT_FAILURE_QUOTA`]);
    /// - the username's budget across all clients is a ceiling
    ///   ([`DEFAULT_USERNAME_CEILING`]) that, once spent, refuses every client that
    ///   failed for this username within the last period and one interval (66 s with
    ///   the default quota). A client with a clean record for the username — its owner
    ///   on another address — is still let in while strangers guess, and each address
    ///   an attacker adds buys one guess a period, not a quota's worth.
    pub fn reserve_login(
        &self,
        budgets: &mut LoginBudgets,
        now: OffsetDateTime,
    ) -> Option<std::time::Duration> {
        let LoginBudgets {
            client,
            pair,
            username,
        } = budgets;
        let client_wait = Self::wait(*client, &self.failures, now);
        let pair_wait = Self::wait(*pair, &self.failures, now);
        // Clean: no failure for this username from this client in the last period
        // and one interval, i.e. its budget was already whole a period ago.
        let a_period_ago = i64::try_from(self.failures.period_secs())
            .ok()
            .map(time::Duration::seconds)
            .and_then(|p| now.checked_sub(p));
        let pair_clean =
            a_period_ago.is_some_and(|then| match check_limit(*pair, &self.failures, then).0 {
                LimitDecision::Allow { remaining, .. } => {
                    remaining.saturating_add(1) >= self.failures.burst()
                }
                LimitDecision::Deny { .. } => false,
            });
        let ceiling_wait = Self::wait(*username, &self.username_ceiling, now)
            // Over the ceiling, a client with no failure for the username still gets in.
            .filter(|_| !pair_clean);
        if let Some(wait) = [client_wait, pair_wait, ceiling_wait]
            .into_iter()
            .flatten()
            .max()
        {
            return Some(wait);
        }
        *client = check_limit(*client, &self.failures, now).1;
        *pair = check_limit(*pair, &self.failures, now).1;
        // Charged even when it is over the ceiling (the clean client's attempt): the
        // ceiling's budget then says how long strangers have been guessing.
        let (_, charged) = check_limit(*username, &self.username_ceiling, now);
        *username = charged;
        None
    }

    /// Gives back a reservation of [`ServerFlow::reserve_login`] after a login that
    /// issued a token: a right password is not a failure.
    pub fn release_login(&self, budgets: &mut LoginBudgets, now: OffsetDateTime) {
        budgets.client = refund_limit(budgets.client, &self.failures, now);
        budgets.pair = refund_limit(budgets.pair, &self.failures, now);
        budgets.username = refund_limit(budgets.username, &self.username_ceiling, now);
    }

    /// The refusal of a login that [`ServerFlow::reserve_login`] did not reserve:
    /// 429 "Too Many Attempts." with `Retry-After`, and its audit record.
    pub fn login_throttled(&self, wait: std::time::Duration, now: OffsetDateTime) -> Box<Refused> {
        Box::new(Refused {
            outcome: self.responder.too_many_requests(wait),
            audit: AuditRecord::login(&self.policy, LoginResult::Throttled, None, now),
            cause: Cause::Throttled { retry_after: wait },
        })
    }

    /// After a request failed authentication (a 401 or 400 from
    /// [`ServerFlow::authenticate`]): charges the failure to the client's failure
    /// budget, in the store's atomic update of it. `None` when it was charged (send
    /// the refusal as it is), or the time to wait when the client had already spent
    /// its budget (nothing charged; send [`ServerFlow::auth_throttled`] instead).
    ///
    /// Only failures are charged and only failures are refused: a request with a
    /// valid credential is never throttled by anyone's failures, its own client's
    /// included (so clients sharing an address behind a proxy cannot lock each other
    /// out). The client key is the caller's choice (its address, say); credentials are
    /// never a key.
    pub fn charge_auth_failure(
        &self,
        client: &mut LimitState,
        now: OffsetDateTime,
    ) -> Option<std::time::Duration> {
        let (decision, charged) = check_limit(*client, &self.failures, now);
        *client = charged;
        match decision {
            LimitDecision::Deny { retry_after, .. } => Some(retry_after),
            LimitDecision::Allow { .. } => None,
        }
    }

    /// The refusal of a request whose client spent its failure budget
    /// ([`ServerFlow::charge_auth_failure`]): 429 with `Retry-After`, and its audit
    /// record (which names `target`, when known).
    pub fn auth_throttled(
        &self,
        wait: std::time::Duration,
        target: Option<Target<'_>>,
        now: OffsetDateTime,
    ) -> Box<Refused> {
        let bare = target.map(|t| t.request(&self.policy, &[]));
        Box::new(Refused {
            outcome: self.responder.too_many_requests(wait),
            audit: AuditRecord::throttled(&self.policy, bare.as_ref(), wait, now),
            cause: Cause::Throttled { retry_after: wait },
        })
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
    /// (none, one, or several), `store` the caller's records, `target` what it asks
    /// for, `budgets` where the principal's own company's budget is found (`None`: no
    /// usage limit). The budget is charged, and updated in place, only for a request
    /// that is authenticated and allowed; store it back afterwards.
    ///
    /// This is [`ServerFlow::authenticate`] then [`ServerFlow::decide`], for callers
    /// that know the target before anyone is authenticated.
    pub fn serve<'h, I, S>(
        &self,
        authorization: I,
        store: &S,
        target: Target<'_>,
        budgets: Option<&mut dyn Budgets>,
        now: OffsetDateTime,
    ) -> Served
    where
        I: IntoIterator<Item = &'h [u8]>,
        S: ServerStore,
    {
        match self.authenticate(authorization, store, Some(target), now) {
            Ok(principal) => {
                let grants = store.grants(principal.user());
                let budget = budgets.and_then(|b| b.budget(usage_key(&principal)));
                self.decide(principal, &grants, target, budget, now)
            }
            Err(refused) => Served::Refused(*refused),
        }
    }

    /// The first half of [`ServerFlow::serve`], for servers that learn the target from
    /// the caller (its own company, or a linked one it names): parse the field lines
    /// and authenticate against `store`. A refusal (400 or 401) comes whole, with its
    /// audit record (which names `target`, when known).
    pub fn authenticate<'h, I, S>(
        &self,
        authorization: I,
        store: &S,
        target: Option<Target<'_>>,
        now: OffsetDateTime,
    ) -> Result<Principal, Box<Refused>>
    where
        I: IntoIterator<Item = &'h [u8]>,
        S: RecordStore,
    {
        // Borrowed: the secret is never copied; its digest is all authentication reads.
        let parsed = parse_authorization_fields_ref(authorization).map(|c| c.map(|c| c.digest()));
        self.authenticate_digest(parsed, store, target, now)
    }

    /// [`ServerFlow::authenticate`] for a caller that already parsed the field lines
    /// (with [`parse_authorization_fields`](crate::parse_authorization_fields), or
    /// `credential_from_headers`) to look the credential's records up first: the
    /// value is parsed once per request.
    pub fn authenticate_parsed<S: RecordStore>(
        &self,
        parsed: Result<Option<Credential>, AuthorizationError>,
        store: &S,
        target: Option<Target<'_>>,
        now: OffsetDateTime,
    ) -> Result<Principal, Box<Refused>> {
        let digest = parsed.map(|c| c.map(|c| c.digest()));
        self.authenticate_digest(digest, store, target, now)
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
        target: Option<Target<'_>>,
        now: OffsetDateTime,
    ) -> Result<Principal, Box<Refused>> {
        let unauthenticated = |failure: AuthnFailure| {
            let bare = target.map(|t| t.request(&self.policy, &[]));
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
    /// `grants`) for `target` at `now`, then charge `budget`, the budget of the
    /// principal's own company ([`usage_key`]), if the request is allowed.
    pub fn decide(
        &self,
        principal: Principal,
        grants: &[CompanyId],
        target: Target<'_>,
        budget: Option<Budget<'_>>,
        now: OffsetDateTime,
    ) -> Served {
        let request = target.request(&self.policy, grants);
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
            });
        };
        // `budget` is the principal's own company's (`usage_key`), whichever
        // credential was used and whichever company the request acts in.
        let quota = self.policy.quota(budget.tier);
        let (limit, charged) = check_limit(*budget.state, &quota, now);
        *budget.state = charged;
        match limit {
            LimitDecision::Allow { .. } => Served::Admitted(Admission {
                outcome: Outcome::proceed(rate_limit_fields(&quota, &limit).into()),
                audit: AuditRecord::decision(&self.policy, &principal, &request, decision, now),
                principal,
                decision,
                limit: Some(limit),
            }),
            LimitDecision::Deny { retry_after, .. } => Served::Refused(Refused {
                outcome: self
                    .responder
                    .over_limit_outcome(&quota, &limit, retry_after),
                audit: AuditRecord::over_limit(
                    &self.policy,
                    &principal,
                    &request,
                    retry_after,
                    now,
                ),
                cause: Cause::OverLimit {
                    principal,
                    decision,
                    limit,
                },
            }),
        }
    }

    /// The login endpoint, step one: the body, parsed. A body over
    /// [`MAX_LOGIN_BODY_LEN`] is refused with 413 naming that cap; any other bad body
    /// with 422 in the platform's validation shape.
    pub fn login_request(
        &self,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<LoginRequest, Box<Refused>> {
        LoginRequest::parse(body).map_err(|e| {
            Box::new(Refused {
                outcome: match e {
                    BodyError::TooLarge { .. } => {
                        self.responder.payload_too_large(MAX_LOGIN_BODY_LEN)
                    }
                    _ => self.responder.unprocessable(&e),
                },
                audit: AuditRecord::login(&self.policy, LoginResult::MalformedBody, None, now),
                cause: Cause::Login(LoginResult::MalformedBody),
            })
        })
    }

    /// The login endpoint, step two, after the caller looked the user up by the
    /// request's username (`user`) and verified the password against its stored hash
    /// (`password_ok`; verify against a dummy hash when there is no such user, so
    /// both take the same time). Refuses unknown users, wrong passwords, disabled
    /// users and api-users alike (401, one message); otherwise issues a token from
    /// the caller's `random` bytes (16 to 64 from a CSPRNG).
    pub fn login(
        &self,
        user: Option<&UserRecord>,
        password_ok: bool,
        random: &[u8],
        expires_in: ExpiresIn,
        now: OffsetDateTime,
    ) -> Result<LoginServed, MintError> {
        let refused = |result: LoginResult| LoginServed::Refused {
            result,
            refusal: Box::new(Refused {
                outcome: self.responder.login_refused(),
                audit: AuditRecord::login(&self.policy, result, None, now),
                cause: Cause::Login(result),
            }),
        };
        let user = match user {
            None => return Ok(refused(LoginResult::UnknownUser)),
            Some(_) if !password_ok => return Ok(refused(LoginResult::WrongPassword)),
            Some(u) if u.status == UserStatus::Disabled => {
                return Ok(refused(LoginResult::UserDisabled));
            }
            Some(u) if u.role == Role::ApiUser => return Ok(refused(LoginResult::ApiUser)),
            Some(u) => u,
        };
        let IssuedToken { token, record, .. } = issue_token(user, random, now, expires_in)?;
        // The fresh token's own principal, for the audit record.
        let principal = self
            .authenticator
            .bearer(&token, Lookup::Found(&record), Some(user), now)
            .map_err(|_| MintError::SelfCheck)?;
        Ok(LoginServed::Issued(Box::new(Issued {
            audit: AuditRecord::login(
                &self.policy,
                LoginResult::TokenIssued,
                Some(&principal),
                now,
            ),
            record,
            response: LoginResponse::new(token, expires_in),
        })))
    }
}

fn rfc3339(t: OffsetDateTime) -> serde_json::Value {
    t.format(&Rfc3339)
        .map_or(serde_json::Value::Null, serde_json::Value::String)
}

/// An API key as the key endpoints list it: id, label, company, when it was created
/// and revoked. Never the key, nor its digest.
pub fn key_json(record: &ApiKeyRecord) -> serde_json::Value {
    serde_json::json!({
        "id": record.id,
        "label": record.label.as_str(),
        "company": record.company,
        "user": record.user,
        "created_at": rfc3339(record.created_at),
        "revoked_at": record.revoked_at.map_or(serde_json::Value::Null, rfc3339),
    })
}

/// The answer to creating a key: [`key_json`] plus `"key"`, the key itself, shown
/// this once. Zeroized on drop; never log it.
pub fn created_key_body(minted: &MintedApiKey) -> Zeroizing<String> {
    let mut v = key_json(&minted.record);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "key".to_owned(),
            serde_json::Value::String(minted.key.expose_secret().to_owned()),
        );
    }
    let body = Zeroizing::new(v.to_string());
    // The copy inside the JSON value is freed with it; clear it first.
    if let Some(serde_json::Value::String(s)) = v.get_mut("key") {
        zeroize::Zeroize::zeroize(s);
    }
    body
}
