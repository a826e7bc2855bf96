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
#[inline]
#[allow(
    clippy::indexing_slicing,
    reason = "a byte indexes a table of 256 entries: always in bounds"
)]
pub const fn is_tchar(b: u8) -> bool {
    // A table of the 256 bytes, so a scan costs one load a byte.
    TCHAR[b as usize]
}

/// [`is_tchar`] for every byte, built from the RFC's list when compiled.
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "evaluated when compiled: i counts 0 to 255, inside the table"
)]
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = matches!(
            i as u8,
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
        );
        i += 1;
    }
    table
};

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
#[inline]
pub const fn is_b64token_char(b: u8) -> bool {
    // Without a branch, so a scan can test many bytes at once: ALPHA in either case
    // (`| 0x20` folds A-Z onto a-z and nothing else onto it), `-` `.` `/` and DIGIT
    // (0x2D-0x39, thirteen bytes), then `+`, `_` and `~`.
    ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'-') < 13)
        | (b == b'+')
        | (b == b'_')
        | (b == b'~')
}

/// Whether `c` is invisible or changes the direction of the text around it: the
/// characters that make two different names look alike, or make a name look like
/// something else on a terminal or in a review (CVE-2021-42574, "Trojan Source").
/// Names people read — key labels, usernames, policy names — refuse them.
///
/// The set is Unicode's bidirectional controls (U+061C, U+200E–U+200F,
/// U+202A–U+202E, U+2066–U+2069), the line and paragraph separators (U+2028–U+2029)
/// and the default-ignorable code points (zero-width spaces and joiners, the soft
/// hyphen, the byte-order mark, variation selectors, tags, fillers and the other
/// format characters of `DerivedCoreProperties.txt`).
///
/// ```
/// use pw_auth_core::grammar::is_invisible;
/// assert!(is_invisible('\u{202E}') && is_invisible('\u{200B}') && is_invisible('\u{FEFF}'));
/// assert!(!is_invisible('a') && !is_invisible('é') && !is_invisible(' ') && !is_invisible('😀'));
/// ```
pub const fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The invisible set, range by range: every end of every range is in it, and the
    /// characters just outside are not (where they are visible).
    #[test]
    fn invisible_characters_at_the_edges_of_each_range() {
        let inside = [
            0xAD, 0x34F, 0x61C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180F, 0x200B, 0x200F,
            0x2028, 0x202E, 0x2060, 0x206F, 0x3164, 0xFE00, 0xFE0F, 0xFEFF, 0xFFA0, 0xFFF0, 0xFFFB,
            0x1BCA0, 0x1BCA3, 0x1D173, 0x1D17A, 0xE0000, 0xE0FFF,
        ];
        for c in inside {
            assert!(is_invisible(char::from_u32(c).unwrap()), "U+{c:04X}");
        }
        let outside = [
            0xAC, 0xAE, 0x34E, 0x350, 0x61B, 0x61D, 0x115E, 0x1161, 0x17B3, 0x17B6, 0x180A, 0x2010,
            0x2027, 0x202F, 0x205F, 0x2070, 0x3163, 0x3165, 0xFDFF, 0xFE10, 0xFEFE, 0xFF00, 0xFFFC,
            0x1BC9F, 0x1BCA4, 0x1D172, 0x1D17B, 0xDFFFF, 0xE1000,
        ];
        for c in outside {
            assert!(!is_invisible(char::from_u32(c).unwrap()), "U+{c:04X}");
        }
    }

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
