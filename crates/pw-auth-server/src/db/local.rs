//! What a server on a SQLite file keeps in its own memory, because it is the file's
//! only writer: the records it has read ([`ReadCache`]), each company's usage budget
//! ([`Budgets`]), and the lock that makes it the only writer ([`Owner`]).
//!
//! Exact, not eventually right: the cache is emptied after every transaction that may
//! change what it holds, before that transaction's caller (a handler, then its client)
//! hears it is done, and a read that raced with such a transaction is not kept. So a
//! request that starts after a revocation was answered reads the revocation (staleness
//! 0). Another process cannot write meanwhile: a second server on the same file is
//! refused at start ([`Owner`]).

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use pw_auth_axum::{CompanyInfo, Loaded, StoreError, StoreErrorKind};
use pw_auth_core::{ApiKeyId, CompanyId, CredentialDigest, LimitState};

/// How many credentials' records, and how many companies, the cache holds at most;
/// reaching it empties the cache (it fills again from the file).
pub(crate) const CACHE_CAPACITY: usize = 65_536;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks is one insert or removal: a panic elsewhere
    // cannot leave them half-written.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct Cached {
    /// Bumped by every invalidation: a read begun under an older one is not kept.
    generation: u64,
    /// Shared, so a hit copies the records outside the lock.
    loads: HashMap<CredentialDigest, Arc<Loaded>>,
    companies: HashMap<CompanyId, CompanyInfo>,
}

/// The records read, by credential digest and by company. Only what exists is kept
/// (a key or token found or deleted, a company found): a lookup of an unknown digest
/// always reads the file, so nobody can fill the cache with guesses.
#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    cached: Mutex<Cached>,
}

/// A read's ticket: the generation it began under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl ReadCache {
    /// What was read for `digest`, if it is held (shared, not copied).
    pub(crate) fn load(&self, digest: &CredentialDigest) -> Option<Arc<Loaded>> {
        lock(&self.cached).loads.get(digest).map(Arc::clone)
    }

    /// What was read for `company`, if it is held.
    pub(crate) fn company(&self, company: &CompanyId) -> Option<CompanyInfo> {
        lock(&self.cached).companies.get(company).cloned()
    }

    /// A ticket for a read about to begin.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(lock(&self.cached).generation)
    }

    /// Keeps what a read begun with `ticket` found for `digest`, unless something was
    /// invalidated since it began or there is nothing to keep.
    pub(crate) fn keep_load(&self, ticket: Ticket, digest: CredentialDigest, loaded: &Arc<Loaded>) {
        if !loaded.is_known() {
            return;
        }
        let held = Arc::clone(loaded);
        let mut c = lock(&self.cached);
        if c.generation == ticket.0 {
            if c.loads.len() >= CACHE_CAPACITY {
                c.loads.clear();
            }
            c.loads.insert(digest, held);
        }
    }

    /// Keeps what a read begun with `ticket` found for `company`, likewise.
    pub(crate) fn keep_company(&self, ticket: Ticket, company: CompanyId, info: &CompanyInfo) {
        let mut c = lock(&self.cached);
        if c.generation == ticket.0 {
            if c.companies.len() >= CACHE_CAPACITY {
                c.companies.clear();
            }
            c.companies.insert(company, info.clone());
        }
    }

    /// Forgets everything, and every read still under way.
    pub(crate) fn invalidate(&self) {
        let mut c = lock(&self.cached);
        c.generation = c.generation.wrapping_add(1);
        c.loads.clear();
        c.companies.clear();
    }

    /// How many credentials and companies are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> (usize, usize) {
        let c = lock(&self.cached);
        (c.loads.len(), c.companies.len())
    }
}

/// Whose budget a limiter state is: a company's, or an API key's own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Payer {
    /// A company's usage budget.
    Company(CompanyId),
    /// An API key's own (a key with a quota of its own).
    Key(ApiKeyId),
}

#[derive(Debug, Default)]
struct States {
    /// Each company's budget, as first read from the file and charged since.
    companies: HashMap<CompanyId, LimitState>,
    /// Each limited key's budget, likewise.
    keys: HashMap<ApiKeyId, LimitState>,
    /// The company budgets charged since the audit writer last took them.
    dirty_companies: HashMap<CompanyId, LimitState>,
    /// The key budgets charged since then.
    dirty_keys: HashMap<ApiKeyId, LimitState>,
}

