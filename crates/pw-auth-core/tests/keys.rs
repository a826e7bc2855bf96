//! An API key's life after minting: an optional expiry, half-open like a token, and
//! rotation with overlap — the successor for the same api-user works from the
//! rotation on, the old key until its grace period ends, and never after.

use proptest::prelude::*;
use pw_auth_core::*;
use time::Duration;

use crate::support::*;

fn random16() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 16..=64)
        .prop_filter("not degenerate", |v| v.windows(2).any(|w| w[0] != w[1]))
}

fn label() -> KeyLabel {
    KeyLabel::new("erp").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn an_expiring_key_works_before_its_expiry_and_never_from_it_on(
        random in random16(),
        life in MIN_KEY_LIFETIME_SECS..=MAX_KEY_LIFETIME_SECS,
        probe in -10i64..=10,
        far in 0i64..100_000_000,
    ) {
        let acme = company("acme");
        let m = mint_api_key(&acme, label(), &random, NOW)
            .unwrap()
            .expiring(KeyLifetime::from_secs(life).unwrap())
            .unwrap();
        let end = NOW + Duration::seconds(i64::try_from(life).unwrap());
        prop_assert_eq!(m.record.expires_at, Some(end));
        let a = Authenticator::default();
        let policy = policy();
        for now in [end + Duration::seconds(probe), end + Duration::seconds(far), NOW + Duration::seconds(far)] {
            let got = a.api_key(&m.key, Lookup::Found(&m.record), Some(&m.user), now);
            if now < end {
                let p = got.unwrap();
                // A principal kept past the expiry is denied, whatever it asks.
                let later = authorize(policy, &p, &Request::new("flows.view", &acme, Tier::Trial), end);
                prop_assert_eq!(later.reason(), Reason::CredentialExpired { at: end });
                let at_now = authorize(policy, &p, &Request::new("flows.view", &acme, Tier::Trial), now);
                prop_assert!(at_now.is_allowed());
            } else {
                prop_assert_eq!(got, Err(AuthnFailure::KeyExpired { at: end }));
            }
        }
    }

    #[test]
    fn a_rotated_key_overlaps_its_successor_for_the_grace_period_only(
        old_random in random16(), new_random in random16(),
        grace in 0u64..=MAX_ROTATION_GRACE_SECS,
        rotated_after in 0i64..100_000_000,
        probe in -5i64..=5,
        expiring in prop::option::of(MIN_KEY_LIFETIME_SECS..=MAX_KEY_LIFETIME_SECS),
    ) {
        prop_assume!(old_random != new_random);
        let acme = company("acme");
        let mut old = mint_api_key(&acme, label(), &old_random, NOW).unwrap();
        if let Some(life) = expiring {
            old = old.expiring(KeyLifetime::from_secs(life).unwrap()).unwrap();
        }
        let at = NOW + Duration::seconds(rotated_after);
        let rotated = rotate_api_key(&old.record, &new_random, at, RotationGrace::from_secs(grace).unwrap());
        if let Some(end) = old.record.expires_at.filter(|&end| at >= end) {
            prop_assert_eq!(rotated.unwrap_err(), RotateError::Ended { id: old.record.id.clone(), at: end });
            return Ok(());
        }
        let new = rotated.unwrap();
        // The same api-user, company and label; a new key and id; the same expiry policy.
        prop_assert_eq!(&new.record.user, &old.record.user);
        prop_assert_eq!(&new.record.company, &old.record.company);
        prop_assert_eq!(&new.record.label, &old.record.label);
        prop_assert_ne!(&new.record.id, &old.record.id);
        prop_assert_eq!(new.record.created_at, at);
        prop_assert_eq!(
            new.record.expires_at,
            expiring.map(|life| at + Duration::seconds(i64::try_from(life).unwrap()))
        );
        let retires = at + Duration::seconds(i64::try_from(grace).unwrap());
        prop_assert_eq!(new.retired.retires_at, Some(retires));
        prop_assert_eq!(
            ApiKeyRecord { retires_at: None, ..new.retired.clone() },
            old.record.clone(),
            "nothing else of the old record changes"
        );

        let a = Authenticator::default();
        let user = &old.user;
        for now in [at, retires + Duration::seconds(probe), retires + Duration::seconds(rotated_after)] {
            let old_gets = a.api_key(&old.key, Lookup::Found(&new.retired), Some(user), now);
            let new_gets = a.api_key(&new.key, Lookup::Found(&new.record), Some(user), now);
            let old_end = new.retired.deadline().unwrap();
            if now < old_end {
                prop_assert_eq!(old_gets.unwrap().user().clone(), old.record.user.clone());
            } else if old.record.expires_at == Some(old_end) {
                prop_assert_eq!(old_gets, Err(AuthnFailure::KeyExpired { at: old_end }));
            } else {
                prop_assert_eq!(old_gets, Err(AuthnFailure::KeyRetired { at: retires }));
            }
            match new.record.expires_at {
                Some(end) if now >= end => {
                    prop_assert_eq!(new_gets, Err(AuthnFailure::KeyExpired { at: end }));
                }
                _ => prop_assert_eq!(new_gets.unwrap().user().clone(), old.record.user.clone()),
            }
        }
        // A key is rotated once: its successor is rotated next.
        prop_assert_eq!(
            rotate_api_key(&new.retired, &new_random, at, RotationGrace::DAY).unwrap_err(),
            RotateError::AlreadyRotated { id: old.record.id.clone() }
        );
    }
}

