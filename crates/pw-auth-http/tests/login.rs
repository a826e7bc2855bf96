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

    /// The OAuth form of a response (RFC 6749 §5.1), read by serde_json: the token,
    /// its lifetime and `Bearer`, and nothing else.
    #[test]
    fn oauth_responses_read_as_rfc_6749(token in "[A-Za-z0-9._~+/-]{1,100}={0,2}", secs in 1u64..=pw_auth_core::MAX_EXPIRES_IN_SECS) {
        let r = LoginResponse::new(AccessToken::new(token.clone()).unwrap(), ExpiresIn::from_secs(secs).unwrap());
        let read: serde_json::Value = serde_json::from_str(&r.to_oauth_json()).unwrap();
        prop_assert_eq!(
            read,
            serde_json::json!({"access_token": token, "expires_in": secs, "token_type": "Bearer"})
        );
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

    /// Strict on what a server receives, tolerant on what a client receives: a
    /// response with fields added (any JSON value, nested, anywhere among the known
    /// ones) reads as it does without them; a request with one is refused.
    #[test]
    fn a_response_reads_the_same_with_fields_it_does_not_know(
        token in "[A-Za-z0-9._~+/-]{1,40}",
        secs in 1u64..=pw_auth_core::MAX_EXPIRES_IN_SECS,
        extra in prop::collection::vec(("[a-z_]{1,12}", json_value()), 1..4),
        at in 0usize..4,
    ) {
        let known = ["message", "token", "expires_in"];
        let extra: Vec<(String, serde_json::Value)> =
            extra.into_iter().filter(|(k, _)| !known.contains(&k.as_str())).collect();
        let r = LoginResponse::new(AccessToken::new(token).unwrap(), ExpiresIn::from_secs(secs).unwrap());
        let plain: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&r.to_json()).unwrap();
        let mut members: Vec<(String, serde_json::Value)> = plain.into_iter().collect();
        let at = at.min(members.len());
        for (i, member) in extra.iter().cloned().enumerate() {
            members.insert(at + i, member);
        }
        let body = format!(
            "{{{}}}",
            members
                .iter()
                .map(|(k, v)| format!("{}: {v}", serde_json::Value::from(k.as_str())))
                .collect::<Vec<_>>()
                .join(", ")
        );
        prop_assert_eq!(LoginResponse::parse(body.as_bytes()), Ok(r));
        if let Some((name, value)) = extra.first() {
            let request = format!(r#"{{"username": "u", "password": "p", {}: {value}}}"#, serde_json::Value::from(name.as_str()));
            let refused = matches!(
                LoginRequest::parse(request.as_bytes()),
                Err(BodyError::UnknownField { .. })
            );
            prop_assert!(refused);
        }
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = LoginRequest::parse(&body);
        let _ = LoginResponse::parse(&body);
    }
}

