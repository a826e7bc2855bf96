//! Authentication, sans-IO: a presented credential, the records the caller looked up
//! by its digest, and `now` in; a [`Principal`] or a typed failure out.

use serde::Serialize;
use time::OffsetDateTime;

use crate::digest::{ApiKeyDigest, CredentialDigest, TokenDigest};
use crate::id::UserId;
use crate::lifetime::{Leeway, Validity};
use crate::mint::{ApiKeyRecord, TokenRecord};
use crate::principal::Principal;
use crate::role::Role;
use crate::secret::{AccessToken, ApiKey, Credential};
use crate::user::{UserRecord, UserStatus};

/// What the caller's lookup (by digest) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a, T> {
    /// A record with that digest.
    Found(&'a T),
    /// The store remembers that a record with that digest was deleted.
    Deleted,
    /// No record with that digest.
    NotFound,
}

impl<'a, T> From<Option<&'a T>> for Lookup<'a, T> {
    fn from(o: Option<&'a T>) -> Self {
        o.map_or(Lookup::NotFound, Lookup::Found)
    }
}

/// Why a request is not authenticated. Every variant means 401 to the outside (400
/// for [`AuthnFailure::MultipleValues`]); the distinction is for the audit record.
/// Never contains a secret.
///
/// Deliberately not `#[non_exhaustive]`, like [`crate::Reason`]: a caller that maps
/// failures should have to handle a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, thiserror::Error)]
#[serde(tag = "failure", rename_all = "snake_case")]
pub enum AuthnFailure {
    /// No `Authorization` value was sent.
    #[error("no credentials were sent")]
    Missing,
    /// An `Authorization` value was sent, but it is empty (or only whitespace).
    #[error("the authorization value is empty")]
    Empty,
    /// The value uses an authentication scheme this API does not support, such as
    /// `Basic`: it is not a credential here.
    #[error("the authorization value uses an authentication scheme that is not supported")]
    UnsupportedScheme {
        /// The scheme, when it is a registered one; `None` for an unknown first
        /// word, which is never recorded since it may be a secret sent by mistake.
        #[serde(skip_serializing_if = "Option::is_none")]
        scheme: Option<&'static str>,
    },
    /// More than one `Authorization` value was sent.
    #[error("{count} authorization values were sent; exactly one is allowed")]
    MultipleValues {
        /// How many.
        count: usize,
    },
    /// The credentials could not be parsed (e.g. a minted key with a bad checksum,
    /// or a bearer token outside the `b64token` grammar).
    #[error("the credentials are malformed")]
    Malformed,
    /// No record matches the credential.
    #[error("the credential is unknown")]
    Unknown,
    /// The credential was revoked.
    #[error("the credential was revoked")]
    Revoked {
        /// When.
        #[serde(with = "crate::stamp")]
        at: OffsetDateTime,
    },
    /// The credential was deleted.
    #[error("the credential was deleted")]
    Deleted,
    /// The token has expired.
    #[error("the token has expired")]
    Expired {
        /// When it expired.
        #[serde(with = "crate::stamp")]
        at: OffsetDateTime,
    },
    /// The API key expired (it was minted to live a fixed time).
    #[error("the api key expired")]
    KeyExpired {
        /// When it expired.
        #[serde(with = "crate::stamp")]
        at: OffsetDateTime,
    },
    /// The API key was rotated and its grace period is over: its successor replaced it.
    #[error("the api key was rotated and has retired")]
    KeyRetired {
        /// When it retired.
        #[serde(with = "crate::stamp")]
        at: OffsetDateTime,
    },
    /// The credential is not valid yet.
    #[error("the credential is not valid yet")]
    NotYetValid {
        /// When it becomes valid.
        #[serde(with = "crate::stamp")]
        from: OffsetDateTime,
    },
    /// The user behind the credential is disabled.
    #[error("the user is disabled")]
    UserDisabled,
    /// The records handed over do not belong together: a wrong digest, user or
    /// company; a key whose user is not an api-user, or has a custom role; a token
    /// whose user is an api-user. This is a bug in the caller's lookup or corrupt
    /// data, and is denied like an unknown credential.
    #[error("the looked-up records do not match the credential")]
    RecordMismatch,
}

