//! A policy's whole decision table, as a value: what it decides for every role and
//! custom role, every action, every tier, and every place a request can act in. Users
//! snapshot it to review a policy change, and [`Policy::diff`] names the cells a
//! change moved.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::decision::{Effect, Reason, Request, authorize};
use crate::id::{ApiKeyId, CompanyId, TokenId, UserId};
use crate::lifetime::Leeway;
use crate::policy::Policy;
use crate::principal::Principal;
use crate::role::{CustomRoleName, Role};
use crate::scope::KeyScope;
use crate::tier::Tier;

/// Who a row of the table is about: a standard role (the api-user with its API key,
/// the others with a bearer token), a custom role (with a bearer token), or an API key
/// narrowed by a named scope ([`Policy::decision_table_with_scopes`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A standard role.
    Role(Role),
    /// A custom role of the policy.
    Custom(CustomRoleName),
    /// An API key narrowed by the scope of this name.
    ScopedKey(String),
}

impl fmt::Display for Subject {
    /// `manager`, `custom:integration-lead`, or `key:deployer`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Role(r) => f.write_str(r.as_str()),
            Subject::Custom(name) => write!(f, "custom:{name}"),
            Subject::ScopedKey(name) => write!(f, "key:{name}"),
        }
    }
}

impl Serialize for Subject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Where a request acts, seen from the principal's company.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// The principal's own company.
    OwnCompany,
    /// A company linked to it, for which the principal holds a grant.
    LinkedWithGrant,
    /// A company linked to it, without a grant.
    LinkedWithoutGrant,
}

impl Place {
    /// Every place, in table order.
    pub const ALL: [Place; 3] = [
        Place::OwnCompany,
        Place::LinkedWithGrant,
        Place::LinkedWithoutGrant,
    ];
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Place::OwnCompany => "own company",
            Place::LinkedWithGrant => "linked company, with a grant",
            Place::LinkedWithoutGrant => "linked company, without a grant",
        })
    }
}

/// What a cell decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Allow or deny.
    pub effect: Effect,
    /// Why.
    pub reason: Reason,
}

impl Verdict {
    /// The short form used in the table's text: [`Reason::code`].
    pub fn code(&self) -> String {
        self.reason.code()
    }
}

/// One cell: a subject, an action, a tier and a place, and what the policy decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// Who.
    pub subject: Subject,
    /// The action id.
    pub action: String,
    /// The tier of the company acted in.
    pub tier: Tier,
    /// Where.
    pub place: Place,
    /// The decision.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// A policy's whole decision table: every subject × action × tier × place. Its
/// `Display` is a stable text for review (one section per place and tier, a row per
/// action, a column per subject); it serialises to JSON as
/// `{"policy": …, "cells": [{"subject", "action", "tier", "place", "effect", "reason"}]}`.
///
/// ```
/// use pw_auth_core::Policy;
/// let table = Policy::default_policy().decision_table();
/// let text = table.to_string();
/// assert!(text.starts_with("policy: patchworks-default@"));
/// // In a user's tests: insta::assert_snapshot!(policy.decision_table().to_string());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionTable {
    policy: String,
    cells: Vec<Cell>,
}

/// The instant the table is decided at: inside the fixed principals' lifetime, so no
/// cell is about expiry.
const AT: OffsetDateTime = datetime!(2000-01-01 0:00 UTC);
const EXPIRES: OffsetDateTime = datetime!(2000-01-02 0:00 UTC);

impl DecisionTable {
    /// The id of the policy it was made from.
    pub fn policy_id(&self) -> &str {
        &self.policy
    }

    /// Every cell, in table order: place, tier, action (the policy's order), subject.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The cell for a subject, action, tier and place, if the table has one.
    pub fn cell(&self, subject: &Subject, action: &str, tier: Tier, place: Place) -> Option<&Cell> {
        self.cells.iter().find(|c| {
            &c.subject == subject && c.action == action && c.tier == tier && c.place == place
        })
    }
}

fn subjects(policy: &Policy) -> Vec<Subject> {
    Role::ALL
        .into_iter()
        .map(Subject::Role)
        .chain(
            policy
                .custom_roles()
                .map(|r| Subject::Custom(r.name().clone())),
        )
        .collect()
}

