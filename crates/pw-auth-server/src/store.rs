//! What a server's guard reads and writes: the records ([`Db`]), and the limiter
//! states either beside them or on Redis ([`RedisLimits`]) when several servers share
//! one budget.

use pw_auth_axum::{AuthStore, CompanyInfo, Loaded, StoreError};
use pw_auth_core::{AuditRecord, CompanyId, CredentialDigest, LimitState};

use crate::db::{Db, Records};
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

    /// The failure budgets of `keys`, in order.
    pub async fn failure_states(&self, keys: Vec<String>) -> Result<Vec<LimitState>, StoreError> {
        match &self.limits {
            Some(redis) => {
                let mut states = Vec::with_capacity(keys.len());
                for key in &keys {
                    states.push(redis.failures(key).await?);
                }
                Ok(states)
            }
            None => self.records.failure_states(keys).await,
        }
    }

    /// Charges one failure to each of `keys` with `charge`.
    pub async fn charge_failures<F>(&self, keys: Vec<String>, charge: F) -> Result<(), StoreError>
    where
        F: Fn(&mut LimitState) + Send + Sync + 'static,
    {
        match &self.limits {
            Some(redis) => {
                for key in &keys {
                    redis.charge_failure(key, |s| charge(s)).await?;
                }
                Ok(())
            }
            None => self.records.charge_failures(keys, charge).await,
        }
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

    async fn failures(&self, key: &str) -> Result<LimitState, StoreError> {
        match &self.limits {
            Some(redis) => redis.failures(key).await,
            None => self.records.failures(key).await,
        }
    }

    async fn charge_failure<F>(&self, key: &str, charge: F) -> Result<(), StoreError>
    where
        F: FnMut(&mut LimitState) + Send + 'static,
    {
        match &self.limits {
            Some(redis) => redis.charge_failure(key, charge).await,
            None => self.records.charge_failure(key, charge).await,
        }
    }

    async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.records.audit(record).await
    }
}
