//! The client session: a deterministic simulation against a fake server (the real
//! core and parsers behind it) with a fake clock, and scripted sessions as snapshots.

use std::fmt::Write as _;

use proptest::prelude::*;
use pw_auth_core::*;
use pw_auth_http::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const START: OffsetDateTime = datetime!(2026-11-27 00:00 UTC);
/// Tokens live an hour here, so that a few simulated days see many renewals.
const TOKEN_SECS: u64 = 3600;

/// A small deterministic generator (xorshift64*), seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The server: one user, one API key, and the library's own server flow.
struct Server {
    /// ann (a manager, who logs in), her tokens, and one API key.
    records: MemoryRecords,
    key: ApiKeyDigest,
    /// The tokens issued, oldest first.
    tokens: Vec<(TokenId, TokenDigest)>,
    flow: ServerFlow,
    acme: CompanyId,
    /// Tokens that have served a request (only those are revoked at random, so that
    /// a fresh token is never refused before it could succeed).
    proven: Vec<TokenId>,
    logins: u32,
    expired_tokens_received: u32,
    key_requests_after_revocation: u32,
    issued: u64,
}

impl Server {
    fn new() -> (Server, ApiKey) {
        let acme = CompanyId::new("acme").unwrap();
        let m = mint_api_key(
            &acme,
            KeyLabel::new("sim").unwrap(),
            b"simulated-random",
            START,
        )
        .unwrap();
        let mut records = MemoryRecords::new();
        records.insert_minted(&m).insert_user(UserRecord::active(
            UserId::new("ann").unwrap(),
            acme.clone(),
            Role::Manager,
        ));
        let server = Server {
            records,
            key: m.record.digest,
            tokens: Vec::new(),
            flow: ServerFlow::new(Policy::default_policy(), Responder::new("sim").unwrap()),
            acme,
            proven: Vec::new(),
            logins: 0,
            expired_tokens_received: 0,
            key_requests_after_revocation: 0,
            issued: 0,
        };
        (server, m.key)
    }

    fn login(&mut self, body: &[u8], now: OffsetDateTime) -> (u16, String) {
        self.logins += 1;
        let req = match self.flow.login_request(body, now) {
            Ok(req) => req,
            Err(refused) => return (refused.outcome.status(), refused.outcome.body().to_owned()),
        };
        let user = UserId::new(req.username())
            .ok()
            .and_then(|id| self.records.user(&id))
            .filter(|u| u.role != Role::ApiUser);
        let password_ok = req.password().expose_secret() == "secret";
        self.issued += 1;
        let mut random = [0u8; 16];
        random[..8].copy_from_slice(&self.issued.to_le_bytes());
        random[15] = 1;
        let expires_in = ExpiresIn::from_secs(TOKEN_SECS).unwrap();
        let served = self
            .flow
            .login(user, password_ok, &random, expires_in, now)
            .unwrap();
        match served {
            LoginServed::Issued(issued) => {
                let record = issued.record();
                self.tokens.push((record.id.clone(), record.digest));
                self.records.insert_token(record.clone());
                (200, issued.body().to_string())
            }
            LoginServed::Refused(refusal) => {
                (refusal.outcome.status(), refusal.outcome.body().to_owned())
            }
        }
    }

    fn request(&mut self, authorization: &str, now: OffsetDateTime) -> (u16, Vec<String>) {
        if !authorization.starts_with("Bearer ") && self.key_revoked() {
            self.key_requests_after_revocation += 1;
        }
        let target = Request::new("flows.view", &self.acme, Tier::Professional);
        let served = self
            .flow
            .serve([authorization.as_bytes()], &self.records, target, None, now);
        if matches!(served.failure(), Some(AuthnFailure::Expired { .. })) {
            self.expired_tokens_received += 1;
        }
        if let Some(AuthMethod::Bearer { token_id, .. }) = served.principal().map(Principal::method)
            && !self.proven.contains(token_id)
        {
            self.proven.push(token_id.clone());
        }
        let o = served.outcome();
        (
            o.status(),
            o.header("www-authenticate")
                .map(str::to_owned)
                .into_iter()
                .collect(),
        )
    }

