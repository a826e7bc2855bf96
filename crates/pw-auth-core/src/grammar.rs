//! The character classes of the HTTP grammars pw-auth reads, each defined once,
//! with its ABNF. `pw-auth-http` uses the same predicates.

/// Whether `b` is a `tchar`, a character of an HTTP token (RFC 9110 §5.6.2):
///
/// > tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
///
/// Authentication schemes and parameter names are tokens.
///
/// ```
/// use pw_auth_core::grammar::is_tchar;
/// assert!(b"Bearer".iter().all(|&b| is_tchar(b)));
/// assert!(!is_tchar(b'"') && !is_tchar(b',') && !is_tchar(b' ') && !is_tchar(0xC3));
/// ```
pub const fn is_tchar(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'\''
            | b'*'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~'
            | b'0'..=b'9'
            | b'A'..=b'Z'
            | b'a'..=b'z'
    )
}

/// Whether `b` may appear in the body (before any `=` padding) of an RFC 6750
/// `b64token` (§2.1), which is also RFC 9110's `token68` (§11.2):
///
/// > b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
///
/// ```
/// use pw_auth_core::grammar::is_b64token_char;
/// assert!(b"mF_9.B5f-4.1JqM".iter().all(|&b| is_b64token_char(b)));
/// assert!(!is_b64token_char(b'=') && !is_b64token_char(b' ') && !is_b64token_char(b','));
/// ```
pub const fn is_b64token_char(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each class, byte by byte, against the RFC's list written out as text.
    #[test]
    fn the_classes_are_exactly_the_rfc_lists() {
        let alpha_digit = |b: u8| b.is_ascii_alphanumeric();
        for b in 0..=u8::MAX {
            assert_eq!(
                is_tchar(b),
                alpha_digit(b) || "!#$%&'*+-.^_`|~".as_bytes().contains(&b),
                "tchar {b:#04x}"
            );
            assert_eq!(
                is_b64token_char(b),
                alpha_digit(b) || "-._~+/".as_bytes().contains(&b),
                "b64token {b:#04x}"
            );
        }
    }
}
