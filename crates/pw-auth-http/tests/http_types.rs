//! The `http` feature: HeaderMap in, HeaderValue out.

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use pw_auth_core::{AccessToken, ApiKey, AuthnFailure, Credential};
use pw_auth_http::*;

#[test]
fn reads_every_authorization_line() {
    let mut h = HeaderMap::new();
    assert_eq!(credential_from_headers(&h), Ok(None));
    h.append(AUTHORIZATION, HeaderValue::from_static("legacy-api-key"));
    assert!(matches!(
        credential_from_headers(&h),
        Ok(Some(Credential::ApiKey(_)))
    ));
    h.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
    assert_eq!(
        credential_from_headers(&h),
        Err(AuthorizationError::MultipleValues { count: 2 })
    );
}

/// The borrowed reader: the same credential's digest, none, or the same error.
#[test]
fn reads_every_authorization_line_borrowed() {
    let mut h = HeaderMap::new();
    assert!(matches!(credential_ref_from_headers(&h), Ok(None)));
    h.append(AUTHORIZATION, HeaderValue::from_static("legacy-api-key"));
    let key = ApiKey::new("legacy-api-key".into()).unwrap();
    assert_eq!(
        credential_ref_from_headers(&h).unwrap().map(|c| c.digest()),
        Some(pw_auth_core::CredentialDigest::ApiKey(key.digest()))
    );
    h.append(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
    assert_eq!(
        credential_ref_from_headers(&h).map(|c| c.map(|c| c.digest())),
        Err(AuthorizationError::MultipleValues { count: 2 })
    );
}

#[test]
fn header_values_are_sensitive_and_round_trip() {
    for c in [
        Credential::Bearer(AccessToken::new("mF_9.B5f-4.1JqM".into()).unwrap()),
        Credential::ApiKey(ApiKey::new("legacy-api-key".into()).unwrap()),
    ] {
        let v = authorization_header_value(&c);
        assert!(v.is_sensitive());
        assert_eq!(format!("{v:?}"), "Sensitive");
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, v);
        assert_eq!(credential_from_headers(&h), Ok(Some(c)));
    }
}

#[test]
fn outcomes_convert() {
    let o = Responder::new("patchworks")
        .unwrap()
        .unauthenticated(AuthnFailure::Missing);
    assert_eq!(o.status_code(), StatusCode::UNAUTHORIZED);
    let map = o.header_map();
    assert_eq!(
        map.get(WWW_AUTHENTICATE).unwrap(),
        r#"Bearer realm="patchworks""#
    );
    let cs = challenges_from_headers(&map).unwrap();
    assert!(cs[0].scheme_is("Bearer"));
}

/// What a session sends becomes a sensitive header value holding exactly its text.
#[test]
fn send_header_value_keeps_the_text_and_hides_it() {
    let v = send_header_value("Bearer mF_9.B5f-4.1JqM").unwrap();
    assert_eq!(v.as_bytes(), b"Bearer mF_9.B5f-4.1JqM");
    assert!(v.is_sensitive());
    assert_eq!(format!("{v:?}"), "Sensitive");
    assert!(send_header_value("Bearer a\nb").is_none());
}
