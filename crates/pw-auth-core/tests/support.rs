//! Shared fixtures and generators.

use proptest::prelude::*;
use pw_auth_core::*;
use time::OffsetDateTime;
use time::macros::datetime;

pub(crate) const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

pub(crate) fn company(s: &str) -> CompanyId {
    CompanyId::new(s).unwrap()
}

pub(crate) fn user(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

/// A principal of `role` in `home`: an API-key principal for api-user, bearer otherwise.
pub(crate) fn principal(role: Role, home: &CompanyId) -> Principal {
    match role {
        Role::ApiUser => Principal::api_key(
            user("api-user_1"),
            home.clone(),
            ApiKeyId::new("key_1").unwrap(),
        ),
        role => Principal::bearer(
            user(&format!("{role}-1")),
            home.clone(),
            role,
            TokenId::new("tok_1").unwrap(),
            datetime!(2026-11-28 12:00 UTC),
        ),
    }
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
    let known: Vec<String> = Policy::default_policy()
        .actions()
        .map(|a| a.id().to_owned())
        .collect();
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
    let r = Request::new(action, company, tier).with_grants(&ctx.grants);
    match &ctx.parent {
        Some(p) => r.with_parent(p),
        None => r,
    }
}
