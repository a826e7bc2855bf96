//! Usage limits: the window bound, agreement with an independent leaky-bucket
//! formulation, and one budget per company whichever credential is used.

use std::time::Duration as StdDuration;

use proptest::prelude::*;
use pw_auth_core::*;
use time::{Duration, OffsetDateTime};

use crate::support::*;

fn quota() -> impl Strategy<Value = Quota> {
    (1u32..20, 1u64..10).prop_flat_map(|(limit, period)| {
        (Just(limit), Just(period), 1u32..=limit * 2)
            .prop_map(|(l, p, b)| Quota::new(l, p, b).unwrap())
    })
}

/// Arrival times: nanosecond offsets from NOW, sorted, over a few periods.
fn arrivals(q: Quota) -> impl Strategy<Value = Vec<i64>> {
    let span = (q.period_secs() as i64) * 4_000_000_000;
    prop::collection::vec(0..span, 1..120).prop_map(|mut v| {
        v.sort_unstable();
        v
    })
}

fn at(ns: i64) -> OffsetDateTime {
    NOW + Duration::nanoseconds(ns)
}

/// The leaky-bucket ("continuous state") formulation of GCRA, written apart from the
/// library's virtual-scheduling one: a bucket drains at one unit per nanosecond and
/// holds at most `tau + T`; a request fits if the drained level is at most `tau`.
struct Bucket {
    level: i128,
    last: i128,
}

