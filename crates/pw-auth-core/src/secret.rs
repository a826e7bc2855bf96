//! Secrets: API keys, access tokens and passwords.
//!
//! Each is a type whose `Debug` prints a fixed placeholder, which has no `Display` and
//! no `Serialize`, whose equality is constant time and whose memory is zeroized on
//! drop. The only way to the text is the explicitly named `expose_secret`.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::digest::{ApiKeyDigest, CredentialDigest, TokenDigest, sha256};
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
    /// The key has the `pwk_` prefix but not the shape of a minted key:
    /// `pwk_<hex><8 hex checksum>`, or `pwk_<hex>_<8 hex checksum>` for keys minted
    /// before the checksum became a CRC-32.
    #[error("api key has the `pwk_` prefix but not the shape of a key minted by pw-auth")]
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

/// How a valid API key is digested.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    /// Minted with a CRC-32 checksum (`pwk_<hex><8 hex>`): digested under the short
    /// [`MINTED_KEY_DIGEST_LABEL`].
    Minted,
    /// Any other key, including those minted with the earlier SHA-256 checksum
    /// (`pwk_<hex>_<8 hex>`): digested under [`API_KEY_DIGEST_LABEL`], as always.
    Other,
}

/// Checks a key with the `pwk_` prefix (`rest` is what follows it). Two shapes:
///
/// - `pwk_<hex body><8 hex CRC-32 of the body>`, minted now: the body is the hex of
///   16 to 64 random bytes. A CRC-32 detects every single-character typo and every
///   burst of up to 32 bits, which is all a checksum here is for.
/// - `pwk_<hex body>_<8 hex>`, minted before: the checksum is the first four bytes of
///   a labelled SHA-256 of the body. Such keys keep working.
fn check_minted(rest: &[u8]) -> Result<KeyKind, ApiKeyError> {
    // `contains` finds a byte with a vectorised search; only a legacy key has a `_`.
    let separator = if rest.contains(&b'_') {
        rest.iter().rposition(|&b| b == b'_')
    } else {
        None
    };
    let (body, sum, kind) = match separator {
        Some(at) => {
            let (body, sum) = rest.split_at(at);
            (body, sum.get(1..).unwrap_or(&[]), KeyKind::Other)
        }
        None => {
            let at = rest.len().saturating_sub(CHECKSUM_HEX_LEN);
            let (body, sum) = rest.split_at(at);
            if body.len() % 2 != 0 || !MINTED_BODY_HEX.contains(&body.len()) {
                return Err(ApiKeyError::MalformedMinted);
            }
            (body, sum, KeyKind::Minted)
        }
    };
    if !hex::is_lower_hex(body) || sum.len() != CHECKSUM_HEX_LEN || !hex::is_lower_hex(sum) {
        return Err(ApiKeyError::MalformedMinted);
    }
    let expected = match kind {
        KeyKind::Minted => checksum(body),
        KeyKind::Other => legacy_checksum(body),
    };
    // Not compared in constant time: the checksum is a function of the body the
    // caller presented, so how long the comparison takes tells it nothing it lacks.
    if expected.as_slice() == sum {
        Ok(kind)
    } else {
        Err(ApiKeyError::BadChecksum)
    }
}

/// The checksum of a minted key's hex body: its CRC-32 (IEEE), 8 lowercase hex digits.
pub(crate) fn checksum(body: &[u8]) -> [u8; CHECKSUM_HEX_LEN] {
    hex::encode_array(crc32fast::hash(body).to_be_bytes())
}

/// The checksum of keys minted before the CRC-32 one: the first four bytes of a
/// labelled SHA-256 of the body, 8 lowercase hex digits.
fn legacy_checksum(body: &[u8]) -> [u8; CHECKSUM_HEX_LEN] {
    let [a, b, c, d, ..] = sha256(LEGACY_CHECKSUM_LABEL, body);
    hex::encode_array([a, b, c, d])
}

/// Checks an API key: 1 to 256 visible ASCII characters, not the word `Bearer`, and
/// a minted key's shape and checksum when it has the `pwk_` prefix.
fn validate_key(key: &[u8]) -> Result<KeyKind, ApiKeyError> {
    if key.is_empty() {
        return Err(ApiKeyError::Empty);
    }
    if key.len() > MAX_API_KEY_LEN {
        return Err(ApiKeyError::TooLong { len: key.len() });
    }
    let visible = prefix_len(key, is_visible);
    if let Some(&b) = key.get(visible) {
        return Err(ApiKeyError::InvalidChar {
            kind: classify(b),
            position: visible,
        });
    }
    if key.eq_ignore_ascii_case(b"bearer") {
        return Err(ApiKeyError::SchemeName);
    }
    match key.strip_prefix(API_KEY_PREFIX.as_bytes()) {
        Some(rest) => check_minted(rest),
        None => Ok(KeyKind::Other),
    }
}

