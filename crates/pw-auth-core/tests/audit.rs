//! The JSON audit records of representative decisions, as reviewed snapshots.

use pw_auth_core::*;

use crate::support::*;

fn record(role: Role, action: &str, tier: Tier) -> serde_json::Value {
    let policy = policy();
    let acme = company("acme");
    let p = principal(role, &acme);
    let req = Request::new(action, &acme, tier);
    serde_json::to_value(AuditRecord::decision(
        policy,
        &p,
        &req,
        authorize(policy, &p, &req, NOW),
        NOW,
    ))
    .unwrap()
}

#[test]
fn administrator_publishes_a_blueprint() {
    insta::assert_json_snapshot!(record(
        Role::Administrator,
        "blueprints.publish",
        Tier::Professional
    ));
}

#[test]
fn api_key_is_refused_blueprint_management() {
    insta::assert_json_snapshot!(record(
        Role::ApiUser,
        "blueprints.publish",
        Tier::Professional
    ));
}

#[test]
fn standard_tier_manager_creating_a_script() {
    insta::assert_json_snapshot!(record(Role::Manager, "scripts.create", Tier::Standard));
}

#[test]
fn unknown_action() {
    insta::assert_json_snapshot!(record(Role::User, "flows.teleport", Tier::Enterprise));
}

#[test]
fn expired_token() {
    let policy = policy();
    let acme = company("acme");
    let req = Request::new("flows.view", &acme, Tier::Professional);
    let failure = AuthnFailure::Expired { at: NOW };
    insta::assert_json_snapshot!(
        serde_json::to_value(AuditRecord::unauthenticated(
            policy,
            failure,
            Some(&req),
            NOW
        ))
        .unwrap()
    );
}

/// An audit record can always be written, whatever clock stamped it: a
/// seconds-precision offset (once "cannot be serialised") is written in UTC, and a
/// year RFC 3339 cannot carry (negative, or past 9999) in ISO 8601's expanded form.
#[test]
fn every_clock_gives_a_writable_record() {
    let p = policy();
    let acme = company("acme");
    let manager = pw_auth_core::testing::principal(Role::Manager, &acme);
    let req = Request::new("flows.view", &acme, Tier::Professional);
    let cases = [
        (
            NOW.to_offset(time::macros::offset!(+01:00:30)),
            "2026-11-27T12:00:00Z",
        ),
        (
            time::macros::datetime!(-0001-06-01 0:00 UTC),
            "-0001-06-01T00:00:00Z",
        ),
        (
            time::macros::datetime!(-9999-01-01 0:00 UTC),
            "-9999-01-01T00:00:00Z",
        ),
    ];
    for (at, text) in cases {
        let decision = authorize(p, &manager, &req, at);
        for record in [
            AuditRecord::decision(p, &manager, &req, decision, at),
            AuditRecord::unauthenticated(p, AuthnFailure::Missing, Some(&req), at),
            AuditRecord::login(p, LoginResult::UnknownUser, None, at),
        ] {
            let v = serde_json::to_value(&record).unwrap();
            assert_eq!(v["time"], text, "{v}");
        }
    }
}
