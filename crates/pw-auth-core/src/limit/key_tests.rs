use super::*;
use crate::id::CompanyId;
use crate::mint::{KeyLabel, mint_api_key};
use time::Duration;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

fn q(limit: u32, period: u64, burst: u32) -> Quota {
    Quota::new(limit, period, burst).unwrap()
}

#[test]
fn a_key_quota_is_within_its_company_by_rate_and_by_burst() {
    let company = Quota::DEFAULT; // 240 a minute, 240 at once
    assert!(company.is_within(&company), "equal is not looser");
    assert!(q(60, 60, 60).is_within(&company));
    assert!(
        q(4, 1, 4).is_within(&company),
        "the same rate in other units"
    );
    assert!(q(240, 60, 240).is_within(&company));
    assert!(!q(241, 60, 240).is_within(&company), "a faster rate");
    assert!(!q(5, 1, 5).is_within(&company), "300 a minute");
    assert!(!q(240, 60, 241).is_within(&company), "a larger burst");
    assert!(
        !q(1, 1, 241).is_within(&company),
        "slower, but a larger burst"
    );
    // The largest values multiply without overflow.
    let huge = q(u32::MAX, 86_400, u32::MAX);
    assert!(huge.is_within(&huge));
    assert!(!huge.is_within(&q(u32::MAX, 86_400, u32::MAX - 1)));
    assert!(!q(u32::MAX, 86_399, 1).is_within(&huge));
}

#[test]
fn minting_a_key_with_a_looser_quota_is_refused_and_names_the_company_quota() {
    let acme = CompanyId::new("acme").unwrap();
    let random: Vec<u8> = (1..=16).collect();
    let minted = || mint_api_key(&acme, KeyLabel::new("erp").unwrap(), &random, T0).unwrap();
    let ok = minted().limited(q(10, 60, 5), &Quota::DEFAULT).unwrap();
    assert_eq!(ok.record.quota, Some(q(10, 60, 5)));
    let e = minted()
        .limited(q(300, 60, 10), &Quota::DEFAULT)
        .unwrap_err();
    assert_eq!(
        e,
        KeyQuotaError {
            limit: 240,
            period_secs: 60,
            burst: 240
        }
    );
    assert_eq!(
        e.to_string(),
        "a key's quota may not be looser than its company's (240 requests per 60 s, 240 at once)"
    );
    assert_eq!(minted().record.quota, None, "none by default");
}

#[test]
fn both_budgets_are_charged_or_neither() {
    let (company, key) = (q(3, 60, 3), q(2, 60, 2));
    let (c0, k0) = (LimitState::default(), LimitState::default());
    let (d1, c1, k1) = check_joint_limit(c0, &company, k0, &key, T0);
    assert_eq!(
        d1,
        JointDecision {
            company: LimitDecision::Allow {
                remaining: 2,
                reset_after: StdDuration::from_secs(20)
            },
            key: LimitDecision::Allow {
                remaining: 1,
                reset_after: StdDuration::from_secs(30)
            },
        }
    );
    assert_eq!((d1.limited_by(), d1.retry_after()), (None, None));
    assert_eq!(c1, check_limit(c0, &company, T0).1, "the company charged");
    assert_eq!(k1, check_limit(k0, &key, T0).1, "the key charged");
    let (_, c2, k2) = check_joint_limit(c1, &company, k1, &key, T0);
    // The key is spent: refused, and the company is not charged for it.
    let (d3, c3, k3) = check_joint_limit(c2, &company, k2, &key, T0);
    assert_eq!((c3, k3), (c2, k2));
    assert_eq!(d3.limited_by(), Some(LimitedBy::Key));
    assert_eq!(d3.retry_after(), Some(StdDuration::from_secs(30)));
    // The company's budget as it stands, uncharged: one left, whole in 40 s.
    assert_eq!(
        d3.company,
        LimitDecision::Allow {
            remaining: 1,
            reset_after: StdDuration::from_secs(40)
        }
    );
    // Another key of the company spends the last of the company's budget now.
    let (d4, c4, _) = check_joint_limit(c3, &company, LimitState::default(), &key, T0);
    assert!(d4.is_allowed());
    // Both spent: the longer wait (the key's 30 s, not the company's 20 s).
    let (both, c_both, k_both) = check_joint_limit(c4, &company, k3, &key, T0);
    assert_eq!(both.limited_by(), Some(LimitedBy::Both));
    assert_eq!(both.retry_after(), Some(StdDuration::from_secs(30)));
    assert_eq!((c_both, k_both), (c4, k3));
    // 30 s on, the first key is whole enough again, but a third key spends the
    // company's budget first: the first key is refused by the company, and its own
    // budget is not charged.
    let later = T0 + Duration::seconds(30);
    let (d5, c5, _) = check_joint_limit(c4, &company, LimitState::default(), &key, later);
    assert!(d5.is_allowed());
    let (d6, c6, k6) = check_joint_limit(c5, &company, k3, &key, later);
    assert_eq!(d6.limited_by(), Some(LimitedBy::Company));
    assert_eq!(d6.retry_after(), Some(StdDuration::from_secs(10)));
    assert_eq!((c6, k6), (c5, k3));
    assert_eq!(
        d6.key,
        LimitDecision::Allow {
            remaining: 1,
            reset_after: StdDuration::from_secs(30)
        }
    );
}

