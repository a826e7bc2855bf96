//! The server's records ([`Db`]) on an embedded SQLite file (the default, no set-up)
//! or on PostgreSQL (for several servers sharing one set of records), chosen once when
//! opened. Both run the same migrations (schema versions 1 to 3), store every record as
//! the core's own serde form keyed by its digest or id, and never store a secret.
//!
//! Laid out so the two cannot drift: each transaction's algorithm is written once
//! (`records`), against an open transaction on either backend (`sql::Tx`) and
//! statements that give both dialects' text side by side (`statements`); a backend
//! (`sqlite`, `postgres`) only connects, migrates, and opens and commits a transaction
//! of the kind asked for (`sql::Mode`).

mod batch;
mod cause;
mod checkpoint;
mod local;
mod postgres;
mod records;
mod shared;
pub use records::{Assigned, LoginUpdated, RoleDeleted};
pub(crate) mod sql;
mod sqlite;
mod statements;

use std::path::Path;
use std::sync::Arc;

use pw_auth_axum::{StoreError, StoreErrorKind};
use pw_auth_core::{AuditRecord, CompanyId, CredentialDigest, LimitState, TokenRecord};
use time::OffsetDateTime;

use batch::AuditLog;
pub use batch::AuditSync;
pub(crate) use batch::gather;
use local::{Budgets, Owner, ReadCache};
use postgres::Postgres;
use shared::SharedCache;
use sql::{Mode, Tx, TxFuture};
use sqlite::Sqlite;

/// The schema both stores write and read.
pub const SCHEMA_VERSION: i64 = 7;