/// Checks an access token against RFC 6750 §2.1 `b64token`, 1 to 4096 bytes.
fn validate_token(bytes: &[u8]) -> Result<(), TokenError> {
    if bytes.is_empty() {
        return Err(TokenError::Empty);
    }
    if bytes.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLong { len: bytes.len() });
    }
    let body_len = prefix_len(bytes, is_b64token_char);
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

/// Validated secret bytes (all ASCII), copied into text zeroized on drop. ASCII is
/// always UTF-8, so the lossy branch (which would change nothing in ASCII anyway) is
/// never taken; it spares an error path that cannot happen.
fn ascii_text(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    })
}

fn key_digest(key: &[u8], kind: KeyKind) -> ApiKeyDigest {
    let label = match kind {
        KeyKind::Minted => MINTED_KEY_DIGEST_LABEL,
        KeyKind::Other => API_KEY_DIGEST_LABEL,
    };
    ApiKeyDigest::from_bytes(sha256(label, key))
}

fn token_digest(token: &[u8]) -> TokenDigest {
    TokenDigest::from_bytes(sha256(TOKEN_DIGEST_LABEL, token))
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
/// assert!(ApiKey::new("pwk_00112233445566778899aabbccddeeff00000000".to_owned()).is_err());
/// # Ok::<(), pw_auth_core::ApiKeyError>(())
/// ```
#[derive(Clone)]
pub struct ApiKey(SecretText, KeyKind);

impl ApiKey {
    /// Validates and wraps a key. The string is zeroized if it is rejected.
    pub fn new(key: String) -> Result<ApiKey, ApiKeyError> {
        let key = Zeroizing::new(key);
        let kind = validate_key(key.as_bytes())?;
        Ok(ApiKey(SecretText(key), kind))
    }

    /// Whether this key has the format of keys minted by this crate.
    pub fn is_minted_format(&self) -> bool {
        self.0.0.starts_with(API_KEY_PREFIX)
    }

    /// The digest to look the key's record up by.
    pub fn digest(&self) -> ApiKeyDigest {
        key_digest(self.0.0.as_bytes(), self.1)
    }

    /// The key, borrowed.
    pub fn borrowed(&self) -> ApiKeyRef<'_> {
        ApiKeyRef(self.0.0.as_bytes(), self.1)
    }

    /// The key itself, for putting into a header. Handle with care.
    pub fn expose_secret(&self) -> &str {
        &self.0.0
    }
}

/// An API key borrowed from the text it arrived in, checked exactly as [`ApiKey`]
/// is, for servers that need only its digest: no allocation, no copy.
///
/// ```
/// use pw_auth_core::{ApiKey, ApiKeyRef};
/// let header = "legacy-opaque-key-123";
/// let key = ApiKeyRef::new(header)?;
/// assert_eq!(format!("{key:?}"), "ApiKeyRef(<redacted>)");
/// assert_eq!(key.digest(), ApiKey::new(header.to_owned())?.digest());
/// # Ok::<(), pw_auth_core::ApiKeyError>(())
/// ```
#[derive(Clone, Copy)]
pub struct ApiKeyRef<'a>(&'a [u8], KeyKind);

