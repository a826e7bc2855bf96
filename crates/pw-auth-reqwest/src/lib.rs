//! # pw-auth-reqwest
//!
//! A [`reqwest`] client that stays authenticated, driving the sans-IO
//! [`Session`] of `pw-auth-http`: it sends the API key, or logs in with a username and
//! password — at the platform's login ([`AuthClient::with_password`]) or at a
//! standard OAuth 2.0 token endpoint by the client credentials grant
//! ([`AuthClient::with_client_credentials`]) — and renews the token before it expires; it retries a request once after
//! a 401 (with a fresh login), waits out a 429's `Retry-After` (up to a bound), stops
//! for good when the server rejects an API key, and lets concurrent callers wait on
//! one login. It holds no authentication logic of its own.
//!
//! The crate brings no TLS: build the `reqwest::Client` with the TLS you want (for
//! example reqwest's `rustls` feature) and hand it over.
//!
//! ```no_run
//! use pw_auth_core::ApiKey;
//! use pw_auth_reqwest::AuthClient;
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = AuthClient::with_api_key(reqwest::Client::new(), ApiKey::new("pwk_…".to_owned())?);
//! let flows = client.send(|http| http.get("https://api.example/fabric/api/flows")).await?;
//! println!("{}", flows.status());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use pw_auth_core::{ApiKey, Password};
/// The clock the client reads (`OffsetDateTime::now_utc` unless replaced):
/// the one clock type of `pw_auth_http`.
pub use pw_auth_http::Clock;
use pw_auth_http::{
    BodyError, Next, Reaction, Session, SessionConfig, SessionError, send_header_value,
};
use time::OffsetDateTime;
use tokio::sync::Notify;

/// Why a request could not be completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The HTTP request itself failed (connection, timeout, …).
    #[error("the request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The session has stopped (a rejected API key, a refused login); it is not
    /// retried.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The login body could not be built (an invalid username).
    #[error("the login request is invalid: {0}")]
    Login(#[from] BodyError),
    /// No answer but refusals after [`ClientConfig::max_attempts`] tries.
    #[error("gave up after {attempts} attempts")]
    GaveUp {
        /// How many requests were tried.
        attempts: u32,
    },
}

/// How a client retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The most requests (including logins) one `send` makes. At least 2.
    pub max_attempts: u32,
    /// A 429 whose `Retry-After` is longer than this is returned to the caller
    /// instead of waited out.
    pub max_retry_after: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            max_attempts: 6,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// A client that keeps itself authenticated. Share it (`Arc`) between tasks: they
/// wait on one login.
pub struct AuthClient {
    http: reqwest::Client,
    login_url: Option<String>,
    session: Mutex<Session>,
    login_done: Notify,
    clock: Arc<Clock>,
    config: ClientConfig,
}

