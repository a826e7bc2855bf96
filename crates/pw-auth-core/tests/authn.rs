//! Authentication: revoked and deleted keys never authenticate; a token carries its
//! user's role; records that do not belong together are refused.

use proptest::prelude::*;
use pw_auth_core::*;
use time::Duration;

use crate::support::*;

fn random16() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 16..=64)
        .prop_filter("not degenerate", |v| v.windows(2).any(|w| w[0] != w[1]))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn a_revoked_or_deleted_key_never_authenticates(
        random in random16(), revoked_after in 0i64..1_000_000, probe in -1_000_000i64..10_000_000,
        leeway in 0u64..=MAX_LEEWAY_SECS,
    ) {
        let acme = company("acme");
        let mut m = mint_api_key(&acme, KeyLabel::new("erp").unwrap(), &random, NOW).unwrap();
        m.record.revoke(NOW + Duration::seconds(revoked_after)).unwrap();
        let a = Authenticator::new(
            AuthnConfig::new().with_leeway(Leeway::new(std::time::Duration::from_secs(leeway)).unwrap()),
        );
        let now = NOW + Duration::seconds(probe);
        let revoked = matches!(
            a.api_key(&m.key, Lookup::Found(&m.record), Some(&m.user), now),
            Err(AuthnFailure::Revoked { .. })
        );
        prop_assert!(revoked);
        prop_assert_eq!(a.api_key(&m.key, Lookup::Deleted, Some(&m.user), now), Err(AuthnFailure::Deleted));
        prop_assert_eq!(a.api_key(&m.key, Lookup::NotFound, Some(&m.user), now), Err(AuthnFailure::Unknown));
    }

    #[test]
    fn a_live_key_is_its_api_user_and_nothing_else(random in random16(), later in 0i64..100_000_000) {
        let acme = company("acme");
        let m = mint_api_key(&acme, KeyLabel::new("erp").unwrap(), &random, NOW).unwrap();
        let presented = ApiKey::new(m.key.expose_secret().to_owned()).unwrap();
        prop_assert_eq!(presented.digest(), m.record.digest);
        let p = Authenticator::default()
            .api_key(&presented, Lookup::Found(&m.record), Some(&m.user), NOW + Duration::seconds(later))
            .unwrap();
        prop_assert_eq!(p.role(), Role::ApiUser);
        prop_assert_eq!(p.user(), &m.user.id);
        prop_assert_eq!(p.company(), &acme);
        prop_assert_eq!(p.method(), &AuthMethod::ApiKey { key_id: m.record.id.clone() });
    }

    #[test]
    fn a_bearer_principal_has_its_users_current_role(
        random in random16(), at_issue in any_role(), now_role in any_role(),
        tier in any_tier(), action in any_action(),
    ) {
        prop_assume!(at_issue != Role::ApiUser && now_role != Role::ApiUser);
        let acme = company("acme");
        let mut u = UserRecord::active(user("ann"), acme.clone(), at_issue);
        let t = issue_token(&u, &random, NOW, ExpiresIn::DEFAULT).unwrap();
        u.role = now_role;
        let p = Authenticator::default().bearer(&t.token, Lookup::Found(&t.record), Some(&u), NOW).unwrap();
        prop_assert_eq!(p.role(), now_role);
        // Its permissions are exactly those the policy gives that role.
        let policy = policy();
        let req = Request::new(&action, &acme, tier);
        let expected = policy.action(&action).is_some_and(|a| {
            a.admits(now_role) && !a.grant_required() && a.feature().is_none_or(|f| tier.includes(f))
        });
        prop_assert_eq!(authorize(policy, &p, &req, NOW).is_allowed(), expected);
    }

    #[test]
    fn another_users_records_never_authenticate(random in random16(), other in "[a-z]{1,8}") {
        let acme = company("acme");
        let u = UserRecord::active(user("ann"), acme.clone(), Role::Manager);
        let t = issue_token(&u, &random, NOW, ExpiresIn::DEFAULT).unwrap();
        let mut impostor = u.clone();
        impostor.id = user(&format!("x{other}"));
        prop_assert_eq!(
            Authenticator::default().bearer(&t.token, Lookup::Found(&t.record), Some(&impostor), NOW),
            Err(AuthnFailure::RecordMismatch)
        );
    }
}

