//! The limiter target: one company's state shared by nodes whose clocks disagree.
#![expect(
    clippy::arithmetic_side_effects,
    reason = "offsets are bounded: skews below 2^31 ms and at most 256 steps of below 2^32 ms from 2026 stay far inside time's range; the oracle computes in i128"
)]

use arbitrary::{Arbitrary, Unstructured};
use pw_auth_core::{LimitDecision, LimitState, Quota, check_limit};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::{Checked, ensure};

/// A structured limiter input.
#[derive(Debug, Clone, Arbitrary)]
pub struct LimiterInput {
    limit: u32,
    period_secs: u32,
    burst: u32,
    /// Each node's clock error, in milliseconds.
    skews: Vec<i32>,
    /// (node, milliseconds of true time since the previous request).
    steps: Vec<(u8, u32)>,
}

const START: OffsetDateTime = datetime!(2026-11-27 00:00 UTC);

/// Never panics; a refusal never asks for more than one interval (`period / limit`
/// rounded up) nor `reset_after` for more than `burst` intervals; waiting the
/// `retry_after` given is enough; the state always survives JSON.
pub fn limiter(input: &LimiterInput) -> Checked {
    let Ok(q) = Quota::new(input.limit, u64::from(input.period_secs), input.burst) else {
        return Ok(());
    };
    let period_ns = i128::from(q.period_secs()) * 1_000_000_000;
    let interval = (period_ns + i128::from(q.limit()) - 1) / i128::from(q.limit());
    let skews: Vec<i32> = if input.skews.is_empty() {
        vec![0]
    } else {
        input.skews.iter().take(8).copied().collect()
    };
    let mut state = LimitState::default();
    let mut true_time = START;
    for &(node, gap) in input.steps.iter().take(256) {
        true_time += Duration::milliseconds(i64::from(gap));
        let skew = skews
            .get(usize::from(node) % skews.len())
            .copied()
            .unwrap_or(0);
        let clock = true_time + Duration::milliseconds(i64::from(skew));
        let (d, next) = check_limit(state, &q, clock);
        state = next;
        let json = serde_json::to_string(&state)
            .map_err(|e| crate::Violation(format!("state not writable: {e}")))?;
        let back: LimitState = serde_json::from_str(&json)
            .map_err(|e| crate::Violation(format!("state not readable: {e}")))?;
        ensure(back == state, || format!("{json} read back differently"))?;
        if let LimitDecision::Deny {
            retry_after,
            reset_after,
        } = d
        {
            let wait = i128::try_from(retry_after.as_nanos()).unwrap_or(i128::MAX);
            let full = i128::try_from(reset_after.as_nanos()).unwrap_or(i128::MAX);
            ensure(wait <= interval, || {
                format!("waits {wait} ns; the interval is {interval}")
            })?;
            ensure(full <= interval * i128::from(q.burst()), || {
                format!(
                    "reset after {full} ns; {} intervals are {interval}",
                    q.burst()
                )
            })?;
            let later = clock + Duration::nanoseconds(i64::try_from(wait).unwrap_or(0));
            ensure(check_limit(state, &q, later).0.is_allowed(), || {
                format!("refused again after waiting the {wait} ns it was told")
            })?;
        }
    }
    Ok(())
}

/// [`limiter`] on raw bytes.
pub fn limiter_bytes(data: &[u8]) -> Checked {
    match LimiterInput::arbitrary_take_rest(Unstructured::new(data)) {
        Ok(input) => limiter(&input),
        Err(_) => Ok(()),
    }
}
