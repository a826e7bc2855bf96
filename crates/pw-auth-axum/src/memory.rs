//! An in-memory [`AuthStore`]: for tests, examples, and servers whose records fit in
//! one process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use pw_auth_core::{
    ApiKeyDigest, ApiKeyId, ApiKeyRecord, AuditRecord, CompanyId, CompanyRole, CredentialDigest,
    CustomRoleName, Grant, LimitState, MintedApiKey, TokenDigest, TokenRecord, UserId, UserRecord,
};

use crate::{AuthStore, CompanyInfo, Loaded, Record, StoreError};

/// The records: read by every request, written only by their owner's calls.
#[derive(Debug, Default)]
struct Records {
    companies: HashMap<CompanyId, CompanyInfo>,
    users: HashMap<UserId, UserRecord>,
    keys: HashMap<ApiKeyDigest, ApiKeyRecord>,
    deleted_keys: Vec<ApiKeyDigest>,
    tokens: HashMap<TokenDigest, TokenRecord>,
    grants: HashMap<UserId, Vec<Grant>>,
    /// Each company's own custom roles, by company and name.
    roles: HashMap<(CompanyId, CustomRoleName), CompanyRole>,
}

/// How many audit records a [`MemoryStore`] keeps unless told otherwise.
pub const DEFAULT_AUDIT_CAPACITY: usize = 10_000;

#[derive(Debug)]
struct AuditLog {
    /// The newest audit records, at most `capacity` of them.
    records: VecDeque<AuditRecord>,
    capacity: usize,
    /// How many older records were let go to keep within it.
    dropped: u64,
}

impl Default for AuditLog {
    fn default() -> AuditLog {
        AuditLog {
            records: VecDeque::new(),
            capacity: DEFAULT_AUDIT_CAPACITY,
            dropped: 0,
        }
    }
}

