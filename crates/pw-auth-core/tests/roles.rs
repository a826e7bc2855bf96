//! Custom roles and role changes: reviewed tables and invariants.

use std::fmt::Write as _;

use proptest::prelude::*;
use pw_auth_core::*;

use crate::support::*;

/// The default policy plus two custom roles of one enterprise company.
fn policy_with_custom_roles() -> Policy {
    let mut doc: PolicyDocument = serde_json::from_str(Policy::default_document_json()).unwrap();
    doc.custom_roles = serde_json::from_value(serde_json::json!([
        {"name": "integration-lead", "view": ["flows", "connectors", "scripts"], "edit": ["flows", "connectors", "scripts"]},
        {"name": "auditor", "view": ["company", "users", "flows", "audit-logs", "roles", "blueprints"]},
    ]))
    .unwrap();
    Policy::compile(&doc).unwrap()
}

fn custom(name: &str, home: &CompanyId) -> Principal {
    testing::with_custom_role(
        principal(Role::Manager, home),
        CustomRoleName::new(name).unwrap(),
    )
    .unwrap()
}

/// Each custom role's areas read back as its document gave them, sorted, for each
/// kind of action; a role of another policy, even one compiled from the same
/// document, has none in this one.
#[test]
fn custom_role_areas_are_the_documents() {
    let policy = policy_with_custom_roles();
    let role = |name: &str| {
        policy
            .custom_role(&CustomRoleName::new(name).unwrap())
            .unwrap()
    };
    let areas = |role, kind| policy.custom_role_areas(role, kind).collect::<Vec<_>>();
    let lead = role("integration-lead");
    assert_eq!(
        areas(lead, ActionKind::View),
        ["connectors", "flows", "scripts"]
    );
    assert_eq!(
        areas(lead, ActionKind::Edit),
        ["connectors", "flows", "scripts"]
    );
    let auditor = role("auditor");
    assert_eq!(
        areas(auditor, ActionKind::View),
        [
            "audit-logs",
            "blueprints",
            "company",
            "flows",
            "roles",
            "users"
        ]
    );
    assert!(areas(auditor, ActionKind::Edit).is_empty());

    let other = policy_with_custom_roles();
    let foreign = other
        .custom_role(&CustomRoleName::new("integration-lead").unwrap())
        .unwrap();
    assert!(areas(foreign, ActionKind::View).is_empty());
    assert!(areas(foreign, ActionKind::Edit).is_empty());
}

/// Every action for each custom role (and an unknown one), on every tier.
#[test]
fn custom_role_table() {
    let policy = policy_with_custom_roles();
    let acme = company("acme");
    let names = ["integration-lead", "auditor", "unknown-role"];
    let mut out = String::new();
    for tier in [Tier::Enterprise, Tier::Professional] {
        writeln!(out, "\n## tier {tier}").unwrap();
        let mut header = format!("{:<30}", "action");
        for n in names {
            write!(header, " {n:<30}").unwrap();
        }
        writeln!(out, "{}", header.trim_end()).unwrap();
        for a in policy.actions() {
            let mut line = format!("{:<30}", a.id());
            for n in names {
                let r = authorize(
                    &policy,
                    &custom(n, &acme),
                    &Request::new(a.id(), &acme, tier),
                    NOW,
                )
                .reason();
                write!(line, " {:<30}", r.code()).unwrap();
            }
            writeln!(out, "{}", line.trim_end()).unwrap();
        }
    }
    insta::assert_snapshot!(out);
}

