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
        let t_unit = (i128::from(q.period_secs()) * 1_000_000_000) / i128::from(q.limit());
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

/// A store of one company's API key and one person's token.
struct Store {
    key: ApiKeyRecord,
    token: TokenRecord,
    users: Vec<UserRecord>,
}

impl RecordStore for Store {
    fn api_key(&self, digest: &ApiKeyDigest) -> Lookup<'_, ApiKeyRecord> {
        Some(&self.key).filter(|k| &k.digest == digest).into()
    }
    fn token(&self, digest: &TokenDigest) -> Lookup<'_, TokenRecord> {
        Some(&self.token).filter(|t| &t.digest == digest).into()
    }
    fn user(&self, id: &UserId) -> Option<&UserRecord> {
        self.users.iter().find(|u| &u.id == id)
    }
}

/// The recipe a server follows: authenticate, build the request in the principal's
/// company, spend the budget `usage_key` names. An API key and a bearer token of acme,
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
    let store = Store {
        key: m.record.clone(),
        token: t.record.clone(),
        users: vec![m.user.clone(), ann],
    };
    let key = Credential::ApiKey(m.key.clone());
    let token = Credential::Bearer(t.token.clone());
    let q = Quota::new(4, 60, 4).unwrap();
    let mut budgets: std::collections::HashMap<CompanyId, LimitState> = Default::default();
    let mut spend = |credential: &Credential, action: &str| {
        let p = Authenticator::default()
            .authenticate(credential, &store, NOW)
            .unwrap();
        let req = Request::new(action, p.company(), Tier::Professional);
        let state = budgets.entry(usage_key(&req).clone()).or_default();
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