impl AuthnFailure {
    /// The failure's stable code: the `failure` field of its serialised form, e.g.
    /// `revoked`. Use it for metrics and logs.
    ///
    /// ```
    /// use pw_auth_core::AuthnFailure;
    /// assert_eq!(AuthnFailure::Unknown.kind(), "unknown");
    /// assert_eq!(serde_json::to_value(AuthnFailure::Unknown)?["failure"], "unknown");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub const fn kind(&self) -> &'static str {
        match self {
            AuthnFailure::Missing => "missing",
            AuthnFailure::Empty => "empty",
            AuthnFailure::UnsupportedScheme { .. } => "unsupported_scheme",
            AuthnFailure::MultipleValues { .. } => "multiple_values",
            AuthnFailure::Malformed => "malformed",
            AuthnFailure::Unknown => "unknown",
            AuthnFailure::Revoked { .. } => "revoked",
            AuthnFailure::Deleted => "deleted",
            AuthnFailure::Expired { .. } => "expired",
            AuthnFailure::KeyExpired { .. } => "key_expired",
            AuthnFailure::KeyRetired { .. } => "key_retired",
            AuthnFailure::NotYetValid { .. } => "not_yet_valid",
            AuthnFailure::UserDisabled => "user_disabled",
            AuthnFailure::RecordMismatch => "record_mismatch",
        }
    }
}

/// Settings for authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AuthnConfig {
    /// Clock-skew leeway on token validity. Zero by default.
    pub leeway: Leeway,
}

impl AuthnConfig {
    /// The default: no leeway.
    pub const fn new() -> AuthnConfig {
        AuthnConfig {
            leeway: Leeway::ZERO,
        }
    }

    /// With a clock-skew leeway.
    pub const fn with_leeway(mut self, leeway: Leeway) -> AuthnConfig {
        self.leeway = leeway;
        self
    }
}

/// A caller's store of records, for callers whose lookups are synchronous (an
/// in-memory map, a cache): then [`Authenticator::authenticate`] does the lookups by
/// digest itself. Callers with asynchronous stores look up first and call
/// [`Authenticator::api_key`] or [`Authenticator::bearer`].
pub trait RecordStore {
    /// The API-key record with this digest.
    fn api_key(&self, digest: &ApiKeyDigest) -> Lookup<'_, ApiKeyRecord>;
    /// The token record with this digest.
    fn token(&self, digest: &TokenDigest) -> Lookup<'_, TokenRecord>;
    /// The user with this id.
    fn user(&self, id: &UserId) -> Option<&UserRecord>;
}

/// Checks presented credentials against looked-up records.
///
/// ```
/// use pw_auth_core::*;
/// use time::macros::datetime;
/// let now = datetime!(2026-11-27 12:00 UTC);
/// let acme = CompanyId::new("acme")?;
/// let minted = mint_api_key(&acme, KeyLabel::new("erp")?, &[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3], now)?;
///
/// // Server side: the key arrives, the caller looks its record up by digest.
/// let presented = ApiKey::new(minted.key.expose_secret().to_owned())?;
/// assert_eq!(presented.digest(), minted.record.digest);
/// let principal = Authenticator::default().api_key(
///     &presented,
///     Lookup::Found(&minted.record),
///     Some(&minted.user),
///     now,
/// )?;
/// assert_eq!(principal.role(), Role::ApiUser);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Authenticator {
    config: AuthnConfig,
}

impl Authenticator {
    /// An authenticator with the given settings.
    pub const fn new(config: AuthnConfig) -> Authenticator {
        Authenticator { config }
    }

    /// Authenticates any credential against a [`RecordStore`], looking its records
    /// up by digest (never by the secret).
    pub fn authenticate(
        &self,
        credential: &Credential,
        store: &impl RecordStore,
        now: OffsetDateTime,
    ) -> Result<Principal, AuthnFailure> {
        self.authenticate_digest(&credential.digest(), store, now)
    }

    /// [`Authenticator::authenticate`] given the credential's digest, for servers
    /// that computed it to look the records up ([`CredentialRef::digest`]): the
    /// digest is all authentication reads, so it is computed once per request.
    ///
    /// [`CredentialRef::digest`]: crate::CredentialRef::digest
    pub fn authenticate_digest(
        &self,
        digest: &CredentialDigest,
        store: &impl RecordStore,
        now: OffsetDateTime,
    ) -> Result<Principal, AuthnFailure> {
        match digest {
            CredentialDigest::ApiKey(digest) => {
                let record = store.api_key(digest);
                let user = match record {
                    Lookup::Found(r) => store.user(&r.user),
                    Lookup::Deleted | Lookup::NotFound => None,
                };
                self.check_api_key(digest, record, user, now)
            }
            CredentialDigest::Bearer(digest) => {
                let record = store.token(digest);
                let user = match record {
                    Lookup::Found(r) => store.user(&r.user),
                    Lookup::Deleted | Lookup::NotFound => None,
                };
                self.check_bearer(digest, record, user, now)
            }
        }
    }

