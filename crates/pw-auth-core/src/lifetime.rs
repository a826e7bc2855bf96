//! Token lifetimes: exact, half-open, with explicit leeway and checked arithmetic.

use std::time::Duration as StdDuration;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// The default token lifetime, 24 hours, as the platform's login answers.
pub const DEFAULT_EXPIRES_IN_SECS: u64 = 86_400;
/// The longest token lifetime accepted: 366 days.
pub const MAX_EXPIRES_IN_SECS: u64 = 366 * 86_400;
/// The largest clock-skew leeway accepted: 5 minutes.
pub const MAX_LEEWAY_SECS: u64 = 300;

/// Why a lifetime cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LifetimeError {
    /// A lifetime of zero seconds would be expired when issued.
    #[error("token lifetime is zero seconds")]
    Zero,
    /// The lifetime is longer than [`MAX_EXPIRES_IN_SECS`].
    #[error("token lifetime of {secs} seconds is longer than the limit of {MAX_EXPIRES_IN_SECS}")]
    TooLong {
        /// The lifetime given, in seconds.
        secs: u64,
    },
    /// The expiry is not after the issue time.
    #[error("token expiry is not after its issue time")]
    NotAfterIssue,
    /// The expiry would fall outside the range of representable dates.
    #[error("token expiry is outside the representable range of dates")]
    OutOfRange,
}

/// A clock-skew leeway larger than [`MAX_LEEWAY_SECS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a leeway of {given:?} is over the limit of {MAX_LEEWAY_SECS}s")]
pub struct LeewayError {
    /// The leeway given, exactly (300 s and a nanosecond is over the limit; in whole
    /// seconds it would read as 300).
    pub given: StdDuration,
}

/// How long a token lives: 1 second to 366 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct ExpiresIn(u64);

impl ExpiresIn {
    /// The default lifetime, 86 400 seconds.
    pub const DEFAULT: ExpiresIn = ExpiresIn(DEFAULT_EXPIRES_IN_SECS);

    /// A lifetime of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Result<ExpiresIn, LifetimeError> {
        match secs {
            0 => Err(LifetimeError::Zero),
            s if s > MAX_EXPIRES_IN_SECS => Err(LifetimeError::TooLong { secs }),
            s => Ok(ExpiresIn(s)),
        }
    }

    /// The lifetime in seconds.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    fn duration(self) -> Duration {
        // At most MAX_EXPIRES_IN_SECS, far below i64::MAX.
        Duration::seconds(i64::try_from(self.0).unwrap_or(i64::MAX))
    }
}

impl Default for ExpiresIn {
    fn default() -> Self {
        ExpiresIn::DEFAULT
    }
}

impl TryFrom<u64> for ExpiresIn {
    type Error = LifetimeError;
    fn try_from(secs: u64) -> Result<Self, LifetimeError> {
        ExpiresIn::from_secs(secs)
    }
}

impl From<ExpiresIn> for u64 {
    fn from(e: ExpiresIn) -> u64 {
        e.0
    }
}

/// Clock-skew leeway: how far outside a token's validity a time may fall and still
/// count as inside. Zero unless configured; at most 5 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Leeway(StdDuration);

impl Leeway {
    /// No leeway: validity is exactly [issued, expires).
    pub const ZERO: Leeway = Leeway(StdDuration::ZERO);

    /// A leeway of `d`, if it is at most [`MAX_LEEWAY_SECS`].
    pub fn new(d: StdDuration) -> Result<Leeway, LeewayError> {
        if d > StdDuration::from_secs(MAX_LEEWAY_SECS) {
            return Err(LeewayError { given: d });
        }
        Ok(Leeway(d))
    }

    /// The leeway as a duration.
    pub const fn get(self) -> StdDuration {
        self.0
    }

    fn signed(self) -> Duration {
        Duration::try_from(self.0).unwrap_or(Duration::ZERO)
    }
}

/// Where a time falls relative to a token's validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// Before the issue time (less leeway).
    NotYetValid,
    /// Within [issued, expires), widened by the leeway.
    Valid,
    /// At or after the expiry (plus leeway).
    Expired,
}