/// Marks `id`'s budget to be written as `after`; the id is copied once per commit,
/// not once per charge.
fn mark<K: Clone + Eq + std::hash::Hash>(
    dirty: &mut HashMap<K, LimitState>,
    id: &K,
    after: LimitState,
) {
    match dirty.get_mut(id) {
        Some(d) => *d = after,
        None => {
            dirty.insert(id.clone(), after);
        }
    }
}

/// Each company's usage budget, and each limited API key's own, in memory: one lock
/// for the charge (of both, when a key has a quota) instead of a write transaction
/// per request. The audit writer writes the budgets charged since its last commit in
/// the same commit as the records (`db/batch.rs`), so a request is answered only
/// once its charge is on disk: a crash can only give back the charges of requests
/// that were never answered. A budget is read from the file once, when it is first
/// charged; only companies and keys that exist are charged (the guard charges the
/// principal's own company, and its key), so the maps are bounded by the records.
#[derive(Debug, Default)]
pub(crate) struct Budgets {
    states: Mutex<States>,
}

impl Budgets {
    /// Runs `f` on `company`'s budget and, when `key` is given, on that key's, if
    /// they are held, marking each that `f` changed to be written; `None` if one must
    /// first be read from the file (see [`Budgets::missing`]).
    pub(crate) fn charge<R>(
        &self,
        company: &CompanyId,
        key: Option<&ApiKeyId>,
        f: &mut impl FnMut(&mut LimitState, Option<&mut LimitState>) -> R,
    ) -> Option<R> {
        let mut guard = lock(&self.states);
        let s = &mut *guard;
        let state = s.companies.get_mut(company)?;
        let before = *state;
        let (result, key_change) = match key {
            None => (f(state, None), None),
            Some(id) => {
                let key_state = s.keys.get_mut(id)?;
                let key_before = *key_state;
                let result = f(state, Some(key_state));
                let key_after = *key_state;
                (result, (key_after != key_before).then_some((id, key_after)))
            }
        };
        let after = *state;
        if after != before {
            mark(&mut s.dirty_companies, company, after);
        }
        if let Some((id, key_after)) = key_change {
            mark(&mut s.dirty_keys, id, key_after);
        }
        Some(result)
    }

    /// Which of `company`'s and `key`'s budgets are not held yet (to be read from the
    /// file and [held](Budgets::hold)).
    pub(crate) fn missing(&self, company: &CompanyId, key: Option<&ApiKeyId>) -> Vec<Payer> {
        let s = lock(&self.states);
        let mut missing = Vec::new();
        if !s.companies.contains_key(company) {
            missing.push(Payer::Company(company.clone()));
        }
        if let Some(k) = key.filter(|k| !s.keys.contains_key(*k)) {
            missing.push(Payer::Key(k.clone()));
        }
        missing
    }

    /// Holds `stored`, read from the file, as `payer`'s budget, unless a charge got
    /// there first (then the held one is newer).
    pub(crate) fn hold(&self, payer: Payer, stored: LimitState) {
        let mut s = lock(&self.states);
        match payer {
            Payer::Company(c) => {
                s.companies.entry(c).or_insert(stored);
            }
            Payer::Key(k) => {
                s.keys.entry(k).or_insert(stored);
            }
        }
    }

    /// Forgets a deleted key's budget (it can never be charged again).
    pub(crate) fn forget_key(&self, key: &ApiKeyId) {
        let mut s = lock(&self.states);
        s.keys.remove(key);
        s.dirty_keys.remove(key);
    }

    /// The budgets charged since the last call, to be written.
    pub(crate) fn take_dirty(&self) -> Vec<(Payer, LimitState)> {
        let mut s = lock(&self.states);
        let companies = s
            .dirty_companies
            .drain()
            .map(|(c, st)| (Payer::Company(c), st));
        let mut all: Vec<(Payer, LimitState)> = companies.collect();
        all.extend(s.dirty_keys.drain().map(|(k, st)| (Payer::Key(k), st)));
        all
    }

