//! Why a decision was made: [`Reason`], its stable kind and its sentence.

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;

use crate::policy::{ActionKind, Requirement};
use crate::role::{Level, Role};
use crate::tier::{Feature, Tier};

use super::*;

/// Why an authorisation decision was made: the rule that allowed, or the requirement
/// that failed. Checks run in this order, and the first that fails is the reason:
/// the principal's validity, the action, the company, the action's scope (only by
/// grant, or only in the own company), the role, whether an API key may do it at
/// all, the tier, and last an API key's scope (which only narrows).
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
    /// Only a person may do this, never an API key's api-user: the action is marked
    /// `human_only` (by default, creating, revoking and deleting keys and creating
    /// and updating users), so that a credential cannot mint credentials.
    HumanOnly,
    /// The API key was narrowed to a scope that does not allow the action (its
    /// api-user's role would).
    OutsideKeyScope {
        /// Whether the action views or edits.
        action_kind: ActionKind,
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
            Reason::HumanOnly => "human_only",
            Reason::OutsideKeyScope { .. } => "outside_key_scope",
            Reason::RoleTooLow { .. } => "role_too_low",
            Reason::UnknownCustomRole => "unknown_custom_role",
            Reason::CustomRoleLacks { .. } => "custom_role_lacks",
            Reason::NotGrantableByCustomRole => "not_grantable_by_custom_role",
            Reason::TierExcludes { .. } => "tier_excludes",
        }
    }
}

pub(super) fn kind_word(kind: ActionKind) -> &'static str {
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
            Reason::HumanOnly => f.write_str("only a person may do this, never an api key"),
            Reason::OutsideKeyScope { action_kind } => {
                let kind = kind_word(action_kind);
                write!(f, "the api key's scope does not allow this {kind} action")
            }
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
