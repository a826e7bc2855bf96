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

/// A parser over one field line, byte by byte: every delimiter of the grammar is
/// ASCII, and non-ASCII bytes (obs-text) appear only inside quoted-strings, where
/// they are taken as they are. So every position the parser stops at is a character
/// boundary, and every slice it takes is text.
struct Parser<'a> {
    s: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// Steps over the byte `peek` just returned (called only after it returned one).
    fn bump(&mut self) {
        self.pos = self.pos.saturating_add(1);
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
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

    /// The run of ASCII bytes satisfying `f` from here.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        self.s.get(start..self.pos).unwrap_or("")
    }

    fn token(&mut self, what: &'static str) -> Result<&'a str, ChallengeError> {
        let t = self.take_while(grammar::is_tchar);
        if t.is_empty() {
            return Err(self.expected(what));
        }
        Ok(t)
    }

    /// A quoted-string's content: borrowed when it holds no quoted-pair.
    fn quoted_string(&mut self) -> Result<Cow<'a, str>, ChallengeError> {
        let open = self.pos;
        let unterminated = ChallengeError::Unterminated {
            line: self.line,
            column: open.saturating_add(1),
        };
        self.bump(); // the opening DQUOTE
        let start = self.pos;
        let rest = self.s.as_bytes().get(start..).unwrap_or(&[]);
        let Some(stop) = rest.iter().position(|&b| b == b'"' || b == b'\\') else {
            return Err(unterminated);
        };
        let end = start.saturating_add(stop);
        if self.s.as_bytes().get(end) == Some(&b'"') {
            self.pos = end.saturating_add(1);
            return Ok(Cow::Borrowed(self.s.get(start..end).unwrap_or("")));
        }
        // A quoted-pair: unescape from here on.
        let mut out = String::from(self.s.get(start..end).unwrap_or(""));
        self.pos = end;
        loop {
            let Some(c) = self.s.get(self.pos..).and_then(|r| r.chars().next()) else {
                return Err(unterminated);
            };
            match c {
                '"' => {
                    self.bump();
                    return Ok(Cow::Owned(out));
                }
                '\\' => {
                    self.bump();
                    // Any character may follow: every one left is quotable, since
                    // control bytes were refused before the line was parsed.
                    let Some(c) = self.s.get(self.pos..).and_then(|r| r.chars().next()) else {
                        return Err(unterminated);
                    };
                    out.push(c);
                    self.pos = self.pos.saturating_add(c.len_utf8());
                }
                c => {
                    out.push(c);
                    self.pos = self.pos.saturating_add(c.len_utf8());
                }
            }
        }
    }

    /// Skips a run of `OWS "," OWS`; returns how many commas it held.
    fn skip_commas(&mut self) -> usize {
        let mut commas = 0usize;
        loop {
            self.skip_ows();
            if self.peek() != Some(b',') {
                return commas;
            }
            self.bump();
            commas = commas.saturating_add(1);
        }
    }

    /// Whether the next element is an auth-param (`token BWS "="`), without consuming.
    fn param_follows(&self) -> bool {
        let rest = self.s.as_bytes().get(self.pos..).unwrap_or(&[]);
        let name = rest.iter().take_while(|&&b| grammar::is_tchar(b)).count();
        name > 0
            && rest
                .iter()
                .skip(name)
                .find(|&&b| b != b' ' && b != b'\t')
                .is_some_and(|&b| b == b'=')
    }

    /// Whether the list element ends here (end of line or a comma, after OWS).
    fn element_ends(&self) -> bool {
        let rest = self.s.as_bytes().get(self.pos..).unwrap_or(&[]);
        rest.iter()
            .find(|&&b| b != b' ' && b != b'\t')
            .is_none_or(|&b| b == b',')
    }

    /// `token BWS "=" BWS ( token / quoted-string )`, added to `c`.
    fn param(&mut self, c: &mut ChallengeRef<'a>) -> Result<(), ChallengeError> {
        let name = self.token("a parameter name")?;
        self.skip_ows();
        if self.peek() != Some(b'=') {
            return Err(self.expected("`=` after a parameter name"));
        }
        self.bump();
        self.skip_ows();
        let value = match self.peek() {
            Some(b'"') => self.quoted_string()?,
            _ => Cow::Borrowed(self.token("a token or quoted-string value")?),
        };
        if c.params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(ChallengeError::DuplicateParam {
                line: self.line,
                name: name.to_owned(),
            });
        }
        c.params.push((name, value));
        Ok(())
    }

    /// `auth-scheme [ 1*SP ( token68 / auth-param ) ]`: a challenge's first element,
    /// and whether parameters may follow it as further list elements (only after
    /// `1*SP`: in `Basic, realm="x"` the challenge `Basic` ends at the comma).
    fn head(&mut self) -> Result<(ChallengeRef<'a>, bool), ChallengeError> {
        let scheme = self.token("an auth-scheme")?;
        let mut c = ChallengeRef {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        let spaced = self.peek() == Some(b' ');
        if self.element_ends() {
            return Ok((c, spaced));
        }
        if self.take_while(|b| b == b' ').is_empty() || self.peek() == Some(b'\t') {
            return Err(self.expected("a space after the auth-scheme"));
        }
        let save = self.pos;
        let body = self.take_while(grammar::is_b64token_char).len();
        if body > 0 {
            self.take_while(|b| b == b'=');
            if self.element_ends() {
                c.token68 = self.s.get(save..self.pos);
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
        out: &mut Vec<ChallengeRef<'a>>,
        budget: &mut Budget,
        open: &mut bool,
    ) -> Result<(), ChallengeError> {
        let control = |b: u8| (b < 0x20 && b != b'\t') || b == 0x7f;
        // Every byte tested without a branch first (the compiler checks many at once);
        // the position is looked for only in a line that has one.
        let any = self.s.bytes().fold(false, |any, b| any | control(b));
        if let Some(position) = any.then(|| self.s.bytes().position(control)).flatten() {
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
            if !self.at_end() && self.peek() != Some(b',') {
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
    parse_challenges_ref(lines).map(|cs| cs.iter().map(ChallengeRef::to_challenge).collect())
}

/// [`parse_challenges`] without copying: each challenge borrows from `lines`, and a
/// parameter value is a string of its own only when it held a quoted-pair. The same
/// input is accepted and refused, with the same errors.
///
/// ```
/// use std::borrow::Cow;
/// use pw_auth_http::parse_challenges_ref;
/// let cs = parse_challenges_ref([&br#"Bearer realm="example", error="invalid_token""#[..]])?;
/// assert!(cs[0].scheme_is("bearer"));
/// assert!(matches!(cs[0].params()[0].1, Cow::Borrowed("example")));
/// # Ok::<(), pw_auth_http::ChallengeError>(())
/// ```
pub fn parse_challenges_ref<'a, I>(lines: I) -> Result<Vec<ChallengeRef<'a>>, ChallengeError>
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
