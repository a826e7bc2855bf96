//! Secrets: API keys, access tokens and passwords.
//!
//! Each is a type whose `Debug` prints a fixed placeholder, which has no `Display` and
//! no `Serialize`, whose equality is constant time and whose memory is zeroized on
//! drop. The only way to the text is the explicitly named `expose_secret`.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::digest::{ApiKeyDigest, TokenDigest, sha256};
use crate::grammar::is_b64token_char;
use crate::hex;

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
pub(crate) const TOKEN_DIGEST_LABEL: &[u8] = b"pw-auth/access-token/v1\0";
const API_KEY_CHECKSUM_LABEL: &[u8] = b"pw-auth/api-key-checksum/v1\0";
/// Hex digits of checksum at the end of a minted key.
pub(crate) const CHECKSUM_HEX_LEN: usize = 8;

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

/// Why a string is not an API key. Never contains the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// The key is empty.
    #[error("api key is empty")]
    Empty,
    /// The key is longer than [`MAX_API_KEY_LEN`].
    #[error("api key is {len} bytes long; the limit is {MAX_API_KEY_LEN}")]
    TooLong {
        /// The length given.
        len: usize,
    },
    /// The key holds a byte that is not visible ASCII.
    #[error("api key contains {kind} at byte {position}")]
    InvalidChar {
        /// What kind of byte.
        kind: BadChar,
        /// Its zero-based position.
        position: usize,
    },
    /// The key is the word `Bearer`, which is an authentication scheme, not a key.
    #[error("`Bearer` is an authentication scheme, not an api key")]
    SchemeName,
    /// The key has the `pwk_` prefix but not the shape of a minted key.
    #[error("api key has the `pwk_` prefix but not the shape `pwk_<hex>_<8 hex checksum>`")]
    MalformedMinted,
    /// The key has the shape of a minted key but its checksum does not match: it was
    /// mistyped or truncated.
    #[error("api key checksum does not match; the key was mistyped or truncated")]
    BadChecksum,
}

/// Why a string is not an access token. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is empty.
    #[error("access token is empty")]
    Empty,
    /// The token is longer than [`MAX_TOKEN_LEN`].
    #[error("access token is {len} bytes long; the limit is {MAX_TOKEN_LEN}")]
    TooLong {
        /// The length given.
        len: usize,
    },
    /// The token holds a character outside the RFC 6750 `b64token` grammar.
    #[error("access token contains {kind} at byte {position}")]
    InvalidChar {
        /// What kind of byte.
        kind: BadChar,
        /// Its zero-based position.
        position: usize,
    },
    /// `=` appears other than as trailing padding.
    #[error("access token has `=` at byte {position}; `=` is allowed only as trailing padding")]
    MisplacedPadding {
        /// Its zero-based position.
        position: usize,
    },
    /// The token is only padding.
    #[error("access token is only `=` padding")]
    OnlyPadding,
}

/// Why a string is not an acceptable password. Never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password is empty.
    #[error("password is empty")]
    Empty,
    /// The password is longer than [`MAX_PASSWORD_LEN`].
    #[error("password is {len} bytes long; the limit is {MAX_PASSWORD_LEN}")]
    TooLong {
        /// The length given.
        len: usize,
    },
}

/// Whether `bytes` is a key minted by this crate: `pwk_<hex>_<checksum>`, with the
/// checksum over everything before the last `_`.
fn check_minted(key: &str) -> Result<(), ApiKeyError> {
    let Some(rest) = key.strip_prefix(API_KEY_PREFIX) else {
        return Ok(());
    };
    let Some((body, sum)) = rest.rsplit_once('_') else {
        return Err(ApiKeyError::MalformedMinted);
    };
    if !hex::is_lower_hex(body) || sum.len() != CHECKSUM_HEX_LEN || !hex::is_lower_hex(sum) {
        return Err(ApiKeyError::MalformedMinted);
    }
    let expected = checksum(body);
    if expected.as_bytes().ct_eq(sum.as_bytes()).into() {
        Ok(())
    } else {
        Err(ApiKeyError::BadChecksum)
    }
}

/// The checksum of a minted key's hex body: 8 hex digits of a labelled SHA-256.
pub(crate) fn checksum(body: &str) -> String {
    let d = sha256(API_KEY_CHECKSUM_LABEL, body.as_bytes());
    // Two hex digits a byte: the first CHECKSUM_HEX_LEN / 2 bytes.
    hex::encode(d.get(..CHECKSUM_HEX_LEN / 2).unwrap_or(&[]))
}

/// An API key as presented by a client or as minted for one.
///
/// Any value of 1 to 256 visible ASCII characters (no space) is accepted, except the
/// scheme word `Bearer`. A value with the `pwk_` prefix must be a well-formed minted
/// key with a valid checksum, so a mistyped key is refused before any lookup.
///
/// ```
/// use pw_auth_core::ApiKey;
/// let key = ApiKey::new("legacy-opaque-key-123".to_owned())?;
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// assert!(ApiKey::new("pwk_00112233445566778899aabbccddeeff_00000000".to_owned()).is_err());
/// # Ok::<(), pw_auth_core::ApiKeyError>(())
/// ```
#[derive(Clone)]
pub struct ApiKey(SecretText);

