//! Authorisation: a principal, a request and a compiled policy in; a [`Decision`] out.
//! A decision is a value with a reason, never an error and never a panic.

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;

use crate::id::CompanyId;
use crate::policy::{ActionDef, ActionKind, Policy, Requirement};
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
    /// The action already looked up, when the request was made from its definition.
    def: Option<&'a ActionDef>,
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
            def: None,
            company,
            tier,
            parent: None,
            grants: &[],
        }
    }

    /// A request for an action already looked up with [`Policy::action`]: a server
    /// that resolves its routes' actions once, when it starts, skips the lookup on
    /// every request. The definition must come from the policy the request is
    /// authorised against; one from any other policy is denied as
    /// [`Reason::UnknownAction`], never decided by the other policy's rules.
    ///
    /// ```
    /// use pw_auth_core::{CompanyId, Policy, Request, Tier};
    /// let policy = Policy::default_policy();
    /// let deploy = policy.action("flows.deploy").expect("in the default policy");
    /// let acme = CompanyId::new("acme")?;
    /// let req = Request::for_action(deploy, &acme, Tier::Professional);
    /// assert_eq!(req.action(), "flows.deploy");
    /// # Ok::<(), pw_auth_core::IdError>(())
    /// ```
    pub fn for_action(action: &'a ActionDef, company: &'a CompanyId, tier: Tier) -> Request<'a> {
        Request {
            action: action.id(),
            def: Some(action),
            company,
            tier,
            parent: None,
            grants: &[],
        }
    }

    /// The parent company `company` is linked to, if it is a linked (child) company:
    /// a parent, or an `Option` of one (`None` leaves the request unlinked).
    pub fn with_parent(mut self, parent: impl Into<Option<&'a CompanyId>>) -> Request<'a> {
        self.parent = parent.into();
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

    /// The action's definition, when the request was made from it.
    pub(crate) const fn def(&self) -> Option<&'a ActionDef> {
        self.def
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

/// The company whose usage allowance a request spends: the principal's own company,
/// whichever credential it used (`docs/platform.md` §1: the same limits apply to API
/// keys and tokens, per company) and whichever company it acts in. Key
/// [`crate::LimitState`] by it.
///
/// A parent company's manager acting in a linked company spends the parent's budget,
/// not the linked company's: no company can exhaust another's allowance, and a
/// parent cannot multiply its allowance by spreading work over its linked companies
/// (`docs/design.md`, "Whose budget"). Taking a [`Principal`] means nothing can be
/// charged before someone is authenticated:
///
/// ```compile_fail
/// use pw_auth_core::*;
/// let acme = CompanyId::new("acme").unwrap();
/// let request = Request::new("flows.view", &acme, Tier::Standard);
/// let _ = usage_key(&request); // a request names no payer
/// ```
pub fn usage_key(principal: &Principal) -> &CompanyId {
    principal.company()
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

/// Why an authorisation decision was made: the rule that allowed, or the requirement
/// that failed. Checks run in this order, and the first that fails is the reason:
/// the principal's validity, the action, the company, the action's scope (only by
/// grant, or only in the own company), the role, the tier.
///
/// Deliberately not `#[non_exhaustive]`: a caller that matches on reasons should
/// have to handle a new one. [`Reason::kind`] is the stable code of each variant, the
/// same as the `kind` field of its serialised form; [`Display`](fmt::Display) is a
/// sentence a support engineer can read out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
    /// Allowed: the principal's custom role toggles this kind of action on the
    /// action's area, and the tier includes the role manager (and any feature).
    AllowedByCustomRole {
        /// Whether the action views or edits.
        action_kind: ActionKind,
        /// The tier feature the action needs, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        feature: Option<Feature>,
    },
    /// The principal's bearer token expired before the decision was asked for.
    CredentialExpired {
        /// When the token expired.
        #[serde(with = "crate::stamp")]
        at: OffsetDateTime,
    },
    /// The action id is not in the policy.
    UnknownAction,
    /// The company is neither the principal's own nor a company linked to it.
    OtherCompany,
    /// The company is linked to the principal's, but an api-user acts only in its own
    /// company, grant or not: an API key is one company's integration credential.
    ApiUserOwnCompanyOnly,
    /// The company is linked to the principal's, but the principal holds no grant
    /// for it.
    MissingGrant,
    /// The principal holds a grant for the linked company, but its role is below
    /// manager, the least a linked company admits.
    LinkedRoleTooLow {
        /// The principal's role.
        role: Role,
    },
    /// A custom role never carries into a linked company.
    CustomRoleInLinkedCompany,
    /// The action is only allowed by grant, in a linked company.
    GrantRequired,
    /// The action is only allowed in the principal's own company, never by grant
    /// (deleting a company, its role manager).
    OwnCompanyOnly,
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
    /// The principal's custom role is not in the policy.
    UnknownCustomRole,
    /// The principal's custom role does not toggle this kind of action on this area.
    CustomRoleLacks {
        /// Whether the action views or edits.
        action_kind: ActionKind,
    },
    /// A custom role never grants administrator-only or platform-support-only actions.
    NotGrantableByCustomRole,
    /// The company's tier does not include the feature the action needs.
    TierExcludes {
        /// The company's tier.
        tier: Tier,
        /// The feature needed.
        feature: Feature,
    },
}

impl Reason {
    /// The effect this reason leads to.
    pub const fn effect(&self) -> Effect {
        match self {
            Reason::Allowed { .. } | Reason::AllowedByCustomRole { .. } => Effect::Allow,
            _ => Effect::Deny,
        }
    }

    /// The short form decision tables print: the [`kind`](Reason::kind), with the
    /// level or feature it names where that tells two cells apart
    /// (`role_too_low:manager`, `tier_excludes:advanced`).
    ///
    /// ```
    /// use pw_auth_core::{Level, Reason, Role};
    /// let r = Reason::RoleTooLow { required: Level::Manager, role: Role::User };
    /// assert_eq!(r.code(), "role_too_low:manager");
    /// assert_eq!(Reason::MissingGrant.code(), "missing_grant");
    /// ```
    pub fn code(&self) -> String {
        let kind = self.kind();
        match self {
            Reason::RoleTooLow { required, .. } => format!("{kind}:{required}"),
            Reason::TierExcludes { feature, .. } => format!("{kind}:{feature}"),
            _ => kind.to_owned(),
        }
    }

    /// The reason's stable code: the `kind` field of its serialised form, e.g.
    /// `administrator_only`. Use it for metrics, logs and tests.
    ///
    /// ```
    /// use pw_auth_core::{Reason, Role};
    /// let r = Reason::AdministratorOnly { role: Role::ApiUser };
    /// assert_eq!(r.kind(), "administrator_only");
    /// assert_eq!(serde_json::to_value(r)?["kind"], "administrator_only");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub const fn kind(&self) -> &'static str {
        match self {
            Reason::Allowed { .. } => "allowed",
            Reason::AllowedByCustomRole { .. } => "allowed_by_custom_role",
            Reason::CredentialExpired { .. } => "credential_expired",
            Reason::UnknownAction => "unknown_action",
            Reason::OtherCompany => "other_company",
            Reason::ApiUserOwnCompanyOnly => "api_user_own_company_only",
            Reason::MissingGrant => "missing_grant",
            Reason::LinkedRoleTooLow { .. } => "linked_role_too_low",
            Reason::CustomRoleInLinkedCompany => "custom_role_in_linked_company",
            Reason::GrantRequired => "grant_required",
            Reason::OwnCompanyOnly => "own_company_only",
            Reason::PlatformSupportOnly => "platform_support_only",
            Reason::AdministratorOnly { .. } => "administrator_only",
            Reason::RoleTooLow { .. } => "role_too_low",
            Reason::UnknownCustomRole => "unknown_custom_role",
            Reason::CustomRoleLacks { .. } => "custom_role_lacks",
            Reason::NotGrantableByCustomRole => "not_grantable_by_custom_role",
            Reason::TierExcludes { .. } => "tier_excludes",
        }
    }
}

fn kind_word(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::View => "view",
        ActionKind::Edit => "edit",
    }
}

