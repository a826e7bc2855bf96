//! The decision to change a user's standard role: [`RoleChange`] in, a
//! [`RoleChangeDecision`] out, by the same company rules as a request.

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;

use crate::id::CompanyId;
use crate::principal::Principal;
use crate::role::{Level, Role};
use crate::user::UserRecord;

use super::*;

/// A request to change a user's standard role, with the same company context as a
/// [`Request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleChange<'a> {
    target: &'a UserRecord,
    to: Role,
    parent: Option<&'a CompanyId>,
    grants: &'a [CompanyId],
}

impl<'a> RoleChange<'a> {
    /// Change `target`'s role to `to`.
    pub const fn new(target: &'a UserRecord, to: Role) -> RoleChange<'a> {
        RoleChange {
            target,
            to,
            parent: None,
            grants: &[],
        }
    }

    /// The parent company the target's company is linked to, if any: a parent, or an
    /// `Option` of one.
    pub fn with_parent(mut self, parent: impl Into<Option<&'a CompanyId>>) -> RoleChange<'a> {
        self.parent = parent.into();
        self
    }

    /// The actor's grants for linked companies.
    pub const fn with_grants(mut self, grants: &'a [CompanyId]) -> RoleChange<'a> {
        self.grants = grants;
        self
    }

    /// The user whose role changes.
    pub const fn target(&self) -> &'a UserRecord {
        self.target
    }

    /// The new role.
    pub const fn to(&self) -> Role {
        self.to
    }
}

/// Why a role change was allowed or refused. Like [`Reason`], deliberately not
/// `#[non_exhaustive]`; [`RoleChangeReason::kind`] is the `kind` of its serialised
/// form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoleChangeReason {
    /// Allowed: the actor may change the target's role from `from` to `to`.
    Allowed {
        /// The target's current role.
        from: Role,
        /// The new role.
        to: Role,
    },
    /// The actor's bearer token expired before the change was asked for.
    CredentialExpired {
        /// When the token expired.
        #[serde(with = "crate::stamp")]
        at: OffsetDateTime,
    },
    /// Nobody in a company may make an administrator; only platform support.
    NoOneMakesAdministrator,
    /// An api-user's role belongs to its API key and never changes; no user becomes
    /// an api-user but by minting a key.
    ApiUserRoleIsFixed,
    /// The target's company is neither the actor's own nor linked to it.
    OtherCompany,
    /// The target's company is linked to the actor's, but an api-user acts only in
    /// its own company.
    ApiUserOwnCompanyOnly,
    /// The target's company is linked to the actor's, but the actor holds no grant.
    MissingGrant,
    /// The actor holds a grant for the linked company, but is below manager.
    LinkedRoleTooLow {
        /// The actor's role.
        role: Role,
    },
    /// A custom role never carries into a linked company.
    CustomRoleInLinkedCompany,
    /// The actor may not change roles at all (below manager, or a custom role).
    CannotChangeRoles {
        /// The actor's role.
        role: Role,
    },
    /// The target's current role is not below what the actor may change.
    TargetOutranksActor {
        /// The target's current role.
        target: Role,
    },
    /// The new role is above the highest the actor may grant.
    AboveActorsGrant {
        /// The new role.
        to: Role,
        /// The highest role the actor may grant.
        max: Role,
    },
}

impl RoleChangeReason {
    /// The effect this reason leads to.
    pub const fn effect(&self) -> Effect {
        match self {
            RoleChangeReason::Allowed { .. } => Effect::Allow,
            _ => Effect::Deny,
        }
    }

    /// The reason's stable code: the `kind` field of its serialised form.
    pub const fn kind(&self) -> &'static str {
        match self {
            RoleChangeReason::Allowed { .. } => "allowed",
            RoleChangeReason::CredentialExpired { .. } => "credential_expired",
            RoleChangeReason::NoOneMakesAdministrator => "no_one_makes_administrator",
            RoleChangeReason::ApiUserRoleIsFixed => "api_user_role_is_fixed",
            RoleChangeReason::OtherCompany => "other_company",
            RoleChangeReason::ApiUserOwnCompanyOnly => "api_user_own_company_only",
            RoleChangeReason::MissingGrant => "missing_grant",
            RoleChangeReason::LinkedRoleTooLow { .. } => "linked_role_too_low",
            RoleChangeReason::CustomRoleInLinkedCompany => "custom_role_in_linked_company",
            RoleChangeReason::CannotChangeRoles { .. } => "cannot_change_roles",
            RoleChangeReason::TargetOutranksActor { .. } => "target_outranks_actor",
            RoleChangeReason::AboveActorsGrant { .. } => "above_actors_grant",
        }
    }
}