    /// Puts back budgets whose write failed, unless charged again since (then the
    /// newer state is the one to write).
    pub(crate) fn restore_dirty(&self, states: Vec<(Payer, LimitState)>) {
        let mut s = lock(&self.states);
        for (payer, state) in states {
            match payer {
                Payer::Company(c) => {
                    s.dirty_companies.entry(c).or_insert(state);
                }
                Payer::Key(k) => {
                    s.dirty_keys.entry(k).or_insert(state);
                }
            }
        }
    }
}

/// The lock that makes a server its SQLite file's only writer: an exclusive `flock`
/// on `<file>-lock` beside it (never on the database file itself, whose POSIX locks
/// SQLite owns), held for as long as the records are open.
#[derive(Debug)]
pub(crate) struct Owner {
    _file: File,
}

impl Owner {
    /// Takes the lock for the database at `path`, or refuses: another server (or
    /// another [`Db`](super::Db) in this process) has the file open.
    pub(crate) fn take(path: &Path) -> Result<Owner, StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        let lock_path = super::sqlite::sidecar(path, "-lock");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(super::err)?;
        match file.try_lock() {
            Ok(()) => Ok(Owner { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::new(
                StoreErrorKind::Unavailable,
                format!(
                    "the database {} is open in another server: one server per SQLite file (several servers share PostgreSQL)",
                    path.display()
                ),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(super::err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pw_auth_axum::Record;
    use pw_auth_core::{ApiKeyDigest, Tier};

    fn digest(n: u8) -> CredentialDigest {
        CredentialDigest::ApiKey(ApiKeyDigest::from_bytes([n; 32]))
    }

    fn acme() -> CompanyId {
        CompanyId::new("acme").unwrap()
    }

    fn found() -> Arc<Loaded> {
        Arc::new(Loaded {
            key: Record::Deleted,
            ..Loaded::default()
        })
    }

    #[test]
    fn a_read_is_kept_unless_invalidated_while_it_ran() {
        let cache = ReadCache::default();
        let t = cache.ticket();
        cache.keep_load(t, digest(1), &found());
        assert!(cache.load(&digest(1)).is_some());

        let t = cache.ticket();
        cache.invalidate();
        assert!(cache.load(&digest(1)).is_none(), "invalidated");
        cache.keep_load(t, digest(2), &found());
        assert!(
            cache.load(&digest(2)).is_none(),
            "read before the invalidation"
        );
        let info = CompanyInfo {
            tier: Tier::Standard,
            parent: None,
        };
        cache.keep_company(t, acme(), &info);
        assert!(cache.company(&acme()).is_none());

        let t = cache.ticket();
        cache.keep_company(t, acme(), &info);
        assert_eq!(cache.company(&acme()), Some(info));
        cache.invalidate();
        assert_eq!(cache.len(), (0, 0));
    }

    #[test]
    fn an_unknown_credential_is_never_kept() {
        let cache = ReadCache::default();
        cache.keep_load(cache.ticket(), digest(1), &Arc::new(Loaded::default()));
        assert_eq!(cache.len(), (0, 0));
    }

    /// Up to its capacity everything read is held; one more empties it first.
    #[test]
    fn the_cache_is_bounded() {
        let cache = ReadCache::default();
        let info = CompanyInfo {
            tier: Tier::Standard,
            parent: None,
        };
        let keep = |i: usize| {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let d = CredentialDigest::ApiKey(ApiKeyDigest::from_bytes(bytes));
            cache.keep_load(cache.ticket(), d, &found());
            let c = CompanyId::new(&format!("c{i}")).unwrap();
            cache.keep_company(cache.ticket(), c, &info);
        };
        for i in 0..CACHE_CAPACITY {
            keep(i);
        }
        assert_eq!(cache.len(), (CACHE_CAPACITY, CACHE_CAPACITY));
        keep(CACHE_CAPACITY);
        assert_eq!(cache.len(), (1, 1));
    }

    #[test]
    fn a_charge_is_marked_for_writing_once_and_a_failed_write_is_put_back() {
        let budgets = Budgets::default();
        // Each charge admits one request of a roomy quota: the state moves on.
        let quota = pw_auth_core::Quota::new(1000, 60, 1000).unwrap();
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let mut bump = |s: &mut LimitState, _: Option<&mut LimitState>| {
            *s = pw_auth_core::check_limit(*s, &quota, now).1;
        };
        assert!(
            budgets.charge(&acme(), None, &mut bump).is_none(),
            "not read yet"
        );
        assert_eq!(budgets.missing(&acme(), None), [Payer::Company(acme())]);
        budgets.hold(Payer::Company(acme()), LimitState::default());
        assert!(budgets.missing(&acme(), None).is_empty());
        // Held already: a later read from the file does not replace it.
        budgets.charge(&acme(), None, &mut bump).unwrap();
        budgets.hold(Payer::Company(acme()), LimitState::default());
        let dirty = budgets.take_dirty();
        assert_eq!(dirty.len(), 1);
        assert_ne!(dirty[0].1, LimitState::default());
        assert!(budgets.take_dirty().is_empty(), "taken");

        // An unchanged budget is not written.
        budgets.charge(&acme(), None, &mut |_, _| ()).unwrap();
        assert!(budgets.take_dirty().is_empty());

        // Charged twice between two commits: the latest state is the one written.
        budgets.charge(&acme(), None, &mut bump).unwrap();
        budgets.charge(&acme(), None, &mut bump).unwrap();
        let latest = budgets.charge(&acme(), None, &mut |s, _| *s).unwrap();
        assert_eq!(budgets.take_dirty(), [(Payer::Company(acme()), latest)]);

        // A failed write is put back, unless charged again meanwhile.
        budgets.restore_dirty(dirty.clone());
        assert_eq!(budgets.take_dirty(), dirty);
        budgets.charge(&acme(), None, &mut bump).unwrap();
        let newer = budgets.take_dirty();
        budgets.charge(&acme(), None, &mut bump).unwrap();
        budgets.restore_dirty(newer.clone());
        let kept = budgets.take_dirty();
        assert_ne!(kept, newer, "the newer charge is the one written");
    }

    #[test]
    fn a_key_and_its_company_are_charged_under_one_lock_and_written_together() {
        let budgets = Budgets::default();
        let quota = pw_auth_core::Quota::new(1000, 60, 1000).unwrap();
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let key = ApiKeyId::new("key_1").unwrap();
        let mut both = |s: &mut LimitState, k: Option<&mut LimitState>| {
            *s = pw_auth_core::check_limit(*s, &quota, now).1;
            let k = k.expect("the key's state is handed over");
            *k = pw_auth_core::check_limit(*k, &quota, now).1;
        };
        // The company is held, the key not yet: nothing is charged until both are.
        budgets.hold(Payer::Company(acme()), LimitState::default());
        assert!(budgets.charge(&acme(), Some(&key), &mut both).is_none());
        assert!(budgets.take_dirty().is_empty(), "nothing charged");
        assert_eq!(
            budgets.missing(&acme(), Some(&key)),
            [Payer::Key(key.clone())]
        );
        budgets.hold(Payer::Key(key.clone()), LimitState::default());
        budgets.charge(&acme(), Some(&key), &mut both).unwrap();
        let mut dirty = budgets.take_dirty();
        dirty.sort_by_key(|(p, _)| matches!(p, Payer::Key(_)));
        let [(Payer::Company(c), cs), (Payer::Key(k), ks)] = &dirty[..] else {
            panic!("{dirty:?}");
        };
        assert_eq!((c, k), (&acme(), &key));
        assert_ne!(*cs, LimitState::default());
        assert_ne!(*ks, LimitState::default());

        // Only what changed is written: the key's alone here.
        budgets
            .charge(&acme(), Some(&key), &mut |_, k: Option<&mut LimitState>| {
                if let Some(k) = k {
                    *k = LimitState::default();
                }
            })
            .unwrap();
        assert_eq!(
            budgets.take_dirty(),
            [(Payer::Key(key.clone()), LimitState::default())]
        );

        // A deleted key is forgotten, with any charge not yet written.
        budgets.charge(&acme(), Some(&key), &mut both).unwrap();
        budgets.forget_key(&key);
        assert_eq!(budgets.take_dirty().len(), 1, "the company's charge alone");
        assert_eq!(
            budgets.missing(&acme(), Some(&key)),
            [Payer::Key(key.clone())]
        );
    }

    #[test]
    fn one_owner_per_file() {
        let dir = std::env::temp_dir().join(format!("pw-auth-owner-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("records.sqlite");
        let first = Owner::take(&path).unwrap();
        let e = Owner::take(&path).unwrap_err();
        assert!(e.to_string().contains("open in another server"), "{e}");
        drop(first);
        Owner::take(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
