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

/// The longest input line read, in bytes, newline excluded: a JSON string holding
/// the longest `Authorization` or `WWW-Authenticate` value accepted, with room for
/// escapes. A longer line is answered with a `too_long` error line, and is never
/// held in memory whole (a 100 MB line once took 200 MB).
pub(crate) const MAX_LINE_LEN: usize = 64 * 1024;

/// One line of `input` into `buf` (cleared first), without its newline: `Ok(None)`
/// at the end of the input, `Ok(Some(len))` with the line's full length, of which
/// at most [`MAX_LINE_LEN`] bytes are kept (the rest is read and dropped).
fn read_capped_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    buf.clear();
    let mut len = 0usize;
    let mut any = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(any.then_some(len));
        }
        any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (chunk.get(..i).unwrap_or_default(), true),
            None => (chunk, false),
        };
        let room = MAX_LINE_LEN.saturating_sub(buf.len());
        buf.extend_from_slice(part.get(..room.min(part.len())).unwrap_or_default());
        len = len.saturating_add(part.len());
        let used = part.len().saturating_add(usize::from(done));
        input.consume(used);
        if done {
            return Ok(Some(len));
        }
    }
}

/// Reads JSON Lines from `input`, writes one JSON line per input line to `output`.
pub(crate) fn run(
    kind: Kind,
    mut input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    while let Some(len) = read_capped_line(&mut input, &mut buf)? {
        let v = if len > MAX_LINE_LEN {
            error(
                "too_long",
                format!("the line is {len} bytes long; the limit is {MAX_LINE_LEN}"),
            )
        } else {
            let line = buf.strip_suffix(b"\r").unwrap_or(&buf);
            match std::str::from_utf8(line) {
                Err(_) => error("invalid_json", "the line is not UTF-8"),
                Ok(text) => match kind {
                    Kind::Header => header(text),
                    Kind::Challenge => challenge(text),
                },
            }
        };
        // Parsed values may hold bidi or other invisible characters (a quoted
        // challenge parameter may); they are written as JSON escapes.
        writeln!(output, "{}", crate::output::safe(&v.to_string(), true))?;
    }
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_capped_while_reading() {
        let long = "x".repeat(MAX_LINE_LEN + 10);
        let text = format!("a\r\n{long}\n\nlast");
        // A tiny buffer, so that lines span many reads.
        let mut input = std::io::BufReader::with_capacity(7, text.as_bytes());
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while let Some(len) = read_capped_line(&mut input, &mut buf).unwrap() {
            lines.push((len, buf.len()));
        }
        assert_eq!(
            lines,
            [(2, 2), (MAX_LINE_LEN + 10, MAX_LINE_LEN), (0, 0), (4, 4)]
        );
    }
}
