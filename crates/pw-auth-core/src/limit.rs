//! Usage limits: one budget per company, whichever credential is used, decided by the
//! generic cell rate algorithm (GCRA). The state is a small value the caller stores
//! wherever it likes; the decision is a pure function of state, quota and `now`.
//!
//! A quota of `limit` requests per `period` with a `burst` admits requests spaced
//! `period / limit` apart on average, and up to `burst` at once. Over any window of
//! length `period`, at most `limit + burst - 1` requests are admitted (with the
//! default `burst = limit`, a fresh client may spend a whole period's budget at once,
//! then refills at `limit / period`).
//!
//! An API key may carry a quota of its own inside its company's
//! ([`MintedApiKey::limited`](crate::MintedApiKey::limited)); its requests are then
//! checked against both budgets at once ([`check_joint_limit`]).

use std::time::Duration as StdDuration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The longest quota period: one day.
pub const MAX_QUOTA_PERIOD_SECS: u64 = 86_400;

/// Why a quota is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuotaError {
    /// A limit or burst of zero would refuse everything.
    #[error("a quota's {field} must be at least 1")]
    Zero {
        /// `limit` or `burst`.
        field: &'static str,
    },
    /// The period is shorter than a second or longer than a day.
    #[error("a quota's period must be 1 to {MAX_QUOTA_PERIOD_SECS} seconds, not {secs}")]
    Period {
        /// The period given.
        secs: u64,
    },
    /// More requests than nanoseconds in the period: the limiter's clock could not
    /// space them, and would admit fewer than the `RateLimit-Policy` field advertises.
    #[error("a quota's limit must be at most one request per nanosecond of its period")]
    TooFine,
}

/// A usage quota: `limit` requests per `period`, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "QuotaRepr", into = "QuotaRepr")]
pub struct Quota {
    limit: u32,
    period_secs: u64,
    burst: u32,
}

/// A quota in a policy document: `{"limit": 240, "period_secs": 60, "burst": 240}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaRepr {
    /// Requests per period.
    pub limit: u32,
    /// The period, in seconds.
    pub period_secs: u64,
    /// Requests admitted at once; defaults to `limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl TryFrom<QuotaRepr> for Quota {
    type Error = QuotaError;
    fn try_from(r: QuotaRepr) -> Result<Quota, QuotaError> {
        Quota::new(r.limit, r.period_secs, r.burst.unwrap_or(r.limit))
    }
}

impl From<Quota> for QuotaRepr {
    fn from(q: Quota) -> QuotaRepr {
        QuotaRepr {
            limit: q.limit,
            period_secs: q.period_secs,
            burst: (q.burst != q.limit).then_some(q.burst),
        }
    }
}

impl Quota {
    /// The platform's documented limit: 240 requests a minute, per company.
    pub const DEFAULT: Quota = Quota {
        limit: 240,
        period_secs: 60,
        burst: 240,
    };

    /// A quota of `limit` requests per `period_secs`, `burst` at once.
    pub const fn new(limit: u32, period_secs: u64, burst: u32) -> Result<Quota, QuotaError> {
        if limit == 0 {
            return Err(QuotaError::Zero { field: "limit" });
        }
        if burst == 0 {
            return Err(QuotaError::Zero { field: "burst" });
        }
        if period_secs == 0 || period_secs > MAX_QUOTA_PERIOD_SECS {
            return Err(QuotaError::Period { secs: period_secs });
        }
        // period_secs ≤ 86 400, so the product is far inside u64.
        if limit as u64 > period_secs.saturating_mul(1_000_000_000) {
            return Err(QuotaError::TooFine);
        }
        Ok(Quota {
            limit,
            period_secs,
            burst,
        })
    }

    /// Requests per period.
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// The period in seconds.
    pub const fn period_secs(&self) -> u64 {
        self.period_secs
    }

    /// Requests admitted at once.
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// The emission interval `period / limit` in nanoseconds, rounded up so that no
    /// period admits more than the `limit` the `RateLimit-Policy` field advertises
    /// (plus the burst); at least one.
    fn interval(&self) -> i128 {
        // In `u64`: the period is at most a day, 8.64e13 ns; one hardware division.
        let period_ns = self.period_secs.saturating_mul(1_000_000_000);
        let limit = u64::from(self.limit);
        let ns = period_ns
            .saturating_add(limit.saturating_sub(1))
            .checked_div(limit)
            .unwrap_or(1)
            .max(1);
        i128::from(ns)
    }