#[test]
fn lifetimes_and_grace_periods_have_bounds() {
    assert_eq!(
        KeyLifetime::from_secs(MIN_KEY_LIFETIME_SECS - 1),
        Err(KeyLifetimeError::TooShort { secs: 59 })
    );
    assert_eq!(KeyLifetime::from_secs(60).unwrap().as_secs(), 60);
    assert_eq!(
        KeyLifetime::from_secs(MAX_KEY_LIFETIME_SECS)
            .unwrap()
            .as_secs(),
        MAX_KEY_LIFETIME_SECS
    );
    assert_eq!(
        KeyLifetime::from_secs(MAX_KEY_LIFETIME_SECS + 1),
        Err(KeyLifetimeError::TooLong {
            secs: MAX_KEY_LIFETIME_SECS + 1
        })
    );
    assert_eq!(
        KeyLifetime::from_days(730).unwrap().as_secs(),
        MAX_KEY_LIFETIME_SECS
    );
    assert!(KeyLifetime::from_days(u64::MAX).is_err());
    // Thirty days of grace, and two years of life, at most: the documented bounds.
    assert!(RotationGrace::from_secs(2_592_000).is_ok());
    assert!(RotationGrace::from_secs(2_592_001).is_err());
    assert!(KeyLifetime::from_secs(63_072_000).is_ok());
    assert!(KeyLifetime::from_secs(63_072_001).is_err());
    assert_eq!(RotationGrace::from_secs(0).unwrap().as_secs(), 0);
    assert_eq!(RotationGrace::DAY.as_secs(), 86_400);
    assert_eq!(
        RotationGrace::from_secs(MAX_ROTATION_GRACE_SECS)
            .unwrap()
            .as_secs(),
        MAX_ROTATION_GRACE_SECS
    );
    assert_eq!(
        RotationGrace::from_secs(MAX_ROTATION_GRACE_SECS + 1),
        Err(KeyLifetimeError::GraceTooLong {
            secs: MAX_ROTATION_GRACE_SECS + 1
        })
    );
    insta::assert_snapshot!(
        KeyLifetimeError::TooShort { secs: 59 },
        @"a key lifetime of 59 s is shorter than the least, 60 s"
    );
}

