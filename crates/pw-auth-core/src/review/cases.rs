//! Expected decisions, written down and checked: a file of cases (JSON Lines) that a
//! policy must decide as stated, so that a change that moves one fails a test.
//!
//! ```text
//! {"role": "manager", "action": "flows.deploy", "tier": "professional", "place": "own_company", "expect": "allow"}
//! {"custom_role": "ops", "action": "flows.edit", "tier": "enterprise", "place": "own_company", "expect": "deny", "reason": "custom_role_lacks"}
//! {"role": "api-user", "scope": {"view": ["flows"]}, "action": "flows.deploy", "tier": "trial", "place": "own_company", "expect": "deny", "reason": "outside_key_scope"}
//! ```

use std::collections::HashMap;

use serde::Deserialize;

use super::table::{Cell, Place, Subject, Verdict, scoped_key};
use crate::decision::Effect;
use crate::policy::Policy;
use crate::role::{CustomRoleName, Role};
use crate::scope::{KeyScope, ScopeError};
use crate::tier::Tier;

/// One expected decision, as written in a cases file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    custom_role: Option<String>,
    /// For `"role": "api-user"`: the key's scope, as a key would be minted with.
    #[serde(default)]
    scope: Option<KeyScope>,
    action: String,
    tier: Tier,
    place: Place,
    expect: Expect,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Expect {
    Allow,
    Deny,
}

/// Why a cases file cannot be run. Each names the line (1-based) of the case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaseError {
    /// The line is not a case: not JSON, a missing or unknown field, a wrong value.
    #[error("line {line}: not a case: {message}")]
    Malformed {
        /// The line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A case names both a role and a custom role, or neither.
    #[error("line {line}: a case names exactly one of `role` and `custom_role`")]
    Subject {
        /// The line.
        line: usize,
    },
    /// A role that is not one of the standard roles.
    #[error("line {line}: unknown role `{role}`")]
    UnknownRole {
        /// The line.
        line: usize,
        /// The name given.
        role: String,
    },
    /// A custom role the policy does not define.
    #[error("line {line}: the policy has no custom role `{name}`")]
    UnknownCustomRole {
        /// The line.
        line: usize,
        /// The name given.
        name: String,
    },
    /// A case gives a scope to a subject that is not an API key's api-user.
    #[error("line {line}: only an api key (`\"role\": \"api-user\"`) has a scope")]
    ScopeWithoutKey {
        /// The line.
        line: usize,
    },
    /// A case's scope is not one a key could be minted with for this policy.
    #[error("line {line}: {error}")]
    Scope {
        /// The line.
        line: usize,
        /// What is wrong with the scope.
        error: ScopeError,
    },
    /// An action the policy does not define.
    #[error("line {line}: the policy has no action `{action}`")]
    UnknownAction {
        /// The line.
        line: usize,
        /// The action given.
        action: String,
    },
}

/// A case the policy decides otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    /// The case's line in the file (1-based).
    pub line: usize,
    /// The case's cell.
    pub subject: Subject,
    /// The action.
    pub action: String,
    /// The tier.
    pub tier: Tier,
    /// The place.
    pub place: Place,
    /// What the case expects: the effect, and the reason's kind if it names one.
    pub expected: (Effect, Option<String>),
    /// What the policy decides.
    pub actual: Verdict,
}

impl std::fmt::Display for CaseFailure {
    /// `line 3: manager, flows.deploy, own company, tier trial: expected allow, got deny (grant_required)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let effect = |e: Effect| match e {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        };
        write!(
            f,
            "line {}: {}, {}, {}, tier {}: expected {}",
            self.line,
            self.subject,
            self.action,
            self.place,
            self.tier,
            effect(self.expected.0)
        )?;
        if let Some(reason) = &self.expected.1 {
            write!(f, " ({reason})")?;
        }
        write!(
            f,
            ", got {} ({})",
            effect(self.actual.effect),
            self.actual.code()
        )
    }
}

/// What running a cases file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReport {
    /// How many cases were run.
    pub cases: usize,
    /// The cases the policy decides otherwise, in file order.
    pub failures: Vec<CaseFailure>,
}

