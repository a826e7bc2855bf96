//! The challenge cases of the greenbytes HTTP authentication test suite (Julian
//! Reschke's `httpauth` test cases), each with what RFC 9110 §11 and the suite say
//! a recipient should get. Where pw-auth deliberately differs from the suite's
//! expectation, the case says so and `docs/http.md` explains why.

use pw_auth_http::*;

/// What a case should give: the challenges (scheme and parameters), or an error.
enum Want {
    Challenges(&'static [(&'static str, &'static [(&'static str, &'static str)])]),
    Refused,
}

use Want::{Challenges, Refused};

/// (name, field lines, expectation, whether this differs from the suite on purpose)
const CASES: &[(&str, &[&[u8]], Want, bool)] = &[
    (
        "simplebasic",
        &[br#"Basic realm="foo""#],
        Challenges(&[("Basic", &[("realm", "foo")])]),
        false,
    ),
    // obs-fold: the HTTP/1.1 framing unfolds (or refuses) it before a field value
    // reaches this parser; a value that still holds CR LF is refused.
    (
        "simplebasiclf",
        &[b"Basic\r\n realm=\"foo\""],
        Refused,
        true,
    ),
    (
        "simplebasicucase",
        &[br#"BASIC REALM="foo""#],
        Challenges(&[("BASIC", &[("REALM", "foo")])]),
        false,
    ),
    // The generic grammar allows a token value; that Basic's realm must be quoted is
    // RFC 7617's rule for one scheme, not the recipient grammar's.
    (
        "simplebasictok",
        &[br#"Basic realm=foo"#],
        Challenges(&[("Basic", &[("realm", "foo")])]),
        true,
    ),
    (
        "simplebasictokbs",
        &[br#"Basic realm=\f\o\o"#],
        Refused,
        false,
    ),
    // Single quotes are token characters, not quotes: the value keeps them.
    (
        "simplebasicsq",
        &[br#"Basic realm='foo'"#],
        Challenges(&[("Basic", &[("realm", "'foo'")])]),
        false,
    ),
    (
        "simplebasicpct",
        &[br#"Basic realm="foo%20bar""#],
        Challenges(&[("Basic", &[("realm", "foo%20bar")])]),
        false,
    ),
    (
        "simplebasiccomma",
        &[br#"Basic , realm="foo""#],
        Challenges(&[("Basic", &[("realm", "foo")])]),
        false,
    ),
    (
        "simplebasiccomma2",
        &[br#"Basic, realm="foo""#],
        Refused,
        false,
    ),
    // A challenge with no parameters is grammatical; that Basic needs a realm is
    // again RFC 7617's rule, for the caller that handles Basic.
    (
        "simplebasicnorealm",
        &[b"Basic"],
        Challenges(&[("Basic", &[])]),
        true,
    ),
    (
        "simplebasic2realms",
        &[br#"Basic realm="foo", realm="bar""#],
        Refused,
        false,
    ),
    (
        "simplebasicwsrealm",
        &[br#"Basic realm = "foo""#],
        Challenges(&[("Basic", &[("realm", "foo")])]),
        false,
    ),
    (
        "simplebasicrealmsqc",
        &[br#"Basic realm="\f\o\o""#],
        Challenges(&[("Basic", &[("realm", "foo")])]),
        false,
    ),
    (
        "simplebasicrealmsqc2",
        &[br#"Basic realm="\"foo\"""#],
        Challenges(&[("Basic", &[("realm", r#""foo""#)])]),
        false,
    ),
    (
        "simplebasicnewparam1",
        &[br#"Basic realm="foo", bar="xyz",, a=b,,,c=d"#],
        Challenges(&[(
            "Basic",
            &[("realm", "foo"), ("bar", "xyz"), ("a", "b"), ("c", "d")],
        )]),
        false,
    ),
    (
        "simplebasicnewparam2",
        &[br#"Basic bar="xyz", realm="foo""#],
        Challenges(&[("Basic", &[("bar", "xyz"), ("realm", "foo")])]),
        false,
    ),
    // Values are Rust strings: a byte sequence that is not UTF-8 is refused rather
    // than read in a guessed encoding.
    (
        "simplebasicrealmiso88591",
        &[b"Basic realm=\"foo-\xe4\""],
        Refused,
        true,
    ),
    (
        "simplebasicrealmutf8",
        &[b"Basic realm=\"foo-\xc3\xa4\""],
        Challenges(&[("Basic", &[("realm", "foo-\u{e4}")])]),
        false,
    ),
    (
        "simplebasicrealmrfc2047",
        &[br#"Basic realm="=?ISO-8859-1?Q?foo-=E4?=""#],
        Challenges(&[("Basic", &[("realm", "=?ISO-8859-1?Q?foo-=E4?=")])]),
        false,
    ),
    (
        "multibasicunknown",
        &[br#"Basic realm="basic", Newauth realm="newauth""#],
        Challenges(&[
            ("Basic", &[("realm", "basic")]),
            ("Newauth", &[("realm", "newauth")]),
        ]),
        false,
    ),
    (
        "multibasicunknown2",
        &[br#"Newauth realm="newauth", Basic realm="basic""#],
        Challenges(&[
            ("Newauth", &[("realm", "newauth")]),
            ("Basic", &[("realm", "basic")]),
        ]),
        false,
    ),
    (
        "multibasicunknown2mf",
        &[br#"Newauth realm="newauth""#, br#"Basic realm="basic""#],
        Challenges(&[
            ("Newauth", &[("realm", "newauth")]),
            ("Basic", &[("realm", "basic")]),
        ]),
        false,
    ),
    (
        "multibasicempty",
        &[br#",Basic realm="basic""#],
        Challenges(&[("Basic", &[("realm", "basic")])]),
        false,
    ),
    (
        "multibasicqs",
        &[br#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple" "#],
        Challenges(&[
            (
                "Newauth",
                &[
                    ("realm", "apps"),
                    ("type", "1"),
                    ("title", r#"Login to "apps""#),
                ],
            ),
            ("Basic", &[("realm", "simple")]),
        ]),
        false,
    ),
    (
        "multidisgscheme",
        &[br#"Newauth realm="Newauth Realm", basic=foo, Basic realm="Basic Realm" "#],
        Challenges(&[
            ("Newauth", &[("realm", "Newauth Realm"), ("basic", "foo")]),
            ("Basic", &[("realm", "Basic Realm")]),
        ]),
        false,
    ),
    (
        "unknown",
        &[br#"Newauth realm="newauth""#],
        Challenges(&[("Newauth", &[("realm", "newauth")])]),
        false,
    ),
    (
        "disguisedrealm",
        &[br#"Basic foo="realm=nottherealm", realm="basic""#],
        Challenges(&[("Basic", &[("foo", "realm=nottherealm"), ("realm", "basic")])]),
        false,
    ),
    (
        "disguisedrealm2",
        &[br#"Basic nottherealm="nottherealm", realm="basic""#],
        Challenges(&[(
            "Basic",
            &[("nottherealm", "nottherealm"), ("realm", "basic")],
        )]),
        false,
    ),
    ("missingquote", &[br#"Basic realm="basic"#], Refused, false),
];

#[test]
fn every_greenbytes_challenge_case() {
    assert_eq!(CASES.len(), 29);
    for (name, lines, want, _) in CASES {
        let got = parse_challenges(lines.iter().copied());
        match (want, got) {
            (Challenges(want), Ok(got)) => {
                let got: Vec<(&str, Vec<(&str, &str)>)> = got
                    .iter()
                    .map(|c| {
                        let params = c.params().iter().map(|(n, v)| (n.as_str(), v.as_str()));
                        (c.scheme(), params.collect())
                    })
                    .collect();
                let want: Vec<(&str, Vec<(&str, &str)>)> =
                    want.iter().map(|(s, p)| (*s, p.to_vec())).collect();
                assert_eq!(got, want, "{name}");
            }
            (Refused, Err(_)) => {}
            (Challenges(_), Err(e)) => panic!("{name}: refused: {e}"),
            (Refused, Ok(c)) => panic!("{name}: accepted: {c:?}"),
        }
    }
}

/// The refusals say where and why, in the parser's own words.
#[test]
fn greenbytes_refusals_name_their_place() {
    let refused: Vec<String> = CASES
        .iter()
        .filter(|(_, _, want, _)| matches!(want, Refused))
        .map(|(name, lines, _, differs)| {
            let e = parse_challenges(lines.iter().copied()).unwrap_err();
            let mark = if *differs {
                " (differs on purpose)"
            } else {
                ""
            };
            format!("{name}{mark}: {e}")
        })
        .collect();
    insta::assert_snapshot!(refused.join("\n"), @r"
    simplebasiclf (differs on purpose): line 1, column 6: a control character is not allowed
    simplebasictokbs: line 1, column 13: expected a token or quoted-string value
    simplebasiccomma2: line 1, column 8: expected a new challenge; parameters follow their auth-scheme after a space, not a comma
    simplebasic2realms: line 1: parameter `realm` occurs twice in one challenge
    simplebasicrealmiso88591 (differs on purpose): the challenge input is not valid UTF-8
    missingquote: line 1, column 13: unterminated quoted-string
    ");
}

/// What the suite expects where pw-auth differs, so the list in docs/http.md and
/// this file cannot drift apart.
#[test]
fn the_deliberate_differences_are_the_documented_ones() {
    let differs: Vec<&str> = CASES
        .iter()
        .filter(|(_, _, _, differs)| *differs)
        .map(|(name, ..)| *name)
        .collect();
    let doc = include_str!("../../../docs/http.md");
    for name in &differs {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/http.md does not explain {name}"
        );
    }
    assert_eq!(
        differs,
        [
            "simplebasiclf",
            "simplebasictok",
            "simplebasicnorealm",
            "simplebasicrealmiso88591"
        ]
    );
}
