//! What a server's guard reads and writes: the records ([`Db`]), and the limiter
//! states either beside them or on Redis ([`RedisLimits`]) when several servers share
//! one budget.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use pw_auth_axum::{AuthStore, CompanyInfo, Loaded, StoreError};
use pw_auth_core::{ApiKeyId, AuditRecord, CompanyId, CredentialDigest, LimitState};

use crate::db::Db;
use crate::limits::RedisLimits;
use crate::observe::Metrics;

/// The records, and where the limiter states live.
#[derive(Clone, Debug)]
pub struct Store {
    records: Db,
    limits: Option<RedisLimits>,
    metrics: Option<Arc<Metrics>>,
}

impl Store {
    /// The records `records`, with the limiter states in them (`limits` `None`) or on
    /// Redis.
    pub fn new(records: Db, limits: Option<RedisLimits>) -> Store {
        Store {
            records,
            limits,
            metrics: None,
        }
    }

    /// The same store, timing each of the guard's calls into `metrics`.
    pub(crate) fn timed(mut self, metrics: Arc<Metrics>) -> Store {
        self.metrics = Some(metrics);
        self
    }

    /// The records.
    pub fn records(&self) -> &Db {
        &self.records
    }

    /// Whether the records (and Redis, when the budgets are there) answer.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.records.ping().await?;
        match &self.limits {
            Some(redis) => redis.ping().await,
            None => Ok(()),
        }
    }

    /// Runs `call`, timed as `name` when the store has metrics.
    async fn time<T>(&self, name: &'static str, call: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = call.await;
        if let Some(m) = &self.metrics {
            m.store_call(name, started.elapsed());
        }
        out
    }
}

impl AuthStore for Store {
    async fn load(&self, digest: &CredentialDigest) -> Result<Arc<Loaded>, StoreError> {
        self.time("load", self.records.load(digest)).await
    }

    async fn company(&self, id: &CompanyId) -> Result<Option<CompanyInfo>, StoreError> {
        self.time("company", self.records.company(id)).await
    }

    async fn with_budget<R, F>(
        &self,
        company: &CompanyId,
        key: Option<&ApiKeyId>,
        f: F,
    ) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState, Option<&mut LimitState>) -> R + Send + 'static,
    {
        match &self.limits {
            Some(redis) => {
                self.time("budget", redis.with_budget(company, key, f))
                    .await
            }
            None => {
                self.time("budget", self.records.with_budget(company, key, f))
                    .await
            }
        }
    }

    async fn with_failures<R, F>(&self, keys: Vec<String>, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static,
    {
        match &self.limits {
            Some(redis) => self.time("failures", redis.with_failures(keys, f)).await,
            None => {
                self.time("failures", self.records.with_failures(keys, f))
                    .await
            }
        }
    }

    async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.time("audit", self.records.audit(record)).await
    }
}
