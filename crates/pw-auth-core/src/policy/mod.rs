//! Policy as data: a [`PolicyDocument`] (serde) is checked and compiled once into a
//! [`Policy`], which decisions evaluate without allocating.
//!
//! * `document`: the serde form, as written by people;
//! * `compile`: the checks, and the compiled form;
//! * `company`: one company's own custom roles, kept in the caller's records;
//! * `error`: what can be wrong, where, and how to fix it;
//! * `lookup`: the open-addressing index an action is found by, in constant time.
//!
//! Reviewing a policy (its decision table, diffs, case files) is [`crate::review`].

mod company;
mod compile;
mod document;
mod error;
mod lookup;

use crate::limit::Quota;
use crate::role::{CustomRoleName, Role};
use crate::tier::{Feature, Tier};
use std::sync::Arc;

pub use company::CompanyRole;
pub use document::{ActionKind, ActionSpec, CustomRoleSpec, PolicyDocument, Requirement};
pub use error::{Location, PolicyError, PolicyErrorKind};

/// The longest action id, in bytes.
pub const MAX_ACTION_ID_LEN: usize = 64;
/// The most actions a policy may hold.
pub const MAX_ACTIONS: usize = 16_384;
/// The longest policy text [`Policy::from_json`] reads, in bytes (2 MiB); a longer
/// one is refused before it is parsed.
pub const MAX_POLICY_LEN: usize = 2 * 1024 * 1024;
/// The most custom roles a policy may define.
pub const MAX_CUSTOM_ROLES: usize = 10_000;
/// The most areas a custom role's `view` or `edit` list may name.
pub const MAX_ROLE_AREAS: usize = 1_024;

/// One compiled action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDef {
    /// Shared with every audit record of the action.
    id: Arc<str>,
    area_len: usize,
    area: u16,
    kind: ActionKind,
    requirement: Requirement,
    feature: Option<Feature>,
    grant_required: bool,
    own_company_only: bool,
    human_only: bool,
}

impl ActionDef {
    /// The action id, shared (for audit records).
    pub(crate) fn shared_id(&self) -> &Arc<str> {
        &self.id
    }

    /// The action id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The area, the part of the id before the dot.
    pub fn area(&self) -> &str {
        self.id.get(..self.area_len).unwrap_or("")
    }

    /// Whether it reads or changes entities.
    pub fn kind(&self) -> ActionKind {
        self.kind
    }

    /// Who may do it by role.
    pub fn requirement(&self) -> Requirement {
        self.requirement
    }

    /// The tier feature it needs, if any.
    pub fn feature(&self) -> Option<Feature> {
        self.feature
    }

    /// Whether it is only allowed through a grant for a linked company.
    pub fn grant_required(&self) -> bool {
        self.grant_required
    }

    /// Whether it is only allowed in the principal's own company, never by grant.
    pub fn own_company_only(&self) -> bool {
        self.own_company_only
    }

    /// Whether only a person may do it, never an API key's api-user.
    pub fn human_only(&self) -> bool {
        self.human_only
    }

    /// Whether a principal of role `role` meets the role requirement.
    pub fn admits(&self, role: Role) -> bool {
        self.requirement.admits(role.level())
    }
}

/// A compiled custom role: the areas whose view and edit actions it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRoleDef {
    name: CustomRoleName,
    view: Box<[u16]>,
    edit: Box<[u16]>,
}

impl CustomRoleDef {
    /// The role's name.
    pub fn name(&self) -> &CustomRoleName {
        &self.name
    }

    /// Whether the role's toggles allow `kind` actions on the area of `action`.
    pub fn allows(&self, action: &ActionDef) -> bool {
        let list = match action.kind {
            ActionKind::View => &self.view,
            ActionKind::Edit => &self.edit,
        };
        list.binary_search(&action.area).is_ok()
    }
}

/// A checked, compiled policy. Build it once and share it.
///
/// ```
/// use pw_auth_core::Policy;
/// let policy = Policy::default_policy();
/// assert!(policy.action("blueprints.publish").is_some());
/// assert!(policy.id().starts_with("patchworks-default@"));
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    /// Shared with every audit record the policy decides.
    id: Arc<str>,
    actions: Box<[ActionDef]>,
    /// The actions by id, in constant time.
    index: lookup::ActionIndex,
    /// The distinct areas, sorted.
    areas: Box<[Box<str>]>,
    /// Custom roles, sorted by name.
    custom_roles: Box<[CustomRoleDef]>,
    /// Usage quotas, in the order of [`Tier::ALL`].
    quotas: [Quota; 4],
}

const DEFAULT_POLICY_JSON: &str = include_str!("default-policy.json");