#[test]
fn what_cannot_be_rotated_is_refused_with_its_reason() {
    let acme = company("acme");
    let random: Vec<u8> = (1..=16).collect();
    let other: Vec<u8> = (2..=17).collect();
    let m = mint_api_key(&acme, label(), &random, NOW).unwrap();
    // The same random bytes would make the same key: a broken source.
    assert_eq!(
        rotate_api_key(&m.record, &random, NOW, RotationGrace::DAY).unwrap_err(),
        RotateError::SameKey
    );
    let mut revoked = m.record.clone();
    revoked.revoke(NOW).unwrap();
    assert_eq!(
        rotate_api_key(&revoked, &other, NOW, RotationGrace::DAY).unwrap_err(),
        RotateError::Revoked {
            id: m.record.id.clone()
        }
    );
    assert!(matches!(
        rotate_api_key(&m.record, &[0; 16], NOW, RotationGrace::DAY).unwrap_err(),
        RotateError::Mint(MintError::DegenerateRandomness)
    ));
    // Past the calendar: an error, never a panic.
    let end = time::macros::datetime!(9999-12-31 23:00 UTC);
    let late = mint_api_key(&acme, label(), &random, end).unwrap();
    assert_eq!(
        late.expiring(KeyLifetime::from_days(1).unwrap())
            .unwrap_err(),
        KeyLifetimeError::OutOfRange
    );
    let late = mint_api_key(&acme, label(), &random, end).unwrap();
    assert_eq!(
        rotate_api_key(&late.record, &other, end, RotationGrace::DAY).unwrap_err(),
        RotateError::Lifetime(KeyLifetimeError::OutOfRange)
    );
    // A record with an expiry before its creation (not one this crate mints) rotates
    // to the shortest life, never a longer one.
    let mut odd = m.record.clone();
    odd.expires_at = Some(NOW + Duration::seconds(30));
    let r = rotate_api_key(&odd, &other, NOW, RotationGrace::DAY).unwrap();
    assert_eq!(
        r.record.expires_at,
        Some(NOW + Duration::seconds(i64::try_from(MIN_KEY_LIFETIME_SECS).unwrap()))
    );
    // The record's deadline is the earlier of its two dates.
    let mut both = m.record.clone();
    assert_eq!(both.deadline(), None);
    both.expires_at = Some(NOW + Duration::hours(2));
    both.retires_at = Some(NOW + Duration::hours(1));
    assert_eq!(both.deadline(), both.retires_at);
    both.retires_at = Some(NOW + Duration::hours(3));
    assert_eq!(both.deadline(), both.expires_at);
    let a = Authenticator::default();
    assert_eq!(
        a.api_key(
            &m.key,
            Lookup::Found(&both),
            Some(&m.user),
            NOW + Duration::hours(2)
        ),
        Err(AuthnFailure::KeyExpired {
            at: NOW + Duration::hours(2)
        })
    );
}

#[test]
fn a_record_without_the_new_dates_reads_and_writes_as_before() {
    let minted = mint_api_key(
        &company("acme"),
        label(),
        &(1..=16).collect::<Vec<u8>>(),
        NOW,
    )
    .unwrap();
    let v = serde_json::to_value(&minted.record).unwrap();
    // A key that neither expires nor retires is written as before these fields, so
    // a record stored by an older version is the same text, and reads back.
    assert!(
        v.get("expires_at").is_none() && v.get("retires_at").is_none(),
        "{v}"
    );
    let back: ApiKeyRecord = serde_json::from_value(v).unwrap();
    assert_eq!(back, minted.record);
    let rotated = rotate_api_key(
        &minted.record,
        &(2..=17).collect::<Vec<u8>>(),
        NOW,
        RotationGrace::DAY,
    )
    .unwrap();
    let v = serde_json::to_value(&rotated.retired).unwrap();
    assert_eq!(v["retires_at"], "2026-11-28T12:00:00Z");
    let back: ApiKeyRecord = serde_json::from_value(v).unwrap();
    assert_eq!(back, rotated.retired);
}

/// Any scope over the default policy's actions and areas (valid or not: the engine
/// must narrow whatever a record holds).
fn any_scope() -> impl Strategy<Value = KeyScope> {
    let actions: Vec<String> = policy().actions().map(|a| a.id().to_owned()).collect();
    let areas: Vec<String> = policy().areas().map(str::to_owned).collect();
    (
        prop::sample::subsequence(actions.clone(), 0..=4),
        prop::sample::subsequence(areas.clone(), 0..=4),
        prop::sample::subsequence(areas, 0..=4),
        prop::option::of("[a-z]{1,6}\\.[a-z]{1,6}"),
    )
        .prop_map(|(mut actions, view, edit, stray)| {
            actions.extend(stray);
            KeyScope {
                actions,
                view,
                edit,
            }
        })
}

