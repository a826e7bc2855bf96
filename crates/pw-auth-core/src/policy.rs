//! Policy as data: a [`PolicyDocument`] (serde) is checked and compiled once into a
//! [`Policy`], which decisions evaluate without allocating.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::digest::sha256;
use crate::hex;
use crate::limit::{Quota, QuotaError, QuotaRepr};
use crate::role::{CustomRoleName, CustomRoleNameError, Level, Role};
use crate::tier::{Feature, Tier};

/// The longest action id, in bytes.
pub const MAX_ACTION_ID_LEN: usize = 64;
/// The most actions a policy may hold.
pub const MAX_ACTIONS: usize = 16_384;

/// Whether an action reads or changes the company's entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// Reads: view, browse, search, list.
    View,
    /// Changes: create, update, delete and the like.
    Edit,
}

/// Who may perform an action by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// Principals acting at this level or above.
    AtLeast(Level),
    /// Nobody in a company (only platform support, outside this engine).
    Nobody,
}

impl Requirement {
    /// The name used in policy documents: a level name, or `nobody`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Requirement::AtLeast(l) => l.as_str(),
            Requirement::Nobody => "nobody",
        }
    }

    /// Whether a principal acting at `level` meets this requirement.
    pub fn admits(self, level: Level) -> bool {
        match self {
            Requirement::AtLeast(min) => level >= min,
            Requirement::Nobody => false,
        }
    }

    fn parse(s: &str) -> Option<Requirement> {
        if s == "nobody" {
            return Some(Requirement::Nobody);
        }
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .map(Requirement::AtLeast)
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Requirement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One action in a policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// The action id, `area.verb`, e.g. `flows.deploy`.
    pub id: String,
    /// Whether the action reads or changes entities.
    pub kind: ActionKind,
    /// The lowest role level allowed: `read-only`, `user`, `manager`,
    /// `administrator`, or `nobody`.
    pub min_role: String,
    /// A tier feature the company must have, e.g. `advanced`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// Whether the action is only ever allowed by an explicit grant for a linked
    /// company (switching into a linked company).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub grant_required: bool,
}

/// A custom role in a policy document: per-area view and edit toggles (§6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRoleSpec {
    /// The role's name, e.g. `integration-lead`.
    pub name: String,
    /// Areas (the part of an action id before the dot) whose view actions it allows.
    #[serde(default)]
    pub view: Vec<String>,
    /// Areas whose edit actions it allows; each must also be in `view`.
    #[serde(default)]
    pub edit: Vec<String>,
}

/// A policy as data, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// The policy's name, e.g. `patchworks-default`.
    pub name: String,
    /// The policy's version, e.g. a date.
    pub version: String,
    /// The actions, in the order they are shown.
    pub actions: Vec<ActionSpec>,
    /// Custom roles (enterprise role manager), usually one company's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_roles: Vec<CustomRoleSpec>,
    /// Usage quotas by tier name; a tier not listed gets [`Quota::DEFAULT`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub quotas: BTreeMap<String, QuotaRepr>,
}

