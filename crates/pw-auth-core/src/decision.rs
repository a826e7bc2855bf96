//! Authorisation: a principal, a request and a compiled policy in; a [`Decision`] out.
//! A decision is a value with a reason, never an error and never a panic.

use std::fmt;

use serde::Serialize;

use crate::id::CompanyId;
use crate::policy::{ActionKind, Policy, Requirement};
use crate::principal::Principal;
use crate::role::{Level, Role};
use crate::tier::{Feature, Tier};
use crate::user::UserRecord;

/// What is asked: an action on entities owned by a company, with the context the
/// caller looked up for it.
///
/// ```
/// use pw_auth_core::{CompanyId, Request, Tier};
/// let child = CompanyId::new("acme-eu")?;
/// let parent = CompanyId::new("acme")?;
/// let grants = [child.clone()];
/// let req = Request::new("flows.view", &child, Tier::Professional)
///     .with_parent(&parent)
///     .with_grants(&grants);
/// assert_eq!(req.action(), "flows.view");
/// # Ok::<(), pw_auth_core::IdError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    action: &'a str,
    company: &'a CompanyId,
    tier: Tier,
    parent: Option<&'a CompanyId>,
    grants: &'a [CompanyId],
}

impl<'a> Request<'a> {
    /// A request to perform `action` on entities owned by `company`, whose
    /// subscription tier is `tier`.
    pub const fn new(action: &'a str, company: &'a CompanyId, tier: Tier) -> Request<'a> {
        Request {
            action,
            company,
            tier,
            parent: None,
            grants: &[],
        }
    }

    /// The parent company `company` is linked to, if it is a linked (child) company.
    pub const fn with_parent(mut self, parent: &'a CompanyId) -> Request<'a> {
        self.parent = Some(parent);
        self
    }

    /// The linked companies the principal holds an explicit grant for.
    pub const fn with_grants(mut self, grants: &'a [CompanyId]) -> Request<'a> {
        self.grants = grants;
        self
    }

    /// The action id.
    pub const fn action(&self) -> &'a str {
        self.action
    }

    /// The company that owns the target entities.
    pub const fn company(&self) -> &'a CompanyId {
        self.company
    }

    /// That company's tier.
    pub const fn tier(&self) -> Tier {
        self.tier
    }

    /// That company's parent, if it is linked to one.
    pub const fn parent(&self) -> Option<&'a CompanyId> {
        self.parent
    }

    /// The principal's grants for linked companies.
    pub const fn grants(&self) -> &'a [CompanyId] {
        self.grants
    }
}

/// The company whose usage allowance a request spends: the one that owns the target,
/// whichever credential the principal used (patchworks-auth.md §1: the same limits
/// apply to API keys and tokens, per company). Key [`crate::LimitState`] by it.
pub const fn usage_key<'a>(request: &Request<'a>) -> &'a CompanyId {
    request.company
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The request may proceed.
    Allow,
    /// The request must be refused.
    Deny,
}

/// How the principal stands in the request's company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// It is the principal's own company.
    Member,
    /// It is a company linked to the principal's own, entered by explicit grant.
    Grant,
}

