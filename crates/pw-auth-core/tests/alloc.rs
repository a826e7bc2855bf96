//! Decisions allocate nothing: measured with a counting global allocator over every
//! kind of decision. A separate binary, since the allocator is global.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use pw_auth_core::testing::NOW;
use pw_auth_core::*;

#[test]
fn authorize_and_role_changes_allocate_nothing() {
    let mut doc: PolicyDocument = serde_json::from_str(Policy::default_document_json()).unwrap();
    doc.custom_roles = serde_json::from_value(serde_json::json!([
        {"name": "integration-lead", "view": ["flows", "scripts"], "edit": ["flows"]}
    ]))
    .unwrap();
    let policy = Policy::compile(&doc).unwrap();
    let acme = CompanyId::new("acme").unwrap();
    let child = CompanyId::new("acme-eu").unwrap();
    let other = CompanyId::new("globex").unwrap();
    let grants = [child.clone()];
    let mut principals: Vec<Principal> = Role::ALL
        .into_iter()
        .map(|r| testing::principal(r, &acme))
        .collect();
    principals.push(
        testing::with_custom_role(
            testing::principal(Role::Manager, &acme),
            CustomRoleName::new("integration-lead").unwrap(),
        )
        .unwrap(),
    );
    let mut actions: Vec<String> = policy.actions().map(|a| a.id().to_owned()).collect();
    actions.push("flows.unknown".into());
    let targets: Vec<UserRecord> = Role::ALL
        .into_iter()
        .map(|r| UserRecord::active(UserId::new("t").unwrap(), acme.clone(), r))
        .collect();

    let mut allowed = 0u32;
    let info = allocation_counter::measure(|| {
        for p in &principals {
            for a in &actions {
                for tier in Tier::ALL {
                    for company in [&acme, &child, &other] {
                        let req = Request::new(a, company, tier)
                            .with_parent(&acme)
                            .with_grants(&grants);
                        if std::hint::black_box(authorize(&policy, p, &req, NOW)).is_allowed() {
                            allowed += 1;
                        }
                    }
                }
            }
            for t in &targets {
                for to in Role::ALL {
                    let _ = std::hint::black_box(authorize_role_change(
                        p,
                        &RoleChange::new(t, to),
                        NOW,
                    ));
                }
            }
        }
    });
    assert!(allowed > 100, "the loop exercised allows as well as denies");
    assert_eq!(info.count_total, 0, "decisions allocated: {info:?}");
}