/// The principal of a key `scope` narrows, minted and authenticated the real way.
fn key_principal(home: &CompanyId, scope: Option<KeyScope>) -> Principal {
    let random: Vec<u8> = (1..=16).collect();
    let mut m = mint_api_key(home, label(), &random, NOW).unwrap();
    if let Some(scope) = scope {
        m = m.scoped(scope);
    }
    Authenticator::default()
        .api_key(&m.key, Lookup::Found(&m.record), Some(&m.user), NOW)
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// A scope only narrows: a scoped key is allowed exactly what the same key
    /// unscoped is allowed and the scope names, and never more than a manager.
    #[test]
    fn a_scoped_keys_decisions_are_the_unscoped_keys_within_the_scope(
        scope in any_scope(), action in any_action(), home in any_company(),
        target in any_company(), tier in any_tier(), ctx in any_context(),
    ) {
        let policy = policy();
        let req = request(&action, &target, tier, &ctx);
        let scoped = authorize(policy, &key_principal(&home, Some(scope.clone())), &req, NOW);
        let unscoped = authorize(policy, &key_principal(&home, None), &req, NOW);
        let manager = authorize(policy, &principal(Role::Manager, &home), &req, NOW);
        // Named by its id, or by its area (the id up to its first dot) in the list of
        // its kind: read from the scope's own lists, not through `KeyScope::allows`,
        // which is what decides `scoped`.
        let named = policy.action(&action).is_some_and(|a| {
            let area = action.split_once('.').map_or("", |(area, _)| area);
            let toggled = match a.kind() {
                ActionKind::View => &scope.view,
                ActionKind::Edit => &scope.edit,
            };
            scope.actions.contains(&action) || toggled.iter().any(|t| t == area)
        });
        prop_assert_eq!(scoped.is_allowed(), unscoped.is_allowed() && named);
        prop_assert!(!scoped.is_allowed() || manager.is_allowed());
        if unscoped.is_allowed() && !named {
            let kind = policy.action(&action).unwrap().kind();
            prop_assert_eq!(scoped.reason(), Reason::OutsideKeyScope { action_kind: kind });
        }
        if !unscoped.is_allowed() {
            prop_assert_eq!(scoped.reason(), unscoped.reason(), "a refusal keeps its reason");
        }
    }
}

#[test]
fn a_scope_is_checked_against_the_policy_when_a_key_is_minted() {
    let policy = policy();
    let scope = |actions: &[&str], view: &[&str], edit: &[&str]| KeyScope {
        actions: actions.iter().map(|s| (*s).to_owned()).collect(),
        view: view.iter().map(|s| (*s).to_owned()).collect(),
        edit: edit.iter().map(|s| (*s).to_owned()).collect(),
    };
    assert_eq!(
        scope(&["flows.deploy"], &["flows"], &["lookups"]).check(policy),
        Ok(())
    );
    assert_eq!(scope(&[], &[], &[]).check(policy), Err(ScopeError::Empty));
    assert_eq!(
        scope(&["flows.launch"], &[], &[]).check(policy),
        Err(ScopeError::UnknownAction {
            action: "flows.launch".into()
        })
    );
    for never in [
        "api-keys.create",
        "blueprints.publish",
        "users.create-administrator",
    ] {
        assert_eq!(
            scope(&[never], &[], &[]).check(policy),
            Err(ScopeError::NeverAllowed {
                action: never.into()
            }),
            "{never}"
        );
    }
    assert_eq!(
        scope(&[], &["flow"], &[]).check(policy),
        Err(ScopeError::UnknownArea {
            area: "flow".into()
        })
    );
    assert_eq!(
        scope(&[], &[], &["Flows"]).check(policy),
        Err(ScopeError::UnknownArea {
            area: "Flows".into()
        })
    );
    let many = KeyScope {
        view: vec!["flows".to_owned(); MAX_SCOPE_ENTRIES + 1],
        ..KeyScope::default()
    };
    assert_eq!(
        many.check(policy),
        Err(ScopeError::TooLarge {
            list: "view",
            len: MAX_SCOPE_ENTRIES + 1
        })
    );
    let at_most = KeyScope {
        edit: vec!["flows".to_owned(); MAX_SCOPE_ENTRIES],
        ..KeyScope::default()
    };
    assert_eq!(at_most.check(policy), Ok(()));
    insta::assert_snapshot!(
        ScopeError::NeverAllowed { action: "api-keys.create".into() },
        @"the scope names `api-keys.create`, which an api key may never do"
    );
}

