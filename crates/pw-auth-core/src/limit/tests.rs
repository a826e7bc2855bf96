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
