//! The records on PostgreSQL, for several servers sharing one set of records: the same
//! tables and schema versions as the SQLite store, migrated on first connect (under an
//! advisory lock, so servers starting together migrate once). There is no cache: every
//! request reads the records it needs, so a revocation committed through one server is
//! seen by every other at its next request.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use pw_auth_axum::StoreError;

use super::sql::{Mode, Tx, TxFuture};
use super::{SCHEMA_VERSION, err, migrations_from};

/// Schema version 1: the SQLite store's tables (`"user"` quoted: a reserved word
/// here; `api_keys.seq` orders keys as SQLite's rowid does).
const MIGRATION_1: &str = r#"
CREATE TABLE companies (id TEXT PRIMARY KEY, tier TEXT NOT NULL, parent TEXT);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    username TEXT UNIQUE,
    password_hash TEXT
);
CREATE TABLE api_keys (
    seq BIGSERIAL,
    digest TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    company TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE deleted_keys (digest TEXT PRIMARY KEY);
CREATE TABLE tokens (
    digest TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    "user" TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE grants ("user" TEXT NOT NULL, company TEXT NOT NULL, PRIMARY KEY ("user", company));
CREATE TABLE budgets (company TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE audit (seq BIGSERIAL PRIMARY KEY, record TEXT NOT NULL);
"#;

/// Schema version 2: failure budgets, as in the SQLite store.
const MIGRATION_2: &str = "
CREATE TABLE failures (key TEXT PRIMARY KEY, state TEXT NOT NULL);
";

/// Schema version 3, as in the SQLite store: each audit record's time (Unix seconds),
/// the row a throttled client's refusals in one window are gathered into, and how
/// many it stands for.
const MIGRATION_3: &str = "
ALTER TABLE audit ADD COLUMN time BIGINT;
ALTER TABLE audit ADD COLUMN aggregate TEXT UNIQUE;
ALTER TABLE audit ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
CREATE INDEX audit_time ON audit (time);
";

/// Schema version 4, as in the SQLite store: the audit log's read route's columns.
const MIGRATION_4: &str = "
ALTER TABLE audit ADD COLUMN company TEXT, ADD COLUMN principal_company TEXT,
    ADD COLUMN kind TEXT, ADD COLUMN decision_id TEXT;
UPDATE audit SET company = record::jsonb->>'company',
    principal_company = NULLIF(record::jsonb->'principal'->>'company', record::jsonb->>'company'),
    kind = record::jsonb->'reason'->>'kind',
    decision_id = record::jsonb->>'decision_id';
CREATE INDEX audit_company ON audit (company, seq);
CREATE INDEX audit_principal_company ON audit (principal_company, seq)
    WHERE principal_company IS NOT NULL;
";

/// Schema version 5: when each API key was last used, the start of its minute in
/// Unix seconds (written behind, at most once a minute per key; `NULL`: never), and
/// when each grant ends (Unix seconds; `NULL`: never).
const MIGRATION_5: &str = "
ALTER TABLE api_keys ADD COLUMN last_used BIGINT;
ALTER TABLE grants ADD COLUMN expires_at BIGINT;
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

/// How long a statement waits for a lock before it fails (and the request is answered
/// 503), and how long any statement may run: the SQLite store's busy timeout.
const LOCK_TIMEOUT: Duration = Duration::from_millis(250);
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a pooled connection, or for a new one to be made.
const POOL_TIMEOUT: Duration = Duration::from_secs(2);

/// How many connections a server keeps to PostgreSQL.
const POOL_SIZE: usize = 16;

/// The records on PostgreSQL. Cheap to clone (a pool of connections).
#[derive(Clone)]
pub(crate) struct Postgres {
    pool: Pool,
    /// The audit writer's own connection (`db/batch.rs`): made and driven on the
    /// writer's thread, so that a commit's round trip waits on nothing else.
    audit: Pool,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection settings hold a password: never printed.
        f.debug_struct("Postgres")
            .field("pool", &self.pool.status())
            .field("audit", &self.audit.status())
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// Connects to the database at `url` and migrates it to [`SCHEMA_VERSION`],
    /// verifying a TLS server's certificate against the CA certificates of the PEM
    /// file `ca` when given, else the system's roots.
    pub(crate) async fn connect_with_ca(
        url: &str,
        ca: Option<&std::path::Path>,
    ) -> Result<Postgres, StoreError> {
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(Arc::unwrap_or_clone(
            crate::tls::client_config(ca)?,
        ));
        let mut config: tokio_postgres::Config = url.parse().map_err(err)?;
        config.options(format!(
            "-c lock_timeout={} -c statement_timeout={}",
            LOCK_TIMEOUT.as_millis(),
            STATEMENT_TIMEOUT.as_millis()
        ));
        config.connect_timeout(POOL_TIMEOUT);
        let pool = |size: usize| {
            let manager = Manager::from_config(
                config.clone(),
                tls.clone(),
                ManagerConfig {
                    // A connection PostgreSQL closed (a restart) is replaced, not reused.
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(size)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(POOL_TIMEOUT))
                .create_timeout(Some(POOL_TIMEOUT))
                .recycle_timeout(Some(POOL_TIMEOUT))
                .build()
                .map_err(err)
        };
        let db = Postgres {
            pool: pool(POOL_SIZE)?,
            // Opened by the writer when it first commits, on its own runtime.
            audit: pool(1)?,
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(err)
    }

    /// [`Postgres::transaction`] on the audit writer's own connection: to be driven
    /// only by the writer, on its own runtime (`db/batch.rs`).
    pub(crate) async fn audit_transaction<R, F>(&self, mode: Mode, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, R> + Send + 'static,
    {
        let client = self.audit.get().await.map_err(err)?;
        in_transaction(client, mode, f).await
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(err)?;
        // One server migrates; the others wait here, then find it done.
        tx.execute("SELECT pg_advisory_xact_lock(7052657)", &[])
            .await
            .map_err(err)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS pw_auth_schema (version BIGINT NOT NULL)")
            .await
            .map_err(err)?;
        let row = tx
            .query_opt("SELECT version FROM pw_auth_schema", &[])
            .await
            .map_err(err)?;
        let version: i64 = match row {
            Some(r) => r.try_get(0).map_err(err)?,
            None => {
                tx.execute("INSERT INTO pw_auth_schema (version) VALUES (0)", &[])
                    .await
                    .map_err(err)?;
                0
            }
        };
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
            tx.batch_execute(&steps).await.map_err(err)?;
            tx.execute("UPDATE pw_auth_schema SET version = $1", &[&SCHEMA_VERSION])
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    /// Runs `f` in a transaction of `mode`: committed if it returns `Ok`, rolled back
    /// (dropped) otherwise. Every commit is durable (`synchronous_commit` is on by
    /// default), so [`Mode::Durable`] is [`Mode::Write`] here.
    pub(crate) async fn transaction<R, F>(&self, mode: Mode, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, R> + Send + 'static,
    {
        in_transaction(self.client().await?, mode, f).await
    }
}

/// Runs `f` on `client` in a transaction of `mode` ([`Postgres::transaction`]).
async fn in_transaction<R, F>(
    mut client: deadpool_postgres::Client,
    mode: Mode,
    f: F,
) -> Result<R, StoreError>
where
    R: Send + 'static,
    F: for<'t, 'c> FnOnce(&'t mut Tx<'c>) -> TxFuture<'t, R> + Send + 'static,
{
    let tx = match mode {
        Mode::Single => return f(&mut Tx::PostgresSingle(&client)).await,
        Mode::Write | Mode::Durable => client.transaction().await,
    }
    .map_err(err)?;
    let r = f(&mut Tx::Postgres(&tx)).await?;
    tx.commit().await.map_err(err)?;
    Ok(r)
}
