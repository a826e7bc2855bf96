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
        let policy = Policy::default_policy();
        let req = Request::new(&action, &acme, tier);
        let expected = policy.action(&action).and_then(|a| policy.def(a)).is_some_and(|a| {
            a.admits(now_role) && !a.grant_required() && a.feature().is_none_or(|f| tier.includes(f))
        });
        prop_assert_eq!(authorize(&policy, &p, &req).is_allowed(), expected);
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
