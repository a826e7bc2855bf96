//! The `Authorization` request header: a raw API key, or `Bearer <b64token>`.
//!
//! The grammar (see `docs/http.md`):
//!
//! ```text
//! authorization = api-key / bearer
//! api-key       = 1*256( %x21-7E )        ; no space, and not the word "Bearer"
//! bearer        = "Bearer" 1*SP b64token  ; scheme case-insensitive (RFC 9110 §11.1)
//! b64token      = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! A bearer credential always contains a space and an API key never does, and an API
//! key is never the word `Bearer`: no value can be read both ways.

use pw_auth_core::grammar::is_tchar;
use pw_auth_core::{
    AccessTokenRef, ApiKeyError, ApiKeyRef, AuthnFailure, Credential, CredentialRef, TokenError,
};
use zeroize::Zeroizing;

/// The longest `Authorization` value accepted, in bytes (before trimming).
pub const MAX_AUTHORIZATION_LEN: usize = 8192;

/// Authentication schemes named in errors: the IANA HTTP Authentication Scheme
/// Registry and a few common unregistered ones. Any other first word is not named,
/// since it might be a secret sent by mistake.
const KNOWN_SCHEMES: &[&str] = &[
    "Basic",
    "Concealed",
    "Digest",
    "DPoP",
    "GNAP",
    "HOBA",
    "Mutual",
    "Negotiate",
    "NTLM",
    "OAuth",
    "PrivateToken",
    "SCRAM-SHA-1",
    "SCRAM-SHA-256",
    "vapid",
    "AWS4-HMAC-SHA256",
    "Token",
    "ApiKey",
];

/// Why an `Authorization` value is not a credential. Never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The value is empty or only whitespace.
    #[error("the authorization value is empty")]
    Empty,
    /// The value is longer than [`MAX_AUTHORIZATION_LEN`].
    #[error("the authorization value is {len} bytes long; the limit is {MAX_AUTHORIZATION_LEN}")]
    TooLong {
        /// The length given.
        len: usize,
    },
    /// The value holds CR, LF, NUL, DEL or another control byte.
    #[error("the authorization value contains a control character at byte {position}")]
    ControlByte {
        /// Zero-based position in the trimmed value.
        position: usize,
    },
    /// The value holds a byte outside ASCII.
    #[error("the authorization value contains a non-ASCII character at byte {position}")]
    NonAscii {
        /// Zero-based position in the trimmed value.
        position: usize,
    },
    /// `Bearer` with no token after it.
    #[error("`Bearer` is not followed by a token")]
    MissingToken,
    /// A tab separates `Bearer` from the token; RFC 6750 §2.1 allows only spaces.
    #[error("a tab separates `Bearer` from its token; only spaces are allowed")]
    TabSeparator,
    /// The token after `Bearer` is not a `b64token`.
    #[error("invalid bearer token: {0}")]
    InvalidToken(TokenError),
    /// The value (a single word) is not a valid API key.
    #[error("invalid api key: {0}")]
    InvalidApiKey(ApiKeyError),
    /// A known authentication scheme this API does not support.
    #[error(
        "the `{scheme}` authentication scheme is not supported; use `Bearer <token>` or an api key"
    )]
    UnsupportedScheme {
        /// The scheme, as the registry spells it.
        scheme: &'static str,
    },
    /// The value has a first word and more, and the first word is not a scheme this
    /// crate knows. It is not named, since it might be a secret.
    #[error(
        "the value starts with an unknown authentication scheme ({len} characters); use `Bearer <token>` or an api key"
    )]
    UnknownScheme {
        /// The first word's length.
        len: usize,
    },
    /// More than one `Authorization` value was sent (RFC 6750 §3.1 `invalid_request`).
    #[error("{count} authorization values were sent; exactly one is allowed")]
    MultipleValues {
        /// How many.
        count: usize,
    },
}

impl AuthorizationError {
    /// Whether the error is best answered as if no credentials were sent, without an
    /// error code (RFC 6750 §3.1): an empty value, or an unsupported method.
    pub fn is_no_credentials(&self) -> bool {
        matches!(
            self,
            AuthorizationError::Empty
                | AuthorizationError::UnsupportedScheme { .. }
                | AuthorizationError::UnknownScheme { .. }
        )
    }

    /// Whether the request itself is malformed (400 `invalid_request`) rather than
    /// its credentials (401).
    pub fn is_invalid_request(&self) -> bool {
        matches!(self, AuthorizationError::MultipleValues { .. })
    }