/// A lock's guard, whether or not a panic poisoned it: every write under these locks
/// is one insert, removal or push, so a panic cannot leave one half-written.
fn unpoisoned<G>(r: Result<G, std::sync::PoisonError<G>>) -> G {
    r.unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Records in memory: the records behind a read-write lock (requests only read them,
/// so they never wait for each other), the budgets, the failure budgets and the audit
/// log each behind a lock of its own. A credential's records are gathered once and
/// then shared, uncopied, by every request that presents it, until the next write of
/// any record (which lets them all go: a revocation is read by the next request).
/// For tests, examples and servers whose records fit in one process and whose
/// clients are known: it keeps a failure budget for every client key it is charged
/// for, without pruning, so a server facing unknown clients should use a store that
/// prunes (the reference server's). Of the audit records it keeps the newest
/// [`DEFAULT_AUDIT_CAPACITY`] (or as many as [`MemoryStore::with_audit_capacity`]
/// says), counting those it let go ([`MemoryStore::audit_dropped`]): memory stays
/// bounded however long it serves.
///
/// ```
/// use pw_auth_axum::{CompanyInfo, MemoryStore};
/// use pw_auth_core::{CompanyId, Tier};
/// let store = MemoryStore::default();
/// store.add_company(CompanyId::new("acme")?, CompanyInfo { tier: Tier::Professional, parent: None });
/// # Ok::<(), pw_auth_core::IdError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: RwLock<Records>,
    /// What [`AuthStore::load`] handed out, by digest, shared with every request that
    /// asks again: only credentials that exist (or were deleted), so it holds no more
    /// than the records do; emptied whenever the records are written (see
    /// [`MemoryStore::write`]).
    loads: RwLock<HashMap<CredentialDigest, Arc<Loaded>, Hasher>>,
    budgets: Mutex<Budgets>,
    failures: Mutex<HashMap<String, LimitState>>,
    audit: Mutex<AuditLog>,
}

/// Each company's usage budget, and each API key's own (for keys with a quota of
/// their own), under one lock: a request charges both at once.
#[derive(Debug, Default)]
struct Budgets {
    companies: HashMap<CompanyId, LimitState, Hasher>,
    keys: HashMap<ApiKeyId, LimitState, Hasher>,
}

/// The hasher of the maps every request reads (the loads kept, the budgets): seeded
/// per map, and several times faster than std's on these keys.
type Hasher = foldhash::quality::RandomState;

impl MemoryStore {
    /// An empty store keeping at most `capacity` audit records (the newest).
    pub fn with_audit_capacity(capacity: usize) -> MemoryStore {
        let store = MemoryStore::default();
        store.audit_log().capacity = capacity;
        store
    }

    fn read(&self) -> RwLockReadGuard<'_, Records> {
        unpoisoned(self.records.read())
    }

    /// The records, to write. Every load kept is let go first: no request can read
    /// the records until this guard is dropped, and each load is kept while the
    /// records it was read from are held (always the records' lock first, then the
    /// loads'), so a kept load is never older than the last write.
    fn write(&self) -> RwLockWriteGuard<'_, Records> {
        let records = unpoisoned(self.records.write());
        unpoisoned(self.loads.write()).clear();
        records
    }

    fn audit_log(&self) -> MutexGuard<'_, AuditLog> {
        unpoisoned(self.audit.lock())
    }

    /// Adds or replaces a company.
    pub fn add_company(&self, id: CompanyId, info: CompanyInfo) {
        self.write().companies.insert(id, info);
    }

    /// Adds or replaces a user.
    pub fn add_user(&self, user: UserRecord) {
        self.write().users.insert(user.id.clone(), user);
    }

    /// Adds or replaces an API key's record.
    pub fn add_key(&self, record: ApiKeyRecord) {
        self.write().keys.insert(record.digest, record);
    }

    /// Adds a freshly minted key's record and its api-user (never the key itself), in
    /// one write: no request sees the key without its user.
    pub fn add_minted(&self, minted: &MintedApiKey) {
        let mut records = self.write();
        records
            .users
            .insert(minted.user.id.clone(), minted.user.clone());
        records
            .keys
            .insert(minted.record.digest, minted.record.clone());
    }

    /// Adds or replaces a token's record.
    pub fn add_token(&self, record: TokenRecord) {
        self.write().tokens.insert(record.digest, record);
    }

    /// Keeps one of a company's own custom roles (the company is the role's), replacing
    /// its earlier definition: from the next request on, the users of that company
    /// holding a custom role of that name act under it.
    pub fn put_custom_role(&self, role: CompanyRole) {
        let key = (role.company().clone(), role.name().clone());
        self.write().roles.insert(key, role);
    }

    /// Removes one of `company`'s own custom roles: whether it had one by that name.
    pub fn remove_custom_role(&self, company: &CompanyId, name: &CustomRoleName) -> bool {
        self.write()
            .roles
            .remove(&(company.clone(), name.clone()))
            .is_some()
    }

    /// Gives `user` an explicit grant for the linked company `company`.
    pub fn grant(&self, user: UserId, company: CompanyId) {
        self.add_grant(user, Grant::permanent(company));
    }

    /// Gives `user` a grant, permanent or until a time ([`Grant::until`]).
    pub fn add_grant(&self, user: UserId, grant: Grant) {
        self.write().grants.entry(user).or_default().push(grant);
    }

    /// Changes a key's record in place (to revoke it); `false` if there is none.
    pub fn update_key(&self, digest: &ApiKeyDigest, f: impl FnOnce(&mut ApiKeyRecord)) -> bool {
        self.write().keys.get_mut(digest).map(f).is_some()
    }

    /// Changes a token's record in place (to revoke it); `false` if there is none.
    pub fn update_token(&self, digest: &TokenDigest, f: impl FnOnce(&mut TokenRecord)) -> bool {
        self.write().tokens.get_mut(digest).map(f).is_some()
    }

    /// Deletes a key, remembering its digest so a request with it is told "deleted",
    /// and forgets its own budget.
    pub fn delete_key(&self, digest: &ApiKeyDigest) {
        let mut r = self.write();
        if let Some(gone) = r.keys.remove(digest) {
            r.deleted_keys.push(*digest);
            drop(r);
            unpoisoned(self.budgets.lock()).keys.remove(&gone.id);
        }
    }

    /// The audit records kept (the newest, up to the store's capacity), oldest first.
    pub fn audit_records(&self) -> Vec<AuditRecord> {
        self.audit_log().records.iter().cloned().collect()
    }

    /// How many audit records were let go, oldest first, to keep within the capacity.
    pub fn audit_dropped(&self) -> u64 {
        self.audit_log().dropped
    }
}

