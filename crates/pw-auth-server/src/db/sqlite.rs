//! The records on an embedded SQLite file: created and migrated on first open,
//! schema versioned (`PRAGMA user_version`). No set-up: the default store.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pw_auth_axum::{StoreError, StoreErrorKind};
use rusqlite::Connection;

use super::checkpoint::{BACKSTOP_PAGES, Checkpointer};
use super::sql::{Mode, Tx, TxFuture};
use super::{SCHEMA_VERSION, err, migrations_from};

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

/// Schema version 4: what the audit log's read route filters by, beside each record:
/// the company it acted in, the principal's own company when it acted in another,
/// the reason's kind and the decision's id (filled in from the records already
/// there). A decision id is looked up within its second (the id holds its time), by
/// the time index: one index less to write a record.
const MIGRATION_4: &str = "
ALTER TABLE audit ADD COLUMN company TEXT;
ALTER TABLE audit ADD COLUMN principal_company TEXT;
ALTER TABLE audit ADD COLUMN kind TEXT;
ALTER TABLE audit ADD COLUMN decision_id TEXT;
UPDATE audit SET company = json_extract(record, '$.company'),
    principal_company = NULLIF(json_extract(record, '$.principal.company'),
        json_extract(record, '$.company')),
    kind = json_extract(record, '$.reason.kind'),
    decision_id = json_extract(record, '$.decision_id');
CREATE INDEX audit_company ON audit (company, seq);
CREATE INDEX audit_principal_company ON audit (principal_company, seq)
    WHERE principal_company IS NOT NULL;
";

/// Schema version 5: when each API key was last used, the start of its minute in
/// Unix seconds (written behind, at most once a minute per key; `NULL`: never), and
/// when each grant ends (Unix seconds; `NULL`: never).
const MIGRATION_5: &str = "
ALTER TABLE api_keys ADD COLUMN last_used INTEGER;
ALTER TABLE grants ADD COLUMN expires_at INTEGER;
";

/// Schema version 6: each API key's own usage budget, for keys minted with a quota of
/// their own (charged together with their company's).
const MIGRATION_6: &str = "
CREATE TABLE key_budgets (key_id TEXT PRIMARY KEY, state TEXT NOT NULL);
";

/// Schema version 7: each company's own custom roles (the role manager's), by company
/// and name, each its definition as JSON (`{"name", "view", "edit"}`).
const MIGRATION_7: &str = "
CREATE TABLE custom_roles (
    company TEXT NOT NULL,
    name TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (company, name)
);
";

