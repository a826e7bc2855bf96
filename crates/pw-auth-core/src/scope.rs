//! An API key's scope: what a key may do, narrower than its api-user's manager
//! level — a list of action ids and per-area view and edit toggles (the shape custom
//! roles have). A scope only ever narrows: it is checked after the role, so a scoped
//! key's decisions are a subset of the same key's unscoped ones.

use serde::{Deserialize, Serialize};

use crate::policy::{ActionDef, ActionKind, Policy, Requirement};
use crate::role::Level;

/// The most entries a scope's `actions`, `view` or `edit` list may hold.
pub const MAX_SCOPE_ENTRIES: usize = 1_024;

/// What an API key may do, within what its api-user may: the actions named in
/// `actions`, the view actions of the areas in `view`, the edit actions of the areas
/// in `edit`. Anything else is denied with
/// [`Reason::OutsideKeyScope`](crate::Reason::OutsideKeyScope).
///
/// ```
/// use pw_auth_core::*;
/// use time::macros::datetime;
/// let now = datetime!(2026-12-07 12:00 UTC);
/// let policy = Policy::default_policy();
/// let acme = CompanyId::new("acme")?;
/// let scope = KeyScope { actions: vec!["flows.deploy".into()], view: vec!["flows".into()], ..KeyScope::default() };
/// scope.check(&policy)?;
/// let random: Vec<u8> = (1..=16).collect(); // use a CSPRNG in real code
/// let minted = mint_api_key(&acme, KeyLabel::new("deployer")?, &random, now)?.scoped(scope);
/// let key = Authenticator::default().api_key(&minted.key, Lookup::Found(&minted.record), Some(&minted.user), now)?;
/// let ask = |action| authorize(&policy, &key, &Request::new(action, &acme, Tier::Professional), now);
/// assert!(ask("flows.deploy").is_allowed());
/// assert!(ask("flows.view").is_allowed());
/// assert_eq!(ask("flows.delete").reason(), Reason::OutsideKeyScope { action_kind: ActionKind::Edit });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyScope {
    /// Action ids the key may perform, e.g. `flows.deploy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// Areas whose view actions the key may perform, e.g. `flows`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub view: Vec<String>,
    /// Areas whose edit actions the key may perform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edit: Vec<String>,
}

/// Why a scope is not acceptable for a policy. Never a silent grant: a scope with an
/// unknown name is refused when the key is minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// The scope allows nothing.
    #[error("the scope allows nothing; name actions or areas")]
    Empty,
    /// A list holds more than [`MAX_SCOPE_ENTRIES`] entries.
    #[error("the scope's `{list}` list holds {len} entries; the most is {MAX_SCOPE_ENTRIES}")]
    TooLarge {
        /// `actions`, `view` or `edit`.
        list: &'static str,
        /// How many it holds.
        len: usize,
    },
    /// An action id the policy does not have.
    #[error("the scope names `{action}`, which is not an action of the policy")]
    UnknownAction {
        /// The id.
        action: String,
    },
    /// An action an API key may never perform (above manager level, platform support
    /// only, or only a person's): naming it would suggest a grant that cannot be.
    #[error("the scope names `{action}`, which an api key may never do")]
    NeverAllowed {
        /// The id.
        action: String,
    },
    /// An area the policy does not have.
    #[error("the scope names the area `{area}`, which is not an area of the policy")]
    UnknownArea {
        /// The area.
        area: String,
    },
}

impl KeyScope {
    /// Whether the scope allows `action`: named in `actions`, or its area toggled for
    /// its kind. Allocates nothing.
    pub fn allows(&self, action: &ActionDef) -> bool {
        let areas = match action.kind() {
            ActionKind::View => &self.view,
            ActionKind::Edit => &self.edit,
        };
        self.actions.iter().any(|a| a == action.id()) || areas.iter().any(|a| a == action.area())
    }

    /// Checks the scope against `policy`: not empty, within [`MAX_SCOPE_ENTRIES`], every
    /// action one the policy has and an API key could ever do, every area one of the
    /// policy's. Check it when a key is minted; a policy changed later simply denies
    /// what it no longer has (an unknown action is denied whatever the scope says).
    pub fn check(&self, policy: &Policy) -> Result<(), ScopeError> {
        if self.actions.is_empty() && self.view.is_empty() && self.edit.is_empty() {
            return Err(ScopeError::Empty);
        }
        for (list, items) in [
            ("actions", &self.actions),
            ("view", &self.view),
            ("edit", &self.edit),
        ] {
            if items.len() > MAX_SCOPE_ENTRIES {
                return Err(ScopeError::TooLarge {
                    list,
                    len: items.len(),
                });
            }
        }
        for action in &self.actions {
            let Some(def) = policy.action(action) else {
                return Err(ScopeError::UnknownAction {
                    action: action.clone(),
                });
            };
            let within =
                matches!(def.requirement(), Requirement::AtLeast(l) if l <= Level::Manager);
            if !within || def.human_only() {
                return Err(ScopeError::NeverAllowed {
                    action: action.clone(),
                });
            }
        }
        for area in self.view.iter().chain(&self.edit) {
            if !policy.areas().any(|a| a == area) {
                return Err(ScopeError::UnknownArea { area: area.clone() });
            }
        }
        Ok(())
    }
}

impl crate::mint::MintedApiKey {
    /// The same key, narrowed to `scope` (check it against the policy first with
    /// [`KeyScope::check`]). A key minted without one may do what its api-user may.
    pub fn scoped(mut self, scope: KeyScope) -> crate::mint::MintedApiKey {
        self.record.scope = Some(scope);
        self
    }
}