/// Why a policy document is not a valid policy. Each variant names the offending item
/// and its place in the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The name or version is empty.
    #[error("policy {field} is empty")]
    EmptyField {
        /// `name` or `version`.
        field: &'static str,
    },
    /// The document has no actions.
    #[error("policy has no actions")]
    NoActions,
    /// The document has more than [`MAX_ACTIONS`] actions.
    #[error("policy has {count} actions; the limit is {MAX_ACTIONS}")]
    TooManyActions {
        /// How many.
        count: usize,
    },
    /// An action id is not of the form `area.verb` in lowercase letters, digits and `-`.
    #[error(
        "actions[{index}]: action id `{id}` is not of the form `area.verb` (lowercase letters, digits and `-`, at most {MAX_ACTION_ID_LEN} bytes)"
    )]
    InvalidActionId {
        /// Position in `actions`.
        index: usize,
        /// The id.
        id: String,
    },
    /// An action id appears twice.
    #[error("actions[{index}]: action `{id}` is listed twice (first at actions[{first}])")]
    DuplicateAction {
        /// Position of the second listing.
        index: usize,
        /// Position of the first listing.
        first: usize,
        /// The id.
        id: String,
    },
    /// `min_role` is not a level name or `nobody`.
    #[error(
        "actions[{index}] (`{id}`): unknown role `{value}` in min_role; expected one of `read-only`, `user`, `manager`, `administrator`, `nobody`"
    )]
    UnknownRole {
        /// Position in `actions`.
        index: usize,
        /// The action id.
        id: String,
        /// The value given.
        value: String,
    },
    /// `min_role` names the api-user, which is not a level of its own.
    #[error(
        "actions[{index}] (`{id}`): `api-user` is not a level; the api-user acts at `manager` level"
    )]
    ApiUserLevel {
        /// Position in `actions`.
        index: usize,
        /// The action id.
        id: String,
    },
    /// `feature` is not a known feature.
    #[error(
        "actions[{index}] (`{id}`): unknown feature `{value}`; expected one of `advanced`, `role-manager`"
    )]
    UnknownFeature {
        /// Position in `actions`.
        index: usize,
        /// The action id.
        id: String,
        /// The value given.
        value: String,
    },
    /// A grant-only action admits roles below manager, which linked companies never do.
    #[error(
        "actions[{index}] (`{id}`): grant_required needs min_role `manager` or `administrator`"
    )]
    GrantBelowManager {
        /// Position in `actions`.
        index: usize,
        /// The action id.
        id: String,
    },
    /// A quota is given for a name that is not a tier.
    #[error(
        "quotas: unknown tier `{tier}`; expected one of `trial`, `standard`, `professional`, `enterprise`"
    )]
    UnknownTier {
        /// The name given.
        tier: String,
    },
    /// A tier's quota is not acceptable.
    #[error("quotas.{tier}: {error}")]
    Quota {
        /// The tier.
        tier: String,
        /// What is wrong.
        error: QuotaError,
    },
    /// A custom role's name is not valid.
    #[error("custom_roles[{index}]: {error}")]
    CustomRoleName {
        /// Position in `custom_roles`.
        index: usize,
        /// What is wrong with the name.
        error: CustomRoleNameError,
    },
    /// Two custom roles have the same name.
    #[error(
        "custom_roles[{index}]: custom role `{name}` is defined twice (first at custom_roles[{first}])"
    )]
    DuplicateCustomRole {
        /// Position of the second definition.
        index: usize,
        /// Position of the first.
        first: usize,
        /// The name.
        name: String,
    },
    /// A custom role names an area no action belongs to.
    #[error("custom_roles[{index}] (`{role}`): unknown area `{area}` in {list}")]
    UnknownArea {
        /// Position in `custom_roles`.
        index: usize,
        /// The role.
        role: String,
        /// `view` or `edit`.
        list: &'static str,
        /// The area.
        area: String,
    },
    /// A custom role lists an area twice in one list.
    #[error("custom_roles[{index}] (`{role}`): area `{area}` is listed twice in {list}")]
    DuplicateArea {
        /// Position in `custom_roles`.
        index: usize,
        /// The role.
        role: String,
        /// `view` or `edit`.
        list: &'static str,
        /// The area.
        area: String,
    },
    /// A custom role grants edit on an area without view: rejected rather than
    /// completed, so that nothing is granted silently.
    #[error(
        "custom_roles[{index}] (`{role}`): edit on `{area}` without view; add `{area}` to view or remove it from edit"
    )]
    EditWithoutView {
        /// Position in `custom_roles`.
        index: usize,
        /// The role.
        role: String,
        /// The area.
        area: String,
    },
}

/// Why policy text could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyLoadError {
    /// The text is not a well-formed policy document.
    #[error("policy document, line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The document is well-formed but not a valid policy.
    #[error(transparent)]
    Invalid(#[from] PolicyError),
}