impl Policy {
    /// The policy that ships with this crate: the whole default table of the
    /// platform's documentation (see `docs/policy.md`).
    ///
    /// The shipped document is checked by this crate's tests. Should it ever fail to
    /// compile, this returns a policy that denies everything rather than panicking.
    pub fn default_policy() -> Policy {
        Policy::from_json(DEFAULT_POLICY_JSON).unwrap_or_else(|_| Policy::deny_all())
    }

    /// The text of the default policy document (JSON).
    pub fn default_document_json() -> &'static str {
        DEFAULT_POLICY_JSON
    }

    /// A policy with no actions: every request is denied as an unknown action.
    pub fn deny_all() -> Policy {
        Policy {
            id: "deny-all".into(),
            actions: Box::new([]),
            index: lookup::ActionIndex::build(&[]),
            areas: Box::new([]),
            custom_roles: Box::new([]),
            quotas: [Quota::DEFAULT; 4],
        }
    }

    /// Parses and compiles a JSON policy document. Every error carries its line and
    /// column in `text` where it has one: syntax errors, and errors in an item
    /// (`actions[3]`, `custom_roles[1]`, `quotas.standard`).
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_LEN {
            return Err(PolicyErrorKind::TooLarge { len: text.len() }.into());
        }
        let doc: PolicyDocument =
            serde_json::from_str(text).map_err(|e| PolicyError::syntax(text, &e))?;
        Policy::compile(&doc).map_err(|e| e.located_in(text))
    }

    /// The usage quota of companies on `tier`.
    pub fn quota(&self, tier: Tier) -> Quota {
        Tier::ALL
            .iter()
            .position(|t| *t == tier)
            .and_then(|i| self.quotas.get(i))
            .copied()
            .unwrap_or(Quota::DEFAULT)
    }

    /// A custom role by name.
    pub fn custom_role(&self, name: &CustomRoleName) -> Option<&CustomRoleDef> {
        self.custom_roles
            .binary_search_by(|r| r.name.cmp(name))
            .ok()
            .and_then(|i| self.custom_roles.get(i))
    }

    /// Every custom role, sorted by name.
    pub fn custom_roles(&self) -> impl ExactSizeIterator<Item = &CustomRoleDef> {
        self.custom_roles.iter()
    }

    /// The areas whose `kind` actions `role`, one of this policy's custom roles, allows,
    /// sorted (none for a role of another policy).
    ///
    /// ```
    /// use pw_auth_core::{ActionKind, Policy, PolicyDocument};
    /// let mut doc: PolicyDocument = serde_json::from_str(Policy::default_document_json())?;
    /// doc.custom_roles = serde_json::from_str(r#"[{"name": "lead", "view": ["scripts", "flows"], "edit": ["flows"]}]"#)?;
    /// let policy = Policy::compile(&doc)?;
    /// let lead = policy.custom_roles().next().expect("one role");
    /// assert_eq!(policy.custom_role_areas(lead, ActionKind::View).collect::<Vec<_>>(), ["flows", "scripts"]);
    /// assert_eq!(policy.custom_role_areas(lead, ActionKind::Edit).collect::<Vec<_>>(), ["flows"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn custom_role_areas<'p>(
        &'p self,
        role: &'p CustomRoleDef,
        kind: ActionKind,
    ) -> impl Iterator<Item = &'p str> {
        let mine = self
            .custom_roles
            .as_ptr_range()
            .contains(&std::ptr::from_ref(role));
        let list: &[u16] = match (mine, kind) {
            (false, _) => &[],
            (true, ActionKind::View) => &role.view,
            (true, ActionKind::Edit) => &role.edit,
        };
        list.iter()
            .filter_map(|&i| self.areas.get(usize::from(i)).map(|a| &**a))
    }

    /// Every area, sorted.
    pub fn areas(&self) -> impl ExactSizeIterator<Item = &str> {
        self.areas.iter().map(|a| &**a)
    }

    /// The policy's identifier for audit records:
    /// `<name>@<version>+<12 hex digits of the document's SHA-256>`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// An action by id, in constant time with no allocation (a hash table built when
    /// the policy was compiled). The definition borrows the policy, so it can't be
    /// used with another one (there is no free-standing handle, such as the
    /// `ActionRef` of earlier versions, to mix up):
    ///
    /// ```compile_fail
    /// use pw_auth_core::ActionRef;
    /// ```
    pub fn action(&self, id: &str) -> Option<&ActionDef> {
        self.index.find(&self.actions, id)
    }

    /// Whether `action` is one of this policy's own definitions (the same one in
    /// memory, not an equal one from another policy).
    pub(crate) fn owns(&self, action: &ActionDef) -> bool {
        self.actions
            .as_ptr_range()
            .contains(&std::ptr::from_ref(action))
    }

    /// The policy's identifier, shared (for audit records).
    pub(crate) fn shared_id(&self) -> &Arc<str> {
        &self.id
    }

    /// Every action, in document order.
    pub fn actions(&self) -> impl ExactSizeIterator<Item = &ActionDef> {
        self.actions.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(actions: serde_json::Value) -> PolicyDocument {
        serde_json::from_value(serde_json::json!({
            "name": "t", "version": "1", "actions": actions
        }))
        .unwrap()
    }

    #[test]
    fn default_policy_compiles() {
        let p = Policy::from_json(DEFAULT_POLICY_JSON).unwrap();
        assert_eq!(p.actions().len(), 54);
        assert_ne!(p.id(), "deny-all");
        for a in p.actions() {
            assert_eq!(p.action(a.id()), Some(a));
        }
        assert_eq!(p.action("flows.nope"), None);
        assert_eq!(p.action(""), None);
        let own: Vec<&str> = p
            .actions()
            .filter(|a| a.own_company_only())
            .map(ActionDef::id)
            .collect();
        assert_eq!(
            own,
            [
                "company.delete",
                "roles.create",
                "roles.edit",
                "roles.assign",
                "linked-companies.grant"
            ]
        );
    }

    #[test]
    fn the_id_changes_with_the_content() {
        let a = Policy::compile(&doc(serde_json::json!([
            {"id": "a.view", "kind": "view", "min_role": "user"}
        ])))
        .unwrap();
        let b = Policy::compile(&doc(serde_json::json!([
            {"id": "a.view", "kind": "view", "min_role": "manager"}
        ])))
        .unwrap();
        assert!(a.id().starts_with("t@1+"));
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn compile_errors_name_the_item_and_help() {
        let e = |actions| {
            let e = Policy::compile(&doc(actions)).unwrap_err();
            assert_eq!(e.location(), None);
            format!("{e}\n  help: {}", e.help().unwrap_or_default())
        };
        insta::assert_snapshot!(e(serde_json::json!([])), @r"
        policy has no actions
          help: a policy needs at least one action
        ");
        insta::assert_snapshot!(e(serde_json::json!([{"id": "Flows.view", "kind": "view", "min_role": "user"}])), @r"
        actions[0]: action id `Flows.view` is not of the form `area.verb`
          help: an action id is `area.verb`: each part lowercase letters, digits and `-`, starting with a letter; at most 64 bytes
        ");
        insta::assert_snapshot!(e(serde_json::json!([
            {"id": "a.view", "kind": "view", "min_role": "user"},
            {"id": "b.view", "kind": "view", "min_role": "user"},
            {"id": "a.view", "kind": "view", "min_role": "user"}
        ])), @r"
        actions[2]: action `a.view` is listed twice (first at actions[0])
          help: remove one of the two listings
        ");
        insta::assert_snapshot!(e(serde_json::json!([{"id": "a.edit", "kind": "edit", "min_role": "user", "feature": "gold"}])), @r"
        actions[0] (`a.edit`): unknown feature `gold`
          help: expected one of `advanced`, `role-manager`
        ");
        insta::assert_snapshot!(e(serde_json::json!([{"id": "a.switch", "kind": "edit", "min_role": "user", "grant_required": true}])), @r"
        actions[0] (`a.switch`): grant_required with a min_role below `manager`
          help: linked companies admit managers and administrators only: use min_role `manager` or `administrator`
        ");
        insta::assert_snapshot!(e(serde_json::json!([{"id": "a.x", "kind": "edit", "min_role": "manager", "grant_required": true, "own_company_only": true}])), @r"
        actions[0] (`a.x`): both grant_required and own_company_only
          help: an action is either only by grant or only in the own company: remove one of the two
        ");
    }

    #[test]
    fn errors_from_text_have_a_location() {
        let err = Policy::from_json("{\n  \"name\": \"x\",\n  \"versoin\": \"1\"\n}").unwrap_err();
        assert!(matches!(err.kind(), PolicyErrorKind::Syntax { .. }));
        assert_eq!(err.location().map(|l| l.line()), Some(3));
        assert_eq!(err.help(), None);

        let text = "{\"name\": \"x\", \"version\": \"1\", \"actions\": [\n  {\"id\": \"a.view\", \"kind\": \"view\", \"min_role\": \"user\"},\n  {\"id\": \"a.edit\", \"kind\": \"edit\", \"min_role\": \"api-user\"}\n]}";
        let err = Policy::from_json(text).unwrap_err();
        insta::assert_snapshot!(err, @"line 3, column 48: actions[1] (`a.edit`): `api-user` is not a level");
        let empty = Policy::from_json("{\"name\": \"x\", \"version\": \" \", \"actions\": []}")
            .unwrap_err();
        insta::assert_snapshot!(empty, @"line 1, column 26: policy version is empty");
    }
}
