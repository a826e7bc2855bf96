//! The server flow: every path, the order of authentication, authorisation and
//! charging, the login steps and the key endpoints' bodies.

use std::time::Duration as StdDuration;

use pw_auth_core::*;
use pw_auth_http::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

fn id(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

fn company(s: &str) -> CompanyId {
    CompanyId::new(s).unwrap()
}

struct Fixture {
    world: MemoryRecords,
    flow: ServerFlow,
    key: String,
    ann: String,
    max: String,
}

fn fixture() -> Fixture {
    let acme = company("acme");
    let ann = UserRecord::active(id("ann"), acme.clone(), Role::Administrator);
    let max = UserRecord::active(id("max"), acme.clone(), Role::Manager);
    let mut off = UserRecord::active(id("off"), acme.clone(), Role::Manager);
    off.status = UserStatus::Disabled;
    let m = mint_api_key(
        &acme,
        KeyLabel::new("erp").unwrap(),
        b"0123456789abcdef",
        NOW,
    )
    .unwrap();
    let t_ann = issue_token(&ann, b"ann-token-random", NOW, ExpiresIn::DEFAULT).unwrap();
    let t_max = issue_token(&max, b"max-token-random", NOW, ExpiresIn::DEFAULT).unwrap();
    Fixture {
        key: m.key.expose_secret().to_owned(),
        ann: format!("Bearer {}", t_ann.token.expose_secret()),
        max: format!("Bearer {}", t_max.token.expose_secret()),
        world: {
            let mut world = MemoryRecords::new();
            world
                .insert_minted(&m)
                .insert_user(ann)
                .insert_user(off)
                .insert_user(max.clone())
                .insert_token(t_ann.record)
                .insert_token(t_max.record)
                .grant(max.id, company("acme-eu"));
            world
        },
        flow: ServerFlow::new(
            Policy::default_policy(),
            Responder::new("patchworks").unwrap(),
        ),
    }
}

/// Limiter states by company; charging a company it does not hold fails the test.
struct Limits(Vec<(CompanyId, Tier, LimitState)>);

impl Budgets for Limits {
    fn budget(&mut self, c: &CompanyId, _: Option<&ApiKeyId>) -> Option<Budget<'_>> {
        let (_, tier, state) = self
            .0
            .iter_mut()
            .find(|(id, ..)| id == c)
            .unwrap_or_else(|| panic!("charged `{c}`, which has no budget here"));
        Some(Budget::new(*tier, state))
    }
}

/// acme's budget only.
struct Acme<'a>(&'a mut LimitState);

impl Budgets for Acme<'_> {
    fn budget(&mut self, c: &CompanyId, _: Option<&ApiKeyId>) -> Option<Budget<'_>> {
        assert_eq!(c.as_str(), "acme", "only acme pays here");
        Some(Budget::new(Tier::Professional, self.0))
    }
}

fn serve(f: &Fixture, lines: &[&str], action: &str, budget: Option<&mut LimitState>) -> Served {
    let acme = company("acme");
    let target = Request::new(action, &acme, Tier::Professional);
    let mut acme_pays = budget.map(Acme);
    f.flow.serve(
        lines.iter().map(|l| l.as_bytes()),
        &f.world,
        target,
        acme_pays.as_mut().map(|b| b as &mut dyn Budgets),
        NOW,
    )
}

