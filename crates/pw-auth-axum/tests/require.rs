//! `PwAuth::require` checks its action against the policy when the router is built:
//! a mistyped action is an error then, not a route that denies every request.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use pw_auth_axum::{MemoryStore, PwAuth};
use pw_auth_core::Policy;
use pw_auth_http::{Responder, ServerFlow};

fn auth() -> PwAuth<MemoryStore> {
    let flow = ServerFlow::new(
        Policy::default_policy(),
        Responder::new("patchworks").unwrap(),
    );
    PwAuth::new(flow, MemoryStore::default())
}

#[test]
fn every_action_of_the_policy_can_be_required() {
    let auth = auth();
    for action in Policy::default_policy().actions() {
        assert!(auth.require(action.id()).is_ok(), "{}", action.id());
    }
}

#[test]
fn an_action_the_policy_does_not_define_is_refused_by_name() {
    let auth = auth();
    for typo in ["flows.veiw", "flows", "", "Flows.view", "flows.view "] {
        let e = auth.require(typo).err().expect(typo);
        assert_eq!(e.action(), typo);
        assert_eq!(e.to_string(), format!("the policy has no action `{typo}`"));
    }
}

#[test]
fn the_refusal_escapes_what_it_echoes() {
    let e = auth().require("flows.\u{1b}[2Jview\n").err().unwrap();
    assert_eq!(
        e.to_string(),
        "the policy has no action `flows.\\u{1b}[2Jview\\n`"
    );
}
