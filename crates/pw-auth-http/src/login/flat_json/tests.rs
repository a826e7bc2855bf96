use super::*;

fn read(body: &str) -> Result<Vec<(String, String)>, ObjectError<()>> {
    let mut v = Vec::new();
    read_object(
        body.as_bytes(),
        |_| true,
        |k, m| {
            v.push((
                k.to_string(),
                match m {
                    Member::String(s) => format!("s:{}", *s),
                    Member::Number(n) => format!("n:{n:?}"),
                    Member::Other => "other".into(),
                },
            ));
            Ok(())
        },
    )?;
    Ok(v)
}

/// Agrees with serde_json on what is JSON, for a spread of valid and invalid
/// documents, and decodes strings and numbers as it does.
/// A number beyond the largest finite double is refused, as serde_json refuses
/// it, at its last byte; one just inside is read.
#[test]
fn numbers_out_of_range_are_refused_where_serde_json_refuses_them() {
    let big = format!("{{\"a\":1{} }}", "0".repeat(400));
    for text in [
        "{\"a\":1e310 }",
        "{\"a\":-1e310}",
        "{\"a\":1.5E+400,\"b\":1}",
        big.as_str(),
    ] {
        let theirs = serde_json::from_str::<serde_json::Value>(text).unwrap_err();
        let Err(ObjectError::Syntax(ours)) = read(text) else {
            panic!("{text}: read")
        };
        assert_eq!(
            (ours.line, ours.column),
            (theirs.line(), theirs.column()),
            "{text}"
        );
    }
    for text in [
        "{\"a\":1e308}",
        "{\"a\":-1.7e308}",
        "{\"a\":1e-400}",
        "{\"a\":0e99999}",
    ] {
        assert!(
            serde_json::from_str::<serde_json::Value>(text).is_ok(),
            "{text}"
        );
        assert!(read(text).is_ok(), "{text}");
    }
}

#[test]
fn agrees_with_serde_json() {
    let docs = [
        r#"{}"#,
        r#" { "a" : "b" } "#,
        r#"{"a":"\u00e9\ud83d\ude00\n\"\\\/"}"#,
        r#"{"a":"\b\f\n\r\t\u0041\u00FF"}"#,
        r#"{"a":1,"b":-1,"c":1.5,"d":1e3,"e":18446744073709551615,"f":18446744073709551616}"#,
        r#"{"a":[1,{"b":[true,false,null]}],"c":{}}"#,
        r#"{"a":"\ud800"}"#,
        r#"{"a":"\udc00x"}"#,
        r#"{"a":01}"#,
        r#"{"a":1.}"#,
        r#"{"a":-}"#,
        r#"{"a":"x}"#,
        "{\"a\":\"\u{1}\"}",
        r#"{"a":1,}"#,
        r#"{,}"#,
        r#"{"a" 1}"#,
        r#"{"a":tru}"#,
        r#"{"a":1} x"#,
        r#"[1]"#,
        r#""s""#,
        r#"3"#,
        "",
        "   ",
        r#"{"a":"\x"}"#,
        r#"{"a":"\u12"}"#,
        r#"{"a":"\ud83d\ude00\udbff\udfff\ud800\udc00"}"#,
        r#"{"a":[1}}"#,
        r#"{"a":{"b":1]}"#,
        r#"{"a":[1,2]]}"#,
    ];
    for doc in docs {
        let ours = read(doc);
        let theirs = serde_json::from_str::<serde_json::Value>(doc);
        match (&ours, &theirs) {
            (Ok(v), Ok(serde_json::Value::Object(m))) => {
                assert_eq!(v.len(), m.len(), "{doc}");
                for (k, ours) in v {
                    let want = match &m[k] {
                        serde_json::Value::String(s) => format!("s:{s}"),
                        serde_json::Value::Number(n) => format!("n:{:?}", n.as_u64()),
                        _ => "other".into(),
                    };
                    assert_eq!(ours, &want, "{doc}");
                }
            }
            (Err(ObjectError::NotAnObject), Ok(v)) => assert!(!v.is_object(), "{doc}"),
            (Err(ObjectError::Syntax(_)), Err(_)) => {}
            _ => panic!("{doc}: ours {ours:?}, serde_json {theirs:?}"),
        }
    }
}