/// One compiled action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDef {
    id: Box<str>,
    area_len: usize,
    area: u16,
    kind: ActionKind,
    requirement: Requirement,
    feature: Option<Feature>,
    grant_required: bool,
}

impl ActionDef {
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

/// A handle to an action of one compiled [`Policy`], resolved once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActionRef(u16);

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
    id: Box<str>,
    actions: Box<[ActionDef]>,
    /// Indices into `actions`, sorted by id, for binary search.
    sorted: Box<[u16]>,
    /// The distinct areas, sorted.
    areas: Box<[Box<str>]>,
    /// Custom roles, sorted by name.
    custom_roles: Box<[CustomRoleDef]>,
    /// Usage quotas, in the order of [`Tier::ALL`].
    quotas: [Quota; 4],
}

const DEFAULT_POLICY_JSON: &str = include_str!("default-policy.json");

fn valid_action_id(id: &str) -> Option<usize> {
    if id.len() > MAX_ACTION_ID_LEN {
        return None;
    }
    let (area, verb) = id.split_once('.')?;
    let part_ok = |p: &str| {
        p.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    (part_ok(area) && part_ok(verb)).then_some(area.len())
}

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
            sorted: Box::new([]),
            areas: Box::new([]),
            custom_roles: Box::new([]),
            quotas: [Quota::DEFAULT; 4],
        }
    }

    /// Parses and compiles a JSON policy document. Syntax errors carry their line
    /// and column; policy errors name the offending item.
    pub fn from_json(text: &str) -> Result<Policy, PolicyLoadError> {
        let doc: PolicyDocument = serde_json::from_str(text).map_err(|e| {
            let (line, column) = (e.line(), e.column());
            let message = e.to_string();
            let message = message
                .strip_suffix(&format!(" at line {line} column {column}"))
                .unwrap_or(&message)
                .to_owned();
            PolicyLoadError::Syntax {
                line,
                column,
                message,
            }
        })?;
        Ok(Policy::compile(&doc)?)
    }

    /// Checks and compiles a policy document.
    pub fn compile(doc: &PolicyDocument) -> Result<Policy, PolicyError> {
        for (field, value) in [("name", &doc.name), ("version", &doc.version)] {
            if value.trim().is_empty() {
                return Err(PolicyError::EmptyField { field });
            }
        }
        if doc.actions.is_empty() {
            return Err(PolicyError::NoActions);
        }
        if doc.actions.len() > MAX_ACTIONS {
            return Err(PolicyError::TooManyActions {
                count: doc.actions.len(),
            });
        }
        let mut areas: Vec<Box<str>> = Vec::new();
        for (index, spec) in doc.actions.iter().enumerate() {
            let area_len =
                valid_action_id(&spec.id).ok_or_else(|| PolicyError::InvalidActionId {
                    index,
                    id: spec.id.clone(),
                })?;
            areas.push(spec.id.get(..area_len).unwrap_or("").into());
        }
        areas.sort();
        areas.dedup();
        let mut actions = Vec::with_capacity(doc.actions.len());
        for (index, spec) in doc.actions.iter().enumerate() {
            actions.push(compile_action(index, spec, &areas)?);
        }
        let mut sorted: Vec<u16> = (0..actions.len())
            .map(|i| u16::try_from(i).unwrap_or(u16::MAX))
            .collect();
        sorted.sort_by(|&a, &b| id_at(&actions, a).cmp(id_at(&actions, b)));
        for pair in sorted.windows(2) {
            if let [a, b] = *pair
                && id_at(&actions, a) == id_at(&actions, b)
            {
                let (first, index) = (usize::from(a.min(b)), usize::from(a.max(b)));
                return Err(PolicyError::DuplicateAction {
                    index,
                    first,
                    id: id_at(&actions, a).to_owned(),
                });
            }
        }
        let custom_roles = compile_custom_roles(&doc.custom_roles, &areas)?;
        let mut quotas = [Quota::DEFAULT; 4];
        for (name, repr) in &doc.quotas {
            let tier: Tier = name
                .parse()
                .map_err(|_| PolicyError::UnknownTier { tier: name.clone() })?;
            let quota = Quota::try_from(*repr).map_err(|error| PolicyError::Quota {
                tier: name.clone(),
                error,
            })?;
            if let Some(slot) = Tier::ALL
                .iter()
                .position(|t| *t == tier)
                .and_then(|i| quotas.get_mut(i))
            {
                *slot = quota;
            }
        }
        Ok(Policy {
            id: policy_id(doc).into(),
            actions: actions.into_boxed_slice(),
            sorted: sorted.into_boxed_slice(),
            areas: areas.into_boxed_slice(),
            custom_roles,
            quotas,
        })
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

    /// Every area, sorted.
    pub fn areas(&self) -> impl ExactSizeIterator<Item = &str> {
        self.areas.iter().map(|a| &**a)
    }

    /// The policy's identifier for audit records:
    /// `<name>@<version>+<12 hex digits of the document's SHA-256>`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Resolves an action id.
    pub fn action(&self, id: &str) -> Option<ActionRef> {
        self.sorted
            .binary_search_by(|&i| match self.actions.get(usize::from(i)) {
                Some(a) => (*a.id).cmp(id),
                None => Ordering::Less,
            })
            .ok()
            .and_then(|pos| self.sorted.get(pos))
            .map(|&i| ActionRef(i))
    }

    /// The definition behind a resolved action. `None` if the handle came from
    /// another policy with more actions.
    pub fn def(&self, action: ActionRef) -> Option<&ActionDef> {
        self.actions.get(usize::from(action.0))
    }

    /// Every action, in document order.
    pub fn actions(&self) -> impl ExactSizeIterator<Item = &ActionDef> {
        self.actions.iter()
    }
}

