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

use std::fmt;

use pw_auth_core::grammar;

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

/// [`grammar::is_b64token_char`] (the `token68` body) for a `char`.
fn is_token68_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(grammar::is_b64token_char)
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

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    line: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos..).and_then(|r| r.chars().next())
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos = self.pos.saturating_add(c.len_utf8());
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    fn expected(&self, expected: &'static str) -> ChallengeError {
        ChallengeError::Expected {
            line: self.line,
            column: self.pos.saturating_add(1),
            expected,
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        self.s.get(start..self.pos).unwrap_or("")
    }

    fn token(&mut self, what: &'static str) -> Result<String, ChallengeError> {
        let t = self.take_while(is_tchar).to_owned();
        if t.is_empty() {
            return Err(self.expected(what));
        }
        Ok(t)
    }

    fn quoted_string(&mut self) -> Result<String, ChallengeError> {
        let open = self.pos;
        self.bump(); // the opening DQUOTE
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(ChallengeError::Unterminated {
                        line: self.line,
                        column: open.saturating_add(1),
                    });
                }
                Some('"') => {
                    self.bump();
                    return Ok(out);
                }
                Some('\\') => {
                    self.bump();
                    // Any character may follow: every one left is quotable, since
                    // control bytes were refused before the line was parsed.
                    let Some(c) = self.peek() else {
                        return Err(ChallengeError::Unterminated {
                            line: self.line,
                            column: open.saturating_add(1),
                        });
                    };
                    out.push(c);
                    self.bump();
                }
                Some(c) => {
                    out.push(c);
                    self.bump();
                }
            }
        }
    }

    /// Skips a run of `OWS "," OWS`; returns how many commas it held.
    fn skip_commas(&mut self) -> usize {
        let mut commas = 0usize;
        loop {
            self.skip_ows();
            if self.peek() != Some(',') {
                return commas;
            }
            self.bump();
            commas = commas.saturating_add(1);
        }
    }

    /// Whether the next element is an auth-param (`token BWS "="`), without consuming.
    fn param_follows(&self) -> bool {
        let rest = self.s.get(self.pos..).unwrap_or("");
        let after_name = rest.trim_start_matches(is_tchar);
        after_name.len() < rest.len() && after_name.trim_start_matches([' ', '\t']).starts_with('=')
    }

    /// Whether the list element ends here (end of line or a comma, after OWS).
    fn element_ends(&self) -> bool {
        let rest = self.s.get(self.pos..).unwrap_or("");
        let rest = rest.trim_start_matches([' ', '\t']);
        rest.is_empty() || rest.starts_with(',')
    }

    /// `token BWS "=" BWS ( token / quoted-string )`, added to `c`.
    fn param(&mut self, c: &mut Challenge) -> Result<(), ChallengeError> {
        let name = self.token("a parameter name")?;
        self.skip_ows();
        if self.peek() != Some('=') {
            return Err(self.expected("`=` after a parameter name"));
        }
        self.bump();
        self.skip_ows();
        let value = match self.peek() {
            Some('"') => self.quoted_string()?,
            _ => self.token("a token or quoted-string value")?,
        };
        if c.params.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            return Err(ChallengeError::DuplicateParam {
                line: self.line,
                name,
            });
        }
        c.params.push((name, value));
        Ok(())
    }

    /// `auth-scheme [ 1*SP ( token68 / auth-param ) ]`: a challenge's first element,
    /// and whether parameters may follow it as further list elements (only after
    /// `1*SP`: in `Basic, realm="x"` the challenge `Basic` ends at the comma).
    fn head(&mut self) -> Result<(Challenge, bool), ChallengeError> {
        let scheme = self.token("an auth-scheme")?;
        let mut c = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        let spaced = self.peek() == Some(' ');
        if self.element_ends() {
            return Ok((c, spaced));
        }
        if self.take_while(|ch| ch == ' ').is_empty() || self.peek() == Some('\t') {
            return Err(self.expected("a space after the auth-scheme"));
        }
        let save = self.pos;
        let body = self.take_while(is_token68_char).len();
        if body > 0 {
            self.take_while(|ch| ch == '=');
            if self.element_ends() {
                c.token68 = self.s.get(save..self.pos).map(str::to_owned);
                return Ok((c, false));
            }
        }
        self.pos = save;
        self.param(&mut c)?;
        Ok((c, true))
    }

    /// One field line's elements, appended to `out`. `open` says whether the last
    /// challenge (of this line or an earlier one) may take further parameters.
    fn line(
        &mut self,
        out: &mut Vec<Challenge>,
        budget: &mut Budget,
        open: &mut bool,
    ) -> Result<(), ChallengeError> {
        if let Some(position) = self
            .s
            .bytes()
            .position(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(ChallengeError::ControlByte {
                line: self.line,
                column: position.saturating_add(1),
            });
        }
        let mut after_element = false;
        loop {
            // After an element, the first comma separates; every other is an empty
            // element (RFC 9110 §5.6.1.2).
            let commas = self.skip_commas();
            let empty = if after_element {
                commas.saturating_sub(1)
            } else {
                commas
            };
            budget.empty = budget
                .empty
                .checked_sub(empty)
                .ok_or(ChallengeError::TooManyElements)?;
            if self.at_end() {
                return Ok(());
            }
            budget.elements = budget
                .elements
                .checked_sub(1)
                .ok_or(ChallengeError::TooManyElements)?;
            after_element = true;
            if self.param_follows() {
                // A parameter continues the last challenge (RFC 9110 §11.6.1 note),
                // which must exist, must not be a token68 one, and must have had a
                // space after its scheme.
                match out.last_mut() {
                    Some(c) if c.token68.is_some() => {
                        return Err(self
                            .expected("a new challenge; a token68 challenge takes no parameters"));
                    }
                    Some(_) if !*open => {
                        return Err(self.expected(
                            "a new challenge; parameters follow their auth-scheme after a space, not a comma",
                        ));
                    }
                    Some(c) => self.param(c)?,
                    None => return Err(self.expected("an auth-scheme before any parameter")),
                }
            } else {
                let (c, params_may_follow) = self.head()?;
                out.push(c);
                *open = params_may_follow;
            }
            self.skip_ows();
            if !self.at_end() && self.peek() != Some(',') {
                return Err(self.expected("`,` between list elements"));
            }
        }
    }
}

