//! Login bodies: strict parsing, round trips, and no value in any error.

use proptest::prelude::*;
use pw_auth_core::{AccessToken, ExpiresIn, Password};
use pw_auth_http::*;
use time::macros::datetime;

#[test]
fn the_seed_pages_login_example() {
    let body = br#"{
"username": "[email protected]",
"password": "a1b2c3d4e5f6"
}"#;
    let r = LoginRequest::parse(body).unwrap();
    assert_eq!(r.username(), "[email protected]");
    assert_eq!(r.password().expose_secret(), "a1b2c3d4e5f6");
    assert!(!format!("{r:?}").contains("a1b2c3d4e5f6"));
}

#[test]
fn the_documented_success_response() {
    let r = LoginResponse::parse(br#"{"message": "You have successfully logged in.", "token": "eyJ0eXAiOiJKV", "expires_in": 86400}"#).unwrap();
    assert_eq!(r.message(), LOGIN_SUCCESS_MESSAGE);
    let received = datetime!(2026-11-27 12:00 UTC);
    let life = r.lifetime(received).unwrap();
    assert_eq!(life.expires_at(), datetime!(2026-11-28 12:00 UTC));
}

#[test]
fn every_body_error() {
    let requests: &[&[u8]] = &[
        b"",
        b"[1]",
        b"{\"username\": \"a\"}",
        b"{\"username\": \"a\", \"password\": 123456}",
        b"{\"username\": \"a\", \"password\": \"\"}",
        b"{\"username\": \" \", \"password\": \"p\"}",
        b"{\"username\": \"a\", \"password\": \"p\", \"remember\": true}",
        b"{\"username\": \"a\", \"password\": \"p\"",
    ];
    let responses: &[&[u8]] = &[
        b"{\"message\": \"ok\", \"token\": \"t\"}",
        b"{\"message\": \"ok\", \"token\": \"t\", \"expires_in\": -1}",
        b"{\"message\": \"ok\", \"token\": \"t\", \"expires_in\": 0}",
        b"{\"message\": \"ok\", \"token\": \"t\", \"expires_in\": 1.5}",
        b"{\"message\": \"ok\", \"token\": \"t\", \"expires_in\": \"86400\"}",
        b"{\"message\": \"ok\", \"token\": \"t\", \"expires_in\": 99999999999}",
        b"{\"message\": \"ok\", \"token\": \"not a token\", \"expires_in\": 60}",
    ];
    let mut out = String::new();
    for b in requests {
        let e = LoginRequest::parse(b).unwrap_err();
        out.push_str(&format!(
            "request  {:<62} [{}] {e}\n",
            String::from_utf8_lossy(b),
            e.field()
        ));
    }
    for b in responses {
        let e = LoginResponse::parse(b).unwrap_err();
        out.push_str(&format!(
            "response {:<62} [{}] {e}\n",
            String::from_utf8_lossy(b),
            e.field()
        ));
    }
    let big = vec![b' '; MAX_LOGIN_BODY_LEN + 1];
    out.push_str(&format!(
        "request  {:<62} {}\n",
        "65537 spaces",
        LoginRequest::parse(&big).unwrap_err()
    ));
    insta::assert_snapshot!(out);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn requests_round_trip(user in "[a-z0-9.@+-]{1,40}", pw in "\\PC{1,64}") {
        let r = LoginRequest::new(&user, Password::new(pw).unwrap()).unwrap();
        prop_assert_eq!(LoginRequest::parse(r.to_json().as_bytes()), Ok(r));
    }

    #[test]
    fn responses_round_trip(token in "[A-Za-z0-9._~+/-]{1,100}={0,2}", secs in 1u64..=pw_auth_core::MAX_EXPIRES_IN_SECS) {
        let r = LoginResponse::new(AccessToken::new(token).unwrap(), ExpiresIn::from_secs(secs).unwrap());
        prop_assert_eq!(LoginResponse::parse(r.to_json().as_bytes()), Ok(r));
    }

    #[test]
    fn no_error_quotes_a_secret(secret in "[A-Za-z0-9]{12,30}", shape in 0usize..6) {
        let body = match shape {
            0 => format!(r#"{{"username": "u", "password": {secret}}}"#),
            1 => format!(r#"{{"username": "u", "password": ["{secret}"]}}"#),
            2 => format!(r#"{{"username": "u", "password": "{secret}", "{secret}": 1}}"#),
            3 => format!(r#"{{"username": "u", "password": "{secret}"#),
            4 => format!(r#"{{"message": "m", "token": "{secret} x", "expires_in": 60}}"#),
            _ => format!(r#"{{"message": "m", "token": {{"t": "{secret}"}}, "expires_in": 60}}"#),
        };
        for e in [LoginRequest::parse(body.as_bytes()).err(), LoginResponse::parse(body.as_bytes()).err()].into_iter().flatten() {
            let (text, debug) = (e.to_string(), format!("{e:?}"));
            prop_assert!(!text.contains(&secret) && !debug.contains(&secret), "leaked in {}", debug);
        }
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = LoginRequest::parse(&body);
        let _ = LoginResponse::parse(&body);
    }
}
