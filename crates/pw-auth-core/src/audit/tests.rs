use super::*;
use crate::decision::authorize;
use crate::id::CompanyId;
use crate::limit::LimitedBy;
use crate::principal::testing::{NOW, principal};
use crate::tier::Tier;
use std::time::Duration;

#[test]
fn over_limit_records_round_retry_after_up_to_whole_seconds() {
    let policy = Policy::default_policy();
    let acme = CompanyId::new("acme").unwrap();
    let p = principal(Role::Manager, &acme);
    let req = Request::new("flows.view", &acme, Tier::Professional);
    let secs =
        |d| match AuditRecord::over_limit(&policy, &p, &req, d, LimitedBy::Company, NOW).reason {
            AuditReason::OverLimit(o) => o.retry_after_secs,
            other => panic!("{other:?}"),
        };
    assert_eq!(secs(Duration::ZERO), 0);
    assert_eq!(secs(Duration::from_secs(2)), 2);
    assert_eq!(secs(Duration::from_nanos(2_000_000_001)), 3);
    assert_eq!(secs(Duration::from_millis(250)), 1);
    let r = AuditRecord::over_limit(
        &policy,
        &p,
        &req,
        Duration::from_secs(1),
        LimitedBy::Key,
        NOW,
    );
    assert_eq!(r.effect, Effect::Deny);
    assert_eq!(r.reason.kind(), "over_limit");
    assert_eq!(r.reason.detail(), Some("key"));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["reason"],
        serde_json::json!({"kind": "over_limit", "retry_after_secs": 1, "limited_by": "key"})
    );
    assert_eq!(r.principal.map(|a| a.user), Some(p.user().clone()));
}

#[test]
fn only_an_issued_token_is_an_allowed_login() {
    let policy = Policy::default_policy();
    let acme = CompanyId::new("acme").unwrap();
    let ann = principal(Role::Administrator, &acme);
    let issued = AuditRecord::login(&policy, LoginResult::TokenIssued, Some(&ann), NOW);
    assert_eq!(issued.effect, Effect::Allow);
    assert_eq!(issued.company.as_ref(), Some(&acme));
    assert_eq!(issued.action.as_deref(), Some("login"));
    for result in [
        LoginResult::MalformedBody,
        LoginResult::UnknownUser,
        LoginResult::WrongPassword,
        LoginResult::UserDisabled,
        LoginResult::ApiUser,
    ] {
        let r = AuditRecord::login(&policy, result, None, NOW);
        assert_eq!(r.effect, Effect::Deny, "{result:?}");
        assert_eq!((r.principal, r.company), (None, None));
        let json = serde_json::to_value(AuditRecord::login(&policy, result, None, NOW)).unwrap();
        assert_eq!(json["reason"]["kind"], "login");
    }
}

#[test]
fn long_actions_are_cut_on_a_char_boundary() {
    let s = "é".repeat(100);
    let c = cut(&s);
    assert!(c.len() <= MAX_AUDIT_ACTION_LEN);
    assert_eq!(c.chars().count(), 64);
    assert_eq!(&*cut("flows.view"), "flows.view");
}

/// A policy's action is recorded by sharing the policy's text; an unknown one is
/// recorded as asked (cut), from an id or from a definition alike.
#[test]
fn known_actions_share_the_policys_text() {
    let policy = Policy::default_policy();
    let acme = CompanyId::new("acme").unwrap();
    let p = principal(Role::Manager, &acme);
    let def = policy.action("flows.view").unwrap();
    for req in [
        Request::new("flows.view", &acme, Tier::Standard),
        Request::for_action(def, &acme, Tier::Standard),
    ] {
        let d = crate::authorize(&policy, &p, &req, NOW);
        let r = AuditRecord::decision(&policy, &p, &req, d, NOW);
        let action = r.action.unwrap();
        assert!(Arc::ptr_eq(&action, def.shared_id()));
        assert!(Arc::ptr_eq(&r.policy, policy.shared_id()));
    }
    let unknown = Request::new("flows.fly", &acme, Tier::Standard);
    let r = AuditRecord::unauthenticated(&policy, AuthnFailure::Missing, Some(&unknown), NOW);
    assert_eq!(r.action.as_deref(), Some("flows.fly"));
}