impl AuthStore for MemoryStore {
    async fn load(&self, digest: &CredentialDigest) -> Result<Arc<Loaded>, StoreError> {
        let r = self.read();
        if let Some(kept) = unpoisoned(self.loads.read()).get(digest) {
            return Ok(Arc::clone(kept));
        }
        let (key, token, user) = match digest {
            CredentialDigest::ApiKey(digest) => {
                let key = match r.keys.get(digest) {
                    Some(k) => Record::Found(k.clone()),
                    None if r.deleted_keys.contains(digest) => Record::Deleted,
                    None => Record::NotFound,
                };
                let user = match &key {
                    Record::Found(k) => r.users.get(&k.user).cloned(),
                    _ => None,
                };
                (key, Record::NotFound, user)
            }
            CredentialDigest::Bearer(digest) => {
                let token = r
                    .tokens
                    .get(digest)
                    .cloned()
                    .map_or(Record::NotFound, Record::Found);
                let user = match &token {
                    Record::Found(t) => r.users.get(&t.user).cloned(),
                    _ => None,
                };
                (Record::NotFound, token, user)
            }
        };
        let grants = user
            .as_ref()
            .and_then(|u| r.grants.get(&u.id).cloned())
            .unwrap_or_default();
        let custom_role = user.as_ref().and_then(|u| {
            let name = u.custom_role.clone()?;
            r.roles.get(&(u.company.clone(), name)).cloned()
        });
        let company = user
            .as_ref()
            .and_then(|u| r.companies.get(&u.company).cloned());
        let loaded = Arc::new(Loaded {
            key,
            token,
            user,
            grants,
            custom_role,
            company,
        });
        if loaded.is_known() {
            // Kept while `r` is held: no write came between the read and this.
            unpoisoned(self.loads.write()).insert(*digest, Arc::clone(&loaded));
        }
        drop(r);
        Ok(loaded)
    }

    async fn company(&self, id: &CompanyId) -> Result<Option<CompanyInfo>, StoreError> {
        Ok(self.read().companies.get(id).cloned())
    }