    /// Revokes the newest proven token (an injected 401).
    fn revoke_a_token(&mut self, now: OffsetDateTime) {
        let newest = self
            .tokens
            .iter()
            .rev()
            .find(|(id, _)| self.proven.contains(id));
        if let Some(r) = newest.and_then(|(_, digest)| self.records.token_mut(digest)) {
            let _ = r.revoke(now);
        }
    }

    fn key_revoked(&self) -> bool {
        match self.records.api_key(&self.key) {
            Lookup::Found(record) => record.revoked_at.is_some(),
            Lookup::Deleted | Lookup::NotFound => true,
        }
    }

    fn revoke_the_key(&mut self, now: OffsetDateTime) {
        self.records
            .key_mut(&self.key)
            .unwrap()
            .revoke(now)
            .unwrap();
    }
}

/// One request through the server, and the session told the answer: the status,
/// the `WWW-Authenticate` values, and how the session took them.
fn exchange(
    session: &mut Session,
    server: &mut Server,
    authorization: &str,
    generation: u64,
    now: OffsetDateTime,
) -> (u16, Vec<String>, Reaction) {
    let (status, challenge) = server.request(authorization, now);
    let lines: Vec<&[u8]> = challenge.iter().map(|c| c.as_bytes()).collect();
    let reaction = session.on_response(generation, status, &lines);
    (status, challenge, reaction)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn days_of_traffic(seed in 1u64..u64::MAX) {
        let mut rng = Rng(seed);
        let (mut server, key) = Server::new();
        let config = SessionConfig::default();
        let mut session = Session::with_password("ann", Password::new("secret".into()).unwrap(), config).unwrap();
        let mut key_session = Session::with_api_key(key);
        let mut now = START;
        let mut logins_since_401: Option<u32> = None;
        let mut pending_login: Option<(String, OffsetDateTime)> = None;
        let days = 3;
        while now < START + Duration::days(days) {
            now += Duration::seconds(rng.below(900) as i64 + 1);
            if rng.below(40) == 0 {
                server.revoke_a_token(now);
            }
            if now > START + Duration::days(1) && !server.key_revoked() {
                server.revoke_the_key(now);
            }
            // A login answer may arrive now, or after this burst of requests.
            let answer_now = rng.below(2) == 0;
            if answer_now && let Some((body, at)) = pending_login.take() {
                let (status, answer) = server.login(body.as_bytes(), at);
                session.on_login_response(status, answer.as_bytes(), now).unwrap();
            }
            // Several requests at once.
            let mut login_requests = 0;
            for _ in 0..=rng.below(4) {
                match session.next(now) {
                    Next::Send { authorization, generation } => {
                        let (status, _, reaction) = exchange(&mut session, &mut server, &authorization, generation, now);
                        match reaction {
                            Reaction::LogInAgain => {
                                prop_assert!(logins_since_401.is_none() || status == 401);
                                logins_since_401 = Some(0);
                            }
                            Reaction::Fine if status == 200 => logins_since_401 = None,
                            Reaction::Failed(e) => prop_assert!(false, "session failed: {e}"),
                            _ => {}
                        }
                    }
                    Next::LogIn { body, .. } => {
                        login_requests += 1;
                        if let Some(n) = logins_since_401.as_mut() {
                            *n += 1;
                            prop_assert!(*n <= 1, "a 401 cost more than one login");
                        }
                        pending_login = Some((body.to_string(), now));
                    }
                    Next::Wait { until } => prop_assert!(until > now),
                    Next::Failed(e) => prop_assert!(false, "session failed: {e}"),
                }
            }
            prop_assert!(login_requests <= 1, "{login_requests} logins for one burst");
            // A login sent during the burst is answered before the next tick (within
            // its timeout; timeouts have a test of their own).
            if let Some((body, at)) = pending_login.take() {
                let (status, answer) = server.login(body.as_bytes(), at);
                session.on_login_response(status, answer.as_bytes(), now).unwrap();
            }
            // The API-key session: rejected once after revocation, never retried.
            match key_session.next(now) {
                Next::Send { authorization, generation } => {
                    let (status, _, r) = exchange(&mut key_session, &mut server, &authorization, generation, now);
                    if status == 401 {
                        prop_assert_eq!(r, Reaction::Failed(SessionError::KeyRejected));
                    }
                }
                Next::Failed(e) => prop_assert_eq!(e, SessionError::KeyRejected),
                other => prop_assert!(false, "an API-key session asked for {other:?}"),
            }
        }
        prop_assert_eq!(server.expired_tokens_received, 0, "an expired token was sent");
        prop_assert!(server.key_requests_after_revocation <= 1, "the revoked key was retried");
        prop_assert!(server.logins >= 24 * days as u32 / 2, "tokens were renewed ({} logins)", server.logins);
    }
}

