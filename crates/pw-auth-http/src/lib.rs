//! # pw-auth-http
//!
//! The bytes of HTTP headers and bodies, to and from pw-auth's domain values:
//!
//! * [`parse_authorization`] / [`format_authorization`]: the `Authorization` request
//!   header, a raw API key or `Bearer <b64token>` (RFC 6750 §2.1), strictly; and
//!   [`parse_authorization_ref`], the same without copying the secret, for servers
//!   that need only its digest.
//! * [`parse_challenges`] / [`Challenge`] / [`BearerChallenge`]: `WWW-Authenticate`,
//!   parsed with the whole RFC 9110 §11 grammar and built per RFC 6750 §3.
//! * [`LoginRequest`] / [`LoginResponse`]: the login endpoint's JSON bodies.
//! * [`Responder`] / [`Outcome`]: what a server sends for each refusal — status,
//!   `WWW-Authenticate`, `Retry-After`, and a `{"message": …}` body.
//! * [`rate_limit_fields`] and [`Responder::over_limit`]: the `RateLimit-Policy` and
//!   `RateLimit` fields, and the 429, for a usage-limit decision of the core;
//!   [`joint_rate_limit_fields`] for an API key limited inside its company's budget.
//! * [`ServerFlow`]: the server side in one call — `Authorization` field lines, the
//!   caller's records ([`ServerStore`]), the [`Request`](pw_auth_core::Request) asked, the company's
//!   usage budget and `now` in; a [`Served`] out — [`Admission`] to the handler, or
//!   [`Refused`] with its [`Cause`] — each with the complete response and the audit
//!   record, for every path (400, 401, 403, 429, or proceed). Also the login
//!   endpoint in two steps
//!   ([`ServerFlow::login_request`], [`ServerFlow::login`]).
//! * [`TrustedProxies`] / [`ClientAddr`]: who the client is behind proxies the server
//!   trusts (`Forwarded`, `X-Forwarded-For`), and the key its throttles count by.
//! * [`Session`]: the client side, a sans-IO state machine that holds an API key or a
//!   username and password, says when to log in ([`Next`]), hands out the header
//!   value to send, and reads what the server answered ([`Reaction`]).
#![cfg_attr(
    feature = "http",
    doc = "* with the `http` feature: [`credential_from_headers`] and friends, for the `http`\n  crate's `HeaderMap` and `HeaderValue`."
)]
#![cfg_attr(
    not(feature = "http"),
    doc = "* with the `http` feature: `credential_from_headers` and friends, for the `http`\n  crate's `HeaderMap` and `HeaderValue`."
)]
//!
//!
//! **This crate does no IO** and never reads the clock: it turns bytes into values and
//! values into bytes. Exactly which values are accepted, and why, is in the
//! [`manual`] (`docs/http.md` in the repository).
//!
//! ```text
//! Authorization bytes ─▶ parse_authorization ─▶ Credential ─▶ (core) ─▶ Principal ─▶ Decision
//!                              │ error                            │ AuthnFailure       │ deny
//!                              ▼                                  ▼                    ▼
//!                        Responder::authorization_error   Responder::unauthenticated  Responder::forbidden
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::arithmetic_side_effects))]

mod authorization;
mod bearer;
mod challenge;
mod client;
mod forwarded;
#[cfg(feature = "http")]
mod http_types;
mod login;
mod outcome;
mod served;
mod server;

/// The manual: exactly what this crate accepts and sends, with the RFC sections —
/// the same text as `docs/http.md` in the repository.
pub mod manual {
    #[doc = include_str!("../../../docs/http.md")]
    pub mod http {}
}

pub use authorization::{
    AuthorizationError, MAX_AUTHORIZATION_LEN, format_authorization, parse_authorization,
    parse_authorization_fields, parse_authorization_fields_ref, parse_authorization_ref,
};
pub use bearer::{BearerChallenge, BearerError};
pub use challenge::{
    Challenge, ChallengeBuildError, ChallengeError, ChallengeRef, MAX_CHALLENGE_INPUT_LEN,
    MAX_LIST_ELEMENTS, format_challenges, parse_challenges, parse_challenges_ref,
};
pub use client::{
    DEFAULT_MAX_MALFORMED, DEFAULT_MAX_RENEW_MARGIN, LoginStyle, Next, Reaction, Session,
    SessionConfig, SessionError,
};
pub use forwarded::{Cidr, CidrError, ClientAddr, TrustedProxies};
#[cfg(feature = "http")]
pub use http_types::{
    authorization_header_value, challenges_from_headers, credential_from_headers,
    credential_ref_from_headers, send_header_value,
};
pub use login::{
    BodyError, LOGIN_REFUSED_MESSAGE, LOGIN_SUCCESS_MESSAGE, LoginRequest, LoginResponse,
    MAX_LOGIN_BODY_LEN, MAX_USERNAME_CHARS,
};
pub use outcome::{
    EXPIRED_DESCRIPTION, INVALID_DESCRIPTION, KEY_EXPIRED_DESCRIPTION, KEY_RETIRED_DESCRIPTION,
    MALFORMED_DESCRIPTION, Outcome, PLATFORM_MAX_PAYLOAD, RateLimitFields, Responder,
    joint_rate_limit_fields, legacy_rate_limit_fields, rate_limit_fields,
};
pub use served::{Admission, Cause, Issued, LoginServed, Refused, Served};

/// A clock, as the adapters and servers above this crate read it: the time now. This
/// crate never reads one; its flows take `now` as an argument. One type for every
/// adapter (`pw-auth-axum`, `pw-auth-reqwest`, the reference server), so a test's
/// fake clock is written once and handed to all of them.
pub type Clock = dyn Fn() -> time::OffsetDateTime + Send + Sync;
pub use server::{
    Budget, Budgets, DEFAULT_FAILURE_QUOTA, DEFAULT_USERNAME_CEILING, LoginBudgets, ServerFlow,
    ServerStore,
};