/// Whose budget a linked-company request spends: the caller's own company's. Max,
/// an acme manager with a grant for the linked acme-eu, works in acme-eu on acme's
/// budget; acme-eu's own budget is untouched, so acme-eu's people are never refused
/// for what the parent spent (before, the parent drained it and acme-eu's own
/// administrator got 429).
#[test]
fn a_linked_company_request_spends_the_callers_own_budget() {
    let f = fixture();
    let (acme, eu) = (company("acme"), company("acme-eu"));
    let mut limits = Limits(vec![
        (acme.clone(), Tier::Professional, LimitState::default()),
        (eu.clone(), Tier::Professional, LimitState::default()),
    ]);
    let target = Request::new("flows.view", &eu, Tier::Professional).with_parent(&acme);
    for _ in 0..240 {
        let s = f
            .flow
            .serve([f.max.as_bytes()], &f.world, target, Some(&mut limits), NOW);
        assert!(s.is_allowed(), "{}", s.explanation());
    }
    let s = f
        .flow
        .serve([f.max.as_bytes()], &f.world, target, Some(&mut limits), NOW);
    assert_eq!(s.outcome().status(), 429, "acme's budget is spent");
    assert_ne!(limits.0[0].2, LimitState::default());
    assert_eq!(
        limits.0[1].2,
        LimitState::default(),
        "acme-eu's is untouched"
    );
    // And acme's own people now wait with max: one budget for the whole company.
    let own = Request::new("flows.view", &acme, Tier::Professional);
    let s = f
        .flow
        .serve([f.ann.as_bytes()], &f.world, own, Some(&mut limits), NOW);
    assert_eq!(s.outcome().status(), 429);
    assert_eq!(usage_key(s.principal().unwrap()), &acme);
}

