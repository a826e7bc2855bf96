//! The records on PostgreSQL, for several servers sharing one set of records: the same
//! tables and schema versions as the SQLite store, migrated on first connect (under an
//! advisory lock, so servers starting together migrate once). There is no cache: every
//! request reads the records it needs, so a revocation committed through one server is
//! seen by every other at its next request.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use pw_auth_axum::{AuthStore, CompanyInfo, Loaded, Record, StoreError};
use pw_auth_core::{
    ApiKeyId, ApiKeyRecord, AuditRecord, CompanyId, CredentialDigest, LimitState, Tier,
    TokenDigest, TokenRecord, UserId, UserRecord,
};
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};

use super::{
    PruneBefore, Pruned, Records, SCHEMA_VERSION, aggregate_key, digest_text, err,
    failure_whole_at, json, lookup_of, migrations_from, parse, token_end, unix, with_count,
};

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
pub struct Postgres {
    pool: Pool,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection settings hold a password: never printed.
        f.debug_struct("Postgres")
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

// Every statement is prepared once per connection and kept (deadpool's statement
// cache): a query is then one round trip, not two.

/// The row `sql` selects, if there is one.
async fn opt_row(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(err)?;
    c.query_opt(&statement, params).await.map_err(err)
}

/// The rows `sql` selects.
async fn all_rows(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(err)?;
    c.query(&statement, params).await.map_err(err)
}

/// The one row `sql` selects.
async fn one_row(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Row, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(err)?;
    c.query_one(&statement, params).await.map_err(err)
}

/// The one text column of the row `sql` selects, if there is a row.
async fn text_row(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<String>, StoreError> {
    let row = opt_row(c, sql, params).await?;
    row.map(|r| r.try_get::<_, String>(0).map_err(err))
        .transpose()
}

/// Runs `sql` and returns how many rows it touched.
async fn exec(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(err)?;
    c.execute(&statement, params).await.map_err(err)
}

/// `company`'s key `id`: its digest text and its record, the row locked for the rest
/// of the transaction (two revocations of one key through two servers answer 200 and
/// 409).
async fn key_row(
    c: &impl GenericClient,
    company: &CompanyId,
    id: &ApiKeyId,
) -> Result<Option<(String, ApiKeyRecord)>, StoreError> {
    let row = opt_row(
        c,
        "SELECT digest, record FROM api_keys WHERE id = $1 AND company = $2 FOR UPDATE",
        &[&id.as_str(), &company.as_str()],
    )
    .await?;
    match row {
        Some(r) => {
            let digest: String = r.try_get(0).map_err(err)?;
            let record: String = r.try_get(1).map_err(err)?;
            Ok(Some((digest, parse(&record)?)))
        }
        None => Ok(None),
    }
}

/// Makes a company's budget row if it is missing and, either way, locks it for the
/// rest of the transaction (the no-op update) and returns what it holds: one round
/// trip.
const LOCK_BUDGET: &str = "INSERT INTO budgets (company, state) VALUES ($1, $2)
    ON CONFLICT (company) DO UPDATE SET state = budgets.state RETURNING state";

/// The same for a failure budget.
const LOCK_FAILURES: &str = "INSERT INTO failures (key, state) VALUES ($1, $2)
    ON CONFLICT (key) DO UPDATE SET state = failures.state RETURNING state";

/// Runs `lock` (`LOCK_BUDGET` or `LOCK_FAILURES`) for `key` and reads the state.
async fn lock_state(
    c: &impl GenericClient,
    lock: &str,
    key: &str,
) -> Result<LimitState, StoreError> {
    let fresh = json(&LimitState::default())?;
    let state = text_row(c, lock, &[&key, &fresh]).await?;
    state.map_or_else(|| Ok(LimitState::default()), |s| parse(&s))
}

impl Postgres {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`, or
    /// key=value pairs) and migrates it to [`SCHEMA_VERSION`]. With `sslmode=require`
    /// the connection is TLS, its certificate verified against the system's roots
    /// (chain and host name); see [`Postgres::connect_with_ca`].
    pub async fn connect(url: &str) -> Result<Postgres, StoreError> {
        Postgres::connect_with_ca(url, None).await
    }

    /// [`Postgres::connect`] verifying the server's certificate against the CA
    /// certificates of the PEM file `ca` (when given) instead of the system's.
    pub async fn connect_with_ca(
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
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                // A connection PostgreSQL closed (a restart) is replaced, not reused.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(err)?;
        let db = Postgres { pool };
        db.migrate().await?;
        Ok(db)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(err)
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
        let steps = migrations_from(version, [MIGRATION_1, MIGRATION_2, MIGRATION_3])?;
        if !steps.is_empty() {
            tx.batch_execute(&steps).await.map_err(err)?;
            tx.execute("UPDATE pw_auth_schema SET version = $1", &[&SCHEMA_VERSION])
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }
}

impl Records for Postgres {
    async fn is_empty(&self) -> Result<bool, StoreError> {
        let c = self.client().await?;
        let row = one_row(&c, "SELECT COUNT(*) FROM companies", &[]).await?;
        let n: i64 = row.try_get(0).map_err(err)?;
        Ok(n == 0)
    }

    async fn add_company(
        &self,
        id: CompanyId,
        tier: Tier,
        parent: Option<CompanyId>,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        exec(
            &c,
            "INSERT INTO companies (id, tier, parent) VALUES ($1, $2, $3)",
            &[
                &id.as_str(),
                &tier.as_str(),
                &parent.as_ref().map(CompanyId::as_str),
            ],
        )
        .await?;
        Ok(())
    }

    async fn add_user(
        &self,
        user: UserRecord,
        login: Option<(String, String)>,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        let (username, hash) = login.unzip();
        exec(
            &c,
            "INSERT INTO users (id, record, username, password_hash) VALUES ($1, $2, $3, $4)",
            &[&user.id.as_str(), &json(&user)?, &username, &hash],
        )
        .await?;
        Ok(())
    }

    async fn grant(&self, user: UserId, company: CompanyId) -> Result<(), StoreError> {
        let c = self.client().await?;
        exec(
            &c,
            r#"INSERT INTO grants ("user", company) VALUES ($1, $2) ON CONFLICT DO NOTHING"#,
            &[&user.as_str(), &company.as_str()],
        )
        .await?;
        Ok(())
    }

    async fn login_user(
        &self,
        username: String,
    ) -> Result<Option<(UserRecord, String)>, StoreError> {
        let c = self.client().await?;
        let row = opt_row(
            &c,
            "SELECT record, password_hash FROM users WHERE username = $1",
            &[&username],
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        let record: String = row.try_get(0).map_err(err)?;
        let hash: Option<String> = row.try_get(1).map_err(err)?;
        match hash {
            Some(hash) => Ok(Some((parse(&record)?, hash))),
            None => Ok(None),
        }
    }

    async fn add_token(&self, record: TokenRecord) -> Result<(), StoreError> {
        let c = self.client().await?;
        exec(
            &c,
            r#"INSERT INTO tokens (digest, id, "user", record) VALUES ($1, $2, $3, $4)"#,
            &[
                &digest_text(&record.digest)?,
                &record.id.as_str(),
                &record.user.as_str(),
                &json(&record)?,
            ],
        )
        .await?;
        Ok(())
    }

    async fn revoke_token(
        &self,
        digest: TokenDigest,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(err)?;
        let key = digest_text(&digest)?;
        let record = text_row(
            &tx,
            "SELECT record FROM tokens WHERE digest = $1 FOR UPDATE",
            &[&key],
        )
        .await?;
        let Some(record) = record else {
            return Ok(false);
        };
        let mut record: TokenRecord = parse(&record)?;
        if record.revoke(now).is_err() {
            return Ok(false);
        }
        exec(
            &tx,
            "UPDATE tokens SET record = $2 WHERE digest = $1",
            &[&key, &json(&record)?],
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn revoke_tokens_of(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(err)?;
        let rows = all_rows(
            &tx,
            r#"SELECT digest, record FROM tokens WHERE "user" = $1 FOR UPDATE"#,
            &[&user.as_str()],
        )
        .await?;
        let mut n = 0usize;
        for row in rows {
            let digest: String = row.try_get(0).map_err(err)?;
            let record: String = row.try_get(1).map_err(err)?;
            let mut record: TokenRecord = parse(&record)?;
            if record.revoke(now).is_ok() {
                exec(
                    &tx,
                    "UPDATE tokens SET record = $2 WHERE digest = $1",
                    &[&digest, &json(&record)?],
                )
                .await?;
                n = n.saturating_add(1);
            }
        }
        tx.commit().await.map_err(err)?;
        Ok(n)
    }

    async fn add_key(&self, record: ApiKeyRecord, user: UserRecord) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(err)?;
        exec(
            &tx,
            "INSERT INTO users (id, record) VALUES ($1, $2)",
            &[&user.id.as_str(), &json(&user)?],
        )
        .await?;
        exec(
            &tx,
            "INSERT INTO api_keys (digest, id, company, record) VALUES ($1, $2, $3, $4)",
            &[
                &digest_text(&record.digest)?,
                &record.id.as_str(),
                &record.company.as_str(),
                &json(&record)?,
            ],
        )
        .await?;
        tx.commit().await.map_err(err)
    }

    async fn keys_of(&self, company: CompanyId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let c = self.client().await?;
        let rows = all_rows(
            &c,
            "SELECT record FROM api_keys WHERE company = $1 ORDER BY seq",
            &[&company.as_str()],
        )
        .await?;
        rows.iter()
            .map(|r| {
                r.try_get::<_, String>(0)
                    .map_err(err)
                    .and_then(|s| parse(&s))
            })
            .collect()
    }

    async fn revoke_key(
        &self,
        company: CompanyId,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<Option<bool>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(err)?;
        let Some((digest, mut record)) = key_row(&tx, &company, &id).await? else {
            return Ok(None);
        };
        if record.revoke(now).is_err() {
            return Ok(Some(false));
        }
        exec(
            &tx,
            "UPDATE api_keys SET record = $2 WHERE digest = $1",
            &[&digest, &json(&record)?],
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(Some(true))
    }

    async fn delete_key(&self, company: CompanyId, id: ApiKeyId) -> Result<bool, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(err)?;
        let Some((digest, record)) = key_row(&tx, &company, &id).await? else {
            return Ok(false);
        };
        exec(&tx, "DELETE FROM api_keys WHERE digest = $1", &[&digest]).await?;
        exec(
            &tx,
            "DELETE FROM users WHERE id = $1",
            &[&record.user.as_str()],
        )
        .await?;
        exec(
            &tx,
            "INSERT INTO deleted_keys (digest) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&digest],
        )
        .await?;
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    async fn audit_count(&self) -> Result<u64, StoreError> {
        let c = self.client().await?;
        let row = one_row(&c, "SELECT COUNT(*) FROM audit", &[]).await?;
        let n: i64 = row.try_get(0).map_err(err)?;
        u64::try_from(n).map_err(err)
    }

    async fn audit_records(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        let c = self.client().await?;
        let rows = all_rows(&c, "SELECT record, count FROM audit ORDER BY seq", &[]).await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get(0).map_err(err)?;
                let count: i64 = r.try_get(1).map_err(err)?;
                with_count(&text, count)
            })
            .collect()
    }

    async fn prune(&self, before: PruneBefore) -> Result<Pruned, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(err)?;
        let audit = exec(
            &tx,
            "DELETE FROM audit WHERE time < $1",
            &[&unix(before.audit)],
        )
        .await?;
        let mut tokens = 0u64;
        for row in all_rows(&tx, "SELECT digest, record FROM tokens", &[]).await? {
            let digest: String = row.try_get(0).map_err(err)?;
            let record: TokenRecord = parse(&row.try_get::<_, String>(1).map_err(err)?)?;
            if token_end(&record) < before.tokens {
                tokens = tokens.saturating_add(
                    exec(&tx, "DELETE FROM tokens WHERE digest = $1", &[&digest]).await?,
                );
            }
        }
        let mut failures = 0u64;
        for row in all_rows(&tx, "SELECT key, state FROM failures", &[]).await? {
            let key: String = row.try_get(0).map_err(err)?;
            let state = parse(&row.try_get::<_, String>(1).map_err(err)?)?;
            if failure_whole_at(state, before.failures) {
                failures = failures.saturating_add(
                    exec(&tx, "DELETE FROM failures WHERE key = $1", &[&key]).await?,
                );
            }
        }
        tx.commit().await.map_err(err)?;
        Ok(Pruned {
            audit,
            tokens,
            failures,
        })
    }
}

impl AuthStore for Postgres {
    async fn load(&self, digest: &CredentialDigest) -> Result<Loaded, StoreError> {
        let lookup = lookup_of(digest)?;
        let mut c = self.client().await?;
        // One snapshot: the key or token, its user and the grants are read together.
        let tx = c
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(err)?;
        let mut loaded = Loaded::default();
        let user = match lookup {
            Ok(key) => {
                match text_row(
                    &tx,
                    "SELECT record FROM api_keys WHERE digest = $1",
                    &[&key],
                )
                .await?
                {
                    Some(r) => {
                        let r: ApiKeyRecord = parse(&r)?;
                        let user = r.user.clone();
                        loaded.key = Record::Found(r);
                        Some(user)
                    }
                    None => {
                        let deleted = text_row(
                            &tx,
                            "SELECT digest FROM deleted_keys WHERE digest = $1",
                            &[&key],
                        )
                        .await?;
                        if deleted.is_some() {
                            loaded.key = Record::Deleted;
                        }
                        None
                    }
                }
            }
            Err(key) => {
                match text_row(&tx, "SELECT record FROM tokens WHERE digest = $1", &[&key]).await? {
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
            if let Some(r) = text_row(
                &tx,
                "SELECT record FROM users WHERE id = $1",
                &[&user.as_str()],
            )
            .await?
            {
                loaded.user = Some(parse(&r)?);
            }
            let rows = all_rows(
                &tx,
                r#"SELECT company FROM grants WHERE "user" = $1 ORDER BY company"#,
                &[&user.as_str()],
            )
            .await?;
            loaded.grants = rows
                .iter()
                .map(|r| {
                    r.try_get::<_, String>(0)
                        .map_err(err)
                        .and_then(|s| CompanyId::new(&s).map_err(err))
                })
                .collect::<Result<_, _>>()?;
        }
        tx.commit().await.map_err(err)?;
        Ok(loaded)
    }

    async fn company(&self, id: &CompanyId) -> Result<Option<CompanyInfo>, StoreError> {
        let c = self.client().await?;
        let row = opt_row(
            &c,
            "SELECT tier, parent FROM companies WHERE id = $1",
            &[&id.as_str()],
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        let tier: String = row.try_get(0).map_err(err)?;
        let parent: Option<String> = row.try_get(1).map_err(err)?;
        Ok(Some(CompanyInfo {
            tier: tier.parse().map_err(err)?,
            parent: parent
                .map(|p| CompanyId::new(&p).map_err(err))
                .transpose()?,
        }))
    }

    async fn with_budget<R, F>(&self, company: &CompanyId, mut f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState) -> R + Send + 'static,
    {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(err)?;
        // The upsert (`LOCK_BUDGET`) locks the row until the commit: two servers
        // charging one company take turns, so the budget is spent exactly.
        let mut state = lock_state(&tx, LOCK_BUDGET, company.as_str()).await?;
        let before = state;
        let result = f(&mut state);
        if state != before {
            exec(
                &tx,
                "UPDATE budgets SET state = $2 WHERE company = $1",
                &[&company.as_str(), &json(&state)?],
            )
            .await?;
        }
        tx.commit().await.map_err(err)?;
        Ok(result)
    }

    async fn with_failures<R, F>(&self, keys: Vec<String>, mut f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static,
    {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(err)?;
        // Rows locked in one order (sorted), so two updates never wait on each other
        // in a cycle; the states are then handed over in the caller's order.
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| keys.get(a).cmp(&keys.get(b)));
        let mut states = vec![LimitState::default(); keys.len()];
        for &i in &order {
            if let (Some(key), Some(slot)) = (keys.get(i), states.get_mut(i)) {
                *slot = lock_state(&tx, LOCK_FAILURES, key).await?;
            }
        }
        let before = states.clone();
        let result = f(&mut states);
        for ((key, state), old) in keys.iter().zip(&states).zip(&before) {
            if state != old {
                exec(
                    &tx,
                    "UPDATE failures SET state = $2 WHERE key = $1",
                    &[key, &json(state)?],
                )
                .await?;
            }
        }
        tx.commit().await.map_err(err)?;
        Ok(result)
    }

    async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let text = json(record)?;
        let aggregate = aggregate_key(record);
        let c = self.client().await?;
        // A throttled client's refusals in one window are one row, counted.
        exec(
            &c,
            "INSERT INTO audit (record, time, aggregate) VALUES ($1, $2, $3)
             ON CONFLICT (aggregate) DO UPDATE SET count = audit.count + 1",
            &[&text, &unix(record.time), &aggregate],
        )
        .await?;
        Ok(())
    }
}
