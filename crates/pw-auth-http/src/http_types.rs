//! Interop with the `http` crate (feature `http`).

use http::header::{AUTHORIZATION, HeaderName, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use pw_auth_core::Credential;

use crate::authorization::{AuthorizationError, format_authorization, parse_authorization_fields};
use crate::challenge::{Challenge, ChallengeError, parse_challenges};
use crate::outcome::Outcome;

/// Reads every `Authorization` value of a request: `Ok(None)` if there is none, an
/// error if there are several or the one is invalid.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
/// let mut h = HeaderMap::new();
/// h.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
/// assert!(pw_auth_http::credential_from_headers(&h)?.is_some());
/// h.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
/// assert!(pw_auth_http::credential_from_headers(&h).is_err());
/// # Ok::<(), pw_auth_http::AuthorizationError>(())
/// ```
pub fn credential_from_headers(
    headers: &HeaderMap,
) -> Result<Option<Credential>, AuthorizationError> {
    parse_authorization_fields(
        headers
            .get_all(AUTHORIZATION)
            .iter()
            .map(HeaderValue::as_bytes),
    )
}

/// The `Authorization` header value for a credential, marked sensitive so that the
/// `http` crate never prints it.
pub fn authorization_header_value(credential: &Credential) -> HeaderValue {
    let text = format_authorization(credential);
    // A valid credential is visible ASCII and spaces, always a valid header value.
    let mut v = HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""));
    v.set_sensitive(true);
    v
}

/// Every challenge of a response's `WWW-Authenticate` lines, in order.
pub fn challenges_from_headers(headers: &HeaderMap) -> Result<Vec<Challenge>, ChallengeError> {
    parse_challenges(
        headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .map(HeaderValue::as_bytes),
    )
}

impl Outcome {
    /// The status as an [`http::StatusCode`].
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The headers as an [`http::HeaderMap`].
    pub fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in self.headers() {
            if let Ok(v) = HeaderValue::from_str(value) {
                map.append(HeaderName::from_static(name), v);
            }
        }
        map
    }
}
