//! A strict reader and writer for the login endpoint's flat JSON objects, written so
//! that a secret never sits in memory that is freed without being wiped.
//!
//! `serde_json` is exact about the grammar, but it unescapes strings in a scratch
//! buffer and grows maps and strings by reallocation, and it frees those blocks as
//! they are; a password read or written through it stays in freed heap memory. Here
//! every string is decoded straight into a [`Zeroizing`] buffer reserved at the
//! string's raw length up front (unescaping only shortens), so it never reallocates,
//! and bodies are written into a buffer reserved at their exact length. Values of
//! fields the caller does not want are checked and skipped, never copied.
//!
//! The grammar is RFC 8259's; a value more than [`MAX_DEPTH`] levels deep (the
//! object's own members are at level 1) is refused.

use zeroize::Zeroizing;

/// How deep a skipped value may sit (the object's own members are at level 1).
pub(crate) const MAX_DEPTH: usize = 32;

/// Where reading stopped: the 1-based line and column (in bytes) of the byte at fault,
/// or, at the end of the input, the length of its last line (as serde_json reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// One member's value, as the caller needs it.
#[derive(Debug)]
pub(crate) enum Member {
    /// A string, decoded into a wiped-on-drop buffer.
    String(Zeroizing<String>),
    /// A number: `Some` for a whole number that fits `u64`, `None` for any other.
    Number(Option<u64>),
    /// `true`, `false`, `null`, an array or an object: checked, not kept.
    Other,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn error(&self) -> SyntaxError {
        let upto = self.bytes.get(..self.pos).unwrap_or(self.bytes);
        let line = upto
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            .saturating_add(1);
        let start = upto
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i.saturating_add(1));
        // As serde_json counts: the column of the byte at fault, or at the end of the
        // input the length of its last line.
        let on_a_byte = usize::from(self.pos < self.bytes.len());
        SyntaxError {
            line,
            column: self.pos.saturating_sub(start).saturating_add(on_a_byte),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) {
        self.pos = self.pos.saturating_add(1);
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), SyntaxError> {
        if self.peek() == Some(b) {
            self.bump();
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .peek()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| self.error())?;
            v = v.saturating_mul(16).saturating_add(d);
            self.bump();
        }
        Ok(v)
    }

    /// A string, the opening quote next; decoded into `out` when given (which has
    /// room for the raw string, so it never grows), or only checked.
    fn string(&mut self, mut out: Option<&mut String>) -> Result<(), SyntaxError> {
        self.expect(b'"')?;
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.bump();
            }
            let run = self.bytes.get(start..self.pos).unwrap_or_default();
            let text = std::str::from_utf8(run).map_err(|e| {
                Reader {
                    bytes: self.bytes,
                    pos: start.saturating_add(e.valid_up_to()),
                }
                .error()
            })?;
            if let Some(out) = out.as_deref_mut() {
                out.push_str(text);
            }
            match self.peek() {
                Some(b'"') => {
                    self.bump();
                    return Ok(());
                }
                Some(b'\\') => {
                    self.bump();
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.bump();
                            let at = self.pos;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                self.expect(b'\\')?;
                                self.expect(b'u')?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.error());
                                }
                                // RFC 8259 §7: the pair's two ten-bit halves, above the BMP.
                                0x10000_u32
                                    .saturating_add((hi & 0x3FF).saturating_mul(0x400))
                                    .saturating_add(lo & 0x3FF)
                            } else {
                                hi
                            };
                            let c = char::from_u32(code).ok_or_else(|| {
                                Reader {
                                    bytes: self.bytes,
                                    pos: at,
                                }
                                .error()
                            })?;
                            if let Some(out) = out.as_deref_mut() {
                                out.push(c);
                            }
                            continue;
                        }
                        _ => return Err(self.error()),
                    };
                    self.bump();
                    if let Some(out) = out.as_deref_mut() {
                        out.push(c);
                    }
                }
                // A control character, or the end of the input.
                _ => return Err(self.error()),
            }
        }
    }

    /// A number; `Some` when it is a whole number that fits `u64`.
    fn number(&mut self) -> Result<Option<u64>, SyntaxError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.bump();
        }
        let mut whole: Option<u64> = Some(0);
        match self.peek() {
            Some(b'0') => self.bump(),
            Some(b'1'..=b'9') => {
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    whole = whole
                        .and_then(|w| w.checked_mul(10))
                        .and_then(|w| w.checked_add(u64::from(d & 0x0F)));
                    self.bump();
                }
            }
            _ => return Err(self.error()),
        }
        let mut integral = !negative;
        if self.peek() == Some(b'.') {
            integral = false;
            self.bump();
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integral = false;
            self.bump();
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            self.digits()?;
        }
        let whole = whole.filter(|_| integral);
        if whole.is_none() {
            // Beyond the largest finite double: serde_json refuses it ("number out of
            // range") at the number's last byte, and so does this reader.
            let text = self.bytes.get(start..self.pos).unwrap_or(&[]);
            let value = std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<f64>().ok());
            if value.is_none_or(f64::is_infinite) {
                let last = Reader {
                    bytes: self.bytes,
                    pos: self.pos.saturating_sub(1),
                };
                return Err(last.error());
            }
        }
        Ok(whole)
    }

    fn digits(&mut self) -> Result<(), SyntaxError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.error());
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.bump();
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), SyntaxError> {
        for &b in word {
            self.expect(b)?;
        }
        Ok(())
    }

    /// Checks and skips any value.
    fn skip(&mut self, depth: usize) -> Result<(), SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error());
        }
        match self.peek() {
            Some(b'"') => self.string(None),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(open @ (b'[' | b'{')) => {
                let close = if open == b'[' { b']' } else { b'}' };
                self.bump();
                self.ws();
                if self.peek() == Some(close) {
                    self.bump();
                    return Ok(());
                }
                loop {
                    if open == b'{' {
                        self.string(None)?;
                        self.ws();
                        self.expect(b':')?;
                        self.ws();
                    }
                    self.skip(depth.saturating_add(1))?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => {
                            self.bump();
                            self.ws();
                        }
                        Some(c) if c == close => {
                            self.bump();
                            return Ok(());
                        }
                        _ => return Err(self.error()),
                    }
                }
            }
            _ => Err(self.error()),
        }
    }

    /// The raw length of the string that starts here (quotes excluded), an upper
    /// bound on its decoded length.
    fn raw_string_len(&self) -> usize {
        let rest = self
            .bytes
            .get(self.pos.saturating_add(1)..)
            .unwrap_or_default();
        let mut i = 0;
        while let Some(&b) = rest.get(i) {
            match b {
                b'"' => break,
                b'\\' => i = i.saturating_add(2),
                _ => i = i.saturating_add(1),
            }
        }
        i.min(rest.len())
    }
}