/// A field given twice is refused, whichever value comes last: `"expires_in":0,
/// "expires_in":86400` once parsed as a day (last wins), while other JSON readers take
/// the first.
#[test]
fn repeated_fields_are_refused() {
    let e =
        LoginResponse::parse(br#"{"message":"ok","token":"t","expires_in":0,"expires_in":86400}"#)
            .unwrap_err();
    assert_eq!(
        e,
        BodyError::Duplicate {
            field: "expires_in"
        }
    );
    assert_eq!(e.to_string(), "the expires_in field appears more than once");
    assert_eq!(e.field(), "expires_in");
    let e = LoginRequest::parse(br#"{"username":"a","password":"p","password":"q"}"#).unwrap_err();
    assert_eq!(e, BodyError::Duplicate { field: "password" });
    // The same name spelled with an escape is the same field.
    let e =
        LoginRequest::parse(br#"{"username":"a","password":"p","\u0070assword":"q"}"#).unwrap_err();
    assert_eq!(e, BodyError::Duplicate { field: "password" });
}

/// A JSON-ish string: mostly valid login bodies, bent at random.
fn jsonish() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("\"username\"".to_owned()),
        Just("\"password\"".to_owned()),
        Just("\"a\\u00e9\\n\"".to_owned()),
        Just("\"\\ud83d\\ude00\"".to_owned()),
        Just("\"\\ud800\"".to_owned()),
        "-?[0-9]{1,3}(\\.[0-9])?([eE][+-]?[0-9])?",
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
    ];
    let sep = prop::sample::select(vec!["", " ", ",", ":", "{", "}", "[", "]", "\""]);
    prop::collection::vec((atom, sep), 0..8).prop_map(|parts| {
        let mut s = String::from("{");
        for (a, sep) in parts {
            s.push_str(&a);
            s.push_str(sep);
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// The login bodies' reader accepts exactly what serde_json accepts as an object
    /// without repeated names, and refuses the rest as a syntax error where serde_json
    /// does: no body means one thing to this crate and another to a JSON library.
    #[test]
    fn the_body_reader_agrees_with_serde_json(text in jsonish()) {
        let ours = LoginRequest::parse(text.as_bytes());
        let theirs = serde_json::from_str::<serde_json::Value>(&text);
        match (&ours, &theirs) {
            (Err(BodyError::Syntax { .. }), Err(_)) => {}
            (Err(BodyError::Syntax { line, column }), Ok(_)) => {
                prop_assert!(false, "{text}: syntax error at {line}:{column}, serde_json read it");
            }
            (_, Err(e)) => prop_assert!(false, "{text}: ours {ours:?}, serde_json {e}"),
            (_, Ok(_)) => {}
        }
        if let (Err(BodyError::Syntax { line, column }), Err(e)) = (&ours, &theirs) {
            prop_assert_eq!((*line, *column), (e.line(), e.column()), "{}", text);
        }
    }
}

/// Usernames that look like another user's are refused.
#[test]
fn usernames_refuse_invisible_and_bidi_characters() {
    for name in [
        "\u{feff}",
        "ann\u{202e}",
        "a\u{200b}nn@example.com",
        "ann\u{2028}",
    ] {
        let e = LoginRequest::new(name, Password::new("pw".into()).unwrap()).unwrap_err();
        assert!(
            matches!(&e, BodyError::Invalid { field: "username", reason } if reason.starts_with("must not contain invisible")),
            "{name:?}: {e}"
        );
        let body = serde_json::json!({"username": name, "password": "pw"}).to_string();
        assert_eq!(LoginRequest::parse(body.as_bytes()).unwrap_err(), e);
    }
}

/// A login body may be 64 KiB long (whitespace included), not one byte more; the
/// response the same.
#[test]
fn login_bodies_up_to_64_kib() {
    assert_eq!(MAX_LOGIN_BODY_LEN, 64 * 1024);
    let padded = |json: &str, len: usize| {
        let mut v = json.as_bytes().to_vec();
        v.resize(len, b' ');
        v
    };
    let request = r#"{"username":"ann@acme.example","password":"pw"}"#;
    assert!(LoginRequest::parse(&padded(request, MAX_LOGIN_BODY_LEN)).is_ok());
    assert_eq!(
        LoginRequest::parse(&padded(request, MAX_LOGIN_BODY_LEN + 1)).unwrap_err(),
        BodyError::TooLarge {
            len: MAX_LOGIN_BODY_LEN + 1
        }
    );
    let response = r#"{"message":"ok","token":"abc","expires_in":3600}"#;
    assert!(LoginResponse::parse(&padded(response, MAX_LOGIN_BODY_LEN)).is_ok());
    assert!(LoginResponse::parse(&padded(response, MAX_LOGIN_BODY_LEN + 1)).is_err());
}

/// A login response gives back the lifetime it carries, whatever it is.
#[test]
fn a_login_response_reads_back_its_lifetime() {
    for secs in [1u64, 120, 3600, 86_400] {
        let body = format!(r#"{{"message":"ok","token":"abc","expires_in":{secs}}}"#);
        let r = LoginResponse::parse(body.as_bytes()).unwrap();
        assert_eq!(r.expires_in().as_secs(), secs);
        assert_eq!(r.token().expose_secret(), "abc");
    }
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i32>().prop_map(serde_json::Value::from),
        "[ -~]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
