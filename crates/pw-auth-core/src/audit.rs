//! Audit records: what was decided, for whom, why, under which policy. Never a secret.
//!
//! The record is [`AuditRecord`] (also at the crate root, with [`LoginResult`] and
//! [`AUDIT_SCHEMA_VERSION`]); the parts it is made of are here: who
//! ([`AuditPrincipal`]), why ([`AuditReason`] and its payloads). Its JSON form is
//! pinned by `docs/audit-schema.json`.

use std::sync::Arc;

mod decision_id;

pub use decision_id::{DecisionId, DecisionIdError};

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
pub const AUDIT_SCHEMA_VERSION: u32 = 6;

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
    /// A user was created or changed by an administration request, or a role change
    /// was refused by the platform's role rules (the decision to allow the request
    /// itself is recorded before, as for every request).
    UserChanged(UserChanged),
    /// A platform operator's command on the records (the reference server's `admin`
    /// command line), with no principal: who ran it is the operating system's to
    /// record.
    OperatorCommand(OperatorCommand),
    /// A parent company's member given, or withdrawn, access to a linked company by
    /// an administration request (the decision to allow the request is recorded
    /// before, as for every request).
    GrantChanged(GrantChanged),
    /// A call to the standard OAuth 2.0 token revocation (RFC 7009) or introspection
    /// (RFC 7662) endpoint by a client that authenticated with its username and
    /// password (a failed client authentication is recorded as a login's is).
    OAuth(OAuthCall),
    /// One of a company's own custom roles created, edited or deleted by an
    /// administration request (the decision to allow the request is recorded before,
    /// as for every request).
    CustomRoleChanged(CustomRoleChanged),
}

impl AuditReason {
    /// The reason's stable code: the `kind` field of its serialised form
    /// (`unauthenticated`, `over_limit`, `login`, `throttled`, `key_created`, or a
    /// decision's own [`Reason::kind`], e.g. `allowed`, `role_too_low`). Use it for
    /// metrics and logs.
    pub const fn kind(&self) -> &'static str {
        match self {
            AuditReason::Decision(reason) => reason.kind(),
            AuditReason::Unauthenticated(_) => "unauthenticated",
            AuditReason::OverLimit(_) => "over_limit",
            AuditReason::Login(_) => "login",
            AuditReason::Throttled(_) => "throttled",
            AuditReason::KeyCreated(_) => "key_created",
            AuditReason::UserChanged(_) => "user_changed",
            AuditReason::OperatorCommand(_) => "operator_command",
            AuditReason::GrantChanged(_) => "grant_changed",
            AuditReason::OAuth(_) => "oauth",
            AuditReason::CustomRoleChanged(_) => "custom_role_changed",
        }
    }

    /// What the kind alone does not say, as a stable code: an authentication
    /// failure's [`AuthnFailure::kind`], a login's [`LoginResult::as_str`], or which
    /// budget refused an over-limit request ([`LimitedBy::as_str`](crate::LimitedBy::as_str)).
    pub const fn detail(&self) -> Option<&'static str> {
        match self {
            AuditReason::Unauthenticated(u) => Some(u.failure.kind()),
            AuditReason::Login(l) => Some(l.result.as_str()),
            AuditReason::UserChanged(u) => Some(match u.refused {
                Some(refused) => refused,
                None => u.change.as_str(),
            }),
            AuditReason::OperatorCommand(c) => Some(c.command.as_str()),
            AuditReason::OverLimit(o) => Some(o.limited_by.as_str()),
            AuditReason::OAuth(o) => Some(o.result.as_str()),
            AuditReason::GrantChanged(g) => Some(if g.given { "given" } else { "withdrawn" }),
            AuditReason::CustomRoleChanged(c) => Some(c.change.as_str()),
            _ => None,
        }
    }
}

/// What an administration request did to a user, or why a role change was refused,
/// as recorded: `{"kind": "user_changed", "user": …, "change": …, "role": …,
/// "refused": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename = "user_changed")]
pub struct UserChanged {
    /// The user.
    pub user: UserId,
    /// What was done (or, when refused, asked).
    pub change: UserChange,
    /// The user's role after the change (asked for, when refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The custom role assigned ([`UserChange::CustomRoleAssigned`]) or taken away
    /// ([`UserChange::CustomRoleRemoved`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_role: Option<CustomRoleName>,
    /// Why the role rules refused it ([`RoleChangeReason::kind`](crate::RoleChangeReason::kind)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<&'static str>,
}

/// A platform operator's command, as recorded: `{"kind": "operator_command",
/// "command": …, "user": …}` (the user it acted on, when it acted on one; the
/// record's `company` is the company it acted on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename = "operator_command")]
pub struct OperatorCommand {
    /// What was done.
    pub command: OperatorAction,
    /// The user it acted on, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
}