    async fn with_budget<R, F>(
        &self,
        company: &CompanyId,
        key: Option<&ApiKeyId>,
        mut f: F,
    ) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut LimitState, Option<&mut LimitState>) -> R + Send + 'static,
    {
        let mut guard = unpoisoned(self.budgets.lock());
        let Budgets { companies, keys } = &mut *guard;
        // The ids are copied only for their first budget.
        let state = match companies.get_mut(company) {
            Some(state) => state,
            None => companies.entry(company.clone()).or_default(),
        };
        let Some(key) = key else {
            return Ok(f(state, None));
        };
        let key_state = match keys.get_mut(key) {
            Some(k) => k,
            None => keys.entry(key.clone()).or_default(),
        };
        Ok(f(state, Some(key_state)))
    }

    async fn with_failures<R, F>(&self, keys: Vec<String>, mut f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut [LimitState]) -> R + Send + 'static,
    {
        let mut failures = unpoisoned(self.failures.lock());
        let mut states: Vec<LimitState> = keys
            .iter()
            .map(|k| failures.get(k).copied().unwrap_or_default())
            .collect();
        let result = f(&mut states);
        for (key, state) in keys.into_iter().zip(states) {
            failures.insert(key, state);
        }
        Ok(result)
    }

    async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        // Copied before the lock is taken: the lock is held for the push alone.
        let record = record.clone();
        let mut log = self.audit_log();
        if log.capacity == 0 {
            log.dropped = log.dropped.saturating_add(1);
            return Ok(());
        }
        if log.records.len() >= log.capacity {
            log.records.pop_front();
            log.dropped = log.dropped.saturating_add(1);
        }
        log.records.push_back(record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::arithmetic_side_effects,
        reason = "test code"
    )]

    use super::*;
    use pw_auth_core::{AuthnFailure, Policy};
    use time::macros::datetime;

    fn record(second: i64) -> AuditRecord {
        let at = datetime!(2026-11-27 12:00 UTC) + time::Duration::seconds(second);
        AuditRecord::unauthenticated(&Policy::default_policy(), AuthnFailure::Missing, None, at)
    }

    fn random(seed: u8) -> [u8; 32] {
        std::array::from_fn(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
    }

    /// What the owner changes is what the next load reads: a grant, a revoked key or
    /// token, a deleted key; a change of a record that is not there says so.
    #[tokio::test]
    async fn changes_are_read_back_by_the_next_load() {
        use pw_auth_core::{ExpiresIn, KeyLabel, Role, UserRecord, issue_token, mint_api_key};
        let now = datetime!(2026-11-27 12:00 UTC);
        let acme = CompanyId::new("acme").unwrap();
        let store = MemoryStore::default();
        let minted = mint_api_key(&acme, KeyLabel::new("k").unwrap(), &random(1), now).unwrap();
        store.add_minted(&minted);
        let max = UserRecord::active(UserId::new("max").unwrap(), acme.clone(), Role::Manager);
        store.add_user(max.clone());
        let issued = issue_token(&max, &random(2), now, ExpiresIn::DEFAULT).unwrap();
        store.add_token(issued.record.clone());
        let key = CredentialDigest::ApiKey(minted.record.digest);
        let token = CredentialDigest::Bearer(issued.record.digest);

        let eu = CompanyId::new("acme-eu").unwrap();
        store.grant(max.id.clone(), eu.clone());
        assert_eq!(
            store.load(&token).await.unwrap().grants,
            [Grant::permanent(eu)]
        );
        assert!(store.load(&key).await.unwrap().grants.is_empty());

        assert!(store.update_key(&minted.record.digest, |k| k.revoke(now).unwrap()));
        match &store.load(&key).await.unwrap().key {
            Record::Found(k) => assert_eq!(k.revoked_at, Some(now)),
            other => panic!("{other:?}"),
        }
        assert!(store.update_token(&issued.record.digest, |t| t.revoke(now).unwrap()));
        match &store.load(&token).await.unwrap().token {
            Record::Found(t) => assert_eq!(t.revoked_at, Some(now)),
            other => panic!("{other:?}"),
        }

        store.delete_key(&minted.record.digest);
        assert_eq!(store.load(&key).await.unwrap().key, Record::Deleted);
        assert!(!store.update_key(&minted.record.digest, |_| ()), "gone");
        let never = issue_token(&max, &random(3), now, ExpiresIn::DEFAULT).unwrap();
        assert!(
            !store.update_token(&never.record.digest, |_| ()),
            "never stored"
        );
    }

    /// A credential's records are read once and shared by every load after it, until
    /// anything is written; an unknown credential is never kept (so guesses cannot
    /// grow the store).
    #[tokio::test]
    async fn loads_are_shared_until_a_write() {
        use pw_auth_core::{KeyLabel, mint_api_key};
        let now = datetime!(2026-11-27 12:00 UTC);
        let acme = CompanyId::new("acme").unwrap();
        let store = MemoryStore::default();
        let minted = mint_api_key(&acme, KeyLabel::new("k").unwrap(), &random(1), now).unwrap();
        store.add_minted(&minted);
        let key = CredentialDigest::ApiKey(minted.record.digest);
        let first = store.load(&key).await.unwrap();
        let again = store.load(&key).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again), "shared, not read again");

        let unknown = CredentialDigest::ApiKey(ApiKeyDigest::from_bytes(random(9)));
        assert_eq!(store.load(&unknown).await.unwrap().key, Record::NotFound);
        assert_eq!(
            unpoisoned(store.loads.read()).len(),
            1,
            "the unknown is not kept"
        );

        // Any write lets go of what was kept: the next load reads the records anew.
        store.add_company(
            acme,
            crate::CompanyInfo {
                tier: pw_auth_core::Tier::Standard,
                parent: None,
            },
        );
        assert!(unpoisoned(store.loads.read()).is_empty());
        let after = store.load(&key).await.unwrap();
        assert!(!Arc::ptr_eq(&first, &after), "read again after a write");
        assert_eq!(
            after.key, first.key,
            "the same records: the write was elsewhere"
        );
    }

    /// The newest records are kept, oldest first; the older ones are counted, never
    /// kept past the capacity, and a capacity of zero keeps none.
    #[tokio::test]
    async fn the_audit_log_keeps_the_newest_within_its_capacity() {
        let store = MemoryStore::with_audit_capacity(3);
        for s in 0..5 {
            store.audit(&record(s)).await.unwrap();
        }
        let kept: Vec<_> = store.audit_records().iter().map(|r| r.time).collect();
        assert_eq!(kept, [2, 3, 4].map(|s| record(s).time));
        assert_eq!(store.audit_dropped(), 2);

        let none = MemoryStore::with_audit_capacity(0);
        none.audit(&record(0)).await.unwrap();
        assert!(none.audit_records().is_empty());
        assert_eq!(none.audit_dropped(), 1);

        let default = MemoryStore::default();
        for s in 0..3 {
            default.audit(&record(s)).await.unwrap();
        }
        assert_eq!(default.audit_records().len(), 3);
        assert_eq!(default.audit_dropped(), 0);
        assert_eq!(default.audit_log().capacity, DEFAULT_AUDIT_CAPACITY);
    }
}