#[test]
fn a_scope_travels_with_the_record_and_its_rotation() {
    let acme = company("acme");
    let scope = KeyScope {
        view: vec!["flows".into()],
        ..KeyScope::default()
    };
    let m = mint_api_key(&acme, label(), &(1..=16).collect::<Vec<u8>>(), NOW)
        .unwrap()
        .scoped(scope.clone());
    let v = serde_json::to_value(&m.record).unwrap();
    assert_eq!(v["scope"], serde_json::json!({"view": ["flows"]}));
    let back: ApiKeyRecord = serde_json::from_value(v).unwrap();
    assert_eq!(back.scope.as_ref(), Some(&scope));
    let r = rotate_api_key(
        &m.record,
        &(2..=17).collect::<Vec<u8>>(),
        NOW,
        RotationGrace::DAY,
    )
    .unwrap();
    assert_eq!(r.record.scope.as_ref(), Some(&scope));
    let p = Authenticator::default()
        .api_key(&r.key, Lookup::Found(&r.record), Some(&m.user), NOW)
        .unwrap();
    assert_eq!(p.key_scope(), Some(&scope));
    let unscoped = mint_api_key(&acme, label(), &(3..=18).collect::<Vec<u8>>(), NOW).unwrap();
    assert!(
        serde_json::to_value(&unscoped.record)
            .unwrap()
            .get("scope")
            .is_none()
    );
}

#[test]
fn case_files_decide_scoped_keys() {
    let policy = policy();
    let cases = r#"
{"role": "api-user", "scope": {"view": ["flows"], "edit": ["flows"]}, "action": "flows.deploy", "tier": "trial", "place": "own_company", "expect": "allow"}
{"role": "api-user", "scope": {"view": ["flows"]}, "action": "flows.deploy", "tier": "trial", "place": "own_company", "expect": "deny", "reason": "outside_key_scope"}
{"role": "api-user", "scope": {"edit": ["scripts"]}, "action": "scripts.create", "tier": "standard", "place": "own_company", "expect": "deny", "reason": "tier_excludes"}
{"role": "api-user", "scope": {"view": ["flows"]}, "action": "flows.view", "tier": "trial", "place": "linked_with_grant", "expect": "deny", "reason": "api_user_own_company_only"}
{"role": "api-user", "scope": {"view": ["flows"]}, "action": "flows.view", "tier": "trial", "place": "own_company", "expect": "deny"}
"#;
    let report = policy.run_cases(cases).unwrap();
    assert_eq!(report.cases, 5);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].line, 6);
    assert_eq!(report.failures[0].actual.reason.kind(), "allowed");
    let manager = r#"{"role": "manager", "scope": {"view": ["flows"]}, "action": "flows.view", "tier": "trial", "place": "own_company", "expect": "allow"}"#;
    assert_eq!(
        policy.run_cases(manager).unwrap_err(),
        review::CaseError::ScopeWithoutKey { line: 1 }
    );
    let unknown = r#"{"role": "api-user", "scope": {"actions": ["flows.fly"]}, "action": "flows.view", "tier": "trial", "place": "own_company", "expect": "deny"}"#;
    assert_eq!(
        policy.run_cases(unknown).unwrap_err(),
        review::CaseError::Scope {
            line: 1,
            error: ScopeError::UnknownAction {
                action: "flows.fly".into()
            }
        }
    );
}

/// A diff with scoped keys lists each cell's subjects as the table's columns go: the
/// roles, then the scopes in the order given (not by name).
#[test]
fn a_diff_lists_scoped_keys_in_the_order_given() {
    let before = policy();
    let mut doc: serde_json::Value = serde_json::from_str(Policy::default_document_json()).unwrap();
    for a in doc["actions"].as_array_mut().unwrap() {
        if a["id"] == "flows.view" {
            a["min_role"] = "user".into();
        }
    }
    let after = Policy::from_json(&doc.to_string()).unwrap();
    let view = |name: &str| {
        (
            name.to_owned(),
            KeyScope {
                view: vec!["flows".into()],
                ..KeyScope::default()
            },
        )
    };
    let scopes = [view("zeta"), view("alpha")];
    let diff = before.diff_with_scopes(&after, &scopes);
    let subjects: Vec<String> = diff
        .iter()
        .filter(|c| c.tier == Tier::Trial && c.place == review::Place::OwnCompany)
        .map(|c| c.subject.to_string())
        .collect();
    // Every allowed cell names its minimum role, so each subject's cell changed:
    // read-only's to a refusal, the others' allowed reasons.
    assert_eq!(
        subjects,
        [
            "administrator",
            "manager",
            "user",
            "read-only",
            "api-user",
            "key:zeta",
            "key:alpha"
        ]
    );
}