impl ApiKey {
    /// Validates and wraps a key. The string is zeroized if it is rejected.
    pub fn new(key: String) -> Result<ApiKey, ApiKeyError> {
        let key = Zeroizing::new(key);
        Self::validate(&key)?;
        Ok(ApiKey(SecretText(key)))
    }

    fn validate(key: &str) -> Result<(), ApiKeyError> {
        if key.is_empty() {
            return Err(ApiKeyError::Empty);
        }
        if key.len() > MAX_API_KEY_LEN {
            return Err(ApiKeyError::TooLong { len: key.len() });
        }
        if let Some((position, &b)) = key
            .as_bytes()
            .iter()
            .enumerate()
            .find(|&(_, &b)| !(0x21..=0x7e).contains(&b))
        {
            return Err(ApiKeyError::InvalidChar {
                kind: classify(b),
                position,
            });
        }
        if key.eq_ignore_ascii_case("bearer") {
            return Err(ApiKeyError::SchemeName);
        }
        check_minted(key)
    }

    /// Whether this key has the format of keys minted by this crate.
    pub fn is_minted_format(&self) -> bool {
        self.0.0.starts_with(API_KEY_PREFIX)
    }

    /// The digest to look the key's record up by.
    pub fn digest(&self) -> ApiKeyDigest {
        ApiKeyDigest::from_bytes(sha256(API_KEY_DIGEST_LABEL, self.0.0.as_bytes()))
    }

    /// The key itself, for putting into a header. Handle with care.
    pub fn expose_secret(&self) -> &str {
        &self.0.0
    }
}

/// An OAuth 2 access token (a bearer token).
///
/// It must match RFC 6750 §2.1 `b64token`: 1 to 4096 characters of
/// `A-Z a-z 0-9 - . _ ~ + /`, optionally followed by `=` padding.
///
/// ```
/// use pw_auth_core::AccessToken;
/// let t = AccessToken::new("eyJ0eXAi.J9==".to_owned())?;
/// assert_eq!(format!("{t:?}"), "AccessToken(<redacted>)");
/// assert!(AccessToken::new("a=b".to_owned()).is_err());
/// # Ok::<(), pw_auth_core::TokenError>(())
/// ```
#[derive(Clone)]
pub struct AccessToken(SecretText);

impl AccessToken {
    /// Validates and wraps a token. The string is zeroized if it is rejected.
    pub fn new(token: String) -> Result<AccessToken, TokenError> {
        let token = Zeroizing::new(token);
        Self::validate(&token)?;
        Ok(AccessToken(SecretText(token)))
    }

    fn validate(token: &str) -> Result<(), TokenError> {
        let bytes = token.as_bytes();
        if bytes.is_empty() {
            return Err(TokenError::Empty);
        }
        if bytes.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong { len: bytes.len() });
        }
        let body_len = bytes
            .iter()
            .position(|&b| !is_b64token_char(b))
            .unwrap_or(bytes.len());
        if body_len == 0 && bytes.first() == Some(&b'=') {
            return Err(TokenError::OnlyPadding);
        }
        let mut in_padding = false;
        for (position, &b) in bytes.iter().enumerate().skip(body_len) {
            match b {
                b'=' => in_padding = true,
                _ if in_padding && is_b64token_char(b) => {
                    return Err(TokenError::MisplacedPadding { position: body_len });
                }
                _ => {
                    return Err(TokenError::InvalidChar {
                        kind: classify(b),
                        position,
                    });
                }
            }
        }
        Ok(())
    }

    /// The digest to look the token's record up by.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest::from_bytes(sha256(TOKEN_DIGEST_LABEL, self.0.0.as_bytes()))
    }

    /// The token itself, for putting into a header. Handle with care.
    pub fn expose_secret(&self) -> &str {
        &self.0.0
    }
}

/// A user's password, as sent to the login endpoint. 1 to 1024 bytes of any text.
/// This crate never checks passwords; the caller verifies them against its store.
#[derive(Clone)]
pub struct Password(SecretText);

impl Password {
    /// Validates and wraps a password. The string is zeroized if it is rejected.
    pub fn new(password: String) -> Result<Password, PasswordError> {
        let password = Zeroizing::new(password);
        match password.len() {
            0 => Err(PasswordError::Empty),
            len if len > MAX_PASSWORD_LEN => Err(PasswordError::TooLong { len }),
            _ => Ok(Password(SecretText(password))),
        }
    }