/// A sentence a support engineer can read out, with no "allowed"/"denied" prefix.
impl fmt::Display for RoleChangeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RoleChangeReason::Allowed { from, to } => {
                write!(f, "the actor may change a {from} to {to}")
            }
            RoleChangeReason::CredentialExpired { .. } => {
                f.write_str("the actor's token has expired")
            }
            RoleChangeReason::NoOneMakesAdministrator => {
                f.write_str("nobody in a company may make an administrator, only platform support")
            }
            RoleChangeReason::ApiUserRoleIsFixed => {
                f.write_str("an api-user's role belongs to its api key and never changes")
            }
            RoleChangeReason::OtherCompany => {
                f.write_str("the target's company is neither the actor's own nor linked to it")
            }
            RoleChangeReason::ApiUserOwnCompanyOnly => {
                f.write_str("an api key acts only in its own company, never in a linked one")
            }
            RoleChangeReason::MissingGrant => f.write_str(
                "the target's company is linked to the actor's, but the actor holds no grant for it",
            ),
            RoleChangeReason::LinkedRoleTooLow { role } => write!(
                f,
                "acting in a linked company needs manager or above; the actor is {role}"
            ),
            RoleChangeReason::CustomRoleInLinkedCompany => {
                f.write_str("a custom role does not carry into a linked company")
            }
            RoleChangeReason::CannotChangeRoles { role } => write!(
                f,
                "changing roles needs manager or above; the actor is {role}"
            ),
            RoleChangeReason::TargetOutranksActor { target } => {
                write!(f, "the actor may not change the role of a {target}")
            }
            RoleChangeReason::AboveActorsGrant { to, max } => {
                write!(f, "the actor may grant at most {max}, not {to}")
            }
        }
    }
}

/// The outcome of a role-change check: allow or deny, always with its reason.
#[must_use = "a decision does nothing until its effect is checked"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoleChangeDecision {
    reason: RoleChangeReason,
}

impl RoleChangeDecision {
    /// Allow or deny.
    pub const fn effect(&self) -> Effect {
        self.reason.effect()
    }

    /// Whether the change is allowed.
    pub const fn is_allowed(&self) -> bool {
        matches!(self.effect(), Effect::Allow)
    }

    /// Why.
    pub const fn reason(&self) -> RoleChangeReason {
        self.reason
    }
}

/// Decides whether `actor` may change a user's role at `now` (the platform's role
/// table, `docs/platform.md` §3): an administrator may promote up to manager and
/// demote any non-administrator; a manager (or an api-user, which acts at manager
/// level) may promote up to user and demote anyone below manager; nobody else may
/// change roles; nobody in a company may make an administrator.
///
/// ```
/// use pw_auth_core::*;
/// use time::macros::datetime;
/// let now = datetime!(2026-11-27 12:00 UTC);
/// let acme = CompanyId::new("acme")?;
/// let ann = UserRecord::active(UserId::new("ann")?, acme.clone(), Role::Administrator);
/// let random = [9, 81, 3, 27, 243, 11, 121, 5, 25, 125, 7, 49, 1, 2, 4, 8];
/// let issued = issue_token(&ann, &random, now, ExpiresIn::DEFAULT)?;
/// let admin = Authenticator::default()
///     .bearer(&issued.token, Lookup::Found(&issued.record), Some(&ann), now)?;
///
/// let bob = UserRecord::active(UserId::new("bob")?, acme.clone(), Role::User);
/// assert!(authorize_role_change(&admin, &RoleChange::new(&bob, Role::Manager), now).is_allowed());
/// assert_eq!(
///     authorize_role_change(&admin, &RoleChange::new(&bob, Role::Administrator), now).reason(),
///     RoleChangeReason::NoOneMakesAdministrator,
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a decision does nothing until its effect is checked"]
pub fn authorize_role_change(
    actor: &Principal,
    change: &RoleChange<'_>,
    now: OffsetDateTime,
) -> RoleChangeDecision {
    RoleChangeDecision {
        reason: evaluate_role_change(actor, change, now),
    }
}

pub(super) fn evaluate_role_change(
    actor: &Principal,
    change: &RoleChange<'_>,
    now: OffsetDateTime,
) -> RoleChangeReason {
    if let Some(at) = actor.expired_at(now) {
        return RoleChangeReason::CredentialExpired { at };
    }
    let (from, to) = (change.target.role, change.to);
    if to == Role::Administrator {
        return RoleChangeReason::NoOneMakesAdministrator;
    }
    if to == Role::ApiUser || from == Role::ApiUser {
        return RoleChangeReason::ApiUserRoleIsFixed;
    }
    if let Err(n) = standing(actor, &change.target.company, change.parent, change.grants) {
        return n.into();
    }
    if actor.custom_role().is_some() || actor.level() < Level::Manager {
        return RoleChangeReason::CannotChangeRoles { role: actor.role() };
    }
    let (max, may_change) = if actor.level() >= Level::Administrator {
        (Role::Manager, from != Role::Administrator)
    } else {
        (Role::User, from.level() < Level::Manager)
    };
    if !may_change {
        return RoleChangeReason::TargetOutranksActor { target: from };
    }
    if to.level() > max.level() {
        return RoleChangeReason::AboveActorsGrant { to, max };
    }
    RoleChangeReason::Allowed { from, to }
}
