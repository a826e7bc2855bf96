//! Every outcome a server sends, as one reviewed snapshot, and the laws they obey.

use std::time::Duration;

use proptest::prelude::*;
use pw_auth_core::*;
use pw_auth_http::*;
use time::macros::datetime;

fn render(title: &str, o: &Outcome) -> String {
    let mut s = format!("## {title}\n{}\n", o.status());
    for (n, v) in o.headers() {
        s.push_str(&format!("{n}: {v}\n"));
    }
    s.push_str(o.body());
    s.push_str("\n\n");
    s
}

fn responder() -> Responder {
    Responder::new("patchworks").unwrap()
}

#[test]
fn every_outcome() {
    let r = responder();
    let at = datetime!(2026-11-27 12:00 UTC);
    let mut out = String::new();
    let failures = [
        ("no credentials", AuthnFailure::Missing),
        ("malformed credentials", AuthnFailure::Malformed),
        ("unknown credential", AuthnFailure::Unknown),
        ("revoked credential", AuthnFailure::Revoked { at }),
        ("deleted credential", AuthnFailure::Deleted),
        ("expired token", AuthnFailure::Expired { at }),
        ("expired api key", AuthnFailure::KeyExpired { at }),
        ("retired api key", AuthnFailure::KeyRetired { at }),
        (
            "token not yet valid",
            AuthnFailure::NotYetValid { from: at },
        ),
        ("disabled user", AuthnFailure::UserDisabled),
        ("records do not match", AuthnFailure::RecordMismatch),
    ];
    for (title, f) in failures {
        out.push_str(&render(title, &r.unauthenticated(f)));
    }
    for (title, v) in [
        ("empty Authorization", &b""[..]),
        ("bare Bearer", &b"Bearer"[..]),
        ("Basic scheme", &b"Basic dXNlcjpwYXNz"[..]),
        ("bad checksum", &b"pwk_00_00000000"[..]),
    ] {
        out.push_str(&render(
            title,
            &r.authorization_error(&parse_authorization(v).unwrap_err()),
        ));
    }
    let two = parse_authorization_fields([&b"Bearer a"[..], &b"k"[..]]).unwrap_err();
    out.push_str(&render(
        "two Authorization values",
        &r.authorization_error(&two),
    ));

    let policy = Policy::default_policy();
    let acme = CompanyId::new("acme").unwrap();
    let key = testing::principal(Role::ApiUser, &acme);
    for (title, action, tier) in [
        (
            "api key on blueprint management",
            "blueprints.publish",
            Tier::Professional,
        ),
        (
            "standard tier editing a script",
            "scripts.create",
            Tier::Standard,
        ),
        ("unknown action", "flows.teleport", Tier::Professional),
    ] {
        let d = authorize(
            &policy,
            &key,
            &Request::new(action, &acme, tier),
            testing::NOW,
        );
        out.push_str(&render(title, &r.forbidden(&d).unwrap()));
    }
    let body = LoginRequest::parse(br#"{"username": "a"}"#).unwrap_err();
    out.push_str(&render(
        "login body without password",
        &r.unprocessable(&body),
    ));
    out.push_str(&render(
        "payload too large",
        &r.payload_too_large(PLATFORM_MAX_PAYLOAD),
    ));
    out.push_str(&render(
        "over the usage limit, 2.5 s to wait",
        &r.too_many_requests(Duration::from_millis(2500)),
    ));
    insta::assert_snapshot!(out);
}

#[test]
fn an_allowed_decision_has_no_refusal() {
    let policy = Policy::default_policy();
    let acme = CompanyId::new("acme").unwrap();
    let key = testing::principal(Role::ApiUser, &acme);
    let d = authorize(
        &policy,
        &key,
        &Request::new("flows.view", &acme, Tier::Standard),
        testing::NOW,
    );
    assert_eq!(responder().forbidden(&d), None);
}

#[test]
fn retry_after_rounds_up_to_whole_seconds() {
    let r = responder();
    for (d, want) in [
        (0, "1"),
        (1, "1"),
        (999, "1"),
        (1000, "1"),
        (1001, "2"),
        (60_000, "60"),
    ] {
        assert_eq!(
            r.too_many_requests(Duration::from_millis(d))
                .header("retry-after"),
            Some(want),
            "{d} ms"
        );
    }
}

fn any_failure() -> impl Strategy<Value = AuthnFailure> {
    let at = datetime!(2026-11-27 12:00 UTC);
    prop::sample::select(vec![
        AuthnFailure::Missing,
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
    ])
}

proptest! {
    #[test]
    fn every_401_carries_a_parseable_bearer_challenge(f in any_failure(), realm in "[ -~]{0,30}") {
        let r = Responder::new(&realm).unwrap();
        let o = r.unauthenticated(f);
        prop_assert_eq!(o.status(), 401);
        let cs = parse_challenges([o.header("www-authenticate").unwrap().as_bytes()]).unwrap();
        let b = BearerChallenge::from_challenge(&cs[0]).unwrap();
        prop_assert_eq!(b.realm(), Some(realm.as_str()));
        // No credentials: no error code (RFC 6750 §3.1). Otherwise invalid_token.
        prop_assert_eq!(b.error().is_none(), f == AuthnFailure::Missing);
    }
}

/// `over_limit` answers a denied limit check with a 429 carrying `Retry-After` and the
/// rate-limit fields, and an admitted one with nothing.
#[test]
fn over_limit_answers_only_a_denial() {
    use pw_auth_core::{LimitState, Quota, check_limit};
    let responder = Responder::new("example").unwrap();
    let quota = Quota::new(1, 60, 1).unwrap();
    let now = time::macros::datetime!(2026-11-27 12:00 UTC);
    let (first, state) = check_limit(LimitState::default(), &quota, now);
    assert!(first.is_allowed());
    assert!(responder.over_limit(&quota, &first).is_none());
    let (second, _) = check_limit(state, &quota, now);
    let o = responder.over_limit(&quota, &second).unwrap();
    assert_eq!(o.status(), 429);
    assert_eq!(o.header("retry-after"), Some("60"));
    assert!(o.header("ratelimit-policy").is_some(), "{o:?}");
}
