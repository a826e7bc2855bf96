//! Interop with the `http` crate (feature `http`).

use http::header::{AUTHORIZATION, HeaderName, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use pw_auth_core::{Credential, CredentialRef};

use crate::authorization::{
    AuthorizationError, format_authorization, parse_authorization_fields,
    parse_authorization_fields_ref,
};
use crate::challenge::{Challenge, ChallengeError, parse_challenges};
use crate::client::{Reaction, Session};
use crate::outcome::Outcome;

/// A header value marked sensitive, or `None` if `text` cannot be one.
fn sensitive(text: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(text).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// The `Authorization` value of a [`Next::Send`](crate::Next::Send) (its
/// `authorization` field) as a [`HeaderValue`] marked sensitive, so that the `http`
/// crate and the clients built on it never print it. `None` only if the text is not
/// a valid header value, which a session never produces.
///
/// ```
/// use pw_auth_core::ApiKey;
/// use pw_auth_http::{Next, Session, send_header_value};
/// let mut s = Session::with_api_key(ApiKey::new("my-api-key-123".to_owned())?);
/// let Next::Send { authorization, .. } = s.next(time::OffsetDateTime::UNIX_EPOCH) else { unreachable!() };
/// let v = send_header_value(&authorization).unwrap();
/// assert!(v.is_sensitive());
/// assert_eq!(format!("{v:?}"), "Sensitive");
/// # Ok::<(), pw_auth_core::ApiKeyError>(())
/// ```
pub fn send_header_value(authorization: &str) -> Option<HeaderValue> {
    sensitive(authorization)
}

impl Session {
    /// [`Session::on_response`] with the response's status and headers as the `http`
    /// crate has them (every `WWW-Authenticate` line is read).
    pub fn on_http_response(
        &mut self,
        generation: u64,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Reaction {
        let lines: Vec<&[u8]> = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .map(HeaderValue::as_bytes)
            .collect();
        self.on_response(generation, status.as_u16(), &lines)
    }
}

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

/// [`credential_from_headers`] without copying the secret: the credential borrows
/// from `headers`, and its [`digest`](CredentialRef::digest) is what a server looks
/// records up and authenticates by.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
/// use pw_auth_core::{AccessToken, CredentialDigest};
/// let mut h = HeaderMap::new();
/// h.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
/// let digest = pw_auth_http::credential_ref_from_headers(&h)?.map(|c| c.digest());
/// let token = AccessToken::new("abc".into()).unwrap();
/// assert_eq!(digest, Some(CredentialDigest::Bearer(token.digest())));
/// # Ok::<(), pw_auth_http::AuthorizationError>(())
/// ```
pub fn credential_ref_from_headers(
    headers: &HeaderMap,
) -> Result<Option<CredentialRef<'_>>, AuthorizationError> {
    parse_authorization_fields_ref(
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
    sensitive(&text).unwrap_or_else(|| HeaderValue::from_static(""))
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

    /// The whole response as an [`http::Response`] with its JSON body (for an allowed
    /// request, the 200 status and headers with an empty body).
    pub fn to_http_response(&self) -> http::Response<String> {
        let mut r = http::Response::new(self.body().to_owned());
        *r.status_mut() = self.status_code();
        *r.headers_mut() = self.header_map();
        r
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