    /// The authentication failure this error amounts to, for the audit record and the
    /// response, named for what it is: an empty value, an unsupported scheme (named
    /// only when it is a registered one), several values, or malformed credentials.
    pub fn failure(&self) -> AuthnFailure {
        match *self {
            AuthorizationError::Empty => AuthnFailure::Empty,
            AuthorizationError::UnsupportedScheme { scheme } => AuthnFailure::UnsupportedScheme {
                scheme: Some(scheme),
            },
            AuthorizationError::UnknownScheme { .. } => {
                AuthnFailure::UnsupportedScheme { scheme: None }
            }
            AuthorizationError::MultipleValues { count } => AuthnFailure::MultipleValues { count },
            AuthorizationError::TooLong { .. }
            | AuthorizationError::ControlByte { .. }
            | AuthorizationError::NonAscii { .. }
            | AuthorizationError::MissingToken
            | AuthorizationError::TabSeparator
            | AuthorizationError::InvalidToken(_)
            | AuthorizationError::InvalidApiKey(_) => AuthnFailure::Malformed,
        }
    }
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Removes leading and trailing spaces and tabs: RFC 9110 §5.5 says they are not part
/// of the field value.
fn trim_ows(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&b| !is_ows(b)).unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| !is_ows(b))
        .map_or(start, |e| e.saturating_add(1));
    v.get(start..end).unwrap_or(&[])
}

/// Parses one `Authorization` field value.
///
/// ```
/// use pw_auth_core::Credential;
/// use pw_auth_http::{parse_authorization, AuthorizationError};
/// // RFC 6750 §2.1's example.
/// assert!(matches!(parse_authorization(b"Bearer mF_9.B5f-4.1JqM"), Ok(Credential::Bearer(_))));
/// assert!(matches!(parse_authorization(b"my-api-key-123"), Ok(Credential::ApiKey(_))));
/// assert_eq!(parse_authorization(b"Bearer"), Err(AuthorizationError::MissingToken));
/// assert_eq!(
///     parse_authorization(b"Basic dXNlcjpwYXNz").unwrap_err().to_string(),
///     "the `Basic` authentication scheme is not supported; use `Bearer <token>` or an api key"
/// );
/// ```
pub fn parse_authorization(value: &[u8]) -> Result<Credential, AuthorizationError> {
    parse_authorization_ref(value).map(|c| c.to_credential())
}

/// [`parse_authorization`] without copying the secret: the credential borrows from
/// `value`. A server that only looks records up needs nothing more than its
/// [`digest`](CredentialRef::digest); parsing then allocates nothing. The same values
/// are accepted and refused, with the same errors.
///
/// ```
/// use pw_auth_core::{AccessToken, CredentialRef};
/// use pw_auth_http::parse_authorization_ref;
/// let header = b"Bearer mF_9.B5f-4.1JqM";
/// let Ok(CredentialRef::Bearer(token)) = parse_authorization_ref(header) else { panic!() };
/// assert_eq!(token.digest(), AccessToken::new("mF_9.B5f-4.1JqM".into())?.digest());
/// # Ok::<(), pw_auth_core::TokenError>(())
/// ```
pub fn parse_authorization_ref(value: &[u8]) -> Result<CredentialRef<'_>, AuthorizationError> {
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(AuthorizationError::TooLong { len: value.len() });
    }
    let v = trim_ows(value);
    match well_formed(v) {
        Some(credential) => Ok(credential),
        None => by_the_grammar(v),
    }
}

/// The path a well-formed value takes, in one pass over the token or key: `Bearer`
/// and spaces, then the token checked by its own grammar; or a single word checked as
/// a key. That check covers everything [`by_the_grammar`] would (a valid token or key
/// holds no control byte, non-ASCII byte, space or tab), so a value accepted here is
/// accepted there, as the same credential. Anything refused here is parsed again
/// there, which names the error.
fn well_formed(v: &[u8]) -> Option<CredentialRef<'_>> {
    if let Some((scheme, rest)) = v.split_at_checked(6)
        && scheme.eq_ignore_ascii_case(b"bearer")
        && let Some(spaced) = rest.strip_prefix(b" ")
    {
        let start = spaced.iter().position(|&b| b != b' ')?;
        let token = spaced.get(start..)?;
        return AccessTokenRef::from_bytes(token)
            .ok()
            .map(CredentialRef::Bearer);
    }
    ApiKeyRef::from_bytes(v).ok().map(CredentialRef::ApiKey)
}

