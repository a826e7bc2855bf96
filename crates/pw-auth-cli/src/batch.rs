//! `pw-auth header parse` and `pw-auth challenge parse`: JSON Lines in, one JSON line
//! out per input line, in order. A bad line gets an error line; processing goes on.

use std::io::{BufRead, Write};

use pw_auth_core::Credential;
use pw_auth_http::{AuthorizationError, ChallengeError, parse_authorization, parse_challenges};
use serde_json::{Value, json};

fn authorization_kind(e: &AuthorizationError) -> &'static str {
    match e {
        AuthorizationError::Empty => "empty",
        AuthorizationError::TooLong { .. } => "too_long",
        AuthorizationError::ControlByte { .. } => "control_byte",
        AuthorizationError::NonAscii { .. } => "non_ascii",
        AuthorizationError::MissingToken => "missing_token",
        AuthorizationError::TabSeparator => "tab_separator",
        AuthorizationError::InvalidToken(_) => "invalid_token",
        AuthorizationError::InvalidApiKey(_) => "invalid_api_key",
        AuthorizationError::UnsupportedScheme { .. } => "unsupported_scheme",
        AuthorizationError::UnknownScheme { .. } => "unknown_scheme",
        AuthorizationError::MultipleValues { .. } => "multiple_values",
        _ => "invalid",
    }
}

fn challenge_kind(e: &ChallengeError) -> &'static str {
    match e {
        ChallengeError::TooLong { .. } => "too_long",
        ChallengeError::TooManyElements => "too_many_elements",
        ChallengeError::NotUtf8 => "not_utf8",
        ChallengeError::ControlByte { .. } => "control_byte",
        ChallengeError::Expected { .. } => "expected",
        ChallengeError::Unterminated { .. } => "unterminated",
        ChallengeError::DuplicateParam { .. } => "duplicate_param",
        ChallengeError::NoChallenge => "no_challenge",
        _ => "invalid",
    }
}

fn error(kind: &str, message: impl Into<String>) -> Value {
    json!({"error": {"kind": kind, "message": message.into()}})
}

/// One input line as a JSON string, or the error line to print for it.
fn input(line: &str) -> Result<String, Value> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::String(s)) => Ok(s),
        Ok(_) => Err(error("not_a_string", "each line must be one JSON string")),
        Err(e) => Err(error(
            "invalid_json",
            format!("the line is not valid JSON: {e}"),
        )),
    }
}

fn header(line: &str) -> Value {
    let value = match input(line) {
        Ok(v) => v,
        Err(e) => return e,
    };
    match parse_authorization(value.as_bytes()) {
        Ok(Credential::Bearer(t)) => json!({"ok": {"kind": "bearer", "value": t.expose_secret()}}),
        Ok(Credential::ApiKey(k)) => json!({"ok": {"kind": "api_key", "value": k.expose_secret()}}),
        Err(e) => error(authorization_kind(&e), e.to_string()),
    }
}

fn challenge(line: &str) -> Value {
    let value = match input(line) {
        Ok(v) => v,
        Err(e) => return e,
    };
    match parse_challenges([value.as_bytes()]) {
        Ok(cs) => json!({"ok": cs.iter().map(|c| json!({
            "scheme": c.scheme(),
            "token68": c.token68(),
            "params": c.params(),
        })).collect::<Vec<_>>()}),
        Err(e) => error(challenge_kind(&e), e.to_string()),
    }
}

/// Which batch parser.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Header,
    Challenge,
}

/// Reads JSON Lines from `input`, writes one JSON line per input line to `output`.
pub(crate) fn run(kind: Kind, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    for line in input.split(b'\n') {
        let line = line?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        let v = match std::str::from_utf8(line) {
            Err(_) => error("invalid_json", "the line is not UTF-8"),
            Ok(text) => match kind {
                Kind::Header => header(text),
                Kind::Challenge => challenge(text),
            },
        };
        writeln!(output, "{v}")?;
    }
    output.flush()
}
