//! The policy: the default table against the domain document and docs/policy.md,
//! and every building error.

use std::collections::BTreeSet;

use pw_auth_core::*;

use crate::support::*;

const ALL: &[Role] = &[
    Role::Administrator,
    Role::Manager,
    Role::User,
    Role::ReadOnly,
];
const ADMIN: &[Role] = &[Role::Administrator];
const ADMIN_MGR: &[Role] = &[Role::Administrator, Role::Manager];
const NOBODY: &[Role] = &[];

#[derive(Clone, Copy, PartialEq)]
enum Gate {
    None,
    /// "professional, enterprise or trial"
    Advanced,
    /// "enterprise (or trial)"
    Enterprise,
}

/// docs/platform.md §3 row by row, as the document writes it: who is allowed, by
/// name, and the tier gates stated under the table.
fn domain_table() -> Vec<(&'static str, &'static [Role], Gate, bool)> {
    let rows: &[(&str, &[Role], Gate, bool)] = &[
        ("company.view", ALL, Gate::None, false),
        ("company.update-name", ADMIN, Gate::None, false),
        ("company.update-contact", ADMIN_MGR, Gate::None, false),
        ("company.manage-banners", ADMIN, Gate::None, false),
        ("company.delete", ADMIN, Gate::None, false),
        ("users.view users.search", ALL, Gate::None, false),
        ("users.create-administrator", NOBODY, Gate::None, false),
        ("users.create-manager", ADMIN, Gate::None, false),
        ("users.create-user", ADMIN_MGR, Gate::None, false),
        ("users.update", ADMIN_MGR, Gate::None, false),
        ("marketplace.browse", ALL, Gate::None, false),
        ("marketplace.install", ADMIN_MGR, Gate::None, false),
        ("private-marketplace.upload", ADMIN, Gate::None, false),
        ("private-marketplace.install", ADMIN_MGR, Gate::None, false),
        (
            "blueprints.build blueprints.publish",
            ADMIN,
            Gate::None,
            false,
        ),
        ("flows.view", ALL, Gate::None, false),
        (
            "flows.create flows.edit flows.delete flows.enable flows.deploy",
            ADMIN_MGR,
            Gate::None,
            false,
        ),
        ("connectors.view", ALL, Gate::None, false),
        (
            "connectors.create connectors.update connectors.delete",
            ADMIN_MGR,
            Gate::None,
            false,
        ),
        (
            "scripts.view lookups.view caches.view webhooks.view",
            ALL,
            Gate::None,
            false,
        ),
        (
            "scripts.create scripts.update scripts.delete",
            ADMIN_MGR,
            Gate::Advanced,
            false,
        ),
        (
            "lookups.create lookups.update lookups.delete",
            ADMIN_MGR,
            Gate::None,
            false,
        ),
        (
            "caches.create caches.update caches.delete",
            ADMIN_MGR,
            Gate::Advanced,
            false,
        ),
        (
            "webhooks.create webhooks.update webhooks.delete",
            ADMIN_MGR,
            Gate::Advanced,
            false,
        ),
        (
            "api-keys.list api-keys.create api-keys.revoke api-keys.delete",
            ADMIN_MGR,
            Gate::None,
            false,
        ),
        ("audit-logs.view", ADMIN, Gate::None, false),
        (
            "roles.create roles.edit roles.assign",
            ADMIN,
            Gate::Enterprise,
            false,
        ),
        ("linked-companies.view", ADMIN_MGR, Gate::None, false),
        ("linked-companies.switch", ADMIN_MGR, Gate::None, true),
        // Not in §3 (it says a member needs a grant, not who gives it): a decision,
        // the parent's administrator (docs/policy.md).
        ("linked-companies.grant", ADMIN, Gate::None, false),
    ];
    rows.iter()
        .flat_map(|&(ids, who, gate, grant)| ids.split(' ').map(move |id| (id, who, gate, grant)))
        .collect()
}

fn gate_open(gate: Gate, tier: Tier) -> bool {
    match gate {
        Gate::None => true,
        Gate::Advanced => matches!(tier, Tier::Professional | Tier::Enterprise | Tier::Trial),
        Gate::Enterprise => matches!(tier, Tier::Enterprise | Tier::Trial),
    }
}

/// "api-user = manager-level (same as manager) except for administrator-only rows".
fn listed(who: &[Role], role: Role) -> bool {
    match role {
        Role::ApiUser => who.contains(&Role::Manager),
        r => who.contains(&r),
    }
}

