//! Shared fixtures and generators.

use proptest::prelude::*;
use pw_auth_core::*;
use std::sync::LazyLock;

pub(crate) use pw_auth_core::testing::{EXPIRES_AT, NOW, principal};

/// The default policy, compiled once per test binary.
pub(crate) fn policy() -> &'static Policy {
    static POLICY: LazyLock<Policy> = LazyLock::new(Policy::default_policy);
    &POLICY
}

pub(crate) fn company(s: &str) -> CompanyId {
    CompanyId::new(s).unwrap()
}

pub(crate) fn user(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

pub(crate) fn any_role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

pub(crate) fn any_tier() -> impl Strategy<Value = Tier> {
    prop::sample::select(Tier::ALL.to_vec())
}

/// One of a small set of companies, so that collisions (same company) are common.
pub(crate) fn any_company() -> impl Strategy<Value = CompanyId> {
    prop::sample::select(vec!["acme", "acme-eu", "acme-us", "globex", "initech"]).prop_map(company)
}

/// Any action id of the default policy, or something that is not one.
pub(crate) fn any_action() -> impl Strategy<Value = String> {
    let known: Vec<String> = policy().actions().map(|a| a.id().to_owned()).collect();
    prop_oneof![
        4 => prop::sample::select(known),
        1 => "[a-z.-]{0,20}",
        1 => any::<String>(),
    ]
}

/// The link context of a request: the target's parent (if linked) and the grants.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) parent: Option<CompanyId>,
    pub(crate) grants: Vec<CompanyId>,
}

pub(crate) fn any_context() -> impl Strategy<Value = Context> {
    (
        prop::option::of(any_company()),
        prop::collection::vec(any_company(), 0..3),
    )
        .prop_map(|(parent, grants)| Context { parent, grants })
}

pub(crate) fn request<'a>(
    action: &'a str,
    company: &'a CompanyId,
    tier: Tier,
    ctx: &'a Context,
) -> Request<'a> {
    Request::new(action, company, tier)
        .with_grants(&ctx.grants)
        .with_parent(ctx.parent.as_ref())
}
