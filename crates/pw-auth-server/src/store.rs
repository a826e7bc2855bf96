//! What a server's guard reads and writes: the records ([`Db`]), and the limiter
//! states either beside them or on Redis ([`RedisLimits`]) when several servers share
//! one budget.

use pw_auth_axum::{AuthStore, CompanyInfo, Loaded, StoreError};
use pw_auth_core::{AuditRecord, CompanyId, CredentialDigest, LimitState};

use crate::db::Db;
use crate::limits::RedisLimits;

/// The records, and where the limiter states live.
#[derive(Clone, Debug)]
pub struct Store {
    records: Db,
    limits: Option<RedisLimits>,
}

impl Store {
    /// The records `records`, with the limiter states in them (`limits` `None`) or on
    /// Redis.
    pub fn new(records: Db, limits: Option<RedisLimits>) -> Store {
        Store { records, limits }
    }

    /// The records.
    pub fn records(&self) -> &Db {
        &self.records
    }
}

impl AuthStore for Store {
    async fn load(&self, digest: &CredentialDigest) -> Result<Loaded, StoreError> {
        self.records.load(digest).await
    }

    async fn company(&self, id: &CompanyId) -> Result<Option<CompanyInfo>, StoreError> {
        self.records.company(id).await
    }

    async fn with_budget<R, F>(&self, company: &CompanyId, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState) -> R + Send + 'static,
    {
        match &self.limits {
            Some(redis) => redis.with_budget(company, f).await,
            None => self.records.with_budget(company, f).await,
        }
    }

    async fn with_failures<R, F>(&self, keys: Vec<String>, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static,
    {
        match &self.limits {
            Some(redis) => redis.with_failures(keys, f).await,
            None => self.records.with_failures(keys, f).await,
        }
    }

    async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.records.audit(record).await
    }
}