#[test]
fn the_default_policy_is_section_3_row_by_row() {
    let policy = policy();
    let table = domain_table();
    let ids: BTreeSet<&str> = table.iter().map(|r| r.0).collect();
    let shipped: BTreeSet<&str> = policy.actions().map(|a| a.id()).collect();
    assert_eq!(ids, shipped, "the action ids differ from §3");
    assert_eq!(ids.len(), table.len(), "an id is listed twice");

    let acme = company("acme");
    let child = company("acme-eu");
    let grants = [child.clone()];
    for (id, who, gate, grant_only) in table {
        for tier in Tier::ALL {
            for role in Role::ALL {
                let p = principal(role, &acme);
                let own = authorize(policy, &p, &Request::new(id, &acme, tier), NOW).is_allowed();
                // docs/design.md decides that a credential does not mint credentials
                // nor manage users: an api key may not create, revoke or delete keys,
                // nor create or update users, nor assign roles, nor give grants.
                let human_only = [
                    "users.create-manager",
                    "users.create-user",
                    "users.update",
                    "api-keys.create",
                    "api-keys.revoke",
                    "api-keys.delete",
                    "roles.assign",
                    "linked-companies.grant",
                ];
                let want_own = listed(who, role)
                    && gate_open(gate, tier)
                    && !grant_only
                    && !(role == Role::ApiUser && human_only.contains(&id));
                assert_eq!(
                    own, want_own,
                    "{id} for {role} on {tier} in its own company"
                );
                // Entered by grant, "they may do what a user of that child with their
                // role may do", if they are a manager or administrator.
                let req = Request::new(id, &child, tier)
                    .with_parent(&acme)
                    .with_grants(&grants);
                let linked = authorize(policy, &p, &req, NOW).is_allowed();
                // docs/design.md decides two exceptions: an api key acts only in its
                // own company, and deleting a company or editing its role manager is
                // for its own administrator, never by grant; so is giving grants
                // (docs/policy.md).
                let own_company_only = [
                    "company.delete",
                    "roles.create",
                    "roles.edit",
                    "roles.assign",
                    "linked-companies.grant",
                ];
                let want_linked = listed(who, role)
                    && gate_open(gate, tier)
                    && role.level() >= Level::Manager
                    && role != Role::ApiUser
                    && !own_company_only.contains(&id);
                assert_eq!(
                    linked, want_linked,
                    "{id} for {role} on {tier} in a linked company"
                );
            }
        }
    }
}

#[test]
fn docs_policy_md_matches_the_default_policy() {
    let md = include_str!("../../../docs/policy.md");
    // The table under its heading (other sections quote `policy diff` rows).
    let md = md.split("## The default table").nth(1).unwrap();
    let rows: Vec<Vec<&str>> = md
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    let policy = policy();
    let actions: Vec<&ActionDef> = policy.actions().collect();
    assert_eq!(
        rows.len(),
        actions.len(),
        "docs/policy.md lists a different number of actions"
    );
    for (row, a) in rows.iter().zip(actions) {
        let kind = match a.kind() {
            ActionKind::View => "view",
            ActionKind::Edit => "edit",
        };
        let want = [
            format!("`{}`", a.id()),
            kind.to_owned(),
            a.requirement().to_string(),
            a.feature().map(|f| f.to_string()).unwrap_or_default(),
            match (a.grant_required(), a.own_company_only()) {
                (true, _) => "grant only".into(),
                (false, true) => "own company".into(),
                (false, false) => String::new(),
            },
            if a.human_only() { "never" } else { "" }.to_owned(),
        ];
        assert_eq!(row, &want, "docs/policy.md disagrees about {}", a.id());
    }
}

fn doc_with(actions: serde_json::Value, custom_roles: serde_json::Value) -> String {
    serde_json::json!({"name": "t", "version": "1", "actions": actions, "custom_roles": custom_roles}).to_string()
}

#[test]
fn quotas_per_tier() {
    let doc = serde_json::json!({"name": "t", "version": "1",
        "actions": [{"id": "a.view", "kind": "view", "min_role": "read-only"}],
        "quotas": {"enterprise": {"limit": 1000, "period_secs": 60, "burst": 100}}});
    let p = Policy::from_json(&doc.to_string()).unwrap();
    assert_eq!(
        p.quota(Tier::Enterprise),
        Quota::new(1000, 60, 100).unwrap()
    );
    assert_eq!(p.quota(Tier::Standard), Quota::DEFAULT);
    assert_eq!(policy().quota(Tier::Trial), Quota::DEFAULT);
}

