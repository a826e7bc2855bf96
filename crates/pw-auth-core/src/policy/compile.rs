//! Checking a [`PolicyDocument`] and compiling it into a [`Policy`].

use crate::digest::sha256;
use crate::hex;
use crate::limit::Quota;
use crate::role::{CustomRoleName, Level};
use crate::tier::{Feature, Tier};

use super::error::{PolicyError, PolicyErrorKind as K};
use super::{
    ActionDef, ActionSpec, CustomRoleDef, CustomRoleSpec, MAX_ACTION_ID_LEN, MAX_ACTIONS,
    MAX_CUSTOM_ROLES, MAX_ROLE_AREAS, Policy, PolicyDocument, Requirement,
};

/// The length of the area of `id` if it is a valid action id (`area.verb`).
pub(super) fn valid_action_id(id: &str) -> Option<usize> {
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
    /// Checks and compiles a policy document. Errors name the offending item
    /// (`actions[3]`); [`Policy::from_json`] also places them in the text.
    pub fn compile(doc: &PolicyDocument) -> Result<Policy, PolicyError> {
        compile_document(doc).map_err(PolicyError::from)
    }
}

fn compile_document(doc: &PolicyDocument) -> Result<Policy, K> {
    for (field, value) in [("name", &doc.name), ("version", &doc.version)] {
        if value.trim().is_empty() {
            return Err(K::EmptyField { field });
        }
        // `@` and `+` would make the id `<name>@<version>+<hash>` ambiguous.
        if let Some(character) = value
            .chars()
            .find(|&c| c == '@' || c == '+' || c.is_control() || crate::grammar::is_invisible(c))
        {
            return Err(K::NameCharacter { field, character });
        }
    }
    if doc.actions.is_empty() {
        return Err(K::NoActions);
    }
    if doc.actions.len() > MAX_ACTIONS {
        return Err(K::TooManyActions {
            count: doc.actions.len(),
        });
    }
    let mut areas: Vec<Box<str>> = Vec::new();
    for (index, spec) in doc.actions.iter().enumerate() {
        let area_len = valid_action_id(&spec.id).ok_or_else(|| K::InvalidActionId {
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
            return Err(K::DuplicateAction {
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
            .map_err(|_| K::UnknownTier { tier: name.clone() })?;
        let quota = Quota::try_from(*repr).map_err(|error| K::Quota {
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
        index: super::lookup::ActionIndex::build(&actions),
        actions: actions.into_boxed_slice(),
        areas: areas.into_boxed_slice(),
        custom_roles,
        quotas,
    })
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

/// Linear in the size of the document: names are checked for duplicates in a map,
/// areas against a table indexed by area (a 1 MB document of custom roles once took
/// 3.3 s, with a list scanned for every name and every area).
pub(super) fn compile_custom_roles(
    specs: &[CustomRoleSpec],
    areas: &[Box<str>],
) -> Result<Box<[CustomRoleDef]>, K> {
    if specs.len() > MAX_CUSTOM_ROLES {
        return Err(K::TooManyCustomRoles { count: specs.len() });
    }
    let mut roles: Vec<CustomRoleDef> = Vec::with_capacity(specs.len());
    let mut first_of: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(specs.len());
    // Which list of the current role holds each area: bit 0 view, bit 1 edit.
    let mut seen: Vec<u8> = vec![0; areas.len()];
    for (index, spec) in specs.iter().enumerate() {
        let name =
            CustomRoleName::new(&spec.name).map_err(|error| K::CustomRoleName { index, error })?;
        if let Some(&first) = first_of.get(name.as_str()) {
            return Err(K::DuplicateCustomRole {
                index,
                first,
                name: spec.name.clone(),
            });
        }
        first_of.insert(spec.name.as_str(), index);
        let mut list = |list: &'static str, bit: u8, names: &[String]| -> Result<Box<[u16]>, K> {
            if names.len() > MAX_ROLE_AREAS {
                return Err(K::TooManyRoleAreas {
                    index,
                    list,
                    count: names.len(),
                });
            }
            let mut out = Vec::with_capacity(names.len());
            for area in names {
                let i = area_index(areas, area).ok_or_else(|| K::UnknownArea {
                    index,
                    role: spec.name.clone(),
                    list,
                    area: area.clone(),
                })?;
                let slot = seen.get_mut(usize::from(i)).ok_or_else(|| K::UnknownArea {
                    index,
                    role: spec.name.clone(),
                    list,
                    area: area.clone(),
                })?;
                if *slot & bit != 0 {
                    return Err(K::DuplicateArea {
                        index,
                        role: spec.name.clone(),
                        list,
                        area: area.clone(),
                    });
                }
                *slot |= bit;
                out.push(i);
            }
            out.sort_unstable();
            Ok(out.into_boxed_slice())
        };
        let view = list("view", 1, &spec.view);
        let edit = view.and_then(|view| Ok((view, list("edit", 2, &spec.edit)?)));
        // Find an area edited but not viewed, then clear the table for the next role
        // (only the entries this role set), whatever the outcome.
        let missing = match &edit {
            Ok(_) => spec
                .edit
                .iter()
                .find(|a| {
                    area_index(areas, a)
                        .and_then(|i| seen.get(usize::from(i)))
                        .is_some_and(|s| s & 1 == 0)
                })
                .cloned(),
            Err(_) => None,
        };
        for area in spec.view.iter().chain(&spec.edit) {
            if let Some(slot) = area_index(areas, area).and_then(|i| seen.get_mut(usize::from(i))) {
                *slot = 0;
            }
        }
        let (view, edit) = edit?;
        if let Some(area) = missing {
            return Err(K::EditWithoutView {
                index,
                role: spec.name.clone(),
                area,
            });
        }
        roles.push(CustomRoleDef { name, view, edit });
    }
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(roles.into_boxed_slice())
}

fn compile_action(index: usize, spec: &ActionSpec, areas: &[Box<str>]) -> Result<ActionDef, K> {
    let area_len = valid_action_id(&spec.id).ok_or_else(|| K::InvalidActionId {
        index,
        id: spec.id.clone(),
    })?;
    if spec.min_role == "api-user" {
        return Err(K::ApiUserLevel {
            index,
            id: spec.id.clone(),
        });
    }
    let requirement = Requirement::parse(&spec.min_role).ok_or_else(|| K::UnknownRole {
        index,
        id: spec.id.clone(),
        value: spec.min_role.clone(),
    })?;
    let feature = match &spec.feature {
        None => None,
        Some(f) => Some(f.parse::<Feature>().map_err(|_| K::UnknownFeature {
            index,
            id: spec.id.clone(),
            value: f.clone(),
        })?),
    };
    if spec.grant_required && !matches!(requirement, Requirement::AtLeast(l) if l >= Level::Manager)
    {
        return Err(K::GrantBelowManager {
            index,
            id: spec.id.clone(),
        });
    }
    if spec.grant_required && spec.own_company_only {
        return Err(K::ConflictingScope {
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
        own_company_only: spec.own_company_only,
        human_only: spec.human_only,
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
