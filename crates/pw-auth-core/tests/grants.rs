//! Time-bound grants: in force before their end, never from it on; an ended grant
//! denies with the missing-grant reason, exactly as no grant does.

use proptest::prelude::*;
use pw_auth_core::*;
use time::Duration;

use crate::support::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn an_ended_grant_is_no_grant(
        action in any_action(), role in any_role(), tier in any_tier(),
        ends_in in -100_000i64..100_000, permanent_too in any::<bool>(),
    ) {
        let (home, eu, us) = (company("acme"), company("acme-eu"), company("acme-us"));
        let end = NOW + Duration::seconds(ends_in);
        let mut held = vec![Grant::until(eu.clone(), end)];
        if permanent_too {
            held.push(Grant::permanent(us.clone()));
        }
        let in_force = grants_in_force(&held, NOW);
        prop_assert_eq!(in_force.contains(&eu), NOW < end);
        prop_assert_eq!(in_force.contains(&us), permanent_too);
        let p = principal(role, &home);
        let ask = |grants: &[CompanyId]| {
            authorize(policy(), &p, &Request::new(&action, &eu, tier).with_parent(&home).with_grants(grants), NOW)
        };
        let timed = ask(&in_force);
        if NOW < end {
            prop_assert_eq!(timed, ask(std::slice::from_ref(&eu)));
        } else {
            prop_assert_eq!(timed, ask(&[]));
        }
    }
}

#[test]
fn a_grants_end_is_half_open_and_serialised_only_when_it_has_one() {
    let eu = company("acme-eu");
    let g = Grant::until(eu.clone(), NOW);
    assert!(g.in_force(NOW - Duration::nanoseconds(1)));
    assert!(!g.in_force(NOW));
    assert!(Grant::permanent(eu.clone()).in_force(time::macros::datetime!(9999-12-31 23:59 UTC)));
    assert_eq!(
        serde_json::to_value(Grant::permanent(eu.clone())).unwrap(),
        serde_json::json!({"company": "acme-eu"})
    );
    let v = serde_json::to_value(&g).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"company": "acme-eu", "expires_at": "2026-11-27T12:00:00Z"})
    );
    assert_eq!(serde_json::from_value::<Grant>(v).unwrap(), g);
}
