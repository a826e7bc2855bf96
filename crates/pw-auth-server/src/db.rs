//! The server's records behind one trait, [`Records`], with two implementations: an
//! embedded SQLite file ([`Sqlite`], the default, no set-up) and PostgreSQL
//! ([`Postgres`], for several servers sharing one set of records). Both run the same
//! migrations (schema versions 1 and 2), store every record as the core's own serde
//! form keyed by its digest or id, and never store a secret. [`Db`] is whichever of
//! the two a server was started on.

mod cause;
pub mod postgres;
pub mod sqlite;

use std::future::Future;

use pw_auth_axum::{AuthStore, CompanyInfo, Loaded, StoreError, StoreErrorKind};
use pw_auth_core::{
    ApiKeyId, ApiKeyRecord, AuditRecord, CompanyId, CredentialDigest, LimitState, Tier,
    TokenDigest, TokenRecord, UserId, UserRecord,
};
use time::OffsetDateTime;

pub use postgres::Postgres;
pub use sqlite::Sqlite;

/// The schema both stores write and read.
pub const SCHEMA_VERSION: i64 = 3;

/// The migrations that take a database at `version` to [`SCHEMA_VERSION`], given the
/// store's own text of each (`steps[0]` makes version 1, `steps[1]` version 2, …), as
/// one batch; a database from a newer version is refused.
pub(crate) fn migrations_from(version: i64, steps: [&str; 3]) -> Result<String, StoreError> {
    let done = usize::try_from(version).unwrap_or(usize::MAX);
    match steps.get(done..) {
        Some(todo) => Ok(todo.concat()),
        None => Err(StoreError::new(
            StoreErrorKind::Corrupt,
            format!(
                "the database has schema version {version}; this server reads {SCHEMA_VERSION}"
            ),
        )),
    }
}

/// A backend's error that a store call can fail with: what kind of failure it is,
/// told from the error itself.
pub(crate) trait BackendError: std::error::Error + Send + Sync + 'static {
    /// The kind of failure.
    fn kind(&self) -> StoreErrorKind;
    /// Which backend failed, for the message ("sqlite", "postgresql", …).
    fn backend(&self) -> &'static str;
}

/// A backend's error as a store failure: its kind told from it, the error kept as the
/// failure's source.
pub(crate) fn err<E: BackendError>(e: E) -> StoreError {
    StoreError::new(e.kind(), e.backend()).caused_by(e)
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(err)
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(err)
}

/// A digest as the text it is stored under.
pub(crate) fn digest_text<T: serde::Serialize>(d: &T) -> Result<String, StoreError> {
    match serde_json::to_value(d).map_err(err)? {
        serde_json::Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

/// A credential's lookup: an API key's digest text (`Ok`) or a token's (`Err`).
pub(crate) fn lookup_of(digest: &CredentialDigest) -> Result<Result<String, String>, StoreError> {
    Ok(match digest {
        CredentialDigest::ApiKey(d) => Ok(digest_text(d)?),
        CredentialDigest::Bearer(d) => Err(digest_text(d)?),
    })
}

/// How long a throttled client's refusals are gathered into one audit record.
pub const THROTTLED_WINDOW_SECS: i64 = 60;

/// The row a throttled request's record is gathered into: one per client and window
/// (`None` for every other record, each its own row).
pub(crate) fn aggregate_key(record: &AuditRecord) -> Option<String> {
    let client = record.client.filter(|_| record.is_throttled())?;
    let window = record
        .time
        .unix_timestamp()
        .div_euclid(THROTTLED_WINDOW_SECS);
    Some(format!(
        "throttled:{}:{window}",
        pw_auth_http::ClientAddr::new(client).key()
    ))
}

/// A stored record as read back: its JSON, with the count of a gathered row.
pub(crate) fn with_count(text: &str, count: i64) -> Result<serde_json::Value, StoreError> {
    let mut v: serde_json::Value = parse(text)?;
    if count > 1
        && let Some(o) = v.as_object_mut()
    {
        o.insert("count".to_owned(), count.into());
    }
    Ok(v)
}

/// What to prune: records older than these instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneBefore {
    /// Audit records decided before this.
    pub audit: OffsetDateTime,
    /// Token records that expired or were revoked before this.
    pub tokens: OffsetDateTime,
    /// Failure budgets already whole before this.
    pub failures: OffsetDateTime,
}

/// How many records a prune deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    /// Audit records.
    pub audit: u64,
    /// Token records.
    pub tokens: u64,
    /// Failure budgets.
    pub failures: u64,
}

