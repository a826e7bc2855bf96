//! Authorisation: a principal, a request and a compiled policy in; a [`Decision`] out.
//! A decision is a value with a reason, never an error and never a panic.

use serde::Serialize;
use time::OffsetDateTime;

use crate::policy::{Policy, Requirement};
use crate::principal::Principal;
use crate::role::{Level, Role};
use crate::tier::{Feature, Tier};

mod reason;
mod request;
mod role_change;
mod standing;
#[cfg(test)]
mod tests;

pub use reason::Reason;
pub use request::{Request, usage_key};
pub use role_change::{RoleChange, RoleChangeDecision, RoleChangeReason, authorize_role_change};
pub use standing::Standing;
use standing::standing;

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The request may proceed.
    Allow,
    /// The request must be refused.
    Deny,
}

/// The outcome of an authorisation check: allow or deny, always with its reason.
/// The effect is derived from the reason, so the two can never disagree.
#[must_use = "a decision does nothing until its effect is checked"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    reason: Reason,
}

impl Decision {
    /// A decision for `reason`, for the crate's tests.
    #[cfg(test)]
    pub(crate) const fn of(reason: Reason) -> Decision {
        Decision { reason }
    }

    /// Allow or deny.
    pub const fn effect(&self) -> Effect {
        self.reason.effect()
    }

    /// Whether the request is allowed.
    pub const fn is_allowed(&self) -> bool {
        matches!(self.effect(), Effect::Allow)
    }

    /// Why.
    pub const fn reason(&self) -> Reason {
        self.reason
    }
}

/// Decides whether `principal` may perform `request` at `now`. Anything not
/// explicitly allowed is denied; a bearer principal whose token has expired by
/// `now` is denied with [`Reason::CredentialExpired`], whatever it asks. Allocates
/// nothing.
///
/// ```
/// use pw_auth_core::*;
/// use time::macros::datetime;
/// let now = datetime!(2026-11-27 12:00 UTC);
/// let policy = Policy::default_policy();
/// let acme = CompanyId::new("acme")?;
///
/// // A principal comes out of authentication only.
/// let random = [7, 42, 1, 99, 3, 250, 18, 64, 5, 77, 120, 9, 200, 33, 8, 161];
/// let minted = mint_api_key(&acme, KeyLabel::new("erp")?, &random, now)?;
/// let key_user = Authenticator::default()
///     .api_key(&minted.key, Lookup::Found(&minted.record), Some(&minted.user), now)?;
///
/// let flows = authorize(&policy, &key_user, &Request::new("flows.deploy", &acme, Tier::Professional), now);
/// assert!(flows.is_allowed());
///
/// let blueprints = authorize(&policy, &key_user, &Request::new("blueprints.publish", &acme, Tier::Professional), now);
/// assert_eq!(blueprints.reason(), Reason::AdministratorOnly { role: Role::ApiUser });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a decision does nothing until its effect is checked"]
pub fn authorize(
    policy: &Policy,
    principal: &Principal,
    request: &Request<'_>,
    now: OffsetDateTime,
) -> Decision {
    Decision {
        reason: evaluate(policy, principal, request, now),
    }
}

