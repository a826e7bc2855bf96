//! # pw-auth-axum
//!
//! pw-auth for [axum] 0.8 and tower: an action guard, an extractor for the
//! authenticated principal, and responses. It holds **no policy logic**: every
//! decision is made by the sans-IO [`ServerFlow`](pw_auth_http::ServerFlow) of `pw-auth-http`; this crate does
//! the IO around it (the asynchronous lookups of an [`AuthStore`], the clock) and
//! translates types.
//!
//! ```text
//!  request ─▶ RequireLayer("flows.deploy")
//!               │ credential_ref_from_headers ─▶ digest ─▶ AuthStore::load (records, user, grants)
//!               │ ServerFlow::authenticate ─────────────────────────────▶ 400/401
//!               │ company hook (own company, or one the caller names) ─▶ AuthStore::company
//!               │ AuthStore::with_budget(company, ServerFlow::decide) ─▶ 403/429
//!               │ AuthStore::audit(record)                  any store error ─▶ 503, never an allow
//!               ▼
//!             handler, with `Authenticated(principal)`; the RateLimit headers are added
//! ```
//!
//! ```
//! use axum::{Router, routing::get};
//! use pw_auth_axum::{Authenticated, MemoryStore, PwAuth};
//! use pw_auth_core::Policy;
//! use pw_auth_http::{Responder, ServerFlow};
//!
//! async fn flows(Authenticated(who): Authenticated) -> String {
//!     format!("flows of {}", who.company())
//! }
//!
//! let flow = ServerFlow::new(Policy::default_policy(), Responder::new("patchworks")?);
//! let auth = PwAuth::new(flow, MemoryStore::default());
//! // An action the policy does not define is an error here, not a route that denies
//! // every request.
//! let app: Router = Router::new().route("/flows", get(flows).route_layer(auth.require("flows.view")?));
//! assert!(auth.require("flows.veiw").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The [`manual`] holds the guide to putting pw-auth behind an axum server and in
//! front of a reqwest client (the same text as `docs/server.md` in the repository).

#![forbid(unsafe_code)]

mod error;
mod extract;
mod guard;
mod layer;
mod memory;
mod response;
mod store;
mod verdict;

/// The guide, as rustdoc pages.
pub mod manual {
    /// An axum server and a reqwest client: the layers, the glue a server writes,
    /// the stores, failed attempts, and the client.
    ///
    #[doc = include_str!("../../../docs/server.md")]
    pub mod server {}
}

pub use error::{StoreError, StoreErrorKind, Unavailable};
pub use extract::{ActingIn, Authenticated};
pub use guard::{
    Admitted, ClientOf, CompanyHook, DECISION_ID, DecisionIds, PwAuth, PwAuthBuilder,
    UnknownAction, decided,
};
pub use layer::{Require, RequireLayer};
pub use memory::{DEFAULT_AUDIT_CAPACITY, MemoryStore};
/// The clock the guard reads: the one clock type of `pw_auth_http`.
pub use pw_auth_http::Clock;
pub use response::{OutcomeResponse, outcome_response, unavailable};
pub use store::{AuthStore, CompanyInfo, Loaded, Record};
pub use verdict::Verdict;
