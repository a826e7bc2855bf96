//! Why a policy could not be built: what is wrong, where, and how to fix it.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::value::RawValue;

use crate::limit::QuotaError;
use crate::names::one_of;
use crate::role::CustomRoleNameError;
use crate::role::Level;
use crate::tier::{Feature, Tier};

use super::{MAX_ACTION_ID_LEN, MAX_ACTIONS, MAX_CUSTOM_ROLES, MAX_POLICY_LEN, MAX_ROLE_AREAS};

/// A character refused in a policy name, described without printing anything a
/// terminal would act on.
fn describe(c: char) -> String {
    match c {
        '@' | '+' => format!("`{c}`"),
        c if c.is_control() => format!("a control character ({})", c.escape_unicode()),
        c => format!(
            "an invisible or direction-changing character ({})",
            c.escape_unicode()
        ),
    }
}

/// A place in policy text: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    line: usize,
    column: usize,
}

impl Location {
    /// The 1-based line.
    pub const fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column, in characters.
    pub const fn column(&self) -> usize {
        self.column
    }

    /// The location of byte `offset` of `text` (clamped to the text, and to a
    /// character boundary at or before it).
    fn of_offset(text: &str, offset: usize) -> Location {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        let before = text.get(..end).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
        Location {
            line: before.matches('\n').count().saturating_add(1),
            column: before
                .get(line_start..)
                .unwrap_or("")
                .chars()
                .count()
                .saturating_add(1),
        }
    }

