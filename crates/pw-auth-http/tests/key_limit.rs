//! A limit per API key inside its company's budget, through the server flow: both
//! budgets charged or neither, both policies in the `RateLimit` fields, the longer
//! wait in `Retry-After`, and which budget refused in the audit record.

use std::collections::HashMap;

use pw_auth_core::*;
use pw_auth_http::*;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

struct World {
    records: MemoryRecords,
    flow: ServerFlow,
    /// A key limited to 2 requests a minute, 2 at once.
    limited: String,
    limited_id: ApiKeyId,
    /// A key with no quota of its own.
    plain: String,
}

fn world(legacy: bool) -> World {
    world_with(legacy, (3, 60), Quota::new(2, 60, 2).unwrap())
}

/// A world whose Professional quota is `company` (limit, period) and whose limited
/// key's is `key`.
fn world_with(legacy: bool, company: (u32, u64), key: Quota) -> World {
    let acme = CompanyId::new("acme").unwrap();
    let label = || KeyLabel::new("erp").unwrap();
    let limited = mint_api_key(&acme, label(), b"0123456789abcdef", NOW)
        .unwrap()
        .limited(key, &Quota::DEFAULT)
        .unwrap();
    let plain = mint_api_key(&acme, label(), b"fedcba9876543210", NOW).unwrap();
    let mut records = MemoryRecords::new();
    records.insert_minted(&limited).insert_minted(&plain);
    // A company quota of 3 a minute, so that both budgets can run out in a test.
    let mut document: serde_json::Value =
        serde_json::from_str(Policy::default_document_json()).unwrap();
    document["quotas"] =
        serde_json::json!({"professional": {"limit": company.0, "period_secs": company.1}});
    let policy = Policy::from_json(&document.to_string()).unwrap();
    World {
        records,
        flow: ServerFlow::new(policy, Responder::new("patchworks").unwrap())
            .with_legacy_limit_headers(legacy),
        limited: limited.key.expose_secret().to_owned(),
        limited_id: limited.record.id.clone(),
        plain: plain.key.expose_secret().to_owned(),
    }
}

/// acme's budget and each limited key's own; `hand_over_keys: false` plays a caller
/// that forgets the key's state.
#[derive(Default)]
struct Limits {
    company: LimitState,
    keys: HashMap<ApiKeyId, LimitState>,
    asked_for: Vec<Option<ApiKeyId>>,
    forget_keys: bool,
}

impl Budgets for Limits {
    fn budget(&mut self, c: &CompanyId, key: Option<&ApiKeyId>) -> Option<Budget<'_>> {
        assert_eq!(c.as_str(), "acme");
        self.asked_for.push(key.cloned());
        let budget = Budget::new(Tier::Professional, &mut self.company);
        match key {
            Some(k) if !self.forget_keys => {
                Some(budget.with_key(self.keys.entry(k.clone()).or_default()))
            }
            _ => Some(budget),
        }
    }
}

fn serve(w: &World, key: &str, limits: &mut Limits) -> Served {
    let acme = CompanyId::new("acme").unwrap();
    let request = Request::new("flows.view", &acme, Tier::Professional);
    w.flow
        .serve([key.as_bytes()], &w.records, request, Some(limits), NOW)
}

#[test]
fn the_company_quota_in_these_tests_is_three_a_minute() {
    assert_eq!(
        world(false).flow.policy().quota(Tier::Professional),
        Quota::new(3, 60, 3).unwrap()
    );
}

