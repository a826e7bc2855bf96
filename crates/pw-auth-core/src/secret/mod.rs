//! Secrets: API keys, access tokens and passwords.
//!
//! Each is a type whose `Debug` prints a fixed placeholder, which has no `Display` and
//! no `Serialize`, whose equality is constant time and whose memory is zeroized on
//! drop. The only way to the text is the explicitly named `expose_secret`.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::digest::CredentialDigest;

mod api_key;
mod password;
#[cfg(test)]
mod tests;
mod token;

pub(crate) use api_key::checksum;
pub use api_key::{ApiKey, ApiKeyError, ApiKeyRef};
pub use password::{Password, PasswordError};
pub use token::{AccessToken, AccessTokenRef, TokenError};

/// The longest API key accepted, in bytes.
pub const MAX_API_KEY_LEN: usize = 256;
/// The longest access token accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 4096;
/// The longest password accepted, in bytes.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// The prefix of every API key this crate mints, so secret scanners can find leaks.
pub const API_KEY_PREFIX: &str = "pwk_";
/// The prefix of every access token this crate mints.
pub const TOKEN_PREFIX: &str = "pwt_";

pub(crate) const API_KEY_DIGEST_LABEL: &[u8] = b"pw-auth/api-key/v1\0";
/// The label of a minted key's digest: short, so that with a key minted from 16
/// random bytes (44 bytes) it fits one SHA-256 block (55 bytes at most).
pub(crate) const MINTED_KEY_DIGEST_LABEL: &[u8] = b"pw-auth/k2\0";
pub(crate) const TOKEN_DIGEST_LABEL: &[u8] = b"pw-auth/access-token/v1\0";
/// The label of the SHA-256 checksum of keys minted before the CRC-32 one.
const LEGACY_CHECKSUM_LABEL: &[u8] = b"pw-auth/api-key-checksum/v1\0";
/// Hex digits of checksum at the end of a minted key.
pub(crate) const CHECKSUM_HEX_LEN: usize = 8;
/// Hex digits of a minted key's body: two per random byte, 16 to 64 of them.
const MINTED_BODY_HEX: std::ops::RangeInclusive<usize> = 32..=128;

/// Text that is zeroized on drop and compared in constant time.
#[derive(Clone)]
struct SecretText(Zeroizing<String>);

impl SecretText {
    fn ct_eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

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

fn classify(b: u8) -> BadChar {
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
fn prefix_len(bytes: &[u8], ok: impl Fn(u8) -> bool) -> usize {
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
const fn is_visible(b: u8) -> bool {
    b.wrapping_sub(0x21) < 0x5e
}

/// Validated secret bytes (all ASCII), copied into text zeroized on drop. ASCII is
/// always UTF-8, so the lossy branch (which would change nothing in ASCII anyway) is
/// never taken; it spares an error path that cannot happen.
fn ascii_text(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    })
}

/// A credential as presented in an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A raw API key: the whole header value, no scheme.
    ApiKey(ApiKey),
    /// `Bearer <token>`: an OAuth 2 access token.
    Bearer(AccessToken),
}

impl Credential {
    /// The credential, borrowed.
    pub fn borrowed(&self) -> CredentialRef<'_> {
        match self {
            Credential::ApiKey(k) => CredentialRef::ApiKey(k.borrowed()),
            Credential::Bearer(t) => CredentialRef::Bearer(t.borrowed()),
        }
    }

    /// The digest to look the credential's record up by.
    pub fn digest(&self) -> CredentialDigest {
        self.borrowed().digest()
    }
}

/// A credential borrowed from the `Authorization` value it arrived in, checked
/// exactly as a [`Credential`] is. A server that only looks records up needs no
/// more: its [`digest`](CredentialRef::digest) is all
/// [`Authenticator::authenticate_digest`](crate::Authenticator::authenticate_digest) reads.
#[derive(Debug, Clone, Copy)]
pub enum CredentialRef<'a> {
    /// A raw API key.
    ApiKey(ApiKeyRef<'a>),
    /// `Bearer <token>`.
    Bearer(AccessTokenRef<'a>),
}

impl CredentialRef<'_> {
    /// The digest to look the credential's record up by: one SHA-256.
    pub fn digest(&self) -> CredentialDigest {
        match self {
            CredentialRef::ApiKey(k) => CredentialDigest::ApiKey(k.digest()),
            CredentialRef::Bearer(t) => CredentialDigest::Bearer(t.digest()),
        }
    }

    /// The credential, copied (into memory zeroized on drop) without checking it again.
    pub fn to_credential(&self) -> Credential {
        match self {
            CredentialRef::ApiKey(k) => Credential::ApiKey(k.to_api_key()),
            CredentialRef::Bearer(t) => Credential::Bearer(t.to_access_token()),
        }
    }
}

macro_rules! secret_impls {
    ($($name:ident),*) => {$(
        /// Prints a fixed placeholder, never the secret.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        /// Constant-time comparison of the secrets.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0)
            }
        }

        impl Eq for $name {}
    )*};
}

secret_impls!(ApiKey, AccessToken, Password);

macro_rules! redacted_debug {
    ($($name:ident),*) => {$(
        /// Prints a fixed placeholder, never the secret.
        impl fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    )*};
}

redacted_debug!(ApiKeyRef, AccessTokenRef);