/// Only refusals for a client's failures are throttled records: a throttled
/// request and a throttled login, not any other login result or refusal.
#[test]
fn throttled_records_are_exactly_the_throttled_ones() {
    let policy = Policy::default_policy();
    assert!(AuditRecord::throttled(&policy, None, Duration::from_secs(6), NOW).is_throttled());
    assert!(AuditRecord::login(&policy, LoginResult::Throttled, None, NOW).is_throttled());
    for result in [
        LoginResult::TokenIssued,
        LoginResult::MalformedBody,
        LoginResult::UnknownUser,
        LoginResult::WrongPassword,
        LoginResult::UserDisabled,
        LoginResult::ApiUser,
    ] {
        assert!(
            !AuditRecord::login(&policy, result, None, NOW).is_throttled(),
            "{result:?}"
        );
    }
    let other = AuditRecord::unauthenticated(&policy, AuthnFailure::Unknown, None, NOW);
    assert!(!other.is_throttled());
    assert_eq!(other.client, None);
    let ip: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    assert_eq!(other.with_client(ip).client, Some(ip));
}

/// Every kind of record the crate writes — every reason, every authentication
/// failure, every login result, over-limit and throttled, with an API-key, a bearer
/// and a custom-role principal, with and without a request, at an ordinary and an
/// extreme time — is valid against `docs/audit-schema.json`; the schema is not
/// vacuous: records it must refuse are refused.
#[test]
fn every_record_kind_matches_the_published_schema() {
    use crate::authn::AuthnFailure;
    use crate::decision::{Decision, Request};
    use crate::principal::testing::{api_key_principal, with_custom_role};
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../../docs/audit-schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let check = |record: &AuditRecord| {
        let v = serde_json::to_value(record).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{v}: {errors:?}");
        v
    };
    let policy = Policy::default_policy();
    let acme = CompanyId::new("acme").unwrap();
    let req = Request::new("flows.view", &acme, Tier::Professional);
    let principals = [
        principal(Role::Manager, &acme),
        api_key_principal(
            crate::id::UserId::new("erp").unwrap(),
            acme.clone(),
            crate::id::ApiKeyId::new("key_1").unwrap(),
        ),
        with_custom_role(
            principal(Role::User, &acme),
            crate::role::CustomRoleName::new("ops").unwrap(),
        )
        .unwrap(),
    ];
    let times = [NOW, time::macros::datetime!(-0001-01-01 0:00 UTC)];
    let mut n = 0;
    for at in times {
        for p in &principals {
            for reason in crate::decision::examples() {
                check(&AuditRecord::decision(
                    &policy,
                    p,
                    &req,
                    Decision::of(reason),
                    at,
                ));
                n += 1;
            }
            check(&AuditRecord::over_limit(
                &policy,
                p,
                &req,
                Duration::from_millis(1500),
                [LimitedBy::Company, LimitedBy::Key, LimitedBy::Both][n % 3],
                at,
            ));
            check(&AuditRecord::login(
                &policy,
                LoginResult::TokenIssued,
                Some(p),
                at,
            ));
        }
        let failures = [
            AuthnFailure::Missing,
            AuthnFailure::Empty,
            AuthnFailure::UnsupportedScheme {
                scheme: Some("Basic"),
            },
            AuthnFailure::UnsupportedScheme { scheme: None },
            AuthnFailure::MultipleValues { count: 2 },
            AuthnFailure::Malformed,
            AuthnFailure::Unknown,
            AuthnFailure::Revoked { at },
            AuthnFailure::Deleted,
            AuthnFailure::Expired { at },
            AuthnFailure::KeyExpired { at },
            AuthnFailure::KeyRetired { at },
            AuthnFailure::NotYetValid { from: at },
            AuthnFailure::UserDisabled,
            AuthnFailure::RecordMismatch,
        ];
        for f in failures {
            check(&AuditRecord::unauthenticated(&policy, f, Some(&req), at));
            check(&AuditRecord::unauthenticated(&policy, f, None, at));
        }
        for result in [
            LoginResult::TokenIssued,
            LoginResult::MalformedBody,
            LoginResult::UnknownUser,
            LoginResult::WrongPassword,
            LoginResult::UserDisabled,
            LoginResult::ApiUser,
            LoginResult::Throttled,
        ] {
            check(&AuditRecord::login(&policy, result, None, at));
        }
        check(&AuditRecord::throttled(
            &policy,
            Some(&req),
            Duration::from_secs(6),
            at,
        ));
        check(&AuditRecord::throttled(&policy, None, Duration::ZERO, at));
        for client in ["192.0.2.1", "2001:db8::1"] {
            let mut r = AuditRecord::throttled(&policy, None, Duration::ZERO, at)
                .with_client(client.parse().unwrap());
            r.count = Some(3000);
            let v = check(&r);
            assert_eq!(
                (v["client"].as_str(), v["count"].as_u64()),
                (Some(client), Some(3000))
            );
        }
        for p in &principals {
            let key = crate::id::ApiKeyId::new("key_2").unwrap();
            let v = check(&AuditRecord::key_created(&policy, p, &key, &acme, at));
            assert_eq!(
                v["reason"],
                serde_json::json!({"kind": "key_created", "key_id": "key_2"})
            );
            assert_eq!(v["action"], "api-keys.create");
            let old = crate::id::ApiKeyId::new("key_1").unwrap();
            let v = check(&AuditRecord::key_rotated(&policy, p, &key, &old, &acme, at));
            assert_eq!(
                v["reason"],
                serde_json::json!({"kind": "key_created", "key_id": "key_2", "replaces": "key_1"})
            );
            assert_eq!(v["action"], "api-keys.create");
            let bob = crate::id::UserId::new("bob").unwrap();
            for command in OperatorAction::ALL {
                for user in [None, Some(&bob)] {
                    let r = AuditRecord::operator_command(&policy, command, &acme, user, at);
                    assert_eq!(r.reason.kind(), "operator_command");
                    assert_eq!(r.reason.detail(), Some(command.as_str()));
                    let v = check(&r);
                    assert_eq!(v["reason"]["command"], command.as_str());
                    assert_eq!(v["reason"]["user"].as_str(), user.map(|u| u.as_str()));
                    assert_eq!(v["principal"], serde_json::Value::Null);
                    assert_eq!(v["action"], serde_json::Value::Null);
                    assert_eq!(v["company"], "acme");
                    assert_eq!(v["effect"], "allow");
                }
            }
            let token = crate::id::TokenId::new("tok_1").unwrap();
            for (operation, result, token_id) in [
                (OAuthOperation::Revoke, OAuthResult::Revoked, Some(&token)),
                (OAuthOperation::Revoke, OAuthResult::NotRevoked, None),
                (
                    OAuthOperation::Introspect,
                    OAuthResult::Active,
                    Some(&token),
                ),
                (OAuthOperation::Introspect, OAuthResult::Inactive, None),
            ] {
                let call = OAuthCall {
                    operation,
                    client: bob.clone(),
                    token_id: token_id.cloned(),
                    result,
                };
                let r = AuditRecord::oauth(&policy, call, &acme, at);
                assert_eq!(
                    (r.reason.kind(), r.reason.detail()),
                    ("oauth", Some(result.as_str()))
                );
                let v = check(&r);
                assert_eq!(v["reason"]["client"], "bob");
                assert_eq!(v["reason"]["result"], result.as_str());
                assert_eq!(
                    v["reason"]["token_id"].as_str(),
                    token_id.map(|t| t.as_str())
                );
                assert_eq!(v["principal"], serde_json::Value::Null);
                assert_eq!(
                    (v["company"].as_str(), v["effect"].as_str()),
                    (Some("acme"), Some("allow"))
                );
            }
            assert_eq!(
                serde_json::to_value(OAuthOperation::Introspect).unwrap(),
                "introspect"
            );
            let eu = CompanyId::new("acme-eu").unwrap();
            for (given, until) in [(true, Some(at)), (true, None), (false, None)] {
                let change = GrantChanged {
                    user: bob.clone(),
                    linked_company: eu.clone(),
                    given,
                    until,
                };
                let r = AuditRecord::grant_changed(&policy, p, &acme, change, at);
                let word = if given { "given" } else { "withdrawn" };
                assert_eq!(
                    (r.reason.kind(), r.reason.detail()),
                    ("grant_changed", Some(word))
                );
                let v = check(&r);
                assert_eq!(v["reason"]["change"], word);
                assert_eq!(v["reason"]["linked_company"], "acme-eu");
                assert_eq!(v["reason"]["until"].is_string(), until.is_some());
                assert_eq!(v["action"], "linked-companies.grant");
                assert_eq!(v["company"], "acme");
            }
            let lead = CustomRoleName::new("lead").unwrap();
            for (change, role, custom_role, refused) in [
                (UserChange::Created, Some(Role::User), None, None),
                (UserChange::RoleChanged, Some(Role::Manager), None, None),
                (UserChange::Disabled, None, None, None),
                (UserChange::Updated, None, None, None),
                (UserChange::Enabled, None, None, None),
                (
                    UserChange::RoleChanged,
                    Some(Role::Administrator),
                    None,
                    Some("no_one_makes_administrator"),
                ),
                (
                    UserChange::CustomRoleAssigned,
                    None,
                    Some(lead.clone()),
                    None,
                ),
                (
                    UserChange::CustomRoleRemoved,
                    None,
                    Some(lead.clone()),
                    None,
                ),
            ] {
                let changed = UserChanged {
                    user: bob.clone(),
                    change,
                    role,
                    custom_role: custom_role.clone(),
                    refused,
                };
                let r = AuditRecord::user_changed(&policy, p, "users.update", &acme, changed, at);
                assert_eq!(r.effect == Effect::Deny, refused.is_some());
                let v = check(&r);
                assert_eq!(v["reason"]["kind"], "user_changed");
                assert_eq!(v["reason"]["change"], change.as_str());
                assert_eq!(
                    v["reason"]["custom_role"].as_str(),
                    custom_role.as_ref().map(|c| c.as_str())
                );
                assert_eq!(v["action"], "users.update");
            }
            let role = policy
                .company_role_from_json(
                    &acme,
                    r#"{"name": "lead", "view": ["flows", "users"], "edit": ["flows"]}"#,
                )
                .unwrap();
            for (change, action) in [
                (CustomRoleChange::Created, "roles.create"),
                (CustomRoleChange::Edited, "roles.edit"),
                (CustomRoleChange::Deleted, "roles.edit"),
            ] {
                let mut changed = CustomRoleChanged::of(&role, change);
                if change == CustomRoleChange::Deleted {
                    changed.view = Box::default();
                    changed.edit = Box::default();
                }
                let r = AuditRecord::custom_role_changed(&policy, p, action, &acme, changed, at);
                assert_eq!(
                    (r.reason.kind(), r.reason.detail(), r.effect),
                    ("custom_role_changed", Some(change.as_str()), Effect::Allow)
                );
                let v = check(&r);
                assert_eq!(v["reason"]["change"], change.as_str());
                assert_eq!(v["reason"]["name"], "lead");
                assert_eq!(v["action"], action);
                assert_eq!(v["company"], "acme");
                if change == CustomRoleChange::Deleted {
                    assert!(v["reason"].get("view").is_none());
                } else {
                    assert_eq!(v["reason"]["view"], serde_json::json!(["flows", "users"]));
                    assert_eq!(v["reason"]["edit"], serde_json::json!(["flows"]));
                }
            }
        }
    }
    assert!(n >= 100);
    // Records the schema must refuse.
    let record = AuditRecord::login(&policy, LoginResult::UnknownUser, None, NOW);
    assert_eq!(record.schema_version(), AUDIT_SCHEMA_VERSION);
    let good = check(&record);
    assert_eq!(good["schema_version"], record.schema_version());
    let mut bad = Vec::new();
    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("schema_version");
    bad.push(v);
    let mut v = good.clone();
    v["schema_version"] = 1.into();
    bad.push(v);
    let mut v = good.clone();
    v["client"] = "not-an-address".into();
    bad.push(v);
    let mut v = good.clone();
    v["count"] = 0.into();
    bad.push(v);
    let mut v = good.clone();
    v["reason"]["result"] = "maybe".into();
    bad.push(v);
    let mut v = good.clone();
    v["reason"] = serde_json::json!({"kind": "new_kind"});
    bad.push(v);
    let mut v = good.clone();
    v["token"] = "pwt_secret".into();
    bad.push(v);
    let mut v = good.clone();
    v["time"] = "2026-11-27 12:00".into();
    bad.push(v);
    let mut v = good.clone();
    v["decision_id"] = "01A25060060007070707070707070707".into();
    bad.push(v);
    let mut v = good.clone();
    v["decision_id"] = "01a2506006000707070707070707070".into();
    bad.push(v);
    for v in bad {
        assert!(!validator.is_valid(&v), "{v}");
    }
    // A record with its decision's id, and one written as schema version 2 (the same
    // shape without it), are both valid.
    let id = DecisionId::new(NOW, [9; 10]);
    let with_id = check(&record.clone().with_decision_id(id));
    assert_eq!(with_id["decision_id"], id.to_string());
    for older in [2, 3] {
        let mut v = good.clone();
        v["schema_version"] = older.into();
        assert!(validator.is_valid(&v), "{v}");
    }
}