impl std::fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClient")
            .field("login_url", &self.login_url)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AuthClient {
    /// A client sending `key` with every request.
    pub fn with_api_key(http: reqwest::Client, key: ApiKey) -> AuthClient {
        Self::build(http, None, Session::with_api_key(key))
    }

    /// A client logging in at `login_url` (`POST`, e.g.
    /// `https://…/fabric/api/login`) with `username` and `password`, renewing its
    /// token as `session` says (`SessionConfig::default()` is the usual choice).
    pub fn with_password(
        http: reqwest::Client,
        login_url: &str,
        username: &str,
        password: Password,
        session: SessionConfig,
    ) -> Result<AuthClient, ClientError> {
        let session = Session::with_password(username, password, session)?;
        Ok(Self::build(http, Some(login_url.to_owned()), session))
    }

    /// A client getting its tokens from a standard OAuth 2.0 token endpoint at
    /// `token_url` (`POST`, e.g. `https://…/oauth/token`) by the client credentials
    /// grant, `username` and `password` being the client's id and secret (sent by
    /// HTTP Basic), renewing as `session` says (its login style is set to
    /// [`LoginStyle::OAuthClientCredentials`](pw_auth_http::LoginStyle)).
    pub fn with_client_credentials(
        http: reqwest::Client,
        token_url: &str,
        username: &str,
        password: Password,
        session: SessionConfig,
    ) -> Result<AuthClient, ClientError> {
        let session = session.with_login_style(pw_auth_http::LoginStyle::OAuthClientCredentials);
        Self::with_password(http, token_url, username, password, session)
    }

    fn build(http: reqwest::Client, login_url: Option<String>, session: Session) -> AuthClient {
        AuthClient {
            http,
            login_url,
            session: Mutex::new(session),
            login_done: Notify::new(),
            clock: Arc::new(OffsetDateTime::now_utc),
            config: ClientConfig::default(),
        }
    }

    /// The same client reading another clock (a test's fake one).
    pub fn with_clock(mut self, clock: Arc<Clock>) -> AuthClient {
        self.clock = clock;
        self
    }

    /// The same client with other retry settings.
    pub fn with_config(mut self, config: ClientConfig) -> AuthClient {
        self.config = config;
        self
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        // Every Session method leaves it in a valid state, so a poisoned lock is
        // still usable.
        self.session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends a request built by `build` (called again for each retry), with the
    /// `Authorization` value the session hands out. Returns the server's response,
    /// or an error when the session has stopped or the request failed.
    pub async fn send<F>(&self, build: F) -> Result<reqwest::Response, ClientError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let mut retried_401 = false;
        let attempts = self.config.max_attempts.max(2);
        for _ in 0..attempts {
            let now = (self.clock)();
            let notified = self.login_done.notified();
            tokio::pin!(notified);
            let next = {
                let mut session = self.session();
                // Registered while the session is locked, so a login that ends after
                // this point wakes it.
                notified.as_mut().enable();
                session.next(now)
            };
            match next {
                Next::Send {
                    authorization,
                    generation,
                } => {
                    let value = send_header_value(&authorization)
                        .ok_or(ClientError::GaveUp { attempts: 0 })?;
                    let response = build(&self.http)
                        .header(AUTHORIZATION, value)
                        .send()
                        .await?;
                    let status = response.status();
                    let reaction =
                        self.session()
                            .on_http_response(generation, status, response.headers());
                    match reaction {
                        Reaction::Failed(e) => return Err(e.into()),
                        Reaction::LogInAgain if !retried_401 => retried_401 = true,
                        _ if status == http::StatusCode::TOO_MANY_REQUESTS => {
                            match retry_after(&response) {
                                Some(wait) if wait <= self.config.max_retry_after => {
                                    tokio::time::sleep(wait).await;
                                }
                                _ => return Ok(response),
                            }
                        }
                        _ => return Ok(response),
                    }
                }
                Next::LogIn {
                    body,
                    content_type,
                    authorization,
                    ..
                } => {
                    let result = self
                        .log_in(body.as_bytes(), content_type, authorization.as_deref())
                        .await;
                    self.login_done.notify_waiters();
                    result?;
                }
                Next::Wait { until } => {
                    let wait = until_after(now, until).min(self.config.max_retry_after);
                    let _ = tokio::time::timeout(wait, notified).await;
                }
                Next::Failed(e) => return Err(e.into()),
            }
        }
        Err(ClientError::GaveUp { attempts })
    }

    async fn log_in(
        &self,
        body: &[u8],
        content_type: &'static str,
        authorization: Option<&String>,
    ) -> Result<(), ClientError> {
        let Some(url) = &self.login_url else {
            return Err(ClientError::GaveUp { attempts: 0 });
        };
        let mut request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, "application/json")
            .body(body.to_vec());
        if let Some(value) = authorization {
            let mut value = http::HeaderValue::from_str(value)
                .map_err(|_| ClientError::GaveUp { attempts: 0 })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        let sent = request.send().await;
        let (status, answer) = match sent {
            Ok(r) => (r.status().as_u16(), r.bytes().await.unwrap_or_default()),
            // No answer: the session backs off as for a server error.
            Err(_) => (503, Default::default()),
        };
        let now = (self.clock)();
        self.session().on_login_response(status, &answer, now)?;
        Ok(())
    }
}

/// How long from `now` until `until` (zero if it has passed).
fn until_after(now: OffsetDateTime, until: OffsetDateTime) -> Duration {
    let nanos = until
        .unix_timestamp_nanos()
        .saturating_sub(now.unix_timestamp_nanos());
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(if nanos < 0 { 0 } else { u64::MAX }))
}

/// A 429's `Retry-After` in seconds (RFC 9110 §10.2.3; an HTTP-date is not waited
/// out).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}
