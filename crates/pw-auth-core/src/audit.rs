//! Audit records: what was decided, for whom, why, under which policy. Never a secret.

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use crate::authn::AuthnFailure;
use crate::decision::{Decision, Effect, Reason, Request};
use std::net::IpAddr;

use crate::id::{ApiKeyId, CompanyId, UserId};
use crate::policy::Policy;
use crate::principal::{AuthMethod, Principal};
use crate::role::{CustomRoleName, Role};
use crate::tier::Tier;

/// The longest action text copied into a record; longer (unknown) action ids from a
/// request are cut at a character boundary.
pub const MAX_AUDIT_ACTION_LEN: usize = 128;

/// Who made the request, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditPrincipal {
    /// The user.
    pub user: UserId,
    /// The user's own company.
    pub company: CompanyId,
    /// The user's standard role.
    pub role: Role,
    /// The custom role it acted under, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_role: Option<CustomRoleName>,
    /// How it authenticated (key or token id, never the secret).
    pub method: AuthMethod,
}

/// The version of the audit records' shape, described by `docs/audit-schema.json`. It
/// changes whenever a field is added, removed or changes meaning; a new reason kind
/// is a new version too.
pub const AUDIT_SCHEMA_VERSION: u32 = 2;

/// Serialises as [`AUDIT_SCHEMA_VERSION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(AUDIT_SCHEMA_VERSION)
    }
}

/// Why, as recorded: an authorisation reason, an authentication failure, the usage
/// limit, or a login attempt's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AuditReason {
    /// The authorisation decision's reason.
    Decision(Reason),
    /// The request was not authenticated.
    Unauthenticated(Unauthenticated),
    /// The request was allowed, but the company was over its usage limit (429).
    OverLimit(OverLimit),
    /// A login attempt.
    Login(LoginAttempt),
    /// A request refused unread because its client failed to authenticate too often
    /// (429).
    Throttled(Throttled),
    /// An API key was created (the decision to allow it is recorded before, as for
    /// every request; this record names the key made).
    KeyCreated(KeyCreated),
}

/// A key creation, as recorded: `{"kind": "key_created", "key_id": …}` — its id,
/// never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename = "key_created")]
pub struct KeyCreated {
    /// The new key's id.
    pub key_id: ApiKeyId,
}

/// A request refused for its client's failed attempts, as recorded:
/// `{"kind": "throttled", "retry_after_secs": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename = "throttled")]
pub struct Throttled {
    /// Whole seconds (rounded up) until the client may try again.
    pub retry_after_secs: u64,
}

fn whole_seconds_up(d: std::time::Duration) -> u64 {
    let secs = d.as_secs();
    if d.subsec_nanos() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    }
}

/// An allowed request refused for the usage limit, as recorded:
/// `{"kind": "over_limit", "retry_after_secs": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename = "over_limit")]
pub struct OverLimit {
    /// Whole seconds (rounded up) until one request will be admitted.
    pub retry_after_secs: u64,
}

/// How a login attempt ended, as recorded: `{"kind": "login", "result": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename = "login")]
pub struct LoginAttempt {
    /// What happened.
    pub result: LoginResult,
}

/// What became of a login attempt. Never says which part of the credentials was
/// wrong to the client; the record keeps it for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginResult {
    /// A token was issued.
    TokenIssued,
    /// The body was not a login request (422, or 413 when too large).
    MalformedBody,
    /// No user has that username.
    UnknownUser,
    /// The password did not match.
    WrongPassword,
    /// The user is disabled.
    UserDisabled,
    /// The user is an api-user, which authenticates with its key only.
    ApiUser,
    /// Refused unread (429): too many failed logins for the username or the client.
    Throttled,
}

/// An authentication failure as recorded: `{"kind": "unauthenticated", "failure": …}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename = "unauthenticated")]
pub struct Unauthenticated {
    /// What failed.
    #[serde(flatten)]
    pub failure: AuthnFailure,
}