    /// Authenticates an API key. `record` is what the caller found by
    /// [`ApiKey::digest`]; `user` is the user that record names.
    pub fn api_key(
        &self,
        key: &ApiKey,
        record: Lookup<'_, ApiKeyRecord>,
        user: Option<&UserRecord>,
        now: OffsetDateTime,
    ) -> Result<Principal, AuthnFailure> {
        self.check_api_key(&key.digest(), record, user, now)
    }

    /// [`Authenticator::api_key`] with the key's digest already computed.
    fn check_api_key(
        &self,
        digest: &ApiKeyDigest,
        record: Lookup<'_, ApiKeyRecord>,
        user: Option<&UserRecord>,
        now: OffsetDateTime,
    ) -> Result<Principal, AuthnFailure> {
        let record = found(record)?;
        if &record.digest != digest {
            return Err(AuthnFailure::RecordMismatch);
        }
        if let Some(at) = record.revoked_at {
            return Err(AuthnFailure::Revoked { at });
        }
        if now < record.created_at {
            return Err(AuthnFailure::NotYetValid {
                from: record.created_at,
            });
        }
        // Half-open like a token: the key works before its deadline, never from it on;
        // of an expiry and a retirement, the earlier is the reason.
        let deadline = record.deadline();
        if let Some(at) = deadline.filter(|&at| now >= at) {
            return Err(if record.expires_at == Some(at) {
                AuthnFailure::KeyExpired { at }
            } else {
                AuthnFailure::KeyRetired { at }
            });
        }
        let user = user_for(user, &record.user, &record.company)?;
        if user.role != Role::ApiUser || user.custom_role.is_some() {
            return Err(AuthnFailure::RecordMismatch);
        }
        Ok(Principal::api_key(
            user.id.clone(),
            user.company.clone(),
            record.id.clone(),
            deadline,
        )
        .with_scope(record.scope.clone().map(std::sync::Arc::new))
        .with_key_quota(record.quota))
    }

    /// Authenticates a bearer token. `record` is what the caller found by
    /// [`AccessToken::digest`]; `user` is the user that record names. The principal
    /// gets the user's role as it is now, not as it was when the token was issued.
    pub fn bearer(
        &self,
        token: &AccessToken,
        record: Lookup<'_, TokenRecord>,
        user: Option<&UserRecord>,
        now: OffsetDateTime,
    ) -> Result<Principal, AuthnFailure> {
        self.check_bearer(&token.digest(), record, user, now)
    }

    /// [`Authenticator::bearer`] with the token's digest already computed.
    fn check_bearer(
        &self,
        digest: &TokenDigest,
        record: Lookup<'_, TokenRecord>,
        user: Option<&UserRecord>,
        now: OffsetDateTime,
    ) -> Result<Principal, AuthnFailure> {
        let record = found(record)?;
        if &record.digest != digest {
            return Err(AuthnFailure::RecordMismatch);
        }
        if let Some(at) = record.revoked_at {
            return Err(AuthnFailure::Revoked { at });
        }
        match record.lifetime.validity(now, self.config.leeway) {
            Validity::Valid => {}
            Validity::NotYetValid => {
                return Err(AuthnFailure::NotYetValid {
                    from: record.lifetime.issued_at(),
                });
            }
            Validity::Expired => {
                return Err(AuthnFailure::Expired {
                    at: record.lifetime.expires_at(),
                });
            }
        }
        let user = user_for(user, &record.user, &record.company)?;
        // An api-user authenticates with its key only: a token record naming one is
        // the mirror of a key whose user is not an api-user, and is refused alike.
        let principal = Principal::bearer(
            user.id.clone(),
            user.company.clone(),
            user.role,
            record.id.clone(),
            record.lifetime.expires_at(),
            self.config.leeway,
        )
        .ok_or(AuthnFailure::RecordMismatch)?;
        match &user.custom_role {
            Some(custom) => principal
                .with_custom_role(custom.clone())
                .ok_or(AuthnFailure::RecordMismatch),
            None => Ok(principal),
        }
    }
}

fn found<T>(lookup: Lookup<'_, T>) -> Result<&T, AuthnFailure> {
    match lookup {
        Lookup::Found(r) => Ok(r),
        Lookup::Deleted => Err(AuthnFailure::Deleted),
        Lookup::NotFound => Err(AuthnFailure::Unknown),
    }
}

fn user_for<'a>(
    user: Option<&'a UserRecord>,
    id: &UserId,
    company: &crate::id::CompanyId,
) -> Result<&'a UserRecord, AuthnFailure> {
    let user = user.ok_or(AuthnFailure::RecordMismatch)?;
    if &user.id != id || &user.company != company {
        return Err(AuthnFailure::RecordMismatch);
    }
    match user.status {
        UserStatus::Active => Ok(user),
        UserStatus::Disabled => Err(AuthnFailure::UserDisabled),
    }
}

#[cfg(test)]
mod tests;