impl Bucket {
    fn admit(&mut self, q: &Quota, t: i128) -> bool {
        // The emission interval, rounded up: never faster than the advertised limit.
        let t_unit = (i128::from(q.period_secs()) * 1_000_000_000 + i128::from(q.limit()) - 1)
            / i128::from(q.limit());
        let tau = t_unit * i128::from(q.burst() - 1);
        let drained = (self.level - (t - self.last)).max(0);
        if drained > tau {
            return false;
        }
        self.level = drained + t_unit;
        self.last = t;
        true
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn no_window_of_the_period_admits_more_than_limit_plus_burst(
        (q, times) in quota().prop_flat_map(|q| (Just(q), arrivals(q)))
    ) {
        let mut state = LimitState::default();
        let mut admitted = Vec::new();
        for &t in &times {
            let (d, s) = check_limit(state, &q, at(t));
            state = s;
            if d.is_allowed() {
                admitted.push(t);
            }
        }
        let period = (q.period_secs() as i64) * 1_000_000_000;
        let bound = (q.limit() + q.burst() - 1) as usize;
        for (i, &start) in admitted.iter().enumerate() {
            let n = admitted[i..].iter().take_while(|&&t| t < start + period).count();
            prop_assert!(n <= bound, "{n} admitted in one period; the bound is {bound}");
        }
    }

    #[test]
    fn admits_exactly_when_the_leaky_bucket_has_room(
        (q, times) in quota().prop_flat_map(|q| (Just(q), arrivals(q)))
    ) {
        let mut state = LimitState::default();
        let mut bucket = Bucket { level: 0, last: 0 };
        for &t in &times {
            let (d, s) = check_limit(state, &q, at(t));
            state = s;
            prop_assert_eq!(d.is_allowed(), bucket.admit(&q, i128::from(t)), "at +{}ns", t);
            // A denial says how long to wait, and waiting that long is enough.
            if let LimitDecision::Deny { retry_after, .. } = d {
                let later = at(t) + Duration::try_from(retry_after).unwrap();
                prop_assert!(check_limit(state, &q, later).0.is_allowed());
                prop_assert!(!check_limit(state, &q, later - Duration::nanoseconds(1)).0.is_allowed());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// A reservation given back leaves a budget that decides exactly as if the
    /// reserved request had never been made, at the moment of the refund and at every
    /// later one (checked by replaying the rest of the arrivals on both).
    #[test]
    fn a_refunded_reservation_is_as_if_never_made(
        (q, times, cut, delay) in quota().prop_flat_map(|q| (Just(q), arrivals(q), any::<prop::sample::Index>(), 0i64..2_000_000_000))
    ) {
        let cut = cut.index(times.len());
        let mut state = LimitState::default();
        for &t in &times[..cut] {
            state = check_limit(state, &q, at(t)).1;
        }
        // Reserved at an arrival, or — when that arrival is refused — as soon as the
        // refusal says one request will be admitted (no case is thrown away: with
        // dense arrivals most would be, and proptest gives up on too many rejects).
        let reserve_at = match check_limit(state, &q, at(times[cut])).0 {
            LimitDecision::Deny { retry_after, .. } => {
                times[cut] + i64::try_from(retry_after.as_nanos()).unwrap()
            }
            LimitDecision::Allow { .. } => times[cut],
        };
        let (d, reserved) = check_limit(state, &q, at(reserve_at));
        prop_assert!(d.is_allowed(), "admitted once its retry_after has passed");
        // The work the reservation paid for takes `delay`; then it is given back.
        let refund_at = reserve_at + delay;
        let mut with_refund = refund_limit(reserved, &q, at(refund_at));
        let mut never_made = state;
        let mut later: Vec<i64> = times[cut + 1..].iter().map(|&t| t.max(refund_at)).collect();
        later.insert(0, refund_at);
        for &t in &later {
            let (a, sa) = check_limit(with_refund, &q, at(t));
            let (b, sb) = check_limit(never_made, &q, at(t));
            prop_assert_eq!(a, b, "at +{}ns", t);
            with_refund = sa;
            never_made = sb;
        }
    }

    /// A refund gives back at most one request, never more, whatever state it is
    /// handed (also states that were never charged, or charged by another clock).
    #[test]
    fn a_refund_gives_back_at_most_one_request(
        (q, times) in quota().prop_flat_map(|q| (Just(q), arrivals(q))),
        offset in -5_000_000_000i64..5_000_000_000,
    ) {
        let mut state = LimitState::default();
        for &t in &times {
            state = check_limit(state, &q, at(t)).1;
        }
        let now = at(times.last().copied().unwrap_or(0) + offset);
        let refunded = refund_limit(state, &q, now);
        // Count what each admits at `now`, back to back.
        let count = |mut s: LimitState| {
            let mut n = 0u32;
            while n <= q.limit() + q.burst() {
                let (d, next) = check_limit(s, &q, now);
                if !d.is_allowed() { break; }
                s = next;
                n += 1;
            }
            n
        };
        let (before, after) = (count(state), count(refunded));
        prop_assert!(after == before || after == before + 1, "{} then {}", before, after);
        prop_assert!(after <= q.burst());
    }
}

/// The recipe a server follows: authenticate, authorise, spend the budget `usage_key`
/// names (the principal's own company). An API key and a bearer token of acme,
/// asking for different actions, exhaust one budget together; globex keeps its own.
#[test]
fn api_keys_and_tokens_of_a_company_share_one_budget() {
    let acme = company("acme");
    let m = mint_api_key(
        &acme,
        KeyLabel::new("erp").unwrap(),
        b"0123456789abcdef",
        NOW,
    )
    .unwrap();
    let ann = UserRecord::active(user("ann"), acme.clone(), Role::Manager);
    let t = issue_token(&ann, b"fedcba9876543210", NOW, ExpiresIn::DEFAULT).unwrap();
    let mut store = MemoryRecords::new();
    store
        .insert_minted(&m)
        .insert_user(ann)
        .insert_token(t.record.clone());
    let key = Credential::ApiKey(m.key.clone());
    let token = Credential::Bearer(t.token.clone());
    let q = Quota::new(4, 60, 4).unwrap();
    let mut budgets: std::collections::HashMap<CompanyId, LimitState> = Default::default();
    let mut spend = |credential: &Credential, action: &str| {
        let p = Authenticator::default()
            .authenticate(credential, &store, NOW)
            .unwrap();
        let req = Request::new(action, p.company(), Tier::Professional);
        assert!(authorize(policy(), &p, &req, NOW).is_allowed());
        let state = budgets.entry(usage_key(&p).clone()).or_default();
        let (d, next) = check_limit(*state, &q, NOW);
        *state = next;
        d.is_allowed()
    };
    let admitted: Vec<bool> = [
        (&key, "flows.view"),
        (&token, "flows.deploy"),
        (&key, "scripts.view"),
        (&token, "users.view"),
    ]
    .into_iter()
    .map(|(c, a)| spend(c, a))
    .collect();
    assert_eq!(admitted, [true; 4]);
    assert!(
        !spend(&key, "company.view"),
        "the key has no budget of its own"
    );
    assert!(!spend(&token, "flows.view"), "nor has the token");
    let globex = company("globex");
    let (d, _) = check_limit(budgets.get(&globex).copied().unwrap_or_default(), &q, NOW);
    assert!(d.is_allowed(), "another company's budget is untouched");
}

#[test]
fn retry_after_is_exact_for_the_default_quota() {
    let q = Quota::DEFAULT;
    let mut s = LimitState::default();
    for _ in 0..240 {
        s = check_limit(s, &q, NOW).1;
    }
    let (d, _) = check_limit(s, &q, NOW + Duration::milliseconds(100));
    assert_eq!(
        d,
        LimitDecision::Deny {
            retry_after: StdDuration::from_millis(150),
            reset_after: StdDuration::from_millis(59_900)
        }
    );
}

/// The emission interval the limiter spaces requests by: `period / limit`, rounded up.
fn interval_ns(q: &Quota) -> i64 {
    let p = q.period_secs() as i64 * 1_000_000_000;
    (p + i64::from(q.limit()) - 1) / i64::from(q.limit())
}

/// One request stamped 2099 by a node whose clock ran ahead used to leave state that
/// refused the company for 72 years (`retry_after` 2,275,127,940 s). Now it costs at
/// most one interval: 250 ms for the default quota, and then requests are admitted.
#[test]
fn a_request_from_the_future_costs_at_most_one_interval() {
    let q = Quota::DEFAULT;
    let future = time::macros::datetime!(2099-01-01 0:00 UTC);
    let (d, poisoned) = check_limit(LimitState::default(), &q, future);
    assert!(d.is_allowed());
    let (d, clamped) = check_limit(poisoned, &q, NOW);
    let LimitDecision::Deny {
        retry_after,
        reset_after,
    } = d
    else {
        panic!("a full budget's worth of debt is refused once: {d:?}");
    };
    assert_eq!(retry_after, StdDuration::from_millis(250));
    assert_eq!(reset_after, StdDuration::from_secs(60));
    assert_ne!(
        clamped, poisoned,
        "the clamped state is handed back to store"
    );
    let later = NOW + Duration::milliseconds(250);
    assert!(check_limit(clamped, &q, later).0.is_allowed());
    // Even the poisoned state itself, re-read later, refuses for one interval only.
    let (d, _) = check_limit(poisoned, &q, later);
    assert!(
        matches!(d, LimitDecision::Deny { retry_after, .. } if retry_after == StdDuration::from_millis(250))
    );
}

/// The clock stepping back an hour used to give a 3,540 s wait.
#[test]
fn a_clock_stepping_back_an_hour_costs_at_most_one_interval() {
    let q = Quota::new(60, 60, 60).unwrap();
    let mut s = LimitState::default();
    for _ in 0..60 {
        s = check_limit(s, &q, NOW).1;
    }
    let back = NOW - Duration::hours(1);
    let (d, s) = check_limit(s, &q, back);
    assert_eq!(
        d,
        LimitDecision::Deny {
            retry_after: StdDuration::from_secs(1),
            reset_after: StdDuration::from_secs(60)
        }
    );
    assert!(
        check_limit(s, &q, back + Duration::seconds(1))
            .0
            .is_allowed()
    );
    assert!(
        !check_limit(
            s,
            &q,
            back + Duration::seconds(1) - Duration::nanoseconds(1)
        )
        .0
        .is_allowed()
    );
}

/// A `now` that RFC 3339 cannot carry (year 10000 and beyond, negative years) is
/// refused, so the stored state can always be written and read back; a seconds
/// offset is written in UTC.
#[test]
fn limiter_state_is_always_writable() {
    let q = Quota::DEFAULT;
    for now in [
        time::macros::datetime!(-0001-06-01 0:00 UTC),
        time::macros::datetime!(9999-12-31 23:59:59.9 UTC),
    ] {
        let (d, s) = check_limit(LimitState::default(), &q, now);
        assert!(!d.is_allowed(), "{now}");
        assert_eq!(s, LimitState::default());
    }
    let odd = NOW.to_offset(time::macros::offset!(+01:00:30));
    let (d, s) = check_limit(LimitState::default(), &q, odd);
    assert!(d.is_allowed());
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(json, r#"{"tat":"2026-11-27T12:00:00.25Z"}"#);
    assert_eq!(serde_json::from_str::<LimitState>(&json).unwrap(), s);
}

/// Quotas finer than a nanosecond are refused; coarse ones round the interval up, so
/// a period never admits more than `RateLimit-Policy`'s `q` (plus the burst).
#[test]
fn extreme_quotas_agree_with_what_is_advertised() {
    assert_eq!(Quota::new(1_000_000_001, 1, 1), Err(QuotaError::TooFine));
    let q = Quota::new(1_000_000_000, 1, 1).unwrap();
    let mut s = LimitState::default();
    let mut admitted = 0u32;
    for ns in 0..1000 {
        let (d, next) = check_limit(s, &q, NOW + Duration::nanoseconds(ns));
        s = next;
        admitted += u32::from(d.is_allowed());
    }
    assert_eq!(admitted, 1000, "one a nanosecond");
    // 3 a second: an interval of 333,333,334 ns, so 30 periods admit at most 90.
    let q = Quota::new(3, 1, 1).unwrap();
    let mut s = LimitState::default();
    let mut admitted = 0u32;
    let mut t = NOW;
    while t < NOW + Duration::seconds(30) {
        let (d, next) = check_limit(s, &q, t);
        s = next;
        admitted += u32::from(d.is_allowed());
        t += Duration::nanoseconds(333_333_333);
    }
    assert!(admitted <= 90, "{admitted}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Several nodes share one company's state, each with its own clock (up to two
    /// hours fast or slow). Whatever they wrote, no denial asks any node to wait
    /// longer than one interval, and a node that waits what it was told is admitted
    /// (when nobody else spent in between).
    #[test]
    fn skewed_nodes_never_lock_a_company_out(
        q in quota(),
        skews in prop::collection::vec(-7_200_000_000_000i64..7_200_000_000_000, 1..4),
        steps in prop::collection::vec((0usize..4, 0i64..2_000_000_000), 1..80),
    ) {
        let mut state = LimitState::default();
        let mut true_ns = 0i64;
        for (node, gap) in steps {
            true_ns += gap;
            let clock = at(true_ns + skews[node % skews.len()]);
            let (d, next) = check_limit(state, &q, clock);
            state = next;
            if let LimitDecision::Deny { retry_after, reset_after } = d {
                let wait = i64::try_from(retry_after.as_nanos()).unwrap();
                prop_assert!(wait <= interval_ns(&q), "waits {wait} ns; the interval is {}", interval_ns(&q));
                let full = i64::try_from(reset_after.as_nanos()).unwrap();
                prop_assert!(full <= interval_ns(&q) * i64::from(q.burst()));
                prop_assert!(check_limit(state, &q, clock + Duration::nanoseconds(wait)).0.is_allowed());
            }
        }
    }
}
