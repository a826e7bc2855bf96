//! Policy documents: the serde form of a policy, before it is checked.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::limit::QuotaRepr;
use crate::role::Level;

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

    pub(crate) fn parse(s: &str) -> Option<Requirement> {
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
    /// Whether the action is only ever allowed in the principal's own company, never
    /// by a grant for a linked one (deleting the company, its role manager).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_company_only: bool,
    /// Whether only a person may do it, never an API key's api-user: by default the
    /// actions that create, revoke or delete keys and create or update users, so that
    /// a credential cannot mint credentials (`docs/design.md`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub human_only: bool,
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
    /// Usage quotas by tier name; a tier not listed gets [`Quota::DEFAULT`](crate::Quota::DEFAULT).
    /// A tier given twice in the text is refused (a map would keep the last).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_keys"
    )]
    pub quotas: BTreeMap<String, QuotaRepr>,
}

/// A JSON object into a map, refusing a key given twice: serde's maps keep the last
/// value silently, and other JSON readers keep the first.
fn unique_keys<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Unique<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of quotas by tier")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            let mut map = BTreeMap::new();
            while let Some(key) = a.next_key::<String>()? {
                if map.contains_key(&key) {
                    return Err(serde::de::Error::custom(format_args!(
                        "the tier `{}` is given more than once",
                        key.escape_debug()
                    )));
                }
                let value = a.next_value()?;
                map.insert(key, value);
            }
            Ok(map)
        }
    }
    d.deserialize_map(Unique(std::marker::PhantomData))
}