fn ann(password: &str) -> Session {
    Session::with_password(
        "ann",
        Password::new(password.into()).unwrap(),
        SessionConfig::default(),
    )
    .unwrap()
}

/// A scripted session, step by step.
#[test]
fn scripted_session() {
    let (mut server, _) = Server::new();
    let mut s = ann("secret");
    let mut log = String::new();
    let mut now = START;
    let step = |s: &mut Session,
                server: &mut Server,
                now: OffsetDateTime,
                log: &mut String,
                what: &str| {
        let line = match s.next(now) {
            Next::Send {
                authorization,
                generation,
            } => {
                let (status, challenge, r) = exchange(s, server, &authorization, generation, now);
                let challenge: String = challenge.iter().map(|c| format!(" ({c})")).collect();
                format!("send token #{generation} → {status}{challenge} → {r:?}")
            }
            Next::LogIn { body, .. } => {
                let (status, answer) = server.login(body.as_bytes(), now);
                let r = s.on_login_response(status, answer.as_bytes(), now);
                format!("log in → {status} → {r:?}")
            }
            Next::Wait { until } => format!("wait until {until}"),
            Next::Failed(e) => format!("failed: {e}"),
        };
        writeln!(log, "{:<28} {what:<34} {line}", (now - START).to_string()).unwrap();
    };
    step(&mut s, &mut server, now, &mut log, "first request");
    step(&mut s, &mut server, now, &mut log, "second request");
    now += Duration::minutes(50);
    step(&mut s, &mut server, now, &mut log, "50 min later");
    now += Duration::minutes(5) + Duration::seconds(1);
    step(
        &mut s,
        &mut server,
        now,
        &mut log,
        "inside the 6-minute margin",
    );
    step(&mut s, &mut server, now, &mut log, "next request");
    server.revoke_a_token(now);
    step(
        &mut s,
        &mut server,
        now,
        &mut log,
        "token revoked by the server",
    );
    step(&mut s, &mut server, now, &mut log, "next request");
    step(&mut s, &mut server, now, &mut log, "next request");
    now += Duration::hours(2);
    step(
        &mut s,
        &mut server,
        now,
        &mut log,
        "two hours idle: token expired",
    );
    step(&mut s, &mut server, now, &mut log, "next request");
    insta::assert_snapshot!(log);
}

/// An API-key session whose key is revoked: one 401, then never sent again.
#[test]
fn scripted_api_key_session() {
    let (mut server, key) = Server::new();
    let mut s = Session::with_api_key(key);
    let mut log = String::new();
    let mut now = START;
    for what in [
        "first request",
        "second request",
        "key revoked by its owner",
        "next request",
        "an hour later",
    ] {
        if what == "key revoked by its owner" {
            server.revoke_the_key(now);
        }
        if what == "an hour later" {
            now += Duration::hours(1);
        }
        let line = match s.next(now) {
            Next::Send {
                authorization,
                generation,
            } => {
                let (status, _, r) = exchange(&mut s, &mut server, &authorization, generation, now);
                format!("send the api key → {status} → {r:?}")
            }
            other => format!("{other:?}"),
        };
        writeln!(log, "{:<8} {what:<26} {line}", (now - START).to_string()).unwrap();
    }
    assert_eq!(server.key_requests_after_revocation, 1);
    insta::assert_snapshot!(log);
}