fn id_at(actions: &[ActionDef], i: u16) -> &str {
    actions.get(usize::from(i)).map_or("", |a| &a.id)
}

fn area_index(areas: &[Box<str>], area: &str) -> Option<u16> {
    areas
        .binary_search_by(|a| (**a).cmp(area))
        .ok()
        .and_then(|i| u16::try_from(i).ok())
}

fn compile_custom_roles(
    specs: &[CustomRoleSpec],
    areas: &[Box<str>],
) -> Result<Box<[CustomRoleDef]>, PolicyError> {
    let mut roles: Vec<(usize, CustomRoleDef)> = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let name = CustomRoleName::new(&spec.name)
            .map_err(|error| PolicyError::CustomRoleName { index, error })?;
        if let Some((first, _)) = roles.iter().find(|(_, r)| r.name == name) {
            return Err(PolicyError::DuplicateCustomRole {
                index,
                first: *first,
                name: spec.name.clone(),
            });
        }
        let list = |list: &'static str, names: &[String]| -> Result<Box<[u16]>, PolicyError> {
            let mut out = Vec::with_capacity(names.len());
            for area in names {
                let i = area_index(areas, area).ok_or_else(|| PolicyError::UnknownArea {
                    index,
                    role: spec.name.clone(),
                    list,
                    area: area.clone(),
                })?;
                if out.contains(&i) {
                    return Err(PolicyError::DuplicateArea {
                        index,
                        role: spec.name.clone(),
                        list,
                        area: area.clone(),
                    });
                }
                out.push(i);
            }
            out.sort_unstable();
            Ok(out.into_boxed_slice())
        };
        let view = list("view", &spec.view)?;
        let edit = list("edit", &spec.edit)?;
        if let Some(area) = spec.edit.iter().find(|a| !spec.view.contains(a)) {
            return Err(PolicyError::EditWithoutView {
                index,
                role: spec.name.clone(),
                area: area.clone(),
            });
        }
        roles.push((index, CustomRoleDef { name, view, edit }));
    }
    let mut roles: Vec<CustomRoleDef> = roles.into_iter().map(|(_, r)| r).collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(roles.into_boxed_slice())
}

