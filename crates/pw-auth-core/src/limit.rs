//! Usage limits: one budget per company, whichever credential is used, decided by the
//! generic cell rate algorithm (GCRA). The state is a small value the caller stores
//! wherever it likes; the decision is a pure function of state, quota and `now`.
//!
//! A quota of `limit` requests per `period` with a `burst` admits requests spaced
//! `period / limit` apart on average, and up to `burst` at once. Over any window of
//! length `period`, at most `limit + burst - 1` requests are admitted (with the
//! default `burst = limit`, a fresh client may spend a whole period's budget at once,
//! then refills at `limit / period`).

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

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

    #[test]
    fn the_default_quota_admits_a_minutes_budget_then_refills() {
        let q = Quota::DEFAULT;
        let mut s = LimitState::default();
        for i in 0..240u32 {
            let (d, next) = check_limit(s, &q, T0);
            assert_eq!(
                d,
                LimitDecision::Allow {
                    remaining: 239 - i,
                    reset_after: StdDuration::from_millis(250 * u64::from(i + 1))
                }
            );
            s = next;
        }
        let (d, same) = check_limit(s, &q, T0);
        assert_eq!(
            d,
            LimitDecision::Deny {
                retry_after: StdDuration::from_millis(250),
                reset_after: StdDuration::from_secs(60)
            }
        );
        assert_eq!(same, s);
        // 250 ms later, exactly one more.
        let t = T0 + Duration::milliseconds(250);
        let (d, s) = check_limit(s, &q, t);
        assert!(d.is_allowed());
        assert!(!check_limit(s, &q, t).0.is_allowed());
    }

    #[test]
    fn quotas_are_checked() {
        assert_eq!(
            Quota::new(0, 60, 1),
            Err(QuotaError::Zero { field: "limit" })
        );
        assert_eq!(
            Quota::new(1, 60, 0),
            Err(QuotaError::Zero { field: "burst" })
        );
        assert_eq!(Quota::new(1, 0, 1), Err(QuotaError::Period { secs: 0 }));
        assert_eq!(
            Quota::new(1, 86_401, 1),
            Err(QuotaError::Period { secs: 86_401 })
        );
        let q: Quota = serde_json::from_str(r#"{"limit": 10, "period_secs": 1}"#).unwrap();
        assert_eq!(q.burst(), 10);
        assert!(serde_json::from_str::<Quota>(r#"{"limit": 0, "period_secs": 1}"#).is_err());
    }

    #[test]
    fn state_round_trips_and_never_wraps_at_the_end_of_time() {
        let q = Quota::new(1, 60, 1).unwrap();
        let (_, s) = check_limit(LimitState::default(), &q, T0);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<LimitState>(&json).unwrap(), s);
        let end = datetime!(+9999-12-31 23:59:59 UTC);
        let (d, s2) = check_limit(LimitState::default(), &q, end);
        assert!(!d.is_allowed());
        assert_eq!(s2, LimitState::default());
    }

    /// The limiter as it was written before it counted in Unix nanoseconds, on
    /// `time`'s calendar arithmetic: the reference the integer version must equal.
    #[expect(clippy::arithmetic_side_effects, reason = "test code, as it was")]
    fn calendar_check_limit(
        state: LimitState,
        quota: &Quota,
        now: OffsetDateTime,
    ) -> (LimitDecision, LimitState) {
        let ns = |d: Duration| d.whole_nanoseconds();
        let std = |d: Duration| StdDuration::try_from(d).unwrap_or(StdDuration::ZERO);
        let interval = Duration::nanoseconds(i64::try_from(quota.interval()).unwrap());
        let tolerance = interval
            .checked_mul(i32::try_from(quota.burst.saturating_sub(1)).unwrap_or(i32::MAX))
            .unwrap_or(Duration::MAX);
        let once = LimitDecision::Deny {
            retry_after: std(interval),
            reset_after: std(interval),
        };
        let writable = |t: OffsetDateTime| {
            t.checked_to_offset(time::UtcOffset::UTC)
                .is_some_and(|u| (0..=9999).contains(&u.year()))
        };
        if !writable(now) {
            return (once, state);
        }
        let latest = tolerance
            .checked_add(interval)
            .and_then(|d| now.checked_add(d));
        let state = match (state.tat, latest) {
            (Some(t), Some(latest)) if t > latest => LimitState { tat: Some(latest) },
            _ => state,
        };
        let tat = state.tat.map_or(now, |t| t.max(now));
        let debt = tat - now;
        if debt > tolerance {
            let d = LimitDecision::Deny {
                retry_after: std(debt.checked_sub(tolerance).unwrap_or(Duration::ZERO)),
                reset_after: std(debt),
            };
            return (d, state);
        }
        let Some(new_tat) = tat.checked_add(interval).filter(|t| writable(*t)) else {
            return (once, state);
        };
        let debt = new_tat - now;
        let room = ns(tolerance
            .checked_add(interval)
            .and_then(|c| c.checked_sub(debt))
            .unwrap_or(Duration::ZERO));
        let remaining = room
            .checked_div(ns(interval))
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or(0);
        (
            LimitDecision::Allow {
                remaining,
                reset_after: std(debt),
            },
            LimitState { tat: Some(new_tat) },
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

        /// Decision and state equal to the calendar version's, for any quota, any
        /// stored state (far past, far future, near the ends of writable time) and
        /// any clock, in any UTC offset.
        #[test]
        fn integer_limiter_equals_the_calendar_one(
            limit in proptest::prop_oneof![1u32..5, 1u32..1000, proptest::prelude::any::<u32>()],
            period in proptest::prop_oneof![1u64..=60, 1u64..=86_400],
            burst in proptest::prop_oneof![1u32..5, 1u32..1000, proptest::prelude::any::<u32>()],
            now_ns in proptest::prop_oneof![
                4 => -10_000_000_000_000i128..10_000_000_000_000,
                1 => FAR_PAST..FAR_FUTURE,
            ],
            tat in proptest::option::of(proptest::prop_oneof![
                4 => -10_000_000_000_000i128..100_000_000_000_000,
                1 => FAR_PAST..FAR_FUTURE,
            ]),
            now_offset in -86_399i32..86_400,
            tat_offset in -86_399i32..86_400,
            steps in 1usize..4,
            at_the_edge in proptest::option::of(-3i128..=3),
        ) {
            let Ok(quota) = Quota::new(limit, period, burst) else { return Ok(()) };
            // Often, a stored state within a few nanoseconds of the latest one `now`
            // can leave: where clamping starts.
            let tat = match at_the_edge {
                Some(d) => Some(now_ns + quota.tolerance_for(quota.interval()) + quota.interval() + d),
                None => tat,
            };
            let at = |ns: i128, offset: i32| {
                OffsetDateTime::from_unix_timestamp_nanos(T0.unix_timestamp_nanos() + ns)
                    .ok()
                    .and_then(|t| t.checked_to_offset(time::UtcOffset::from_whole_seconds(offset).ok()?))
            };
            let Some(now) = at(now_ns, now_offset) else { return Ok(()) };
            let tat = match tat {
                Some(ns) => match at(ns, tat_offset) {
                    Some(t) => Some(t),
                    None => return Ok(()),
                },
                None => None,
            };
            let (mut ours, mut theirs) = (LimitState { tat }, LimitState { tat });
            for _ in 0..steps {
                let (d1, s1) = check_limit(ours, &quota, now);
                let (d2, s2) = calendar_check_limit(theirs, &quota, now);
                proptest::prop_assert_eq!(d1, d2);
                proptest::prop_assert_eq!(s1, s2);
                (ours, theirs) = (s1, s2);
            }
        }
    }

    /// Instants near the ends of writable time, relative to `T0`, in nanoseconds.
    const FAR_PAST: i128 = -62_167_219_200_000_000_000 - 1_000_000_000_000_000 - T0_NS;
    const FAR_FUTURE: i128 = 253_402_300_799_999_999_999 + 1_000_000_000_000_000 - T0_NS;
    /// `T0` in Unix nanoseconds.
    const T0_NS: i128 = 1_795_780_800_000_000_000;

    /// The interval is `period / limit` rounded up to whole nanoseconds, and the
    /// tolerance `burst - 1` intervals, worked out by hand.
    #[test]
    fn intervals_and_tolerances_by_hand() {
        let q = |l, p, b| Quota::new(l, p, b).unwrap();
        assert_eq!(q(240, 60, 240).interval(), 250_000_000);
        assert_eq!(q(3, 1, 1).interval(), 333_333_334);
        assert_eq!(q(7, 1, 1).interval(), 142_857_143);
        assert_eq!(q(1, 86_400, 1).interval(), 86_400_000_000_000);
        assert_eq!(q(1_000_000_000, 1, 1).interval(), 1);
        assert_eq!(
            q(240, 60, 240).tolerance_for(250_000_000),
            239 * 250_000_000
        );
        assert_eq!(q(1, 1, 1).tolerance_for(1_000_000_000), 0);
        assert_eq!(
            q(1, 86_400, u32::MAX).tolerance_for(86_400_000_000_000),
            86_400_000_000_000 * i128::from(i32::MAX)
        );
    }

    #[test]
    fn t0_in_unix_nanoseconds() {
        assert_eq!(T0.unix_timestamp_nanos(), T0_NS);
    }
}