/// What a platform operator's command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorAction {
    /// Created a company with its first administrator.
    CreateCompany,
    /// Changed a company's tier.
    SetTier,
    /// Linked a company to a parent.
    Link,
    /// Unlinked a company from its parent (every grant for it withdrawn).
    Unlink,
    /// Gave a parent's member a grant for a linked company.
    Grant,
    /// Withdrew a grant.
    WithdrawGrant,
    /// Reset a user's password (every token of theirs revoked).
    ResetPassword,
    /// Disabled a company (every user of it).
    DisableCompany,
}

impl OperatorAction {
    /// Every action, in declaration order.
    pub const ALL: [OperatorAction; 8] = [
        OperatorAction::CreateCompany,
        OperatorAction::SetTier,
        OperatorAction::Link,
        OperatorAction::Unlink,
        OperatorAction::Grant,
        OperatorAction::WithdrawGrant,
        OperatorAction::ResetPassword,
        OperatorAction::DisableCompany,
    ];

    /// Its stable code: its serialised form.
    pub const fn as_str(self) -> &'static str {
        match self {
            OperatorAction::CreateCompany => "create_company",
            OperatorAction::SetTier => "set_tier",
            OperatorAction::Link => "link",
            OperatorAction::Unlink => "unlink",
            OperatorAction::Grant => "grant",
            OperatorAction::WithdrawGrant => "withdraw_grant",
            OperatorAction::ResetPassword => "reset_password",
            OperatorAction::DisableCompany => "disable_company",
        }
    }
}

/// What an administration request does to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserChange {
    /// Created.
    Created,
    /// Given another role.
    RoleChanged,
    /// Given a new username or password (a new password revokes their tokens).
    Updated,
    /// Disabled: every credential of theirs is refused from the next request on.
    Disabled,
    /// Enabled again.
    Enabled,
    /// Given one of the company's custom roles: from the next request on, their
    /// permissions are exactly its toggles.
    CustomRoleAssigned,
    /// Their custom role taken away: their standard role applies again.
    CustomRoleRemoved,
}

impl UserChange {
    /// Its stable code: its serialised form.
    pub const fn as_str(self) -> &'static str {
        match self {
            UserChange::Created => "created",
            UserChange::RoleChanged => "role_changed",
            UserChange::Updated => "updated",
            UserChange::Disabled => "disabled",
            UserChange::Enabled => "enabled",
            UserChange::CustomRoleAssigned => "custom_role_assigned",
            UserChange::CustomRoleRemoved => "custom_role_removed",
        }
    }
}

/// A key creation, as recorded: `{"kind": "key_created", "key_id": …}` — its id,
/// never the key — with `"replaces": …` for a rotation's successor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename = "key_created")]
pub struct KeyCreated {
    /// The new key's id.
    pub key_id: ApiKeyId,
    /// For a rotation, the key the new one succeeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<ApiKeyId>,
}

/// A grant given or withdrawn, as recorded: `{"kind": "grant_changed", "user": …,
/// "linked_company": …, "change": "given", "until": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename = "grant_changed")]
pub struct GrantChanged {
    /// The parent company's member.
    pub user: UserId,
    /// The linked company the grant is for.
    pub linked_company: CompanyId,
    /// Given (or given again, with a new end) rather than withdrawn.
    #[serde(serialize_with = "given_or_withdrawn", rename = "change")]
    pub given: bool,
    /// When a given grant ends; none: never.
    #[serde(with = "crate::stamp::option", skip_serializing_if = "Option::is_none")]
    pub until: Option<OffsetDateTime>,
}

/// One of a company's own custom roles created, edited or deleted, as recorded:
/// `{"kind": "custom_role_changed", "name": …, "change": "created", "view": […],
/// "edit": […]}` — the toggles it has after the change (none for a deletion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename = "custom_role_changed")]
pub struct CustomRoleChanged {
    /// The role's name.
    pub name: CustomRoleName,
    /// What was done.
    pub change: CustomRoleChange,
    /// The areas whose view actions it allows after the change.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub view: Box<[Box<str>]>,
    /// The areas whose edit actions it allows after the change.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub edit: Box<[Box<str>]>,
}

impl CustomRoleChanged {
    /// The record of `role` created, or edited to what it is now.
    pub fn of(role: &crate::CompanyRole, change: CustomRoleChange) -> CustomRoleChanged {
        CustomRoleChanged {
            name: role.name().clone(),
            change,
            view: role.view().map(Box::from).collect(),
            edit: role.edit().map(Box::from).collect(),
        }
    }
}

/// What an administration request did to a company's custom role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomRoleChange {
    /// Created.
    Created,
    /// Its toggles replaced: the users holding it act under the new ones from their
    /// next request on.
    Edited,
    /// Deleted (it was held by nobody).
    Deleted,
}

