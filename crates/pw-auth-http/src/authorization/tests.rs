use super::*;
use pw_auth_core::BadChar;

macro_rules! cases {
    ($($input:expr => $want:pat),* $(,)?) => {$(
        let got = parse_authorization($input);
        assert!(matches!(got, $want), "{:?} gave {:?}", String::from_utf8_lossy($input), got);
    )*};
}

#[test]
fn table() {
    use AuthorizationError as E;
    cases! {
        b"Bearer mF_9.B5f-4.1JqM" => Ok(Credential::Bearer(_)),
        b"bearer abc" => Ok(Credential::Bearer(_)),
        b"BEARER abc==" => Ok(Credential::Bearer(_)),
        b"Bearer    abc" => Ok(Credential::Bearer(_)),
        b"  Bearer abc \t" => Ok(Credential::Bearer(_)),
        b"k" => Ok(Credential::ApiKey(_)),
        b"pw-key:with/odd=chars!" => Ok(Credential::ApiKey(_)),
        b"" => Err(E::Empty),
        b" \t " => Err(E::Empty),
        b"Bearer" => Err(E::MissingToken),
        b"Bearer   " => Err(E::MissingToken),
        b"Bearer\tabc" => Err(E::TabSeparator),
        b"Bearer \tabc" => Err(E::TabSeparator),
        b"Bearer a b" => Err(E::InvalidToken(TokenError::InvalidChar { kind: BadChar::Whitespace, position: 1 })),
        b"Bearer a=b" => Err(E::InvalidToken(TokenError::MisplacedPadding { position: 1 })),
        b"Bearer a,Bearer b" => Err(E::InvalidToken(_)),
        b"Bearer abc\r\nX-Injected: 1" => Err(E::ControlByte { position: 10 }),
        b"key\0" => Err(E::ControlByte { position: 3 }),
        b"cl\xc3\xa9" => Err(E::NonAscii { position: 2 }),
        b"Basic dXNlcjpwYXNz" => Err(E::UnsupportedScheme { scheme: "Basic" }),
        b"digest username=\"x\"" => Err(E::UnsupportedScheme { scheme: "Digest" }),
        b"s3cret-key-with-a space" => Err(E::UnknownScheme { len: 17 }),
        b"pwk_00_00000000" => Err(E::InvalidApiKey(ApiKeyError::BadChecksum)),
    }
    let long = vec![b'a'; MAX_AUTHORIZATION_LEN + 1];
    assert_eq!(
        parse_authorization(&long),
        Err(E::TooLong {
            len: MAX_AUTHORIZATION_LEN + 1
        })
    );
}

#[test]
fn several_values_are_refused() {
    let one: [&[u8]; 1] = [b"Bearer a"];
    assert!(matches!(
        parse_authorization_fields(one),
        Ok(Some(Credential::Bearer(_)))
    ));
    let none: [&[u8]; 0] = [];
    assert_eq!(parse_authorization_fields(none), Ok(None));
    let two: [&[u8]; 2] = [b"Bearer a", b"Bearer a"];
    assert_eq!(
        parse_authorization_fields(two),
        Err(AuthorizationError::MultipleValues { count: 2 })
    );
}

#[test]
fn errors_are_recorded_for_what_they_are() {
    use AuthorizationError as E;
    let cases = [
        (E::Empty, AuthnFailure::Empty),
        (
            E::UnsupportedScheme { scheme: "Basic" },
            AuthnFailure::UnsupportedScheme {
                scheme: Some("Basic"),
            },
        ),
        (
            E::UnknownScheme { len: 3 },
            AuthnFailure::UnsupportedScheme { scheme: None },
        ),
        (
            E::MultipleValues { count: 2 },
            AuthnFailure::MultipleValues { count: 2 },
        ),
        (E::MissingToken, AuthnFailure::Malformed),
        (E::TabSeparator, AuthnFailure::Malformed),
        (E::ControlByte { position: 0 }, AuthnFailure::Malformed),
        (E::NonAscii { position: 0 }, AuthnFailure::Malformed),
        (E::TooLong { len: 9000 }, AuthnFailure::Malformed),
    ];
    for (e, want) in cases {
        assert_eq!(e.failure(), want, "{e:?}");
        // No bearer attempted: exactly the failures answered without an error code.
        let bare = matches!(
            want,
            AuthnFailure::Empty | AuthnFailure::UnsupportedScheme { .. }
        );
        assert_eq!(e.is_no_credentials(), bare, "{e:?}");
        assert_eq!(
            e.is_invalid_request(),
            matches!(want, AuthnFailure::MultipleValues { .. })
        );
    }
}

/// Well-formed values take the one-pass path (the property test below shows that
/// the path agrees with the grammar; this shows it is taken).
#[test]
fn well_formed_values_take_the_one_pass_path() {
    for v in [
        &b"Bearer mF_9.B5f-4.1JqM"[..],
        b"bearer    abc==",
        b"BEARER a",
        b"my-api-key-123",
        b"pwk_00112233445566778899aabbccddeeff90482470",
    ] {
        assert!(well_formed(v).is_some(), "{}", String::from_utf8_lossy(v));
    }
    for v in [&b"Bearer\tabc"[..], b"Bearer a b", b"Bearer", b"a b", b""] {
        assert!(well_formed(v).is_none(), "{}", String::from_utf8_lossy(v));
    }
}

/// What a result amounts to: the credential's kind and digest, or the error.
fn summary(
    r: Result<CredentialRef<'_>, AuthorizationError>,
) -> Result<pw_auth_core::CredentialDigest, AuthorizationError> {
    r.map(|c| c.digest())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

    /// The one-pass path accepts nothing the whole grammar refuses, and the parser
    /// gives exactly the whole grammar's answer: the same credential, or the same
    /// error. Inputs lean towards the edges: the scheme in any case, spaces and
    /// tabs, padding, control and non-ASCII bytes, minted-looking keys.
    #[test]
    fn one_pass_agrees_with_the_grammar(
        v in proptest::string::bytes_regex(
            "(?s-u)[ \\t]{0,2}((?i:bearer)[ \\t]{0,3})?(pwk_)?[A-Za-z0-9._~+/=\\-!,\\x00\\x7f\\x80-\\xff \\t]{0,40}[ \\t]{0,2}"
        ).unwrap()
    ) {
        let trimmed = trim_ows(&v);
        if let Some(fast) = well_formed(trimmed) {
            proptest::prop_assert_eq!(summary(Ok(fast)), summary(by_the_grammar(trimmed)));
        }
        proptest::prop_assert_eq!(summary(parse_authorization_ref(&v)), summary(by_the_grammar(trimmed)));
        let owned = parse_authorization(&v).map(|c| c.digest());
        proptest::prop_assert_eq!(owned, summary(by_the_grammar(trimmed)));
    }
}

#[test]
fn unknown_first_words_are_never_echoed() {
    let e = parse_authorization(b"hunter2hunter2 trailing").unwrap_err();
    assert!(!e.to_string().contains("hunter2"));
    assert!(!format!("{e:?}").contains("hunter2"));
}
