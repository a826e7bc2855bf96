//! What the guard looks up: [`AuthStore`], and the records it hands back.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use pw_auth_core::{
    ApiKeyDigest, ApiKeyId, ApiKeyRecord, AuditRecord, CompanyId, CompanyRole, CredentialDigest,
    Grant, LimitState, Lookup, RecordStore, Tier, TokenDigest, TokenRecord, UserId, UserRecord,
};
use pw_auth_http::ServerStore;

use crate::StoreError;

/// A record looked up by digest, owned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Record<T> {
    /// A record with that digest.
    Found(T),
    /// The store remembers that a record with that digest was deleted.
    Deleted,
    /// No record with that digest.
    #[default]
    NotFound,
}

impl<T> Record<T> {
    fn lookup(&self) -> Lookup<'_, T> {
        match self {
            Record::Found(r) => Lookup::Found(r),
            Record::Deleted => Lookup::Deleted,
            Record::NotFound => Lookup::NotFound,
        }
    }
}

/// What an [`AuthStore`] found for one credential: its key or token record, the user
/// that record names, and that user's grants. It is the synchronous
/// [`ServerStore`] the flow authenticates against.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The API-key record, for a key.
    pub key: Record<ApiKeyRecord>,
    /// The token record, for a bearer token.
    pub token: Record<TokenRecord>,
    /// The user the record names.
    pub user: Option<UserRecord>,
    /// The explicit grants for linked companies that user holds, each permanent or
    /// until a time; the guard decides with those in force at its `now`
    /// ([`grants_in_force`](pw_auth_core::grants_in_force)).
    pub grants: Vec<Grant>,
    /// The user's company's own definition of the custom role the user holds, when
    /// it defines one by that name (kept in the records; see
    /// [`CompanyRole::from_record`]): the guard decides with it rather than with the
    /// policy's custom role of that name. `None` when the user holds no custom role
    /// or the company defines none by its name.
    pub custom_role: Option<CompanyRole>,
    /// The user's company (its tier and parent), when the store reads it with the
    /// records, in the same read: the guard then decides and charges a request the
    /// user makes in their own company without asking [`AuthStore::company`] (one
    /// lookup, and on a database one round trip, fewer a request). It must be as
    /// fresh as the records beside it. `None`: the guard asks.
    pub company: Option<CompanyInfo>,
}

impl Loaded {
    /// Whether the store knows the credential: its key or token record was found, or
    /// the key is remembered as deleted. Only such records are worth keeping for the
    /// next request; an unknown digest may be anyone's guess.
    pub fn is_known(&self) -> bool {
        !matches!(self.key, Record::NotFound) || !matches!(self.token, Record::NotFound)
    }
}

impl RecordStore for Loaded {
    fn api_key(&self, digest: &ApiKeyDigest) -> Lookup<'_, ApiKeyRecord> {
        match &self.key {
            Record::Found(k) if &k.digest != digest => Lookup::NotFound,
            other => other.lookup(),
        }
    }

    fn token(&self, digest: &TokenDigest) -> Lookup<'_, TokenRecord> {
        match &self.token {
            Record::Found(t) if &t.digest != digest => Lookup::NotFound,
            other => other.lookup(),
        }
    }

    fn user(&self, id: &UserId) -> Option<&UserRecord> {
        self.user.as_ref().filter(|u| &u.id == id)
    }
}

/// Without a `now` to tell them by, only the permanent grants: a grant with an end
/// is never taken as in force (the guard, which has `now`, decides with every grant
/// in force at it).
impl ServerStore for Loaded {
    fn grants(&self, user: &UserId) -> Cow<'_, [CompanyId]> {
        match &self.user {
            Some(u) if &u.id == user => Cow::Owned(
                self.grants
                    .iter()
                    .filter(|g| g.expires_at.is_none())
                    .map(|g| g.company.clone())
                    .collect(),
            ),
            _ => Cow::Borrowed(&[]),
        }
    }
}

/// A company's tier, and its parent if it is a linked company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyInfo {
    /// The subscription tier.
    pub tier: Tier,
    /// The parent company, if linked.
    pub parent: Option<CompanyId>,
}

/// The asynchronous lookups behind the guard. Implement it over your database; see
/// [`MemoryStore`](crate::MemoryStore) for a complete, in-memory one.
pub trait AuthStore: Send + Sync + 'static {
    /// The records for a credential, looked up by its digest (the store never sees
    /// the secret): the key or token record, the user it names, and that user's grants.
    /// Shared: a store that keeps what it read (as [`MemoryStore`](crate::MemoryStore)
    /// and the reference server do) hands the same records to every request, uncopied.
    fn load(
        &self,
        digest: &CredentialDigest,
    ) -> impl Future<Output = Result<Arc<Loaded>, StoreError>> + Send;

    /// A company's tier and parent; `None` if there is no such company.
    fn company(
        &self,
        id: &CompanyId,
    ) -> impl Future<Output = Result<Option<CompanyInfo>, StoreError>> + Send;

    /// Runs `f` on `company`'s limiter state and, when `key` names an API key with a
    /// quota of its own, on that key's limiter state too (a fresh one if the key was
    /// never charged), and stores what it leaves: both states in one atomic update
    /// with respect to every other request charging either of them, so a request is
    /// charged to both budgets or to neither. `f` gets the key's state exactly when
    /// `key` is `Some`.
    ///
    /// A store that updates by compare-and-set (a shared store such as Redis) runs `f`
    /// again on the fresh states when another server wrote first: `f` is pure, and only
    /// the result of the run whose states were stored counts.
    fn with_budget<R, F>(
        &self,
        company: &CompanyId,
        key: Option<&ApiKeyId>,
        f: F,
    ) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState, Option<&mut LimitState>) -> R + Send + 'static;

    /// Runs `f` on the failure budgets at `keys` (in that order; a key never charged
    /// has a fresh one) and stores what it leaves, atomically with respect to every
    /// other request updating any of those keys: the throttles' reservations and
    /// charges (see [`PwAuthBuilder::client`](crate::PwAuthBuilder::client)) are decided and stored in one step,
    /// so no number of concurrent requests can pass a spent budget. `keys` are
    /// distinct. As in [`AuthStore::with_budget`], a compare-and-set store may run `f`
    /// again on fresh states; only the run whose states were stored counts.
    fn with_failures<R, F>(
        &self,
        keys: Vec<String>,
        f: F,
    ) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static;

    /// Keeps an audit record. A failure refuses the request (503): nothing is allowed
    /// that could not be recorded.
    fn audit(&self, record: &AuditRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
}