/// Why an object could not be read: its syntax, its shape, or what `member` said.
#[derive(Debug)]
pub(crate) enum ObjectError<E> {
    /// Not RFC 8259 JSON.
    Syntax(SyntaxError),
    /// JSON, but not an object.
    NotAnObject,
    /// The caller refused a member.
    Member(E),
}

/// Reads one JSON object from `body`, calling `member` with each name and value, in
/// order, until it refuses one; that refusal is returned if the whole body is JSON. `want(name)` says whether a member's value is decoded (string or number)
/// or only checked; it is called before the value is read.
pub(crate) fn read_object<E>(
    body: &[u8],
    want: impl Fn(&str) -> bool,
    mut member: impl FnMut(Zeroizing<String>, Member) -> Result<(), E>,
) -> Result<(), ObjectError<E>> {
    let mut r = Reader {
        bytes: body,
        pos: 0,
    };
    r.ws();
    match r.peek() {
        Some(b'{') => r.bump(),
        Some(_) => {
            r.skip(0).map_err(ObjectError::Syntax)?;
            r.ws();
            return Err(if r.peek().is_none() {
                ObjectError::NotAnObject
            } else {
                ObjectError::Syntax(r.error())
            });
        }
        None => return Err(ObjectError::Syntax(r.error())),
    }
    r.ws();
    let mut refused = None;
    if r.peek() == Some(b'}') {
        r.bump();
    } else {
        loop {
            if r.peek() != Some(b'"') {
                return Err(ObjectError::Syntax(r.error()));
            }
            let mut name = Zeroizing::new(String::with_capacity(r.raw_string_len()));
            r.string(Some(&mut name)).map_err(ObjectError::Syntax)?;
            r.ws();
            r.expect(b':').map_err(ObjectError::Syntax)?;
            r.ws();
            let value = if want(&name) {
                match r.peek() {
                    Some(b'"') => {
                        let mut s = Zeroizing::new(String::with_capacity(r.raw_string_len()));
                        r.string(Some(&mut s)).map_err(ObjectError::Syntax)?;
                        Member::String(s)
                    }
                    Some(b'-' | b'0'..=b'9') => {
                        Member::Number(r.number().map_err(ObjectError::Syntax)?)
                    }
                    _ => {
                        r.skip(1).map_err(ObjectError::Syntax)?;
                        Member::Other
                    }
                }
            } else {
                r.skip(1).map_err(ObjectError::Syntax)?;
                Member::Other
            };
            // The first refused member is reported once the whole body is known
            // to be JSON, so that a syntax error always wins, as it does for any
            // other JSON reader.
            if refused.is_none()
                && let Err(e) = member(name, value)
            {
                refused = Some(e);
            }
            r.ws();
            match r.peek() {
                Some(b',') => {
                    r.bump();
                    r.ws();
                }
                Some(b'}') => {
                    r.bump();
                    break;
                }
                _ => return Err(ObjectError::Syntax(r.error())),
            }
        }
    }
    r.ws();
    if r.peek().is_some() {
        return Err(ObjectError::Syntax(r.error()));
    }
    refused.map_or(Ok(()), |e| Err(ObjectError::Member(e)))
}

