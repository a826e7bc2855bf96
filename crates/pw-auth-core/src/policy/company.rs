//! A company's own custom roles: made by its administrators with the role manager,
//! kept in the caller's records, and handed to each decision with the request
//! ([`Request::with_custom_role`](crate::Request::with_custom_role)).
//!
//! A policy document's `custom_roles` are the same for every company; a
//! [`CompanyRole`] is one company's, checked against the policy when it is made
//! ([`Policy::company_role`], [`Policy::company_role_from_json`]) and read back from
//! the records without one ([`CompanyRole::from_record`]): it names its areas, not a
//! policy's indices, so a policy reloaded later never makes it mean something else.
//! An area the policy does not (or no longer) define grants nothing.

use crate::id::CompanyId;
use crate::role::CustomRoleName;

use super::compile::{compile_custom_roles, valid_action_id};
use super::error::{PolicyError, PolicyErrorKind as K};
use super::{ActionKind, CustomRoleSpec, MAX_POLICY_LEN, Policy};

/// One company's custom role: its name, and the areas whose view and edit actions it
/// allows (edit only where view is too). Checked when made; see the module's docs.
///
/// ```
/// use pw_auth_core::{CompanyId, Policy};
/// let policy = Policy::default_policy();
/// let acme = CompanyId::new("acme")?;
/// let role = policy.company_role_from_json(
///     &acme,
///     r#"{"name": "integration-lead", "view": ["flows", "connectors"], "edit": ["flows"]}"#,
/// )?;
/// assert_eq!(role.name().as_str(), "integration-lead");
/// assert_eq!(role.view().collect::<Vec<_>>(), ["connectors", "flows"]);
///
/// // Checked as the policy's own custom roles are, and placed in the text.
/// let err = policy
///     .company_role_from_json(&acme, r#"{"name": "x", "view": [], "edit": ["flows"]}"#)
///     .unwrap_err();
/// assert_eq!(err.to_string(), "line 1, column 36: custom_roles[0] (`x`): edit on `flows` without view");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyRole {
    company: CompanyId,
    name: CustomRoleName,
    /// Sorted, distinct.
    view: Box<[Box<str>]>,
    /// Sorted, distinct, each also in `view`.
    edit: Box<[Box<str>]>,
}

impl Policy {
    /// `spec`, a custom role of `company`, checked as a policy document's custom roles
    /// are (the name, each list's size, no area twice, edit only with view) and against
    /// this policy's areas: the errors are those of `custom_roles[0]` of a document.
    pub fn company_role(
        &self,
        company: &CompanyId,
        spec: &CustomRoleSpec,
    ) -> Result<CompanyRole, PolicyError> {
        CompanyRole::checked(company, spec, &self.areas)
    }

    /// [`Policy::company_role`] for a definition as JSON text (`{"name", "view",
    /// "edit"}`, e.g. a request's body), its errors placed in `text` as
    /// [`Policy::from_json`] places a document's.
    pub fn company_role_from_json(
        &self,
        company: &CompanyId,
        text: &str,
    ) -> Result<CompanyRole, PolicyError> {
        if text.len() > MAX_POLICY_LEN {
            return Err(K::TooLarge { len: text.len() }.into());
        }
        let spec: CustomRoleSpec =
            serde_json::from_str(text).map_err(|e| PolicyError::syntax(text, &e))?;
        self.company_role(company, &spec)
            .map_err(|e| e.located_in_role(text))
    }
}

impl CompanyRole {
    /// A role read back from the records, checked without a policy: everything
    /// [`Policy::company_role`] checks but whether the policy defines its areas (one
    /// it does not define grants nothing). An error here means the records were
    /// changed by something other than this library's checks.
    pub fn from_record(
        company: CompanyId,
        spec: &CustomRoleSpec,
    ) -> Result<CompanyRole, PolicyError> {
        for (list, names) in [("view", &spec.view), ("edit", &spec.edit)] {
            if let Some(area) = names
                .iter()
                .find(|a| valid_action_id(&format!("{a}.x")).is_none_or(|len| len != a.len()))
            {
                return Err(K::UnknownArea {
                    index: 0,
                    role: spec.name.clone(),
                    list,
                    area: area.clone(),
                }
                .into());
            }
        }
        let mut areas: Vec<Box<str>> = spec
            .view
            .iter()
            .chain(&spec.edit)
            .map(|a| Box::from(a.as_str()))
            .collect();
        areas.sort();
        areas.dedup();
        CompanyRole::checked(&company, spec, &areas)
    }

    /// `spec` compiled against `areas` (sorted), by the policy's own custom-role
    /// checks, then kept by area name.
    fn checked(
        company: &CompanyId,
        spec: &CustomRoleSpec,
        areas: &[Box<str>],
    ) -> Result<CompanyRole, PolicyError> {
        let compiled = compile_custom_roles(std::slice::from_ref(spec), areas)?;
        let Some(def) = compiled.first() else {
            return Err(K::TooManyCustomRoles { count: 0 }.into());
        };
        let names = |indices: &[u16]| -> Box<[Box<str>]> {
            indices
                .iter()
                .filter_map(|&i| areas.get(usize::from(i)).cloned())
                .collect()
        };
        Ok(CompanyRole {
            company: company.clone(),
            name: def.name().clone(),
            view: names(&def.view),
            edit: names(&def.edit),
        })
    }

    /// The company whose role it is.
    pub fn company(&self) -> &CompanyId {
        &self.company
    }

    /// The role's name.
    pub fn name(&self) -> &CustomRoleName {
        &self.name
    }

    /// The areas whose view actions it allows, sorted.
    pub fn view(&self) -> impl ExactSizeIterator<Item = &str> {
        self.view.iter().map(|a| &**a)
    }

    /// The areas whose edit actions it allows, sorted (each also in [`CompanyRole::view`]).
    pub fn edit(&self) -> impl ExactSizeIterator<Item = &str> {
        self.edit.iter().map(|a| &**a)
    }

    /// Its definition, to keep in the records ([`CompanyRole::from_record`] reads it back).
    pub fn to_spec(&self) -> CustomRoleSpec {
        CustomRoleSpec {
            name: self.name.as_str().to_owned(),
            view: self.view().map(str::to_owned).collect(),
            edit: self.edit().map(str::to_owned).collect(),
        }
    }

    /// Whether its toggles allow `kind` actions on `area`.
    pub(crate) fn allows(&self, area: &str, kind: ActionKind) -> bool {
        let list = match kind {
            ActionKind::View => &self.view,
            ActionKind::Edit => &self.edit,
        };
        list.binary_search_by(|a| (**a).cmp(area)).is_ok()
    }
}

#[cfg(test)]
#[path = "company_tests.rs"]
mod tests;