#[test]
fn every_building_error() {
    let a = serde_json::json!([
        {"id": "flows.view", "kind": "view", "min_role": "read-only"},
        {"id": "flows.edit", "kind": "edit", "min_role": "manager"},
    ]);
    let cases: Vec<(&str, String)> = vec![
        ("not json", "{\"name\": \"t\",\n \"version\": 1}".into()),
        (
            "unknown field",
            "{\"name\": \"t\", \"version\": \"1\", \"actions\": [], \"extra\": 1}".into(),
        ),
        (
            "unknown kind",
            doc_with(
                serde_json::json!([{"id": "a.b", "kind": "delete", "min_role": "user"}]),
                serde_json::json!([]),
            ),
        ),
        (
            "empty name",
            serde_json::json!({"name": " ", "version": "1", "actions": []}).to_string(),
        ),
        (
            "no actions",
            doc_with(serde_json::json!([]), serde_json::json!([])),
        ),
        (
            "bad id",
            doc_with(
                serde_json::json!([{"id": "flows", "kind": "view", "min_role": "user"}]),
                serde_json::json!([]),
            ),
        ),
        (
            "twice",
            doc_with(
                serde_json::json!([{"id": "a.b", "kind": "view", "min_role": "user"}, {"id": "a.b", "kind": "edit", "min_role": "user"}]),
                serde_json::json!([]),
            ),
        ),
        (
            "unknown role",
            doc_with(
                serde_json::json!([{"id": "a.b", "kind": "view", "min_role": "Manager"}]),
                serde_json::json!([]),
            ),
        ),
        (
            "api-user as a level",
            doc_with(
                serde_json::json!([{"id": "a.b", "kind": "view", "min_role": "api-user"}]),
                serde_json::json!([]),
            ),
        ),
        (
            "unknown feature",
            doc_with(
                serde_json::json!([{"id": "a.b", "kind": "edit", "min_role": "user", "feature": "premium"}]),
                serde_json::json!([]),
            ),
        ),
        (
            "grant below manager",
            doc_with(
                serde_json::json!([{"id": "a.b", "kind": "edit", "min_role": "read-only", "grant_required": true}]),
                serde_json::json!([]),
            ),
        ),
        (
            "grant and own company",
            doc_with(
                serde_json::json!([{"id": "a.b", "kind": "edit", "min_role": "manager", "grant_required": true, "own_company_only": true}]),
                serde_json::json!([]),
            ),
        ),
        (
            "bad custom name",
            doc_with(a.clone(), serde_json::json!([{"name": "Lead", "view": []}])),
        ),
        (
            "reserved custom name",
            doc_with(
                a.clone(),
                serde_json::json!([{"name": "manager", "view": []}]),
            ),
        ),
        (
            "custom twice",
            doc_with(
                a.clone(),
                serde_json::json!([{"name": "lead"}, {"name": "ops"}, {"name": "lead"}]),
            ),
        ),
        (
            "unknown area",
            doc_with(
                a.clone(),
                serde_json::json!([{"name": "lead", "view": ["flows", "blueprints"]}]),
            ),
        ),
        (
            "area twice",
            doc_with(
                a.clone(),
                serde_json::json!([{"name": "lead", "view": ["flows", "flows"]}]),
            ),
        ),
        (
            "edit without view",
            doc_with(
                a.clone(),
                serde_json::json!([{"name": "lead", "view": [], "edit": ["flows"]}]),
            ),
        ),
        (
            "unknown tier",
            serde_json::json!({"name": "t", "version": "1", "actions": a.clone(),
                "quotas": {"gold": {"limit": 10, "period_secs": 60}}})
            .to_string(),
        ),
        (
            "zero quota",
            serde_json::json!({"name": "t", "version": "1", "actions": a.clone(),
                "quotas": {"standard": {"limit": 0, "period_secs": 60}}})
            .to_string(),
        ),
        (
            "quota period",
            serde_json::json!({"name": "t", "version": "1", "actions": a.clone(),
                "quotas": {"trial": {"limit": 5, "period_secs": 0}}})
            .to_string(),
        ),
        (
            "quota finer than a nanosecond",
            serde_json::json!({"name": "t", "version": "1", "actions": a.clone(),
                "quotas": {"trial": {"limit": 2_000_000_000u32, "period_secs": 1}}})
            .to_string(),
        ),
        (
            "@ in the name",
            serde_json::json!({"name": "team@acme", "version": "1", "actions": a.clone()})
                .to_string(),
        ),
        (
            "+ in the version",
            serde_json::json!({"name": "t", "version": "1+2", "actions": a.clone()}).to_string(),
        ),
        (
            "a newline in the name",
            serde_json::json!({"name": "two\nlines", "version": "1", "actions": a.clone()})
                .to_string(),
        ),
    ];
    // Each document pretty-printed, so that lines mean something; each error shown
    // with the line it points at and a caret under its column.
    let mut out = String::new();
    for (title, text) in cases {
        let text = serde_json::from_str::<serde_json::Value>(&text)
            .map(|v| serde_json::to_string_pretty(&v).unwrap())
            .unwrap_or(text);
        let e = Policy::from_json(&text).unwrap_err();
        out.push_str(&format!("{title}: {e}\n"));
        let at = e.location().expect("every error from text has a location");
        let line = text.lines().nth(at.line() - 1).unwrap_or("");
        out.push_str(&format!(
            "    | {line}\n    | {}^\n",
            " ".repeat(at.column() - 1)
        ));
        if let Some(help) = e.help() {
            out.push_str(&format!("    = help: {help}\n"));
        }
    }
    insta::assert_snapshot!(out);
}

