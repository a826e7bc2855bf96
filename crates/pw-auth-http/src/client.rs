//! The client side: a sans-IO session that keeps a client authenticated. It is told
//! the time and what the server answered; it answers what to send.
//!
//! ```text
//!            next(now) ──▶ Send { authorization, generation } ──▶ request ──▶ on_response(generation, status, WWW-Authenticate)
//!                     └──▶ LogIn { body, .. } ──▶ POST /fabric/api/login (or /oauth/token) ──▶ on_login_response(status, body, received_at)
//! ```

use std::time::Duration as StdDuration;

use pw_auth_core::{AccessToken, ApiKey, Credential, Leeway, Lifetime, Password, Validity};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::authorization::format_authorization;
use crate::bearer::{BearerChallenge, BearerError};
use crate::challenge::parse_challenges;
use crate::login::{BodyError, LoginRequest, LoginResponse};

/// The renewal margin when none is configured: a tenth of the token's lifetime, but
/// at most five minutes (2 h 24 min early would waste most of a 24-hour token's
/// last hours; five minutes leaves time for a slow login).
pub const DEFAULT_MAX_RENEW_MARGIN: StdDuration = StdDuration::from_secs(300);

/// The default for [`SessionConfig::max_malformed`].
pub const DEFAULT_MAX_MALFORMED: u32 = 10;

/// Which login endpoint a password session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LoginStyle {
    /// The platform's own login (`POST /fabric/api/login`): a JSON body with the
    /// username and password; the answer's `token` and `expires_in`.
    #[default]
    Platform,
    /// The standard OAuth 2.0 token endpoint's client credentials grant (RFC 6749
    /// §4.4, e.g. the reference server's `POST /oauth/token`): a form body, the
    /// username and password as the client's id and secret by HTTP Basic (§2.3.1);
    /// the answer's `access_token`, `token_type` and `expires_in` (§5.1).
    OAuthClientCredentials,
}

/// How a session behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Renew this long before expiry; `None` for the default rule
    /// (a tenth of the lifetime, at most [`DEFAULT_MAX_RENEW_MARGIN`]). Whatever it
    /// says, the margin used is at most half the lifetime the server granted, so a
    /// fresh token is always used before it is renewed: a margin as long as the
    /// tokens (60 s for 30 s tokens) once made every request a login.
    pub renew_margin: Option<StdDuration>,
    /// A login with no answer after this long is sent again.
    pub login_timeout: StdDuration,
    /// After a failed login (5xx, 429, a malformed answer), wait this long.
    pub login_backoff: StdDuration,
    /// After this many `invalid_request` answers in a row (with no other answer in
    /// between) the session stops with [`SessionError::Malformed`]: the request will
    /// not get better by being sent again.
    pub max_malformed: u32,
    /// Which login endpoint to speak; the platform's own by default.
    pub login_style: LoginStyle,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            renew_margin: None,
            login_timeout: StdDuration::from_secs(30),
            login_backoff: StdDuration::from_secs(5),
            max_malformed: DEFAULT_MAX_MALFORMED,
            login_style: LoginStyle::Platform,
        }
    }
}

impl SessionConfig {
    /// With [`SessionConfig::renew_margin`] set.
    #[must_use]
    pub const fn with_renew_margin(mut self, margin: Option<StdDuration>) -> SessionConfig {
        self.renew_margin = margin;
        self
    }

    /// With [`SessionConfig::login_style`] set.
    #[must_use]
    pub const fn with_login_style(mut self, style: LoginStyle) -> SessionConfig {
        self.login_style = style;
        self
    }

    /// With [`SessionConfig::login_timeout`] set.
    #[must_use]
    pub const fn with_login_timeout(mut self, timeout: StdDuration) -> SessionConfig {
        self.login_timeout = timeout;
        self
    }

    /// With [`SessionConfig::login_backoff`] set.
    #[must_use]
    pub const fn with_login_backoff(mut self, backoff: StdDuration) -> SessionConfig {
        self.login_backoff = backoff;
        self
    }

    /// With [`SessionConfig::max_malformed`] set.
    #[must_use]
    pub const fn with_max_malformed(mut self, max: u32) -> SessionConfig {
        self.max_malformed = max;
        self
    }
}