    /// The tolerance `interval * (burst - 1)`, in nanoseconds, given the interval
    /// (`burst - 1` counted up to `i32::MAX`; with the longest interval, a day, that
    /// is far inside `i128`).
    fn tolerance_for(&self, interval: i128) -> i128 {
        let times = self.burst.saturating_sub(1).min(i32::MAX.unsigned_abs());
        interval.saturating_mul(i128::from(times))
    }
}

impl Default for Quota {
    fn default() -> Self {
        Quota::DEFAULT
    }
}

/// One company's limiter state: the theoretical arrival time of the next request.
/// Store it per company (never per credential) and pass it back on the next check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct LimitState {
    #[serde(with = "crate::stamp::option")]
    tat: Option<OffsetDateTime>,
}

/// The answer of a limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitDecision {
    /// Admitted; `remaining` more may follow at once, and the budget is whole again
    /// after `reset_after`.
    Allow {
        /// Requests that could follow immediately.
        remaining: u32,
        /// Time until the budget is whole again.
        reset_after: StdDuration,
    },
    /// Over the limit: wait `retry_after`.
    Deny {
        /// Time until one request will be admitted.
        retry_after: StdDuration,
        /// Time until the budget is whole again.
        reset_after: StdDuration,
    },
}

impl LimitDecision {
    /// Whether the request is admitted.
    pub const fn is_allowed(&self) -> bool {
        matches!(self, LimitDecision::Allow { .. })
    }
}

/// A count of nanoseconds as a `std` duration; zero if it is negative.
fn non_negative(ns: i128) -> StdDuration {
    if let Ok(ns) = u64::try_from(ns) {
        // Up to 584 years: one `u64` division by a constant.
        return StdDuration::from_nanos(ns);
    }
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    match (u64::try_from(secs), u32::try_from(nanos)) {
        (Ok(secs), Ok(nanos)) => StdDuration::new(secs, nanos),
        _ => StdDuration::ZERO,
    }
}

fn one_interval(interval: i128) -> LimitDecision {
    let wait = non_negative(interval);
    LimitDecision::Deny {
        retry_after: wait,
        reset_after: wait,
    }
}