/// A sentence a support engineer can read out: why the request was allowed or not.
/// It carries no "allowed"/"denied" prefix: the effect is [`Reason::effect`].
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::Allowed {
                min_role,
                feature,
                standing,
            } => {
                match min_role {
                    Requirement::AtLeast(l) => write!(f, "the action requires {l} or above")?,
                    Requirement::Nobody => f.write_str("the action's rule admits the principal")?,
                }
                if let Some(feature) = feature {
                    write!(f, " and the `{feature}` feature, which the tier includes")?;
                }
                match standing {
                    Standing::Member => Ok(()),
                    Standing::Grant => f.write_str(", in a linked company entered by grant"),
                }
            }
            Reason::AllowedByCustomRole {
                action_kind,
                feature,
            } => {
                let kind = kind_word(action_kind);
                write!(f, "the custom role toggles {kind} on this area")?;
                match feature {
                    Some(feature) => write!(f, " and the tier includes the `{feature}` feature"),
                    None => Ok(()),
                }
            }
            Reason::CredentialExpired { .. } => f.write_str("the principal's token has expired"),
            Reason::UnknownAction => f.write_str("the action is not in the policy"),
            Reason::OtherCompany => {
                f.write_str("the company is neither the principal's own nor linked to it")
            }
            Reason::ApiUserOwnCompanyOnly => {
                f.write_str("an api key acts only in its own company, never in a linked one")
            }
            Reason::MissingGrant => f.write_str(
                "the company is linked to the principal's, but the principal holds no grant for it",
            ),
            Reason::LinkedRoleTooLow { role } => write!(
                f,
                "acting in a linked company needs manager or above; the principal is {role}"
            ),
            Reason::CustomRoleInLinkedCompany => {
                f.write_str("a custom role does not carry into a linked company")
            }
            Reason::GrantRequired => {
                f.write_str("the action is only allowed in a linked company, by grant")
            }
            Reason::OwnCompanyOnly => f.write_str(
                "the action is only allowed in the principal's own company, never by grant",
            ),
            Reason::PlatformSupportOnly => {
                f.write_str("nobody in a company may do this, only platform support")
            }
            Reason::AdministratorOnly { role } => write!(
                f,
                "only an administrator may do this; the principal is {role}"
            ),
            Reason::RoleTooLow { required, role } => write!(
                f,
                "the action requires {required} or above; the principal is {role}"
            ),
            Reason::UnknownCustomRole => {
                f.write_str("the principal's custom role is not in the policy")
            }
            Reason::CustomRoleLacks { action_kind } => {
                let kind = kind_word(action_kind);
                write!(f, "the custom role does not toggle {kind} on this area")
            }
            Reason::NotGrantableByCustomRole => f.write_str(
                "a custom role never grants administrator-only or platform-only actions",
            ),
            Reason::TierExcludes { tier, feature } => write!(
                f,
                "the `{tier}` tier does not include the `{feature}` feature"
            ),
        }
    }
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