/// One audit record, serialisable with stable field names.
///
/// ```
/// use pw_auth_core::*;
/// use time::macros::datetime;
/// let now = datetime!(2026-11-27 12:00 UTC);
/// let policy = Policy::default_policy();
/// let acme = CompanyId::new("acme")?;
/// let random = [7, 42, 1, 99, 3, 250, 18, 64, 5, 77, 120, 9, 200, 33, 8, 161];
/// let minted = mint_api_key(&acme, KeyLabel::new("erp")?, &random, now)?;
/// let p = Authenticator::default()
///     .api_key(&minted.key, Lookup::Found(&minted.record), Some(&minted.user), now)?;
/// let req = Request::new("flows.view", &acme, Tier::Standard);
/// let decision = authorize(&policy, &p, &req, now);
/// let record = AuditRecord::decision(&policy, &p, &req, decision, now);
/// let json = serde_json::to_value(&record)?;
/// assert_eq!(json["effect"], "allow");
/// assert_eq!(json["principal"]["method"]["key_id"], minted.record.id.as_str());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// The version of this record's shape ([`AUDIT_SCHEMA_VERSION`]), written first
    /// as `"schema_version"`, so that a log pipeline can tell when the shape changes.
    /// `docs/audit-schema.json` describes it.
    schema_version: SchemaVersion,
    /// When the decision was made.
    #[serde(with = "crate::stamp")]
    pub time: OffsetDateTime,
    /// Allow or deny.
    pub effect: Effect,
    /// Why.
    pub reason: AuditReason,
    /// Who, if authenticated.
    pub principal: Option<AuditPrincipal>,
    /// The action asked for, if known (cut to [`MAX_AUDIT_ACTION_LEN`]). An action of
    /// the policy shares the policy's text: recording it allocates nothing.
    pub action: Option<Arc<str>>,
    /// The company owning the target entities, if known.
    pub company: Option<CompanyId>,
    /// That company's tier, if known.
    pub tier: Option<Tier>,
    /// The policy that decided ([`Policy::id`]), sharing the policy's text.
    pub policy: Arc<str>,
    /// The client's address, as the server saw it (behind a trusted proxy, the
    /// address it forwarded for), when the server records it
    /// ([`AuditRecord::with_client`]); left out of the JSON when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<IpAddr>,
    /// For a record that stands for several alike (one client's throttled requests
    /// in one window, kept as one record), how many; left out of the JSON for a
    /// record of one request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl AuditPrincipal {
    fn of(principal: &Principal) -> AuditPrincipal {
        AuditPrincipal {
            user: principal.user().clone(),
            company: principal.company().clone(),
            role: principal.role(),
            custom_role: principal.custom_role().cloned(),
            method: principal.method().clone(),
        }
    }
}

fn cut(action: &str) -> Arc<str> {
    let mut end = action.len().min(MAX_AUDIT_ACTION_LEN);
    while !action.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    Arc::from(action.get(..end).unwrap_or(""))
}

/// The request's action as recorded: the policy's own text when it is one of the
/// policy's actions (no allocation; no second lookup for a request made from the
/// definition, as the server flow makes them), otherwise the requested text, cut.
fn recorded_action(policy: &Policy, request: &Request<'_>) -> Arc<str> {
    match request.def().or_else(|| policy.action(request.action())) {
        Some(def) => Arc::clone(def.shared_id()),
        None => cut(request.action()),
    }
}

impl AuditRecord {
    /// The version of the record's shape: [`AUDIT_SCHEMA_VERSION`].
    pub const fn schema_version(&self) -> u32 {
        AUDIT_SCHEMA_VERSION
    }

    /// The record of an authorisation decision.
    pub fn decision(
        policy: &Policy,
        principal: &Principal,
        request: &Request<'_>,
        decision: Decision,
        now: OffsetDateTime,
    ) -> AuditRecord {
        AuditRecord {
            schema_version: SchemaVersion,
            time: now,
            effect: decision.effect(),
            reason: AuditReason::Decision(decision.reason()),
            principal: Some(AuditPrincipal::of(principal)),
            action: Some(recorded_action(policy, request)),
            company: Some(request.company().clone()),
            tier: Some(request.tier()),
            policy: Arc::clone(policy.shared_id()),
            client: None,
            count: None,
        }
    }

    /// The record of a request that was allowed but refused for the company's usage
    /// limit (429), with `retry_after` rounded up to whole seconds.
    pub fn over_limit(
        policy: &Policy,
        principal: &Principal,
        request: &Request<'_>,
        retry_after: std::time::Duration,
        now: OffsetDateTime,
    ) -> AuditRecord {
        let retry_after_secs = whole_seconds_up(retry_after);
        AuditRecord {
            schema_version: SchemaVersion,
            time: now,
            effect: Effect::Deny,
            reason: AuditReason::OverLimit(OverLimit { retry_after_secs }),
            principal: Some(AuditPrincipal::of(principal)),
            action: Some(recorded_action(policy, request)),
            company: Some(request.company().clone()),
            tier: Some(request.tier()),
            policy: Arc::clone(policy.shared_id()),
            client: None,
            count: None,
        }
    }

