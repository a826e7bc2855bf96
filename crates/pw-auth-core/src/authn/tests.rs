use super::*;
use crate::id::CompanyId;
use crate::lifetime::ExpiresIn;
use crate::mint::{KeyLabel, issue_token, mint_api_key};
use time::Duration;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);
const RANDOM: [u8; 16] = *b"0123456789abcdef";

fn acme() -> CompanyId {
    CompanyId::new("acme").unwrap()
}

#[test]
fn api_key_paths() {
    let a = Authenticator::default();
    let mut m = mint_api_key(&acme(), KeyLabel::new("erp").unwrap(), &RANDOM, NOW).unwrap();
    let p = a
        .api_key(&m.key, Lookup::Found(&m.record), Some(&m.user), NOW)
        .unwrap();
    assert_eq!(p.role(), Role::ApiUser);
    assert_eq!(p.company(), &acme());

    let other = ApiKey::new("some-other-key".into()).unwrap();
    assert_eq!(
        a.api_key(&other, Lookup::Found(&m.record), Some(&m.user), NOW),
        Err(AuthnFailure::RecordMismatch)
    );
    assert_eq!(
        a.api_key(&m.key, Lookup::NotFound, None, NOW),
        Err(AuthnFailure::Unknown)
    );
    assert_eq!(
        a.api_key(&m.key, Lookup::Deleted, None, NOW),
        Err(AuthnFailure::Deleted)
    );
    assert_eq!(
        a.api_key(&m.key, Lookup::Found(&m.record), None, NOW),
        Err(AuthnFailure::RecordMismatch)
    );
    assert_eq!(
        a.api_key(
            &m.key,
            Lookup::Found(&m.record),
            Some(&m.user),
            NOW - Duration::seconds(1)
        ),
        Err(AuthnFailure::NotYetValid { from: NOW })
    );

    let mut wrong_role = m.user.clone();
    wrong_role.role = Role::Administrator;
    assert_eq!(
        a.api_key(&m.key, Lookup::Found(&m.record), Some(&wrong_role), NOW),
        Err(AuthnFailure::RecordMismatch)
    );
    let mut other_company = m.user.clone();
    other_company.company = CompanyId::new("globex").unwrap();
    assert_eq!(
        a.api_key(&m.key, Lookup::Found(&m.record), Some(&other_company), NOW),
        Err(AuthnFailure::RecordMismatch)
    );
    let mut disabled = m.user.clone();
    disabled.status = UserStatus::Disabled;
    assert_eq!(
        a.api_key(&m.key, Lookup::Found(&m.record), Some(&disabled), NOW),
        Err(AuthnFailure::UserDisabled)
    );

    m.record.revoke(NOW).unwrap();
    assert_eq!(
        a.api_key(&m.key, Lookup::Found(&m.record), Some(&m.user), NOW),
        Err(AuthnFailure::Revoked { at: NOW })
    );
}

#[test]
fn authenticate_looks_records_up_by_digest() {
    let m = mint_api_key(&acme(), KeyLabel::new("erp").unwrap(), &RANDOM, NOW).unwrap();
    let ann = UserRecord::active(UserId::new("ann").unwrap(), acme(), Role::Manager);
    let t = issue_token(&ann, &RANDOM, NOW, ExpiresIn::DEFAULT).unwrap();
    let mut store = crate::MemoryRecords::new();
    store
        .insert_minted(&m)
        .insert_user(ann)
        .insert_token(t.record);
    let a = Authenticator::default();
    let key = Credential::ApiKey(m.key);
    assert_eq!(
        a.authenticate(&key, &store, NOW).unwrap().role(),
        Role::ApiUser
    );
    let token = Credential::Bearer(t.token);
    assert_eq!(
        a.authenticate(&token, &store, NOW).unwrap().role(),
        Role::Manager
    );
    let stranger = Credential::Bearer(AccessToken::new("never-issued".into()).unwrap());
    assert_eq!(
        a.authenticate(&stranger, &store, NOW),
        Err(AuthnFailure::Unknown)
    );
    let mut without_the_key = crate::MemoryRecords::new();
    without_the_key.insert_user(m.user);
    assert_eq!(
        a.authenticate(&key, &without_the_key, NOW),
        Err(AuthnFailure::Unknown)
    );
    store.delete_key(&m.record.digest);
    assert_eq!(
        a.authenticate(&key, &store, NOW),
        Err(AuthnFailure::Deleted)
    );
}

#[test]
fn bearer_paths() {
    let a = Authenticator::default();
    let u = UserRecord::active(UserId::new("ann").unwrap(), acme(), Role::Administrator);
    let t = issue_token(&u, &RANDOM, NOW, ExpiresIn::from_secs(60).unwrap()).unwrap();
    let ok = |now| a.bearer(&t.token, Lookup::Found(&t.record), Some(&u), now);
    assert_eq!(ok(NOW).unwrap().role(), Role::Administrator);
    let end = NOW + Duration::seconds(60);
    assert!(ok(end - Duration::nanoseconds(1)).is_ok());
    assert_eq!(ok(end), Err(AuthnFailure::Expired { at: end }));
    assert_eq!(
        ok(NOW - Duration::seconds(1)),
        Err(AuthnFailure::NotYetValid { from: NOW })
    );

    // The token follows the user's current role.
    let mut demoted = u.clone();
    demoted.role = Role::ReadOnly;
    let p = a
        .bearer(&t.token, Lookup::Found(&t.record), Some(&demoted), NOW)
        .unwrap();
    assert_eq!(p.role(), Role::ReadOnly);

    let lenient = Authenticator::new(
        AuthnConfig::new().with_leeway(Leeway::new(std::time::Duration::from_secs(5)).unwrap()),
    );
    assert!(
        lenient
            .bearer(&t.token, Lookup::Found(&t.record), Some(&u), end)
            .is_ok()
    );

    let mut revoked = t.record.clone();
    revoked.revoked_at = Some(NOW);
    assert_eq!(
        a.bearer(&t.token, Lookup::Found(&revoked), Some(&u), NOW),
        Err(AuthnFailure::Revoked { at: NOW })
    );
}
