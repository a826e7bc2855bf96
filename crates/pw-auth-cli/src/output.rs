//! What the command line prints, made safe: input echoed back never reaches the
//! terminal raw, JSON errors never quote a value, and a closed or full stdout ends
//! the program quietly instead of panicking.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

/// Exit status: allowed, or the command succeeded.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit status: bad input (unreadable, invalid), or output that could not be written.
pub(crate) const EXIT_BAD_INPUT: u8 = 1;
/// Exit status: the request was denied.
pub(crate) const EXIT_DENY: u8 = 2;
/// Exit status: `policy diff` found cells that changed, or `policy test` cases that
/// failed.
pub(crate) const EXIT_CHANGED: u8 = 3;
/// Exit status: the command line itself was wrong (sysexits' `EX_USAGE`).
pub(crate) const EXIT_USAGE: u8 = 64;

/// Whether `c` must not reach a terminal as it is: control characters (C0, DEL,
/// C1) other than newline and tab, and the invisible or direction-changing ones
/// (`pw_auth_core::grammar`).
fn unsafe_char(c: char) -> bool {
    c != '\n' && c != '\t' && (c.is_control() || pw_auth_core::grammar::is_invisible(c))
}

/// `text` with every character a terminal would act on escaped: as `\u{1b}` in
/// plain text (newlines and tabs kept), as `\u001b` in JSON (where such characters
/// only ever occur inside strings, so the result is still the same JSON).
pub(crate) fn safe(text: &str, json: bool) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().saturating_add(16));
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if json {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

/// Writes `text` to stdout. A closed pipe (`| head`) or a full disk is reported as
/// an error, never a panic.
pub(crate) fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes a message to stderr; a closed stderr is ignored (there is nowhere left to
/// say anything).
pub(crate) fn write_stderr(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "pw-auth: {}", safe(text, false));
}

/// A JSON reading error that names the field and what it must be, never the value
/// (serde's own messages quote it: ``invalid type: integer `123456789`, expected a
/// string``, which could be a secret given in the wrong field).
pub(crate) fn json_error(what: &str, e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let inner = e.inner();
    let place = format!("line {}, column {}", inner.line(), inner.column());
    match inner.classify() {
        serde_json::error::Category::Data => {}
        serde_json::error::Category::Eof => {
            return format!("{what}: the JSON ends too early ({place})");
        }
        _ => return format!("{what}: not valid JSON ({place})"),
    }
    let message = inner.to_string();
    // For an unknown field the path ends with its name, which is not repeated (it
    // could be a secret given as a name).
    let mut segments: Vec<String> = e.path().iter().map(ToString::to_string).collect();
    if message.starts_with("unknown field") {
        segments.pop();
    }
    let field = if segments.is_empty() {
        String::from("the document")
    } else {
        format!("`{}`", segments.join("."))
    };
    // serde_json's data messages: "invalid type: <value>, expected <what>",
    // "invalid value: <value>, expected <what>", "unknown field `<name>`, expected
    // …", "missing field `<name>`", "duplicate field `<name>`" — each followed by
    // " at line L column C". Only the parts that come from the schema are kept.
    let schema_part = |m: &str| {
        m.rsplit_once(", expected ").map(|(_, expected)| {
            expected
                .rsplit_once(" at line ")
                .map_or(expected, |(e, _)| e)
                .to_owned()
        })
    };
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        match schema_part(&message) {
            Some(expected) => format!("{what}: {field} must be {expected} ({place})"),
            None => format!("{what}: {field} has a value of the wrong type ({place})"),
        }
    } else if message.starts_with("unknown field") {
        match schema_part(&message) {
            Some(expected) => {
                format!("{what}: {field} has an unknown field; expected {expected} ({place})")
            }
            None => format!("{what}: {field} has an unknown field ({place})"),
        }
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        let name = rest.split(" at line ").next().unwrap_or(rest);
        format!("{what}: {field} lacks the field {name} ({place})")
    } else if let Some(rest) = message.strip_prefix("duplicate field ") {
        let name = rest.split(" at line ").next().unwrap_or(rest);
        format!("{what}: {field} has the field {name} twice ({place})")
    } else {
        format!("{what}: {field} is not acceptable ({place})")
    }
}

/// Reads `text` as JSON into `T`, with [`json_error`]'s messages.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &str,
    text: &str,
) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(what, &e))?;
    de.end().map_err(|e| {
        format!(
            "{what}: not valid JSON after the value (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(safe("plain\ttext\n", false), "plain\ttext\n");
        assert_eq!(safe("\u{1b}[2J", false), "\\u{1b}[2J");
        assert_eq!(
            safe("a\u{202e}b\u{200b}\u{7f}\u{85}", false),
            "a\\u{202e}b\\u{200b}\\u{7f}\\u{85}"
        );
        assert_eq!(safe("{\"a\":\"x\u{202e}\"}", true), r#"{"a":"x\u202e"}"#);
        let v: serde_json::Value =
            serde_json::from_str(&safe("\"\u{1F600}\u{2028}\"", true)).unwrap();
        assert_eq!(v, "\u{1F600}\u{2028}");
    }
}