impl<'a> ApiKeyRef<'a> {
    /// Validates a key without copying it.
    pub fn new(key: &'a str) -> Result<ApiKeyRef<'a>, ApiKeyError> {
        ApiKeyRef::from_bytes(key.as_bytes())
    }

    /// Validates a key given as bytes (a header value) without copying it.
    pub fn from_bytes(key: &'a [u8]) -> Result<ApiKeyRef<'a>, ApiKeyError> {
        validate_key(key).map(|kind| ApiKeyRef(key, kind))
    }

    /// The digest to look the key's record up by.
    pub fn digest(&self) -> ApiKeyDigest {
        key_digest(self.0, self.1)
    }

    /// The key, copied into an [`ApiKey`] (zeroized on drop) without checking it again.
    pub fn to_api_key(&self) -> ApiKey {
        ApiKey(SecretText(ascii_text(self.0)), self.1)
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
        validate_token(token.as_bytes())?;
        Ok(AccessToken(SecretText(token)))
    }

    /// The digest to look the token's record up by.
    pub fn digest(&self) -> TokenDigest {
        token_digest(self.0.0.as_bytes())
    }

    /// The token, borrowed.
    pub fn borrowed(&self) -> AccessTokenRef<'_> {
        AccessTokenRef(self.0.0.as_bytes())
    }

    /// The token itself, for putting into a header. Handle with care.
    pub fn expose_secret(&self) -> &str {
        &self.0.0
    }
}

/// An access token borrowed from the text it arrived in, checked exactly as
/// [`AccessToken`] is, for servers that need only its digest: no allocation, no copy.
///
/// ```
/// use pw_auth_core::{AccessToken, AccessTokenRef};
/// let token = AccessTokenRef::new("mF_9.B5f-4.1JqM")?;
/// assert_eq!(format!("{token:?}"), "AccessTokenRef(<redacted>)");
/// assert_eq!(token.digest(), AccessToken::new("mF_9.B5f-4.1JqM".to_owned())?.digest());
/// # Ok::<(), pw_auth_core::TokenError>(())
/// ```
#[derive(Clone, Copy)]
pub struct AccessTokenRef<'a>(&'a [u8]);

