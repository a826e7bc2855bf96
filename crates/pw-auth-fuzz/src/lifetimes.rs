//! The lifetimes target: arbitrary times, lifetimes, leeways and probes.
#![expect(
    clippy::arithmetic_side_effects,
    reason = "the oracle computes in i128 nanoseconds: dates span about 3e20 ns and u64 seconds times 1e9 stay below 2e28, far from i128's 1.7e38"
)]

use std::time::Duration as StdDuration;

use arbitrary::{Arbitrary, Unstructured};
use pw_auth_core::{
    ExpiresIn, Leeway, Lifetime, LifetimeError, MAX_EXPIRES_IN_SECS, MAX_LEEWAY_SECS, Validity,
};
use time::{Duration, OffsetDateTime};

use crate::{Checked, ensure};

/// A structured lifetime input.
#[derive(Debug, Clone, Arbitrary)]
pub struct LifetimeInput {
    issued_unix: i64,
    issued_nanos: u32,
    expires_in: u64,
    leeway_ms: u64,
    probe_offset_ns: i64,
    margin_secs: u64,
}

fn nanos(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos()
}

/// Never panics, never wraps; `validity` is exactly `issued - leeway <= t <
/// expires + leeway` computed in wide integers; renewal is due exactly from
/// `expires - margin`.
pub fn lifetimes(input: &LifetimeInput) -> Checked {
    let Ok(issued) = OffsetDateTime::from_unix_timestamp(input.issued_unix) else {
        return Ok(());
    };
    let Some(issued) = issued
        .replace_nanosecond(input.issued_nanos % 1_000_000_000)
        .ok()
    else {
        return Ok(());
    };
    let expires_in = match ExpiresIn::from_secs(input.expires_in) {
        Ok(e) => e,
        Err(_) => {
            return ensure(
                input.expires_in == 0 || input.expires_in > MAX_EXPIRES_IN_SECS,
                || format!("expires_in {} refused", input.expires_in),
            );
        }
    };
    let life = match Lifetime::new(issued, expires_in) {
        Ok(l) => l,
        Err(e) => {
            let end = issued.checked_add(Duration::seconds(
                i64::try_from(input.expires_in).unwrap_or(i64::MAX),
            ));
            return ensure(e == LifetimeError::OutOfRange && end.is_none(), || {
                format!("Lifetime::new({issued}, {}) failed: {e}", input.expires_in)
            });
        }
    };
    let secs = i128::from(input.expires_in);
    ensure(
        nanos(life.expires_at()) - nanos(life.issued_at()) == secs * 1_000_000_000,
        || "expires_at is not issued_at + expires_in".to_owned(),
    )?;
    let Some(probe) = issued.checked_add(Duration::nanoseconds(input.probe_offset_ns)) else {
        return Ok(());
    };
    let leeway_ms = input.leeway_ms % (MAX_LEEWAY_SECS * 1000 + 1);
    let Ok(leeway) = Leeway::new(StdDuration::from_millis(leeway_ms)) else {
        return ensure(false, || format!("leeway {leeway_ms} ms refused"));
    };
    let l = i128::from(leeway_ms) * 1_000_000;
    let (t, start, end) = (
        nanos(probe),
        nanos(life.issued_at()) - l,
        nanos(life.expires_at()) + l,
    );
    let want = if t < start {
        Validity::NotYetValid
    } else if t < end {
        Validity::Valid
    } else {
        Validity::Expired
    };
    let got = life.validity(probe, leeway);
    ensure(got == want, || {
        format!("validity at {probe} is {got:?}, not {want:?}")
    })?;
    let margin = i128::from(input.margin_secs) * 1_000_000_000;
    let due = life.due_for_renewal(probe, StdDuration::from_secs(input.margin_secs));
    ensure(due == (t >= nanos(life.expires_at()) - margin), || {
        format!(
            "renewal at {probe} with margin {}s is {due}",
            input.margin_secs
        )
    })
}

/// [`lifetimes`] on raw bytes, decoded with `arbitrary`.
pub fn lifetimes_bytes(data: &[u8]) -> Checked {
    match LifetimeInput::arbitrary_take_rest(Unstructured::new(data)) {
        Ok(input) => lifetimes(&input),
        Err(_) => Ok(()),
    }
}