impl CaseReport {
    /// Whether every case held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl Policy {
    /// Runs a cases file (JSON Lines, one expected decision a line; blank lines and
    /// lines starting with `#` are skipped) against this policy: the cases it decides
    /// otherwise, or an error naming the line of a case that cannot be run (a case
    /// naming an unknown action, role or custom role is an error, never a silent
    /// deny). For users' own tests:
    ///
    /// ```
    /// use pw_auth_core::Policy;
    /// let cases = r#"
    /// {"role": "manager", "action": "flows.deploy", "tier": "professional", "place": "own_company", "expect": "allow"}
    /// {"role": "api-user", "action": "blueprints.publish", "tier": "enterprise", "place": "own_company", "expect": "deny", "reason": "administrator_only"}
    /// {"role": "api-user", "scope": {"actions": ["flows.deploy"]}, "action": "flows.deploy", "tier": "trial", "place": "own_company", "expect": "allow"}
    /// {"role": "api-user", "scope": {"actions": ["flows.deploy"]}, "action": "flows.edit", "tier": "trial", "place": "own_company", "expect": "deny", "reason": "outside_key_scope"}
    /// "#;
    /// let report = Policy::default_policy().run_cases(cases)?;
    /// assert!(report.passed(), "{:?}", report.failures);
    /// # Ok::<(), pw_auth_core::review::CaseError>(())
    /// ```
    pub fn run_cases(&self, text: &str) -> Result<CaseReport, CaseError> {
        let table = self.decision_table();
        let index: HashMap<(String, &str, Tier, Place), &Cell> = table
            .cells()
            .iter()
            .map(|c| {
                (
                    (c.subject.to_string(), c.action.as_str(), c.tier, c.place),
                    c,
                )
            })
            .collect();
        let mut report = CaseReport {
            cases: 0,
            failures: Vec::new(),
        };
        for (i, raw) in text.lines().enumerate() {
            let line = i.saturating_add(1);
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let case: CaseSpec =
                serde_json::from_str(trimmed).map_err(|e| CaseError::Malformed {
                    line,
                    message: e.to_string(),
                })?;
            let subject = match (&case.role, &case.custom_role) {
                (Some(role), None) => {
                    Subject::Role(role.parse::<Role>().map_err(|_| CaseError::UnknownRole {
                        line,
                        role: role.clone(),
                    })?)
                }
                (None, Some(name)) => {
                    let unknown = || CaseError::UnknownCustomRole {
                        line,
                        name: name.clone(),
                    };
                    let name = CustomRoleName::new(name).map_err(|_| unknown())?;
                    if self.custom_role(&name).is_none() {
                        return Err(unknown());
                    }
                    Subject::Custom(name)
                }
                _ => return Err(CaseError::Subject { line }),
            };
            if self.action(&case.action).is_none() {
                return Err(CaseError::UnknownAction {
                    line,
                    action: case.action,
                });
            }
            let key = (
                subject.to_string(),
                case.action.as_str(),
                case.tier,
                case.place,
            );
            let Some(cell) = index.get(&key) else {
                return Err(CaseError::UnknownAction {
                    line,
                    action: case.action,
                });
            };
            let verdict = match case.scope {
                None => cell.verdict,
                Some(_) if subject != Subject::Role(Role::ApiUser) => {
                    return Err(CaseError::ScopeWithoutKey { line });
                }
                Some(scope) => {
                    scope
                        .check(self)
                        .map_err(|error| CaseError::Scope { line, error })?;
                    self.verdict(&scoped_key(scope), &case.action, case.tier, case.place)
                }
            };
            report.cases = report.cases.saturating_add(1);
            let expected = match case.expect {
                Expect::Allow => Effect::Allow,
                Expect::Deny => Effect::Deny,
            };
            let reason_ok = case
                .reason
                .as_deref()
                .is_none_or(|r| r == verdict.reason.kind() || r == verdict.code());
            if verdict.effect != expected || !reason_ok {
                report.failures.push(CaseFailure {
                    line,
                    subject,
                    action: case.action.clone(),
                    tier: case.tier,
                    place: case.place,
                    expected: (expected, case.reason.clone()),
                    actual: verdict,
                });
            }
        }
        Ok(report)
    }
}
