//! The peer encodings are the same policy: for every role × action × tier, pw-auth,
//! cedar-policy (in both styles) and casbin give the same allow/deny — without this the comparison
//! in benches/compare.rs would mean nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use pw_auth_bench::{
    CasbinPeer, CedarPeer, CedarStyle, headers_bearer, http_auth_challenges, scaled_policy,
};
use pw_auth_core::testing::{NOW, principal};
use pw_auth_core::*;

#[test]
fn cedar_casbin_and_pw_auth_agree_on_every_role_action_and_tier() {
    let policy = Policy::default_policy();
    let cedar = CedarPeer::new(&policy).unwrap();
    let grouped = CedarPeer::with_style(&policy, CedarStyle::Grouped).unwrap();
    assert!(
        grouped.policy_count() <= 8 && cedar.policy_count() > 40,
        "{} grouped, {} per action",
        grouped.policy_count(),
        cedar.policy_count()
    );
    let casbin = CasbinPeer::new(&policy).unwrap();
    let acme = CompanyId::new("acme").unwrap();
    let (mut checked, mut allowed) = (0, 0);
    for tier in Tier::ALL {
        for role in Role::ALL {
            let p = principal(role, &acme);
            for a in policy
                .actions()
                .map(|a| a.id().to_owned())
                .chain(["flows.unknown".to_owned()])
            {
                let ours = authorize(&policy, &p, &Request::new(&a, &acme, tier), NOW).is_allowed();
                let theirs = cedar.is_allowed(&cedar.request(role, &a, tier).unwrap());
                let casbins = casbin.is_allowed(role, &a, tier);
                let groups = grouped.is_allowed(&grouped.request(role, &a, tier).unwrap());
                assert_eq!(ours, theirs, "cedar differs on {role} {a} {tier}");
                assert_eq!(ours, groups, "grouped cedar differs on {role} {a} {tier}");
                assert_eq!(ours, casbins, "casbin differs on {role} {a} {tier}");
                checked += 1;
                allowed += usize::from(ours);
            }
        }
    }
    // Both outcomes are exercised.
    // Four tiers, five roles, the 54 actions and an unknown one.
    assert_eq!(checked, 4 * 5 * 55);
    assert!(
        allowed > 300 && allowed < checked - 300,
        "{allowed} of {checked} allowed"
    );
}

#[test]
fn the_header_peers_read_what_pw_auth_reads() {
    let raw = b"Bearer mF_9.B5f-4.1JqM";
    assert_eq!(headers_bearer(raw), Some(15));
    assert!(matches!(
        pw_auth_http::parse_authorization(raw),
        Ok(Credential::Bearer(_))
    ));
    let rfc = r#"Basic realm="simple", Newauth realm="apps", type=1, title="Login to \"apps\"""#;
    assert_eq!(http_auth_challenges(rfc), Some(2));
    assert_eq!(
        pw_auth_http::parse_challenges([rfc.as_bytes()])
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn scaled_policies_keep_the_default_decisions() {
    let base = Policy::default_policy();
    let big = scaled_policy(10).unwrap();
    assert_eq!(big.actions().len(), 10 * base.actions().len());
    let acme = CompanyId::new("acme").unwrap();
    let p = principal(Role::Manager, &acme);
    for a in base.actions() {
        let req = Request::new(a.id(), &acme, Tier::Professional);
        assert_eq!(
            authorize(&base, &p, &req, NOW),
            authorize(&big, &p, &req, NOW)
        );
    }
}
