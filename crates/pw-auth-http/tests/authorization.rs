//! `Authorization`: round trips, the no-ambiguity rule, totality, and every error
//! message as a reviewed snapshot.

use proptest::prelude::*;
use pw_auth_core::{AccessToken, ApiKey, Credential};
use pw_auth_http::*;

fn b64token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~+/-]{1,200}={0,3}"
}

fn api_key() -> impl Strategy<Value = String> {
    "[!-~]{1,256}".prop_filter("a valid key", |s| ApiKey::new(s.clone()).is_ok())
}

fn credential() -> impl Strategy<Value = Credential> {
    prop_oneof![
        b64token().prop_map(|t| Credential::Bearer(AccessToken::new(t).unwrap())),
        api_key().prop_map(|k| Credential::ApiKey(ApiKey::new(k).unwrap())),
    ]
}

/// The field value proper: RFC 9110 §5.5 excludes leading and trailing whitespace.
fn field_value(v: &str) -> &str {
    v.trim_matches([' ', '\t'])
}

/// The bearer reading, written independently of the parser from RFC 6750 §2.1:
/// `"Bearer" 1*SP b64token`, scheme case-insensitive.
fn reads_as_bearer(v: &str) -> bool {
    let v = field_value(v);
    let Some(scheme) = v.get(..6) else {
        return false;
    };
    let rest = &v[6..];
    let token = rest.trim_start_matches(' ');
    scheme.eq_ignore_ascii_case("bearer")
        && token.len() < rest.len()
        && AccessToken::new(token.to_owned()).is_ok()
}

/// The API-key reading: the whole value is a valid key.
fn reads_as_api_key(v: &str) -> bool {
    ApiKey::new(field_value(v).to_owned()).is_ok()
}

/// Values near the boundary between the two grammars.
fn near_miss() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "Bearer", "bearer", "BEARER", "Bearer\t", "Bearer,", "Basic", "",
    ]);
    let gap = prop::sample::select(vec!["", " ", "  ", "\t", " \t"]);
    let body = "[ -~]{0,12}";
    (scheme, gap, body).prop_map(|(s, g, b)| format!("{s}{g}{b}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn parse_of_format_is_identity(c in credential()) {
        let v = format_authorization(&c);
        prop_assert_eq!(parse_authorization(v.as_bytes()), Ok(c));
    }

    #[test]
    fn no_value_reads_both_ways(v in prop_oneof![near_miss(), "[ -~]{0,40}"]) {
        let bearer = reads_as_bearer(&v);
        let key = reads_as_api_key(&v);
        prop_assert!(!(bearer && key), "{v:?} reads both ways");
        // The parser agrees with whichever reading applies, and refuses the rest.
        match parse_authorization(v.as_bytes()) {
            Ok(Credential::Bearer(_)) => prop_assert!(bearer),
            Ok(Credential::ApiKey(_)) => prop_assert!(key),
            Err(_) => prop_assert!(!bearer && !key),
        }
    }

    #[test]
    fn any_bytes_parse_or_fail_without_panicking(v in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Err(e) = parse_authorization(&v) {
            // Errors never quote more than a few bytes of the input.
            let text = e.to_string();
            if v.len() >= 12 {
                let s = String::from_utf8_lossy(&v);
                prop_assert!(!text.contains(s.as_ref()));
            }
        }
    }

    #[test]
    fn surrounding_whitespace_is_not_part_of_the_value(
        c in credential(), lead in "[ \t]{0,3}", trail in "[ \t]{0,3}",
    ) {
        let v = format!("{lead}{}{trail}", format_authorization(&c).as_str());
        prop_assert_eq!(parse_authorization(v.as_bytes()), Ok(c));
    }

    #[test]
    fn two_values_are_always_refused(a in credential(), b in credential()) {
        let (a, b) = (format_authorization(&a), format_authorization(&b));
        let got = parse_authorization_fields([a.as_bytes(), b.as_bytes()]);
        prop_assert_eq!(got, Err(AuthorizationError::MultipleValues { count: 2 }));
    }
}

#[test]
fn rfc_6750_section_2_1_example() {
    // "Authorization: Bearer mF_9.B5f-4.1JqM" (RFC 6750 §2.1)
    let c = parse_authorization(b"Bearer mF_9.B5f-4.1JqM").unwrap();
    match &c {
        Credential::Bearer(t) => assert_eq!(t.expose_secret(), "mF_9.B5f-4.1JqM"),
        other => panic!("{other:?}"),
    }
    assert_eq!(format_authorization(&c).as_str(), "Bearer mF_9.B5f-4.1JqM");
}

#[test]
fn every_error_message() {
    let inputs: &[&[u8]] = &[
        b"",
        b"   ",
        b"Bearer",
        b"Bearer\tabc",
        b"Bearer a b",
        b"Bearer a=b",
        b"Bearer ==",
        b"Bearer abc\r\nX-Injected: yes",
        b"key\x00",
        b"cl\xc3\xa9",
        b"Basic dXNlcjpwYXNz",
        b"NEGOTIATE abc",
        b"s3cr3t-by-mistake trailing",
        b"pwk_00_00000000",
        b"pwk_abc",
    ];
    let mut out = String::new();
    for input in inputs {
        let e = parse_authorization(input).unwrap_err();
        out.push_str(&format!(
            "{:<32} {e}\n",
            format!("{:?}", String::from_utf8_lossy(input))
        ));
    }
    let long = vec![b'a'; MAX_AUTHORIZATION_LEN + 1];
    out.push_str(&format!(
        "{:<32} {}\n",
        "8193 × 'a'",
        parse_authorization(&long).unwrap_err()
    ));
    let two = parse_authorization_fields([&b"Bearer a"[..], &b"Bearer b"[..]]).unwrap_err();
    out.push_str(&format!("{:<32} {two}\n", "two values"));
    insta::assert_snapshot!(out);
}

/// An `Authorization` value may be 8,192 bytes long (surrounding whitespace
/// included), not one more.
#[test]
fn authorization_values_up_to_8192_bytes() {
    assert_eq!(MAX_AUTHORIZATION_LEN, 8192);
    let padded = |len: usize| {
        let mut v = b"Bearer mF_9.B5f-4.1JqM".to_vec();
        v.resize(len, b' ');
        v
    };
    assert!(matches!(
        parse_authorization(&padded(8192)),
        Ok(Credential::Bearer(_))
    ));
    assert_eq!(
        parse_authorization(&padded(8193)).unwrap_err(),
        AuthorizationError::TooLong { len: 8193 }
    );
}
