//! A store's failure, typed, with its cause kept.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// What kind of failure a [`StoreError`] is, for an operator's logs and metrics (the
/// client always gets the same 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store could not be reached or did not answer: a connection, a file, a
    /// timeout, TLS.
    Unavailable,
    /// The store is busy: a lock or a compare-and-set that did not settle in time.
    Busy,
    /// The store answered with data this version cannot read: a corrupt or foreign
    /// record, a schema from another version.
    Corrupt,
    /// The server's own resources ran out or broke: the hashing pool full, the
    /// operating system's random source, a failed internal invariant.
    Internal,
}

impl StoreErrorKind {
    /// The kind's name in logs and metrics: `unavailable`, `busy`, `corrupt`,
    /// `internal`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::Busy => "busy",
            StoreErrorKind::Corrupt => "corrupt",
            StoreErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A store's failure (the database is unreachable, locked, corrupt, …). The guard
/// answers it with 503 and never lets the request through; the failure itself — its
/// [kind](StoreError::kind), what failed, and the backend's own error as its
/// [`source`](Error::source) — travels with the 503 in [`Unavailable`], for the one
/// place that logs it.
///
/// What failed is written for operators and names no secret; a backend's error may
/// name a file, a host or a record's digest, so it is never sent to a client.
#[derive(Debug, Clone)]
pub struct StoreError {
    kind: StoreErrorKind,
    what: Cow<'static, str>,
    source: Option<Arc<dyn Error + Send + Sync + 'static>>,
}

impl StoreError {
    /// A failure of `kind`: `what` failed (lowercase, no trailing period, e.g. "the
    /// token lookup").
    pub fn new(kind: StoreErrorKind, what: impl Into<Cow<'static, str>>) -> StoreError {
        StoreError {
            kind,
            what: what.into(),
            source: None,
        }
    }

    /// The same failure, caused by `source` (the backend's own error).
    pub fn caused_by(mut self, source: impl Error + Send + Sync + 'static) -> StoreError {
        self.source = Some(Arc::new(source));
        self
    }

    /// Its kind.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// What failed.
    pub fn what(&self) -> &str {
        &self.what
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the record store failed ({}): {}", self.kind, self.what)
    }
}

impl Error for StoreError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// Marks a 503 that the guard (or a handler, through [`unavailable`](crate::unavailable))
/// answered for a failed store, and carries the failure: a logging or metrics layer
/// reads it from the response's extensions.
#[derive(Debug, Clone)]
pub struct Unavailable(pub StoreError);

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_kind_and_what_failed_and_the_cause_is_its_source() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
        let e = StoreError::new(StoreErrorKind::Unavailable, "the token lookup").caused_by(io);
        assert_eq!(
            e.to_string(),
            "the record store failed (unavailable): the token lookup"
        );
        assert_eq!(e.kind(), StoreErrorKind::Unavailable);
        assert_eq!(e.what(), "the token lookup");
        assert_eq!(e.source().unwrap().to_string(), "connect timed out");
        assert!(
            StoreError::new(StoreErrorKind::Busy, "x")
                .source()
                .is_none()
        );
    }

    #[test]
    fn every_kind_has_its_own_name() {
        let kinds = [
            StoreErrorKind::Unavailable,
            StoreErrorKind::Busy,
            StoreErrorKind::Corrupt,
            StoreErrorKind::Internal,
        ];
        let names: Vec<String> = kinds.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["unavailable", "busy", "corrupt", "internal"]);
    }
}