/// The company the table's principals belong to.
const HOME: &str = "home";
/// The company linked to [`HOME`].
const LINKED: &str = "linked";

/// The principal a scoped API key of [`HOME`] is decided as.
pub(super) fn scoped_key(scope: KeyScope) -> Principal {
    Principal::api_key(
        UserId::known("table-user"),
        CompanyId::known(HOME),
        ApiKeyId::known("table-key"),
        None,
    )
    .with_scope(Some(std::sync::Arc::new(scope)))
}

impl Policy {
    /// What this policy decides for `principal` (of [`HOME`]) asking for `action` on
    /// `tier` at `place`.
    pub(super) fn verdict(
        &self,
        principal: &Principal,
        action: &str,
        tier: Tier,
        place: Place,
    ) -> Verdict {
        let home = CompanyId::known(HOME);
        let linked = CompanyId::known(LINKED);
        let grants = [linked.clone()];
        let request = match place {
            Place::OwnCompany => Request::new(action, &home, tier),
            Place::LinkedWithGrant => Request::new(action, &linked, tier)
                .with_parent(&home)
                .with_grants(&grants),
            Place::LinkedWithoutGrant => Request::new(action, &linked, tier).with_parent(&home),
        };
        let decision = authorize(self, principal, &request, AT);
        Verdict {
            effect: decision.effect(),
            reason: decision.reason(),
        }
    }
}

/// The principal a subject is decided as.
fn principal(subject: &Subject, home: &CompanyId) -> Option<Principal> {
    let user = UserId::known("table-user");
    match subject {
        Subject::Role(Role::ApiUser) => Some(Principal::api_key(
            user,
            home.clone(),
            ApiKeyId::known("table-key"),
            None,
        )),
        Subject::Role(role) => Principal::bearer(
            user,
            home.clone(),
            *role,
            TokenId::known("table-token"),
            EXPIRES,
            Leeway::ZERO,
        ),
        // A custom role's decisions do not depend on the standard role under it.
        Subject::Custom(name) => Principal::bearer(
            user,
            home.clone(),
            Role::User,
            TokenId::known("table-token"),
            EXPIRES,
            Leeway::ZERO,
        )
        .and_then(|p| p.with_custom_role(name.clone())),
        // Its scope is the table's to give ([`scoped_key`]), not the name's.
        Subject::ScopedKey(_) => None,
    }
}

impl Policy {
    /// The whole decision table (see [`DecisionTable`]): for every standard and
    /// custom role, action, tier and place, what [`authorize`] decides.
    pub fn decision_table(&self) -> DecisionTable {
        self.decision_table_with_scopes(&[])
    }

    /// [`Policy::decision_table`] with a column for an API key narrowed by each of
    /// `scopes` (named, in the order given) after the standard and custom roles: what
    /// a key minted with that scope is allowed, cell by cell. A scope is used as it is
    /// (check it with [`KeyScope::check`] as a key's would be).
    ///
    /// ```
    /// use pw_auth_core::{KeyScope, Policy, Tier, review::{Place, Subject}};
    /// let deployer = KeyScope { actions: vec!["flows.deploy".into()], ..KeyScope::default() };
    /// let table = Policy::default_policy().decision_table_with_scopes(&[("deployer".into(), deployer)]);
    /// let key = Subject::ScopedKey("deployer".into());
    /// let cell = |action| table.cell(&key, action, Tier::Trial, Place::OwnCompany).unwrap().verdict.code();
    /// assert_eq!(cell("flows.deploy"), "allowed");
    /// assert_eq!(cell("flows.view"), "outside_key_scope");
    /// assert_eq!(cell("blueprints.publish"), "administrator_only");
    /// ```
    pub fn decision_table_with_scopes(&self, scopes: &[(String, KeyScope)]) -> DecisionTable {
        let home = CompanyId::known(HOME);
        let subjects: Vec<(Subject, Option<Principal>)> = subjects(self)
            .into_iter()
            .map(|s| {
                let p = principal(&s, &home);
                (s, p)
            })
            .chain(scopes.iter().map(|(name, scope)| {
                (
                    Subject::ScopedKey(name.clone()),
                    Some(scoped_key(scope.clone())),
                )
            }))
            .collect();
        let mut cells = Vec::new();
        for place in Place::ALL {
            for tier in Tier::ALL {
                for action in self.actions() {
                    for (subject, principal) in &subjects {
                        // Every subject has a principal (the constructors refuse only
                        // an api-user bearer or custom role, never built here).
                        let Some(principal) = principal else {
                            continue;
                        };
                        cells.push(Cell {
                            subject: subject.clone(),
                            action: action.id().to_owned(),
                            tier,
                            place,
                            verdict: self.verdict(principal, action.id(), tier, place),
                        });
                    }
                }
            }
        }
        DecisionTable {
            policy: self.id().to_owned(),
            cells,
        }
    }

