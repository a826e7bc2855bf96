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
mod scan;
#[cfg(test)]
mod tests;
mod token;

pub use scan::BadChar;
use scan::{ascii_text, classify, is_visible, prefix_len};

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
