//! Token lifetimes: the half-open interval and its leeway, for any times.

use proptest::prelude::*;
use pw_auth_core::*;
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};

fn any_time() -> impl Strategy<Value = OffsetDateTime> {
    // Years 1970..=2200, to the nanosecond.
    (0i64..7_258_118_400, 0u32..1_000_000_000).prop_map(|(s, ns)| {
        OffsetDateTime::from_unix_timestamp(s).unwrap() + Duration::nanoseconds(i64::from(ns))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8192))]

    #[test]
    fn valid_exactly_on_issued_to_expires(
        issued in any_time(), secs in 1u64..=MAX_EXPIRES_IN_SECS, probe in any_time(),
    ) {
        let life = Lifetime::new(issued, ExpiresIn::from_secs(secs).unwrap()).unwrap();
        let z = Leeway::ZERO;
        prop_assert_eq!(life.expires_at() - life.issued_at(), Duration::seconds(secs as i64));
        prop_assert_eq!(life.validity(issued, z), Validity::Valid);
        prop_assert_eq!(life.validity(life.expires_at() - Duration::nanoseconds(1), z), Validity::Valid);
        prop_assert_eq!(life.validity(life.expires_at(), z), Validity::Expired);
        prop_assert_eq!(life.validity(issued - Duration::nanoseconds(1), z), Validity::NotYetValid);
        let expected = if probe < issued {
            Validity::NotYetValid
        } else if probe < life.expires_at() {
            Validity::Valid
        } else {
            Validity::Expired
        };
        prop_assert_eq!(life.validity(probe, z), expected);
    }

    #[test]
    fn leeway_widens_by_exactly_the_leeway(
        issued in any_time(), secs in 1u64..=MAX_EXPIRES_IN_SECS,
        leeway_ms in 0u64..=MAX_LEEWAY_SECS * 1000,
    ) {
        let life = Lifetime::new(issued, ExpiresIn::from_secs(secs).unwrap()).unwrap();
        let w = Leeway::new(StdDuration::from_millis(leeway_ms)).unwrap();
        let l = Duration::milliseconds(leeway_ms as i64);
        let ns = Duration::nanoseconds(1);
        prop_assert_eq!(life.validity(issued - l, w), Validity::Valid);
        prop_assert_eq!(life.validity(issued - l - ns, w), Validity::NotYetValid);
        prop_assert_eq!(life.validity(life.expires_at() + l - ns, w), Validity::Valid);
        prop_assert_eq!(life.validity(life.expires_at() + l, w), Validity::Expired);
    }

    #[test]
    fn renewal_is_due_from_the_margin_on(
        issued in any_time(), secs in 1u64..=MAX_EXPIRES_IN_SECS,
        margin in 0u64..=2 * MAX_EXPIRES_IN_SECS, probe in any_time(),
    ) {
        let life = Lifetime::new(issued, ExpiresIn::from_secs(secs).unwrap()).unwrap();
        let m = StdDuration::from_secs(margin);
        let due = life.due_for_renewal(probe, m);
        prop_assert_eq!(due, probe >= life.expires_at() - Duration::seconds(margin as i64));
        // Never hands out a token that is already expired as "not due".
        if life.validity(probe, Leeway::ZERO) == Validity::Expired {
            prop_assert!(due);
        }
    }

    #[test]
    fn lifetimes_never_panic_or_wrap(secs in any::<u64>(), unix in any::<i64>()) {
        let Ok(issued) = OffsetDateTime::from_unix_timestamp(unix) else { return Ok(()) };
        match ExpiresIn::from_secs(secs) {
            Err(_) => prop_assert!(secs == 0 || secs > MAX_EXPIRES_IN_SECS),
            Ok(e) => match Lifetime::new(issued, e) {
                Ok(l) => prop_assert!(l.expires_at() > l.issued_at()),
                Err(err) => prop_assert_eq!(err, LifetimeError::OutOfRange),
            },
        }
    }
}

/// The lifetime cap, stated as a specification: 366 days is 31,622,400 seconds;
/// exactly that is accepted, one second more is refused, both ways in (a mistyped
/// `366 + 86_400` cap, about a day, once passed every test).
#[test]
fn expires_in_is_one_second_to_366_days_exactly() {
    assert_eq!(MAX_EXPIRES_IN_SECS, 31_622_400);
    let max = ExpiresIn::from_secs(31_622_400).unwrap();
    assert_eq!(max.as_secs(), 31_622_400);
    assert_eq!(u64::from(max), 31_622_400);
    assert_eq!(ExpiresIn::try_from(31_622_400u64), Ok(max));
    assert_eq!(
        ExpiresIn::from_secs(31_622_401),
        Err(LifetimeError::TooLong { secs: 31_622_401 })
    );
    assert_eq!(
        ExpiresIn::try_from(31_622_401u64),
        Err(LifetimeError::TooLong { secs: 31_622_401 })
    );
    assert_eq!(ExpiresIn::try_from(0u64), Err(LifetimeError::Zero));
    let one = ExpiresIn::try_from(1u64).unwrap();
    assert_eq!((one.as_secs(), u64::from(one)), (1, 1));
    assert_eq!(ExpiresIn::from_secs(3_600).unwrap().as_secs(), 3_600);
}

/// A lifetime loaded from its ends: exactly 366 days long is accepted, a nanosecond
/// more is refused; its length is what the ends say.
#[test]
fn lifetimes_from_bounds_at_the_cap() {
    let issued = pw_auth_core::testing::NOW;
    let at_cap = issued + Duration::seconds(31_622_400);
    let l = Lifetime::from_bounds(issued, at_cap).unwrap();
    assert_eq!(l.length(), std::time::Duration::from_secs(31_622_400));
    assert!(matches!(
        Lifetime::from_bounds(issued, at_cap + Duration::nanoseconds(1)),
        Err(LifetimeError::TooLong { .. })
    ));
    let hour = Lifetime::from_bounds(issued, issued + Duration::hours(1)).unwrap();
    assert_eq!(hour.length(), std::time::Duration::from_secs(3_600));
}