fn evaluate(
    policy: &Policy,
    principal: &Principal,
    request: &Request<'_>,
    now: OffsetDateTime,
) -> Reason {
    if let Some(at) = principal.expired_at(now) {
        return Reason::CredentialExpired { at };
    }
    let found = match request.def {
        Some(def) => Some(def).filter(|def| policy.owns(def)),
        None => policy.action(request.action),
    };
    let Some(action) = found else {
        return Reason::UnknownAction;
    };
    let standing = match standing(principal, request.company, request.parent, request.grants) {
        Ok(s) => s,
        Err(n) => return n.into(),
    };
    match standing {
        Standing::Member if action.grant_required() => return Reason::GrantRequired,
        Standing::Grant if action.own_company_only() => return Reason::OwnCompanyOnly,
        Standing::Member | Standing::Grant => {}
    }
    if let Some(name) = principal.custom_role() {
        // The company's own definition, if the caller handed over the one of this
        // name of this company (the principal's: custom roles act only there).
        let own = request
            .custom_role
            .filter(|r| r.name() == name && r.company() == request.company);
        return evaluate_custom(policy, name, own, action, request.tier);
    }
    let role = principal.role();
    match action.requirement() {
        Requirement::Nobody => return Reason::PlatformSupportOnly,
        Requirement::AtLeast(Level::Administrator) if role.level() < Level::Administrator => {
            return Reason::AdministratorOnly { role };
        }
        Requirement::AtLeast(required) if role.level() < required => {
            return Reason::RoleTooLow { required, role };
        }
        Requirement::AtLeast(_) => {}
    }
    if action.human_only() && role == Role::ApiUser {
        return Reason::HumanOnly;
    }
    if let Some(feature) = action.feature()
        && !request.tier.includes(feature)
    {
        return Reason::TierExcludes {
            tier: request.tier,
            feature,
        };
    }
    // Last: a key's scope only narrows what would otherwise be allowed, so every
    // other refusal keeps its reason.
    if let Some(scope) = principal.key_scope()
        && !scope.allows(action)
    {
        return Reason::OutsideKeyScope {
            action_kind: action.kind(),
        };
    }
    Reason::Allowed {
        min_role: action.requirement(),
        feature: action.feature(),
        standing,
    }
}

/// A principal under a custom role: exactly the role's toggles — the company's own
/// definition when there is one, else the policy's —, on a tier with the role
/// manager, never administrator-only or platform-only actions.
fn evaluate_custom(
    policy: &Policy,
    name: &crate::role::CustomRoleName,
    own: Option<&crate::policy::CompanyRole>,
    action: &crate::policy::ActionDef,
    tier: Tier,
) -> Reason {
    let allows = match (own, policy.custom_role(name)) {
        (Some(own), _) => own.allows(action.area(), action.kind()),
        (None, Some(role)) => role.allows(action),
        (None, None) => return Reason::UnknownCustomRole,
    };
    if !tier.includes(Feature::RoleManager) {
        return Reason::TierExcludes {
            tier,
            feature: Feature::RoleManager,
        };
    }
    if !action.requirement().admits(Level::Manager) {
        return Reason::NotGrantableByCustomRole;
    }
    if !allows {
        return Reason::CustomRoleLacks {
            action_kind: action.kind(),
        };
    }
    if let Some(feature) = action.feature()
        && !tier.includes(feature)
    {
        return Reason::TierExcludes { tier, feature };
    }
    Reason::AllowedByCustomRole {
        action_kind: action.kind(),
        feature: action.feature(),
    }
}

/// One example of every reason (two or three where data changes the sentence), for
/// the crate's tests.
#[cfg(test)]
pub(crate) fn examples() -> Vec<Reason> {
    use crate::policy::ActionKind;
    use crate::tier::Feature;
    use Reason::*;
    vec![
        Allowed {
            min_role: Requirement::AtLeast(Level::Manager),
            feature: Some(Feature::Advanced),
            standing: Standing::Grant,
        },
        Allowed {
            min_role: Requirement::AtLeast(Level::ReadOnly),
            feature: None,
            standing: Standing::Member,
        },
        Allowed {
            min_role: Requirement::Nobody,
            feature: None,
            standing: Standing::Member,
        },
        AllowedByCustomRole {
            action_kind: ActionKind::Edit,
            feature: Some(Feature::Advanced),
        },
        AllowedByCustomRole {
            action_kind: ActionKind::View,
            feature: None,
        },
        CredentialExpired {
            at: crate::principal::testing::EXPIRES_AT,
        },
        UnknownAction,
        OtherCompany,
        ApiUserOwnCompanyOnly,
        MissingGrant,
        LinkedRoleTooLow { role: Role::User },
        CustomRoleInLinkedCompany,
        GrantRequired,
        OwnCompanyOnly,
        PlatformSupportOnly,
        AdministratorOnly {
            role: Role::ApiUser,
        },
        HumanOnly,
        OutsideKeyScope {
            action_kind: ActionKind::Edit,
        },
        RoleTooLow {
            required: Level::Manager,
            role: Role::ReadOnly,
        },
        UnknownCustomRole,
        CustomRoleLacks {
            action_kind: ActionKind::Edit,
        },
        NotGrantableByCustomRole,
        TierExcludes {
            tier: Tier::Standard,
            feature: Feature::Advanced,
        },
    ]
}