impl CustomRoleChange {
    /// Its stable code: its serialised form.
    pub const fn as_str(self) -> &'static str {
        match self {
            CustomRoleChange::Created => "created",
            CustomRoleChange::Edited => "edited",
            CustomRoleChange::Deleted => "deleted",
        }
    }
}

fn given_or_withdrawn<S: serde::Serializer>(given: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if *given { "given" } else { "withdrawn" })
}

/// A call to a standard OAuth 2.0 endpoint by an authenticated client, as recorded:
/// `{"kind": "oauth", "operation": "revoke", "client": …, "token_id": …, "result":
/// "revoked"}` — the token's id when the client may know of it, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename = "oauth")]
pub struct OAuthCall {
    /// Which endpoint.
    pub operation: OAuthOperation,
    /// The user the client authenticated as.
    pub client: UserId,
    /// The token asked about, when it is one the client may revoke or introspect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<crate::id::TokenId>,
    /// What came of it.
    pub result: OAuthResult,
}

/// The standard OAuth 2.0 endpoints a client may call about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthOperation {
    /// Token revocation, RFC 7009.
    Revoke,
    /// Token introspection, RFC 7662.
    Introspect,
}

/// What came of an OAuth 2.0 revocation or introspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthResult {
    /// The token was revoked.
    Revoked,
    /// Nothing to revoke: no such token, one of another client, or revoked already
    /// (RFC 7009 answers 200 alike).
    NotRevoked,
    /// The token is active.
    Active,
    /// The token is not active, or not one the client may introspect.
    Inactive,
}

impl OAuthResult {
    /// The stable code, as serialised.
    pub const fn as_str(self) -> &'static str {
        match self {
            OAuthResult::Revoked => "revoked",
            OAuthResult::NotRevoked => "not_revoked",
            OAuthResult::Active => "active",
            OAuthResult::Inactive => "inactive",
        }
    }
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
    /// Which budget refused it: the company's, the API key's own, or both.
    pub limited_by: crate::limit::LimitedBy,
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

