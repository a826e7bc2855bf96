//! Authorisation: invariants over random requests, and the reviewed decision table.

use proptest::prelude::*;
use pw_auth_core::*;

use crate::support::*;

const CASES: u32 = 4096;

/// The actions of the default policy that a manager may not do.
fn admin_only_action() -> impl Strategy<Value = String> {
    let ids: Vec<String> = policy()
        .actions()
        .filter(|a| !a.requirement().admits(Level::Manager))
        .map(|a| a.id().to_owned())
        .collect();
    assert!(
        ids.len() >= 8,
        "the default policy has administrator-only actions"
    );
    prop::sample::select(ids)
}

fn allowed(policy: &Policy, role: Role, home: &CompanyId, req: &Request<'_>) -> bool {
    authorize(policy, &principal(role, home), req, NOW).is_allowed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn unknown_actions_are_denied(
        action in any::<String>(), role in any_role(), home in any_company(),
        target in any_company(), tier in any_tier(), ctx in any_context(),
    ) {
        let policy = policy();
        prop_assume!(policy.action(&action).is_none());
        let d = authorize(policy, &principal(role, &home), &request(&action, &target, tier, &ctx), NOW);
        prop_assert_eq!(d.reason(), Reason::UnknownAction);
        prop_assert_eq!(d.effect(), Effect::Deny);
    }

    #[test]
    fn api_user_never_gets_an_administrator_only_action(
        action in admin_only_action(), home in any_company(), target in any_company(),
        tier in any_tier(), ctx in any_context(),
    ) {
        let policy = policy();
        let req = request(&action, &target, tier, &ctx);
        prop_assert!(!allowed(policy, Role::ApiUser, &home, &req));
    }

    #[test]
    fn nothing_crosses_companies_without_a_link_and_a_grant(
        action in any_action(), role in any_role(), home in any_company(),
        target in any_company(), tier in any_tier(), ctx in any_context(),
    ) {
        let policy = policy();
        let req = request(&action, &target, tier, &ctx);
        if allowed(policy, role, &home, &req) && target != home {
            prop_assert_eq!(ctx.parent.as_ref(), Some(&home), "allowed into an unlinked company");
            prop_assert!(ctx.grants.contains(&target), "allowed into a linked company without a grant");
            prop_assert!(role.level() >= Level::Manager, "allowed into a linked company below manager");
            prop_assert!(role != Role::ApiUser, "an api key allowed into a linked company");
        }
        // Without any link context, nothing is ever allowed outside the home company.
        let bare = Request::new(&action, &target, tier);
        if target != home {
            prop_assert!(!allowed(policy, role, &home, &bare));
        }
    }

    #[test]
    fn moving_up_the_hierarchy_never_loses_a_permission(
        action in any_action(), home in any_company(), target in any_company(),
        tier in any_tier(), ctx in any_context(),
    ) {
        let policy = policy();
        let req = request(&action, &target, tier, &ctx);
        let chain = [Role::ReadOnly, Role::User, Role::Manager, Role::Administrator];
        for pair in chain.windows(2) {
            if allowed(policy, pair[0], &home, &req) {
                prop_assert!(allowed(policy, pair[1], &home, &req), "{} has it, {} does not", pair[0], pair[1]);
            }
        }
    }

    #[test]
    fn api_user_has_the_managers_permissions_but_the_human_only_ones_in_its_own_company_only(
        action in any_action(), home in any_company(), target in any_company(),
        tier in any_tier(), ctx in any_context(),
    ) {
        let policy = policy();
        let req = request(&action, &target, tier, &ctx);
        if target == home {
            let human_only = policy.action(&action).is_some_and(|a| a.human_only());
            let key = authorize(policy, &principal(Role::ApiUser, &home), &req, NOW);
            let manager = allowed(policy, Role::Manager, &home, &req);
            prop_assert_eq!(key.is_allowed(), manager && !human_only);
            if manager && human_only {
                prop_assert_eq!(key.reason(), Reason::HumanOnly);
            }
        } else {
            prop_assert!(!allowed(policy, Role::ApiUser, &home, &req), "an api key acted outside its company");
        }
    }

    #[test]
    fn a_higher_tier_never_removes_a_permission(
        action in any_action(), role in any_role(), home in any_company(),
        target in any_company(), ctx in any_context(),
    ) {
        let policy = policy();
        let at = |tier| allowed(policy, role, &home, &request(&action, &target, tier, &ctx));
        prop_assert!(!at(Tier::Standard) || at(Tier::Professional));
        prop_assert!(!at(Tier::Professional) || at(Tier::Enterprise));
        prop_assert_eq!(at(Tier::Trial), at(Tier::Enterprise));
    }

    #[test]
    fn every_allow_names_the_rule_it_used(
        action in any_action(), role in any_role(), home in any_company(),
        target in any_company(), tier in any_tier(), ctx in any_context(),
    ) {
        let policy = policy();
        let d = authorize(policy, &principal(role, &home), &request(&action, &target, tier, &ctx), NOW);
        if let Reason::Allowed { min_role, feature, standing } = d.reason() {
            let def = policy.action(&action).unwrap();
            prop_assert_eq!(min_role, def.requirement());
            prop_assert_eq!(feature, def.feature());
            prop_assert!(min_role.admits(role.level()));
            prop_assert!(feature.is_none_or(|f| tier.includes(f)));
            prop_assert_eq!(standing == Standing::Member, target == home);
        }
    }
}

/// The default policy's whole decision table, from the library's own
/// `Policy::decision_table()`: every role and the api-user × every action × every
/// tier × own company, linked with a grant, linked without. The reviewed record of
/// what the default policy decides.
#[test]
fn default_policy_decision_table() {
    insta::assert_snapshot!(policy().decision_table().to_string());
}
