//! Parser targets: `Authorization`, `WWW-Authenticate` and the login bodies.

use pw_auth_core::{ApiKey, Credential};
use pw_auth_http::{
    AuthorizationError, LoginRequest, LoginResponse, format_authorization, format_challenges,
    parse_authorization, parse_challenges,
};

use crate::{Checked, ensure};

/// The bearer reading of a field value, written from RFC 6750 §2.1 independently of
/// the parser: `bearer` (any case), one or more spaces, then a b64token.
fn reads_as_bearer(v: &[u8]) -> bool {
    let Some((scheme, rest)) = v.split_at_checked(6) else {
        return false;
    };
    let token: &[u8] = {
        let spaces = rest.iter().take_while(|&&b| b == b' ').count();
        rest.get(spaces..).unwrap_or(&[])
    };
    let body = token.iter().take_while(|&&b| b != b'=').count();
    scheme.eq_ignore_ascii_case(b"bearer")
        && token.len() < rest.len()
        && body > 0
        && token
            .iter()
            .take(body)
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
        && token.iter().skip(body).all(|&b| b == b'=')
}

/// Whether the whole field value reads as an API key.
fn reads_as_api_key(v: &[u8]) -> bool {
    std::str::from_utf8(v).is_ok_and(|s| ApiKey::new(s.to_owned()).is_ok())
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e.saturating_add(1));
    v.get(start..end).unwrap_or(&[])
}

/// `Authorization`: parsing is total; a success re-formats and re-parses to the same
/// credential; the bearer and API-key readings never both apply, and the parser agrees
/// with whichever does; an error never quotes the value.
pub fn authorization(data: &[u8]) -> Checked {
    let field = trim(data);
    let (bearer, key) = (reads_as_bearer(field), reads_as_api_key(field));
    ensure(!(bearer && key), || {
        format!("{data:?} reads as both a bearer token and an api key")
    })?;
    match parse_authorization(data) {
        Ok(c) => {
            let formatted = format_authorization(&c);
            let again = parse_authorization(formatted.as_bytes());
            ensure(again.as_ref() == Ok(&c), || {
                format!("{data:?} did not round-trip")
            })?;
            match c {
                Credential::Bearer(_) => ensure(bearer, || format!("{data:?} parsed as bearer"))?,
                Credential::ApiKey(_) => ensure(key, || format!("{data:?} parsed as an api key"))?,
            }
        }
        Err(e) => {
            ensure(!bearer && !key, || format!("{data:?} refused: {e}"))?;
            // The error carries no text of the value: its fields are numbers,
            // kinds and static scheme names. A derived Debug prints any string
            // field in quotes, so a quote means a string field; the only one allowed
            // is a registered scheme's name, which must be the value's first word.
            // (A text search for the value cannot work: libFuzzer learns the
            // error's own wording and feeds it back as input.)
            let first_word = field.split(|&b| b == b' ').next().unwrap_or(&[]);
            let carried = match &e {
                AuthorizationError::UnsupportedScheme { scheme } => {
                    !scheme.as_bytes().eq_ignore_ascii_case(first_word)
                }
                other => format!("{other:?}").contains('"'),
            };
            ensure(!carried, || {
                format!("the error for {data:?} carries text: {e:?}")
            })?;
        }
    }
    Ok(())
}

/// `WWW-Authenticate` (input split into field lines at `\n`): parsing is total, and
/// every parsed list re-formats and re-parses to itself.
pub fn www_authenticate(data: &[u8]) -> Checked {
    let lines = data.split(|&b| b == b'\n');
    if let Ok(cs) = parse_challenges(lines) {
        let text = format_challenges(&cs);
        let again = parse_challenges([text.as_bytes()]);
        ensure(again.as_ref() == Ok(&cs), || {
            format!(
                "{:?} re-formatted as {text:?} parsed as {again:?}",
                String::from_utf8_lossy(data)
            )
        })?;
    }
    Ok(())
}

/// Login bodies: parsing is total; successes round-trip through `to_json`.
pub fn login(data: &[u8]) -> Checked {
    if let Ok(r) = LoginRequest::parse(data) {
        let again = LoginRequest::parse(r.to_json().as_bytes());
        ensure(again.as_ref() == Ok(&r), || {
            "a login request did not round-trip".to_owned()
        })?;
    }
    if let Ok(r) = LoginResponse::parse(data) {
        let again = LoginResponse::parse(r.to_json().as_bytes());
        ensure(again.as_ref() == Ok(&r), || {
            "a login response did not round-trip".to_owned()
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readings() {
        assert!(reads_as_bearer(b"Bearer abc=="));
        assert!(reads_as_bearer(b"bEaReR   a"));
        assert!(!reads_as_bearer(b"Bearer"));
        assert!(!reads_as_bearer(b"Bearer =="));
        assert!(!reads_as_bearer(b"Bearer a=b"));
        assert!(!reads_as_bearer(b"Bearerabc"));
        assert!(reads_as_api_key(b"abc"));
        assert!(!reads_as_api_key(b"Bearer"));
        assert!(!reads_as_api_key(b"a b"));
    }
}