/// Why a principal has no standing in a company: shared by both kinds of decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoStanding {
    OtherCompany,
    ApiUserOwnCompanyOnly,
    MissingGrant,
    CustomRoleInLinkedCompany,
    LinkedRoleTooLow(Role),
}

impl From<NoStanding> for Reason {
    fn from(n: NoStanding) -> Reason {
        match n {
            NoStanding::OtherCompany => Reason::OtherCompany,
            NoStanding::ApiUserOwnCompanyOnly => Reason::ApiUserOwnCompanyOnly,
            NoStanding::MissingGrant => Reason::MissingGrant,
            NoStanding::CustomRoleInLinkedCompany => Reason::CustomRoleInLinkedCompany,
            NoStanding::LinkedRoleTooLow(role) => Reason::LinkedRoleTooLow { role },
        }
    }
}

impl From<NoStanding> for RoleChangeReason {
    fn from(n: NoStanding) -> RoleChangeReason {
        match n {
            NoStanding::OtherCompany => RoleChangeReason::OtherCompany,
            NoStanding::ApiUserOwnCompanyOnly => RoleChangeReason::ApiUserOwnCompanyOnly,
            NoStanding::MissingGrant => RoleChangeReason::MissingGrant,
            NoStanding::CustomRoleInLinkedCompany => RoleChangeReason::CustomRoleInLinkedCompany,
            NoStanding::LinkedRoleTooLow(role) => RoleChangeReason::LinkedRoleTooLow { role },
        }
    }
}