/// Asks the session what to do (it must log in), serves the login, and asks again
/// (it must send): the generation of the token it sends.
fn log_in_and_send(s: &mut Session, server: &mut Server, now: OffsetDateTime) -> u64 {
    let Next::LogIn { body, .. } = s.next(now) else {
        panic!("expected a login")
    };
    let (status, answer) = server.login(body.as_bytes(), now);
    s.on_login_response(status, answer.as_bytes(), now).unwrap();
    let Next::Send { generation, .. } = s.next(now) else {
        panic!("expected a send")
    };
    generation
}

#[test]
fn a_second_401_straight_after_a_fresh_login_stops_the_session() {
    let (mut server, _) = Server::new();
    let mut s = ann("secret");
    let now = START;
    let generation = log_in_and_send(&mut s, &mut server, now);
    let expired = Responder::new("x")
        .unwrap()
        .unauthenticated(AuthnFailure::Unknown);
    let h = [expired.header("www-authenticate").unwrap().as_bytes()];
    assert_eq!(s.on_response(generation, 401, &h), Reaction::LogInAgain);
    let generation = log_in_and_send(&mut s, &mut server, now);
    assert_eq!(
        s.on_response(generation, 401, &h),
        Reaction::Failed(SessionError::RefusedAfterLogin)
    );
    assert!(matches!(
        s.next(now),
        Next::Failed(SessionError::RefusedAfterLogin)
    ));
    // A stale 401 (for an older token) is ignored; a malformed request keeps the token.
    s.reset();
    assert_eq!(s.on_response(1, 401, &h), Reaction::Stale);
    let bad = Responder::new("x")
        .unwrap()
        .authorization_error(&AuthorizationError::MultipleValues { count: 2 });
    assert_eq!(
        s.on_response(
            9,
            400,
            &[bad.header("www-authenticate").unwrap().as_bytes()]
        ),
        Reaction::Malformed
    );
}

#[test]
fn a_refused_login_stops_and_a_server_error_backs_off() {
    let mut s = ann("wrong");
    let Next::LogIn { .. } = s.next(START) else {
        panic!()
    };
    assert_eq!(
        s.on_login_response(401, b"", START),
        Err(SessionError::LoginRefused { status: 401 })
    );
    assert!(matches!(
        s.next(START),
        Next::Failed(SessionError::LoginRefused { status: 401 })
    ));
    s.reset();
    let Next::LogIn { .. } = s.next(START) else {
        panic!()
    };
    s.on_login_response(503, b"", START).unwrap();
    let Next::Wait { until } = s.next(START) else {
        panic!()
    };
    assert_eq!(until, START + Duration::seconds(5));
    assert!(matches!(s.next(until), Next::LogIn { .. }));
    // No answer at all: the login is sent again after the timeout, not before.
    assert!(matches!(
        s.next(until + Duration::seconds(29)),
        Next::Wait { .. }
    ));
    assert!(matches!(
        s.next(until + Duration::seconds(30)),
        Next::LogIn { .. }
    ));
}

/// What a hostile or broken server may answer to a login.
#[derive(Debug, Clone, Copy)]
enum LoginAnswer {
    Token { expires_in: u64 },
    Status(u16),
    Garbage,
    Silence,
}

/// What it may answer to a request.
#[derive(Debug, Clone, Copy)]
enum RequestAnswer {
    Ok,
    Unauthorized,
    InvalidRequest,
    ServerError,
}

fn login_answer() -> impl Strategy<Value = LoginAnswer> {
    prop_oneof![
        4 => prop::sample::select(vec![1u64, 2, 30, 60, 3600, 86_400])
            .prop_map(|expires_in| LoginAnswer::Token { expires_in }),
        1 => prop::sample::select(vec![429u16, 500, 503]).prop_map(LoginAnswer::Status),
        1 => Just(LoginAnswer::Garbage),
        1 => Just(LoginAnswer::Silence),
    ]
}

fn request_answer() -> impl Strategy<Value = RequestAnswer> {
    prop_oneof![
        4 => Just(RequestAnswer::Ok),
        1 => Just(RequestAnswer::Unauthorized),
        1 => Just(RequestAnswer::InvalidRequest),
        1 => Just(RequestAnswer::ServerError),
    ]
}

