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
use pw_auth_core::{CompanyId, CredentialDigest, LimitState};

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
    /// What was read for `digest`, if it is held.
    pub(crate) fn load(&self, digest: &CredentialDigest) -> Option<Loaded> {
        let held = lock(&self.cached).loads.get(digest).map(Arc::clone)?;
        Some(Loaded::clone(&held))
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
    pub(crate) fn keep_load(&self, ticket: Ticket, digest: CredentialDigest, loaded: &Loaded) {
        let found = !matches!(loaded.key, pw_auth_axum::Record::NotFound)
            || !matches!(loaded.token, pw_auth_axum::Record::NotFound);
        if !found {
            return;
        }
        let held = Arc::new(loaded.clone());
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

#[derive(Debug, Default)]
struct States {
    /// Each company's budget, as first read from the file and charged since.
    current: HashMap<CompanyId, LimitState>,
    /// The budgets charged since the audit writer last took them.
    dirty: HashMap<CompanyId, LimitState>,
}

/// Each company's usage budget, in memory: one lock for the charge instead of a write
/// transaction per request. The audit writer writes the budgets charged since its last
/// commit in the same commit as the records (`db/batch.rs`), so a request is answered
/// only once its charge is on disk: a crash can only give back the charges of
/// requests that were never answered. A budget is read from the file once, when the
/// company is first charged; only companies that exist are charged (the guard charges
/// the principal's own), so the map is bounded by the companies.
#[derive(Debug, Default)]
pub(crate) struct Budgets {
    states: Mutex<States>,
}

impl Budgets {
    /// Runs `f` on `company`'s budget if it is held, marking it to be written when `f`
    /// changed it; `None` if it must first be read from the file.
    pub(crate) fn charge<R>(
        &self,
        company: &CompanyId,
        f: &mut impl FnMut(&mut LimitState) -> R,
    ) -> Option<R> {
        let mut s = lock(&self.states);
        let state = s.current.get_mut(company)?;
        let before = *state;
        let result = f(state);
        let after = *state;
        if after != before {
            // The id is copied once per commit, not once per charge.
            match s.dirty.get_mut(company) {
                Some(dirty) => *dirty = after,
                None => {
                    s.dirty.insert(company.clone(), after);
                }
            }
        }
        Some(result)
    }

    /// Holds `stored`, read from the file, as `company`'s budget, unless a charge got
    /// there first (then the held one is newer).
    pub(crate) fn hold(&self, company: &CompanyId, stored: LimitState) {
        lock(&self.states)
            .current
            .entry(company.clone())
            .or_insert(stored);
    }

    /// The budgets charged since the last call, to be written.
    pub(crate) fn take_dirty(&self) -> Vec<(CompanyId, LimitState)> {
        lock(&self.states).dirty.drain().collect()
    }

    /// Puts back budgets whose write failed, unless charged again since (then the
    /// newer state is the one to write).
    pub(crate) fn restore_dirty(&self, states: Vec<(CompanyId, LimitState)>) {
        let mut s = lock(&self.states);
        for (company, state) in states {
            s.dirty.entry(company).or_insert(state);
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

    fn found() -> Loaded {
        Loaded {
            key: Record::Deleted,
            ..Loaded::default()
        }
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
        cache.keep_load(cache.ticket(), digest(1), &Loaded::default());
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
        let mut bump = |s: &mut LimitState| *s = pw_auth_core::check_limit(*s, &quota, now).1;
        assert!(budgets.charge(&acme(), &mut bump).is_none(), "not read yet");
        budgets.hold(&acme(), LimitState::default());
        // Held already: a later read from the file does not replace it.
        budgets.charge(&acme(), &mut bump).unwrap();
        budgets.hold(&acme(), LimitState::default());
        let dirty = budgets.take_dirty();
        assert_eq!(dirty.len(), 1);
        assert_ne!(dirty[0].1, LimitState::default());
        assert!(budgets.take_dirty().is_empty(), "taken");

        // An unchanged budget is not written.
        budgets.charge(&acme(), &mut |_| ()).unwrap();
        assert!(budgets.take_dirty().is_empty());

        // Charged twice between two commits: the latest state is the one written.
        budgets.charge(&acme(), &mut bump).unwrap();
        budgets.charge(&acme(), &mut bump).unwrap();
        let latest = budgets.charge(&acme(), &mut |s| *s).unwrap();
        assert_eq!(budgets.take_dirty(), [(acme(), latest)]);

        // A failed write is put back, unless charged again meanwhile.
        budgets.restore_dirty(dirty.clone());
        assert_eq!(budgets.take_dirty(), dirty);
        budgets.charge(&acme(), &mut bump).unwrap();
        let newer = budgets.take_dirty();
        budgets.charge(&acme(), &mut bump).unwrap();
        budgets.restore_dirty(newer.clone());
        let kept = budgets.take_dirty();
        assert_ne!(kept, newer, "the newer charge is the one written");
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
