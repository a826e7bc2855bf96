//! How a principal stands in the company a request acts in: a member, a holder of
//! an explicit grant, or none (and why not); shared by both kinds of decision.

use serde::Serialize;

use crate::id::CompanyId;
use crate::principal::Principal;
use crate::role::{Level, Role};

use super::*;

/// How the principal stands in the request's company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// It is the principal's own company.
    Member,
    /// It is a company linked to the principal's own, entered by explicit grant.
    Grant,
}

/// Why a principal has no standing in a company: shared by both kinds of decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoStanding {
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
pub(super) fn standing(
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