/// When a token was issued and when it expires. Valid on the half-open interval
/// `[issued_at, expires_at)`.
///
/// ```
/// use pw_auth_core::{ExpiresIn, Leeway, Lifetime, Validity};
/// use time::macros::datetime;
/// let issued = datetime!(2026-11-27 12:00 UTC);
/// let life = Lifetime::new(issued, ExpiresIn::DEFAULT)?;
/// assert_eq!(life.validity(issued, Leeway::ZERO), Validity::Valid);
/// assert_eq!(life.validity(life.expires_at(), Leeway::ZERO), Validity::Expired);
/// # Ok::<(), pw_auth_core::LifetimeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "LifetimeRepr", into = "LifetimeRepr")]
pub struct Lifetime {
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LifetimeRepr {
    #[serde(with = "crate::stamp")]
    issued_at: OffsetDateTime,
    #[serde(with = "crate::stamp")]
    expires_at: OffsetDateTime,
}

impl TryFrom<LifetimeRepr> for Lifetime {
    type Error = LifetimeError;
    fn try_from(r: LifetimeRepr) -> Result<Self, LifetimeError> {
        Lifetime::from_bounds(r.issued_at, r.expires_at)
    }
}

impl From<Lifetime> for LifetimeRepr {
    fn from(l: Lifetime) -> Self {
        LifetimeRepr {
            issued_at: l.issued_at,
            expires_at: l.expires_at,
        }
    }
}

impl Lifetime {
    /// A token issued at `issued_at` that lives for `expires_in`.
    pub fn new(
        issued_at: OffsetDateTime,
        expires_in: ExpiresIn,
    ) -> Result<Lifetime, LifetimeError> {
        let expires_at = issued_at
            .checked_add(expires_in.duration())
            .ok_or(LifetimeError::OutOfRange)?;
        Ok(Lifetime {
            issued_at,
            expires_at,
        })
    }

    /// A lifetime from its two ends, as loaded from storage.
    pub fn from_bounds(
        issued_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Lifetime, LifetimeError> {
        if expires_at <= issued_at {
            return Err(LifetimeError::NotAfterIssue);
        }
        let latest = issued_at.checked_add(ExpiresIn(MAX_EXPIRES_IN_SECS).duration());
        if latest.is_some_and(|latest| expires_at > latest) {
            let span = expires_at
                .unix_timestamp()
                .saturating_sub(issued_at.unix_timestamp());
            return Err(LifetimeError::TooLong {
                secs: u64::try_from(span).unwrap_or(u64::MAX),
            });
        }
        Ok(Lifetime {
            issued_at,
            expires_at,
        })
    }

    /// When the token was issued.
    pub const fn issued_at(&self) -> OffsetDateTime {
        self.issued_at
    }

    /// The first instant at which the token is no longer valid.
    pub const fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// How long the token lives: `expires_at - issued_at`.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "a lifetime is at most 366 days, so the subtraction cannot overflow"
    )]
    pub fn length(&self) -> StdDuration {
        StdDuration::try_from(self.expires_at - self.issued_at).unwrap_or(StdDuration::ZERO)
    }

    /// Where `now` falls: valid iff `issued_at - leeway <= now < expires_at + leeway`.
    /// A bound that would leave the range of dates is treated as unbounded on that
    /// side, which only ever happens with the leeway widening the interval.
    pub fn validity(&self, now: OffsetDateTime, leeway: Leeway) -> Validity {
        let leeway = leeway.signed();
        let after_start = self
            .issued_at
            .checked_sub(leeway)
            .is_none_or(|start| now >= start);
        let before_end = self
            .expires_at
            .checked_add(leeway)
            .is_none_or(|end| now < end);
        match (after_start, before_end) {
            (false, _) => Validity::NotYetValid,
            (true, true) => Validity::Valid,
            (true, false) => Validity::Expired,
        }
    }