    /// The record of a login attempt. `user` is the user whose token was issued (with
    /// the token's principal), and `None` for a refused attempt: the username tried is
    /// never recorded, since a password is sometimes typed into it.
    pub fn login(
        policy: &Policy,
        result: LoginResult,
        user: Option<&Principal>,
        now: OffsetDateTime,
    ) -> AuditRecord {
        let effect = match result {
            LoginResult::TokenIssued => Effect::Allow,
            _ => Effect::Deny,
        };
        AuditRecord {
            schema_version: SchemaVersion,
            time: now,
            effect,
            reason: AuditReason::Login(LoginAttempt { result }),
            principal: user.map(AuditPrincipal::of),
            action: Some(Arc::from("login")),
            company: user.map(|p| p.company().clone()),
            tier: None,
            policy: Arc::clone(policy.shared_id()),
            client: None,
            count: None,
        }
    }

    /// The record of a request refused unread, before authentication, because its
    /// client failed to authenticate too often; with what is known of what it asked.
    pub fn throttled(
        policy: &Policy,
        request: Option<&Request<'_>>,
        retry_after: std::time::Duration,
        now: OffsetDateTime,
    ) -> AuditRecord {
        let reason = AuditReason::Throttled(Throttled {
            retry_after_secs: whole_seconds_up(retry_after),
        });
        AuditRecord::refused_unread(policy, reason, request, now)
    }

    /// A refusal before anyone was authenticated: no principal, and what is known of
    /// the request.
    fn refused_unread(
        policy: &Policy,
        reason: AuditReason,
        request: Option<&Request<'_>>,
        now: OffsetDateTime,
    ) -> AuditRecord {
        AuditRecord {
            schema_version: SchemaVersion,
            time: now,
            effect: Effect::Deny,
            reason,
            principal: None,
            action: request.map(|r| recorded_action(policy, r)),
            company: request.map(|r| r.company().clone()),
            tier: request.map(Request::tier),
            policy: Arc::clone(policy.shared_id()),
            client: None,
            count: None,
        }
    }

    /// The record of an API key created for `company` by `principal`: its id.
    pub fn key_created(
        policy: &Policy,
        principal: &Principal,
        key_id: &ApiKeyId,
        company: &CompanyId,
        now: OffsetDateTime,
    ) -> AuditRecord {
        AuditRecord {
            schema_version: SchemaVersion,
            time: now,
            effect: Effect::Allow,
            reason: AuditReason::KeyCreated(KeyCreated {
                key_id: key_id.clone(),
            }),
            principal: Some(AuditPrincipal::of(principal)),
            action: policy
                .action("api-keys.create")
                .map(|def| Arc::clone(def.shared_id())),
            company: Some(company.clone()),
            tier: None,
            policy: Arc::clone(policy.shared_id()),
            client: None,
            count: None,
        }
    }

    /// The same record, naming the client's address.
    #[must_use]
    pub fn with_client(mut self, client: IpAddr) -> AuditRecord {
        self.client = Some(client);
        self
    }

    /// Whether it records a request refused for its client's failures (a throttled
    /// request or login): the kind a server may keep as one record per client and
    /// window, with a [`count`](AuditRecord::count).
    pub fn is_throttled(&self) -> bool {
        matches!(
            self.reason,
            AuditReason::Throttled(_)
                | AuditReason::Login(LoginAttempt {
                    result: LoginResult::Throttled
                })
        )
    }

