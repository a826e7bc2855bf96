#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::decision::{Reason, authorize};
use crate::principal::testing;
use crate::role::Role;
use crate::tier::Tier;
use crate::{PolicyDocument, Request};

fn acme() -> CompanyId {
    CompanyId::new("acme").unwrap()
}

fn spec(name: &str, view: &[&str], edit: &[&str]) -> CustomRoleSpec {
    CustomRoleSpec {
        name: name.into(),
        view: view.iter().map(|s| (*s).to_owned()).collect(),
        edit: edit.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[test]
fn a_role_is_kept_by_area_name_sorted_and_reads_back_from_its_record() {
    let policy = Policy::default_policy();
    let role = policy
        .company_role(&acme(), &spec("lead", &["scripts", "flows"], &["flows"]))
        .unwrap();
    assert_eq!(role.company(), &acme());
    assert_eq!(role.name().as_str(), "lead");
    assert_eq!(role.view().collect::<Vec<_>>(), ["flows", "scripts"]);
    assert_eq!(role.edit().collect::<Vec<_>>(), ["flows"]);
    assert_eq!(
        role.to_spec(),
        spec("lead", &["flows", "scripts"], &["flows"])
    );
    assert_eq!(
        CompanyRole::from_record(acme(), &role.to_spec()).unwrap(),
        role
    );
    assert!(role.allows("flows", ActionKind::Edit));
    assert!(role.allows("scripts", ActionKind::View));
    assert!(!role.allows("scripts", ActionKind::Edit));
    assert!(!role.allows("flow", ActionKind::View));
}

#[test]
fn a_bad_definition_gets_the_policys_own_error_placed_in_the_text() {
    let policy = Policy::default_policy();
    let cases = [
        (
            r#"{"name": "lead", "view": ["flow"]}"#,
            "line 1, column 27: custom_roles[0] (`lead`): unknown area `flow` in view",
        ),
        (
            r#"{"name": "lead", "view": ["flows", "flows"]}"#,
            "line 1, column 36: custom_roles[0] (`lead`): area `flows` is listed twice in view",
        ),
        (
            "{\"name\": \"lead\",\n \"view\": [\"flows\"],\n \"edit\": [\"scripts\"]}",
            "line 3, column 11: custom_roles[0] (`lead`): edit on `scripts` without view",
        ),
        (
            r#"{"name": "Lead", "view": []}"#,
            "line 1, column 10: custom_roles[0]: ",
        ),
        (
            r#"{"name": "lead", "view": [], "admin": true}"#,
            "line 1, column 36: unknown field `admin`",
        ),
        (r#"{"view": []}"#, "line 1, column 12: missing field `name`"),
    ];
    for (text, message) in cases {
        let e = policy.company_role_from_json(&acme(), text).unwrap_err();
        assert!(e.to_string().starts_with(message), "{text}: {e}");
        assert!(e.location().is_some(), "{text}");
    }
    // At the cap it is read; a byte over, refused unread.
    let role = r#"{"name": "lead", "view": []}"#;
    let at_cap = format!("{role}{}", " ".repeat(MAX_POLICY_LEN - role.len()));
    assert!(policy.company_role_from_json(&acme(), &at_cap).is_ok());
    let too_long = format!("{at_cap} ");
    assert!(matches!(
        policy
            .company_role_from_json(&acme(), &too_long)
            .unwrap_err()
            .kind(),
        K::TooLarge { .. }
    ));
}

#[test]
fn a_record_is_checked_without_a_policy_but_for_its_areas() {
    // An area no policy defines (yet, or any more) is kept, and grants nothing.
    let stale = CompanyRole::from_record(acme(), &spec("lead", &["gone", "flows"], &[])).unwrap();
    assert_eq!(stale.view().collect::<Vec<_>>(), ["flows", "gone"]);
    for broken in [
        spec("lead", &["Flows"], &[]),
        spec("lead", &["flows.view"], &[]),
        spec("lead", &[""], &[]),
        spec("lead", &["flows"], &["scripts"]),
        spec("lead", &["flows", "flows"], &[]),
        spec("lead", &["flows"], &["flows", "flows"]),
        spec("no good", &["flows"], &[]),
    ] {
        assert!(
            CompanyRole::from_record(acme(), &broken).is_err(),
            "{broken:?}"
        );
    }
    let many: Vec<String> = (0..=crate::MAX_ROLE_AREAS)
        .map(|i| format!("a{i}"))
        .collect();
    let big = CustomRoleSpec {
        name: "big".into(),
        view: many,
        edit: Vec::new(),
    };
    assert!(matches!(
        CompanyRole::from_record(acme(), &big).unwrap_err().kind(),
        K::TooManyRoleAreas { .. }
    ));
}

#[test]
fn the_companys_definition_replaces_the_policys_of_the_same_name() {
    let mut doc: PolicyDocument = serde_json::from_str(Policy::default_document_json()).unwrap();
    doc.custom_roles = vec![spec("lead", &["flows"], &["flows"])];
    let policy = Policy::compile(&doc).unwrap();
    let own = policy
        .company_role(&acme(), &spec("lead", &["connectors"], &[]))
        .unwrap();
    let ann = testing::with_custom_role(
        testing::principal(Role::User, &acme()),
        CustomRoleName::new("lead").unwrap(),
    )
    .unwrap();
    let acme = acme();
    let decide = |action: &str, role: Option<&CompanyRole>| {
        let request = Request::new(action, &acme, Tier::Enterprise).with_custom_role(role);
        authorize(&policy, &ann, &request, testing::NOW).reason()
    };
    assert_eq!(decide("flows.edit", None).kind(), "allowed_by_custom_role");
    assert_eq!(decide("connectors.view", None).kind(), "custom_role_lacks");
    assert_eq!(decide("flows.edit", Some(&own)).kind(), "custom_role_lacks");
    assert_eq!(decide("flows.view", Some(&own)).kind(), "custom_role_lacks");
    assert_eq!(
        decide("connectors.view", Some(&own)).kind(),
        "allowed_by_custom_role"
    );
    // Another name of the company's is not this principal's role: the policy's applies.
    let other = policy
        .company_role(&acme, &spec("other", &["connectors"], &[]))
        .unwrap();
    assert_eq!(
        decide("flows.edit", Some(&other)).kind(),
        "allowed_by_custom_role"
    );
    assert_eq!(
        decide("connectors.view", Some(&other)).kind(),
        "custom_role_lacks"
    );
    // Still never above a manager, and only on a tier with the role manager.
    let wide = policy
        .company_role(&acme, &spec("lead", &["blueprints"], &["blueprints"]))
        .unwrap();
    assert_eq!(
        decide("blueprints.publish", Some(&wide)),
        Reason::NotGrantableByCustomRole
    );
    let request =
        Request::new("connectors.view", &acme, Tier::Professional).with_custom_role(Some(&own));
    assert_eq!(
        authorize(&policy, &ann, &request, testing::NOW)
            .reason()
            .kind(),
        "tier_excludes"
    );
}
