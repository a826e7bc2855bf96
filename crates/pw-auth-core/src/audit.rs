//! Audit records: what was decided, for whom, why, under which policy. Never a secret.

use serde::Serialize;
use time::OffsetDateTime;

use crate::authn::AuthnFailure;
use crate::decision::{Decision, Effect, Reason, Request};
use crate::id::{CompanyId, UserId};
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

/// Why, as recorded: an authorisation reason, or an authentication failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AuditReason {
    /// The authorisation decision's reason.
    Decision(Reason),
    /// The request was not authenticated.
    Unauthenticated(Unauthenticated),
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
    /// When the decision was made.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Allow or deny.
    pub effect: Effect,
    /// Why.
    pub reason: AuditReason,
    /// Who, if authenticated.
    pub principal: Option<AuditPrincipal>,
    /// The action asked for, if known (cut to [`MAX_AUDIT_ACTION_LEN`]).
    pub action: Option<String>,
    /// The company owning the target entities, if known.
    pub company: Option<CompanyId>,
    /// That company's tier, if known.
    pub tier: Option<Tier>,
    /// The policy that decided ([`Policy::id`]).
    pub policy: String,
}

fn cut(action: &str) -> String {
    let mut end = action.len().min(MAX_AUDIT_ACTION_LEN);
    while !action.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    action.get(..end).unwrap_or("").to_owned()
}

impl AuditRecord {
    /// The record of an authorisation decision.
    pub fn decision(
        policy: &Policy,
        principal: &Principal,
        request: &Request<'_>,
        decision: Decision,
        now: OffsetDateTime,
    ) -> AuditRecord {
        AuditRecord {
            time: now,
            effect: decision.effect(),
            reason: AuditReason::Decision(decision.reason()),
            principal: Some(AuditPrincipal {
                user: principal.user().clone(),
                company: principal.company().clone(),
                role: principal.role(),
                custom_role: principal.custom_role().cloned(),
                method: principal.method().clone(),
            }),
            action: Some(cut(request.action())),
            company: Some(request.company().clone()),
            tier: Some(request.tier()),
            policy: policy.id().to_owned(),
        }
    }

    /// The record of a request that failed authentication, with what is known of
    /// what it asked for.
    pub fn unauthenticated(
        policy: &Policy,
        failure: AuthnFailure,
        request: Option<&Request<'_>>,
        now: OffsetDateTime,
    ) -> AuditRecord {
        AuditRecord {
            time: now,
            effect: Effect::Deny,
            reason: AuditReason::Unauthenticated(Unauthenticated { failure }),
            principal: None,
            action: request.map(|r| cut(r.action())),
            company: request.map(|r| r.company().clone()),
            tier: request.map(Request::tier),
            policy: policy.id().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_actions_are_cut_on_a_char_boundary() {
        let s = "é".repeat(100);
        let c = cut(&s);
        assert!(c.len() <= MAX_AUDIT_ACTION_LEN);
        assert_eq!(c.chars().count(), 64);
        assert_eq!(cut("flows.view"), "flows.view");
    }
}