    /// Whether a client should log in again before using the token at `now`: true
    /// from `expires_at - margin` on (and so always once expired).
    pub fn due_for_renewal(&self, now: OffsetDateTime, margin: StdDuration) -> bool {
        let margin = Duration::try_from(margin).unwrap_or(Duration::MAX);
        match self.expires_at.checked_sub(margin) {
            Some(renew_from) => now >= renew_from,
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

    #[test]
    fn half_open_interval() {
        let l = Lifetime::new(T0, ExpiresIn::from_secs(60).unwrap()).unwrap();
        let z = Leeway::ZERO;
        assert_eq!(
            l.validity(T0 - Duration::nanoseconds(1), z),
            Validity::NotYetValid
        );
        assert_eq!(l.validity(T0, z), Validity::Valid);
        assert_eq!(
            l.validity(T0 + Duration::seconds(60) - Duration::nanoseconds(1), z),
            Validity::Valid
        );
        assert_eq!(l.validity(T0 + Duration::seconds(60), z), Validity::Expired);
    }

    #[test]
    fn leeway_widens_both_ends() {
        let l = Lifetime::new(T0, ExpiresIn::from_secs(60).unwrap()).unwrap();
        let w = Leeway::new(StdDuration::from_secs(5)).unwrap();
        assert_eq!(l.validity(T0 - Duration::seconds(5), w), Validity::Valid);
        assert_eq!(
            l.validity(T0 - Duration::seconds(6), w),
            Validity::NotYetValid
        );
        assert_eq!(l.validity(T0 + Duration::seconds(64), w), Validity::Valid);
        assert_eq!(l.validity(T0 + Duration::seconds(65), w), Validity::Expired);
        insta::assert_snapshot!(
            Leeway::new(StdDuration::from_secs(301)).unwrap_err(),
            @"a leeway of 301s is over the limit of 300s"
        );
        // Once "leeway of 300 seconds is larger than the limit of 300".
        insta::assert_snapshot!(
            Leeway::new(StdDuration::new(300, 1)).unwrap_err(),
            @"a leeway of 300.000000001s is over the limit of 300s"
        );
    }

    #[test]
    fn absurd_lifetimes_are_errors() {
        assert_eq!(ExpiresIn::from_secs(0), Err(LifetimeError::Zero));
        assert_eq!(
            ExpiresIn::from_secs(u64::MAX),
            Err(LifetimeError::TooLong { secs: u64::MAX })
        );
        let near_end = datetime!(+9999-12-31 23:00 UTC);
        assert_eq!(
            Lifetime::new(near_end, ExpiresIn::DEFAULT),
            Err(LifetimeError::OutOfRange)
        );
        assert_eq!(
            Lifetime::from_bounds(T0, T0),
            Err(LifetimeError::NotAfterIssue)
        );
        assert!(Lifetime::from_bounds(T0, T0 + Duration::days(367)).is_err());
    }

    #[test]
    fn renewal_margin() {
        let l = Lifetime::new(T0, ExpiresIn::DEFAULT).unwrap();
        let m = StdDuration::from_secs(600);
        let renew_from = l.expires_at() - Duration::seconds(600);
        assert!(!l.due_for_renewal(renew_from - Duration::nanoseconds(1), m));
        assert!(l.due_for_renewal(renew_from, m));
        assert!(l.due_for_renewal(l.expires_at(), StdDuration::ZERO));
        assert!(l.due_for_renewal(T0, StdDuration::MAX));
    }

    #[test]
    fn serde_rejects_inverted_bounds() {
        let ok = r#"{"issued_at":"2026-11-27T12:00:00Z","expires_at":"2026-11-28T12:00:00Z"}"#;
        let l: Lifetime = serde_json::from_str(ok).unwrap();
        assert_eq!(serde_json::to_string(&l).unwrap(), ok);
        let bad = r#"{"issued_at":"2026-11-28T12:00:00Z","expires_at":"2026-11-27T12:00:00Z"}"#;
        assert!(serde_json::from_str::<Lifetime>(bad).is_err());
    }
}