/// The migrations that take a database at `version` to [`SCHEMA_VERSION`], given the
/// store's own text of each (`steps[0]` makes version 1, `steps[1]` version 2, …), as
/// one batch; a database from a newer version is refused.
pub(crate) fn migrations_from(version: i64, steps: [&str; 7]) -> Result<String, StoreError> {
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

/// A stored value this version cannot read: `what` says which.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, format!("{what} is out of range"))
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

/// Which audit records [`Db::audit_page`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// The company whose log it is: records of requests that acted in it, or that
    /// its people made.
    pub company: CompanyId,
    /// Only records older than this cursor (from [`AuditPage::next`]).
    pub before: Option<i64>,
    /// Only records decided at or after this.
    pub since: Option<OffsetDateTime>,
    /// Only records decided before this.
    pub until: Option<OffsetDateTime>,
    /// Only records whose reason is of this kind (`AuditReason::kind`).
    pub kind: Option<String>,
    /// Only the record of this decision.
    pub decision_id: Option<String>,
    /// At most this many.
    pub limit: usize,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    /// The records, as JSON (each with its `count` when it stands for several).
    pub records: Vec<serde_json::Value>,
    /// The cursor of the next page (older records), if there may be one.
    pub next: Option<i64>,
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

/// The records a server was started on: an embedded SQLite file or PostgreSQL, chosen
/// once when opened. Cheap to clone. Its operations (`add_company`, `revoke_key`, …,
/// and the guard's [`pw_auth_axum::AuthStore`]) are each one transaction, written once for both
/// backends (`db/records.rs`).
///
/// The audit log is written by group commit (`db/batch.rs`): each request waits for the
/// commit that holds its record, which it shares with the requests queued meanwhile.
/// On SQLite the server is the file's only writer (a second server on it is refused),
/// so it also keeps in memory what it read and each company's budget (`db/local.rs`),
/// exactly: every transaction that may change a record empties what it read before
/// its caller hears it is done. On PostgreSQL with a Redis told of every change
/// ([`Db::with_records_generation`]), it keeps what it read too, checked against a
/// generation in Redis at every use (`db/shared.rs`).
#[derive(Clone, Debug)]
pub struct Db {
    backend: Backend,
    audit: AuditLog,
    /// What this server keeps in memory, if anything.
    memory: Option<Arc<Memory>>,
}

/// What a server keeps in memory: on a SQLite file, whose only writer it is; or on
/// PostgreSQL, when Redis carries the records' generation.
#[derive(Debug)]
enum Memory {
    Local(Local),
    Shared(Shared),
}

/// What a server on PostgreSQL keeps when Redis carries the records' generation.
struct Shared {
    cache: SharedCache,
    redis: crate::RedisLimits,
    /// What the age of what was read is measured by.
    clock: Arc<pw_auth_http::Clock>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("cache", &self.cache)
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}

/// What a server on a SQLite file keeps in memory (`db/local.rs`).
#[derive(Debug)]
struct Local {
    cache: ReadCache,
    budgets: Arc<Budgets>,
    _owner: Owner,
}

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

impl Backend {
    async fn transaction<R, F>(&self, mode: Mode, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, R> + Send + 'static,
    {
        match self {
            Backend::Sqlite(s) => s.transaction(mode, f).await,
            Backend::Postgres(p) => p.transaction(mode, f).await,
        }
    }

    /// [`Backend::transaction`] for the audit writer, on its own thread and runtime
    /// (`db/batch.rs`): SQLite's blocks that thread; PostgreSQL's runs on the writer's
    /// own connection, which its runtime alone drives.
    pub(crate) async fn audit_transaction<R, F>(&self, mode: Mode, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, R> + Send + 'static,
    {
        match self {
            Backend::Sqlite(s) => s.transaction_here(mode, f),
            Backend::Postgres(p) => p.audit_transaction(mode, f).await,
        }
    }
}

impl Db {
    /// Opens (creating and migrating if needed) the SQLite database at `path`, its
    /// audit log committed as `sync` says. The file is created readable and writable by
    /// its owner only (0600; SQLite gives its `-wal` and `-shm` files the same mode), an
    /// existing one is narrowed to that, and a file or directory that group or others
    /// may write is refused: they hold password hashes, key digests and the audit log.
    /// A file another server (or another `Db` of this process) has open is refused:
    /// the server keeps budgets and what it read in memory, exact only while it is
    /// the file's one writer.
    pub fn open_sqlite(path: &Path, sync: AuditSync) -> Result<Db, StoreError> {
        let sqlite = Sqlite::open(path)?;
        let owner = Owner::take(path)?;
        let budgets = Arc::new(Budgets::default());
        let backend = Backend::Sqlite(sqlite);
        Ok(Db {
            audit: AuditLog::start(backend.clone(), Some(Arc::clone(&budgets)), sync)?,
            backend,
            memory: Some(Arc::new(Memory::Local(Local {
                cache: ReadCache::default(),
                budgets,
                _owner: owner,
            }))),
        })
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host:port/db`,
    /// or key=value pairs) and migrates it to [`SCHEMA_VERSION`] (under an advisory
    /// lock, so servers starting together migrate once). With `sslmode=require` the
    /// connection is TLS, its certificate verified against the CA certificates of the
    /// PEM file `ca` when given, else the system's roots (chain and host name).
    pub async fn connect_postgres(url: &str, ca: Option<&Path>) -> Result<Db, StoreError> {
        let backend = Backend::Postgres(Postgres::connect_with_ca(url, ca).await?);
        Ok(Db {
            audit: AuditLog::start(backend.clone(), None, AuditSync::Full)?,
            backend,
            memory: None,
        })
    }

    /// These records, telling every other server of each change through the records'
    /// generation on `redis`, and keeping what they read, used only while the
    /// generation is the one it was read under and for at most a second by `clock`
    /// (`db/shared.rs`): a change made through any server told so is read by the next
    /// request on every server; one made where Redis is not told (the `admin` command
    /// without `--redis`), within a second. For PostgreSQL; a SQLite file, whose
    /// server is its only writer, already keeps what it reads, and is returned as it
    /// is.
    pub fn with_records_generation(
        mut self,
        redis: &crate::RedisLimits,
        clock: Arc<pw_auth_http::Clock>,
    ) -> Db {
        if matches!(self.backend, Backend::Postgres(_)) {
            self.memory = Some(Arc::new(Memory::Shared(Shared {
                cache: SharedCache::default(),
                redis: redis.clone(),
                clock,
            })));
        }
        self
    }

    /// What a SQLite file's server keeps.
    fn local(&self) -> Option<&Local> {
        match self.memory.as_deref() {
            Some(Memory::Local(local)) => Some(local),
            _ => None,
        }
    }

    /// What a server on PostgreSQL keeps with Redis's generation.
    fn shared(&self) -> Option<&Shared> {
        match self.memory.as_deref() {
            Some(Memory::Shared(shared)) => Some(shared),
            _ => None,
        }
    }

    /// Runs `f` in a transaction of `mode` on whichever backend this is: committed if
    /// it returns `Ok`, nothing of it kept otherwise. Whatever it did, the records
    /// read and kept in memory are forgotten before this returns: a transaction may
    /// change any of them.
    pub(crate) async fn transaction<R, F>(&self, mode: Mode, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, R> + Send + 'static,
    {
        let result = self.backend.transaction(mode, f).await;
        if let Some(local) = self.local() {
            local.cache.invalidate();
        }
        if let Some(shared) = self.shared() {
            shared.cache.clear();
            if result.is_ok() {
                // Every server is told before the caller hears it is done. If Redis
                // cannot be told, the change is committed but the others may use
                // what they read before it for up to a second: the caller hears of
                // the failure rather than of a change in force everywhere.
                let [b0, b1, b2, b3, b4, b5, b6, ..] = crate::config::os_random().map_err(|e| {
                    StoreError::new(StoreErrorKind::Internal, "no random bytes").caused_by(e)
                })?;
                // 56 random bits: room to count up from.
                let start = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, 0]);
                shared
                    .redis
                    .bump_records_generation(start)
                    .await
                    .map_err(|e| {
                        StoreError::new(
                            e.kind(),
                            "the change is committed, but the other servers could not be told",
                        )
                        .caused_by(e)
                    })?;
            }
        }
        result
    }

    /// [`Db::transaction`] for one that changes no record kept in memory: it reads
    /// only, or writes only the failure budgets.
    pub(crate) async fn transaction_uncached<R, F>(&self, mode: Mode, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, R> + Send + 'static,
    {
        self.backend.transaction(mode, f).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_from_the_version_found() {
        let steps = ["one;", "two;", "three;", "four;", "five;", "six;", "seven;"];
        assert_eq!(
            migrations_from(0, steps).unwrap(),
            "one;two;three;four;five;six;seven;"
        );
        assert_eq!(
            migrations_from(1, steps).unwrap(),
            "two;three;four;five;six;seven;"
        );
        assert_eq!(migrations_from(6, steps).unwrap(), "seven;");
        assert_eq!(migrations_from(SCHEMA_VERSION, steps).unwrap(), "");
        for newer_or_broken in [8, 99, -1] {
            let e = migrations_from(newer_or_broken, steps).unwrap_err();
            assert!(
                e.to_string()
                    .contains(&format!("schema version {newer_or_broken}")),
                "{e}"
            );
        }
    }
}