    /// The record of a request that failed authentication, with what is known of
    /// what it asked for.
    pub fn unauthenticated(
        policy: &Policy,
        failure: AuthnFailure,
        request: Option<&Request<'_>>,
        now: OffsetDateTime,
    ) -> AuditRecord {
        let reason = AuditReason::Unauthenticated(Unauthenticated { failure });
        AuditRecord::refused_unread(policy, reason, request, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::CompanyId;
    use crate::principal::testing::{NOW, principal};
    use std::time::Duration;

    #[test]
    fn over_limit_records_round_retry_after_up_to_whole_seconds() {
        let policy = Policy::default_policy();
        let acme = CompanyId::new("acme").unwrap();
        let p = principal(Role::Manager, &acme);
        let req = Request::new("flows.view", &acme, Tier::Professional);
        let secs = |d| match AuditRecord::over_limit(&policy, &p, &req, d, NOW).reason {
            AuditReason::OverLimit(o) => o.retry_after_secs,
            other => panic!("{other:?}"),
        };
        assert_eq!(secs(Duration::ZERO), 0);
        assert_eq!(secs(Duration::from_secs(2)), 2);
        assert_eq!(secs(Duration::from_nanos(2_000_000_001)), 3);
        assert_eq!(secs(Duration::from_millis(250)), 1);
        let r = AuditRecord::over_limit(&policy, &p, &req, Duration::from_secs(1), NOW);
        assert_eq!(r.effect, Effect::Deny);
        assert_eq!(r.principal.map(|a| a.user), Some(p.user().clone()));
    }

    #[test]
    fn only_an_issued_token_is_an_allowed_login() {
        let policy = Policy::default_policy();
        let acme = CompanyId::new("acme").unwrap();
        let ann = principal(Role::Administrator, &acme);
        let issued = AuditRecord::login(&policy, LoginResult::TokenIssued, Some(&ann), NOW);
        assert_eq!(issued.effect, Effect::Allow);
        assert_eq!(issued.company.as_ref(), Some(&acme));
        assert_eq!(issued.action.as_deref(), Some("login"));
        for result in [
            LoginResult::MalformedBody,
            LoginResult::UnknownUser,
            LoginResult::WrongPassword,
            LoginResult::UserDisabled,
            LoginResult::ApiUser,
        ] {
            let r = AuditRecord::login(&policy, result, None, NOW);
            assert_eq!(r.effect, Effect::Deny, "{result:?}");
            assert_eq!((r.principal, r.company), (None, None));
            let json =
                serde_json::to_value(AuditRecord::login(&policy, result, None, NOW)).unwrap();
            assert_eq!(json["reason"]["kind"], "login");
        }
    }

    #[test]
    fn long_actions_are_cut_on_a_char_boundary() {
        let s = "é".repeat(100);
        let c = cut(&s);
        assert!(c.len() <= MAX_AUDIT_ACTION_LEN);
        assert_eq!(c.chars().count(), 64);
        assert_eq!(&*cut("flows.view"), "flows.view");
    }

    /// A policy's action is recorded by sharing the policy's text; an unknown one is
    /// recorded as asked (cut), from an id or from a definition alike.
    #[test]
    fn known_actions_share_the_policys_text() {
        let policy = Policy::default_policy();
        let acme = CompanyId::new("acme").unwrap();
        let p = principal(Role::Manager, &acme);
        let def = policy.action("flows.view").unwrap();
        for req in [
            Request::new("flows.view", &acme, Tier::Standard),
            Request::for_action(def, &acme, Tier::Standard),
        ] {
            let d = crate::authorize(&policy, &p, &req, NOW);
            let r = AuditRecord::decision(&policy, &p, &req, d, NOW);
            let action = r.action.unwrap();
            assert!(Arc::ptr_eq(&action, def.shared_id()));
            assert!(Arc::ptr_eq(&r.policy, policy.shared_id()));
        }
        let unknown = Request::new("flows.fly", &acme, Tier::Standard);
        let r = AuditRecord::unauthenticated(&policy, AuthnFailure::Missing, Some(&unknown), NOW);
        assert_eq!(r.action.as_deref(), Some("flows.fly"));
    }

    /// Only refusals for a client's failures are throttled records: a throttled
    /// request and a throttled login, not any other login result or refusal.
    #[test]
    fn throttled_records_are_exactly_the_throttled_ones() {
        let policy = Policy::default_policy();
        assert!(AuditRecord::throttled(&policy, None, Duration::from_secs(6), NOW).is_throttled());
        assert!(AuditRecord::login(&policy, LoginResult::Throttled, None, NOW).is_throttled());
        for result in [
            LoginResult::TokenIssued,
            LoginResult::MalformedBody,
            LoginResult::UnknownUser,
            LoginResult::WrongPassword,
            LoginResult::UserDisabled,
            LoginResult::ApiUser,
        ] {
            assert!(
                !AuditRecord::login(&policy, result, None, NOW).is_throttled(),
                "{result:?}"
            );
        }
        let other = AuditRecord::unauthenticated(&policy, AuthnFailure::Unknown, None, NOW);
        assert!(!other.is_throttled());
        assert_eq!(other.client, None);
        let ip: std::net::IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(other.with_client(ip).client, Some(ip));
    }

    /// Every kind of record the crate writes — every reason, every authentication
    /// failure, every login result, over-limit and throttled, with an API-key, a bearer
    /// and a custom-role principal, with and without a request, at an ordinary and an
    /// extreme time — is valid against `docs/audit-schema.json`; the schema is not
    /// vacuous: records it must refuse are refused.
    #[test]
    fn every_record_kind_matches_the_published_schema() {
        use crate::authn::AuthnFailure;
        use crate::decision::{Decision, Request};
        use crate::principal::testing::{api_key_principal, with_custom_role};
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../docs/audit-schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let check = |record: &AuditRecord| {
            let v = serde_json::to_value(record).unwrap();
            let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{v}: {errors:?}");
            v
        };
        let policy = Policy::default_policy();
        let acme = CompanyId::new("acme").unwrap();
        let req = Request::new("flows.view", &acme, Tier::Professional);
        let principals = [
            principal(Role::Manager, &acme),
            api_key_principal(
                crate::id::UserId::new("erp").unwrap(),
                acme.clone(),
                crate::id::ApiKeyId::new("key_1").unwrap(),
            ),
            with_custom_role(
                principal(Role::User, &acme),
                crate::role::CustomRoleName::new("ops").unwrap(),
            )
            .unwrap(),
        ];
        let times = [NOW, time::macros::datetime!(-0001-01-01 0:00 UTC)];
        let mut n = 0;
        for at in times {
            for p in &principals {
                for reason in crate::decision::examples() {
                    check(&AuditRecord::decision(
                        &policy,
                        p,
                        &req,
                        Decision::of(reason),
                        at,
                    ));
                    n += 1;
                }
                check(&AuditRecord::over_limit(
                    &policy,
                    p,
                    &req,
                    Duration::from_millis(1500),
                    at,
                ));
                check(&AuditRecord::login(
                    &policy,
                    LoginResult::TokenIssued,
                    Some(p),
                    at,
                ));
            }
            let failures = [
                AuthnFailure::Missing,
                AuthnFailure::Empty,
                AuthnFailure::UnsupportedScheme {
                    scheme: Some("Basic"),
                },
                AuthnFailure::UnsupportedScheme { scheme: None },
                AuthnFailure::MultipleValues { count: 2 },
                AuthnFailure::Malformed,
                AuthnFailure::Unknown,
                AuthnFailure::Revoked { at },
                AuthnFailure::Deleted,
                AuthnFailure::Expired { at },
                AuthnFailure::NotYetValid { from: at },
                AuthnFailure::UserDisabled,
                AuthnFailure::RecordMismatch,
            ];
            for f in failures {
                check(&AuditRecord::unauthenticated(&policy, f, Some(&req), at));
                check(&AuditRecord::unauthenticated(&policy, f, None, at));
            }
            for result in [
                LoginResult::TokenIssued,
                LoginResult::MalformedBody,
                LoginResult::UnknownUser,
                LoginResult::WrongPassword,
                LoginResult::UserDisabled,
                LoginResult::ApiUser,
                LoginResult::Throttled,
            ] {
                check(&AuditRecord::login(&policy, result, None, at));
            }
            check(&AuditRecord::throttled(
                &policy,
                Some(&req),
                Duration::from_secs(6),
                at,
            ));
            check(&AuditRecord::throttled(&policy, None, Duration::ZERO, at));
            for client in ["192.0.2.1", "2001:db8::1"] {
                let mut r = AuditRecord::throttled(&policy, None, Duration::ZERO, at)
                    .with_client(client.parse().unwrap());
                r.count = Some(3000);
                let v = check(&r);
                assert_eq!(
                    (v["client"].as_str(), v["count"].as_u64()),
                    (Some(client), Some(3000))
                );
            }
            for p in &principals {
                let key = crate::id::ApiKeyId::new("key_2").unwrap();
                let v = check(&AuditRecord::key_created(&policy, p, &key, &acme, at));
                assert_eq!(
                    v["reason"],
                    serde_json::json!({"kind": "key_created", "key_id": "key_2"})
                );
                assert_eq!(v["action"], "api-keys.create");
            }
        }
        assert!(n >= 100);
        // Records the schema must refuse.
        let record = AuditRecord::login(&policy, LoginResult::UnknownUser, None, NOW);
        assert_eq!(record.schema_version(), AUDIT_SCHEMA_VERSION);
        let good = check(&record);
        assert_eq!(good["schema_version"], record.schema_version());
        let mut bad = Vec::new();
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove("schema_version");
        bad.push(v);
        let mut v = good.clone();
        v["schema_version"] = 1.into();
        bad.push(v);
        let mut v = good.clone();
        v["client"] = "not-an-address".into();
        bad.push(v);
        let mut v = good.clone();
        v["count"] = 0.into();
        bad.push(v);
        let mut v = good.clone();
        v["reason"]["result"] = "maybe".into();
        bad.push(v);
        let mut v = good.clone();
        v["reason"] = serde_json::json!({"kind": "new_kind"});
        bad.push(v);
        let mut v = good.clone();
        v["token"] = "pwt_secret".into();
        bad.push(v);
        let mut v = good;
        v["time"] = "2026-11-27 12:00".into();
        bad.push(v);
        for v in bad {
            assert!(!validator.is_valid(&v), "{v}");
        }
    }
}
