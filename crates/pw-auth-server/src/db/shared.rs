//! What a server on PostgreSQL keeps of the records when several servers share them
//! and one Redis ([`SharedCache`]): exact for every change made through a server, by
//! a generation number in Redis.
//!
//! Every transaction that may change a record bumps the generation in Redis after it
//! commits and before its caller hears it is done ([`Db::transaction`]). A request
//! reads the generation first; it uses what this server read earlier only if that
//! was read under the same generation, and it keeps what it reads now under the
//! generation it read before reading. So a request that starts after a change was
//! answered — on any server — reads a newer generation than anything read before the
//! change committed, and reads the records again (staleness 0). A change committed
//! where Redis is not told (the `admin` command without `--redis`, or Redis lost
//! between the commit and the bump) is read once what was kept is [`MAX_AGE`] old.
//!
//! [`Db::transaction`]: super::Db

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use pw_auth_axum::{CompanyInfo, Loaded};
use pw_auth_core::{CompanyId, CredentialDigest};
use time::OffsetDateTime;

use super::local::CACHE_CAPACITY;

/// How long what was read is used at most, by the server's clock, however the
/// generation stands: the bound on a change Redis was not told of.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under this lock is one insert or a clear: a panic elsewhere cannot
    // leave it half-written.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct Kept {
    /// The generation everything held was read under (`None`: nothing held).
    generation: Option<String>,
    loads: HashMap<CredentialDigest, (Arc<Loaded>, OffsetDateTime)>,
    companies: HashMap<CompanyId, (CompanyInfo, OffsetDateTime)>,
}

impl Kept {
    /// Ready for `generation`: what was read under another is let go.
    fn at(&mut self, generation: &str) -> &mut Kept {
        if self.generation.as_deref() != Some(generation) {
            self.loads.clear();
            self.companies.clear();
            self.generation = Some(generation.to_owned());
        }
        self
    }
}

/// The records read, by credential digest and by company, under one generation.
/// Only what exists is kept (as in the single server's cache), at most
/// [`CACHE_CAPACITY`] of each.
#[derive(Debug, Default)]
pub(crate) struct SharedCache {
    kept: Mutex<Kept>,
}

impl SharedCache {
    /// What was read for `digest` under `generation` less than [`MAX_AGE`] before
    /// `now` (shared, not copied).
    pub(crate) fn load(
        &self,
        generation: &str,
        digest: &CredentialDigest,
        now: OffsetDateTime,
    ) -> Option<Arc<Loaded>> {
        let mut kept = lock(&self.kept);
        let (loaded, at) = kept.at(generation).loads.get(digest)?;
        fresh(*at, now).then(|| Arc::clone(loaded))
    }

    /// What was read for `company` likewise.
    pub(crate) fn company(
        &self,
        generation: &str,
        company: &CompanyId,
        now: OffsetDateTime,
    ) -> Option<CompanyInfo> {
        let mut kept = lock(&self.kept);
        let (info, at) = kept.at(generation).companies.get(company)?;
        fresh(*at, now).then(|| info.clone())
    }

    /// Keeps what a read begun under `generation`, at `at`, found for `digest`:
    /// unless a newer generation was seen meanwhile, or there is nothing to keep.
    pub(crate) fn keep_load(
        &self,
        generation: &str,
        digest: CredentialDigest,
        loaded: &Arc<Loaded>,
        at: OffsetDateTime,
    ) {
        if !loaded.is_known() {
            return;
        }
        let mut kept = lock(&self.kept);
        if kept.generation.as_deref() != Some(generation) {
            return;
        }
        if kept.loads.len() >= CACHE_CAPACITY {
            kept.loads.clear();
        }
        kept.loads.insert(digest, (Arc::clone(loaded), at));
    }

    /// Keeps what a read begun under `generation`, at `at`, found for `company`,
    /// likewise.
    pub(crate) fn keep_company(
        &self,
        generation: &str,
        company: CompanyId,
        info: &CompanyInfo,
        at: OffsetDateTime,
    ) {
        let mut kept = lock(&self.kept);
        if kept.generation.as_deref() != Some(generation) {
            return;
        }
        if kept.companies.len() >= CACHE_CAPACITY {
            kept.companies.clear();
        }
        kept.companies.insert(company, (info.clone(), at));
    }

    /// Forgets everything (this server changed a record: the next read finds the
    /// generation it bumped, but nothing need wait for that).
    pub(crate) fn clear(&self) {
        let mut kept = lock(&self.kept);
        kept.generation = None;
        kept.loads.clear();
        kept.companies.clear();
    }
}