    /// The cells whose decision or reason differ between this policy (`before`) and
    /// `after`, with both verdicts; a cell only one of them has (an action or custom
    /// role added or removed) comes with `None` on the other side. Empty when the two
    /// decide the same everywhere, whatever their texts.
    pub fn diff(&self, after: &Policy) -> Vec<CellChange> {
        self.diff_with_scopes(after, &[])
    }

    /// [`Policy::diff`] with the columns of API keys narrowed by `scopes`
    /// ([`Policy::decision_table_with_scopes`]): the cells a change moves for keys
    /// minted with those scopes too.
    pub fn diff_with_scopes(
        &self,
        after: &Policy,
        scopes: &[(String, KeyScope)],
    ) -> Vec<CellChange> {
        // Table order: place, tier, action id, then subjects as the columns go.
        type Key = (Place, Tier, String, (usize, String));
        let rank = |s: &Subject| match s {
            Subject::Role(r) => (
                Role::ALL.iter().position(|x| x == r).unwrap_or(0),
                String::new(),
            ),
            Subject::Custom(name) => (Role::ALL.len(), name.as_str().to_owned()),
            Subject::ScopedKey(name) => (
                Role::ALL.len().saturating_add(1),
                scopes
                    .iter()
                    .position(|(n, _)| n == name)
                    .map_or_else(|| name.clone(), |i| format!("{i:08}")),
            ),
        };
        let key = |c: &Cell| (c.place, c.tier, c.action.clone(), rank(&c.subject));
        let before_table = self.decision_table_with_scopes(scopes);
        let after_table = after.decision_table_with_scopes(scopes);
        let mut merged: BTreeMap<Key, (Option<&Cell>, Option<&Cell>)> = BTreeMap::new();
        for c in before_table.cells() {
            merged.entry(key(c)).or_default().0 = Some(c);
        }
        for c in after_table.cells() {
            merged.entry(key(c)).or_default().1 = Some(c);
        }
        merged
            .into_values()
            .filter_map(|pair| {
                let (before, after) = pair;
                let cell = before.or(after)?;
                let (b, a) = (before.map(|c| c.verdict), after.map(|c| c.verdict));
                (b != a).then(|| CellChange {
                    subject: cell.subject.clone(),
                    action: cell.action.clone(),
                    tier: cell.tier,
                    place: cell.place,
                    before: b,
                    after: a,
                })
            })
            .collect()
    }
}

/// A cell that a policy change moved (see [`Policy::diff`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellChange {
    /// Who.
    pub subject: Subject,
    /// The action id.
    pub action: String,
    /// The tier.
    pub tier: Tier,
    /// Where.
    pub place: Place,
    /// The old policy's verdict; `None` if it has no such cell.
    pub before: Option<Verdict>,
    /// The new policy's verdict; `None` if it has no such cell.
    pub after: Option<Verdict>,
}

