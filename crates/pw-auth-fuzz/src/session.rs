//! The session target: a client session driven by arbitrary server answers and a
//! clock that jumps both ways.
#![expect(
    clippy::arithmetic_side_effects,
    reason = "the driver's clock moves by at most 2^31 ms a step over at most 512 steps from 2026, far inside time's range"
)]

use std::time::Duration as StdDuration;

use arbitrary::{Arbitrary, Unstructured};
use pw_auth_core::Password;
use pw_auth_http::{Next, Reaction, Session, SessionConfig};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::{Checked, ensure};

/// One thing that happens between two calls to `Session::next`.
#[derive(Debug, Clone, Arbitrary)]
pub enum SessionEvent {
    /// The clock moves by this many milliseconds (either way).
    Clock(i32),
    /// The next login is answered 200 with a token of this lifetime.
    LoginToken(u32),
    /// The next login is answered with this status and body.
    LoginOther(u16, Vec<u8>),
    /// The next login is never answered.
    LoginSilence,
    /// The next request is answered with this status and `WWW-Authenticate` lines.
    Answer(u16, Vec<Vec<u8>>),
}

/// A structured session input.
#[derive(Debug, Clone, Arbitrary)]
pub struct SessionInput {
    margin_secs: Option<u32>,
    timeout_secs: u16,
    backoff_secs: u16,
    max_malformed: u8,
    events: Vec<SessionEvent>,
}

const START: OffsetDateTime = datetime!(2026-11-27 00:00 UTC);

/// Never panics; every `Wait` is in the future and no longer than the configured
/// timeout or backoff; a successful login is followed by a request before the next
/// login unless half the granted lifetime passed or the clock jumped; two refused
/// tokens in a row, or `max_malformed` `invalid_request`s, stop the session.
pub fn session(input: &SessionInput) -> Checked {
    let config = SessionConfig::default()
        .with_renew_margin(input.margin_secs.map(|s| StdDuration::from_secs(s.into())))
        .with_login_timeout(StdDuration::from_secs(u64::from(input.timeout_secs.max(1))))
        .with_login_backoff(StdDuration::from_secs(u64::from(input.backoff_secs.max(1))))
        .with_max_malformed(u32::from(input.max_malformed.max(1)));
    let bound = config.login_timeout.max(config.login_backoff);
    let Ok(password) = Password::new("pw".into()) else {
        return Err(crate::Violation("a fixed password refused".into()));
    };
    let Ok(mut s) = Session::with_password("ann", password, config) else {
        return Err(crate::Violation("a fixed username refused".into()));
    };
    let mut now = START;
    let mut events = input.events.iter().take(512);
    // Since the last successful login: requests sent, its time, lifetime, a jump.
    let mut since_login: Option<(u32, OffsetDateTime, u32, bool)> = None;
    let mut malformed_run = 0u32;
    let mut refused_run = 0u32;
    for _ in 0..1024 {
        let Some(event) = events.next() else {
            break;
        };
        if let SessionEvent::Clock(ms) = event {
            now += Duration::milliseconds(i64::from(*ms));
            if let Some(l) = since_login.as_mut() {
                l.3 = true;
            }
            continue;
        }
        match s.next(now) {
            Next::LogIn { .. } => {
                if let Some((sent, at, lifetime, jumped)) = since_login {
                    let half = Duration::milliseconds(i64::from(lifetime) * 500);
                    ensure(sent > 0 || jumped || now - at >= half, || {
                        format!(
                            "a second login {} after one granting {lifetime} s, no request between",
                            now - at
                        )
                    })?;
                }
                match event {
                    SessionEvent::LoginToken(secs) => {
                        let body =
                            format!(r#"{{"message":"ok","token":"tok","expires_in":{secs}}}"#);
                        if s.on_login_response(200, body.as_bytes(), now).is_ok()
                            && (1..=31_622_400).contains(secs)
                        {
                            since_login = Some((0, now, *secs, false));
                        }
                    }
                    SessionEvent::LoginOther(status, body) => {
                        let _ = s.on_login_response(*status, body, now);
                    }
                    _ => {}
                }
            }
            Next::Send { generation, .. } => {
                if let Some(l) = since_login.as_mut() {
                    l.0 = l.0.saturating_add(1);
                }
                if let SessionEvent::Answer(status, lines) = event {
                    let lines: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
                    match s.on_response(generation, *status, &lines) {
                        Reaction::Failed(_) => return Ok(()),
                        Reaction::LogInAgain => {
                            refused_run += 1;
                            malformed_run = 0;
                        }
                        Reaction::Malformed => malformed_run += 1,
                        Reaction::Fine => {
                            refused_run = 0;
                            malformed_run = 0;
                        }
                        Reaction::Stale => {}
                    }
                    ensure(
                        malformed_run < u32::from(input.max_malformed.max(1)),
                        || format!("{malformed_run} invalid_requests in a row, still going"),
                    )?;
                    ensure(refused_run < 2, || {
                        format!("{refused_run} refused tokens in a row, still going")
                    })?;
                }
            }
            Next::Wait { until } => {
                ensure(until > now, || {
                    format!("a wait until {until}, not after {now}")
                })?;
                let wait = until - now;
                ensure(wait <= bound, || {
                    format!("waits {wait}; the bound is {bound:?}")
                })?;
            }
            Next::Failed(_) => return Ok(()),
        }
    }
    Ok(())
}

/// [`session`] on raw bytes.
pub fn session_bytes(data: &[u8]) -> Checked {
    match SessionInput::arbitrary_take_rest(Unstructured::new(data)) {
        Ok(input) => session(&input),
        Err(_) => Ok(()),
    }
}
