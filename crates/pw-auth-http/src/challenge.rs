//! `WWW-Authenticate` challenges: parsed with the whole RFC 9110 §11 grammar, as a
//! recipient must accept it (§5.6.1.2), and built for RFC 6750 §3 `Bearer` refusals.
//!
//! ```text
//! WWW-Authenticate = #challenge                                  ; RFC 9110 §11.6.1
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]  ; §11.3
//! auth-param       = token BWS "=" BWS ( token / quoted-string ) ; §11.2
//! token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! #element         = [ element ] *( OWS "," OWS [ element ] )   ; §5.6.1.2, recipient
//! ```

use std::borrow::Cow;
use std::fmt;

use pw_auth_core::grammar;

mod parse;

pub use parse::{parse_challenges, parse_challenges_ref};

/// The longest `WWW-Authenticate` input accepted (all lines together), in bytes.
pub const MAX_CHALLENGE_INPUT_LEN: usize = 16 * 1024;
/// The most list elements accepted: up to this many non-empty elements (challenges
/// and parameters), and up to this many empty ones.
pub const MAX_LIST_ELEMENTS: usize = 256;

/// Why a `WWW-Authenticate` value could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// The input is longer than [`MAX_CHALLENGE_INPUT_LEN`].
    #[error("the challenge input is {len} bytes long; the limit is {MAX_CHALLENGE_INPUT_LEN}")]
    TooLong {
        /// The length given.
        len: usize,
    },
    /// More than [`MAX_LIST_ELEMENTS`] list elements, or empty ones.
    #[error("more than {MAX_LIST_ELEMENTS} list elements")]
    TooManyElements,
    /// The input is not valid UTF-8.
    #[error("the challenge input is not valid UTF-8")]
    NotUtf8,
    /// A control byte other than HTAB.
    #[error("line {line}, column {column}: a control character is not allowed")]
    ControlByte {
        /// 1-based field line.
        line: usize,
        /// 1-based byte column in the line.
        column: usize,
    },
    /// Something other than what the grammar allows at this point.
    #[error("line {line}, column {column}: expected {expected}")]
    Expected {
        /// 1-based field line.
        line: usize,
        /// 1-based byte column in the line.
        column: usize,
        /// What was expected.
        expected: &'static str,
    },
    /// A quoted-string is not closed.
    #[error("line {line}, column {column}: unterminated quoted-string")]
    Unterminated {
        /// 1-based field line.
        line: usize,
        /// 1-based byte column of its opening quote.
        column: usize,
    },
    /// A parameter name occurs twice in one challenge (RFC 9110 §11.2).
    #[error("line {line}: parameter `{name}` occurs twice in one challenge")]
    DuplicateParam {
        /// 1-based field line.
        line: usize,
        /// The parameter name.
        name: String,
    },
    /// No challenge at all (RFC 9110 §11.6.1 requires at least one on a 401).
    #[error("no challenge")]
    NoChallenge,
}

/// Why a challenge cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeBuildError {
    /// A scheme or parameter name is not an RFC 9110 `token`.
    #[error("`{0}` is not a token")]
    NotAToken(String),
    /// A token68 does not match the grammar.
    #[error("the token68 is not valid")]
    NotAToken68,
    /// A parameter value holds a control character (other than HTAB) or is not
    /// representable in a quoted-string.
    #[error("the value of `{name}` contains a character a quoted-string cannot hold")]
    BadValue {
        /// The parameter.
        name: String,
    },
    /// A parameter name occurs twice.
    #[error("parameter `{0}` occurs twice")]
    DuplicateParam(String),
}

/// One challenge: a scheme and either a token68 or a list of parameters (in order,
/// quoted-pairs undone). Scheme and parameter names compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    token68: Option<String>,
    params: Vec<(String, String)>,
}

/// [`grammar::is_tchar`] for a `char`.
fn is_tchar(c: char) -> bool {
    u8::try_from(c).is_ok_and(grammar::is_tchar)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_tchar)
}

fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(grammar::is_b64token_char)
}