/// Every actor × target × new role.
#[test]
fn role_change_table() {
    let acme = company("acme");
    let actors: Vec<(String, Principal)> = Role::ALL
        .into_iter()
        .map(|r| (format!("{r}"), principal(r, &acme)))
        .chain([("custom role".to_owned(), custom("auditor", &acme))])
        .collect();
    let mut out = String::new();
    for (name, actor) in &actors {
        writeln!(out, "\n## actor: {name}").unwrap();
        let mut header = format!("{:<16}", "target \\ to");
        for to in Role::ALL {
            write!(header, " {:<27}", to.as_str()).unwrap();
        }
        writeln!(out, "{}", header.trim_end()).unwrap();
        for from in Role::ALL {
            let target = UserRecord::active(user("target"), acme.clone(), from);
            let mut line = format!("{:<16}", from.as_str());
            for to in Role::ALL {
                let r = authorize_role_change(actor, &RoleChange::new(&target, to), NOW).reason();
                write!(line, " {:<27}", r.kind()).unwrap();
            }
            writeln!(out, "{}", line.trim_end()).unwrap();
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn role_changes_respect_companies() {
    let acme = company("acme");
    let child = company("acme-eu");
    let grants = [child.clone()];
    let admin = principal(Role::Administrator, &acme);
    let target = UserRecord::active(user("t"), child.clone(), Role::User);
    let change = RoleChange::new(&target, Role::ReadOnly);
    assert_eq!(
        authorize_role_change(&admin, &change, NOW).reason(),
        RoleChangeReason::OtherCompany
    );
    assert_eq!(
        authorize_role_change(&admin, &change.with_parent(&acme), NOW).reason(),
        RoleChangeReason::MissingGrant
    );
    assert!(
        authorize_role_change(&admin, &change.with_parent(&acme).with_grants(&grants), NOW)
            .is_allowed()
    );
}

fn custom_spec() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    let areas: Vec<String> = policy().areas().map(str::to_owned).collect();
    (
        prop::sample::subsequence(areas.clone(), 0..areas.len()),
        prop::collection::vec(any::<bool>(), areas.len()),
    )
        .prop_map(|(view, pick)| {
            let edit = view
                .iter()
                .zip(pick)
                .filter(|(_, p)| *p)
                .map(|(a, _)| a.clone())
                .collect();
            (view, edit)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn a_custom_role_never_allows_beyond_its_toggles(
        (view, edit) in custom_spec(), action in any_action(), tier in any_tier(),
        target in any_company(), ctx in any_context(),
    ) {
        let mut doc: PolicyDocument = serde_json::from_str(Policy::default_document_json()).unwrap();
        doc.custom_roles = vec![CustomRoleSpec { name: "r".into(), view: view.clone(), edit: edit.clone() }];
        let policy = Policy::compile(&doc).unwrap();
        let acme = company("acme");
        let p = custom("r", &acme);
        let d = authorize(&policy, &p, &request(&action, &target, tier, &ctx), NOW);
        if d.is_allowed() {
            let a = policy.action(&action).unwrap();
            let toggles = match a.kind() { ActionKind::View => &view, ActionKind::Edit => &edit };
            prop_assert!(toggles.iter().any(|t| t == a.area()), "{} allowed without its toggle", a.id());
            prop_assert!(a.requirement().admits(Level::Manager));
            prop_assert!(!a.grant_required());
            prop_assert!(tier.includes(Feature::RoleManager));
            prop_assert_eq!(&target, &acme);
        }
    }

    /// A company's own custom role (kept in its records, handed over with the request)
    /// decides exactly as the same role written into the policy document would, for
    /// its own company; another company's is ignored; and it reads back from its
    /// record unchanged.
    #[test]
    fn a_company_role_decides_as_the_same_role_in_the_policy(
        (view, edit) in custom_spec(), action in any_action(), tier in any_tier(),
        home in any_company(), target in any_company(), ctx in any_context(),
        role_of in any_company(),
    ) {
        let spec = CustomRoleSpec { name: "r".into(), view, edit };
        let mut doc: PolicyDocument = serde_json::from_str(Policy::default_document_json()).unwrap();
        doc.custom_roles = vec![spec.clone()];
        let in_policy = Policy::compile(&doc).unwrap();
        let own = policy().company_role(&role_of, &spec).unwrap();
        let p = custom("r", &home);
        let req = request(&action, &target, tier, &ctx);
        let with_own = authorize(policy(), &p, &req.with_custom_role(Some(&own)), NOW);
        if role_of == home {
            prop_assert_eq!(with_own, authorize(&in_policy, &p, &req, NOW));
        } else {
            prop_assert_eq!(with_own, authorize(policy(), &p, &req, NOW));
            // The default policy defines no custom role: nothing is allowed.
            prop_assert!(!with_own.is_allowed());
        }
        prop_assert_eq!(CompanyRole::from_record(role_of.clone(), &own.to_spec()).unwrap(), own);
    }

    #[test]
    fn no_role_change_ever_makes_an_administrator(
        actor_role in any_role(), actor_custom in any::<bool>(), from in any_role(), to in any_role(),
        home in any_company(), target_company in any_company(), ctx in any_context(),
    ) {
        let mut actor = principal(actor_role, &home);
        if actor_custom && actor_role != Role::ApiUser {
            actor = testing::with_custom_role(actor, CustomRoleName::new("r").unwrap()).unwrap();
        }
        let target = UserRecord::active(user("t"), target_company.clone(), from);
        let change = RoleChange::new(&target, to)
            .with_grants(&ctx.grants)
            .with_parent(ctx.parent.as_ref());
        let d = authorize_role_change(&actor, &change, NOW);
        if d.is_allowed() {
            prop_assert_ne!(to, Role::Administrator);
            prop_assert_ne!(from, Role::Administrator);
            prop_assert!(to != Role::ApiUser && from != Role::ApiUser);
            prop_assert!(actor.level() >= Level::Manager && actor.custom_role().is_none());
            // Never above the actor's own grant: administrators up to manager,
            // managers up to user.
            let max = if actor.level() == Level::Administrator { Level::Manager } else { Level::User };
            prop_assert!(to.level() <= max);
            // An api key changes roles in its own company only.
            prop_assert!(actor_role != Role::ApiUser || target_company == home);
        }
    }

    #[test]
    fn a_decision_in_one_company_ignores_other_companies_grants(
        action in any_action(), role in any_role(), home in any_company(), target in any_company(),
        tier in any_tier(), ctx in any_context(), others in prop::collection::vec(any_company(), 0..4),
    ) {
        let policy = policy_with_custom_roles();
        let p = principal(role, &home);
        let base = authorize(&policy, &p, &request(&action, &target, tier, &ctx), NOW);
        // Grants for other companies, added or removed, change nothing here.
        let mut more = ctx.clone();
        more.grants.extend(others.iter().filter(|c| **c != target).cloned());
        let mut fewer = ctx.clone();
        fewer.grants.retain(|c| *c == target);
        prop_assert_eq!(authorize(&policy, &p, &request(&action, &target, tier, &more), NOW), base);
        prop_assert_eq!(authorize(&policy, &p, &request(&action, &target, tier, &fewer), NOW), base);
    }
}