/// Why a session has stopped. It stays stopped until [`Session::reset`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The server answered 401 to the API key: it is invalid, revoked or deleted, and
    /// is never sent again.
    #[error("the server rejected the api key; it is not sent again")]
    KeyRejected,
    /// The login was refused (wrong username or password, disabled user).
    #[error("the login was refused with status {status}")]
    LoginRefused {
        /// The status.
        status: u16,
    },
    /// A token from a login that followed a 401 was itself refused before any
    /// request succeeded: logging in again would loop.
    #[error("the server refused the token of a fresh login; not logging in again")]
    RefusedAfterLogin,
    /// The server called this many requests in a row malformed (`invalid_request`).
    #[error("the server called {count} requests in a row malformed; not sending more")]
    Malformed {
        /// How many in a row.
        count: u32,
    },
}

/// What to do next.
#[derive(Debug)]
#[must_use]
pub enum Next {
    /// Send the request with this `Authorization` value, and report the response
    /// with [`Session::on_response`] and this generation.
    Send {
        /// The header value (a secret; zeroized on drop).
        authorization: Zeroizing<String>,
        /// Which credential this is, to match the response to it.
        generation: u64,
    },
    /// Log in first: POST this body to the login endpoint (with this
    /// `Content-Type`, and this `Authorization` value when there is one) and report
    /// the answer with [`Session::on_login_response`].
    #[non_exhaustive]
    LogIn {
        /// The body: the platform's JSON (holds the password), or the OAuth 2.0
        /// form. Zeroized on drop.
        body: Zeroizing<String>,
        /// The body's media type: `application/json` or
        /// `application/x-www-form-urlencoded`.
        content_type: &'static str,
        /// The client authentication for the OAuth 2.0 token endpoint (`Basic …`,
        /// holds the password; zeroized on drop); `None` for the platform's login.
        authorization: Option<Zeroizing<String>>,
    },
    /// A login is under way (or backing off) and no valid token is at hand: try again
    /// at `until` or when the login's answer arrives.
    Wait {
        /// When to ask again at the latest.
        until: OffsetDateTime,
    },
    /// The session has stopped.
    Failed(SessionError),
}

/// How the session took a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaction {
    /// Nothing to do.
    Fine,
    /// The response was for an older credential than the current one: ignored.
    Stale,
    /// The token was refused; the next [`Session::next`] logs in again.
    LogInAgain,
    /// The server called the request malformed (`invalid_request`): fix the request;
    /// the credential is kept.
    Malformed,
    /// The session stopped.
    Failed(SessionError),
}

#[derive(Debug)]
struct Held {
    token: AccessToken,
    lifetime: Lifetime,
    generation: u64,
}

#[derive(Debug)]
enum State {
    /// No token and no login under way.
    Idle,
    /// A login is pending: sent and awaiting its answer, or failed and backing off.
    /// For `wait` from `since`, `previous` is used while valid (or callers wait);
    /// then the login is sent again. A clock that steps back moves `since` back
    /// with it, so no wait is ever longer than `wait`.
    Pending {
        since: OffsetDateTime,
        wait: StdDuration,
        previous: Option<Held>,
    },
    /// Holding a token.
    Ready(Held),
    Failed(SessionError),
}

#[derive(Debug)]
enum Secret {
    Key(ApiKey),
    Login(LoginRequest),
}

/// A client's authentication state.
///
/// ```
/// use pw_auth_core::Password;
/// use pw_auth_http::{Next, Session, SessionConfig};
/// use time::macros::datetime;
/// let now = datetime!(2026-11-27 12:00 UTC);
/// let mut s = Session::with_password("ann", Password::new("pw".into())?, SessionConfig::default())?;
/// let Next::LogIn { body, .. } = s.next(now) else { panic!() };
/// // ... POST body to /fabric/api/login; the server answers:
/// s.on_login_response(200, br#"{"message": "ok", "token": "abc", "expires_in": 86400}"#, now)?;
/// let Next::Send { authorization, .. } = s.next(now) else { panic!() };
/// assert_eq!(authorization.as_str(), "Bearer abc");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Session {
    secret: Secret,
    config: SessionConfig,
    state: State,
    generation: u64,
    /// `invalid_request` answers in a row.
    malformed: u32,
    /// Tokens refused (401) in a row, with no other answer to the current token in
    /// between: the second stops the session.
    refused: u32,
}

