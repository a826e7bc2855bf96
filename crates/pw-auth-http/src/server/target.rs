//! What a request asks for: [`Target`], resolved to the core's request once.

use pw_auth_core::{CompanyId, Policy, Request, Tier};

/// What a request asks for, as the server's routing knows it before anyone is
/// authenticated: the action, the company that owns the target, that company's tier,
/// and its parent if it is a linked company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    action: &'a str,
    company: &'a CompanyId,
    tier: Tier,
    parent: Option<&'a CompanyId>,
}

impl<'a> Target<'a> {
    /// `action` on entities of `company`, whose tier is `tier`.
    pub const fn new(action: &'a str, company: &'a CompanyId, tier: Tier) -> Target<'a> {
        Target {
            action,
            company,
            tier,
            parent: None,
        }
    }

    /// The parent `company` is linked to, if it is a linked company: a parent, or an
    /// `Option` of one (`None` leaves the target unlinked).
    pub fn with_parent(mut self, parent: impl Into<Option<&'a CompanyId>>) -> Target<'a> {
        self.parent = parent.into();
        self
    }

    /// The action id.
    pub const fn action(&self) -> &'a str {
        self.action
    }

    /// The company that owns the target.
    pub const fn company(&self) -> &'a CompanyId {
        self.company
    }

    /// That company's tier.
    pub const fn tier(&self) -> Tier {
        self.tier
    }

    /// The request, its action looked up in `policy` once: the decision and the
    /// audit record both read the definition found here.
    pub(super) fn request(&self, policy: &'a Policy, grants: &'a [CompanyId]) -> Request<'a> {
        match policy.action(self.action) {
            Some(def) => Request::for_action(def, self.company, self.tier),
            None => Request::new(self.action, self.company, self.tier),
        }
        .with_grants(grants)
        .with_parent(self.parent)
    }
}