/// How long a statement waits for a lock held elsewhere before it fails (and the
/// request is answered 503).
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// `path` with `suffix` appended (`db.sqlite` → `db.sqlite-wal`).
pub(crate) fn sidecar(path: &Path, suffix: &str) -> std::path::PathBuf {
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

/// The records on an embedded SQLite file. Cheap to clone; every transaction runs on a
/// blocking thread. Its WAL is checkpointed by a thread of its own
/// ([`super::checkpoint`]).
#[derive(Clone, Debug)]
pub(crate) struct Sqlite {
    conn: Arc<Mutex<Connection>>,
    checkpointer: Checkpointer,
}

impl Sqlite {
    /// Opens (creating and migrating if needed) the database at `path`. The file is
    /// created readable and writable by its owner only (0600; SQLite gives its `-wal`
    /// and `-shm` files the same mode), an existing one is narrowed to that, and a
    /// file or directory that group or others may write is refused: they hold
    /// password hashes, key digests and the audit log.
    pub(crate) fn open(path: &Path) -> Result<Sqlite, StoreError> {
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
        // logout), which commit with synchronous=FULL (`Mode::Durable`; docs/server.md).
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        for suffix in ["-wal", "-shm"] {
            narrow(&sidecar(path, suffix))?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        // The checkpointer thread checkpoints; this connection only if it falls behind.
        conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)
            .map_err(err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        let steps = migrations_from(
            version,
            [
                MIGRATION_1,
                MIGRATION_2,
                MIGRATION_3,
                MIGRATION_4,
                MIGRATION_5,
                MIGRATION_6,
                MIGRATION_7,
            ],
        )?;
        if !steps.is_empty() {
            conn.execute_batch(&format!(
                "BEGIN; {steps} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(err)?;
        }
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
            checkpointer: Checkpointer::start(path)?,
        })
    }

    fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
        conn.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` in a transaction of `mode` on a blocking thread: committed if it
    /// returns `Ok`, rolled back otherwise.
    pub(crate) async fn transaction<R, F>(&self, mode: Mode, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, R> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.transaction_here(mode, f))
            .await
            .map_err(err)?
    }

    /// [`Sqlite::transaction`] on the calling thread, which may block (the audit
    /// writer's own).
    pub(crate) fn transaction_here<R, F>(&self, mode: Mode, f: F) -> Result<R, StoreError>
    where
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, R>,
    {
        let mut conn = Self::lock(&self.conn);
        let before = conn.total_changes();
        let result = in_transaction(&mut conn, mode, f);
        // Rows were written (and committed, or rolled back: a checkpoint of nothing
        // costs little): the checkpointer copies them within its interval.
        if conn.total_changes() != before {
            self.checkpointer.nudge();
        }
        result
    }
}

/// What begins a transaction of `mode` (`None`: the statements commit on their own).
fn begin(mode: Mode) -> Option<&'static str> {
    match mode {
        Mode::Single => None,
        // IMMEDIATE: the write lock is taken before the first read, so what a
        // transaction reads stays true until it commits, even against another
        // connection to the file (one key is never revoked twice).
        Mode::Write | Mode::Durable => Some("BEGIN IMMEDIATE"),
    }
}

/// Runs `f` in a transaction of `mode` on `c`. A [`Mode::Durable`] one commits with
/// `synchronous = FULL`: its commit is on disk before it returns, so a client told
/// "done" is never told wrong by a power failure. (In WAL mode that sync also makes
/// every earlier commit durable.)
fn in_transaction<R, F>(c: &mut Connection, mode: Mode, f: F) -> Result<R, StoreError>
where
    F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, R>,
{
    let durable = mode == Mode::Durable;
    if durable {
        c.pragma_update(None, "synchronous", "FULL").map_err(err)?;
    }
    let result = (|| {
        let begin = begin(mode);
        if let Some(begin) = begin {
            c.execute_batch(begin).map_err(err)?;
        }
        let r = at_once(f(&mut Tx::Sqlite(c)))?;
        if begin.is_some() {
            c.execute_batch("COMMIT").map_err(err)?;
        }
        Ok(r)
    })();
    // A failed statement or commit leaves the transaction open: nothing of it is kept.
    if !c.is_autocommit() {
        let _rolled_back = c.execute_batch("ROLLBACK");
    }
    if durable {
        let back = c.pragma_update(None, "synchronous", "NORMAL").map_err(err);
        let r = result?;
        back?;
        return Ok(r);
    }
    result
}

/// The outcome of a transaction's algorithm on SQLite, whose statements run at once:
/// its future is ready when first polled. (It awaits only [`Tx`]'s statements, which
/// on SQLite never wait.)
fn at_once<R>(future: TxFuture<'_, R>) -> Result<R, StoreError> {
    let mut future = future;
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(r) => r,
        Poll::Pending => Err(StoreError::new(
            StoreErrorKind::Internal,
            "a sqlite transaction waited on something other than its statements",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::sql::args;
    use super::*;

    fn temp_db(name: &str) -> (std::path::PathBuf, Sqlite) {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pw-auth-db-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = dir.join("records.sqlite");
        let db = Sqlite::open(&path).unwrap();
        (dir, db)
    }

    fn pragma(db: &Sqlite, name: &str) -> String {
        let c = Sqlite::lock(&db.conn);
        let v: rusqlite::types::Value = c
            .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap();
        match v {
            rusqlite::types::Value::Text(s) => s,
            rusqlite::types::Value::Integer(n) => n.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_database_is_in_wal_mode_and_migrated() {
        let (dir, db) = temp_db("wal");
        let path = dir.join("records.sqlite");
        assert_eq!(pragma(&db, "journal_mode"), "wal");
        assert_eq!(pragma(&db, "user_version"), SCHEMA_VERSION.to_string());
        drop(db);
        // Reopening a migrated file keeps it; a newer schema is refused.
        let db = Sqlite::open(&path).unwrap();
        Sqlite::lock(&db.conn)
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        drop(db);
        let e = Sqlite::open(&path).unwrap_err();
        assert!(e.to_string().contains("schema version 99"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A file at schema version 3 with audit records in it: version 4's columns are
    /// filled in from the records, so the read route finds them as it finds new ones.
    #[tokio::test]
    async fn records_from_version_3_are_read_back_after_the_migration() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pw-auth-v3-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = dir.join("records.sqlite");
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch(&[MIGRATION_1, MIGRATION_2, MIGRATION_3].concat())
                .unwrap();
            c.execute_batch("PRAGMA user_version = 3").unwrap();
            let old = r#"{"schema_version":2,"time":"2026-11-27T12:00:00Z","effect":"deny","reason":{"kind":"role_too_low","min_role":"administrator","role":"user","standing":"member"},"principal":{"user":"uma","company":"acme","role":"user","method":{"kind":"bearer","token_id":"tok_1","expires_at":"2026-11-28T12:00:00Z"}},"action":"blueprints.publish","company":"acme","tier":"professional","policy":"p@1+000000000000"}"#;
            c.execute(
                "INSERT INTO audit (record, time) VALUES (?1, 1795780800)",
                [old],
            )
            .unwrap();
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let db = crate::Db::open_sqlite(&path, crate::AuditSync::Normal).unwrap();
        let page = |kind: Option<&str>| crate::db::AuditQuery {
            company: pw_auth_core::CompanyId::new("acme").unwrap(),
            before: None,
            since: None,
            until: None,
            kind: kind.map(str::to_owned),
            decision_id: None,
            limit: 10,
        };
        let found = db.audit_page(page(Some("role_too_low"))).await.unwrap();
        assert_eq!(found.records.len(), 1);
        assert_eq!(found.records[0]["schema_version"], 2);
        assert_eq!(found.records[0]["principal"]["user"], "uma");
        assert!(
            db.audit_page(page(Some("allowed")))
                .await
                .unwrap()
                .records
                .is_empty()
        );
        let globex = crate::db::AuditQuery {
            company: pw_auth_core::CompanyId::new("globex").unwrap(),
            ..page(None)
        };
        assert!(db.audit_page(globex).await.unwrap().records.is_empty());
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    const INSERT: super::super::sql::Sql = super::super::sql::Sql {
        sqlite: "INSERT INTO deleted_keys (digest) VALUES (?1)",
        postgres: "",
    };
    const COUNT: super::super::sql::Sql = super::super::sql::Sql {
        sqlite: "SELECT COUNT(*) FROM deleted_keys",
        postgres: "",
    };

    /// A transaction is kept whole or not at all, in every mode, and leaves the
    /// connection as it found it: no transaction open, `synchronous = NORMAL` (1).
    #[test]
    fn a_transaction_commits_on_ok_and_leaves_nothing_on_an_error() {
        let (dir, db) = temp_db("tx");
        let count = |db: &Sqlite| {
            in_transaction(&mut Sqlite::lock(&db.conn), Mode::Single, |tx| {
                Box::pin(async move { tx.count(&COUNT, args![]).await })
            })
            .unwrap()
        };
        let mut kept = 0;
        for (i, mode) in [Mode::Single, Mode::Write, Mode::Durable]
            .into_iter()
            .enumerate()
        {
            let (a, b) = (format!("a{i}"), format!("b{i}"));
            let failed = in_transaction(&mut Sqlite::lock(&db.conn), mode, move |tx| {
                Box::pin(async move {
                    tx.execute(&INSERT, args![&a]).await?;
                    // The same digest again: a constraint failure.
                    tx.execute(&INSERT, args![&a]).await?;
                    tx.execute(&INSERT, args![&b]).await?;
                    Ok(())
                })
            });
            assert!(failed.is_err(), "{mode:?}");
            // Outside a transaction the first insert stands on its own.
            if mode == Mode::Single {
                kept += 1;
            }
            assert_eq!(
                count(&db),
                kept,
                "{mode:?}: the failed transaction left nothing"
            );
            assert!(Sqlite::lock(&db.conn).is_autocommit(), "{mode:?}");
            assert_eq!(pragma(&db, "synchronous"), "1", "{mode:?}");

            let c = format!("c{i}");
            in_transaction(&mut Sqlite::lock(&db.conn), mode, move |tx| {
                Box::pin(async move { tx.execute(&INSERT, args![&c]).await })
            })
            .unwrap();
            kept += 1;
            assert_eq!(count(&db), kept, "{mode:?}: committed");
            assert_eq!(pragma(&db, "synchronous"), "1", "{mode:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Waits up to ten seconds for `done`.
    fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let start = std::time::Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(10), "never: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The connection that commits checkpoints only as a backstop; a write is
    /// checkpointed whole by the checkpointer's thread, and reads alone never wake it.
    #[test]
    fn a_write_is_checkpointed_off_the_committing_connection() {
        use super::super::checkpoint::INTERVAL;
        let (dir, db) = temp_db("checkpoint");
        assert_eq!(
            pragma(&db, "wal_autocheckpoint"),
            BACKSTOP_PAGES.to_string()
        );
        const INSERT: super::super::sql::Sql = super::super::sql::Sql {
            sqlite: "INSERT INTO companies (id, tier) VALUES ('acme', 'professional')",
            postgres: "",
        };
        const READ: super::super::sql::Sql = super::super::sql::Sql {
            sqlite: "SELECT COUNT(*) FROM companies",
            postgres: "",
        };
        let read = || {
            db.transaction_here(Mode::Write, |tx| {
                Box::pin(async move { tx.count(&READ, args![]).await })
            })
            .unwrap()
        };
        assert_eq!(read(), 0);
        std::thread::sleep(INTERVAL * 4);
        assert_eq!(db.checkpointer.runs(), 0, "a read wakes nobody");

        // The main file alone (the log ignored) comes to hold the written row.
        let path = dir.join("records.sqlite");
        let rows_in_main_file = || -> Result<i64, rusqlite::Error> {
            Connection::open_with_flags(
                format!("file:{}?immutable=1", path.display()),
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            )?
            .query_row("SELECT COUNT(*) FROM companies", [], |r| r.get(0))
        };
        // Nothing was ever checkpointed: the file holds not even the tables (their
        // creation is in the log too).
        assert!(rows_in_main_file().is_err(), "nothing checkpointed yet");
        db.transaction_here(Mode::Write, |tx| {
            Box::pin(async move { tx.execute(&INSERT, args![]).await })
        })
        .unwrap();
        // The count goes up just after the checkpoint: both are waited for.
        eventually("the write checkpointed", || {
            rows_in_main_file().is_ok_and(|n| n == 1) && db.checkpointer.runs() >= 1
        });
        assert_eq!(read(), 1);

        // The thread ends with the last handle.
        let alive = db.checkpointer.thread_alive();
        drop(db);
        eventually("the thread ended", || alive.upgrade().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A durable transaction runs with `synchronous = FULL` (2), the others with
    /// NORMAL (1).
    #[test]
    fn only_a_durable_transaction_syncs_in_full() {
        let (dir, db) = temp_db("sync");
        const SYNC: super::super::sql::Sql = super::super::sql::Sql {
            sqlite: "PRAGMA synchronous",
            postgres: "",
        };
        for (mode, expected) in [(Mode::Single, 1), (Mode::Write, 1), (Mode::Durable, 2)] {
            let seen = in_transaction(&mut Sqlite::lock(&db.conn), mode, |tx| {
                Box::pin(async move { tx.count(&SYNC, args![]).await })
            })
            .unwrap();
            assert_eq!(seen, expected, "{mode:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
