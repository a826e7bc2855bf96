//! Scanning a credential's bytes: the longest valid prefix (sixteen bytes at a time),
//! what kind of character stopped it (never the character itself), and the validated
//! bytes as text zeroized on drop.

use std::fmt;

use zeroize::Zeroizing;

/// What kind of character made a credential invalid. The character itself is never
/// reported, since it is part of a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BadChar {
    /// A space or tab.
    Whitespace,
    /// CR, LF, NUL, DEL or another control character.
    Control,
    /// A byte outside ASCII.
    NonAscii,
    /// A visible ASCII character that the grammar does not allow here.
    NotAllowed,
}

impl fmt::Display for BadChar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadChar::Whitespace => "whitespace",
            BadChar::Control => "a control character",
            BadChar::NonAscii => "a non-ASCII character",
            BadChar::NotAllowed => "a character that is not allowed",
        })
    }
}

pub(super) fn classify(b: u8) -> BadChar {
    match b {
        b' ' | b'\t' => BadChar::Whitespace,
        0..=0x1f | 0x7f => BadChar::Control,
        0x80..=0xff => BadChar::NonAscii,
        _ => BadChar::NotAllowed,
    }
}

/// The length of the longest prefix of `bytes` whose bytes all satisfy `ok`.
///
/// Sixteen bytes at a time, each tested without a branch and the results folded, so
/// the compiler checks a chunk with a few vector instructions; the chunk that fails
/// (and the tail) is then scanned byte by byte for the position.
pub(super) fn prefix_len(bytes: &[u8], ok: impl Fn(u8) -> bool) -> usize {
    let mut done = 0usize;
    for chunk in bytes.chunks_exact(16) {
        if !chunk.iter().fold(true, |all, &b| all & ok(b)) {
            break;
        }
        done = done.saturating_add(16);
    }
    let rest = bytes.get(done..).unwrap_or(&[]);
    if rest.iter().fold(true, |all, &b| all & ok(b)) {
        return bytes.len();
    }
    done.saturating_add(rest.iter().position(|&b| !ok(b)).unwrap_or(rest.len()))
}

/// Visible ASCII, `%x21-7E`, without a branch.
pub(super) const fn is_visible(b: u8) -> bool {
    b.wrapping_sub(0x21) < 0x5e
}

/// Validated secret bytes (all ASCII), copied into text zeroized on drop. ASCII is
/// always UTF-8, so the lossy branch (which would change nothing in ASCII anyway) is
/// never taken; it spares an error path that cannot happen.
pub(super) fn ascii_text(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    })
}
