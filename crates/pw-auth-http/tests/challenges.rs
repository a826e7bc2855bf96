//! `WWW-Authenticate`: the RFCs' own examples, the recipient grammar's corners,
//! round trips and totality.

use proptest::prelude::*;
use pw_auth_http::*;

fn one(line: &str) -> Result<Vec<Challenge>, ChallengeError> {
    parse_challenges([line.as_bytes()])
}

fn params(c: &Challenge) -> Vec<(&str, &str)> {
    c.params()
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

#[test]
fn rfc_9110_section_11_6_1_example() {
    // WWW-Authenticate: Basic realm="simple", Newauth realm="apps",
    //                  type=1, title="Login to \"apps\""
    // "This header field contains two challenges, one for the "Basic" scheme with a
    // realm value of "simple" and another for the "Newauth" scheme with a realm value
    // of "apps". It also contains two additional parameters, "type" and "title"."
    let cs =
        one(r#"Basic realm="simple", Newauth realm="apps", type=1, title="Login to \"apps\"""#)
            .unwrap();
    assert_eq!(cs.len(), 2);
    assert!(cs[0].scheme_is("basic"));
    assert_eq!(params(&cs[0]), [("realm", "simple")]);
    assert_eq!(cs[1].scheme(), "Newauth");
    assert_eq!(
        params(&cs[1]),
        [
            ("realm", "apps"),
            ("type", "1"),
            ("title", r#"Login to "apps""#)
        ]
    );
}

#[test]
fn rfc_9110_example_split_over_two_field_lines() {
    // "the header field itself can occur multiple times" (§11.6.1); the second line
    // continues the parameter list, as a recipient joining the lines would read it.
    let cs = parse_challenges([
        &br#"Basic realm="simple", Newauth realm="apps","#[..],
        &br#"type=1, title="Login to \"apps\"""#[..],
    ])
    .unwrap();
    assert_eq!(cs.len(), 2);
    assert_eq!(params(&cs[1]).len(), 3);
}

#[test]
fn rfc_6750_section_3_examples() {
    // HTTP/1.1 401 Unauthorized
    // WWW-Authenticate: Bearer realm="example"
    let cs = one(r#"Bearer realm="example""#).unwrap();
    let b = BearerChallenge::from_challenge(&cs[0]).unwrap();
    assert_eq!(b.realm(), Some("example"));
    assert_eq!(b.error(), None);

    // WWW-Authenticate: Bearer realm="example",
    //                   error="invalid_token",
    //                   error_description="The access token expired"
    let cs = one(r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#).unwrap();
    let b = BearerChallenge::from_challenge(&cs[0]).unwrap();
    assert_eq!(b.error(), Some(&BearerError::InvalidToken));
    assert_eq!(b.description(), Some("The access token expired"));

    // The two scope examples of §3.
    for scope in [
        "openid profile email",
        "urn:example:channel=HBO&urn:example:rating=G,PG-13",
    ] {
        let built = BearerChallenge::new().with_scope(scope).unwrap();
        let back = one(&built.to_string()).unwrap();
        assert_eq!(
            BearerChallenge::from_challenge(&back[0]).unwrap().scope(),
            Some(scope)
        );
    }
}

#[test]
fn the_recipient_grammar() {
    // Empty list elements and OWS around commas (§5.6.1.2).
    let cs = one(r#" , Bearer realm="a" ,, , Basic realm="b",  "#).unwrap();
    assert_eq!(cs.len(), 2);
    // BWS around "=" (§11.2), token values, case-insensitive names.
    let cs = one(r#"Bearer realm = "a, b" , ERROR=invalid_token"#).unwrap();
    assert_eq!(cs[0].param("error"), Some("invalid_token"));
    assert_eq!(cs[0].param("Realm"), Some("a, b"));
    // token68 (§11.2), with padding, next to another challenge.
    let cs = one("Negotiate abc==, Bearer").unwrap();
    assert_eq!(cs[0].token68(), Some("abc=="));
    assert!(cs[1].scheme_is("bearer") && cs[1].params().is_empty());
    // A token68 that looks like a parameter without a value is a token68.
    let cs = one("Newauth realm=").unwrap();
    assert_eq!(cs[0].token68(), Some("realm="));
    // A bare scheme followed by its parameters after an empty element.
    let cs = one(r#"Bearer , realm="x""#).unwrap();
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0].param("realm"), Some("x"));
    // Quoted-pairs undone; obs-text kept.
    let cs = one(r#"Basic realm="a\\b\"c\d é""#).unwrap();
    assert_eq!(cs[0].param("realm"), Some(r#"a\b"cd é"#));
}

#[test]
fn every_parse_error() {
    let cases: &[&str] = &[
        "",
        " , ,",
        r#"realm="x""#,
        r#"Bearer realm="x", realm="y""#,
        r#"Bearer realm="x", REALM="y""#,
        r#"Bearer realm="unterminated"#,
        "Bearer realm=",
        r#"Bearer realm="x" error="y""#,
        "Bearer\trealm=x",
        "Bearer realm=\"a\rb\"",
        "Negotiate abc==, error=x",
        "Bearer @",
        "Bearer realm=a b",
    ];
    let mut out = String::new();
    for c in cases {
        let got = one(c);
        let text = match got {
            Ok(v) => format!("ok: {}", format_challenges(&v)),
            Err(e) => e.to_string(),
        };
        out.push_str(&format!("{:<36} {text}\n", format!("{c:?}")));
    }
    out.push_str(&format!(
        "{:<36} {}\n",
        "non-UTF-8",
        parse_challenges([&b"Basic \xff"[..]]).unwrap_err()
    ));
    let many = "Basic, ".repeat(MAX_LIST_ELEMENTS + 1);
    out.push_str(&format!(
        "{:<36} {}\n",
        "257 × \"Basic, \"",
        one(&many).unwrap_err()
    ));
    let long = "a".repeat(MAX_CHALLENGE_INPUT_LEN + 1);
    out.push_str(&format!(
        "{:<36} {}\n",
        "16385 × 'a'",
        one(&long).unwrap_err()
    ));
    insta::assert_snapshot!(out);
}

#[test]
fn the_element_cap_counts_elements_not_separators() {
    // Found by fuzzing: 200 challenges on 200 field lines parse, and so must their
    // one-line form, whose 199 commas are separators, not elements.
    let lines: Vec<String> = (0..200).map(|i| format!("S{i}")).collect();
    let cs = parse_challenges(lines.iter().map(|l| l.as_bytes())).unwrap();
    assert_eq!(cs.len(), 200);
    assert_eq!(one(&format_challenges(&cs)), Ok(cs));
    // Empty elements are capped on their own.
    assert_eq!(
        one(&format!("Basic{}", ",".repeat(MAX_LIST_ELEMENTS + 1))),
        Ok(one("Basic").unwrap())
    );
    assert_eq!(
        one(&format!("Basic{}", ",".repeat(MAX_LIST_ELEMENTS + 2))),
        Err(ChallengeError::TooManyElements)
    );
}

#[test]
fn build_errors() {
    let bad: [(&str, ChallengeBuildError); 5] = [
        (
            "scheme",
            Challenge::with_params("Bad Scheme", [("a", "b")]).unwrap_err(),
        ),
        (
            "name",
            Challenge::with_params("X", [("a b", "c")]).unwrap_err(),
        ),
        (
            "value",
            Challenge::with_params("X", [("a", "line\nbreak")]).unwrap_err(),
        ),
        (
            "dup",
            Challenge::with_params("X", [("a", "1"), ("A", "2")]).unwrap_err(),
        ),
        (
            "desc",
            BearerChallenge::new()
                .with_description("say \"hi\"")
                .unwrap_err(),
        ),
    ];
    let text: Vec<String> = bad.iter().map(|(k, e)| format!("{k}: {e}")).collect();
    insta::assert_snapshot!(text.join("\n"), @r#"
    scheme: `Bad Scheme` is not a token
    name: `a b` is not a token
    value: the value of `a` contains a character a quoted-string cannot hold
    dup: parameter `A` occurs twice
    desc: the value of `error_description` contains a character a quoted-string cannot hold
    "#);
    assert!(BearerChallenge::new().with_scope("a  b").is_err());
    assert!(BearerChallenge::new().with_error_uri("has space").is_err());
    assert!(Challenge::with_token68("X", "=abc").is_err());
}

fn token() -> impl Strategy<Value = String> {
    "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}"
}

fn quotable() -> impl Strategy<Value = String> {
    "[\t -~é€]{0,24}"
}

fn challenge() -> impl Strategy<Value = Challenge> {
    let with_params = (token(), prop::collection::vec((token(), quotable()), 0..5))
        .prop_filter_map("distinct names", |(s, ps)| {
            Challenge::with_params(&s, ps).ok()
        });
    let with_t68 = (token(), "[A-Za-z0-9._~+/-]{1,20}={0,2}")
        .prop_filter_map("valid", |(s, t)| Challenge::with_token68(&s, &t).ok());
    prop_oneof![3 => with_params, 1 => with_t68]
}

fn bearer() -> impl Strategy<Value = BearerChallenge> {
    let nqs = "[ !#-\\[\\]-~]{0,30}";
    let nq = "[!#-\\[\\]-~]{1,20}";
    (
        prop::option::of(quotable()),
        prop::option::of(prop::sample::select(vec![
            BearerError::InvalidRequest,
            BearerError::InvalidToken,
            BearerError::InsufficientScope,
        ])),
        prop::option::of(nqs),
        prop::option::of(nq),
        prop::option::of(prop::collection::vec(nq, 1..4).prop_map(|v| v.join(" "))),
    )
        .prop_map(|(realm, error, desc, uri, scope)| {
            let mut b = BearerChallenge::new();
            if let Some(r) = realm {
                b = b.with_realm(&r).unwrap();
            }
            if let Some(e) = error {
                b = b.with_error(e);
            }
            if let Some(d) = desc {
                b = b.with_description(&d).unwrap();
            }
            if let Some(u) = uri {
                b = b.with_error_uri(&u).unwrap();
            }
            if let Some(s) = scope {
                b = b.with_scope(&s).unwrap();
            }
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn parse_of_format_is_identity(cs in prop::collection::vec(challenge(), 1..4)) {
        // A parameterless challenge followed by a token68-looking one is the grammar's
        // own ambiguity; the builders never produce a value that depends on it, since
        // every parameter is name="value".
        let text = format_challenges(&cs);
        prop_assert_eq!(one(&text), Ok(cs));
    }

    #[test]
    fn every_bearer_challenge_round_trips(b in bearer()) {
        let back = one(&b.to_string()).unwrap();
        prop_assert_eq!(back.len(), 1);
        prop_assert_eq!(BearerChallenge::from_challenge(&back[0]), Some(b));
    }

    #[test]
    fn any_bytes_parse_or_fail_without_panicking(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..4)) {
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        if let Ok(cs) = parse_challenges(refs) {
            // What parsed re-formats to something that parses to the same.
            let again = one(&format_challenges(&cs));
            prop_assert_eq!(again, Ok(cs));
        }
    }

    #[test]
    fn grammar_shaped_input_never_panics_and_round_trips(s in "[A-Za-z=, \t\"\\\\a-z0-9]{0,60}") {
        if let Ok(cs) = one(&s) {
            prop_assert_eq!(one(&format_challenges(&cs)), Ok(cs));
        }
    }
}

/// A Bearer challenge's accessors give back what was set, each error prints as its
/// RFC 6750 code, and only a `Bearer` challenge without a token68 reads as one.
#[test]
fn bearer_challenge_parts_read_back() {
    let b = BearerChallenge::new()
        .with_realm("example")
        .unwrap()
        .with_error(BearerError::InvalidToken)
        .with_description("The access token expired")
        .unwrap()
        .with_error_uri("https://example.com/errors/expired")
        .unwrap()
        .with_scope("flows.view")
        .unwrap();
    assert_eq!(b.error_uri(), Some("https://example.com/errors/expired"));
    assert_eq!(b.description(), Some("The access token expired"));
    assert_eq!(b.scope(), Some("flows.view"));
    assert_eq!(BearerChallenge::new().error_uri(), None);
    let read = BearerChallenge::from_challenge(&b.to_challenge()).unwrap();
    assert_eq!(read.error_uri(), Some("https://example.com/errors/expired"));
    for (error, code) in [
        (BearerError::InvalidRequest, "invalid_request"),
        (BearerError::InvalidToken, "invalid_token"),
        (BearerError::InsufficientScope, "insufficient_scope"),
    ] {
        assert_eq!(error.to_string(), code);
    }
    // Another scheme, with or without a token68, and Bearer with one: not Bearer.
    for line in [
        "Basic realm=\"example\"",
        "Negotiate abc123==",
        "Bearer abc123==",
    ] {
        let c = &one(line).unwrap()[0];
        assert!(BearerChallenge::from_challenge(c).is_none(), "{line}");
    }
}

/// The corners of a challenge's head and of telling a parameter from a new challenge,
/// each with the error it gives: a tab after spaces, no space at all, a token68 that is
/// all padding, a parameter with no name; and an escaped character of any kind kept.
#[test]
fn head_and_parameter_corners() {
    let expected = |line: &str| match one(line) {
        Err(ChallengeError::Expected {
            column, expected, ..
        }) => (column, expected),
        other => panic!("{line}: {other:?}"),
    };
    assert_eq!(
        expected("Basic \trealm=\"x\""),
        (7, "a space after the auth-scheme")
    );
    assert_eq!(
        expected("Basic;realm=\"x\""),
        (6, "a space after the auth-scheme")
    );
    assert!(one("Newauth ==").is_err(), "padding alone is no token68");
    assert_eq!(one("Newauth abc==").unwrap()[0].token68(), Some("abc=="));
    // `=x` after a comma is neither a parameter (no name) nor a challenge.
    assert_eq!(expected("Basic realm=\"x\", =x"), (18, "an auth-scheme"));
    let c = one(r#"Basic realm="a\"b\\c\dé""#).unwrap();
    assert_eq!(c[0].param("realm"), Some("a\"b\\cdé"));
}

/// `WWW-Authenticate` input may total 16 KiB over all its lines, not one byte more.
#[test]
fn challenge_input_up_to_16_kib() {
    assert_eq!(MAX_CHALLENGE_INPUT_LEN, 16 * 1024);
    let line = |len: usize| format!(r#"Basic realm="{}""#, "a".repeat(len - 14));
    assert_eq!(line(100).len(), 100);
    assert!(one(&line(16 * 1024)).is_ok());
    assert_eq!(
        one(&line(16 * 1024 + 1)).unwrap_err(),
        ChallengeError::TooLong { len: 16 * 1024 + 1 }
    );
    // Over several lines, the total counts.
    let half = line(8 * 1024);
    assert!(parse_challenges([half.as_bytes(), half.as_bytes()]).is_ok());
    let more = format!("{half} ");
    assert_eq!(
        parse_challenges([half.as_bytes(), more.as_bytes()]).unwrap_err(),
        ChallengeError::TooLong { len: 16 * 1024 + 1 }
    );
}

/// The borrowed challenges read as the owned ones do: scheme, token68, parameters in
/// order, a parameter by name; values without a quoted-pair are slices of the input,
/// a value with one is unescaped into its own string.
#[test]
fn borrowed_challenges_read_as_the_owned_ones() {
    use std::borrow::Cow;
    let line = br#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic dXNlcg=="#;
    let cs = parse_challenges_ref([&line[..]]).unwrap();
    assert_eq!(cs.len(), 2);
    let (a, b) = (&cs[0], &cs[1]);
    assert_eq!(a.scheme(), "Newauth");
    assert!(a.scheme_is("newauth") && !a.scheme_is("basic"));
    assert_eq!(a.token68(), None);
    let names: Vec<&str> = a.params().iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["realm", "type", "title"]);
    assert!(matches!(a.params()[0].1, Cow::Borrowed("apps")));
    assert!(matches!(a.params()[1].1, Cow::Borrowed("1")));
    assert!(matches!(&a.params()[2].1, Cow::Owned(t) if t == r#"Login to "apps""#));
    assert_eq!(a.param("TITLE"), Some(r#"Login to "apps""#));
    assert_eq!(a.param("nope"), None);
    assert_eq!(b.scheme(), "Basic");
    assert_eq!(b.token68(), Some("dXNlcg=="));
    assert!(b.params().is_empty());
    let owned = parse_challenges([&line[..]]).unwrap();
    let copied: Vec<Challenge> = cs.iter().map(ChallengeRef::to_challenge).collect();
    assert_eq!(copied, owned);
}

/// A parameter continuing a challenge after a comma may have spaces before its `=`
/// (BWS); a token68 needs at least one character before its padding.
#[test]
fn continued_parameters_with_bws_and_padding_only_token68() {
    let cs = parse_challenges([&br#"Newauth realm="apps", type =1, title= "t""#[..]]).unwrap();
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0].param("type"), Some("1"));
    assert_eq!(cs[0].param("title"), Some("t"));
    assert!(parse_challenges([&b"Basic =="[..]]).is_err());
    assert!(parse_challenges([&b"Basic a=="[..]]).is_ok());
}