/// Why a decision was made: the rule that allowed, or the requirement that failed.
/// Checks run in this order, and the first that fails is the reason: action, company,
/// role, tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// Allowed: the action's rule admits the principal's role, in a company where it
    /// stands as a member or by grant, and the tier includes any feature it needs.
    Allowed {
        /// The action's role requirement.
        min_role: Requirement,
        /// The tier feature the action needs, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        feature: Option<Feature>,
        /// How the principal stands in the company.
        standing: Standing,
    },
    /// The action id is not in the policy.
    UnknownAction,
    /// The company is neither the principal's own nor a company linked to it.
    OtherCompany,
    /// The company is linked to the principal's, but the principal holds no grant
    /// for it.
    MissingGrant,
    /// The principal holds a grant for the linked company, but its role is below
    /// manager, the least a linked company admits.
    LinkedRoleTooLow {
        /// The principal's role.
        role: Role,
    },
    /// The action is only allowed by grant, in a linked company.
    GrantRequired,
    /// Nobody in a company may do this; only platform support.
    PlatformSupportOnly,
    /// Only an administrator may do this.
    AdministratorOnly {
        /// The principal's role.
        role: Role,
    },
    /// The principal's role is below the action's requirement.
    RoleTooLow {
        /// The level required.
        required: Level,
        /// The principal's role.
        role: Role,
    },
    /// The company's tier does not include the feature the action needs.
    TierExcludes {
        /// The company's tier.
        tier: Tier,
        /// The feature needed.
        feature: Feature,
    },
    /// Allowed: the principal's custom role toggles this kind of action on the
    /// action's area, and the tier includes the role manager (and any feature).
    AllowedByCustomRole {
        /// Whether the action views or edits.
        action_kind: ActionKind,
        /// The tier feature the action needs, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        feature: Option<Feature>,
    },
    /// The principal's custom role is not in the policy.
    UnknownCustomRole,
    /// The principal's custom role does not toggle this kind of action on this area.
    CustomRoleLacks {
        /// Whether the action views or edits.
        action_kind: ActionKind,
    },
    /// A custom role never grants administrator-only or platform-support-only actions.
    NotGrantableByCustomRole,
    /// A custom role never carries into a linked company.
    CustomRoleInLinkedCompany,
    /// Allowed: the actor may change the target's role from `from` to `to`.
    RoleChangeAllowed {
        /// The target's current role.
        from: Role,
        /// The new role.
        to: Role,
    },
    /// Nobody in a company may make an administrator; only platform support.
    NoOneMakesAdministrator,
    /// An api-user's role belongs to its API key and never changes; no user becomes
    /// an api-user but by minting a key.
    ApiUserRoleIsFixed,
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

impl Reason {
    /// The effect this reason leads to.
    pub const fn effect(&self) -> Effect {
        match self {
            Reason::Allowed { .. }
            | Reason::AllowedByCustomRole { .. }
            | Reason::RoleChangeAllowed { .. } => Effect::Allow,
            _ => Effect::Deny,
        }
    }
}

/// A sentence a support engineer can read out: why the request was allowed or not.
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::Allowed {
                min_role,
                feature,
                standing,
            } => {
                match min_role {
                    Requirement::AtLeast(l) => write!(f, "allowed: the action requires {l} or above")?,
                    Requirement::Nobody => f.write_str("allowed")?,
                }
                if let Some(feature) = feature {
                    write!(f, " and the `{feature}` feature, which the tier includes")?;
                }
                match standing {
                    Standing::Member => Ok(()),
                    Standing::Grant => f.write_str(", in a linked company entered by grant"),
                }
            }
            Reason::UnknownAction => f.write_str("denied: the action is not in the policy"),
            Reason::OtherCompany => {
                f.write_str("denied: the company is neither the principal's own nor linked to it")
            }
            Reason::MissingGrant => f.write_str(
                "denied: the company is linked to the principal's, but the principal holds no grant for it",
            ),
            Reason::LinkedRoleTooLow { role } => write!(
                f,
                "denied: acting in a linked company needs manager or above; the principal is {role}"
            ),
            Reason::GrantRequired => {
                f.write_str("denied: the action is only allowed in a linked company, by grant")
            }
            Reason::PlatformSupportOnly => {
                f.write_str("denied: nobody in a company may do this, only platform support")
            }
            Reason::AdministratorOnly { role } => write!(
                f,
                "denied: only an administrator may do this; the principal is {role}"
            ),
            Reason::RoleTooLow { required, role } => write!(
                f,
                "denied: the action requires {required} or above; the principal is {role}"
            ),
            Reason::TierExcludes { tier, feature } => write!(
                f,
                "denied: the `{tier}` tier does not include the `{feature}` feature"
            ),
            Reason::AllowedByCustomRole {
                action_kind,
                feature,
            } => {
                let kind = match action_kind {
                    ActionKind::View => "view",
                    ActionKind::Edit => "edit",
                };
                write!(f, "allowed: the custom role toggles {kind} on this area")?;
                match feature {
                    Some(feature) => write!(f, " and the tier includes the `{feature}` feature"),
                    None => Ok(()),
                }
            }
            Reason::UnknownCustomRole => {
                f.write_str("denied: the principal's custom role is not in the policy")
            }
            Reason::CustomRoleLacks { action_kind } => {
                let kind = match action_kind {
                    ActionKind::View => "view",
                    ActionKind::Edit => "edit",
                };
                write!(f, "denied: the custom role does not toggle {kind} on this area")
            }
            Reason::NotGrantableByCustomRole => f.write_str(
                "denied: a custom role never grants administrator-only or platform-only actions",
            ),
            Reason::CustomRoleInLinkedCompany => {
                f.write_str("denied: a custom role does not carry into a linked company")
            }
            Reason::RoleChangeAllowed { from, to } => {
                write!(f, "allowed: the actor may change a {from} to {to}")
            }
            Reason::NoOneMakesAdministrator => f.write_str(
                "denied: nobody in a company may make an administrator, only platform support",
            ),
            Reason::ApiUserRoleIsFixed => f.write_str(
                "denied: an api-user's role belongs to its api key and never changes",
            ),
            Reason::CannotChangeRoles { role } => write!(
                f,
                "denied: changing roles needs manager or above; the actor is {role}"
            ),
            Reason::TargetOutranksActor { target } => write!(
                f,
                "denied: the actor may not change the role of a {target}"
            ),
            Reason::AboveActorsGrant { to, max } => write!(
                f,
                "denied: the actor may grant at most {max}, not {to}"
            ),
        }
    }
}

