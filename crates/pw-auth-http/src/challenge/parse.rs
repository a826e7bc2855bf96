//! The `WWW-Authenticate` parser: RFC 9110 §11's grammar over each field line, and
//! the list rules of §5.6.1.2, within the input and element limits.

use std::borrow::Cow;

use pw_auth_core::grammar;

use super::{Challenge, ChallengeError, ChallengeRef, MAX_CHALLENGE_INPUT_LEN, MAX_LIST_ELEMENTS};

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
