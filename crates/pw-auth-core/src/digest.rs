//! Digests of secrets: what a server stores and looks records up by, never the secret.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::hex;

/// A digest string is not 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a digest is 64 lowercase hex digits")]
pub struct DigestError;

// The domain-separation labels each kind of credential is digested under: one per
// kind, so that no key and token can share a digest.

/// The label of an API key's digest (any key but one this crate minted in the
/// current form).
pub(crate) const API_KEY_DIGEST_LABEL: &[u8] = b"pw-auth/api-key/v1\0";
/// The label of a minted key's digest: short, so that with a key minted from 16
/// random bytes (44 bytes) it fits one SHA-256 block (55 bytes at most).
pub(crate) const MINTED_KEY_DIGEST_LABEL: &[u8] = b"pw-auth/k2\0";
/// The label of an access token's digest.
pub(crate) const TOKEN_DIGEST_LABEL: &[u8] = b"pw-auth/access-token/v1\0";

/// SHA-256 over a domain-separation label and the secret, so that a key and a token
/// with the same bytes never share a digest.
pub(crate) fn sha256(label: &[u8], secret: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    h.update(secret);
    h.finalize().into()
}

/// A digest's bytes as four native-endian words.
fn words(bytes: &[u8; 32]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (w, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *w = u64::from_ne_bytes(b);
    }
    out
}

macro_rules! digest_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Eq)]
        pub struct $name([u8; 32]);

        impl $name {
            /// The digest's 32 bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Builds a digest from its bytes, as loaded from storage.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }
        }

        /// Constant time, so that comparing a presented digest with a stored one
        /// reveals nothing through timing.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                // As four words: `subtle` compares each without a branch, four
                // comparisons rather than thirty-two.
                words(&self.0).ct_eq(&words(&other.0)).into()
            }
        }

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        /// Lowercase hex.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(&self.0))
            }
        }

        impl FromStr for $name {
            type Err = DigestError;
            fn from_str(s: &str) -> Result<Self, DigestError> {
                hex::decode_array(s).map(Self).ok_or(DigestError)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

digest_type!(
    /// The SHA-256 digest of an API key: what a server stores and looks the key's
    /// record up by.
    ApiKeyDigest
);
digest_type!(
    /// The SHA-256 digest of an access token: what a server stores and looks the
    /// token's record up by.
    TokenDigest
);

/// The digest of a credential as presented: what its record is looked up by, and
/// all that [`Authenticator::authenticate_digest`](crate::Authenticator::authenticate_digest)
/// needs. Computing it is the one SHA-256 of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialDigest {
    /// An API key's.
    ApiKey(ApiKeyDigest),
    /// A bearer token's.
    Bearer(TokenDigest),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_equality() {
        let d = ApiKeyDigest::from_bytes(sha256(b"l", b"s"));
        let s = d.to_string();
        assert_eq!(s.len(), 64);
        assert_eq!(s.parse::<ApiKeyDigest>(), Ok(d));
        assert_ne!(d, ApiKeyDigest::from_bytes([0; 32]));
        assert_eq!("x".parse::<TokenDigest>(), Err(DigestError));
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<ApiKeyDigest>(&json).unwrap(), d);
    }

    /// Equal exactly when every byte is: a difference in any byte of any word counts.
    #[test]
    fn equality_sees_every_byte() {
        let d = ApiKeyDigest::from_bytes(sha256(b"l", b"s"));
        for i in 0..32 {
            for bit in [0x01, 0x80] {
                let mut b = *d.as_bytes();
                b[i] ^= bit;
                assert_ne!(ApiKeyDigest::from_bytes(b), d, "byte {i}");
            }
        }
        assert_eq!(ApiKeyDigest::from_bytes(*d.as_bytes()), d);
    }

    #[test]
    fn label_separates_domains() {
        assert_ne!(sha256(b"key", b"x"), sha256(b"token", b"x"));
    }

    #[test]
    fn sha256_matches_the_standard_test_vector() {
        // FIPS 180-2 example "abc", split across label and secret.
        assert_eq!(
            hex::encode(&sha256(b"a", b"bc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
