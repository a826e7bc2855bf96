//! RFC 6750 §3: the `Bearer` challenge a resource server sends, and reads back.

use std::fmt;

use crate::challenge::{Challenge, ChallengeBuildError};

/// An RFC 6750 §3.1 error code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BearerError {
    /// `invalid_request` (400): malformed request, e.g. several credentials.
    InvalidRequest,
    /// `invalid_token` (401): expired, revoked, malformed or otherwise invalid.
    InvalidToken,
    /// `insufficient_scope` (403): the credential may not do this.
    InsufficientScope,
    /// An extension code received from a server.
    Other(String),
}

impl BearerError {
    /// The code as sent.
    pub fn as_str(&self) -> &str {
        match self {
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
            BearerError::Other(s) => s,
        }
    }

    fn parse(s: &str) -> BearerError {
        match s {
            "invalid_request" => BearerError::InvalidRequest,
            "invalid_token" => BearerError::InvalidToken,
            "insufficient_scope" => BearerError::InsufficientScope,
            other => BearerError::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `%x20-21 / %x23-5B / %x5D-7E`: `error` and `error_description` (RFC 6750 §3).
fn nqschar(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

/// `%x21 / %x23-5B / %x5D-7E`: `error_uri` and each scope value (RFC 6750 §3).
fn nqchar(c: char) -> bool {
    c != ' ' && nqschar(c)
}

fn check(name: &str, value: &str, ok: impl Fn(&str) -> bool) -> Result<(), ChallengeBuildError> {
    if ok(value) {
        Ok(())
    } else {
        Err(ChallengeBuildError::BadValue {
            name: name.to_owned(),
        })
    }
}

fn valid_scope(s: &str) -> bool {
    !s.is_empty() && s.split(' ').all(|v| !v.is_empty() && v.chars().all(nqchar))
}

/// A `Bearer` challenge: `realm`, and where they apply `error`, `error_description`,
/// `error_uri` and `scope`, each checked against the character sets of RFC 6750 §3.
///
/// ```
/// use pw_auth_http::{BearerChallenge, BearerError};
/// // RFC 6750 §3's example of a refusal for an expired token.
/// let c = BearerChallenge::new()
///     .with_realm("example")?
///     .with_error(BearerError::InvalidToken)
///     .with_description("The access token expired")?;
/// assert_eq!(
///     c.to_string(),
///     r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#
/// );
/// # Ok::<(), pw_auth_http::ChallengeBuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BearerChallenge {
    realm: Option<String>,
    error: Option<BearerError>,
    description: Option<String>,
    uri: Option<String>,
    scope: Option<String>,
}

impl BearerChallenge {
    /// A challenge with no parameters yet.
    pub fn new() -> BearerChallenge {
        BearerChallenge::default()
    }

    /// With a realm: any text a quoted-string can hold (no control characters).
    pub fn with_realm(mut self, realm: &str) -> Result<BearerChallenge, ChallengeBuildError> {
        check("realm", realm, |v| {
            v.chars().all(|c| c == '\t' || !c.is_control())
        })?;
        self.realm = Some(realm.to_owned());
        Ok(self)
    }

    /// With an error code.
    pub fn with_error(mut self, error: BearerError) -> BearerChallenge {
        self.error = Some(error);
        self
    }

    /// With a human-readable description: printable ASCII without `"` or `\`.
    pub fn with_description(mut self, text: &str) -> Result<BearerChallenge, ChallengeBuildError> {
        check("error_description", text, |v| v.chars().all(nqschar))?;
        self.description = Some(text.to_owned());
        Ok(self)
    }

    /// With an error URI: visible ASCII without `"` or `\`.
    pub fn with_error_uri(mut self, uri: &str) -> Result<BearerChallenge, ChallengeBuildError> {
        check("error_uri", uri, |v| !v.is_empty() && v.chars().all(nqchar))?;
        self.uri = Some(uri.to_owned());
        Ok(self)
    }

    /// With a scope: space-separated values of visible ASCII without `"` or `\`.
    pub fn with_scope(mut self, scope: &str) -> Result<BearerChallenge, ChallengeBuildError> {
        check("scope", scope, valid_scope)?;
        self.scope = Some(scope.to_owned());
        Ok(self)
    }

    /// The realm.
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The error code.
    pub fn error(&self) -> Option<&BearerError> {
        self.error.as_ref()
    }

    /// The error description.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The error URI.
    pub fn error_uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// The scope.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// As a generic challenge, parameters in the order realm, error,
    /// error_description, error_uri, scope.
    pub fn to_challenge(&self) -> Challenge {
        let params = [
            ("realm", self.realm.as_deref()),
            ("error", self.error.as_ref().map(BearerError::as_str)),
            ("error_description", self.description.as_deref()),
            ("error_uri", self.uri.as_deref()),
            ("scope", self.scope.as_deref()),
        ];
        let present = params
            .into_iter()
            .filter_map(|(n, v)| v.map(|v| (n.to_owned(), v.to_owned())))
            .collect();
        // Every value was checked against a subset of quoted-string when it was set.
        Challenge::prechecked("Bearer", present)
    }

    /// Reads a received challenge as a `Bearer` one: `None` if the scheme is not
    /// `Bearer` or it carries a token68. Unknown parameters are ignored; known ones
    /// with values outside RFC 6750's character sets are dropped.
    pub fn from_challenge(c: &Challenge) -> Option<BearerChallenge> {
        if !c.scheme_is("Bearer") || c.token68().is_some() {
            return None;
        }
        let mut b = BearerChallenge::new();
        if let Some(v) = c.param("realm") {
            b = b.clone().with_realm(v).unwrap_or(b);
        }
        if let Some(v) = c.param("error").filter(|v| v.chars().all(nqschar)) {
            b.error = Some(BearerError::parse(v));
        }
        if let Some(v) = c.param("error_description") {
            b = b.clone().with_description(v).unwrap_or(b);
        }
        if let Some(v) = c.param("error_uri") {
            b = b.clone().with_error_uri(v).unwrap_or(b);
        }
        if let Some(v) = c.param("scope") {
            b = b.clone().with_scope(v).unwrap_or(b);
        }
        Some(b)
    }
}

impl fmt::Display for BearerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_challenge().fmt(f)
    }
}