/// The outcome of an authorisation check: allow or deny, always with its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    reason: Reason,
}

impl Decision {
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

/// Decides whether `principal` may perform `request`. Anything not explicitly allowed
/// is denied. Allocates nothing.
///
/// ```
/// use pw_auth_core::*;
/// use time::macros::datetime;
/// let policy = Policy::default_policy();
/// let acme = CompanyId::new("acme")?;
/// let key_user = Principal::api_key(UserId::new("api-user_1")?, acme.clone(), ApiKeyId::new("key_1")?);
///
/// let flows = authorize(&policy, &key_user, &Request::new("flows.deploy", &acme, Tier::Professional));
/// assert!(flows.is_allowed());
///
/// let blueprints = authorize(&policy, &key_user, &Request::new("blueprints.publish", &acme, Tier::Professional));
/// assert_eq!(blueprints.reason(), Reason::AdministratorOnly { role: Role::ApiUser });
/// # Ok::<(), IdError>(())
/// ```
pub fn authorize(policy: &Policy, principal: &Principal, request: &Request<'_>) -> Decision {
    Decision {
        reason: evaluate(policy, principal, request),
    }
}

/// How the principal stands in `company`, or why it has no standing there. Shared by
/// every decision, so that tenant isolation is decided in one place.
fn standing(
    principal: &Principal,
    company: &CompanyId,
    parent: Option<&CompanyId>,
    grants: &[CompanyId],
) -> Result<Standing, Reason> {
    if company == principal.company() {
        return Ok(Standing::Member);
    }
    if parent != Some(principal.company()) {
        return Err(Reason::OtherCompany);
    }
    if !grants.contains(company) {
        return Err(Reason::MissingGrant);
    }
    if principal.custom_role().is_some() {
        return Err(Reason::CustomRoleInLinkedCompany);
    }
    if principal.level() < Level::Manager {
        return Err(Reason::LinkedRoleTooLow {
            role: principal.role(),
        });
    }
    Ok(Standing::Grant)
}

fn evaluate(policy: &Policy, principal: &Principal, request: &Request<'_>) -> Reason {
    let Some(action) = policy.action(request.action).and_then(|a| policy.def(a)) else {
        return Reason::UnknownAction;
    };
    let standing = match standing(principal, request.company, request.parent, request.grants) {
        Ok(s) => s,
        Err(reason) => return reason,
    };
    if action.grant_required() && standing != Standing::Grant {
        return Reason::GrantRequired;
    }
    if let Some(name) = principal.custom_role() {
        return evaluate_custom(policy, name, action, request.tier);
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
    if let Some(feature) = action.feature()
        && !request.tier.includes(feature)
    {
        return Reason::TierExcludes {
            tier: request.tier,
            feature,
        };
    }
    Reason::Allowed {
        min_role: action.requirement(),
        feature: action.feature(),
        standing,
    }
}

/// A principal under a custom role: exactly the role's toggles, on a tier with the
/// role manager, never administrator-only or platform-only actions.
fn evaluate_custom(
    policy: &Policy,
    name: &crate::role::CustomRoleName,
    action: &crate::policy::ActionDef,
    tier: Tier,
) -> Reason {
    let Some(role) = policy.custom_role(name) else {
        return Reason::UnknownCustomRole;
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
    if !role.allows(action) {
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

    /// The parent company the target's company is linked to, if any.
    pub const fn with_parent(mut self, parent: &'a CompanyId) -> RoleChange<'a> {
        self.parent = Some(parent);
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

/// Decides whether `actor` may change a user's role (patchworks-auth.md §3): an
/// administrator may promote up to manager and demote any non-administrator; a
/// manager (or an api-user, which acts at manager level) may promote up to user and
/// demote anyone below manager; nobody else may change roles; nobody in a company
/// may make an administrator.
///
/// ```
/// use pw_auth_core::*;
/// use time::macros::datetime;
/// let acme = CompanyId::new("acme")?;
/// let admin = Principal::bearer(UserId::new("ann")?, acme.clone(), Role::Administrator, TokenId::new("t")?, datetime!(2026-11-28 0:00 UTC));
/// let bob = UserRecord::active(UserId::new("bob")?, acme.clone(), Role::User);
/// assert!(authorize_role_change(&admin, &RoleChange::new(&bob, Role::Manager)).is_allowed());
/// assert_eq!(
///     authorize_role_change(&admin, &RoleChange::new(&bob, Role::Administrator)).reason(),
///     Reason::NoOneMakesAdministrator,
/// );
/// # Ok::<(), IdError>(())
/// ```
pub fn authorize_role_change(actor: &Principal, change: &RoleChange<'_>) -> Decision {
    Decision {
        reason: evaluate_role_change(actor, change),
    }
}

fn evaluate_role_change(actor: &Principal, change: &RoleChange<'_>) -> Reason {
    let (from, to) = (change.target.role, change.to);
    if to == Role::Administrator {
        return Reason::NoOneMakesAdministrator;
    }
    if to == Role::ApiUser || from == Role::ApiUser {
        return Reason::ApiUserRoleIsFixed;
    }
    if let Err(reason) = standing(actor, &change.target.company, change.parent, change.grants) {
        return reason;
    }
    if actor.custom_role().is_some() || actor.level() < Level::Manager {
        return Reason::CannotChangeRoles { role: actor.role() };
    }
    let (max, may_change) = if actor.level() >= Level::Administrator {
        (Role::Manager, from != Role::Administrator)
    } else {
        (Role::User, from.level() < Level::Manager)
    };
    if !may_change {
        return Reason::TargetOutranksActor { target: from };
    }
    if to.level() > max.level() {
        return Reason::AboveActorsGrant { to, max };
    }
    Reason::RoleChangeAllowed { from, to }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{ApiKeyId, TokenId, UserId};
    use time::macros::datetime;

    fn company(s: &str) -> CompanyId {
        CompanyId::new(s).unwrap()
    }

    fn bearer(role: Role, home: &str) -> Principal {
        Principal::bearer(
            UserId::new("u").unwrap(),
            company(home),
            role,
            TokenId::new("t").unwrap(),
            datetime!(2026-11-28 12:00 UTC),
        )
    }

    #[test]
    fn the_seed_cases() {
        let p = Policy::default_policy();
        let acme = company("acme");
        let req = |a| Request::new(a, &acme, Tier::Professional);
        let admin = bearer(Role::Administrator, "acme");
        let key = Principal::api_key(
            UserId::new("k").unwrap(),
            acme.clone(),
            ApiKeyId::new("k").unwrap(),
        );
        assert!(authorize(&p, &admin, &req("blueprints.build")).is_allowed());
        assert_eq!(
            authorize(&p, &key, &req("blueprints.build")).reason(),
            Reason::AdministratorOnly {
                role: Role::ApiUser
            }
        );
        assert!(authorize(&p, &key, &req("flows.create")).is_allowed());
    }

    #[test]
    fn every_deny_reason() {
        let p = Policy::default_policy();
        let acme = company("acme");
        let child = company("acme-eu");
        let grants = [child.clone()];
        let manager = bearer(Role::Manager, "acme");
        let user = bearer(Role::User, "acme");
        let d = |who: &Principal, r: Request<'_>| authorize(&p, who, &r).reason();
        let pro = Tier::Professional;

        assert_eq!(
            d(&manager, Request::new("flows.fly", &acme, pro)),
            Reason::UnknownAction
        );
        assert_eq!(
            d(&manager, Request::new("flows.view", &child, pro)),
            Reason::OtherCompany
        );
        assert_eq!(
            d(
                &manager,
                Request::new("flows.view", &child, pro).with_parent(&acme)
            ),
            Reason::MissingGrant
        );
        assert_eq!(
            d(
                &user,
                Request::new("flows.view", &child, pro)
                    .with_parent(&acme)
                    .with_grants(&grants)
            ),
            Reason::LinkedRoleTooLow { role: Role::User }
        );
        assert_eq!(
            d(
                &manager,
                Request::new("linked-companies.switch", &acme, pro)
            ),
            Reason::GrantRequired
        );
        assert_eq!(
            d(
                &bearer(Role::Administrator, "acme"),
                Request::new("users.create-administrator", &acme, pro)
            ),
            Reason::PlatformSupportOnly
        );
        assert_eq!(
            d(&user, Request::new("flows.deploy", &acme, pro)),
            Reason::RoleTooLow {
                required: Level::Manager,
                role: Role::User
            }
        );
        assert_eq!(
            d(
                &manager,
                Request::new("scripts.create", &acme, Tier::Standard)
            ),
            Reason::TierExcludes {
                tier: Tier::Standard,
                feature: Feature::Advanced
            }
        );
        // Tier trumps role only for what the role allows; the view stays.
        assert!(
            authorize(
                &p,
                &manager,
                &Request::new("scripts.view", &acme, Tier::Standard)
            )
            .is_allowed()
        );
        // A grant lets a manager act in the linked company, and switch into it.
        for a in ["flows.deploy", "linked-companies.switch"] {
            assert_eq!(
                d(
                    &manager,
                    Request::new(a, &child, pro)
                        .with_parent(&acme)
                        .with_grants(&grants)
                ),
                Reason::Allowed {
                    min_role: Requirement::AtLeast(Level::Manager),
                    feature: None,
                    standing: Standing::Grant
                }
            );
        }
    }

    #[test]
    fn reasons_read_as_sentences() {
        use Reason::*;
        let all = [
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
            UnknownAction,
            OtherCompany,
            MissingGrant,
            LinkedRoleTooLow { role: Role::User },
            GrantRequired,
            PlatformSupportOnly,
            AdministratorOnly {
                role: Role::ApiUser,
            },
            RoleTooLow {
                required: Level::Manager,
                role: Role::ReadOnly,
            },
            TierExcludes {
                tier: Tier::Standard,
                feature: Feature::Advanced,
            },
        ];
        let text: Vec<String> = all.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(text.join("\n"), @r"
        allowed: the action requires manager or above and the `advanced` feature, which the tier includes, in a linked company entered by grant
        allowed: the action requires read-only or above
        denied: the action is not in the policy
        denied: the company is neither the principal's own nor linked to it
        denied: the company is linked to the principal's, but the principal holds no grant for it
        denied: acting in a linked company needs manager or above; the principal is user
        denied: the action is only allowed in a linked company, by grant
        denied: nobody in a company may do this, only platform support
        denied: only an administrator may do this; the principal is api-user
        denied: the action requires manager or above; the principal is read-only
        denied: the `standard` tier does not include the `advanced` feature
        ");
    }

    #[test]
    fn a_native_child_user_never_reaches_the_parent() {
        let p = Policy::default_policy();
        let acme = company("acme");
        let child_admin = bearer(Role::Administrator, "acme-eu");
        let grants = [acme.clone()];
        // Even with a (bogus) grant for the parent, the parent is not linked *to* the child.
        let r = Request::new("flows.view", &acme, Tier::Enterprise).with_grants(&grants);
        assert_eq!(
            authorize(&p, &child_admin, &r).reason(),
            Reason::OtherCompany
        );
    }
}