/// Checks one request against `quota` at `now`: the decision, and the state to store.
/// A denied request leaves the state unchanged, with one exception: a state further
/// in the future than any that `now` could have produced (written by a node whose
/// clock ran fast, or before this node's clock stepped back) is first clamped to the
/// latest legal one, and the clamped state is returned. So a skewed clock costs the
/// company at most one emission interval (`period / limit`) of waiting, never more.
/// Allocates nothing.
///
/// ```
/// use pw_auth_core::{LimitState, Quota, check_limit};
/// use time::macros::datetime;
/// let quota = Quota::new(2, 60, 2)?;
/// let now = datetime!(2026-11-27 12:00 UTC);
/// let (a, s) = check_limit(LimitState::default(), &quota, now);
/// let (b, s) = check_limit(s, &quota, now);
/// let (c, _) = check_limit(s, &quota, now);
/// assert!(a.is_allowed() && b.is_allowed() && !c.is_allowed());
/// # Ok::<(), pw_auth_core::QuotaError>(())
/// ```
#[must_use = "a limit check does nothing until its decision is checked and its state stored"]
pub fn check_limit(
    state: LimitState,
    quota: &Quota,
    now: OffsetDateTime,
) -> (LimitDecision, LimitState) {
    // In Unix nanoseconds: integer arithmetic, rather than calendar arithmetic on
    // every step. Every instant is between the years 0 and 9999 and every span at
    // most about 10^23 ns, so no sum here comes near `i128`'s bounds.
    let interval = quota.interval();
    let tolerance = quota.tolerance_for(interval);
    let now_ns = now.unix_timestamp_nanos();
    if !crate::stamp::is_writable_ns(now_ns) {
        // A clock outside the years RFC 3339 can carry: the state it would leave
        // could not be stored and read back. Refuse, and leave the state alone.
        return (one_interval(interval), state);
    }
    // After an admitted request at `now`, the state is at most `now + tolerance +
    // interval`; anything later came from another clock, and is clamped to that.
    let latest = now_ns.saturating_add(tolerance).saturating_add(interval);
    let (state, stored) = match state.tat.map(OffsetDateTime::unix_timestamp_nanos) {
        Some(t) if t > latest => match OffsetDateTime::from_unix_timestamp_nanos(latest) {
            Ok(at) => (LimitState { tat: Some(at) }, Some(latest)),
            Err(_) => (state, Some(t)),
        },
        stored => (state, stored),
    };
    let tat = stored.map_or(now_ns, |t| t.max(now_ns));
    let debt = tat.saturating_sub(now_ns);
    if debt > tolerance {
        let decision = LimitDecision::Deny {
            retry_after: non_negative(debt.saturating_sub(tolerance)),
            reset_after: non_negative(debt),
        };
        return (decision, state);
    }
    let new_tat = tat.saturating_add(interval);
    let Some(new_at) = Some(new_tat)
        .filter(|t| crate::stamp::is_writable_ns(*t))
        .and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t).ok())
    else {
        // The end of writable time: refuse rather than wrap or store what cannot be
        // read back.
        return (one_interval(interval), state);
    };
    let debt = new_tat.saturating_sub(now_ns);
    let room = tolerance.saturating_add(interval).saturating_sub(debt);
    let remaining = match (u64::try_from(room), u64::try_from(interval)) {
        // The usual case, in `u64`: one hardware division.
        (Ok(room), Ok(interval)) => room.checked_div(interval).map(u128::from),
        // A room beyond 584 years (a huge burst): the same division in `i128`.
        _ => room
            .checked_div(interval)
            .and_then(|r| u128::try_from(r).ok()),
    }
    .and_then(|r| u32::try_from(r).ok())
    .unwrap_or(0);
    (
        LimitDecision::Allow {
            remaining,
            reset_after: non_negative(debt),
        },
        LimitState { tat: Some(new_at) },
    )
}

/// Gives back the charge of one admitted request: the state as if that request had
/// not been made. For a budget reserved before expensive work (a password
/// verification charged to a failure budget first, so that no number of concurrent
/// attempts can verify more than the quota) and returned when the work turns out not
/// to count against it (the password was right). A state that is whole at `now` has
/// nothing to give back and stays whole; one that was clamped or refused is never
/// made whole by more than one interval. Allocates nothing.
///
/// ```
/// use pw_auth_core::{LimitState, Quota, check_limit, refund_limit};
/// use time::macros::datetime;
/// let quota = Quota::new(1, 60, 1)?;
/// let now = datetime!(2026-11-27 12:00 UTC);
/// let (first, spent) = check_limit(LimitState::default(), &quota, now);
/// assert!(first.is_allowed() && !check_limit(spent, &quota, now).0.is_allowed());
/// let back = refund_limit(spent, &quota, now);
/// assert!(check_limit(back, &quota, now).0.is_allowed());
/// # Ok::<(), pw_auth_core::QuotaError>(())
/// ```
#[must_use = "a refund does nothing until the state it returns is stored"]
pub fn refund_limit(state: LimitState, quota: &Quota, now: OffsetDateTime) -> LimitState {
    let Some(tat) = state.tat.map(OffsetDateTime::unix_timestamp_nanos) else {
        return state;
    };
    let now_ns = now.unix_timestamp_nanos();
    let back = tat.saturating_sub(quota.interval());
    if back <= now_ns {
        // Whole again: every state at or before `now` decides as an empty one.
        return LimitState::default();
    }
    match OffsetDateTime::from_unix_timestamp_nanos(back) {
        Ok(at) => LimitState { tat: Some(at) },
        // Between two instants that are both representable: unreachable, but
        // refunding nothing is the safe answer.
        Err(_) => state,
    }
}

mod key;
pub use key::{JointDecision, KeyQuotaError, LimitedBy, check_joint_limit};

#[cfg(test)]
mod key_tests;
#[cfg(test)]
mod tests;