/// The whole grammar, in the order its errors are reported: empty, control and
/// non-ASCII bytes (by position), then the scheme, then the token or key.
fn by_the_grammar(v: &[u8]) -> Result<CredentialRef<'_>, AuthorizationError> {
    if v.is_empty() {
        return Err(AuthorizationError::Empty);
    }
    for (position, &b) in v.iter().enumerate() {
        if b >= 0x80 {
            return Err(AuthorizationError::NonAscii { position });
        }
        if (b < 0x20 && b != b'\t') || b == 0x7f {
            return Err(AuthorizationError::ControlByte { position });
        }
    }
    // All ASCII from here on, so the conversion cannot fail.
    let text = std::str::from_utf8(v).map_err(|_| AuthorizationError::NonAscii { position: 0 })?;
    match text.split_once(' ') {
        None => single_word(text),
        Some((scheme, rest)) => scheme_and_rest(scheme, rest),
    }
}

fn single_word(text: &str) -> Result<CredentialRef<'_>, AuthorizationError> {
    if text.eq_ignore_ascii_case("bearer") {
        return Err(AuthorizationError::MissingToken);
    }
    if let Some((first, _)) = text.split_once('\t')
        && first.eq_ignore_ascii_case("bearer")
    {
        return Err(AuthorizationError::TabSeparator);
    }
    ApiKeyRef::new(text)
        .map(CredentialRef::ApiKey)
        .map_err(AuthorizationError::InvalidApiKey)
}

fn scheme_and_rest<'a>(
    scheme: &str,
    rest: &'a str,
) -> Result<CredentialRef<'a>, AuthorizationError> {
    if scheme.eq_ignore_ascii_case("bearer") {
        let token = rest.trim_start_matches(' ');
        if token.is_empty() {
            return Err(AuthorizationError::MissingToken);
        }
        if token.starts_with('\t') {
            return Err(AuthorizationError::TabSeparator);
        }
        return AccessTokenRef::new(token)
            .map(CredentialRef::Bearer)
            .map_err(AuthorizationError::InvalidToken);
    }
    let known = scheme
        .bytes()
        .all(is_tchar)
        .then(|| {
            KNOWN_SCHEMES
                .iter()
                .find(|k| k.eq_ignore_ascii_case(scheme))
        })
        .flatten();
    match known {
        Some(&scheme) => Err(AuthorizationError::UnsupportedScheme { scheme }),
        None => Err(AuthorizationError::UnknownScheme { len: scheme.len() }),
    }
}

/// Parses every `Authorization` field line of a request, as the caller received them.
/// None is `Ok(None)` (no credentials); exactly one is parsed; more than one is
/// [`AuthorizationError::MultipleValues`] — never "first one wins".
pub fn parse_authorization_fields<'a, I>(
    values: I,
) -> Result<Option<Credential>, AuthorizationError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    parse_authorization_fields_ref(values).map(|c| c.map(|c| c.to_credential()))
}

/// [`parse_authorization_fields`] without copying the secret (see
/// [`parse_authorization_ref`]).
pub fn parse_authorization_fields_ref<'a, I>(
    values: I,
) -> Result<Option<CredentialRef<'a>>, AuthorizationError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut values = values.into_iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let extra = values.count();
    if extra > 0 {
        return Err(AuthorizationError::MultipleValues {
            count: extra.saturating_add(1),
        });
    }
    parse_authorization_ref(first).map(Some)
}

/// The `Authorization` value for a credential: the key itself, or `Bearer <token>`.
/// The result holds a secret and is zeroized on drop.
///
/// ```
/// use pw_auth_core::{AccessToken, Credential};
/// use pw_auth_http::{format_authorization, parse_authorization};
/// let c = Credential::Bearer(AccessToken::new("mF_9.B5f-4.1JqM".into())?);
/// let v = format_authorization(&c);
/// assert_eq!(v.as_str(), "Bearer mF_9.B5f-4.1JqM");
/// assert_eq!(parse_authorization(v.as_bytes()), Ok(c));
/// # Ok::<(), pw_auth_core::TokenError>(())
/// ```
pub fn format_authorization(credential: &Credential) -> Zeroizing<String> {
    match credential {
        Credential::ApiKey(k) => Zeroizing::new(k.expose_secret().to_owned()),
        Credential::Bearer(t) => {
            let secret = t.expose_secret();
            let mut s = Zeroizing::new(String::with_capacity(secret.len().saturating_add(7)));
            s.push_str("Bearer ");
            s.push_str(secret);
            s
        }
    }
}

#[cfg(test)]
mod tests;
