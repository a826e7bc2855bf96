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