/// Every authentication failure, each variant once.
fn every_failure() -> [AuthnFailure; 14] {
    [
        AuthnFailure::Missing,
        AuthnFailure::Empty,
        AuthnFailure::UnsupportedScheme {
            scheme: Some("Basic"),
        },
        AuthnFailure::MultipleValues { count: 2 },
        AuthnFailure::Malformed,
        AuthnFailure::Unknown,
        AuthnFailure::Revoked { at: NOW },
        AuthnFailure::Deleted,
        AuthnFailure::Expired { at: NOW },
        AuthnFailure::KeyExpired { at: NOW },
        AuthnFailure::KeyRetired { at: NOW },
        AuthnFailure::NotYetValid { from: NOW },
        AuthnFailure::UserDisabled,
        AuthnFailure::RecordMismatch,
    ]
}

#[test]
fn a_failures_kind_is_its_serialised_name_and_each_is_its_own() {
    let mut seen = std::collections::BTreeSet::new();
    for f in every_failure() {
        let json = serde_json::to_value(f).unwrap();
        assert_eq!(json["failure"], f.kind(), "{f:?}");
        assert!(seen.insert(f.kind()), "{} twice", f.kind());
    }
}

#[test]
fn a_login_results_code_is_its_serialised_form() {
    for r in [
        LoginResult::TokenIssued,
        LoginResult::MalformedBody,
        LoginResult::UnknownUser,
        LoginResult::WrongPassword,
        LoginResult::UserDisabled,
        LoginResult::ApiUser,
        LoginResult::Throttled,
    ] {
        assert_eq!(serde_json::to_value(r).unwrap(), r.as_str(), "{r:?}");
    }
}

