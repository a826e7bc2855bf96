//! # pw-auth-core
//!
//! The domain model and decision engine of pw-auth: who is calling, and may they do
//! what they ask? It models the Patchworks Core API: API keys (each with its own
//! manager-level `api-user`), OAuth 2 bearer tokens that inherit their user's role,
//! four user roles, subscription tiers that trump roles, and linked companies.
//!
//! **This crate does no IO.** It never reads the clock, never draws random numbers,
//! never touches files or the network. Time (`now`) and random bytes come in as
//! arguments; lookups happen in the caller. That is what lets servers and clients
//! alike link it.
//!
//! ```text
//!  credential ──digest()──▶ caller looks up records ──▶ Authenticator ──▶ Principal
//!                                                                           │
//!  Request { action, company, tier, links } ───────────▶ authorize(&Policy) ◀┘
//!                                                              │
//!                                          Decision { Allow|Deny, Reason } ──▶ AuditRecord
//! ```
//!
//! * Secrets ([`ApiKey`], [`AccessToken`], [`Password`]) never print, never
//!   serialise, compare in constant time and are zeroized on drop. Servers store and
//!   look up their [digests](ApiKeyDigest), never the secrets.
//! * A token is valid on the half-open interval `[issued_at, expires_at)`; leeway
//!   is explicit and zero by default ([`Lifetime`], [`Leeway`]).
//! * A [`Decision`] is a value, never an error: `Allow` or `Deny` with a
//!   [`Reason`]. Anything not explicitly allowed is denied.
//! * The [`Policy`] is data, checked and compiled once; the default one is the whole
//!   table of the platform's documentation. It also holds custom roles (enterprise)
//!   and usage quotas per tier.
//! * [`authorize_role_change`] decides who may change whose role.
//! * [`check_limit`] is a per-company usage limiter (GCRA) whose state is one small
//!   value the caller stores; [`usage_key`] says which company a request spends.
//!
//! | to do this | use |
//! |---|---|
//! | mint an API key (its record, its api-user, the key shown once) | [`mint_api_key`], [`KeyLabel`] |
//! | give a key an expiry, rotate it with overlap | [`MintedApiKey::expiring`], [`rotate_api_key`] |
//! | narrow a key to a scope | [`KeyScope`], [`MintedApiKey::scoped`] |
//! | issue a token after checking a password | [`issue_token`], [`ExpiresIn`] |
//! | revoke a key or a token | [`ApiKeyRecord::revoke`], [`TokenRecord`] |
//! | authenticate a credential against looked-up records | [`Authenticator`], [`Lookup`]; with a synchronous store, [`RecordStore`] and [`Authenticator::authenticate`] |
//! | decide a request | [`authorize`], [`Request`], [`Decision`], [`Reason`] |
//! | decide a role change | [`authorize_role_change`], [`RoleChange`] |
//! | record it | [`AuditRecord`]; its parts in [`audit`] |
//! | limit usage per company | [`check_limit`], [`LimitState`], [`Quota`], [`usage_key`] |
//! | load a policy (and locate its errors) | [`Policy::from_json`], [`PolicyError`] |
//! | review a policy: its decision table, a diff, case files | [`review`], [`Policy::decision_table`], [`Policy::diff`], [`Policy::run_cases`] |
//! | keep records in memory (tests, tools) | `MemoryRecords` (feature `memory`) |
//! | build principals in tests | `testing` (feature `test-support`) |
//!
//! The [`manual`] holds the platform pw-auth models, the default policy, and why each
//! of these choices was made — the same text as `docs/` in the repository.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::arithmetic_side_effects))]

pub mod audit;
mod authn;
mod decision;
mod digest;
pub mod grammar;
mod grant;
mod hex;
mod id;
mod lifetime;
mod limit;
#[cfg(any(test, feature = "memory"))]
mod memory;
mod mint;
mod names;
mod policy;
mod principal;
pub mod review;
mod role;
mod rotate;
mod scope;
mod secret;
mod stamp;
mod tier;
mod user;