/// How the principal stands in `company`, or why it has no standing there. Shared by
/// every decision, so that tenant isolation is decided in one place.
fn standing(
    principal: &Principal,
    company: &CompanyId,
    parent: Option<&CompanyId>,
    grants: &[CompanyId],
) -> Result<Standing, NoStanding> {
    if company == principal.company() {
        return Ok(Standing::Member);
    }
    if parent != Some(principal.company()) {
        return Err(NoStanding::OtherCompany);
    }
    if principal.role() == Role::ApiUser {
        return Err(NoStanding::ApiUserOwnCompanyOnly);
    }
    if !grants.contains(company) {
        return Err(NoStanding::MissingGrant);
    }
    if principal.custom_role().is_some() {
        return Err(NoStanding::CustomRoleInLinkedCompany);
    }
    if principal.level() < Level::Manager {
        return Err(NoStanding::LinkedRoleTooLow(principal.role()));
    }
    Ok(Standing::Grant)
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

fn evaluate_role_change(
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

/// One example of every reason (two or three where data changes the sentence), for
/// the crate's tests.
#[cfg(test)]
pub(crate) fn examples() -> Vec<Reason> {
    use crate::policy::ActionKind;
    use crate::role::Level;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::testing::{EXPIRES_AT, NOW, principal};

    fn company(s: &str) -> CompanyId {
        CompanyId::new(s).unwrap()
    }

    fn bearer(role: Role, home: &str) -> Principal {
        principal(role, &company(home))
    }

    #[test]
    fn the_seed_cases() {
        let p = Policy::default_policy();
        let acme = company("acme");
        let req = |a| Request::new(a, &acme, Tier::Professional);
        let admin = bearer(Role::Administrator, "acme");
        let key = principal(Role::ApiUser, &acme);
        assert!(authorize(&p, &admin, &req("blueprints.build"), NOW).is_allowed());
        assert_eq!(
            authorize(&p, &key, &req("blueprints.build"), NOW).reason(),
            Reason::AdministratorOnly {
                role: Role::ApiUser
            }
        );
        assert!(authorize(&p, &key, &req("flows.create"), NOW).is_allowed());
    }

    #[test]
    fn an_expired_bearer_is_denied_whatever_it_asks() {
        let p = Policy::default_policy();
        let acme = company("acme");
        let admin = bearer(Role::Administrator, "acme");
        let publish = Request::new("blueprints.publish", &acme, Tier::Enterprise);
        let nonsense = Request::new("no.such-action", &acme, Tier::Enterprise);
        let one_ns = time::Duration::nanoseconds(1);
        assert!(authorize(&p, &admin, &publish, EXPIRES_AT - one_ns).is_allowed());
        let expired = Reason::CredentialExpired { at: EXPIRES_AT };
        for now in [
            EXPIRES_AT,
            EXPIRES_AT + one_ns,
            EXPIRES_AT + time::Duration::days(365),
        ] {
            assert_eq!(authorize(&p, &admin, &publish, now).reason(), expired);
            assert_eq!(authorize(&p, &admin, &nonsense, now).reason(), expired);
        }
        // An API key never expires.
        let key = principal(Role::ApiUser, &acme);
        let deploy = Request::new("flows.deploy", &acme, Tier::Enterprise);
        assert!(authorize(&p, &key, &deploy, EXPIRES_AT + time::Duration::days(365)).is_allowed());

        let bob = UserRecord::active(crate::id::UserId::new("bob").unwrap(), acme, Role::User);
        let change = RoleChange::new(&bob, Role::ReadOnly);
        assert!(authorize_role_change(&admin, &change, EXPIRES_AT - one_ns).is_allowed());
        assert_eq!(
            authorize_role_change(&admin, &change, EXPIRES_AT).reason(),
            RoleChangeReason::CredentialExpired { at: EXPIRES_AT }
        );
    }

    #[test]
    fn every_deny_reason() {
        let p = Policy::default_policy();
        let acme = company("acme");
        let child = company("acme-eu");
        let grants = [child.clone()];
        let manager = bearer(Role::Manager, "acme");
        let user = bearer(Role::User, "acme");
        let d = |who: &Principal, r: Request<'_>| authorize(&p, who, &r, NOW).reason();
        let pro = Tier::Professional;
        let linked = |a| {
            Request::new(a, &child, pro)
                .with_parent(&acme)
                .with_grants(&grants)
        };

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
            d(&user, linked("flows.view")),
            Reason::LinkedRoleTooLow { role: Role::User }
        );
        assert_eq!(
            d(&principal(Role::ApiUser, &acme), linked("flows.view")),
            Reason::ApiUserOwnCompanyOnly
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
                linked("company.delete")
            ),
            Reason::OwnCompanyOnly
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
                &Request::new("scripts.view", &acme, Tier::Standard),
                NOW
            )
            .is_allowed()
        );
        // A grant lets a manager act in the linked company, and switch into it.
        for a in ["flows.deploy", "linked-companies.switch"] {
            assert_eq!(
                d(&manager, linked(a)),
                Reason::Allowed {
                    min_role: Requirement::AtLeast(Level::Manager),
                    feature: None,
                    standing: Standing::Grant
                }
            );
        }
    }

    /// Every reason, its code and its sentence: the code is the serde tag, and no
    /// sentence carries an "allowed"/"denied" prefix.
    #[test]
    fn reasons_have_one_code_and_read_as_sentences() {
        let all = examples();
        let mut text = String::new();
        for r in all {
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json["kind"], r.kind(), "{r:?}");
            text.push_str(&format!(
                "{:<6} {:<30} {r}\n",
                format!("{:?}", r.effect()),
                r.kind()
            ));
        }
        insta::assert_snapshot!(text, @r"
        Allow  allowed                        the action requires manager or above and the `advanced` feature, which the tier includes, in a linked company entered by grant
        Allow  allowed                        the action requires read-only or above
        Allow  allowed                        the action's rule admits the principal
        Allow  allowed_by_custom_role         the custom role toggles edit on this area and the tier includes the `advanced` feature
        Allow  allowed_by_custom_role         the custom role toggles view on this area
        Deny   credential_expired             the principal's token has expired
        Deny   unknown_action                 the action is not in the policy
        Deny   other_company                  the company is neither the principal's own nor linked to it
        Deny   api_user_own_company_only      an api key acts only in its own company, never in a linked one
        Deny   missing_grant                  the company is linked to the principal's, but the principal holds no grant for it
        Deny   linked_role_too_low            acting in a linked company needs manager or above; the principal is user
        Deny   custom_role_in_linked_company  a custom role does not carry into a linked company
        Deny   grant_required                 the action is only allowed in a linked company, by grant
        Deny   own_company_only               the action is only allowed in the principal's own company, never by grant
        Deny   platform_support_only          nobody in a company may do this, only platform support
        Deny   administrator_only             only an administrator may do this; the principal is api-user
        Deny   role_too_low                   the action requires manager or above; the principal is read-only
        Deny   unknown_custom_role            the principal's custom role is not in the policy
        Deny   custom_role_lacks              the custom role does not toggle edit on this area
        Deny   not_grantable_by_custom_role   a custom role never grants administrator-only or platform-only actions
        Deny   tier_excludes                  the `standard` tier does not include the `advanced` feature
        ");
    }

    #[test]
    fn role_change_reasons_have_one_code_and_read_as_sentences() {
        use RoleChangeReason::*;
        let all = [
            Allowed {
                from: Role::User,
                to: Role::Manager,
            },
            CredentialExpired { at: EXPIRES_AT },
            NoOneMakesAdministrator,
            ApiUserRoleIsFixed,
            OtherCompany,
            ApiUserOwnCompanyOnly,
            MissingGrant,
            LinkedRoleTooLow { role: Role::User },
            CustomRoleInLinkedCompany,
            CannotChangeRoles { role: Role::User },
            TargetOutranksActor {
                target: Role::Manager,
            },
            AboveActorsGrant {
                to: Role::Manager,
                max: Role::User,
            },
        ];
        let mut text = String::new();
        for r in all {
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json["kind"], r.kind(), "{r:?}");
            text.push_str(&format!(
                "{:<6} {:<30} {r}\n",
                format!("{:?}", r.effect()),
                r.kind()
            ));
        }
        insta::assert_snapshot!(text, @r"
        Allow  allowed                        the actor may change a user to manager
        Deny   credential_expired             the actor's token has expired
        Deny   no_one_makes_administrator     nobody in a company may make an administrator, only platform support
        Deny   api_user_role_is_fixed         an api-user's role belongs to its api key and never changes
        Deny   other_company                  the target's company is neither the actor's own nor linked to it
        Deny   api_user_own_company_only      an api key acts only in its own company, never in a linked one
        Deny   missing_grant                  the target's company is linked to the actor's, but the actor holds no grant for it
        Deny   linked_role_too_low            acting in a linked company needs manager or above; the actor is user
        Deny   custom_role_in_linked_company  a custom role does not carry into a linked company
        Deny   cannot_change_roles            changing roles needs manager or above; the actor is user
        Deny   target_outranks_actor          the actor may not change the role of a manager
        Deny   above_actors_grant             the actor may grant at most user, not manager
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
            authorize(&p, &child_admin, &r, NOW).reason(),
            Reason::OtherCompany
        );
    }
}