impl<'a> AccessTokenRef<'a> {
    /// Validates a token without copying it.
    pub fn new(token: &'a str) -> Result<AccessTokenRef<'a>, TokenError> {
        AccessTokenRef::from_bytes(token.as_bytes())
    }

    /// Validates a token given as bytes (a header value) without copying it.
    pub fn from_bytes(token: &'a [u8]) -> Result<AccessTokenRef<'a>, TokenError> {
        validate_token(token).map(|()| AccessTokenRef(token))
    }

    /// The digest to look the token's record up by.
    pub fn digest(&self) -> TokenDigest {
        token_digest(self.0)
    }

    /// The token, copied into an [`AccessToken`] (zeroized on drop) without checking
    /// it again.
    pub fn to_access_token(&self) -> AccessToken {
        AccessToken(SecretText(ascii_text(self.0)))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn minted(body: &str) -> String {
        let sum = checksum(body.as_bytes());
        format!("pwk_{body}{}", std::str::from_utf8(&sum).unwrap())
    }

    fn legacy(body: &str) -> String {
        let sum = legacy_checksum(body.as_bytes());
        format!("pwk_{body}_{}", std::str::from_utf8(&sum).unwrap())
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
            ("pwk__00000000", MalformedMinted),
            ("pwk_00112233445566778899aabbccddeeff00000000", BadChecksum),
            (
                "pwk_00112233445566778899aabbccddeeff0000000g",
                MalformedMinted,
            ),
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

    /// Keys minted before the CRC-32 checksum keep working, digested as they were;
    /// keys minted now are digested under the short label, in one SHA-256 block.
    #[test]
    fn both_minted_shapes_and_their_digests() {
        let body = "00112233445566778899aabbccddeeff";
        // Both checksums computed independently, with Python's `zlib.crc32` and
        // `hashlib.sha256(b"pw-auth/api-key-checksum/v1\0" + body).digest()[:4]`.
        assert_eq!(minted(body), "pwk_00112233445566778899aabbccddeeff90482470");
        assert_eq!(
            legacy(body),
            "pwk_00112233445566778899aabbccddeeff_b2cb1933"
        );
        let old = ApiKey::new(legacy(body)).unwrap();
        assert_eq!(
            old.digest().as_bytes(),
            &sha256(b"pw-auth/api-key/v1\0", old.expose_secret().as_bytes())
        );
        let new = ApiKey::new(minted(body)).unwrap();
        assert_eq!(new.expose_secret().len(), 44);
        assert_eq!(MINTED_KEY_DIGEST_LABEL.len() + 44, 55, "one SHA-256 block");
        assert_eq!(
            new.digest().as_bytes(),
            &sha256(b"pw-auth/k2\0", new.expose_secret().as_bytes())
        );
        let opaque = ApiKey::new("opaque".into()).unwrap();
        assert_eq!(
            opaque.digest().as_bytes(),
            &sha256(b"pw-auth/api-key/v1\0", b"opaque")
        );
        // The legacy checksum is not accepted in the new shape, nor the reverse.
        let old_sum = legacy(body);
        let swapped = old_sum.replacen('_', "", 2).replacen("pwk", "pwk_", 1);
        assert_eq!(ApiKey::new(swapped).unwrap_err(), ApiKeyError::BadChecksum);
        let new_sum = minted(body);
        let with_sep = format!("{}_{}", &new_sum[..36], &new_sum[36..]);
        assert_eq!(ApiKey::new(with_sep).unwrap_err(), ApiKeyError::BadChecksum);
        // The body of a key minted now: 32 to 128 hex digits, an even number.
        for len in [30, 33, 130] {
            let k = minted(&"a".repeat(len));
            assert_eq!(
                ApiKey::new(k).unwrap_err(),
                ApiKeyError::MalformedMinted,
                "{len}"
            );
        }
        for len in [32, 34, 128] {
            assert!(ApiKey::new(minted(&"a".repeat(len))).is_ok(), "{len}");
        }
        let upper = minted(body).to_uppercase().replacen("PWK_", "pwk_", 1);
        assert_eq!(
            ApiKey::new(upper).unwrap_err(),
            ApiKeyError::MalformedMinted
        );
    }

    /// The borrowed types accept and refuse exactly what the owned ones do, with the
    /// same digests, and copy out to equal owned values.
    #[test]
    fn borrowed_and_owned_agree() {
        for k in [
            "abc".to_owned(),
            minted("00112233445566778899aabbccddeeff"),
            legacy("abcd"),
            "pwk_abcd_00000000".to_owned(),
            "a b".to_owned(),
            "Bearer".to_owned(),
            String::new(),
        ] {
            let owned = ApiKey::new(k.clone());
            let borrowed = ApiKeyRef::new(&k);
            assert_eq!(
                owned.clone().err(),
                borrowed.as_ref().err().cloned(),
                "{k:?}"
            );
            if let (Ok(o), Ok(b)) = (owned, borrowed) {
                assert_eq!(o.digest(), b.digest());
                assert_eq!(o.borrowed().digest(), b.digest());
                assert_eq!(b.to_api_key(), o);
                assert_eq!(b.to_api_key().digest(), o.digest());
                let c = Credential::ApiKey(o);
                assert_eq!(c.borrowed().to_credential(), c);
                assert_eq!(c.digest(), CredentialDigest::ApiKey(b.digest()));
            }
        }
        for t in ["a", "abc==", "a=b", "", "ä", "=", "A-._~+/9"] {
            let owned = AccessToken::new(t.to_owned());
            assert_eq!(owned.clone().err(), AccessTokenRef::new(t).err(), "{t:?}");
            assert_eq!(
                owned.clone().err(),
                AccessTokenRef::from_bytes(t.as_bytes()).err(),
                "{t:?}"
            );
            if let Ok(o) = owned {
                let b = AccessTokenRef::new(t).unwrap();
                assert_eq!(o.digest(), b.digest());
                assert_eq!(b.to_access_token(), o);
                let c = Credential::Bearer(o);
                assert_eq!(c.borrowed().to_credential(), c);
                assert_eq!(c.digest(), CredentialDigest::Bearer(b.digest()));
            }
        }
        assert_eq!(
            format!(
                "{:?}",
                CredentialRef::ApiKey(ApiKeyRef::new("s3cr3t").unwrap())
            ),
            "ApiKey(ApiKeyRef(<redacted>))"
        );
        assert_eq!(
            format!("{:?}", AccessTokenRef::new("s3cr3t").unwrap()),
            "AccessTokenRef(<redacted>)"
        );
    }

    /// The chunked scan finds the first failing byte wherever it is: in a full chunk,
    /// at a chunk's edge, or in the tail.
    #[test]
    fn prefix_len_finds_the_first_failure_anywhere() {
        for len in 0..70 {
            for bad in 0..=len {
                let mut v = vec![b'a'; len];
                if let Some(b) = v.get_mut(bad) {
                    *b = b' ';
                }
                let naive = v.iter().position(|&b| !is_visible(b)).unwrap_or(len);
                assert_eq!(prefix_len(&v, is_visible), naive, "{len} {bad}");
                assert_eq!(prefix_len(&v, is_b64token_char), naive, "{len} {bad}");
            }
        }
        for b in 0..=u8::MAX {
            assert_eq!(is_visible(b), (0x21..=0x7e).contains(&b), "{b:#04x}");
        }
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