/// How the clock moves between two calls: a little forward, or a jump either way.
fn clock_step() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => 0i64..2_000,
        1 => -7_200_000i64..7_200_000,
    ]
}

fn invalid_request_challenge() -> Vec<u8> {
    br#"Bearer realm="patchworks", error="invalid_request""#.to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the server answers and however the clock moves (steps in ms): a
    /// successful login is followed by a sent request before the next login unless
    /// half the granted lifetime passed or the clock jumped; no wait is longer than
    /// the configured bound; the session stops after a bounded run of 401s or
    /// `invalid_request`s; and it never sends a token it holds as expired.
    #[test]
    fn a_hostile_server_and_clock_cannot_storm_or_stall_a_session(
        margin_secs in prop::option::of(0u64..200_000),
        logins in prop::collection::vec(login_answer(), 1..40),
        answers in prop::collection::vec(request_answer(), 1..40),
        steps in prop::collection::vec(clock_step(), 1..60),
    ) {
        let config = SessionConfig::default()
            .with_renew_margin(margin_secs.map(std::time::Duration::from_secs));
        let bound = config.login_timeout.max(config.login_backoff);
        let mut s = Session::with_password("ann", Password::new("pw".into()).unwrap(), config).unwrap();
        let mut now = START;
        let (mut li, mut ri) = (0usize, 0usize);
        // Since the last successful login: sends, when, and its lifetime.
        let mut since_login: Option<(u32, OffsetDateTime, u64, bool)> = None;
        let (mut run_401, mut run_malformed) = (0u32, 0u32);
        let mut held: Option<(u64, OffsetDateTime)> = None;
        for (i, step) in steps.iter().cycle().take(400).enumerate() {
            let jumped = *step < 0 || *step > 2_000;
            now += Duration::milliseconds(*step);
            if let Some(s) = since_login.as_mut() { s.3 |= jumped; }
            match s.next(now) {
                Next::LogIn { .. } => {
                    if let Some((sends, at, lifetime, jumped)) = since_login {
                        let half = Duration::milliseconds((lifetime * 1000 / 2) as i64);
                        prop_assert!(
                            sends > 0 || jumped || now - at >= half,
                            "a second login {} after the last, with no request sent (lifetime {lifetime} s, step {i})",
                            now - at
                        );
                    }
                    let answer = logins[li % logins.len()];
                    li += 1;
                    match answer {
                        LoginAnswer::Token { expires_in } => {
                            let body = format!(r#"{{"message":"ok","token":"tok{li}","expires_in":{expires_in}}}"#);
                            prop_assert!(s.on_login_response(200, body.as_bytes(), now).is_ok());
                            since_login = Some((0, now, expires_in, false));
                            held = Some((expires_in, now));
                        }
                        LoginAnswer::Status(code) => { let _ = s.on_login_response(code, b"", now); }
                        LoginAnswer::Garbage => { let _ = s.on_login_response(200, b"{", now); }
                        LoginAnswer::Silence => {}
                    }
                }
                Next::Send { generation, .. } => {
                    if let Some((secs, at)) = held {
                        prop_assert!(now < at + Duration::seconds(secs as i64) || now < at, "an expired token was sent");
                    }
                    if let Some(s) = since_login.as_mut() { s.0 += 1; }
                    let answer = answers[ri % answers.len()];
                    ri += 1;
                    let challenge = invalid_request_challenge();
                    let (status, lines): (u16, Vec<&[u8]>) = match answer {
                        RequestAnswer::Ok => (200, vec![]),
                        RequestAnswer::Unauthorized => (401, vec![]),
                        RequestAnswer::InvalidRequest => (400, vec![&challenge]),
                        RequestAnswer::ServerError => (500, vec![]),
                    };
                    match s.on_response(generation, status, &lines) {
                        Reaction::Failed(_) => break,
                        Reaction::LogInAgain => { run_401 += 1; run_malformed = 0; }
                        Reaction::Malformed => { run_malformed += 1; }
                        Reaction::Fine => { run_401 = 0; run_malformed = 0; }
                        Reaction::Stale => {}
                    }
                    prop_assert!(run_malformed <= 10, "{run_malformed} invalid_requests in a row and still going");
                    prop_assert!(run_401 <= 3, "{run_401} refused tokens in a row and still logging in");
                }
                Next::Wait { until } => {
                    prop_assert!(until > now, "a wait into the past");
                    prop_assert!(until - now <= Duration::try_from(bound).unwrap(), "waits {} (bound {bound:?})", until - now);
                }
                Next::Failed(_) => break,
            }
        }
    }
}

/// The storm the review found: a 60 s renewal margin with 30 s tokens made every
/// request a login (100 requests, 5,000 logins, none sent). The margin is capped at
/// half the granted lifetime: 100 requests over 10 s take one login.
#[test]
fn a_margin_longer_than_the_token_does_not_storm_logins() {
    let config =
        SessionConfig::default().with_renew_margin(Some(std::time::Duration::from_secs(60)));
    let mut s = Session::with_password("ann", Password::new("pw".into()).unwrap(), config).unwrap();
    let (mut logins, mut sent) = (0, 0);
    for i in 0..100 {
        let now = START + Duration::milliseconds(100 * i);
        for _ in 0..50 {
            match s.next(now) {
                Next::LogIn { .. } => {
                    logins += 1;
                    let body = br#"{"message":"ok","token":"abc","expires_in":30}"#;
                    s.on_login_response(200, body, now).unwrap();
                }
                Next::Send { .. } => {
                    sent += 1;
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!((logins, sent), (1, 100));
    // At 15 s, half the lifetime, the token is renewed once.
    assert!(matches!(
        s.next(START + Duration::seconds(15)),
        Next::LogIn { .. }
    ));
}

/// A server that calls every request malformed stops the session after
/// `max_malformed` in a row (it once answered `Malformed` 1,000 times of 1,000); any
/// other answer in between starts the count again.
#[test]
fn invalid_request_forever_stops_the_session() {
    let mut s = Session::with_password(
        "ann",
        Password::new("pw".into()).unwrap(),
        SessionConfig::default().with_max_malformed(3),
    )
    .unwrap();
    let Next::LogIn { .. } = s.next(START) else {
        panic!()
    };
    s.on_login_response(
        200,
        br#"{"message":"ok","token":"abc","expires_in":3600}"#,
        START,
    )
    .unwrap();
    let challenge = invalid_request_challenge();
    let mut reactions = Vec::new();
    for status in [400, 400, 200, 400, 400, 400] {
        let Next::Send { generation, .. } = s.next(START) else {
            panic!()
        };
        let lines: Vec<&[u8]> = if status == 400 {
            vec![&challenge]
        } else {
            vec![]
        };
        reactions.push(s.on_response(generation, status, &lines));
    }
    assert_eq!(
        reactions,
        [
            Reaction::Malformed,
            Reaction::Malformed,
            Reaction::Fine,
            Reaction::Malformed,
            Reaction::Malformed,
            Reaction::Failed(SessionError::Malformed { count: 3 }),
        ]
    );
    assert!(matches!(
        s.next(START),
        Next::Failed(SessionError::Malformed { count: 3 })
    ));
}

/// The clock stepping back an hour while a login is unanswered: the session asks
/// again within its 30 s timeout, not after 3,630 s.
#[test]
fn a_clock_stepping_back_does_not_stretch_a_wait() {
    let mut s = ann("pw");
    let Next::LogIn { .. } = s.next(START) else {
        panic!()
    };
    let back = START - Duration::hours(1);
    let Next::Wait { until } = s.next(back) else {
        panic!()
    };
    assert_eq!(until, back + Duration::seconds(30));
    assert!(matches!(s.next(until), Next::LogIn { .. }));
}

/// A 429 or 408 answer to a login is waited out and tried again, like a server
/// error — it is not a refusal; any other 4xx is.
#[test]
fn a_throttled_or_timed_out_login_is_tried_again() {
    for (status, refused) in [(429, false), (408, false), (403, true), (400, true)] {
        let mut s = ann("secret");
        let Next::LogIn { .. } = s.next(START) else {
            panic!()
        };
        let answer = s.on_login_response(status, b"", START);
        assert_eq!(
            answer,
            if refused {
                Err(SessionError::LoginRefused { status })
            } else {
                Ok(())
            }
        );
        assert_eq!(
            matches!(s.next(START), Next::Wait { .. }),
            !refused,
            "{status}"
        );
    }
}

/// While a renewal's login is on its way, the token held is still sent for as long as
/// it is usable; once it is not, the session waits for the login.
#[test]
fn a_pending_renewal_keeps_sending_the_usable_token() {
    let (mut server, _) = Server::new();
    let mut s = ann("secret");
    log_in_and_send(&mut s, &mut server, START);
    // Step through the token's life until the session asks for a new login.
    let mut now = START;
    let renewal = loop {
        now += Duration::seconds(10);
        assert!(
            now < START + Duration::seconds(TOKEN_SECS as i64),
            "no renewal"
        );
        if let Next::LogIn { .. } = s.next(now) {
            break now;
        }
    };
    // No answer yet: the old token goes out with the requests meanwhile.
    assert!(matches!(s.next(renewal), Next::Send { .. }));
    assert!(matches!(
        s.next(renewal + Duration::seconds(1)),
        Next::Send { .. }
    ));
}

/// The standard token endpoint's login: a form body, the credentials by HTTP Basic,
/// the RFC 6749 answer; the `Debug` of what is handed out holds no secret.
#[test]
fn an_oauth_session_logs_in_by_client_credentials() {
    let password = "hunter2: secret";
    let mut s = Session::with_password(
        "ann@acme.example",
        Password::new(password.into()).unwrap(),
        SessionConfig::default().with_login_style(LoginStyle::OAuthClientCredentials),
    )
    .unwrap();
    let next = s.next(START);
    let debug = format!("{next:?}");
    // Neither the password nor its encoding in the Basic value.
    assert!(
        !debug.contains("hunter2") && !debug.contains("aHVudGVy") && !debug.contains("Omh1bnRlcjI"),
        "{debug}"
    );
    let Next::LogIn {
        body,
        content_type,
        authorization,
        ..
    } = next
    else {
        panic!("{debug}")
    };
    assert_eq!(body.as_str(), "grant_type=client_credentials");
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    // base64("ann%40acme.example:hunter2%3A+secret"), as `printf … | base64` gives it.
    assert_eq!(
        authorization.as_deref().map(String::as_str),
        Some("Basic YW5uJTQwYWNtZS5leGFtcGxlOmh1bnRlcjIlM0Erc2VjcmV0")
    );
    // The platform's answer shape is not this endpoint's: backed off, not held.
    s.on_login_response(
        200,
        br#"{"message": "ok", "token": "pwt_abc", "expires_in": 60}"#,
        START,
    )
    .unwrap();
    assert!(matches!(s.next(START), Next::Wait { .. }));
    let later = START + Duration::seconds(10);
    assert!(matches!(s.next(later), Next::LogIn { .. }));
    s.on_login_response(
        200,
        br#"{"access_token": "pwt_abc", "token_type": "Bearer", "expires_in": 3600, "scope": ""}"#,
        later,
    )
    .unwrap();
    let Next::Send { authorization, .. } = s.next(later) else {
        panic!("no token held")
    };
    assert_eq!(authorization.as_str(), "Bearer pwt_abc");
    // A 401 from the token endpoint (invalid_client) stops the session.
    let mut s = Session::with_password(
        "ann@acme.example",
        Password::new(password.into()).unwrap(),
        SessionConfig::default().with_login_style(LoginStyle::OAuthClientCredentials),
    )
    .unwrap();
    let _ = s.next(START);
    assert_eq!(
        s.on_login_response(401, br#"{"error": "invalid_client"}"#, START),
        Err(SessionError::LoginRefused { status: 401 })
    );
}

/// A platform login's `Debug` holds no password either.
#[test]
fn a_login_step_prints_no_password() {
    let mut s = Session::with_password(
        "ann",
        Password::new("hunter2-secret".into()).unwrap(),
        SessionConfig::default(),
    )
    .unwrap();
    let debug = format!("{:?}", s.next(START));
    assert!(!debug.contains("hunter2"), "{debug}");
}