impl fmt::Display for DecisionTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "policy: {}", self.policy)?;
        // The subjects in column order, as the first section holds them.
        let mut columns: Vec<&Subject> = Vec::new();
        for c in &self.cells {
            if columns.contains(&&c.subject) {
                break;
            }
            columns.push(&c.subject);
        }
        let width = columns.len().max(1);
        let action_width = self
            .cells
            .iter()
            .map(|c| c.action.len())
            .max()
            .unwrap_or(0)
            .max("action".len());
        let code_width = self
            .cells
            .iter()
            .map(|c| c.verdict.code().len())
            .chain(columns.iter().map(|s| s.to_string().len()))
            .max()
            .unwrap_or(0);
        let mut section = None;
        for row in self.cells.chunks(width) {
            let Some(first) = row.first() else {
                continue;
            };
            if section != Some((first.place, first.tier)) {
                section = Some((first.place, first.tier));
                writeln!(f, "\n## {}, tier {}", first.place, first.tier)?;
                let mut header = format!("{:<action_width$}", "action");
                for s in &columns {
                    header.push_str(&format!("  {:<code_width$}", s.to_string()));
                }
                writeln!(f, "{}", header.trim_end())?;
            }
            let mut line = format!("{:<action_width$}", first.action);
            for c in row {
                line.push_str(&format!("  {:<code_width$}", c.verdict.code()));
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

impl CellChange {
    /// The two sides as the text forms show them: each verdict's code, spelled out
    /// with its reason when both codes read the same (an allow under another minimum
    /// role), and `(no such cell)` for a side that has none.
    pub fn sides(&self) -> (String, String) {
        let same_code = self.before.map(|v| v.code()) == self.after.map(|v| v.code());
        let show = |v: &Option<Verdict>| match v {
            None => "(no such cell)".to_owned(),
            Some(v) if same_code => format!("{} ({})", v.code(), v.reason),
            Some(v) => v.code(),
        };
        (show(&self.before), show(&self.after))
    }
}

impl fmt::Display for CellChange {
    /// `flows.edit, manager, own company, tier trial: allowed → administrator_only`,
    /// with [`CellChange::sides`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (before, after) = self.sides();
        write!(
            f,
            "{}, {}, {}, tier {}: {before} → {after}",
            self.action, self.subject, self.place, self.tier
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed ids the table's principals use are valid ids.
    #[test]
    fn the_known_ids_are_valid() {
        assert!(UserId::new("table-user").is_ok());
        assert!(ApiKeyId::new("table-key").is_ok());
        assert!(TokenId::new("table-token").is_ok());
        assert!(CompanyId::new("home").is_ok() && CompanyId::new("linked").is_ok());
    }

    /// Every subject gets a principal, so no cell is skipped; cells are found by
    /// their four coordinates.
    #[test]
    fn every_subject_is_decided_and_found() {
        let mut doc: crate::PolicyDocument =
            serde_json::from_str(Policy::default_document_json()).unwrap();
        doc.custom_roles = vec![crate::CustomRoleSpec {
            name: "lead".into(),
            view: vec!["flows".into()],
            edit: vec![],
        }];
        let policy = Policy::compile(&doc).unwrap();
        let table = policy.decision_table();
        assert_eq!(table.policy_id(), policy.id());
        assert_eq!(table.cells().len(), 6 * policy.actions().len() * 4 * 3);
        let lead = Subject::Custom(CustomRoleName::new("lead").unwrap());
        let c = table
            .cell(&lead, "flows.view", Tier::Enterprise, Place::OwnCompany)
            .unwrap();
        assert_eq!(c.verdict.code(), "allowed_by_custom_role");
        let c = table
            .cell(&lead, "flows.view", Tier::Professional, Place::OwnCompany)
            .unwrap();
        assert_eq!(c.verdict.code(), "tier_excludes:role-manager");
        assert_eq!(
            (c.tier, c.place, c.action.as_str()),
            (Tier::Professional, Place::OwnCompany, "flows.view")
        );
        let c = table
            .cell(
                &Subject::Role(Role::ApiUser),
                "flows.view",
                Tier::Trial,
                Place::LinkedWithGrant,
            )
            .unwrap();
        assert_eq!(c.verdict.code(), "api_user_own_company_only");
        assert!(
            table
                .cell(&lead, "flows.nope", Tier::Trial, Place::OwnCompany)
                .is_none()
        );
        assert_eq!(lead.to_string(), "custom:lead");
        assert_eq!(
            Place::LinkedWithoutGrant.to_string(),
            "linked company, without a grant"
        );
    }
}