/// What cannot be shown in the pretty-printed snapshot above: repeated keys (a
/// `serde_json::Value` would merge them), invisible characters, and the caps.
#[test]
fn repeated_tiers_invisible_names_and_caps() {
    let actions = r#"[{"id": "flows.view", "kind": "view", "min_role": "read-only"}]"#;
    // A tier given twice once kept the last silently.
    let text = format!(
        r#"{{"name": "t", "version": "1", "actions": {actions},
  "quotas": {{"standard": {{"limit": 1, "period_secs": 60}}, "standard": {{"limit": 9999, "period_secs": 60}}}}}}"#
    );
    let e = Policy::from_json(&text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2, column 68: the tier `standard` is given more than once"
    );
    for (name, shown) in [
        (r"\u202egnp.exe", r"\u{202e}"),
        (r"\ufeff", r"\u{feff}"),
        (r"a\u200bb", r"\u{200b}"),
        (r"a\u2028b", r"\u{2028}"),
    ] {
        let text = format!(r#"{{"name": "{name}", "version": "1", "actions": {actions}}}"#);
        let e = Policy::from_json(&text).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                PolicyErrorKind::NameCharacter { field: "name", .. }
            ),
            "{name}: {e}"
        );
        assert!(
            e.to_string().contains(&format!(
                "an invisible or direction-changing character ({shown})"
            )),
            "{e}"
        );
        assert!(
            e.to_string().is_ascii(),
            "the message names the character, never prints it: {e}"
        );
    }
    // Quotas are an object by tier.
    let text = format!(r#"{{"name": "t", "version": "1", "actions": {actions}, "quotas": []}}"#);
    let e = Policy::from_json(&text).unwrap_err();
    assert!(
        e.to_string()
            .contains("expected an object of quotas by tier"),
        "{e}"
    );
    // Over the byte cap: refused before parsing (it is not even JSON).
    let big = " ".repeat(MAX_POLICY_LEN + 1);
    let e = Policy::from_json(&big).unwrap_err();
    assert_eq!(
        e.kind(),
        &PolicyErrorKind::TooLarge {
            len: MAX_POLICY_LEN + 1
        }
    );
    assert_eq!(
        e.to_string(),
        "policy text is 2097153 bytes long; the limit is 2097152"
    );
    let at_cap = " ".repeat(MAX_POLICY_LEN);
    assert!(matches!(
        Policy::from_json(&at_cap).unwrap_err().kind(),
        PolicyErrorKind::Syntax { .. }
    ));
    // Custom roles: at most MAX_CUSTOM_ROLES, each list at most MAX_ROLE_AREAS long.
    let mut doc: PolicyDocument = serde_json::from_str(Policy::default_document_json()).unwrap();
    doc.custom_roles = (0..=MAX_CUSTOM_ROLES)
        .map(|i| CustomRoleSpec {
            name: format!("role-{i}"),
            view: vec![],
            edit: vec![],
        })
        .collect();
    assert_eq!(
        Policy::compile(&doc).unwrap_err().kind(),
        &PolicyErrorKind::TooManyCustomRoles {
            count: MAX_CUSTOM_ROLES + 1
        }
    );
    doc.custom_roles.truncate(MAX_CUSTOM_ROLES);
    assert!(Policy::compile(&doc).is_ok(), "exactly at the cap");
    doc.custom_roles = vec![CustomRoleSpec {
        name: "lead".into(),
        view: vec!["flows".into(); MAX_ROLE_AREAS + 1],
        edit: vec![],
    }];
    assert_eq!(
        Policy::compile(&doc).unwrap_err().to_string(),
        "custom_roles[0].view: 1025 areas; the limit is 1024"
    );
    // Exactly at the cap the list is read (and here refused for repeating an area).
    doc.custom_roles[0].view.truncate(MAX_ROLE_AREAS);
    assert!(matches!(
        Policy::compile(&doc).unwrap_err().kind(),
        PolicyErrorKind::DuplicateArea { .. }
    ));
}