/// The length of `s` written as a JSON string, quotes included.
fn escaped_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if u32::from(c) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .fold(2usize, usize::saturating_add)
}

fn push_escaped(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let n = usize::from(u8::try_from(u32::from(c)).unwrap_or(0));
                out.push_str("\\u00");
                out.push(char::from(HEX.get(n >> 4).copied().unwrap_or(b'0')));
                out.push(char::from(HEX.get(n & 0xF).copied().unwrap_or(b'0')));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A value to write.
pub(crate) enum Out<'a> {
    /// A string.
    Str(&'a str),
    /// A whole number.
    Num(u64),
}

/// Writes `{"name":value,...}` (no spaces, members in the order given) into a
/// buffer reserved at its exact length, so that it never reallocates.
pub(crate) fn write_object(members: &[(&str, Out<'_>)]) -> Zeroizing<String> {
    let digits = |n: u64| {
        n.checked_ilog10()
            .map_or(1, |d| usize::try_from(d).unwrap_or(19).saturating_add(1))
    };
    let len = members
        .iter()
        .map(|(name, value)| {
            let v = match value {
                Out::Str(s) => escaped_len(s),
                Out::Num(n) => digits(*n),
            };
            escaped_len(name).saturating_add(1).saturating_add(v)
        })
        .fold(
            2usize.saturating_add(members.len().saturating_sub(1)),
            usize::saturating_add,
        );
    let mut out = Zeroizing::new(String::with_capacity(len));
    out.push('{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_escaped(&mut out, name);
        out.push(':');
        match value {
            Out::Str(s) => push_escaped(&mut out, s),
            Out::Num(n) => {
                use std::fmt::Write as _;
                let _ = write!(out, "{n}");
            }
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests;