/// The naive bound, counted: no window of one period holds more than
/// `limit + burst - 1` of the `admitted` instants (in milliseconds, ascending).
fn within_windows(admitted: &[i64], quota: &Quota) -> bool {
    let period_ms = i64::try_from(quota.period_secs()).unwrap() * 1000;
    let most = u64::from(quota.limit()) + u64::from(quota.burst()) - 1;
    admitted.iter().enumerate().all(|(i, &start)| {
        let n = admitted[i..]
            .iter()
            .take_while(|&&t| t < start + period_ms)
            .count();
        n as u64 <= most
    })
}

type QuotaParts = (u32, u64, u32);

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4_000))]

    /// Across any interleaving of a company's keys (some with a quota of their own,
    /// some without) at any pace: the company admits no more than it would alone,
    /// each limited key no more than its own quota would alone (so at most the
    /// smaller of the two budgets), no window of a period holds more than either
    /// quota allows, and a refused request charges nothing.
    #[test]
    fn per_key_limits_admit_at_most_the_smaller_budget_in_any_interleaving(
        company in (1u32..8, 1u64..4, 1u32..8),
        keys in proptest::collection::vec(proptest::option::of((1u32..8, 1u64..4, 1u32..8)), 1..4),
        steps in proptest::collection::vec((0usize..4, 0i64..1_200), 1..150),
    ) {
        let quota = |(l, p, b): QuotaParts| q(l, p, b);
        let company_quota = quota(company);
        let key_quotas: Vec<Option<Quota>> = keys.iter().map(|k| k.map(quota)).collect();
        let n = key_quotas.len();
        // The joint run, and each budget alone.
        let mut company_state = LimitState::default();
        let mut key_states = vec![LimitState::default(); n];
        let mut alone_company = LimitState::default();
        let mut alone_keys = vec![LimitState::default(); n];
        let (mut admitted, mut admitted_alone) = (0u32, 0u32);
        let mut by_key = vec![0u32; n];
        let mut by_key_alone = vec![0u32; n];
        let mut company_times = Vec::new();
        let mut key_times: Vec<Vec<i64>> = vec![Vec::new(); n];
        let mut ms = 0i64;
        for (who, gap) in steps {
            let who = who % n;
            ms += gap;
            let now = T0 + Duration::milliseconds(ms);
            if check_limit(alone_company, &company_quota, now).0.is_allowed() {
                admitted_alone += 1;
            }
            alone_company = check_limit(alone_company, &company_quota, now).1;
            let allowed = match key_quotas[who] {
                None => {
                    let (d, s) = check_limit(company_state, &company_quota, now);
                    company_state = s;
                    d.is_allowed()
                }
                Some(kq) => {
                    let (d_alone, s_alone) = check_limit(alone_keys[who], &kq, now);
                    alone_keys[who] = s_alone;
                    by_key_alone[who] += u32::from(d_alone.is_allowed());
                    let (d, c, k) =
                        check_joint_limit(company_state, &company_quota, key_states[who], &kq, now);
                    proptest::prop_assert_eq!(
                        d.is_allowed(),
                        d.company.is_allowed() && d.key.is_allowed()
                    );
                    if !d.is_allowed() {
                        proptest::prop_assert_eq!((c, k), (company_state, key_states[who]));
                        proptest::prop_assert!(d.retry_after().is_some());
                    }
                    company_state = c;
                    key_states[who] = k;
                    d.is_allowed()
                }
            };
            if allowed {
                admitted += 1;
                by_key[who] += 1;
                company_times.push(ms);
                key_times[who].push(ms);
            }
            proptest::prop_assert!(admitted <= admitted_alone, "{admitted} > {admitted_alone}");
            for k in 0..n {
                if key_quotas[k].is_some() {
                    proptest::prop_assert!(by_key[k] <= by_key_alone[k]);
                    proptest::prop_assert!(by_key[k] <= admitted_alone);
                }
            }
        }
        proptest::prop_assert!(within_windows(&company_times, &company_quota));
        for (times, kq) in key_times.iter().zip(&key_quotas) {
            if let Some(kq) = kq {
                proptest::prop_assert!(within_windows(times, kq));
            }
        }
    }
}

#[test]
fn a_limited_keys_principal_carries_its_quota_and_id_and_others_carry_none() {
    use crate::authn::{Authenticator, Lookup};
    let acme = CompanyId::new("acme").unwrap();
    let random: Vec<u8> = (1..=16).collect();
    let minted = mint_api_key(&acme, KeyLabel::new("erp").unwrap(), &random, T0)
        .unwrap()
        .limited(q(10, 60, 5), &Quota::DEFAULT)
        .unwrap();
    let auth = Authenticator::default();
    let p = auth
        .api_key(
            &minted.key,
            Lookup::Found(&minted.record),
            Some(&minted.user),
            T0,
        )
        .unwrap();
    assert_eq!(p.key_quota(), Some(&q(10, 60, 5)));
    assert_eq!(p.key_id(), Some(&minted.record.id));
    // A key without a quota: its id, no quota.
    let plain = mint_api_key(
        &acme,
        KeyLabel::new("erp").unwrap(),
        b"fedcba9876543210",
        T0,
    )
    .unwrap();
    let p = auth
        .api_key(
            &plain.key,
            Lookup::Found(&plain.record),
            Some(&plain.user),
            T0,
        )
        .unwrap();
    assert_eq!((p.key_quota(), p.key_id()), (None, Some(&plain.record.id)));
    // A bearer principal has neither.
    let bearer = crate::principal::testing::principal(crate::role::Role::Manager, &acme);
    assert_eq!((bearer.key_quota(), bearer.key_id()), (None, None));
}