/// Every path: status, challenge, audit reason; read line by line.
#[test]
fn every_path() {
    let f = fixture();
    let mut full = LimitState::default();
    // Spend acme's whole budget first, so the last case is over the limit.
    for _ in 0..240 {
        let s = serve(&f, &[&f.key], "flows.view", Some(&mut full));
        assert!(s.is_allowed());
    }
    let cases: Vec<(&str, Served)> = vec![
        ("no Authorization", serve(&f, &[], "flows.view", None)),
        (
            "two Authorization values",
            serve(&f, &[&f.key, &f.ann], "flows.view", None),
        ),
        (
            "Basic",
            serve(&f, &["Basic dXNlcjpwYXNz"], "flows.view", None),
        ),
        ("empty value", serve(&f, &[" "], "flows.view", None)),
        (
            "malformed bearer",
            serve(&f, &["Bearer a,b"], "flows.view", None),
        ),
        (
            "unknown key",
            serve(&f, &["some-other-key"], "flows.view", None),
        ),
        (
            "key on blueprints",
            serve(&f, &[&f.key], "blueprints.publish", None),
        ),
        (
            "admin on blueprints",
            serve(&f, &[&f.ann], "blueprints.publish", None),
        ),
        (
            "key, budget spent",
            serve(&f, &[&f.key], "flows.view", Some(&mut full)),
        ),
    ];
    let mut out = String::new();
    for (title, s) in &cases {
        let o = s.outcome();
        // What an adapter reads to decide agrees with the flow's own verdict.
        assert_eq!(o.is_proceed(), s.is_allowed(), "{title}");
        let audit = serde_json::to_value(s.audit()).unwrap();
        out.push_str(&format!(
            "{title:<26} {} proceed={:<5} audit={}\n{:27}www-authenticate: {}\n{:27}retry-after: {}\n",
            o.status(),
            s.is_allowed(),
            audit["reason"],
            "",
            o.header("www-authenticate").unwrap_or("-"),
            "",
            o.header("retry-after").unwrap_or("-"),
        ));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn nothing_is_charged_before_authentication_nor_for_a_refusal() {
    let f = fixture();
    let mut budget = LimitState::default();
    for lines in [&[][..], &["Basic x"][..], &["unknown-key"][..]] {
        let s = serve(&f, lines, "flows.view", Some(&mut budget));
        assert_eq!(s.outcome().status(), 401);
        assert_eq!(s.limit(), None);
    }
    let denied = serve(&f, &[&f.key], "blueprints.publish", Some(&mut budget));
    assert_eq!(denied.outcome().status(), 403);
    assert_eq!(denied.limit(), None);
    assert_eq!(
        budget,
        LimitState::default(),
        "refused requests spent the budget"
    );

    let allowed = serve(&f, &[&f.key], "flows.view", Some(&mut budget));
    assert!(allowed.is_allowed());
    assert_ne!(
        budget,
        LimitState::default(),
        "an allowed request is charged"
    );
    assert_eq!(
        allowed.outcome().headers(),
        [
            ("ratelimit-policy", r#""default";q=240;w=60"#.to_owned()),
            ("ratelimit", r#""default";r=239;t=1"#.to_owned()),
        ]
    );
    // Taken out whole, for an adapter that moves them onto its response.
    assert_eq!(
        allowed.outcome().clone().into_headers(),
        allowed.outcome().headers()
    );
}

#[test]
fn legacy_limit_fields_come_beside_the_drafts_when_asked_for() {
    let mut f = fixture();
    f.flow = f.flow.with_legacy_limit_headers(true);
    let mut budget = LimitState::default();
    let allowed = serve(&f, &[&f.key], "flows.view", Some(&mut budget));
    assert_eq!(
        allowed.outcome().headers(),
        [
            ("ratelimit-policy", r#""default";q=240;w=60"#.to_owned()),
            ("ratelimit", r#""default";r=239;t=1"#.to_owned()),
            ("x-ratelimit-limit", "240".to_owned()),
            ("x-ratelimit-remaining", "239".to_owned()),
        ]
    );
    for _ in 1..240 {
        assert!(serve(&f, &[&f.key], "flows.view", Some(&mut budget)).is_allowed());
    }
    let over = serve(&f, &[&f.key], "flows.view", Some(&mut budget));
    let o = over.outcome();
    assert_eq!(o.status(), 429);
    assert_eq!(o.header("retry-after"), Some("1"));
    assert_eq!(o.header("x-ratelimit-limit"), Some("240"));
    assert_eq!(o.header("x-ratelimit-remaining"), Some("0"));
    // The Unix time a request is admitted again: now plus the wait.
    let reset = (NOW.unix_timestamp() + 1).to_string();
    assert_eq!(o.header("x-ratelimit-reset"), Some(reset.as_str()));
    let names: Vec<&str> = o.headers().iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "retry-after",
            "ratelimit-policy",
            "ratelimit",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "content-type"
        ],
        "after the draft's, before the body's type"
    );
    // Off by default: none of them.
    let plain = fixture();
    let mut budget = LimitState::default();
    let allowed = serve(&plain, &[&plain.key], "flows.view", Some(&mut budget));
    assert!(allowed.outcome().header("x-ratelimit-limit").is_none());
}

#[test]
fn a_token_and_a_key_spend_one_budget_and_over_the_limit_is_429() {
    let f = fixture();
    let mut budget = LimitState::default();
    for i in 0..240 {
        let who = if i % 2 == 0 { &f.key } else { &f.ann };
        assert!(serve(&f, &[who], "flows.view", Some(&mut budget)).is_allowed());
    }
    let over = serve(&f, &[&f.ann], "flows.view", Some(&mut budget));
    assert_eq!(over.outcome().status(), 429);
    assert_eq!(over.outcome().header("retry-after"), Some("1"));
    assert!(matches!(over.limit(), Some(LimitDecision::Deny { .. })));
    // The decision was an allow; the audit record says why it was refused anyway.
    assert!(over.decision().unwrap().is_allowed());
    let audit = serde_json::to_value(over.audit()).unwrap();
    assert_eq!(audit["effect"], "deny");
    assert_eq!(
        audit["reason"],
        serde_json::json!({"kind": "over_limit", "retry_after_secs": 1, "limited_by": "company"})
    );
    assert_eq!(over.explanation(), "the company is over its usage limit");
}

#[test]
fn grants_come_from_the_store() {
    let f = fixture();
    let (acme, child) = (company("acme"), company("acme-eu"));
    let target = Request::new("flows.deploy", &child, Tier::Professional).with_parent(&acme);
    let by = |who: &str| f.flow.serve([who.as_bytes()], &f.world, target, None, NOW);
    assert!(by(&f.max).is_allowed(), "max holds a grant for acme-eu");
    assert_eq!(
        by(&f.ann).decision().unwrap().reason(),
        Reason::MissingGrant
    );
    assert_eq!(
        by(&f.key).decision().unwrap().reason(),
        Reason::ApiUserOwnCompanyOnly
    );
}

#[test]
fn an_expired_token_is_told_so() {
    let f = fixture();
    let acme = company("acme");
    let later = NOW + Duration::days(1);
    let target = Request::new("flows.view", &acme, Tier::Professional);
    let s = f
        .flow
        .serve([f.ann.as_bytes()], &f.world, target, None, later);
    assert_eq!(s.failure(), Some(AuthnFailure::Expired { at: later }));
    assert_eq!(
        s.outcome().header("www-authenticate"),
        Some(
            r#"Bearer realm="patchworks", error="invalid_token", error_description="The access token expired""#
        )
    );
}

/// The fixture's users a login tells apart: ann (active), off (disabled), and the
/// api-user of its key.
fn login_users(f: &Fixture) -> (&UserRecord, &UserRecord, &UserRecord) {
    let ann = f.world.user(&id("ann")).unwrap();
    let off = f.world.user(&id("off")).unwrap();
    let digest = ApiKey::new(f.key.clone()).unwrap().digest();
    let Lookup::Found(key) = f.world.api_key(&digest) else {
        panic!("the fixture's key is stored")
    };
    (ann, off, f.world.user(&key.user).unwrap())
}

#[test]
fn login_in_two_steps() {
    let f = fixture();
    let (ann, off, key_user) = login_users(&f);
    let random = b"login-random-16b";
    let login = |user, ok| {
        f.flow
            .login(user, ok, random, ExpiresIn::DEFAULT, NOW)
            .unwrap()
    };

    // Refusals look alike to the client; the audit record tells them apart.
    let refusals = [
        (login(None, false), LoginResult::UnknownUser),
        (login(Some(ann), false), LoginResult::WrongPassword),
        (login(Some(off), true), LoginResult::UserDisabled),
        (login(Some(key_user), true), LoginResult::ApiUser),
    ];
    let refusal = |served: &LoginServed| match served {
        LoginServed::Refused(refusal) => refusal.outcome.clone(),
        LoginServed::Issued(_) => panic!("issued: {served:?}"),
    };
    for (served, result) in &refusals {
        assert_eq!(served.result(), Some(*result));
        assert!(matches!(served, LoginServed::Refused(r) if r.cause == Cause::Login(*result)));
        assert_eq!(refusal(served), refusal(&refusals[0].0));
        let audit = serde_json::to_value(served.audit()).unwrap();
        assert_eq!(audit["principal"], serde_json::Value::Null);
        assert_eq!(audit["effect"], "deny");
        assert_eq!(
            audit["reason"]["result"],
            serde_json::to_value(result).unwrap()
        );
    }
    let o = refusal(&refusals[0].0);
    assert_eq!(o.status(), 401);
    assert_eq!(
        o.header("www-authenticate"),
        Some(r#"Bearer realm="patchworks""#)
    );
    assert_eq!(
        o.body(),
        format!(r#"{{"message":"{LOGIN_REFUSED_MESSAGE}"}}"#)
    );

    let ok = login(Some(ann), true);
    assert_eq!(ok.result(), Some(LoginResult::TokenIssued));
    // The result is read from the refusal's cause: a throttle's is `Throttled`, and
    // a cause no login has (which the flow never makes) is none.
    let LoginServed::Refused(mut other) = login(None, true) else {
        panic!("refused")
    };
    other.cause = Cause::Throttled {
        retry_after: StdDuration::from_secs(1),
    };
    let throttled = LoginServed::Refused(other);
    assert_eq!(throttled.result(), Some(LoginResult::Throttled));
    let LoginServed::Refused(mut other) = throttled else {
        unreachable!()
    };
    other.cause = Cause::Unauthenticated(AuthnFailure::Missing);
    assert_eq!(LoginServed::Refused(other).result(), None);
    let LoginServed::Issued(issued) = &ok else {
        panic!("refused: {ok:?}");
    };
    let body = issued.body();
    let response = LoginResponse::parse(body.as_bytes()).unwrap();
    assert_eq!(response.token().digest(), issued.record().digest);
    // The OAuth form carries the same token, and says how long it lives.
    let oauth: serde_json::Value = serde_json::from_str(&issued.oauth_body()).unwrap();
    assert_eq!(
        oauth,
        serde_json::json!({
            "access_token": response.token().expose_secret(),
            "expires_in": response.expires_in().as_secs(),
            "token_type": "Bearer",
        })
    );
    assert_eq!(ok.audit(), issued.audit());
    let audit = serde_json::to_string(ok.audit()).unwrap();
    assert!(audit.contains(r#""result":"token_issued""#) && audit.contains(r#""user":"ann""#));
    assert!(!audit.contains(response.token().expose_secret()));
    let debug = format!("{ok:?}");
    assert!(!debug.contains(response.token().expose_secret()));
    assert!(
        debug.starts_with("Issued(Issued") && debug.contains("TokenIssued"),
        "{debug}"
    );
}

/// A client authenticated by username and password as a login is, without a token:
/// the same refusals, with the same outcome and audit record.
#[test]
fn a_client_is_authenticated_as_a_login_is_without_a_token() {
    let f = fixture();
    let (ann, off, key_user) = login_users(&f);
    for (user, ok, result) in [
        (None, true, LoginResult::UnknownUser),
        (Some(ann), false, LoginResult::WrongPassword),
        (Some(off), true, LoginResult::UserDisabled),
        (Some(key_user), true, LoginResult::ApiUser),
    ] {
        let refused = f.flow.authenticate_client(user, ok, NOW).unwrap_err();
        assert_eq!(refused.cause, Cause::Login(result));
        let LoginServed::Refused(login) = f
            .flow
            .login(user, ok, b"login-random-16b", ExpiresIn::DEFAULT, NOW)
            .unwrap()
        else {
            panic!("a login issued for {result:?}")
        };
        assert_eq!(refused.outcome, login.outcome);
        assert_eq!(refused.audit, login.audit);
    }
    assert_eq!(
        f.flow.authenticate_client(Some(ann), true, NOW).unwrap(),
        ann
    );
}

#[test]
fn login_bodies_too_large_or_malformed() {
    let f = fixture();
    let big = vec![b' '; MAX_LOGIN_BODY_LEN + 1];
    let e = f.flow.login_request(&big, NOW).unwrap_err();
    assert_eq!(e.outcome.status(), 413);
    insta::assert_snapshot!(e.outcome.body(), @r#"{"message":"The payload is larger than the limit of 65536 bytes."}"#);
    let e = f
        .flow
        .login_request(br#"{"username": "ann"}"#, NOW)
        .unwrap_err();
    assert_eq!(e.outcome.status(), 422);
    let audit = serde_json::to_value(&e.audit).unwrap();
    assert_eq!(
        audit["reason"],
        serde_json::json!({"kind": "login", "result": "malformed_body"})
    );
    let ok = f
        .flow
        .login_request(br#"{"username": "ann", "password": "pw"}"#, NOW)
        .unwrap();
    assert_eq!(ok.username(), "ann");
}

#[test]
fn a_target_says_what_it_asks_for() {
    let (acme, parent) = (company("acme-eu"), company("acme"));
    let t = Request::new("flows.deploy", &acme, Tier::Enterprise).with_parent(&parent);
    assert_eq!(
        (t.action(), t.company(), t.tier()),
        ("flows.deploy", &acme, Tier::Enterprise)
    );
}

/// The login throttle, step by step: ten attempts are reserved (each charged to all
/// three budgets before any password is checked), the eleventh is refused with the
/// exact time to wait and charges nothing, a released reservation is as if never
/// made, and either spent budget refuses.
#[test]
fn login_attempts_are_reserved_before_they_are_verified() {
    let f = fixture();
    let mut b = LoginBudgets::default();
    for _ in 0..10 {
        assert_eq!(f.flow.reserve_login(&mut b, NOW), None);
    }
    let spent = b;
    assert_eq!(
        f.flow.reserve_login(&mut b, NOW),
        Some(StdDuration::from_secs(6))
    );
    assert_eq!(b, spent, "a refused attempt charges nothing");
    let refused = f.flow.login_throttled(StdDuration::from_secs(6), NOW);
    assert_eq!(refused.outcome.status(), 429);
    assert_eq!(refused.outcome.header("retry-after"), Some("6"));
    assert_eq!(
        refused.outcome.body(),
        r#"{"message":"Too Many Attempts."}"#
    );
    assert_eq!(
        serde_json::to_value(&refused.audit).unwrap()["reason"],
        serde_json::json!({"kind": "login", "result": "throttled"})
    );
    // A right password gives its reservation back: one more attempt fits at once.
    f.flow.release_login(&mut b, NOW);
    assert_eq!(f.flow.reserve_login(&mut b, NOW), None);
    assert!(f.flow.reserve_login(&mut b, NOW).is_some());
    // The wait is exact.
    let later = NOW + Duration::seconds(6);
    let mut early = b;
    assert!(
        f.flow
            .reserve_login(&mut early, later - Duration::nanoseconds(1))
            .is_some()
    );
    assert_eq!(f.flow.reserve_login(&mut b.clone(), later), None);
    // Either the client's or the (username, client) budget spent refuses alone.
    let fresh = LimitState::default();
    for spent_one in [
        LoginBudgets {
            client: spent.client,
            ..LoginBudgets::default()
        },
        LoginBudgets {
            pair: spent.pair,
            ..LoginBudgets::default()
        },
    ] {
        let mut one = spent_one;
        assert!(f.flow.reserve_login(&mut one, NOW).is_some(), "{one:?}");
    }
    // The username-wide budget alone does not: it is a ceiling, far above the quota.
    let mut ceiling_only = LoginBudgets {
        username: spent.username,
        client: fresh,
        pair: fresh,
    };
    assert_eq!(f.flow.reserve_login(&mut ceiling_only, NOW), None);
}

/// The username ceiling refuses only clients that failed for the username: with a
/// ceiling of three an hour, three attackers' failures spend it; each of them is then refused
/// although its own budgets have room, while a client with a clean record (the owner
/// on another address) is let in. A period and one interval after its failure, an
/// attacker is clean again and gets one guess.
#[test]
fn the_username_ceiling_locks_out_only_clients_that_failed() {
    let f = fixture();
    let flow = f
        .flow
        .clone()
        .with_username_ceiling(Quota::new(3, 3600, 3).unwrap());
    let mut username = LimitState::default();
    let mut attackers = [LimitState::default(); 3];
    for pair in &mut attackers {
        let mut b = LoginBudgets {
            pair: *pair,
            username,
            client: LimitState::default(),
        };
        assert_eq!(flow.reserve_login(&mut b, NOW), None);
        (*pair, username) = (b.pair, b.username);
    }
    let at = NOW + Duration::seconds(1);
    for pair in attackers {
        let mut b = LoginBudgets {
            pair,
            username,
            client: LimitState::default(),
        };
        assert!(
            flow.reserve_login(&mut b, at).is_some(),
            "a client that failed"
        );
    }
    let mut owner = LoginBudgets {
        username,
        ..LoginBudgets::default()
    };
    assert_eq!(
        flow.reserve_login(&mut owner, at),
        None,
        "the owner gets in"
    );
    // 66 s after its failure (one period, one 6 s interval) an attacker is clean; the
    // ceiling is still spent (the owner's attempt was charged to it too).
    let clean_at = NOW + Duration::seconds(66);
    let mut b = LoginBudgets {
        pair: attackers[0],
        username: owner.username,
        client: LimitState::default(),
    };
    assert!(
        flow.reserve_login(&mut b.clone(), clean_at - Duration::seconds(1))
            .is_some()
    );
    assert_eq!(flow.reserve_login(&mut b, clean_at), None);
}

/// The throttle on failed authentications: a failure is charged after the fact, ten
/// fit, the eleventh says how long to wait (and is answered 429, audited as
/// `throttled`), and a tighter quota waits longer.
#[test]
fn failed_authentications_are_charged_then_throttled() {
    let f = fixture();
    let mut client = LimitState::default();
    for _ in 0..10 {
        assert_eq!(f.flow.charge_auth_failure(&mut client, NOW), None);
    }
    let wait = f.flow.charge_auth_failure(&mut client, NOW).unwrap();
    assert_eq!(wait, StdDuration::from_secs(6));
    let acme = company("acme");
    let target = Request::new("flows.view", &acme, Tier::Professional);
    let mut refused = f.flow.auth_throttled(wait, Some(target), NOW);
    assert_eq!(refused.audit.client, None);
    refused.record_client("192.0.2.9".parse().unwrap());
    assert_eq!(refused.audit.client, Some("192.0.2.9".parse().unwrap()));
    assert_eq!(refused.outcome.status(), 429);
    assert_eq!(refused.outcome.header("retry-after"), Some("6"));
    assert_eq!(refused.cause, Cause::Throttled { retry_after: wait });
    assert!(refused.cause.principal().is_none());
    // The throttle explains itself (it was an empty string before).
    assert_eq!(
        refused.explanation(),
        "too many failed attempts: throttled for 6 s"
    );
    assert_eq!(
        Served::Refused((*refused).clone()).explanation(),
        refused.explanation()
    );
    let audit = serde_json::to_value(&refused.audit).unwrap();
    assert_eq!(
        audit["reason"],
        serde_json::json!({"kind": "throttled", "retry_after_secs": 6})
    );
    assert_eq!(audit["action"], "flows.view");
    assert_eq!(
        f.flow
            .charge_auth_failure(&mut client, NOW + Duration::seconds(6)),
        None
    );
    // A tighter quota: one failure, then a minute's wait.
    let strict = f
        .flow
        .clone()
        .with_failure_quota(Quota::new(1, 60, 1).unwrap());
    let mut s = LimitState::default();
    assert_eq!(strict.charge_auth_failure(&mut s, NOW), None);
    assert_eq!(
        strict.charge_auth_failure(&mut s, NOW),
        Some(StdDuration::from_secs(60))
    );
}

/// The store's states and the login's budgets convert in one order, and anything but
/// three states is refused.
#[test]
fn login_budgets_convert_in_key_order() {
    let now = |s: i64| NOW + Duration::seconds(s);
    let q = Quota::new(1, 60, 1).unwrap();
    let states: Vec<LimitState> = (0..3)
        .map(|i| check_limit(LimitState::default(), &q, now(i)).1)
        .collect();
    let b = LoginBudgets::from_states(&states).unwrap();
    assert_eq!(
        (b.client, b.pair, b.username),
        (states[0], states[1], states[2])
    );
    let mut back = vec![LimitState::default(); 3];
    b.store_into(&mut back);
    assert_eq!(back, states);
    assert_eq!(LoginBudgets::from_states(&states[..2]), None);
    assert_eq!(
        LoginBudgets::from_states(&[states.clone(), states].concat()),
        None
    );
}

/// An admitted request holds who, the allow, the limit's answer, the 200 outcome
/// with its headers, and the audit record; the handler gets the principal and the
/// headers.
#[test]
fn an_admission_holds_everything_its_handler_needs() {
    let f = fixture();
    let mut budget = LimitState::default();
    let mut served = serve(&f, &[&f.ann], "flows.view", Some(&mut budget));
    served.record_client("192.0.2.1".parse().unwrap());
    let id = DecisionId::new(NOW, [3; 10]);
    served.record_decision_id(id);
    assert_eq!(served.audit().decision_id, Some(id));
    let mut refused = serve(&f, &[], "flows.view", None);
    assert!(!refused.is_allowed());
    refused.record_decision_id(id);
    assert_eq!(refused.audit().decision_id, Some(id));
    assert_eq!(
        served.explanation(),
        served.decision().unwrap().reason().to_string()
    );
    let audit = served.audit().clone();
    assert_eq!(audit.client, Some("192.0.2.1".parse().unwrap()));
    let Served::Admitted(admission) = served else {
        panic!("refused: {served:?}");
    };
    assert_eq!(admission.principal().user().as_str(), "ann");
    assert!(admission.decision().is_allowed());
    assert!(matches!(
        admission.limit(),
        Some(LimitDecision::Allow { .. })
    ));
    assert_eq!(admission.outcome().status(), 200);
    assert_eq!(
        admission.outcome().header("ratelimit"),
        Some(r#""default";r=239;t=1"#)
    );
    assert_eq!(admission.audit(), &audit);
    let (principal, outcome) = admission.into_parts();
    assert_eq!(principal.user().as_str(), "ann");
    assert_eq!(outcome.header("ratelimit"), Some(r#""default";r=239;t=1"#));
    // Without a budget: admitted, unlimited, no RateLimit fields.
    let Served::Admitted(unlimited) = serve(&f, &[&f.ann], "flows.view", None) else {
        panic!("refused without a budget");
    };
    assert_eq!(unlimited.limit(), None);
    assert!(unlimited.outcome().headers().is_empty());
}

/// Every refusal names its cause, and the cause what it knows: the failure, or the
/// principal and the decision.
#[test]
fn every_refusal_carries_its_cause() {
    let f = fixture();
    let unauthenticated = serve(&f, &[], "flows.view", None);
    assert_eq!(unauthenticated.failure(), Some(AuthnFailure::Missing));
    assert_eq!(unauthenticated.principal(), None);
    assert_eq!(unauthenticated.decision(), None);
    let Served::Refused(r) = &unauthenticated else {
        panic!("admitted");
    };
    assert_eq!(r.cause, Cause::Unauthenticated(AuthnFailure::Missing));
    assert_eq!(r.explanation(), unauthenticated.explanation());

    let forbidden = serve(&f, &[&f.max], "blueprints.publish", None);
    assert_eq!(forbidden.outcome().status(), 403);
    assert_eq!(forbidden.failure(), None);
    assert_eq!(forbidden.limit(), None);
    let Served::Refused(r) = &forbidden else {
        panic!("admitted");
    };
    let Cause::Forbidden {
        principal,
        decision,
    } = &r.cause
    else {
        panic!("{:?}", r.cause);
    };
    assert_eq!(principal.user().as_str(), "max");
    assert!(!decision.is_allowed());
    assert_eq!(forbidden.principal(), Some(principal));
    assert_eq!(r.cause.principal(), Some(principal));
    assert_eq!(forbidden.explanation(), decision.reason().to_string());
}

/// The causes as people read them.
#[test]
fn causes_explain_themselves() {
    let cases = [
        (
            Cause::Unauthenticated(AuthnFailure::Missing),
            format!("unauthenticated: {}", AuthnFailure::Missing),
        ),
        (
            Cause::Throttled {
                retry_after: StdDuration::from_millis(250),
            },
            "too many failed attempts: throttled for 1 s".to_owned(),
        ),
        (
            Cause::Login(LoginResult::MalformedBody),
            "the login body is malformed".to_owned(),
        ),
        (
            Cause::Login(LoginResult::Throttled),
            "too many failed logins".to_owned(),
        ),
        (
            Cause::Login(LoginResult::UnknownUser),
            "login refused: no user has that username".to_owned(),
        ),
        (
            Cause::Login(LoginResult::WrongPassword),
            "login refused: the password did not match".to_owned(),
        ),
        (
            Cause::Login(LoginResult::UserDisabled),
            "login refused: the user is disabled".to_owned(),
        ),
        (
            Cause::Login(LoginResult::ApiUser),
            "login refused: an api-user logs in with its key only".to_owned(),
        ),
        (
            Cause::Login(LoginResult::TokenIssued),
            "login refused: the credentials were not accepted".to_owned(),
        ),
    ];
    for (cause, text) in cases {
        assert_eq!(cause.to_string(), text, "{cause:?}");
        assert_eq!(cause.principal(), None);
    }
}