    /// The location serde_json reports (1-based line, 1-based byte column), in
    /// characters.
    fn of_line_and_byte_column(text: &str, line: usize, byte_column: usize) -> Location {
        let line_start = text
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .fold(0usize, usize::saturating_add);
        let offset = line_start.saturating_add(byte_column.saturating_sub(1));
        Location::of_offset(text, offset)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// What is wrong with a policy. Each variant names the offending item and its place
/// in the document (`actions[3]`, `custom_roles[1]`, `quotas.standard`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// The text is not a well-formed policy document.
    #[error("{message}")]
    Syntax {
        /// What is wrong, as the JSON reader says it.
        message: String,
    },
    /// The name or version is empty.
    #[error("policy {field} is empty")]
    EmptyField {
        /// `name` or `version`.
        field: &'static str,
    },
    /// The name or version holds a character that makes the policy's id
    /// (`<name>@<version>+<hash>`) ambiguous or the name misleading: `@`, `+`, a
    /// control character, or an invisible or direction-changing one.
    #[error("policy {field} contains {}, which it may not", describe(*.character))]
    NameCharacter {
        /// `name` or `version`.
        field: &'static str,
        /// The character.
        character: char,
    },
    /// The text is longer than [`MAX_POLICY_LEN`]; it was not parsed.
    #[error("policy text is {len} bytes long; the limit is {MAX_POLICY_LEN}")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// The document has more than [`MAX_CUSTOM_ROLES`] custom roles.
    #[error("policy has {count} custom roles; the limit is {MAX_CUSTOM_ROLES}")]
    TooManyCustomRoles {
        /// How many.
        count: usize,
    },
    /// A custom role's `view` or `edit` list has more than [`MAX_ROLE_AREAS`] areas.
    #[error("custom_roles[{index}].{list}: {count} areas; the limit is {MAX_ROLE_AREAS}")]
    TooManyRoleAreas {
        /// Position in `custom_roles`.
        index: usize,
        /// `view` or `edit`.
        list: &'static str,
        /// How many.
        count: usize,
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
    #[error("actions[{index}]: action id `{id}` is not of the form `area.verb`")]
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
    #[error("actions[{index}] (`{id}`): unknown role `{value}` in min_role")]
    UnknownRole {
        /// Position in `actions`.
        index: usize,
        /// The action id.
        id: String,
        /// The value given.
        value: String,
    },
    /// `min_role` names the api-user, which is not a level of its own.
    #[error("actions[{index}] (`{id}`): `api-user` is not a level")]
    ApiUserLevel {
        /// Position in `actions`.
        index: usize,
        /// The action id.
        id: String,
    },
    /// `feature` is not a known feature.
    #[error("actions[{index}] (`{id}`): unknown feature `{value}`")]
    UnknownFeature {
        /// Position in `actions`.
        index: usize,
        /// The action id.
        id: String,
        /// The value given.
        value: String,
    },
    /// A grant-only action admits roles below manager, which linked companies never do.
    #[error("actions[{index}] (`{id}`): grant_required with a min_role below `manager`")]
    GrantBelowManager {
        /// Position in `actions`.
        index: usize,
        /// The action id.
        id: String,
    },
    /// An action is marked both grant-only and own-company-only, so nobody could do it.
    #[error("actions[{index}] (`{id}`): both grant_required and own_company_only")]
    ConflictingScope {
        /// Position in `actions`.
        index: usize,
        /// The action id.
        id: String,
    },
    /// A quota is given for a name that is not a tier.
    #[error("quotas: unknown tier `{tier}`")]
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
    #[error("custom_roles[{index}] (`{role}`): edit on `{area}` without view")]
    EditWithoutView {
        /// Position in `custom_roles`.
        index: usize,
        /// The role.
        role: String,
        /// The area.
        area: String,
    },
}

/// One step on the way to the value an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step<'a> {
    /// A member of an object.
    Key(&'a str),
    /// An element of an array.
    Index(usize),
    /// The `n`-th element (from 0) of an array of strings equal to the text.
    Equal(&'a str, usize),
}

impl PolicyErrorKind {
    /// How to fix it, apart from the message.
    fn help(&self) -> Option<String> {
        use PolicyErrorKind as K;
        let text = match self {
            K::Syntax { .. } | K::Quota { .. } => return None,
            K::EmptyField { field } => {
                return Some(format!("give the policy a non-empty `{field}`"));
            }
            K::NameCharacter { field, .. } => {
                return Some(format!(
                    "a policy {field} is printable text without `@` or `+`, e.g. `patchworks-default` or `2026-11-28`"
                ));
            }
            K::TooLarge { .. } => "split the policy, or move custom roles nobody uses out of it",
            K::TooManyCustomRoles { .. } => "remove custom roles nobody uses",
            K::TooManyRoleAreas { .. } => {
                "a role lists each area once; there are not that many areas"
            }
            K::NoActions => "a policy needs at least one action",
            K::TooManyActions { .. } => "split the policy, or remove actions nobody uses",
            K::InvalidActionId { .. } => {
                return Some(format!(
                    "an action id is `area.verb`: each part lowercase letters, digits and `-`, starting with a letter; at most {MAX_ACTION_ID_LEN} bytes"
                ));
            }
            K::DuplicateAction { .. } => "remove one of the two listings",
            K::UnknownRole { .. } => {
                let levels = Level::ALL.map(Level::as_str);
                return Some(format!(
                    "expected one of {}",
                    one_of(levels.into_iter().chain(["nobody"]))
                ));
            }
            K::ApiUserLevel { .. } => "the api-user acts at `manager` level: write `manager`",
            K::UnknownFeature { .. } => {
                return Some(format!(
                    "expected one of {}",
                    one_of(Feature::ALL.map(Feature::as_str))
                ));
            }
            K::GrantBelowManager { .. } => {
                "linked companies admit managers and administrators only: use min_role `manager` or `administrator`"
            }
            K::ConflictingScope { .. } => {
                "an action is either only by grant or only in the own company: remove one of the two"
            }
            K::UnknownTier { .. } => {
                return Some(format!(
                    "expected one of {}",
                    one_of(Tier::ALL.map(Tier::as_str))
                ));
            }
            K::CustomRoleName { .. } => "rename the custom role",
            K::DuplicateCustomRole { .. } => "give each custom role its own name",
            K::UnknownArea { .. } => {
                "an area is the part of an action id before the dot, e.g. `flows` in `flows.view`"
            }
            K::DuplicateArea { .. } => "list each area once",
            K::EditWithoutView { area, .. } => {
                return Some(format!("add `{area}` to view, or remove it from edit"));
            }
        };
        Some(text.to_owned())
    }

    /// The path from the document's root to the value the error is about, as far
    /// as it can be told.
    fn path(&self) -> Vec<Step<'_>> {
        use PolicyErrorKind as K;
        use Step::{Equal, Index, Key};
        let action = |index: usize, field| vec![Key("actions"), Index(index), Key(field)];
        let role = |index: usize| vec![Key("custom_roles"), Index(index)];
        match self {
            K::Syntax { .. } => Vec::new(),
            K::EmptyField { field } | K::NameCharacter { field, .. } => vec![Key(field)],
            K::TooLarge { .. } => Vec::new(),
            K::TooManyCustomRoles { .. } => vec![Key("custom_roles")],
            K::TooManyRoleAreas { index, list, .. } => {
                let mut p = role(*index);
                p.push(Key(list));
                p
            }
            K::NoActions | K::TooManyActions { .. } => vec![Key("actions")],
            K::InvalidActionId { index, .. } | K::DuplicateAction { index, .. } => {
                action(*index, "id")
            }
            K::UnknownRole { index, .. } | K::ApiUserLevel { index, .. } => {
                action(*index, "min_role")
            }
            K::UnknownFeature { index, .. } => action(*index, "feature"),
            K::GrantBelowManager { index, .. } => action(*index, "grant_required"),
            K::ConflictingScope { index, .. } => action(*index, "own_company_only"),
            K::UnknownTier { tier } => vec![Key("quotas"), Key(tier)],
            K::Quota { tier, error } => {
                let field = match error {
                    QuotaError::Zero { field } => field,
                    QuotaError::Period { .. } => "period_secs",
                    QuotaError::TooFine => "limit",
                };
                vec![Key("quotas"), Key(tier), Key(field)]
            }
            K::CustomRoleName { index, .. } | K::DuplicateCustomRole { index, .. } => {
                let mut p = role(*index);
                p.push(Key("name"));
                p
            }
            K::UnknownArea {
                index, list, area, ..
            } => {
                let mut p = role(*index);
                p.extend([Key(list), Equal(area, 0)]);
                p
            }
            K::DuplicateArea {
                index, list, area, ..
            } => {
                let mut p = role(*index);
                p.extend([Key(list), Equal(area, 1)]);
                p
            }
            K::EditWithoutView { index, area, .. } => {
                let mut p = role(*index);
                p.extend([Key("edit"), Equal(area, 0)]);
                p
            }
        }
    }
}

/// Why a policy could not be built: what is wrong ([`PolicyError::kind`]), where in
/// the text ([`PolicyError::location`], when built from text), and how to fix it
/// ([`PolicyError::help`]). Its message is the kind's, prefixed by the location.
///
/// ```
/// use pw_auth_core::Policy;
/// let text = r#"{
///   "name": "mine", "version": "1",
///   "actions": [
///     {"id": "flows.view", "kind": "view", "min_role": "admin"}
///   ]
/// }"#;
/// let err = Policy::from_json(text).unwrap_err();
/// assert_eq!(err.to_string(), "line 4, column 54: actions[0] (`flows.view`): unknown role `admin` in min_role");
/// assert_eq!((err.location().unwrap().line(), err.location().unwrap().column()), (4, 54));
/// assert_eq!(
///     err.help().as_deref(),
///     Some("expected one of `read-only`, `user`, `manager`, `administrator`, `nobody`")
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    kind: PolicyErrorKind,
    location: Option<Location>,
}

impl PolicyError {
    /// What is wrong.
    pub fn kind(&self) -> &PolicyErrorKind {
        &self.kind
    }

