//! The `pw-auth` binary, run as a user would: fixture files and stdin in, exit status
//! and output checked; the human output of demo, authorize and policy matrix as
//! reviewed snapshots.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::io::Write;
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn pw_auth(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pw-auth"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The program may exit without reading its input (a missing file, say).
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The demo's fixture credentials, by name (from `demo --credentials`).
fn credential(name: &str) -> String {
    let out = pw_auth(&["demo", "--credentials"], "").stdout;
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(name))
        .unwrap();
    let value = line.rsplit("  ").next().unwrap().trim();
    value
        .trim_start_matches(|c: char| c != 'B' && c != 'p')
        .to_owned()
}

#[test]
fn demo() {
    let r = pw_auth(&["demo"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    // No secret of the demo appears in its output.
    let creds = pw_auth(&["demo", "--credentials"], "").stdout;
    for secret in creds
        .split_whitespace()
        .filter(|w| w.starts_with("pwt_") || w.starts_with("pwk_"))
    {
        assert!(
            !r.stdout.contains(&secret[4..]),
            "the demo printed a secret"
        );
    }
    assert!(!r.stdout.contains("demo-password"));
    insta::assert_snapshot!(r.stdout);
}

#[test]
fn authorize_exit_codes_and_output() {
    let ann = credential("ann");
    let key = credential("api key, acme, ERP");
    let allow = format!(
        r#"{{"authorization": "{ann}", "action": "blueprints.publish", "company": "acme"}}"#
    );
    let r = pw_auth(&["authorize"], &allow);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("authorize_allow", r.stdout);

    let deny = format!(
        r#"{{"authorization": "{key}", "action": "blueprints.publish", "company": "acme"}}"#
    );
    let r = pw_auth(&["authorize", "-"], &deny);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("authorize_deny", r.stdout);

    let expired = format!(
        r#"{{"authorization": "{ann}", "action": "flows.view", "company": "acme", "time": "2026-11-28T09:00:00Z"}}"#
    );
    let r = pw_auth(&["authorize", "--json"], &expired);
    assert_eq!(r.code, 2);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["reason"]["failure"], "expired");
    assert_eq!(v["http"]["status"], 401);
    assert_eq!(
        v["http"]["headers"][0][1],
        r#"Bearer realm="patchworks", error="invalid_token", error_description="The access token expired""#
    );
    assert_eq!(v["audit"]["reason"]["kind"], "unauthenticated");

    // No Authorization value, given as null or left out: 401 without an error code.
    for none in [
        r#"{"authorization": null, "action": "flows.view", "company": "acme"}"#,
        r#"{"action": "flows.view", "company": "acme"}"#,
    ] {
        let r = pw_auth(&["authorize", "--json"], none);
        assert_eq!(r.code, 2);
        assert!(
            r.stdout.contains(r#""status":401"#) && r.stdout.contains(r#""failure":"missing""#)
        );
    }

    // A value that is not a credential is recorded as what it is, in the text and the
    // audit record; the 401 stays a bare challenge (no bearer was attempted).
    for (value, failure) in [
        (
            "Basic dXNlcjpwYXNz",
            r#"{"failure":"unsupported_scheme","scheme":"Basic"}"#,
        ),
        (
            "hunter2hunter2 trailing",
            r#"{"failure":"unsupported_scheme"}"#,
        ),
        ("   ", r#"{"failure":"empty"}"#),
    ] {
        let input =
            format!(r#"{{"authorization": "{value}", "action": "flows.view", "company": "acme"}}"#);
        let r = pw_auth(&["authorize", "--json"], &input);
        assert_eq!(r.code, 2);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["reason"].to_string(), failure);
        let audit = &v["audit"]["reason"];
        assert_eq!(audit["kind"], "unauthenticated");
        assert_eq!(audit["failure"], v["reason"]["failure"]);
        assert_ne!(audit["failure"], "missing");
        assert_eq!(v["http"]["status"], 401);
        assert_eq!(v["http"]["headers"][0][1], r#"Bearer realm="patchworks""#);
        assert!(
            !r.stdout.contains("hunter2"),
            "an unknown first word is never echoed"
        );
    }

    // A minted-format key with a wrong checksum: refused before any lookup.
    let r = pw_auth(
        &[
            "authorize",
            "--json",
            "tests/fixtures/request-api-key-blueprints.json",
        ],
        "",
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stdout.contains(r#""failure":"malformed""#),
        "{}",
        r.stdout
    );

    // --policy: a smaller policy where deploying needs an administrator.
    let max = credential("max");
    let req =
        format!(r#"{{"authorization": "{max}", "action": "flows.deploy", "company": "acme"}}"#);
    assert_eq!(pw_auth(&["authorize"], &req).code, 0);
    assert_eq!(
        pw_auth(
            &["authorize", "--policy", "tests/fixtures/small-policy.json"],
            &req
        )
        .code,
        2
    );
}

#[test]
fn authorize_bad_input_is_exit_1() {
    for input in [
        "not json",
        r#"{"authorization": null, "company": "acme"}"#,
        r#"{"authorization": null, "action": "flows.view", "company": "nowhere"}"#,
        r#"{"authorization": null, "action": "flows.view", "company": "acme", "time": "yesterday"}"#,
        r#"{"authorization": null, "action": "flows.view", "company": "acme", "extra": 1}"#,
    ] {
        let r = pw_auth(&["authorize"], input);
        assert_eq!(r.code, 1, "{input}");
        assert!(r.stderr.starts_with("pw-auth: "), "{}", r.stderr);
    }
    assert_eq!(pw_auth(&["authorize", "no-such-file.json"], "").code, 1);
    assert_eq!(
        pw_auth(&["authorize", "--directory", "no-such-dir.json"], "{}").code,
        1
    );
}

#[test]
fn authorize_with_a_directory_file() {
    use pw_auth_core::{CompanyId, KeyLabel, mint_api_key};
    let now = time::macros::datetime!(2026-01-05 10:00 UTC);
    let globex = CompanyId::new("globex").unwrap();
    let m = mint_api_key(
        &globex,
        KeyLabel::new("billing").unwrap(),
        b"0123456789abcdef",
        now,
    )
    .unwrap();
    let directory = serde_json::json!({
        "companies": [{"id": "globex", "tier": "enterprise"}],
        "users": [m.user],
        "api_keys": [m.record],
    });
    let path =
        std::env::temp_dir().join(format!("pw-auth-cli-directory-{}.json", std::process::id()));
    std::fs::write(&path, directory.to_string()).unwrap();
    let dir = path.to_str().unwrap();
    let key = m.key.expose_secret();
    let req = |action: &str| {
        format!(
            r#"{{"authorization": "{key}", "action": "{action}", "company": "globex", "time": "2026-01-05T10:00:00Z"}}"#
        )
    };
    assert_eq!(
        pw_auth(&["authorize", "--directory", dir], &req("webhooks.create")).code,
        0
    );
    let r = pw_auth(
        &["authorize", "--directory", dir, "--json"],
        &req("roles.assign"),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stdout.contains(r#""kind":"administrator_only""#),
        "{}",
        r.stdout
    );
    // The demo's company is not in this directory: bad input.
    let other = r#"{"authorization": null, "action": "flows.view", "company": "acme"}"#;
    assert_eq!(pw_auth(&["authorize", "--directory", dir], other).code, 1);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn policy_matrix() {
    let r = pw_auth(&["policy", "matrix"], "");
    assert_eq!(r.code, 0);
    insta::assert_snapshot!(r.stdout);
    let j = pw_auth(&["policy", "matrix", "--json"], "");
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(
        v["tiers"]["standard"]["scripts.create"]["manager"]["effect"],
        "deny"
    );
    assert_eq!(
        v["tiers"]["professional"]["scripts.create"]["api-user"]["effect"],
        "allow"
    );
    assert_eq!(
        v["tiers"]["enterprise"]["blueprints.build"]["api-user"]["reason"]["kind"],
        "administrator_only"
    );
}

#[test]
fn policy_check() {
    let ok = pw_auth(
        &[
            "policy",
            "check",
            "../pw-auth-core/src/policy/default-policy.json",
        ],
        "",
    );
    assert_eq!(ok.code, 0);
    assert!(ok.stdout.contains("54 actions"), "{}", ok.stdout);
    let mut errors = String::new();
    for f in [
        "bad-policy.json",
        "bad-custom-role.json",
        "syntax-error.json",
        "missing.json",
    ] {
        let r = pw_auth(&["policy", "check", &format!("tests/fixtures/{f}")], "");
        assert_eq!(r.code, 1, "{f}");
        errors.push_str(&r.stderr);
    }
    insta::assert_snapshot!(errors, @r#"
    pw-auth: tests/fixtures/bad-policy.json:6:54: actions[1] (`flows.edit`): unknown role `admin` in min_role
      help: expected one of `read-only`, `user`, `manager`, `administrator`, `nobody`
    pw-auth: tests/fixtures/bad-custom-role.json:10:45: custom_roles[1] (`editor`): edit on `flows` without view
      help: add `flows` to view, or remove it from edit
    pw-auth: tests/fixtures/syntax-error.json:3:14: invalid type: integer `2`, expected a string
    pw-auth: cannot read `tests/fixtures/missing.json`: No such file or directory (os error 2)
    "#);
}

#[test]
fn header_parse_batch() {
    let input = [
        r#""Bearer mF_9.B5f-4.1JqM""#,
        r#""legacy-key""#,
        r#""Bearer""#,
        r#""Basic dXNlcjpwYXNz""#,
        r#"not json"#,
        r#"42"#,
        r#""Bearer a\r\nb""#,
    ]
    .join("\n");
    let r = pw_auth(&["header", "parse"], &input);
    assert_eq!(r.code, 0);
    insta::assert_snapshot!(r.stdout, @r#"
    {"ok":{"kind":"bearer","value":"mF_9.B5f-4.1JqM"}}
    {"ok":{"kind":"api_key","value":"legacy-key"}}
    {"error":{"kind":"missing_token","message":"`Bearer` is not followed by a token"}}
    {"error":{"kind":"unsupported_scheme","message":"the `Basic` authentication scheme is not supported; use `Bearer <token>` or an api key"}}
    {"error":{"kind":"invalid_json","message":"the line is not valid JSON: expected ident at line 1 column 2"}}
    {"error":{"kind":"not_a_string","message":"each line must be one JSON string"}}
    {"error":{"kind":"control_byte","message":"the authorization value contains a control character at byte 8"}}
    "#);
}

#[test]
fn challenge_parse_batch() {
    let input = [
        r#""Basic realm=\"simple\", Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\"""#,
        r#""Negotiate abc==""#,
        r#""Bearer realm=\"x\", realm=\"y\"""#,
        r#"{"#,
    ]
    .join("\n");
    let r = pw_auth(&["challenge", "parse"], &input);
    assert_eq!(r.code, 0);
    insta::assert_snapshot!(r.stdout, @r#"
    {"ok":[{"scheme":"Basic","token68":null,"params":[["realm","simple"]]},{"scheme":"Newauth","token68":null,"params":[["realm","apps"],["type","1"],["title","Login to \"apps\""]]}]}
    {"ok":[{"scheme":"Negotiate","token68":"abc==","params":[]}]}
    {"error":{"kind":"duplicate_param","message":"line 1: parameter `realm` occurs twice in one challenge"}}
    {"error":{"kind":"invalid_json","message":"the line is not valid JSON: EOF while parsing an object at line 1 column 1"}}
    "#);
}

#[test]
fn help_for_every_subcommand() {
    for args in [
        vec!["--help"],
        vec!["demo", "--help"],
        vec!["authorize", "--help"],
        vec!["policy", "matrix", "--help"],
        vec!["policy", "check", "--help"],
        vec!["header", "parse", "--help"],
        vec!["challenge", "parse", "--help"],
    ] {
        let r = pw_auth(&args, "");
        assert_eq!(r.code, 0, "{args:?}");
        assert!(r.stdout.contains("Usage: pw-auth"), "{args:?}");
    }
}

/// Runs `pw-auth` with stdout going to `stdout`, and stdin empty.
fn pw_auth_to(args: &[&str], stdout: Stdio) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pw-auth"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `pw-auth policy matrix | head -c 10` and `pw-auth demo > /dev/full` once
/// panicked (exit 101, a backtrace). A reader that went away ends the program
/// quietly; a full disk is reported; both exit 1.
#[test]
fn a_closed_or_full_stdout_ends_quietly() {
    for args in [
        &["policy", "matrix"][..],
        &["demo"],
        &["policy", "matrix", "--json"],
    ] {
        // A pipe whose reading end is closed before the program starts.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_pw-auth"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let (code, stderr) = pw_auth_to(&["demo"], Stdio::from(full));
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "pw-auth: cannot write the output: No space left on device (os error 28)\n"
    );
}

/// A value given as the wrong JSON type is never echoed (it could be a secret in the
/// wrong place); the message names the field and what it must be.
#[test]
fn json_errors_name_the_field_never_the_value() {
    let cases = [
        (
            r#"{"authorization": 123456789012345678, "action": "flows.view", "company": "acme"}"#,
            "invalid request: `authorization` must be a string (line 1, column 36)",
            "123456789012345678",
        ),
        (
            r#"{"authorization": true, "action": "flows.view", "company": "acme"}"#,
            "invalid request: `authorization` must be a string (line 1, column 22)",
            "true",
        ),
        (
            r#"{"authorization": null, "action": ["pwk_secret"], "company": "acme"}"#,
            "invalid request: `action` must be a string (line 1, column 34)",
            "pwk_secret",
        ),
        (
            r#"{"pwk_live_secret": 1, "action": "flows.view", "company": "acme"}"#,
            "invalid request: the document has an unknown field; expected one of `authorization`, `action`, `company`, `time` (line 1, column 18)",
            "pwk_live_secret",
        ),
        (
            r#"{"authorization": null, "action": "flows.view", "action": "x", "company": "acme"}"#,
            "invalid request: the document has the field `action` twice (line 1, column 56)",
            "\"x\"",
        ),
        (
            r#"{"authorization": null, "action": "flows.view", "company": "acme", "time": "+10000-01-01T00:00:00Z"}"#,
            "invalid request: `time` must be an RFC 3339 date-time with a four-digit year, e.g. 2026-11-27T12:00:00Z",
            "10000",
        ),
    ];
    for (input, message, value) in cases {
        let r = pw_auth(&["authorize"], input);
        assert_eq!(r.code, 1, "{input}");
        assert_eq!(r.stderr, format!("pw-auth: {message}\n"), "{input}");
        assert!(!r.stderr.contains(value), "{input}: {}", r.stderr);
    }
}

/// Control characters and bidi overrides from the input reach neither stdout nor
/// stderr raw (an ESC once cleared the reader's terminal: `od` showed `033 [ 2 J`).
#[test]
fn input_printed_back_is_escaped() {
    // Each reaches the terminal raw without the escaping (checked by disabling it):
    // a bidi override in the action, through the audit record serde_json writes
    // (it escapes control characters, not U+202E), and an ESC in the company id,
    // through the error that names it. (Control characters elsewhere in the request
    // only ever reach serde_json's escaped strings.)
    let hostile = [
        r#"{"authorization": null, "action": "flows.view\u202e", "company": "acme"}"#,
        r#"{"authorization": null, "action": "flows.view", "company": "acme\u001b[2J"}"#,
    ];
    for input in hostile {
        for json in [false, true] {
            let args: &[&str] = if json {
                &["authorize", "--json"]
            } else {
                &["authorize"]
            };
            let r = pw_auth(args, input);
            for (name, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
                assert!(
                    !text.contains('\u{1b}') && !text.contains('\u{202e}'),
                    "{input}: raw in {name}: {text:?}"
                );
            }
            if json && r.code != 1 {
                serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap();
            }
        }
    }
    let r = pw_auth(
        &["challenge", "parse"],
        "\"Bearer realm=\\\"a\\u202eb\\\"\"\n",
    );
    assert!(!r.stdout.contains('\u{202e}'), "{:?}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["ok"][0]["params"][0][1], "a\u{202e}b", "{v}");
    let r = pw_auth(&["header", "parse"], "\"\\u001b[2J\\u202e\"\n");
    assert!(
        !r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{202e}'),
        "{:?}",
        r.stdout
    );
    serde_json::from_str::<serde_json::Value>(r.stdout.trim()).unwrap();
}

/// Usage errors have their own exit status, 64, apart from allow 0, deny 2 and bad
/// input 1 (they once exited 2, the "deny" status).
#[test]
fn usage_errors_exit_64() {
    for args in [
        &["nonsense"][..],
        &["authorize", "--bogus"],
        &[],
        &["policy"],
    ] {
        let r = pw_auth(args, "");
        assert_eq!(r.code, 64, "{args:?}: {}", r.stderr);
    }
    assert_eq!(pw_auth(&["--help"], "").code, 0);
    assert_eq!(pw_auth(&["--version"], "").code, 0);
    assert!(
        pw_auth(&["--help"], "")
            .stdout
            .contains("64 a wrong command line")
    );
}

/// `header parse` caps a line while reading it: a 4 MB line is answered with
/// `too_long` (it was once read whole before the cap applied), and the next line is
/// still parsed.
#[test]
fn batch_lines_are_capped_while_reading() {
    let long = format!("\"{}\"", "a".repeat(4 << 20));
    let input = format!("{long}\n\"Bearer abc\"\n");
    let r = pw_auth(&["header", "parse"], &input);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"error":{"kind":"too_long","message":"the line is 4194306 bytes long; the limit is 65536"}}"#,
            r#"{"ok":{"kind":"bearer","value":"abc"}}"#
        ]
    );
}

/// `policy diff`: nothing changed → exit 0, even when the texts differ (another
/// version, keys and actions in another order); a changed minimum role and a new
/// grant requirement → exit 3 and exactly the moved cells, as markdown or JSON.
#[test]
fn policy_diff() {
    let same = pw_auth(
        &[
            "policy",
            "diff",
            "tests/fixtures/small-policy.json",
            "tests/fixtures/small-policy-reordered.json",
        ],
        "",
    );
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert!(
        same.stdout.ends_with("No decision changed.\n"),
        "{}",
        same.stdout
    );
    let r = pw_auth(
        &[
            "policy",
            "diff",
            "tests/fixtures/small-policy.json",
            "tests/fixtures/small-policy-v2.json",
        ],
        "",
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    insta::assert_snapshot!(r.stdout);
    let j = pw_auth(
        &[
            "policy",
            "diff",
            "--json",
            "tests/fixtures/small-policy.json",
            "tests/fixtures/small-policy-v2.json",
        ],
        "",
    );
    assert_eq!(j.code, 3);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(
        changes.len(),
        r.stdout.lines().filter(|l| l.starts_with("| `")).count()
    );
    assert_eq!(
        changes[0],
        serde_json::json!({"subject": "administrator", "action": "flows.deploy", "tier": "trial",
            "place": "own_company",
            "before": {"effect": "allow", "reason": {"kind": "allowed", "min_role": "administrator", "standing": "member"}},
            "after": {"effect": "deny", "reason": {"kind": "grant_required"}}})
    );
    let bad = pw_auth(
        &[
            "policy",
            "diff",
            "tests/fixtures/small-policy.json",
            "tests/fixtures/bad-policy.json",
        ],
        "",
    );
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .starts_with("pw-auth: tests/fixtures/bad-policy.json:"),
        "{}",
        bad.stderr
    );
}

/// `policy test`: the cases that hold exit 0; run against the changed policy, the
/// manager's case fails (exit 3) and is printed with the line and what the policy now
/// decides; a case naming an unknown action is bad input (exit 1) naming its line.
#[test]
fn policy_test() {
    let cases = "tests/fixtures/small-policy-cases.jsonl";
    let ok = pw_auth(
        &["policy", "test", "tests/fixtures/small-policy.json", cases],
        "",
    );
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(
        ok.stdout
            .starts_with("4 cases, 4 passed, 0 failed (small@1+"),
        "{}",
        ok.stdout
    );
    let changed = pw_auth(
        &[
            "policy",
            "test",
            "tests/fixtures/small-policy-v2.json",
            cases,
        ],
        "",
    );
    assert_eq!(changed.code, 3);
    let lines: Vec<&str> = changed.stdout.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "tests/fixtures/small-policy-cases.jsonl: line 2: administrator, flows.deploy, own company, tier professional: expected allow, got deny (grant_required)",
            "tests/fixtures/small-policy-cases.jsonl: line 3: manager, flows.deploy, own company, tier professional: expected deny (administrator_only), got deny (grant_required)",
        ]
    );
    assert!(
        lines[2].starts_with("4 cases, 2 passed, 2 failed (small@2+"),
        "{}",
        lines[2]
    );
    let bad = pw_auth(
        &[
            "policy",
            "test",
            "tests/fixtures/bad-custom-role.json",
            cases,
        ],
        "",
    );
    assert_eq!(bad.code, 1);
    let path = std::env::temp_dir().join(format!("pw-auth-cases-{}.jsonl", std::process::id()));
    std::fs::write(&path, "{\"role\": \"manager\", \"action\": \"flows.nope\", \"tier\": \"trial\", \"place\": \"own_company\", \"expect\": \"allow\"}\n").unwrap();
    let unknown = pw_auth(
        &[
            "policy",
            "test",
            "tests/fixtures/small-policy.json",
            path.to_str().unwrap(),
        ],
        "",
    );
    let _ = std::fs::remove_file(&path);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .stderr
            .ends_with("line 1: the policy has no action `flows.nope`\n"),
        "{}",
        unknown.stderr
    );
}

/// The worked example of docs/policy.md, as written there: the diff names the ten
/// moved cells, the cases hold for the new policy and the first fails for the old.
#[test]
fn the_worked_example_of_the_policy_guide() {
    let guide = std::fs::read_to_string("../../docs/policy.md").unwrap();
    let diff = pw_auth(
        &[
            "policy",
            "diff",
            "tests/fixtures/worked-policy.json",
            "tests/fixtures/worked-policy-new.json",
        ],
        "",
    );
    assert_eq!(diff.code, 3);
    let table: Vec<&str> = diff
        .stdout
        .lines()
        .filter(|l| l.starts_with("| `"))
        .collect();
    assert_eq!(table.len(), 10);
    assert!(diff.stdout.contains("10 cells changed."));
    for line in table.iter().take(6) {
        assert!(guide.contains(line), "the guide lacks {line}");
    }
    let cases = "tests/fixtures/worked-cases.jsonl";
    for line in std::fs::read_to_string(cases).unwrap().lines() {
        assert!(guide.contains(line), "the guide lacks {line}");
    }
    let new = pw_auth(
        &[
            "policy",
            "test",
            "tests/fixtures/worked-policy-new.json",
            cases,
        ],
        "",
    );
    assert_eq!(new.code, 0, "{}", new.stdout);
    let old = pw_auth(
        &["policy", "test", "tests/fixtures/worked-policy.json", cases],
        "",
    );
    assert_eq!(old.code, 3);
    let failure = old.stdout.lines().next().unwrap();
    assert_eq!(
        failure,
        "tests/fixtures/worked-cases.jsonl: line 1: custom:integration-lead, flows.edit, own company, tier enterprise: expected allow, got deny (custom_role_lacks)"
    );
    // The guide quotes it, wrapped.
    assert!(guide.contains("`line 1:\ncustom:integration-lead, flows.edit, own company, tier enterprise: expected allow, got\ndeny (custom_role_lacks)`"));
}

/// Keys narrowed by named scopes get columns of their own in the matrix and in a
/// diff; a scope that names what the policy does not have is an error.
#[test]
fn scoped_keys_in_the_matrix_and_the_diff() {
    let m = pw_auth(
        &[
            "policy",
            "matrix",
            "--key-scopes",
            "tests/fixtures/key-scopes.json",
        ],
        "",
    );
    assert_eq!(m.code, 0, "{}", m.stderr);
    let header = m
        .stdout
        .lines()
        .find(|l| l.starts_with("| action |"))
        .unwrap();
    assert!(
        header.ends_with("| api-user | key:deployer | key:viewer |"),
        "{header}"
    );
    let row = |action: &str| {
        m.stdout
            .lines()
            .find(|l| l.starts_with(&format!("| `{action}` |")))
            .unwrap()
            .to_owned()
    };
    assert!(
        row("flows.view").ends_with("| allowed | outside_key_scope | allowed |"),
        "{}",
        row("flows.view")
    );
    assert!(
        row("flows.deploy").ends_with("| allowed | allowed | outside_key_scope |"),
        "{}",
        row("flows.deploy")
    );
    assert!(row("api-keys.create").ends_with("| human_only | human_only | human_only |"));

    let diff = |extra: &[&str]| {
        let mut args = vec!["policy", "diff"];
        args.extend_from_slice(extra);
        args.extend([
            "tests/fixtures/small-policy.json",
            "tests/fixtures/small-policy-v2.json",
        ]);
        pw_auth(&args, "")
    };
    let plain = diff(&[]);
    // Scopes checked against the policy before: flows.deploy needs an administrator
    // there, so no key scope may name it; areas may.
    let scoped = diff(&["--key-scopes", "tests/fixtures/small-key-scopes.json"]);
    assert_eq!(
        diff(&["--key-scopes", "tests/fixtures/key-scopes.json"]).code,
        1,
        "a scope naming what no key may do"
    );
    assert_eq!((plain.code, scoped.code), (3, 3));
    let rows = |r: &Run| {
        r.stdout
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let (plain, scoped) = (rows(&plain), rows(&scoped));
    assert!(scoped.len() > plain.len());
    assert!(
        plain.iter().all(|l| scoped.contains(l)),
        "the same cells, and more"
    );
    assert!(
        scoped.contains(&"| `flows.deploy` | key:editor | own company | trial | administrator_only | grant_required |".to_owned()),
        "{scoped:#?}"
    );
    let bad = pw_auth(
        &[
            "policy",
            "matrix",
            "--key-scopes",
            "tests/fixtures/bad-key-scopes.json",
        ],
        "",
    );
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("scope `broken`") && bad.stderr.contains("flows.fly"),
        "{}",
        bad.stderr
    );
}