/// A value may sit 32 levels deep (`MAX_DEPTH`; the object's own members are at
/// level 1), not one more: 31 arrays around a number, or 32 around nothing.
#[test]
fn nesting_up_to_max_depth() {
    assert_eq!(MAX_DEPTH, 32);
    let nested =
        |n: usize, inner: &str| format!(r#"{{"a":{}{inner}{}}}"#, "[".repeat(n), "]".repeat(n));
    assert!(read(&nested(31, "1")).is_ok());
    assert!(matches!(
        read(&nested(32, "1")),
        Err(ObjectError::Syntax(_))
    ));
    assert!(read(&nested(32, "")).is_ok());
    assert!(matches!(read(&nested(33, "")), Err(ObjectError::Syntax(_))));
    assert!(matches!(
        read(&nested(200, "")),
        Err(ObjectError::Syntax(_))
    ));
}

/// The capacity reserved for a string: its raw length between the quotes, an
/// escape counted as its two bytes and never ending the string early.
#[test]
fn raw_string_len_reads_to_the_closing_quote() {
    let len = |s: &str| {
        Reader {
            bytes: s.as_bytes(),
            pos: 0,
        }
        .raw_string_len()
    };
    assert_eq!(len(r#""abc""#), 3);
    assert_eq!(len(r#""""#), 0);
    assert_eq!(len(r#""a\"b""#), 4);
    assert_eq!(len(r#""a\\"b"#), 3);
    assert_eq!(len(r#""\u00e9x" tail"#), 7);
    assert_eq!(len(r#""unterminated"#), 12);
}

/// `escaped_len` is exactly the length `push_escaped` writes, for every ASCII
/// character (controls, space, quotes, backslash) and some beyond.
#[test]
fn escaped_len_is_what_push_escaped_writes() {
    let mut samples: Vec<String> = (0u8..0x80).map(|b| char::from(b).to_string()).collect();
    samples.extend(["", "plain", "a b", "é😀", "\u{1f}\u{20}\u{7f}"].map(String::from));
    for s in &samples {
        let mut out = String::new();
        push_escaped(&mut out, s);
        assert_eq!(escaped_len(s), out.len(), "{s:?}");
        assert_eq!(serde_json::from_str::<String>(&out).unwrap(), *s);
    }
    let mut space = String::new();
    push_escaped(&mut space, " ");
    assert_eq!(space, r#"" ""#);
}

#[test]
fn syntax_errors_are_placed_at_the_byte_at_fault() {
    let Err(ObjectError::Syntax(e)) = read("{\n  \"a\": x}") else {
        panic!()
    };
    assert_eq!((e.line, e.column), (2, 8));
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(40), "]".repeat(40));
    assert!(matches!(read(&deep), Err(ObjectError::Syntax(_))));
}

#[test]
fn writes_what_serde_json_writes_at_its_exact_length() {
    for s in [
        "",
        "plain",
        "q\"b\\s/",
        "\n\r\t\u{8}\u{c}\u{1}\u{1f}",
        "é😀",
    ] {
        let ours = write_object(&[
            ("a", Out::Str(s)),
            ("n", Out::Num(0)),
            ("m", Out::Num(u64::MAX)),
        ]);
        let theirs = format!(
            r#"{{"a":{},"n":0,"m":{}}}"#,
            serde_json::to_string(s).unwrap(),
            u64::MAX
        );
        assert_eq!(*ours, theirs);
        assert_eq!(ours.capacity(), ours.len(), "reserved exactly");
    }
}
