//! What the guard decided, for the layer that logs or counts requests.

use pw_auth_core::{ApiKeyId, AuditRecord, AuthMethod, CompanyId, DecisionId, Effect, UserId};

/// What the guard decided about one request, in its answer's extensions: every
/// answer the guard made (a refusal) or let through (the handler's) carries one, so
/// that a logging or metrics layer around the router can say who asked and why the
/// request went as it did, without reading the audit log. A 503 for a failed store
/// carries [`Unavailable`](crate::Unavailable) instead.
///
/// It holds stable codes and ids only: never a credential, never a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// Allowed or denied.
    pub effect: Effect,
    /// The reason's stable code ([`AuditReason::kind`](pw_auth_core::audit::AuditReason::kind)):
    /// `allowed`, `role_too_low`, `unauthenticated`, `over_limit`, `throttled`, … or
    /// `bad_request` for a request refused before it could be decided (an `X-Company`
    /// that names no company).
    pub kind: &'static str,
    /// What the kind alone does not say: an authentication failure's code (`revoked`,
    /// `unknown`, …) or a login's result.
    pub detail: Option<&'static str>,
    /// The authenticated user, if authentication succeeded.
    pub user: Option<UserId>,
    /// That user's own company.
    pub company: Option<CompanyId>,
    /// The company the request asked to act in, when known.
    pub acting_in: Option<CompanyId>,
    /// The decision's id, when the guard gives decisions one
    /// ([`PwAuthBuilder::decision_ids`](crate::PwAuthBuilder::decision_ids)).
    pub decision_id: Option<DecisionId>,
    /// The API key the request authenticated with, if it did with one (its id).
    pub key: Option<ApiKeyId>,
}

impl Verdict {
    /// The verdict an audit record states.
    pub fn of(record: &AuditRecord) -> Verdict {
        Verdict {
            effect: record.effect,
            kind: record.reason.kind(),
            detail: record.reason.detail(),
            user: record.principal.as_ref().map(|p| p.user.clone()),
            company: record.principal.as_ref().map(|p| p.company.clone()),
            acting_in: record.company.clone(),
            decision_id: record.decision_id,
            key: record.principal.as_ref().and_then(|p| match &p.method {
                AuthMethod::ApiKey { key_id } => Some(key_id.clone()),
                AuthMethod::Bearer { .. } => None,
            }),
        }
    }

    /// A request refused before it could be decided (a malformed header the server
    /// reads besides the credential), by `user` of `company`.
    pub(crate) fn bad_request(user: &UserId, company: &CompanyId) -> Verdict {
        Verdict {
            effect: Effect::Deny,
            kind: "bad_request",
            detail: None,
            user: Some(user.clone()),
            company: Some(company.clone()),
            acting_in: None,
            decision_id: None,
            key: None,
        }
    }
}