/// Whether `c` can appear in a quoted-string, escaped or not (RFC 9110 §5.6.4):
/// HTAB, SP, VCHAR and obs-text (here: any non-ASCII character).
fn quotable(c: char) -> bool {
    c == '\t' || (' '..='~').contains(&c) || !c.is_ascii()
}

impl Challenge {
    /// A challenge with parameters. Names must be tokens, distinct case-insensitively;
    /// values must be representable in a quoted-string.
    pub fn with_params<N, V>(
        scheme: &str,
        params: impl IntoIterator<Item = (N, V)>,
    ) -> Result<Challenge, ChallengeBuildError>
    where
        N: Into<String>,
        V: Into<String>,
    {
        if !is_token(scheme) {
            return Err(ChallengeBuildError::NotAToken(scheme.to_owned()));
        }
        let mut out: Vec<(String, String)> = Vec::new();
        for (n, v) in params {
            let (n, v) = (n.into(), v.into());
            if !is_token(&n) {
                return Err(ChallengeBuildError::NotAToken(n));
            }
            if !v.chars().all(quotable) {
                return Err(ChallengeBuildError::BadValue { name: n });
            }
            if out.iter().any(|(m, _)| m.eq_ignore_ascii_case(&n)) {
                return Err(ChallengeBuildError::DuplicateParam(n));
            }
            out.push((n, v));
        }
        Ok(Challenge {
            scheme: scheme.to_owned(),
            token68: None,
            params: out,
        })
    }

    /// A challenge with a token68.
    pub fn with_token68(scheme: &str, token68: &str) -> Result<Challenge, ChallengeBuildError> {
        if !is_token(scheme) {
            return Err(ChallengeBuildError::NotAToken(scheme.to_owned()));
        }
        if !is_token68(token68) {
            return Err(ChallengeBuildError::NotAToken68);
        }
        Ok(Challenge {
            scheme: scheme.to_owned(),
            token68: Some(token68.to_owned()),
            params: Vec::new(),
        })
    }

    /// A challenge from parts the caller has already checked: a token scheme and
    /// distinct token names with quotable values.
    pub(crate) fn prechecked(scheme: &str, params: Vec<(String, String)>) -> Challenge {
        Challenge {
            scheme: scheme.to_owned(),
            token68: None,
            params,
        }
    }

    /// The scheme, as sent.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Whether the scheme is `name`, case-insensitively.
    pub fn scheme_is(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// The token68, if the challenge has one.
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    /// The parameters, in order, with quoted-pairs undone.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// A parameter's value by name, case-insensitively.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The challenge as a field value: `scheme token68`, or `scheme name="value", …` with
/// every value a quoted-string (`"` and `\` escaped).
impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        if let Some(t) = &self.token68 {
            return write!(f, " {t}");
        }
        for (i, (name, value)) in self.params.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{name}=\"")?;
            for c in value.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        }
        Ok(())
    }
}

/// Formats several challenges as one field value, separated by `, `.
pub fn format_challenges(challenges: &[Challenge]) -> String {
    challenges
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One challenge borrowed from the field lines it was parsed from: the scheme, a
/// token68 and parameter names are slices of the input, and so is every parameter
/// value that holds no quoted-pair (a value with one is unescaped into its own
/// string). [`parse_challenges_ref`] gives these; [`ChallengeRef::to_challenge`]
/// makes an owned [`Challenge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRef<'a> {
    scheme: &'a str,
    token68: Option<&'a str>,
    params: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> ChallengeRef<'a> {
    /// The scheme, as sent.
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// Whether the scheme is `name`, case-insensitively.
    pub fn scheme_is(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// The token68, if the challenge has one.
    pub fn token68(&self) -> Option<&'a str> {
        self.token68
    }

    /// The parameters, in order, with quoted-pairs undone.
    pub fn params(&self) -> &[(&'a str, Cow<'a, str>)] {
        &self.params
    }

    /// A parameter's value by name, case-insensitively.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// The challenge, owned.
    pub fn to_challenge(&self) -> Challenge {
        Challenge {
            scheme: self.scheme.to_owned(),
            token68: self.token68.map(str::to_owned),
            params: self
                .params
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.clone().into_owned()))
                .collect(),
        }
    }
}
