//! Access tokens: [`AccessToken`] and [`AccessTokenRef`], their grammar and digest.

use zeroize::Zeroizing;

use crate::digest::{TOKEN_DIGEST_LABEL, TokenDigest, sha256};
use crate::grammar::is_b64token_char;

use super::*;

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

/// Checks an access token against RFC 6750 §2.1 `b64token`, 1 to 4096 bytes.
pub(super) fn validate_token(bytes: &[u8]) -> Result<(), TokenError> {
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

pub(super) fn token_digest(token: &[u8]) -> TokenDigest {
    TokenDigest::from_bytes(sha256(TOKEN_DIGEST_LABEL, token))
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
pub struct AccessToken(pub(super) SecretText);

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