fn compile_action(
    index: usize,
    spec: &ActionSpec,
    areas: &[Box<str>],
) -> Result<ActionDef, PolicyError> {
    let area_len = valid_action_id(&spec.id).ok_or_else(|| PolicyError::InvalidActionId {
        index,
        id: spec.id.clone(),
    })?;
    if spec.min_role == "api-user" {
        return Err(PolicyError::ApiUserLevel {
            index,
            id: spec.id.clone(),
        });
    }
    let requirement =
        Requirement::parse(&spec.min_role).ok_or_else(|| PolicyError::UnknownRole {
            index,
            id: spec.id.clone(),
            value: spec.min_role.clone(),
        })?;
    let feature = match &spec.feature {
        None => None,
        Some(f) => Some(
            f.parse::<Feature>()
                .map_err(|_| PolicyError::UnknownFeature {
                    index,
                    id: spec.id.clone(),
                    value: f.clone(),
                })?,
        ),
    };
    if spec.grant_required && !matches!(requirement, Requirement::AtLeast(l) if l >= Level::Manager)
    {
        return Err(PolicyError::GrantBelowManager {
            index,
            id: spec.id.clone(),
        });
    }
    let area = spec
        .id
        .get(..area_len)
        .and_then(|a| area_index(areas, a))
        .unwrap_or(u16::MAX);
    Ok(ActionDef {
        id: spec.id.as_str().into(),
        area_len,
        area,
        kind: spec.kind,
        requirement,
        feature,
        grant_required: spec.grant_required,
    })
}

fn policy_id(doc: &PolicyDocument) -> String {
    // Serialising a struct of strings, enums and bools cannot fail; an empty
    // fallback would still give a stable (if less specific) id.
    let canonical = serde_json::to_vec(doc).unwrap_or_default();
    let d = sha256(b"pw-auth/policy/v1\0", &canonical);
    let mut id = format!("{}@{}+", doc.name, doc.version);
    hex::encode_into(d.get(..6).unwrap_or(&d), &mut id);
    id
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
        assert_eq!(p.actions().len(), 53);
        assert_ne!(p.id(), "deny-all");
        for a in p.actions() {
            let r = p.action(a.id()).unwrap();
            assert_eq!(p.def(r).unwrap(), a);
        }
        assert_eq!(p.action("flows.nope"), None);
        assert_eq!(p.action(""), None);
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
    fn compile_errors_name_the_item() {
        let cases = [
            (serde_json::json!([]), "policy has no actions"),
            (
                serde_json::json!([{"id": "Flows.view", "kind": "view", "min_role": "user"}]),
                "actions[0]: action id `Flows.view` is not of the form `area.verb` (lowercase letters, digits and `-`, at most 64 bytes)",
            ),
            (
                serde_json::json!([
                    {"id": "a.view", "kind": "view", "min_role": "user"},
                    {"id": "b.view", "kind": "view", "min_role": "user"},
                    {"id": "a.view", "kind": "view", "min_role": "user"}
                ]),
                "actions[2]: action `a.view` is listed twice (first at actions[0])",
            ),
            (
                serde_json::json!([{"id": "a.view", "kind": "view", "min_role": "admin"}]),
                "actions[0] (`a.view`): unknown role `admin` in min_role; expected one of `read-only`, `user`, `manager`, `administrator`, `nobody`",
            ),
            (
                serde_json::json!([{"id": "a.edit", "kind": "edit", "min_role": "user", "feature": "gold"}]),
                "actions[0] (`a.edit`): unknown feature `gold`; expected one of `advanced`, `role-manager`",
            ),
            (
                serde_json::json!([{"id": "a.switch", "kind": "edit", "min_role": "user", "grant_required": true}]),
                "actions[0] (`a.switch`): grant_required needs min_role `manager` or `administrator`",
            ),
        ];
        for (actions, want) in cases {
            assert_eq!(
                Policy::compile(&doc(actions)).unwrap_err().to_string(),
                want
            );
        }
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let err = Policy::from_json("{\n  \"name\": \"x\",\n  \"versoin\": \"1\"\n}").unwrap_err();
        match err {
            PolicyLoadError::Syntax { line, .. } => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }
}