#[test]
fn expired_and_not_yet_valid_tokens() {
    let u = UserRecord::active(user("ann"), company("acme"), Role::Administrator);
    let t = issue_token(&u, b"0123456789abcdef", NOW, ExpiresIn::DEFAULT).unwrap();
    let a = Authenticator::default();
    let exp = t.record.lifetime.expires_at();
    assert_eq!(
        a.bearer(&t.token, Lookup::Found(&t.record), Some(&u), exp),
        Err(AuthnFailure::Expired { at: exp })
    );
    assert!(
        a.bearer(
            &t.token,
            Lookup::Found(&t.record),
            Some(&u),
            exp - Duration::nanoseconds(1)
        )
        .is_ok()
    );
    assert_eq!(
        a.bearer(
            &t.token,
            Lookup::Found(&t.record),
            Some(&u),
            NOW - Duration::seconds(1)
        ),
        Err(AuthnFailure::NotYetValid { from: NOW })
    );
    let mut disabled = u.clone();
    disabled.status = UserStatus::Disabled;
    assert_eq!(
        a.bearer(&t.token, Lookup::Found(&t.record), Some(&disabled), NOW),
        Err(AuthnFailure::UserDisabled)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// A principal outlives nothing: authenticated at any instant inside its token's
    /// validity, it is allowed exactly until the expiry plus the leeway it was
    /// authenticated with, and denied as expired from then on, whatever it asks.
    #[test]
    fn an_authenticated_bearer_is_denied_from_its_deadline_on(
        random in random16(), lifetime in 1u64..=86_400, leeway in 0u64..=MAX_LEEWAY_SECS,
        auth_at in 0.0f64..1.0, probe_ns in -2_000_000_000i64..2_000_000_000,
        action in any_action(),
    ) {
        let acme = company("acme");
        let ann = UserRecord::active(user("ann"), acme.clone(), Role::Administrator);
        let t = issue_token(&ann, &random, NOW, ExpiresIn::from_secs(lifetime).unwrap()).unwrap();
        let exp = t.record.lifetime.expires_at();
        let leeway = Duration::seconds(i64::try_from(leeway).unwrap());
        let a = Authenticator::new(AuthnConfig::new().with_leeway(Leeway::new(leeway.try_into().unwrap()).unwrap()));
        let span = (exp + leeway - NOW).whole_nanoseconds() as f64;
        let authenticated_at = NOW + Duration::nanoseconds((span * auth_at) as i64);
        let p = a.bearer(&t.token, Lookup::Found(&t.record), Some(&ann), authenticated_at).unwrap();

        let deadline = exp + leeway;
        let now = deadline + Duration::nanoseconds(probe_ns);
        let d = authorize(policy(), &p, &Request::new(&action, &acme, Tier::Enterprise), now);
        if now >= deadline {
            prop_assert_eq!(d.reason(), Reason::CredentialExpired { at: exp });
        } else {
            prop_assert_ne!(d.reason().kind(), "credential_expired");
            let by_role = policy().action(&action).is_some_and(|a| a.admits(Role::Administrator) && !a.grant_required());
            prop_assert_eq!(d.is_allowed(), by_role);
        }
    }
}

#[test]
fn an_expired_fixture_is_denied_too() {
    let acme = company("acme");
    let admin = principal(Role::Administrator, &acme);
    let publish = Request::new("blueprints.publish", &acme, Tier::Enterprise);
    assert!(
        authorize(
            policy(),
            &admin,
            &publish,
            EXPIRES_AT - Duration::nanoseconds(1)
        )
        .is_allowed()
    );
    assert_eq!(
        authorize(policy(), &admin, &publish, EXPIRES_AT).reason(),
        Reason::CredentialExpired { at: EXPIRES_AT }
    );
}

/// Records whose kind disagrees with the credential are refused at authentication,
/// both ways round: a key is always its api-user, a token never is.
#[test]
fn records_that_disagree_with_the_credential_kind_are_refused() {
    let acme = company("acme");
    let a = Authenticator::default();

    // A token record whose user is (now) an api-user.
    let ann = UserRecord::active(user("ann"), acme.clone(), Role::Manager);
    let t = issue_token(&ann, b"0123456789abcdef", NOW, ExpiresIn::DEFAULT).unwrap();
    let mut as_api_user = ann.clone();
    as_api_user.role = Role::ApiUser;
    assert_eq!(
        a.bearer(&t.token, Lookup::Found(&t.record), Some(&as_api_user), NOW),
        Err(AuthnFailure::RecordMismatch)
    );
    // ... with a custom role too: refused, not silently dropped.
    as_api_user.custom_role = Some(CustomRoleName::new("auditor").unwrap());
    assert_eq!(
        a.bearer(&t.token, Lookup::Found(&t.record), Some(&as_api_user), NOW),
        Err(AuthnFailure::RecordMismatch)
    );
    // A token's user with a custom role acts under it.
    let mut lead = ann.clone();
    lead.custom_role = Some(CustomRoleName::new("integration-lead").unwrap());
    let p = a
        .bearer(&t.token, Lookup::Found(&t.record), Some(&lead), NOW)
        .unwrap();
    assert_eq!(
        p.custom_role().map(CustomRoleName::as_str),
        Some("integration-lead")
    );

    // A key whose user is not an api-user, or has a custom role.
    let m = mint_api_key(
        &acme,
        KeyLabel::new("erp").unwrap(),
        b"fedcba9876543210",
        NOW,
    )
    .unwrap();
    let mut promoted = m.user.clone();
    promoted.role = Role::Manager;
    assert_eq!(
        a.api_key(&m.key, Lookup::Found(&m.record), Some(&promoted), NOW),
        Err(AuthnFailure::RecordMismatch)
    );
    let mut customised = m.user.clone();
    customised.custom_role = Some(CustomRoleName::new("auditor").unwrap());
    assert_eq!(
        a.api_key(&m.key, Lookup::Found(&m.record), Some(&customised), NOW),
        Err(AuthnFailure::RecordMismatch)
    );
}