/// Compiling is linear in the number of custom roles: a megabyte of them (once 3.3 s
/// in release) compiles, and twice as many roles cost about twice as much work — the
/// duplicate checks look names up in a map, not along a list. (The time itself is a
/// benchmark: `policy_compile` in pw-auth-bench.)
#[test]
fn a_megabyte_of_custom_roles_compiles() {
    let text = pw_auth_core::testing::custom_roles_policy(1_000_000);
    assert!(text.len() >= 1_000_000 && text.len() <= MAX_POLICY_LEN);
    let p = Policy::from_json(&text).unwrap();
    assert!(p.custom_roles().len() > 2_000);
    // Every role is there, found by name.
    let last = p.custom_roles().last().unwrap().name().clone();
    assert!(p.custom_role(&last).is_some());
}

/// The decision table's text form, for a policy small enough to read whole: two
/// actions and a custom role, every place and tier.
#[test]
fn the_decision_table_text_of_a_small_policy() {
    let text = r#"{"name": "small", "version": "1",
      "actions": [
        {"id": "flows.view", "kind": "view", "min_role": "read-only"},
        {"id": "flows.deploy", "kind": "edit", "min_role": "manager", "feature": "advanced"}
      ],
      "custom_roles": [{"name": "ops", "view": ["flows"], "edit": ["flows"]}]}"#;
    let table = Policy::from_json(text).unwrap().decision_table();
    insta::assert_snapshot!(table.to_string());
}

