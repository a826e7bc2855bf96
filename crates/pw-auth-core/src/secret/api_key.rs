//! API keys: [`ApiKey`] and [`ApiKeyRef`], their grammar, checksum and digest.

use zeroize::Zeroizing;

use crate::digest::{API_KEY_DIGEST_LABEL, ApiKeyDigest, MINTED_KEY_DIGEST_LABEL, sha256};
use crate::hex;

use super::*;

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

/// How a valid API key is digested.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyKind {
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
pub(super) fn check_minted(rest: &[u8]) -> Result<KeyKind, ApiKeyError> {
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
pub(super) fn legacy_checksum(body: &[u8]) -> [u8; CHECKSUM_HEX_LEN] {
    let [a, b, c, d, ..] = sha256(LEGACY_CHECKSUM_LABEL, body);
    hex::encode_array([a, b, c, d])
}

/// Checks an API key: 1 to 256 visible ASCII characters, not the word `Bearer`, and
/// a minted key's shape and checksum when it has the `pwk_` prefix.
pub(super) fn validate_key(key: &[u8]) -> Result<KeyKind, ApiKeyError> {
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

pub(super) fn key_digest(key: &[u8], kind: KeyKind) -> ApiKeyDigest {
    let label = match kind {
        KeyKind::Minted => MINTED_KEY_DIGEST_LABEL,
        KeyKind::Other => API_KEY_DIGEST_LABEL,
    };
    ApiKeyDigest::from_bytes(sha256(label, key))
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
pub struct ApiKey(pub(super) SecretText, pub(super) KeyKind);

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