impl LoginResult {
    /// The result's stable code: its serialised form, e.g. `wrong_password`.
    pub const fn as_str(self) -> &'static str {
        match self {
            LoginResult::TokenIssued => "token_issued",
            LoginResult::MalformedBody => "malformed_body",
            LoginResult::UnknownUser => "unknown_user",
            LoginResult::WrongPassword => "wrong_password",
            LoginResult::UserDisabled => "user_disabled",
            LoginResult::ApiUser => "api_user",
            LoginResult::Throttled => "throttled",
        }
    }
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
    /// The decision's id ([`DecisionId`]), when the server gives it one
    /// ([`AuditRecord::with_decision_id`]); the answer carries the same id. Left out of
    /// the JSON when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<DecisionId>,
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
            decision_id: None,
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

    /// The record of a request that was allowed but refused for a usage limit (429):
    /// the company's, its API key's own, or both (`limited_by`), with `retry_after`
    /// rounded up to whole seconds.
    pub fn over_limit(
        policy: &Policy,
        principal: &Principal,
        request: &Request<'_>,
        retry_after: std::time::Duration,
        limited_by: crate::limit::LimitedBy,
        now: OffsetDateTime,
    ) -> AuditRecord {
        let retry_after_secs = whole_seconds_up(retry_after);
        AuditRecord {
            schema_version: SchemaVersion,
            decision_id: None,
            time: now,
            effect: Effect::Deny,
            reason: AuditReason::OverLimit(OverLimit {
                retry_after_secs,
                limited_by,
            }),
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
            decision_id: None,
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
            decision_id: None,
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
        let reason = AuditReason::KeyCreated(KeyCreated {
            key_id: key_id.clone(),
            replaces: None,
        });
        let action = policy
            .action("api-keys.create")
            .map(|def| Arc::clone(def.shared_id()));
        AuditRecord::administration(
            policy,
            principal,
            action,
            company,
            Effect::Allow,
            reason,
            now,
        )
    }

    /// The record of what an administration request of `principal` under `action`
    /// did in `company` (the decision to allow the request is recorded before, as for
    /// every request).
    fn administration(
        policy: &Policy,
        principal: &Principal,
        action: Option<Arc<str>>,
        company: &CompanyId,
        effect: Effect,
        reason: AuditReason,
        now: OffsetDateTime,
    ) -> AuditRecord {
        AuditRecord {
            schema_version: SchemaVersion,
            decision_id: None,
            time: now,
            effect,
            reason,
            principal: Some(AuditPrincipal::of(principal)),
            action,
            company: Some(company.clone()),
            tier: None,
            policy: Arc::clone(policy.shared_id()),
            client: None,
            count: None,
        }
    }

    /// `action` as a record names it: the policy's own text when it defines it (shared),
    /// else the text itself, cut to [`MAX_AUDIT_ACTION_LEN`].
    fn action_named(policy: &Policy, action: &str) -> Option<Arc<str>> {
        Some(match policy.action(action) {
            Some(def) => Arc::clone(def.shared_id()),
            None => cut(action),
        })
    }

    /// The record of a grant given or withdrawn by `principal` (the parent company's
    /// administrator, acting in `company`, its own), under `linked-companies.grant`.
    pub fn grant_changed(
        policy: &Policy,
        principal: &Principal,
        company: &CompanyId,
        change: GrantChanged,
        now: OffsetDateTime,
    ) -> AuditRecord {
        let action = policy
            .action("linked-companies.grant")
            .map(|def| Arc::clone(def.shared_id()));
        let reason = AuditReason::GrantChanged(change);
        AuditRecord::administration(
            policy,
            principal,
            action,
            company,
            Effect::Allow,
            reason,
            now,
        )
    }

    /// The record of one of `company`'s own custom roles created, edited or deleted by
    /// `principal` (an administrator of `company`, acting in it) through `action`
    /// (`roles.create` or `roles.edit` in the default policy).
    pub fn custom_role_changed(
        policy: &Policy,
        principal: &Principal,
        action: &str,
        company: &CompanyId,
        change: CustomRoleChanged,
        now: OffsetDateTime,
    ) -> AuditRecord {
        let action = AuditRecord::action_named(policy, action);
        let reason = AuditReason::CustomRoleChanged(change);
        AuditRecord::administration(
            policy,
            principal,
            action,
            company,
            Effect::Allow,
            reason,
            now,
        )
    }

    /// The record of a client's call to the OAuth 2.0 revocation or introspection
    /// endpoint (`call`), the client being a user of `company`. No principal (the
    /// client authenticated with its password, not a credential) and no action (no
    /// policy action guards these endpoints: a client acts on its own tokens, or on
    /// its company's at manager level, `docs/server.md`).
    pub fn oauth(
        policy: &Policy,
        call: OAuthCall,
        company: &CompanyId,
        now: OffsetDateTime,
    ) -> AuditRecord {
        AuditRecord {
            schema_version: SchemaVersion,
            decision_id: None,
            time: now,
            effect: Effect::Allow,
            reason: AuditReason::OAuth(call),
            principal: None,
            action: None,
            company: Some(company.clone()),
            tier: None,
            policy: Arc::clone(policy.shared_id()),
            client: None,
            count: None,
        }
    }

    /// The record of a key rotation for `company` by `principal`: the successor's id,
    /// and the id of the key it `replaces` (which retires after its grace period).
    pub fn key_rotated(
        policy: &Policy,
        principal: &Principal,
        key_id: &ApiKeyId,
        replaces: &ApiKeyId,
        company: &CompanyId,
        now: OffsetDateTime,
    ) -> AuditRecord {
        let mut record = AuditRecord::key_created(policy, principal, key_id, company, now);
        record.reason = AuditReason::KeyCreated(KeyCreated {
            key_id: key_id.clone(),
            replaces: Some(replaces.clone()),
        });
        record
    }

    /// The record of what `principal`'s request for `action` (an action of `policy`)
    /// did to `user` of `company`: done (allowed), or, with `refused`, refused by the
    /// platform's role rules (denied).
    pub fn user_changed(
        policy: &Policy,
        principal: &Principal,
        action: &str,
        company: &CompanyId,
        change: UserChanged,
        now: OffsetDateTime,
    ) -> AuditRecord {
        let effect = match change.refused {
            Some(_) => Effect::Deny,
            None => Effect::Allow,
        };
        let action = AuditRecord::action_named(policy, action);
        let reason = AuditReason::UserChanged(change);
        AuditRecord::administration(policy, principal, action, company, effect, reason, now)
    }

    /// The record of a platform operator's `command` on `company` (and `user`, when
    /// it acted on one): allowed, with no principal and no action — an operator acts
    /// on the records, outside the policy, which names here only the policy in force.
    pub fn operator_command(
        policy: &Policy,
        command: OperatorAction,
        company: &CompanyId,
        user: Option<&UserId>,
        now: OffsetDateTime,
    ) -> AuditRecord {
        AuditRecord {
            schema_version: SchemaVersion,
            decision_id: None,
            time: now,
            effect: Effect::Allow,
            reason: AuditReason::OperatorCommand(OperatorCommand {
                command,
                user: user.cloned(),
            }),
            principal: None,
            action: None,
            company: Some(company.clone()),
            tier: None,
            policy: Arc::clone(policy.shared_id()),
            client: None,
            count: None,
        }
    }

    /// The same record, with the decision's id (the server draws it; the answer
    /// carries it too).
    #[must_use]
    pub fn with_decision_id(mut self, id: DecisionId) -> AuditRecord {
        self.decision_id = Some(id);
        self
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
mod tests;