/// `diff` names exactly the cells a change moved: raising `flows.deploy` to the
/// administrator takes it from the manager and the api-user wherever they had it,
/// changes why the user and read-only are refused, and why the administrator is
/// allowed (shown in full, since the code alone reads the same); the cells of a linked
/// company without a grant do not move. The JSON form carries each cell's subject,
/// action, tier, place, effect and reason.
#[test]
fn a_diff_names_the_moved_cells() {
    let small = |min: &str| {
        Policy::from_json(&format!(
            r#"{{"name": "small", "version": "1", "actions": [
              {{"id": "flows.view", "kind": "view", "min_role": "read-only"}},
              {{"id": "flows.deploy", "kind": "edit", "min_role": "{min}"}}]}}"#
        ))
        .unwrap()
    };
    let (before, after) = (small("manager"), small("administrator"));
    let lines: Vec<String> = before
        .diff(&after)
        .iter()
        .map(ToString::to_string)
        .collect();
    insta::assert_snapshot!(lines.join("\n"), @"
    flows.deploy, administrator, own company, tier trial: allowed (the action requires manager or above) → allowed (the action requires administrator or above)
    flows.deploy, manager, own company, tier trial: allowed → administrator_only
    flows.deploy, user, own company, tier trial: role_too_low:manager → administrator_only
    flows.deploy, read-only, own company, tier trial: role_too_low:manager → administrator_only
    flows.deploy, api-user, own company, tier trial: allowed → administrator_only
    flows.deploy, administrator, own company, tier standard: allowed (the action requires manager or above) → allowed (the action requires administrator or above)
    flows.deploy, manager, own company, tier standard: allowed → administrator_only
    flows.deploy, user, own company, tier standard: role_too_low:manager → administrator_only
    flows.deploy, read-only, own company, tier standard: role_too_low:manager → administrator_only
    flows.deploy, api-user, own company, tier standard: allowed → administrator_only
    flows.deploy, administrator, own company, tier professional: allowed (the action requires manager or above) → allowed (the action requires administrator or above)
    flows.deploy, manager, own company, tier professional: allowed → administrator_only
    flows.deploy, user, own company, tier professional: role_too_low:manager → administrator_only
    flows.deploy, read-only, own company, tier professional: role_too_low:manager → administrator_only
    flows.deploy, api-user, own company, tier professional: allowed → administrator_only
    flows.deploy, administrator, own company, tier enterprise: allowed (the action requires manager or above) → allowed (the action requires administrator or above)
    flows.deploy, manager, own company, tier enterprise: allowed → administrator_only
    flows.deploy, user, own company, tier enterprise: role_too_low:manager → administrator_only
    flows.deploy, read-only, own company, tier enterprise: role_too_low:manager → administrator_only
    flows.deploy, api-user, own company, tier enterprise: allowed → administrator_only
    flows.deploy, administrator, linked company, with a grant, tier trial: allowed (the action requires manager or above, in a linked company entered by grant) → allowed (the action requires administrator or above, in a linked company entered by grant)
    flows.deploy, manager, linked company, with a grant, tier trial: allowed → administrator_only
    flows.deploy, administrator, linked company, with a grant, tier standard: allowed (the action requires manager or above, in a linked company entered by grant) → allowed (the action requires administrator or above, in a linked company entered by grant)
    flows.deploy, manager, linked company, with a grant, tier standard: allowed → administrator_only
    flows.deploy, administrator, linked company, with a grant, tier professional: allowed (the action requires manager or above, in a linked company entered by grant) → allowed (the action requires administrator or above, in a linked company entered by grant)
    flows.deploy, manager, linked company, with a grant, tier professional: allowed → administrator_only
    flows.deploy, administrator, linked company, with a grant, tier enterprise: allowed (the action requires manager or above, in a linked company entered by grant) → allowed (the action requires administrator or above, in a linked company entered by grant)
    flows.deploy, manager, linked company, with a grant, tier enterprise: allowed → administrator_only
    ");
    let json = serde_json::to_value(after.decision_table()).unwrap();
    assert_eq!(json["policy"], after.id());
    assert_eq!(
        json["cells"][0],
        serde_json::json!({"subject": "administrator", "action": "flows.view", "tier": "trial",
            "place": "own_company", "effect": "allow",
            "reason": {"kind": "allowed", "min_role": "read-only", "standing": "member"}})
    );
}