#[test]
fn a_limited_key_names_both_policies_and_is_refused_by_its_own_budget_first() {
    let w = world(false);
    let mut limits = Limits::default();
    let first = serve(&w, &w.limited, &mut limits);
    assert!(first.is_allowed());
    assert_eq!(limits.asked_for, [Some(w.limited_id.clone())]);
    assert_eq!(
        first.outcome().header("ratelimit-policy"),
        Some(r#""default";q=3;w=60, "key";q=2;w=60"#)
    );
    assert_eq!(
        first.outcome().header("ratelimit"),
        Some(r#""default";r=2;t=20, "key";r=1;t=30"#)
    );
    assert!(first.key_limit().unwrap().is_allowed());
    assert!(serve(&w, &w.limited, &mut limits).is_allowed());
    let company_before = limits.company;
    let key_before = limits.keys[&w.limited_id];

    let over = serve(&w, &w.limited, &mut limits);
    assert_eq!(over.outcome().status(), 429);
    assert_eq!(over.outcome().header("retry-after"), Some("30"));
    assert_eq!(
        over.outcome().header("ratelimit"),
        Some(r#""default";r=1;t=40, "key";r=0;t=60"#),
        "the company's budget as it stands: one left, not charged"
    );
    assert_eq!(
        (limits.company, limits.keys[&w.limited_id]),
        (company_before, key_before)
    );
    assert_eq!(
        over.explanation(),
        "the api key is over its own usage limit"
    );
    assert_eq!(
        serde_json::to_value(over.audit()).unwrap()["reason"],
        serde_json::json!({"kind": "over_limit", "retry_after_secs": 30, "limited_by": "key"})
    );
    assert!(matches!(over.key_limit(), Some(LimitDecision::Deny { .. })));
    assert!(over.limit().unwrap().is_allowed());

    // The company's last request goes to the key without a quota: one policy only.
    let plain = serve(&w, &w.plain, &mut limits);
    assert!(plain.is_allowed());
    assert_eq!(plain.key_limit(), None);
    assert_eq!(
        plain.outcome().header("ratelimit-policy"),
        Some(r#""default";q=3;w=60"#)
    );
    assert_eq!(limits.asked_for.last(), Some(&None));
    // Now both are spent: the longer wait, and both named.
    let both = serve(&w, &w.limited, &mut limits);
    assert_eq!(both.outcome().status(), 429);
    assert_eq!(both.outcome().header("retry-after"), Some("30"));
    assert_eq!(
        both.explanation(),
        "the company and the api key are both over their usage limits"
    );
    assert_eq!(
        serde_json::to_value(both.audit()).unwrap()["reason"]["limited_by"],
        "both"
    );
    // And the plain key is refused by the company alone.
    let company = serve(&w, &w.plain, &mut limits);
    assert_eq!(company.outcome().header("retry-after"), Some("20"));
    assert_eq!(
        serde_json::to_value(company.audit()).unwrap()["reason"]["limited_by"],
        "company"
    );
}

#[test]
fn a_caller_that_does_not_hand_over_the_keys_state_gets_refusals_never_admissions() {
    let w = world(false);
    let mut limits = Limits {
        forget_keys: true,
        ..Limits::default()
    };
    for _ in 0..3 {
        let s = serve(&w, &w.limited, &mut limits);
        assert_eq!(s.outcome().status(), 429);
        assert_eq!(s.outcome().header("retry-after"), Some("60"));
        assert_eq!(
            serde_json::to_value(s.audit()).unwrap()["reason"]["limited_by"],
            "key"
        );
    }
    assert_eq!(limits.company, LimitState::default(), "nothing charged");
    // The plain key is unaffected.
    assert!(serve(&w, &w.plain, &mut limits).is_allowed());
}

#[test]
fn the_legacy_fields_follow_the_budget_that_binds() {
    let w = world(true);
    let mut limits = Limits::default();
    let first = serve(&w, &w.limited, &mut limits);
    // The key has fewer left (1 of 2) than the company (2 of 3).
    assert_eq!(first.outcome().header("x-ratelimit-limit"), Some("2"));
    assert_eq!(first.outcome().header("x-ratelimit-remaining"), Some("1"));
    // The plain key: the company's.
    let plain = serve(&w, &w.plain, &mut limits);
    assert_eq!(plain.outcome().header("x-ratelimit-limit"), Some("3"));
    assert_eq!(plain.outcome().header("x-ratelimit-remaining"), Some("1"));
    // The limited key again: both have 0 left; the company's is named (a tie).
    let tie = serve(&w, &w.limited, &mut limits);
    assert_eq!(tie.outcome().header("x-ratelimit-limit"), Some("3"));
    assert_eq!(tie.outcome().header("x-ratelimit-remaining"), Some("0"));
    // Refused by both: the longer wait is the key's (30 s; the company's is 20 s).
    let refused = serve(&w, &w.limited, &mut limits);
    assert_eq!(refused.outcome().status(), 429);
    assert_eq!(refused.outcome().header("x-ratelimit-limit"), Some("2"));
    let reset = NOW.unix_timestamp() + 30;
    assert_eq!(
        refused.outcome().header("x-ratelimit-reset"),
        Some(reset.to_string().as_str())
    );
}

#[test]
fn on_equal_waits_the_legacy_fields_name_the_company() {
    // The company: 2 a minute; the key: 4 in two minutes, 2 at once — the same
    // 30-second interval and wait, a different limit.
    let w = world_with(true, (2, 60), Quota::new(4, 120, 2).unwrap());
    let mut limits = Limits::default();
    for _ in 0..2 {
        assert!(serve(&w, &w.limited, &mut limits).is_allowed());
    }
    let refused = serve(&w, &w.limited, &mut limits);
    assert_eq!(refused.outcome().status(), 429);
    assert_eq!(
        serde_json::to_value(refused.audit()).unwrap()["reason"]["limited_by"],
        "both"
    );
    assert_eq!(refused.outcome().header("retry-after"), Some("30"));
    assert_eq!(refused.outcome().header("x-ratelimit-limit"), Some("2"));
}

#[test]
fn an_admission_carries_both_budgets_answers() {
    let w = world(false);
    let mut limits = Limits::default();
    let Served::Admitted(limited) = serve(&w, &w.limited, &mut limits) else {
        panic!("refused")
    };
    assert_eq!(
        limited.key_limit(),
        Some(LimitDecision::Allow {
            remaining: 1,
            reset_after: std::time::Duration::from_secs(30)
        })
    );
    assert!(limited.limit().unwrap().is_allowed());
    let Served::Admitted(plain) = serve(&w, &w.plain, &mut limits) else {
        panic!("refused")
    };
    assert_eq!(plain.key_limit(), None);
}