#[test]
fn an_audit_reasons_kind_is_its_serialised_kind_and_its_detail_the_failure_or_result() {
    let policy = Policy::default_policy();
    let acme = CompanyId::new("acme").unwrap();
    let p = principal(Role::Manager, &acme);
    let req = Request::new("flows.view", &acme, Tier::Professional);
    let publish = Request::new("blueprints.publish", &acme, Tier::Professional);
    let mut records = vec![
        AuditRecord::decision(&policy, &p, &req, authorize(&policy, &p, &req, NOW), NOW),
        AuditRecord::decision(
            &policy,
            &p,
            &publish,
            authorize(&policy, &p, &publish, NOW),
            NOW,
        ),
        AuditRecord::over_limit(
            &policy,
            &p,
            &req,
            Duration::from_secs(3),
            LimitedBy::Both,
            NOW,
        ),
        AuditRecord::login(&policy, LoginResult::WrongPassword, None, NOW),
        AuditRecord::throttled(&policy, None, Duration::from_secs(3), NOW),
    ];
    for f in every_failure() {
        records.push(AuditRecord::unauthenticated(&policy, f, Some(&req), NOW));
    }
    let kinds: Vec<&str> = records.iter().map(|r| r.reason.kind()).collect();
    assert_eq!(
        kinds.get(..5).unwrap(),
        [
            "allowed",
            "administrator_only",
            "over_limit",
            "login",
            "throttled"
        ]
    );
    for r in &records {
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json["reason"]["kind"], r.reason.kind(), "{r:?}");
        let detail = json["reason"]
            .get("failure")
            .or_else(|| json["reason"].get("result"))
            .or_else(|| json["reason"].get("limited_by"))
            .and_then(|d| d.as_str());
        assert_eq!(detail, r.reason.detail(), "{r:?}");
    }
    let changed = AuditReason::UserChanged(UserChanged {
        user: crate::id::UserId::new("bob").unwrap(),
        change: UserChange::Disabled,
        role: None,
        custom_role: None,
        refused: None,
    });
    assert_eq!(
        serde_json::to_value(&changed).unwrap()["kind"],
        changed.kind()
    );
    assert_eq!(changed.detail(), Some("disabled"));
    let key = AuditReason::KeyCreated(KeyCreated {
        key_id: ApiKeyId::new("k1").unwrap(),
        replaces: None,
    });
    assert_eq!(serde_json::to_value(&key).unwrap()["kind"], key.kind());
    assert_eq!(key.detail(), None);
}
