//! The records on an embedded SQLite file: created and migrated on first open,
//! schema versioned (`PRAGMA user_version`). No set-up: the default store.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use pw_auth_axum::{AuthStore, CompanyInfo, Loaded, Record, StoreError, StoreErrorKind};
use pw_auth_core::{
    ApiKeyId, ApiKeyRecord, AuditRecord, CompanyId, CredentialDigest, LimitState, Tier,
    TokenDigest, TokenRecord, UserId, UserRecord,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    PruneBefore, Pruned, Records, SCHEMA_VERSION, aggregate_key, digest_text, err,
    failure_whole_at, json, lookup_of, migrations_from, parse, token_end, unix, with_count,
};

const MIGRATION_1: &str = "
CREATE TABLE companies (id TEXT PRIMARY KEY, tier TEXT NOT NULL, parent TEXT);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    username TEXT UNIQUE,
    password_hash TEXT
);
CREATE TABLE api_keys (
    digest TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    company TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE deleted_keys (digest TEXT PRIMARY KEY);
CREATE TABLE tokens (
    digest TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    user TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE grants (user TEXT NOT NULL, company TEXT NOT NULL, PRIMARY KEY (user, company));
CREATE TABLE budgets (company TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL);
";

/// Failure budgets for the throttle on failed logins and authentications, by key: a
/// digest of the username tried (never the username itself, which sometimes holds a
/// password typed in the wrong field), or the client's address.
const MIGRATION_2: &str = "
CREATE TABLE failures (key TEXT PRIMARY KEY, state TEXT NOT NULL);
";

/// Schema version 3: what pruning and gathering read. Each audit record's time (Unix
/// seconds; rows from before this version have none and are kept), the row a
/// throttled client's refusals in one window are gathered into, and how many it
/// stands for.
const MIGRATION_3: &str = "
ALTER TABLE audit ADD COLUMN time INTEGER;
ALTER TABLE audit ADD COLUMN aggregate TEXT;
ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX audit_aggregate ON audit (aggregate);
CREATE INDEX audit_time ON audit (time);
";

/// How long a statement waits for a lock held elsewhere before it fails (and the
/// request is answered 503).
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// The one text column of the row `sql` selects, if there is a row.
fn text_row(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<String>, StoreError> {
    c.query_row(sql, params, |r| r.get(0))
        .optional()
        .map_err(err)
}

/// `company`'s key `id`: its digest text and its record.
fn key_row(
    c: &Connection,
    company: &CompanyId,
    id: &ApiKeyId,
) -> Result<Option<(String, ApiKeyRecord)>, StoreError> {
    let row: Option<(String, String)> = c
        .query_row(
            "SELECT digest, record FROM api_keys WHERE id = ?1 AND company = ?2",
            params![id.as_str(), company.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(err)?;
    row.map(|(digest, record)| Ok((digest, parse(&record)?)))
        .transpose()
}

/// `path` with `suffix` appended (`db.sqlite` → `db.sqlite-wal`).
fn sidecar(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// Refuses a database whose directory or file group or others may write; creates a
/// missing file with mode 0600 and narrows an existing one to it.
fn private_file(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let dir_mode = std::fs::metadata(&dir).map_err(err)?.permissions().mode();
    if dir_mode & 0o022 != 0 {
        return Err(StoreError::new(
            StoreErrorKind::Unavailable,
            format!(
                "the database's directory {} is writable by group or others (mode {:o}): another user could replace its files",
                dir.display(),
                dir_mode & 0o7777
            ),
        ));
    }
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode();
            if mode & 0o022 != 0 {
                return Err(StoreError::new(
                    StoreErrorKind::Unavailable,
                    format!(
                        "the database file {} is writable by group or others (mode {:o})",
                        path.display(),
                        mode & 0o7777
                    ),
                ));
            }
            narrow(path)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map(drop)
            .map_err(err),
        Err(e) => Err(err(e)),
    }
}

/// Narrows an existing file to mode 0600 (nothing if it is missing).
fn narrow(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(e)),
    }
}

/// Runs `f` with `synchronous = FULL`: its commit is on disk before it returns, so a
/// client told "done" is never told wrong by a power failure. (In WAL mode that sync
/// also makes every earlier commit durable.)
fn durable<R>(
    c: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    c.pragma_update(None, "synchronous", "FULL").map_err(err)?;
    let result = f(c);
    let back = c.pragma_update(None, "synchronous", "NORMAL").map_err(err);
    let r = result?;
    back?;
    Ok(r)
}

/// The records on an embedded SQLite file. Cheap to clone; every call runs on a
/// blocking thread.
#[derive(Clone, Debug)]
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

impl Sqlite {
    /// Opens (creating and migrating if needed) the database at `path`. The file is
    /// created readable and writable by its owner only (0600; SQLite gives its `-wal`
    /// and `-shm` files the same mode), an existing one is narrowed to that, and a
    /// file or directory that group or others may write is refused: they hold
    /// password hashes, key digests and the audit log.
    pub fn open(path: &Path) -> Result<Sqlite, StoreError> {
        private_file(path)?;
        let conn = Connection::open(path).map_err(err)?;
        for suffix in ["-wal", "-shm"] {
            narrow(&sidecar(path, suffix))?;
        }
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        // WAL: readers never wait for the writer, and a commit appends to the log
        // instead of rewriting pages. With synchronous=NORMAL a commit survives a crash
        // of the process; only a power failure may lose the last ones — except the
        // writes a client is told are done for good (a key made, revoked or deleted, a
        // logout), which commit with synchronous=FULL (`durable`; docs/server.md).
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        for suffix in ["-wal", "-shm"] {
            narrow(&sidecar(path, suffix))?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        let steps = migrations_from(version, [MIGRATION_1, MIGRATION_2, MIGRATION_3])?;
        if !steps.is_empty() {
            conn.execute_batch(&format!(
                "BEGIN; {steps} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(err)?;
        }
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
        conn.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn run<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || f(&mut Self::lock(&conn)))
            .await
            .map_err(err)?
    }
}

impl Records for Sqlite {
    /// Whether the database holds no company yet (a fresh file).
    async fn is_empty(&self) -> Result<bool, StoreError> {
        self.run(|c| {
            let n: i64 = c
                .query_row("SELECT COUNT(*) FROM companies", [], |r| r.get(0))
                .map_err(err)?;
            Ok(n == 0)
        })
        .await
    }

    /// Adds a company.
    async fn add_company(
        &self,
        id: CompanyId,
        tier: Tier,
        parent: Option<CompanyId>,
    ) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO companies (id, tier, parent) VALUES (?1, ?2, ?3)",
                params![
                    id.as_str(),
                    tier.as_str(),
                    parent.as_ref().map(CompanyId::as_str)
                ],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    /// Adds a user, with a login (username and argon2 hash) for a person.
    async fn add_user(
        &self,
        user: UserRecord,
        login: Option<(String, String)>,
    ) -> Result<(), StoreError> {
        self.run(move |c| {
            let (username, hash) = login.unzip();
            c.execute(
                "INSERT INTO users (id, record, username, password_hash) VALUES (?1, ?2, ?3, ?4)",
                params![user.id.as_str(), json(&user)?, username, hash],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    /// Gives `user` a grant for the linked company `company`.
    async fn grant(&self, user: UserId, company: CompanyId) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO grants (user, company) VALUES (?1, ?2)",
                params![user.as_str(), company.as_str()],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    /// The user with this username, and its password hash.
    async fn login_user(
        &self,
        username: String,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        self.run(move |c| {
            let row: Option<(String, Option<String>)> = c
                .query_row(
                    "SELECT record, password_hash FROM users WHERE username = ?1",
                    params![username],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(err)?;
            match row {
                Some((record, Some(hash))) => Ok(Some((parse(&record)?, hash))),
                _ => Ok(None),
            }
        })
        .await
    }

    /// Stores a token record.
    async fn add_token(&self, record: TokenRecord) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO tokens (digest, id, user, record) VALUES (?1, ?2, ?3, ?4)",
                params![
                    digest_text(&record.digest)?,
                    record.id.as_str(),
                    record.user.as_str(),
                    json(&record)?
                ],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    /// Revokes a token by digest (a logout). `false` if there is no such token or it
    /// was already revoked.
    async fn revoke_token(
        &self,
        digest: TokenDigest,
        now: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.run(move |c| {
            durable(c, |c| {
                let tx = c.transaction().map_err(err)?;
                let key = digest_text(&digest)?;
                let record = text_row(
                    &tx,
                    "SELECT record FROM tokens WHERE digest = ?1",
                    params![key],
                )?;
                let Some(record) = record else {
                    return Ok(false);
                };
                let mut record: TokenRecord = parse(&record)?;
                if record.revoke(now).is_err() {
                    return Ok(false);
                }
                tx.execute(
                    "UPDATE tokens SET record = ?2 WHERE digest = ?1",
                    params![key, json(&record)?],
                )
                .map_err(err)?;
                tx.commit().map_err(err)?;
                Ok(true)
            })
        })
        .await
    }

    /// Revokes every token of `user` (an operator's action, e.g. after a password
    /// change). Returns how many were revoked.
    async fn revoke_tokens_of(
        &self,
        user: UserId,
        now: time::OffsetDateTime,
    ) -> Result<usize, StoreError> {
        self.run(move |c| {
            durable(c, |c| {
                let tx = c.transaction().map_err(err)?;
                let rows: Vec<(String, String)> = {
                    let mut q = tx
                        .prepare("SELECT digest, record FROM tokens WHERE user = ?1")
                        .map_err(err)?;
                    let rows = q
                        .query_map(params![user.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                        .map_err(err)?;
                    rows.collect::<Result<_, _>>().map_err(err)?
                };
                let mut n = 0usize;
                for (digest, record) in rows {
                    let mut record: TokenRecord = parse(&record)?;
                    if record.revoke(now).is_ok() {
                        tx.execute(
                            "UPDATE tokens SET record = ?2 WHERE digest = ?1",
                            params![digest, json(&record)?],
                        )
                        .map_err(err)?;
                        n = n.saturating_add(1);
                    }
                }
                tx.commit().map_err(err)?;
                Ok(n)
            })
        })
        .await
    }

    /// Stores a freshly minted key's record and its api-user, together.
    async fn add_key(&self, record: ApiKeyRecord, user: UserRecord) -> Result<(), StoreError> {
        self.run(move |c| {
            durable(c, |c| {
                let tx = c.transaction().map_err(err)?;
                tx.execute(
                    "INSERT INTO users (id, record) VALUES (?1, ?2)",
                    params![user.id.as_str(), json(&user)?],
                )
                .map_err(err)?;
                tx.execute(
                    "INSERT INTO api_keys (digest, id, company, record) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        digest_text(&record.digest)?,
                        record.id.as_str(),
                        record.company.as_str(),
                        json(&record)?
                    ],
                )
                .map_err(err)?;
                tx.commit().map_err(err)?;
                Ok(())
            })
        })
        .await
    }

    /// Every key of `company`, oldest first.
    async fn keys_of(&self, company: CompanyId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.run(move |c| {
            let mut q = c
                .prepare("SELECT record FROM api_keys WHERE company = ?1 ORDER BY rowid")
                .map_err(err)?;
            let rows = q
                .query_map(params![company.as_str()], |r| r.get::<_, String>(0))
                .map_err(err)?;
            rows.map(|r| r.map_err(err).and_then(|s| parse(&s)))
                .collect()
        })
        .await
    }

    /// Revokes `company`'s key `id`: `Ok(None)` if there is no such key in that
    /// company, `Ok(Some(false))` if it was already revoked.
    async fn revoke_key(
        &self,
        company: CompanyId,
        id: ApiKeyId,
        now: time::OffsetDateTime,
    ) -> Result<Option<bool>, StoreError> {
        self.run(move |c| {
            durable(c, |c| {
                let tx = c.transaction().map_err(err)?;
                let Some((digest, mut record)) = key_row(&tx, &company, &id)? else {
                    return Ok(None);
                };
                if record.revoke(now).is_err() {
                    return Ok(Some(false));
                }
                tx.execute(
                    "UPDATE api_keys SET record = ?2 WHERE digest = ?1",
                    params![digest, json(&record)?],
                )
                .map_err(err)?;
                tx.commit().map_err(err)?;
                Ok(Some(true))
            })
        })
        .await
    }

    /// Deletes `company`'s key `id` and its api-user, remembering the digest so a
    /// request with the key is told "deleted". `false` if there is no such key.
    async fn delete_key(&self, company: CompanyId, id: ApiKeyId) -> Result<bool, StoreError> {
        self.run(move |c| {
            durable(c, |c| {
                let tx = c.transaction().map_err(err)?;
                let Some((digest, record)) = key_row(&tx, &company, &id)? else {
                    return Ok(false);
                };
                tx.execute("DELETE FROM api_keys WHERE digest = ?1", params![digest])
                    .map_err(err)?;
                tx.execute(
                    "DELETE FROM users WHERE id = ?1",
                    params![record.user.as_str()],
                )
                .map_err(err)?;
                tx.execute(
                    "INSERT OR IGNORE INTO deleted_keys (digest) VALUES (?1)",
                    params![digest],
                )
                .map_err(err)?;
                tx.commit().map_err(err)?;
                Ok(true)
            })
        })
        .await
    }

    /// How many audit records are kept.
    async fn audit_count(&self) -> Result<u64, StoreError> {
        self.run(|c| {
            let n: i64 = c
                .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
                .map_err(err)?;
            u64::try_from(n).map_err(err)
        })
        .await
    }

    /// The audit records, oldest first, as stored (JSON).
    async fn audit_records(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        self.run(|c| {
            let mut q = c
                .prepare("SELECT record, count FROM audit ORDER BY seq")
                .map_err(err)?;
            let rows = q
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(err)?;
            rows.map(|r| r.map_err(err).and_then(|(s, n)| with_count(&s, n)))
                .collect()
        })
        .await
    }

    async fn prune(&self, before: PruneBefore) -> Result<Pruned, StoreError> {
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(err)?;
            let audit = tx
                .execute(
                    "DELETE FROM audit WHERE time < ?1",
                    params![unix(before.audit)],
                )
                .map_err(err)?;
            let mut tokens = 0u64;
            let mut failures = 0u64;
            {
                let rows: Vec<(String, String)> = {
                    let mut q = tx
                        .prepare("SELECT digest, record FROM tokens")
                        .map_err(err)?;
                    let rows = q
                        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                        .map_err(err)?;
                    rows.collect::<Result<_, _>>().map_err(err)?
                };
                for (digest, record) in rows {
                    let record: TokenRecord = parse(&record)?;
                    if token_end(&record) < before.tokens {
                        tx.execute("DELETE FROM tokens WHERE digest = ?1", params![digest])
                            .map_err(err)?;
                        tokens = tokens.saturating_add(1);
                    }
                }
                let rows: Vec<(String, String)> = {
                    let mut q = tx.prepare("SELECT key, state FROM failures").map_err(err)?;
                    let rows = q
                        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                        .map_err(err)?;
                    rows.collect::<Result<_, _>>().map_err(err)?
                };
                for (key, state) in rows {
                    if failure_whole_at(parse(&state)?, before.failures) {
                        tx.execute("DELETE FROM failures WHERE key = ?1", params![key])
                            .map_err(err)?;
                        failures = failures.saturating_add(1);
                    }
                }
            }
            tx.commit().map_err(err)?;
            Ok(Pruned {
                audit: u64::try_from(audit).unwrap_or(u64::MAX),
                tokens,
                failures,
            })
        })
        .await
    }
}

fn load_user(c: &Connection, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
    let record = text_row(
        c,
        "SELECT record FROM users WHERE id = ?1",
        params![id.as_str()],
    )?;
    record.map(|r| parse(&r)).transpose()
}

fn load_grants(c: &Connection, id: &UserId) -> Result<Vec<CompanyId>, StoreError> {
    let mut q = c
        .prepare("SELECT company FROM grants WHERE user = ?1 ORDER BY company")
        .map_err(err)?;
    let rows = q
        .query_map(params![id.as_str()], |r| r.get::<_, String>(0))
        .map_err(err)?;
    rows.map(|r| r.map_err(err).and_then(|s| CompanyId::new(&s).map_err(err)))
        .collect()
}

impl AuthStore for Sqlite {
    async fn load(&self, digest: &CredentialDigest) -> Result<Loaded, StoreError> {
        let lookup = lookup_of(digest)?;
        self.run(move |c| {
            let tx = c.transaction().map_err(err)?;
            let mut loaded = Loaded::default();
            let user = match lookup {
                Ok(key) => {
                    let record = text_row(
                        &tx,
                        "SELECT record FROM api_keys WHERE digest = ?1",
                        params![key],
                    )?;
                    match record {
                        Some(r) => {
                            let r: ApiKeyRecord = parse(&r)?;
                            let user = r.user.clone();
                            loaded.key = Record::Found(r);
                            Some(user)
                        }
                        None => {
                            let deleted = text_row(
                                &tx,
                                "SELECT digest FROM deleted_keys WHERE digest = ?1",
                                params![key],
                            )?;
                            if deleted.is_some() {
                                loaded.key = Record::Deleted;
                            }
                            None
                        }
                    }
                }
                Err(key) => {
                    let record = text_row(
                        &tx,
                        "SELECT record FROM tokens WHERE digest = ?1",
                        params![key],
                    )?;
                    match record {
                        Some(r) => {
                            let r: TokenRecord = parse(&r)?;
                            let user = r.user.clone();
                            loaded.token = Record::Found(r);
                            Some(user)
                        }
                        None => None,
                    }
                }
            };
            if let Some(user) = user {
                loaded.user = load_user(&tx, &user)?;
                loaded.grants = load_grants(&tx, &user)?;
            }
            tx.commit().map_err(err)?;
            Ok(loaded)
        })
        .await
    }

    async fn company(&self, id: &CompanyId) -> Result<Option<CompanyInfo>, StoreError> {
        let id = id.clone();
        self.run(move |c| {
            let row: Option<(String, Option<String>)> = c
                .query_row(
                    "SELECT tier, parent FROM companies WHERE id = ?1",
                    params![id.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(err)?;
            row.map(|(tier, parent)| {
                Ok(CompanyInfo {
                    tier: tier.parse().map_err(err)?,
                    parent: parent
                        .map(|p| CompanyId::new(&p).map_err(err))
                        .transpose()?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn with_budget<R, F>(&self, company: &CompanyId, mut f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState) -> R + Send + 'static,
    {
        let company = company.clone();
        self.run(move |c| {
            // IMMEDIATE: the write lock is taken before the read, so two servers on
            // one file can never both spend the same budget.
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(err)?;
            let stored = text_row(
                &tx,
                "SELECT state FROM budgets WHERE company = ?1",
                params![company.as_str()],
            )?;
            let mut state: LimitState = match stored {
                Some(s) => parse(&s)?,
                None => LimitState::default(),
            };
            let before = state;
            let result = f(&mut state);
            if state != before {
                tx.execute(
                    "INSERT INTO budgets (company, state) VALUES (?1, ?2)
                     ON CONFLICT (company) DO UPDATE SET state = excluded.state",
                    params![company.as_str(), json(&state)?],
                )
                .map_err(err)?;
            }
            tx.commit().map_err(err)?;
            Ok(result)
        })
        .await
    }

    async fn with_failures<R, F>(&self, keys: Vec<String>, mut f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static,
    {
        self.run(move |c| {
            // IMMEDIATE: the write lock is taken before the read, so the check and the
            // charge are one step for every server on the file.
            let tx = c
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(err)?;
            let mut states = keys
                .iter()
                .map(|key| {
                    match text_row(
                        &tx,
                        "SELECT state FROM failures WHERE key = ?1",
                        params![key],
                    )? {
                        Some(s) => parse(&s),
                        None => Ok(LimitState::default()),
                    }
                })
                .collect::<Result<Vec<LimitState>, StoreError>>()?;
            let before = states.clone();
            let result = f(&mut states);
            for ((key, state), old) in keys.iter().zip(&states).zip(&before) {
                if state != old {
                    tx.execute(
                        "INSERT INTO failures (key, state) VALUES (?1, ?2)
                         ON CONFLICT (key) DO UPDATE SET state = excluded.state",
                        params![key, json(state)?],
                    )
                    .map_err(err)?;
                }
            }
            tx.commit().map_err(err)?;
            Ok(result)
        })
        .await
    }

    async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let text = json(record)?;
        let time = unix(record.time);
        let aggregate = aggregate_key(record);
        self.run(move |c| {
            // A throttled client's refusals in one window are one row, counted.
            c.execute(
                "INSERT INTO audit (record, time, aggregate) VALUES (?1, ?2, ?3)
                 ON CONFLICT (aggregate) DO UPDATE SET count = count + 1",
                params![text, time, aggregate],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_database_is_in_wal_mode_and_migrated() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pw-auth-db-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = dir.join("records.sqlite");
        let db = Sqlite::open(&path).unwrap();
        let (mode, version): (String, i64) = db
            .run(|c| {
                let mode = c
                    .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                    .map_err(err)?;
                let version = c
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(err)?;
                Ok((mode, version))
            })
            .await
            .unwrap();
        assert_eq!((mode.as_str(), version), ("wal", SCHEMA_VERSION));
        drop(db);
        // Reopening a migrated file keeps it; a newer schema is refused.
        let db = Sqlite::open(&path).unwrap();
        db.run(|c| c.execute_batch("PRAGMA user_version = 99").map_err(err))
            .await
            .unwrap();
        drop(db);
        let e = Sqlite::open(&path).unwrap_err();
        assert!(e.to_string().contains("schema version 99"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