/// What a list may still hold: non-empty elements, and empty ones.
struct Budget {
    elements: usize,
    empty: usize,
}

/// Parses every `WWW-Authenticate` field line of a response, in order, into its
/// challenges. Empty list elements and optional whitespace are accepted as RFC 9110
/// §5.6.1.2 requires; anything else outside the grammar is an error with its place.
///
/// ```
/// use pw_auth_http::parse_challenges;
/// // RFC 9110 §11.6.1's example.
/// let cs = parse_challenges([&br#"Basic realm="simple", Newauth realm="apps", type=1, title="Login to \"apps\"""#[..]])?;
/// assert_eq!(cs.len(), 2);
/// assert_eq!(cs[1].param("title"), Some(r#"Login to "apps""#));
/// # Ok::<(), pw_auth_http::ChallengeError>(())
/// ```
pub fn parse_challenges<'a, I>(lines: I) -> Result<Vec<Challenge>, ChallengeError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut out = Vec::new();
    let mut budget = Budget {
        elements: MAX_LIST_ELEMENTS,
        empty: MAX_LIST_ELEMENTS,
    };
    let mut total = 0usize;
    let mut open = false;
    for (line, bytes) in lines.into_iter().enumerate() {
        total = total.saturating_add(bytes.len());
        if total > MAX_CHALLENGE_INPUT_LEN {
            return Err(ChallengeError::TooLong { len: total });
        }
        let s = std::str::from_utf8(bytes).map_err(|_| ChallengeError::NotUtf8)?;
        let line = line.saturating_add(1);
        Parser { s, pos: 0, line }.line(&mut out, &mut budget, &mut open)?;
    }
    if out.is_empty() {
        return Err(ChallengeError::NoChallenge);
    }
    Ok(out)
}