/// Whether something read at `at` may still be used at `now`: not if the clock went
/// back since.
fn fresh(at: OffsetDateTime, now: OffsetDateTime) -> bool {
    let until = time::Duration::try_from(MAX_AGE)
        .ok()
        .and_then(|max| at.checked_add(max));
    until.is_some_and(|until| at <= now && now < until)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use pw_auth_axum::Record;
    use pw_auth_core::{ApiKeyDigest, Tier};

    fn digest(n: u8) -> CredentialDigest {
        CredentialDigest::ApiKey(ApiKeyDigest::from_bytes([n; 32]))
    }

    fn found() -> Arc<Loaded> {
        Arc::new(Loaded {
            key: Record::Deleted,
            ..Loaded::default()
        })
    }

    fn info() -> CompanyInfo {
        CompanyInfo {
            tier: Tier::Professional,
            parent: None,
        }
    }

    /// What is kept is used under the generation it was read under, and under no
    /// other: a newer one lets everything go, and a read begun under the older one
    /// is not kept after that.
    #[test]
    fn only_the_generation_read_under_is_served() {
        let cache = SharedCache::default();
        let t0 = time::macros::datetime!(2026-12-07 12:00 UTC);
        let acme = CompanyId::new("acme").unwrap();
        assert!(cache.load("7", &digest(1), t0).is_none(), "nothing yet");
        cache.keep_load("7", digest(1), &found(), t0);
        cache.keep_company("7", acme.clone(), &info(), t0);
        assert!(cache.load("7", &digest(1), t0).is_some());
        assert_eq!(cache.company("7", &acme, t0), Some(info()));
        assert!(cache.load("7", &digest(2), t0).is_none(), "another digest");

        // A request that read generation 8 finds nothing of 7's, and 7's are gone.
        assert!(cache.load("8", &digest(1), t0).is_none());
        assert!(
            cache.load("7", &digest(1), t0).is_none(),
            "let go, not kept aside"
        );
        assert!(cache.company("7", &acme, t0).is_none());
        // A read begun under 7 that ends now is not kept under 8.
        cache.load("8", &digest(3), t0);
        cache.keep_load("7", digest(3), &found(), t0);
        cache.keep_company("7", acme.clone(), &info(), t0);
        assert!(cache.load("8", &digest(3), t0).is_none());
        assert!(cache.company("8", &acme, t0).is_none());
    }

    /// Nothing is used once it is `MAX_AGE` old, whatever the generation.
    #[test]
    fn nothing_is_used_past_its_age() {
        let cache = SharedCache::default();
        let t0 = time::macros::datetime!(2026-12-07 12:00 UTC);
        let acme = CompanyId::new("acme").unwrap();
        cache.load("1", &digest(1), t0);
        cache.keep_load("1", digest(1), &found(), t0);
        cache.keep_company("1", acme.clone(), &info(), t0);
        let nearly = t0 + MAX_AGE - Duration::from_millis(1);
        assert!(cache.load("1", &digest(1), nearly).is_some());
        assert!(cache.company("1", &acme, nearly).is_some());
        assert!(cache.load("1", &digest(1), t0 + MAX_AGE).is_none());
        assert!(cache.company("1", &acme, t0 + MAX_AGE).is_none());
        // Kept "later" than now (a clock read out of order): not used either.
        cache.keep_load("1", digest(2), &found(), t0 + MAX_AGE);
        assert!(cache.load("1", &digest(2), t0).is_none());
    }

    /// Everything read under one generation is kept together, up to the capacity;
    /// past it, what was kept is let go (memory stays bounded).
    #[test]
    fn what_is_kept_is_bounded() {
        let cache = SharedCache::default();
        let t0 = time::macros::datetime!(2026-12-07 12:00 UTC);
        let (acme, beta) = (
            CompanyId::new("acme").unwrap(),
            CompanyId::new("beta").unwrap(),
        );
        cache.load("1", &digest(1), t0);
        cache.keep_load("1", digest(1), &found(), t0);
        cache.keep_load("1", digest(2), &found(), t0);
        cache.keep_company("1", acme.clone(), &info(), t0);
        cache.keep_company("1", beta.clone(), &info(), t0);
        assert!(cache.load("1", &digest(1), t0).is_some(), "both kept");
        assert!(cache.load("1", &digest(2), t0).is_some(), "both kept");
        assert!(cache.company("1", &acme, t0).is_some(), "both kept");
        assert!(cache.company("1", &beta, t0).is_some(), "both kept");

        let many = u32::try_from(CACHE_CAPACITY).unwrap();
        for n in 0..many {
            let mut bytes = [0u8; 32];
            bytes[..4].copy_from_slice(&n.to_le_bytes());
            let d = CredentialDigest::ApiKey(ApiKeyDigest::from_bytes(bytes));
            cache.keep_load("1", d, &found(), t0);
            let c = CompanyId::new(&format!("c{n}")).unwrap();
            cache.keep_company("1", c, &info(), t0);
        }
        let kept = lock(&cache.kept);
        assert!(kept.loads.len() <= CACHE_CAPACITY, "{}", kept.loads.len());
        assert!(kept.companies.len() <= CACHE_CAPACITY);
    }

    /// An unknown credential is never kept; a clear forgets everything, and a read
    /// begun before it is not kept after it.
    #[test]
    fn unknowns_are_not_kept_and_a_clear_forgets() {
        let cache = SharedCache::default();
        let t0 = time::macros::datetime!(2026-12-07 12:00 UTC);
        cache.load("1", &digest(1), t0);
        cache.keep_load("1", digest(1), &Arc::new(Loaded::default()), t0);
        assert!(
            cache.load("1", &digest(1), t0).is_none(),
            "unknown: not kept"
        );
        cache.keep_load("1", digest(2), &found(), t0);
        assert!(cache.load("1", &digest(2), t0).is_some());
        cache.clear();
        cache.keep_load("1", digest(2), &found(), t0);
        assert!(
            lock(&cache.kept).loads.is_empty(),
            "a read begun before the clear"
        );
        assert!(cache.load("1", &digest(2), t0).is_none());
    }
}
