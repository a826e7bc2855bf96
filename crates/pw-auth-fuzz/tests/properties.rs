//! proptest drives the same harness functions as the fuzzer.

use proptest::prelude::*;

fn check(r: pw_auth_fuzz::Checked) -> Result<(), TestCaseError> {
    r.map_err(|v| TestCaseError::fail(v.0))
}

/// Bytes that look like header values, and any bytes.
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "(Bearer|bearer|Basic|pwk_)?[ \t]{0,3}[A-Za-z0-9._~+/=,\" -]{0,40}"
            .prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..120),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn authorization(data in header_bytes()) {
        check(pw_auth_fuzz::authorization(&data))?;
    }

    #[test]
    fn www_authenticate(data in prop_oneof![
        "[A-Za-z0-9=, \t\"\\\\\n]{0,80}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..120),
    ]) {
        check(pw_auth_fuzz::www_authenticate(&data))?;
    }

    #[test]
    fn login(data in prop_oneof![
        r#"\{"(username|password|message|token|expires_in)": ("[a-z0-9]{0,8}"|-?[0-9]{1,12}|null), "(username|password|token)": "[a-z0-9]{1,8}"( , "expires_in": [0-9]{1,6})?\}"#.prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..120),
    ]) {
        check(pw_auth_fuzz::login(&data))?;
    }

    #[test]
    fn decisions(data in prop::collection::vec(any::<u8>(), 0..64)) {
        check(pw_auth_fuzz::decisions_bytes(&data))?;
    }

    #[test]
    fn session(data in prop::collection::vec(any::<u8>(), 0..512)) {
        check(pw_auth_fuzz::session_bytes(&data))?;
    }

    #[test]
    fn limiter(data in prop::collection::vec(any::<u8>(), 0..256)) {
        check(pw_auth_fuzz::limiter_bytes(&data))?;
    }

    #[test]
    fn server_flow(data in prop::collection::vec(any::<u8>(), 0..256)) {
        check(pw_auth_fuzz::server_flow_bytes(&data))?;
    }

    #[test]
    fn lifetimes(data in prop::collection::vec(any::<u8>(), 0..64)) {
        check(pw_auth_fuzz::lifetimes_bytes(&data))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn policy_documents(
        actions in prop::collection::vec(("[a-c]\\.[a-d]", prop::sample::select(vec!["view", "edit"]),
            prop::sample::select(vec!["read-only", "user", "manager", "administrator", "nobody", "boss"]),
            prop::option::of(prop::sample::select(vec!["advanced", "role-manager", "x"])), any::<bool>()), 0..5),
        view in prop::collection::vec("[a-d]", 0..3), edit in prop::collection::vec("[a-d]", 0..3),
    ) {
        let actions: Vec<serde_json::Value> = actions.into_iter().map(|(id, kind, min, feature, grant)| {
            let mut a = serde_json::json!({"id": id, "kind": kind, "min_role": min, "grant_required": grant});
            if let Some(f) = feature { a["feature"] = f.into(); }
            a
        }).collect();
        let doc = serde_json::json!({"name": "p", "version": "1", "actions": actions,
            "custom_roles": [{"name": "r", "view": view, "edit": edit}]});
        check(pw_auth_fuzz::policy(doc.to_string().as_bytes()))?;
    }
}

#[test]
fn the_default_policy_agrees_with_the_model() {
    pw_auth_fuzz::policy(pw_auth_core::Policy::default_document_json().as_bytes()).unwrap();
}
