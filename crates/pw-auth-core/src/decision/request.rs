//! What is asked ([`Request`]), and who pays for it ([`usage_key`]).

use crate::id::CompanyId;
use crate::policy::{ActionDef, CompanyRole, Policy};
use crate::principal::Principal;
use crate::tier::Tier;

/// What is asked: an action on entities owned by a company, with the context the
/// caller looked up for it.
///
/// ```
/// use pw_auth_core::{CompanyId, Request, Tier};
/// let child = CompanyId::new("acme-eu")?;
/// let parent = CompanyId::new("acme")?;
/// let grants = [child.clone()];
/// let req = Request::new("flows.view", &child, Tier::Professional)
///     .with_parent(&parent)
///     .with_grants(&grants);
/// assert_eq!(req.action(), "flows.view");
/// # Ok::<(), pw_auth_core::IdError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub(super) action: &'a str,
    /// The action already looked up, when the request was made from its definition.
    pub(super) def: Option<&'a ActionDef>,
    pub(super) company: &'a CompanyId,
    pub(super) tier: Tier,
    pub(super) parent: Option<&'a CompanyId>,
    pub(super) grants: &'a [CompanyId],
    pub(super) custom_role: Option<&'a CompanyRole>,
}

impl<'a> Request<'a> {
    /// A request to perform `action` on entities owned by `company`, whose
    /// subscription tier is `tier`.
    pub const fn new(action: &'a str, company: &'a CompanyId, tier: Tier) -> Request<'a> {
        Request {
            action,
            def: None,
            company,
            tier,
            parent: None,
            grants: &[],
            custom_role: None,
        }
    }

    /// A request for an action already looked up with [`Policy::action`](crate::Policy::action): a server
    /// that resolves its routes' actions once, when it starts, skips the lookup on
    /// every request. The definition must come from the policy the request is
    /// authorised against; one from any other policy is denied as
    /// [`Reason::UnknownAction`](super::Reason::UnknownAction), never decided by the other policy's rules.
    ///
    /// ```
    /// use pw_auth_core::{CompanyId, Policy, Request, Tier};
    /// let policy = Policy::default_policy();
    /// let deploy = policy.action("flows.deploy").expect("in the default policy");
    /// let acme = CompanyId::new("acme")?;
    /// let req = Request::for_action(deploy, &acme, Tier::Professional);
    /// assert_eq!(req.action(), "flows.deploy");
    /// # Ok::<(), pw_auth_core::IdError>(())
    /// ```
    pub fn for_action(action: &'a ActionDef, company: &'a CompanyId, tier: Tier) -> Request<'a> {
        Request {
            action: action.id(),
            def: Some(action),
            company,
            tier,
            parent: None,
            grants: &[],
            custom_role: None,
        }
    }

    /// The same request with its action looked up in `policy`, unless it was made
    /// from a definition already ([`Request::for_action`]): the decision and the
    /// audit record then both read the definition found here, and the lookup is
    /// done once. An action `policy` does not define stays as it is, and is denied
    /// as [`Reason::UnknownAction`](super::Reason::UnknownAction).
    ///
    /// ```
    /// use pw_auth_core::{CompanyId, Policy, Request, Role, Tier, authorize, testing};
    /// let policy = Policy::default_policy();
    /// let acme = CompanyId::new("acme")?;
    /// let asked = Request::new("flows.deploy", &acme, Tier::Professional);
    /// let resolved = asked.resolved_in(&policy);
    /// let manager = testing::principal(Role::Manager, &acme);
    /// assert_eq!(
    ///     authorize(&policy, &manager, &resolved, testing::NOW),
    ///     authorize(&policy, &manager, &asked, testing::NOW),
    /// );
    /// # Ok::<(), pw_auth_core::IdError>(())
    /// ```
    pub fn resolved_in(self, policy: &'a Policy) -> Request<'a> {
        if self.def.is_some() {
            return self;
        }
        match policy.action(self.action) {
            Some(def) => Request {
                def: Some(def),
                ..self
            },
            None => self,
        }
    }

    /// The parent company `company` is linked to, if it is a linked (child) company:
    /// a parent, or an `Option` of one (`None` leaves the request unlinked).
    pub fn with_parent(mut self, parent: impl Into<Option<&'a CompanyId>>) -> Request<'a> {
        self.parent = parent.into();
        self
    }

    /// The linked companies the principal holds an explicit grant for.
    pub const fn with_grants(mut self, grants: &'a [CompanyId]) -> Request<'a> {
        self.grants = grants;
        self
    }

    /// The company's own definition of the custom role the principal holds, from the
    /// caller's records (`None`: the company defines none by that name, and the
    /// policy's `custom_roles` apply). It is consulted only for a principal acting
    /// under a custom role of that name in its own company, the role's company: any
    /// other company's role is ignored.
    ///
    /// ```
    /// use pw_auth_core::{CompanyId, CustomRoleName, Policy, Request, Role, Tier, authorize, testing};
    /// let policy = Policy::default_policy();
    /// let acme = CompanyId::new("acme")?;
    /// let lead = policy.company_role_from_json(&acme, r#"{"name": "lead", "view": ["flows"]}"#)?;
    /// let ann = testing::with_custom_role(testing::principal(Role::User, &acme), CustomRoleName::new("lead")?)
    ///     .expect("a person may hold a custom role");
    /// let view = Request::new("flows.view", &acme, Tier::Enterprise);
    /// assert_eq!(authorize(&policy, &ann, &view, testing::NOW).reason().kind(), "unknown_custom_role");
    /// let decision = authorize(&policy, &ann, &view.with_custom_role(Some(&lead)), testing::NOW);
    /// assert_eq!(decision.reason().kind(), "allowed_by_custom_role");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn with_custom_role(mut self, role: Option<&'a CompanyRole>) -> Request<'a> {
        self.custom_role = role;
        self
    }

    /// The action id.
    pub const fn action(&self) -> &'a str {
        self.action
    }

    /// The action's definition, when the request was made from it.
    pub(crate) const fn def(&self) -> Option<&'a ActionDef> {
        self.def
    }

    /// The company that owns the target entities.
    pub const fn company(&self) -> &'a CompanyId {
        self.company
    }

    /// That company's tier.
    pub const fn tier(&self) -> Tier {
        self.tier
    }

    /// That company's parent, if it is linked to one.
    pub const fn parent(&self) -> Option<&'a CompanyId> {
        self.parent
    }

    /// The principal's grants for linked companies.
    pub const fn grants(&self) -> &'a [CompanyId] {
        self.grants
    }
}

/// The company whose usage allowance a request spends: the principal's own company,
/// whichever credential it used (`docs/platform.md` §1: the same limits apply to API
/// keys and tokens, per company) and whichever company it acts in. Key
/// [`crate::LimitState`] by it.
///
/// A parent company's manager acting in a linked company spends the parent's budget,
/// not the linked company's: no company can exhaust another's allowance, and a
/// parent cannot multiply its allowance by spreading work over its linked companies
/// (`docs/design.md`, "Whose budget"). Taking a [`Principal`] means nothing can be
/// charged before someone is authenticated:
///
/// ```compile_fail
/// use pw_auth_core::*;
/// let acme = CompanyId::new("acme").unwrap();
/// let request = Request::new("flows.view", &acme, Tier::Standard);
/// let _ = usage_key(&request); // a request names no payer
/// ```
pub fn usage_key(principal: &Principal) -> &CompanyId {
    principal.company()
}