fn add(t: OffsetDateTime, d: StdDuration) -> OffsetDateTime {
    Duration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d))
        .unwrap_or(t)
}

impl Session {
    /// A session that sends an API key on every request.
    pub fn with_api_key(key: ApiKey) -> Session {
        Session {
            secret: Secret::Key(key),
            config: SessionConfig::default(),
            state: State::Idle,
            generation: 0,
            malformed: 0,
            refused: 0,
        }
    }

    /// A session that logs in with a username and password and sends bearer tokens.
    pub fn with_password(
        username: &str,
        password: Password,
        config: SessionConfig,
    ) -> Result<Session, BodyError> {
        Ok(Session {
            secret: Secret::Login(LoginRequest::new(username, password)?),
            config,
            state: State::Idle,
            generation: 0,
            malformed: 0,
            refused: 0,
        })
    }

    /// Starts again after a failure (for instance once the user fixed a password).
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.malformed = 0;
        self.refused = 0;
    }

    /// The renewal margin for a token of `lifetime`: the configured one (or a tenth,
    /// at most [`DEFAULT_MAX_RENEW_MARGIN`]), never more than half the lifetime.
    fn margin(&self, lifetime: &Lifetime) -> StdDuration {
        let length = lifetime.length();
        let half = length.checked_div(2).unwrap_or(StdDuration::ZERO);
        let margin = self.config.renew_margin.unwrap_or_else(|| {
            let tenth = length.checked_div(10).unwrap_or(StdDuration::ZERO);
            tenth.min(DEFAULT_MAX_RENEW_MARGIN)
        });
        margin.min(half)
    }

    fn send(held: &Held) -> Next {
        Next::Send {
            authorization: format_authorization(&Credential::Bearer(held.token.clone())),
            generation: held.generation,
        }
    }

    /// Whether `held` may be sent at `now`: not yet expired by this client's clock.
    /// A token "not yet valid" by it (the clock stepped back since the login) is
    /// still the server's valid token, and is used.
    fn usable(held: &Held, now: OffsetDateTime) -> bool {
        held.lifetime.validity(now, Leeway::ZERO) != Validity::Expired
    }

    fn log_in(&mut self, now: OffsetDateTime, previous: Option<Held>) -> Next {
        let Secret::Login(request) = &self.secret else {
            return Next::Failed(SessionError::KeyRejected);
        };
        let (body, content_type, authorization) = match self.config.login_style {
            LoginStyle::Platform => (request.to_json(), "application/json", None),
            LoginStyle::OAuthClientCredentials => {
                let (form, basic) = request.to_oauth_client_credentials();
                (
                    Zeroizing::new(form.to_owned()),
                    "application/x-www-form-urlencoded",
                    Some(basic),
                )
            }
        };
        self.state = State::Pending {
            since: now,
            wait: self.config.login_timeout,
            previous,
        };
        Next::LogIn {
            body,
            content_type,
            authorization,
        }
    }

    /// What to do now. Many callers asking while a token is due get one `LogIn`; the
    /// rest keep the old token while it is valid, or wait.
    pub fn next(&mut self, now: OffsetDateTime) -> Next {
        if let Secret::Key(key) = &self.secret {
            return match &self.state {
                State::Failed(e) => Next::Failed(e.clone()),
                _ => Next::Send {
                    authorization: format_authorization(&Credential::ApiKey(key.clone())),
                    generation: 0,
                },
            };
        }
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Failed(e) => {
                self.state = State::Failed(e.clone());
                Next::Failed(e)
            }
            State::Idle => self.log_in(now, None),
            State::Ready(held) => {
                if !Self::usable(&held, now) {
                    self.log_in(now, None)
                } else if held
                    .lifetime
                    .due_for_renewal(now, self.margin(&held.lifetime))
                {
                    // The first caller in the renewal window logs in; while that login
                    // is under way the others keep the still-valid token.
                    self.log_in(now, Some(held))
                } else {
                    let next = Self::send(&held);
                    self.state = State::Ready(held);
                    next
                }
            }
            State::Pending {
                since,
                wait,
                previous,
            } => {
                // The clock stepped back: the wait starts again from now, rather
                // than lasting until the old deadline (an hour's step once made a
                // 30 s timeout last 3,630 s).
                let since = since.min(now);
                let retry_at = add(since, wait);
                if now >= retry_at {
                    return self.log_in(now, previous);
                }
                let next = match &previous {
                    Some(held) if Self::usable(held, now) => Self::send(held),
                    _ => Next::Wait { until: retry_at },
                };
                self.state = State::Pending {
                    since,
                    wait,
                    previous,
                };
                next
            }
        }
    }

    /// Takes the login endpoint's answer and the time it arrived.
    pub fn on_login_response(
        &mut self,
        status: u16,
        body: &[u8],
        received_at: OffsetDateTime,
    ) -> Result<(), SessionError> {
        let previous = match std::mem::replace(&mut self.state, State::Idle) {
            State::Pending { previous, .. } => previous,
            State::Ready(held) => Some(held),
            State::Idle => None,
            State::Failed(e) => {
                self.state = State::Failed(e.clone());
                return Err(e);
            }
        };
        let backoff = |previous| State::Pending {
            since: received_at,
            wait: self.config.login_backoff,
            previous,
        };
        match status {
            200 => match match self.config.login_style {
                LoginStyle::Platform => LoginResponse::parse(body),
                LoginStyle::OAuthClientCredentials => LoginResponse::parse_oauth(body),
            }
            .ok()
            .and_then(|r| r.lifetime(received_at).ok().map(|l| (r, l)))
            {
                Some((response, lifetime)) => {
                    self.generation = self.generation.saturating_add(1);
                    self.state = State::Ready(Held {
                        token: response.token().clone(),
                        lifetime,
                        generation: self.generation,
                    });
                    Ok(())
                }
                None => {
                    self.state = backoff(previous);
                    Ok(())
                }
            },
            400..=499 if status != 429 && status != 408 => {
                let e = SessionError::LoginRefused { status };
                self.state = State::Failed(e.clone());
                Err(e)
            }
            _ => {
                self.state = backoff(previous);
                Ok(())
            }
        }
    }

    /// Takes a response to a request sent with `generation`: its status and its
    /// `WWW-Authenticate` field lines.
    pub fn on_response(
        &mut self,
        generation: u64,
        status: u16,
        www_authenticate: &[&[u8]],
    ) -> Reaction {
        let malformed = parse_challenges(www_authenticate.iter().copied())
            .ok()
            .and_then(|cs| cs.iter().find_map(BearerChallenge::from_challenge))
            .is_some_and(|b| b.error() == Some(&BearerError::InvalidRequest));
        if malformed {
            self.malformed = self.malformed.saturating_add(1);
            if self.malformed >= self.config.max_malformed {
                let e = SessionError::Malformed {
                    count: self.malformed,
                };
                self.state = State::Failed(e.clone());
                return Reaction::Failed(e);
            }
            return Reaction::Malformed;
        }
        self.malformed = 0;
        if matches!(self.secret, Secret::Key(_)) {
            if status == 401 {
                self.state = State::Failed(SessionError::KeyRejected);
                return Reaction::Failed(SessionError::KeyRejected);
            }
            return Reaction::Fine;
        }
        let current = match &self.state {
            State::Ready(held) => Some(held),
            State::Pending { previous, .. } => previous.as_ref(),
            State::Idle | State::Failed(_) => None,
        };
        if current.is_none_or(|h| h.generation != generation) {
            return Reaction::Stale;
        }
        if status != 401 {
            self.refused = 0;
            return Reaction::Fine;
        }
        self.refused = self.refused.saturating_add(1);
        if self.refused >= 2 {
            // The token of the login that followed a 401 was refused too, before any
            // request succeeded: logging in again would loop.
            self.state = State::Failed(SessionError::RefusedAfterLogin);
            return Reaction::Failed(SessionError::RefusedAfterLogin);
        }
        // Drop the token; if a login is already under way, let it finish.
        match &mut self.state {
            State::Pending { previous, .. } => *previous = None,
            _ => self.state = State::Idle,
        }
        Reaction::LogInAgain
    }
}