/// When a token stops being good: its revocation, or its expiry if sooner.
pub(crate) fn token_end(record: &TokenRecord) -> OffsetDateTime {
    let expires = record.lifetime.expires_at();
    record.revoked_at.map_or(expires, |r| r.min(expires))
}

/// Whether a failure budget was whole (nothing charged still counting) at `t`: then
/// it decides as a fresh one and may go. Wholeness does not depend on the quota.
pub(crate) fn failure_whole_at(state: LimitState, t: OffsetDateTime) -> bool {
    match pw_auth_core::Quota::new(1, 1, 1) {
        Ok(q) => pw_auth_core::check_limit(state, &q, t).0.is_allowed(),
        Err(_) => false,
    }
}

/// Unix seconds, as stored in the columns pruning reads.
pub(crate) fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// What the reference server keeps, beyond what the axum guard reads ([`AuthStore`]).
/// Every method is one transaction; an error means nothing was written.
pub trait Records: AuthStore + Clone {
    /// Whether the store holds no company yet (a fresh database).
    fn is_empty(&self) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Adds a company.
    fn add_company(
        &self,
        id: CompanyId,
        tier: Tier,
        parent: Option<CompanyId>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Adds a user, with a login (username and argon2 hash) for a person.
    fn add_user(
        &self,
        user: UserRecord,
        login: Option<(String, String)>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives `user` a grant for the linked company `company`.
    fn grant(
        &self,
        user: UserId,
        company: CompanyId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user with this username, and its password hash.
    fn login_user(
        &self,
        username: String,
    ) -> impl Future<Output = Result<Option<(UserRecord, String)>, StoreError>> + Send;

    /// Stores a token record.
    fn add_token(&self, record: TokenRecord)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Revokes a token by digest (a logout). `false` if there is no such token or it
    /// was already revoked.
    fn revoke_token(
        &self,
        digest: TokenDigest,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every token of `user` (an operator's action, e.g. after a password
    /// change). Returns how many were revoked.
    fn revoke_tokens_of(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Stores a freshly minted key's record and its api-user, together.
    fn add_key(
        &self,
        record: ApiKeyRecord,
        user: UserRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every key of `company`, oldest first.
    fn keys_of(
        &self,
        company: CompanyId,
    ) -> impl Future<Output = Result<Vec<ApiKeyRecord>, StoreError>> + Send;

    /// Revokes `company`'s key `id`: `Ok(None)` if there is no such key in that
    /// company, `Ok(Some(false))` if it was already revoked.
    fn revoke_key(
        &self,
        company: CompanyId,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<bool>, StoreError>> + Send;

    /// Deletes `company`'s key `id` and its api-user, remembering the digest so a
    /// request with the key is told "deleted". `false` if there is no such key.
    fn delete_key(
        &self,
        company: CompanyId,
        id: ApiKeyId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// How many audit records are kept.
    fn audit_count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The audit records, oldest first, as stored (JSON; a gathered row of throttled
    /// requests with its `count`).
    fn audit_records(
        &self,
    ) -> impl Future<Output = Result<Vec<serde_json::Value>, StoreError>> + Send;

    /// Deletes what is older than `before`: audit records, token records that
    /// expired or were revoked, and whole failure budgets.
    fn prune(&self, before: PruneBefore)
    -> impl Future<Output = Result<Pruned, StoreError>> + Send;
}

/// The records a server was started on: the embedded SQLite file or PostgreSQL.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Db {
    /// An embedded SQLite file.
    Sqlite(Sqlite),
    /// A PostgreSQL database.
    Postgres(Postgres),
}

/// Runs the same call on whichever store `$db` is.
macro_rules! on_either {
    ($db:expr, $s:ident => $call:expr) => {
        match $db {
            Db::Sqlite($s) => $call.await,
            Db::Postgres($s) => $call.await,
        }
    };
}

impl Records for Db {
    async fn is_empty(&self) -> Result<bool, StoreError> {
        on_either!(self, s => s.is_empty())
    }

    async fn add_company(
        &self,
        id: CompanyId,
        tier: Tier,
        parent: Option<CompanyId>,
    ) -> Result<(), StoreError> {
        on_either!(self, s => s.add_company(id, tier, parent))
    }

    async fn add_user(
        &self,
        user: UserRecord,
        login: Option<(String, String)>,
    ) -> Result<(), StoreError> {
        on_either!(self, s => s.add_user(user, login))
    }

    async fn grant(&self, user: UserId, company: CompanyId) -> Result<(), StoreError> {
        on_either!(self, s => s.grant(user, company))
    }

    async fn login_user(
        &self,
        username: String,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        on_either!(self, s => s.login_user(username))
    }

    async fn add_token(&self, record: TokenRecord) -> Result<(), StoreError> {
        on_either!(self, s => s.add_token(record))
    }

    async fn revoke_token(
        &self,
        digest: TokenDigest,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        on_either!(self, s => s.revoke_token(digest, now))
    }

    async fn revoke_tokens_of(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        on_either!(self, s => s.revoke_tokens_of(user, now))
    }

    async fn add_key(&self, record: ApiKeyRecord, user: UserRecord) -> Result<(), StoreError> {
        on_either!(self, s => s.add_key(record, user))
    }

    async fn keys_of(&self, company: CompanyId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        on_either!(self, s => s.keys_of(company))
    }

    async fn revoke_key(
        &self,
        company: CompanyId,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<Option<bool>, StoreError> {
        on_either!(self, s => s.revoke_key(company, id, now))
    }

    async fn delete_key(&self, company: CompanyId, id: ApiKeyId) -> Result<bool, StoreError> {
        on_either!(self, s => s.delete_key(company, id))
    }

    async fn audit_count(&self) -> Result<u64, StoreError> {
        on_either!(self, s => s.audit_count())
    }

    async fn audit_records(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        on_either!(self, s => s.audit_records())
    }

    async fn prune(&self, before: PruneBefore) -> Result<Pruned, StoreError> {
        on_either!(self, s => s.prune(before))
    }
}

impl AuthStore for Db {
    async fn load(&self, digest: &CredentialDigest) -> Result<Loaded, StoreError> {
        on_either!(self, s => s.load(digest))
    }

    async fn company(&self, id: &CompanyId) -> Result<Option<CompanyInfo>, StoreError> {
        on_either!(self, s => s.company(id))
    }

    async fn with_budget<R, F>(&self, company: &CompanyId, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState) -> R + Send + 'static,
    {
        on_either!(self, s => s.with_budget(company, f))
    }

    async fn with_failures<R, F>(&self, keys: Vec<String>, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static,
    {
        on_either!(self, s => s.with_failures(keys, f))
    }

    async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        on_either!(self, s => s.audit(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_from_the_version_found() {
        let steps = ["one;", "two;", "three;"];
        assert_eq!(migrations_from(0, steps).unwrap(), "one;two;three;");
        assert_eq!(migrations_from(1, steps).unwrap(), "two;three;");
        assert_eq!(migrations_from(2, steps).unwrap(), "three;");
        assert_eq!(migrations_from(SCHEMA_VERSION, steps).unwrap(), "");
        for newer_or_broken in [4, 99, -1] {
            let e = migrations_from(newer_or_broken, steps).unwrap_err();
            assert!(
                e.to_string()
                    .contains(&format!("schema version {newer_or_broken}")),
                "{e}"
            );
        }
    }
}