    /// The password itself, for verifying it. Handle with care.
    pub fn expose_secret(&self) -> &str {
        &self.0.0
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

#[cfg(test)]
mod tests {
    use super::*;

    fn minted(body: &str) -> String {
        format!("pwk_{body}_{}", checksum(body))
    }

    #[test]
    fn api_key_accepts_opaque_and_minted() {
        assert!(ApiKey::new("abc".into()).is_ok());
        assert!(ApiKey::new("!~".repeat(128)).is_ok());
        let k = ApiKey::new(minted("00112233445566778899aabbccddeeff")).unwrap();
        assert!(k.is_minted_format());
    }

    #[test]
    fn api_key_rejections() {
        use ApiKeyError::*;
        let cases: &[(&str, ApiKeyError)] = &[
            ("", Empty),
            (
                "a b",
                InvalidChar {
                    kind: BadChar::Whitespace,
                    position: 1,
                },
            ),
            (
                "a\tb",
                InvalidChar {
                    kind: BadChar::Whitespace,
                    position: 1,
                },
            ),
            (
                "ab\r\n",
                InvalidChar {
                    kind: BadChar::Control,
                    position: 2,
                },
            ),
            (
                "\0",
                InvalidChar {
                    kind: BadChar::Control,
                    position: 0,
                },
            ),
            (
                "clé",
                InvalidChar {
                    kind: BadChar::NonAscii,
                    position: 2,
                },
            ),
            ("Bearer", SchemeName),
            ("bEaReR", SchemeName),
            ("pwk_", MalformedMinted),
            ("pwk_abc", MalformedMinted),
            ("pwk_ABCD_00000000", MalformedMinted),
            ("pwk_abcd_0000000", MalformedMinted),
            ("pwk_abcd_00000000", BadChecksum),
        ];
        for (input, want) in cases {
            assert_eq!(
                &ApiKey::new((*input).into()).unwrap_err(),
                want,
                "{input:?}"
            );
        }
        assert_eq!(
            ApiKey::new("a".repeat(257)).unwrap_err(),
            TooLong { len: 257 }
        );
    }

    #[test]
    fn a_single_typo_fails_the_checksum() {
        let good = minted("00112233445566778899aabbccddeeff");
        let typo = good.replacen("0011", "0021", 1);
        assert_eq!(ApiKey::new(typo).unwrap_err(), ApiKeyError::BadChecksum);
        let truncated = good.get(..good.len() - 1).unwrap().to_owned();
        assert_eq!(
            ApiKey::new(truncated).unwrap_err(),
            ApiKeyError::MalformedMinted
        );
    }

    #[test]
    fn token_grammar_is_b64token() {
        for ok in [
            "a",
            "abc==",
            "A-._~+/9",
            "x=",
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
        ] {
            assert!(AccessToken::new(ok.into()).is_ok(), "{ok:?}");
        }
        use TokenError::*;
        let cases: &[(&str, TokenError)] = &[
            ("", Empty),
            ("=", OnlyPadding),
            ("==", OnlyPadding),
            ("a=b", MisplacedPadding { position: 1 }),
            ("ab==c", MisplacedPadding { position: 2 }),
            (
                "a b",
                InvalidChar {
                    kind: BadChar::Whitespace,
                    position: 1,
                },
            ),
            (
                "a,b",
                InvalidChar {
                    kind: BadChar::NotAllowed,
                    position: 1,
                },
            ),
            (
                "a=,",
                InvalidChar {
                    kind: BadChar::NotAllowed,
                    position: 2,
                },
            ),
            (
                "a\"",
                InvalidChar {
                    kind: BadChar::NotAllowed,
                    position: 1,
                },
            ),
            (
                "ä",
                InvalidChar {
                    kind: BadChar::NonAscii,
                    position: 0,
                },
            ),
            (
                "a\n",
                InvalidChar {
                    kind: BadChar::Control,
                    position: 1,
                },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                &AccessToken::new((*input).into()).unwrap_err(),
                want,
                "{input:?}"
            );
        }
        assert_eq!(
            AccessToken::new("a".repeat(4097)).unwrap_err(),
            TooLong { len: 4097 }
        );
    }

    #[test]
    fn secrets_are_redacted_and_compared_by_value() {
        let a = ApiKey::new("s3cr3t-key".into()).unwrap();
        assert_eq!(format!("{a:?}"), "ApiKey(<redacted>)");
        assert_eq!(format!("{a:#?}"), "ApiKey(<redacted>)");
        assert_eq!(a, ApiKey::new("s3cr3t-key".into()).unwrap());
        assert_ne!(a, ApiKey::new("s3cr3t-kez".into()).unwrap());
        let p = Password::new("hunter2".into()).unwrap();
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
        assert_eq!(
            Password::new(String::new()).unwrap_err(),
            PasswordError::Empty
        );
    }

    #[test]
    fn key_and_token_digests_differ_for_the_same_text() {
        let k = ApiKey::new("same".into()).unwrap().digest();
        let t = AccessToken::new("same".into()).unwrap().digest();
        assert_ne!(k.as_bytes(), t.as_bytes());
    }
}