/// A cases file: comments and blank lines skipped, every case run, each failure
/// named by its line with the actual decision; a case that cannot be run (unknown
/// action, role or custom role, both or neither subject, not a case) is an error
/// naming its line, never a silent deny.
#[test]
fn cases_files_run_against_a_policy() {
    let mut doc: PolicyDocument = serde_json::from_str(Policy::default_document_json()).unwrap();
    doc.custom_roles = vec![CustomRoleSpec {
        name: "ops".into(),
        view: vec!["flows".into()],
        edit: vec![],
    }];
    let policy = Policy::compile(&doc).unwrap();
    let cases = r#"# the intent of this policy
{"role": "manager", "action": "flows.deploy", "tier": "professional", "place": "own_company", "expect": "allow"}

{"role": "api-user", "action": "blueprints.publish", "tier": "enterprise", "place": "own_company", "expect": "deny", "reason": "administrator_only"}
{"custom_role": "ops", "action": "flows.edit", "tier": "enterprise", "place": "own_company", "expect": "allow"}
{"role": "user", "action": "flows.deploy", "tier": "trial", "place": "own_company", "expect": "deny", "reason": "role_too_low:administrator"}
{"role": "manager", "action": "flows.view", "tier": "trial", "place": "linked_without_grant", "expect": "deny", "reason": "missing_grant"}
{"role": "user", "action": "flows.deploy", "tier": "trial", "place": "own_company", "expect": "deny", "reason": "role_too_low"}
{"role": "user", "action": "flows.deploy", "tier": "trial", "place": "own_company", "expect": "deny", "reason": "role_too_low:manager"}
"#;
    let report = policy.run_cases(cases).unwrap();
    assert_eq!(
        report.cases, 7,
        "a reason matches by its kind or by its code"
    );
    assert!(!report.passed());
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert_eq!(
        failures,
        [
            "line 5: custom:ops, flows.edit, own company, tier enterprise: expected allow, got deny (custom_role_lacks)",
            "line 6: user, flows.deploy, own company, tier trial: expected deny (role_too_low:administrator), got deny (role_too_low:manager)",
        ]
    );
    assert!(policy.run_cases("").unwrap().passed());
    let errors = [
        (
            r#"{"role": "boss", "action": "flows.view", "tier": "trial", "place": "own_company", "expect": "allow"}"#,
            "line 1: unknown role `boss`",
        ),
        (
            r#"{"custom_role": "lead", "action": "flows.view", "tier": "trial", "place": "own_company", "expect": "allow"}"#,
            "line 1: the policy has no custom role `lead`",
        ),
        (
            r#"{"custom_role": "Not A Name", "action": "flows.view", "tier": "trial", "place": "own_company", "expect": "allow"}"#,
            "line 1: the policy has no custom role `Not A Name`",
        ),
        (
            r#"{"role": "manager", "action": "flows.nope", "tier": "trial", "place": "own_company", "expect": "allow"}"#,
            "line 1: the policy has no action `flows.nope`",
        ),
        (
            r#"{"role": "manager", "custom_role": "ops", "action": "flows.view", "tier": "trial", "place": "own_company", "expect": "allow"}"#,
            "line 1: a case names exactly one of `role` and `custom_role`",
        ),
        (
            r#"{"action": "flows.view", "tier": "trial", "place": "own_company", "expect": "allow"}"#,
            "line 1: a case names exactly one of `role` and `custom_role`",
        ),
    ];
    for (case, message) in errors {
        assert_eq!(policy.run_cases(case).unwrap_err().to_string(), message);
    }
    let e = policy
        .run_cases("\n\n{\"role\": \"manager\", \"action\": \"flows.view\", \"tier\": \"gold\"}")
        .unwrap_err();
    assert!(
        matches!(e, review::CaseError::Malformed { line: 3, .. }),
        "{e}"
    );
}

/// A policy whose actions are `ids` (each a copy of the default policy's first action).
fn policy_of(ids: &[String]) -> Policy {
    let mut doc: PolicyDocument = serde_json::from_str(Policy::default_document_json()).unwrap();
    let template = doc.actions[0].clone();
    doc.actions = ids
        .iter()
        .map(|id| {
            let mut a = template.clone();
            a.id = id.clone();
            a
        })
        .collect();
    Policy::compile(&doc).unwrap()
}

/// Ids that collide completely in the lookup's hash (same length, same first and last
/// eight bytes) are each found, and an unknown id colliding with them is not.
#[test]
fn action_lookup_with_colliding_ids() {
    let ids: Vec<String> = (0..40)
        .map(|i| format!("abcdefgh-{i:02}-stuv.view"))
        .collect();
    let policy = policy_of(&ids);
    for id in &ids {
        assert_eq!(policy.action(id).map(ActionDef::id), Some(id.as_str()));
    }
    assert!(policy.action("abcdefgh-99-stuv.view").is_none());
    assert!(policy.action("abcdefgh-0-stuv.view").is_none());
    assert!(Policy::deny_all().action("flows.view").is_none());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// `Policy::action` finds exactly what a linear search of the actions finds, for
    /// policies of 1 to 200 actions and for ids that are in them, near them (one byte
    /// changed, cut short, grown) or anything at all.
    #[test]
    fn action_lookup_equals_a_linear_search(
        ids in proptest::collection::btree_set("[a-c]{1,3}[a-z0-9-]{0,9}\\.[a-c][a-z-]{0,12}", 1..200),
        probes in proptest::collection::vec(".{0,24}", 0..20),
        pick in proptest::prelude::any::<proptest::sample::Index>(),
    ) {
        let ids: Vec<String> = ids.into_iter().collect();
        let policy = policy_of(&ids);
        let chosen = pick.get(&ids).clone();
        let mut queries = probes;
        queries.push(chosen.clone());
        queries.push(format!("{chosen}x"));
        queries.push(chosen[..chosen.len() - 1].to_owned());
        queries.push(chosen.replacen('.', "-", 1));
        queries.extend(ids.iter().take(50).cloned());
        for q in &queries {
            let linear = policy.actions().find(|a| a.id() == q).map(ActionDef::id);
            proptest::prop_assert_eq!(policy.action(q).map(ActionDef::id), linear, "{}", q);
        }
    }
}