    /// Where in the policy text, when the policy was built from text.
    pub fn location(&self) -> Option<Location> {
        self.location
    }

    /// How to fix it, when there is more to say than the message.
    pub fn help(&self) -> Option<String> {
        self.kind.help()
    }

    pub(super) fn syntax(text: &str, e: &serde_json::Error) -> PolicyError {
        let (line, column) = (e.line(), e.column());
        let message = e.to_string();
        let message = message
            .strip_suffix(&format!(" at line {line} column {column}"))
            .unwrap_or(&message)
            .to_owned();
        PolicyError {
            kind: PolicyErrorKind::Syntax { message },
            location: Some(Location::of_line_and_byte_column(text, line, column)),
        }
    }

    /// The same error, placed in `text` (the document it was compiled from).
    pub(super) fn located_in(mut self, text: &str) -> PolicyError {
        self.location = locate(text, &self.kind.path());
        self
    }

    /// The same error of a lone custom role (`custom_roles[0]` of a document), placed
    /// in `text`, that role's own definition.
    pub(super) fn located_in_role(mut self, text: &str) -> PolicyError {
        let path = self.kind.path();
        let within = match path.as_slice() {
            [Step::Key("custom_roles"), Step::Index(0), rest @ ..] => rest,
            _ => &[],
        };
        self.location = locate(text, within);
        self
    }
}

impl From<PolicyErrorKind> for PolicyError {
    fn from(kind: PolicyErrorKind) -> PolicyError {
        PolicyError {
            kind,
            location: None,
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some(at) => write!(f, "{at}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for PolicyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            PolicyErrorKind::Quota { error, .. } => Some(error),
            PolicyErrorKind::CustomRoleName { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Where the value at `path` starts in `text`, a well-formed policy document: as
/// far down the path as it goes (a missing step leaves the location at its parent).
/// `None` for an empty path.
fn locate(text: &str, path: &[Step<'_>]) -> Option<Location> {
    if path.is_empty() {
        return None;
    }
    let mut here: &RawValue = serde_json::from_str(text).ok()?;
    for step in path {
        match step_into(here, *step) {
            Some(next) => here = next,
            None => break,
        }
    }
    Some(Location::of_offset(text, offset_in(text, here.get())?))
}

fn step_into<'a>(value: &'a RawValue, step: Step<'_>) -> Option<&'a RawValue> {
    match step {
        Step::Key(key) => {
            let object: BTreeMap<String, &'a RawValue> = serde_json::from_str(value.get()).ok()?;
            object.get(key).copied()
        }
        Step::Index(index) => {
            let items: Vec<&'a RawValue> = serde_json::from_str(value.get()).ok()?;
            items.get(index).copied()
        }
        Step::Equal(text, n) => {
            let items: Vec<&'a RawValue> = serde_json::from_str(value.get()).ok()?;
            items
                .into_iter()
                .filter(|item| serde_json::from_str::<String>(item.get()).is_ok_and(|s| s == text))
                .nth(n)
        }
    }
}

/// The byte offset of `part` in `text`, when `part` is a slice of `text` (as every
/// borrowed [`RawValue`] of it is).
fn offset_in(text: &str, part: &str) -> Option<usize> {
    let offset = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    (offset.checked_add(part.len())? <= text.len()).then_some(offset)
}

#[cfg(test)]
mod tests;