pub use audit::{
    AUDIT_SCHEMA_VERSION, AuditRecord, CustomRoleChange, CustomRoleChanged, DecisionId,
    DecisionIdError, GrantChanged, LoginResult, OAuthCall, OAuthOperation, OAuthResult,
    OperatorAction, OperatorCommand, UserChange, UserChanged,
};
pub use authn::{Authenticator, AuthnConfig, AuthnFailure, Lookup, RecordStore};
pub use decision::{
    Decision, Effect, Reason, Request, RoleChange, RoleChangeDecision, RoleChangeReason, Standing,
    authorize, authorize_role_change, usage_key,
};
pub use digest::{ApiKeyDigest, CredentialDigest, DigestError, TokenDigest};
pub use grant::{Grant, grants_in_force};
pub use id::{ApiKeyId, CompanyId, IdError, MAX_ID_LEN, TokenId, UserId};
pub use lifetime::{
    DEFAULT_EXPIRES_IN_SECS, ExpiresIn, Leeway, LeewayError, Lifetime, LifetimeError,
    MAX_EXPIRES_IN_SECS, MAX_LEEWAY_SECS, Validity,
};
pub use limit::{
    JointDecision, KeyQuotaError, LimitDecision, LimitState, LimitedBy, MAX_QUOTA_PERIOD_SECS,
    Quota, QuotaError, QuotaRepr, check_joint_limit, check_limit, refund_limit,
};
#[cfg(any(test, feature = "memory"))]
pub use memory::MemoryRecords;
pub use mint::{
    AlreadyRevoked, ApiKeyRecord, IssuedToken, KeyLabel, LabelError, MAX_LABEL_CHARS,
    MAX_RANDOM_BYTES, MIN_RANDOM_BYTES, MintError, MintedApiKey, TokenAlreadyRevoked, TokenRecord,
    issue_token, mint_api_key,
};
pub use policy::{
    ActionDef, ActionKind, ActionSpec, CompanyRole, CustomRoleDef, CustomRoleSpec, Location,
    MAX_ACTION_ID_LEN, MAX_ACTIONS, MAX_CUSTOM_ROLES, MAX_POLICY_LEN, MAX_ROLE_AREAS, Policy,
    PolicyDocument, PolicyError, PolicyErrorKind, Requirement,
};
#[cfg(any(test, feature = "test-support"))]
pub use principal::testing;
pub use principal::{AuthMethod, Principal};
pub use role::{
    CustomRoleName, CustomRoleNameError, Level, MAX_CUSTOM_ROLE_NAME_LEN, Role, RoleError,
};
pub use rotate::{
    KeyLifetime, KeyLifetimeError, MAX_KEY_LIFETIME_SECS, MAX_ROTATION_GRACE_SECS,
    MIN_KEY_LIFETIME_SECS, RotateError, RotatedApiKey, RotationGrace, rotate_api_key,
};
pub use scope::{KeyScope, MAX_SCOPE_ENTRIES, ScopeError};
pub use secret::{
    API_KEY_PREFIX, AccessToken, AccessTokenRef, ApiKey, ApiKeyError, ApiKeyRef, BadChar,
    Credential, CredentialRef, MAX_API_KEY_LEN, MAX_PASSWORD_LEN, MAX_TOKEN_LEN, Password,
    PasswordError, TOKEN_PREFIX, TokenError,
};
pub use tier::{Feature, Tier, TierError};
pub use user::{UserRecord, UserStatus};

/// The manual: what pw-auth models, the default policy, and the design questions
/// behind it. The same text as `docs/platform.md`, `docs/policy.md` and
/// `docs/design.md` in the repository.
pub mod manual {
    /// The platform: how the Patchworks Core API authenticates and authorises.
    ///
    #[doc = include_str!("../../../docs/platform.md")]
    pub mod platform {}

    /// The default policy, and how a decision is made.
    ///
    #[doc = include_str!("../../../docs/policy.md")]
    pub mod policy {}

    /// Design: the questions behind pw-auth.
    ///
    #[doc = include_str!("../../../docs/design.md")]
    pub mod design {}
}

/// The repository README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
