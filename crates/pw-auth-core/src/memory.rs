//! Records in memory, keyed by digest: the [`RecordStore`] of tests, examples, fuzz
//! targets, benchmarks and the command line (feature `memory`, which `test-support`
//! includes), so none of them writes its own. `pw-auth-http` implements its
//! `ServerStore` (the grants) on it too, with its own `memory` feature.

use std::collections::{HashMap, HashSet};

use crate::{
    ApiKeyDigest, ApiKeyRecord, CompanyId, Lookup, MintedApiKey, RecordStore, TokenDigest,
    TokenRecord, UserId, UserRecord,
};

/// Users, API-key and token records, deleted keys' digests and linked-company grants,
/// in memory. Looked up by digest, as a real store is; it never holds a secret.
///
/// ```
/// use pw_auth_core::*;
/// use time::macros::datetime;
/// let now = datetime!(2026-11-27 12:00 UTC);
/// let acme = CompanyId::new("acme")?;
/// let minted = mint_api_key(&acme, KeyLabel::new("erp")?, b"0123456789abcdef", now)?;
/// let mut records = MemoryRecords::new();
/// records.insert_minted(&minted);
/// let key = Credential::ApiKey(minted.key);
/// let principal = Authenticator::default().authenticate(&key, &records, now)?;
/// assert_eq!(principal.role(), Role::ApiUser);
///
/// // Deleted: the store remembers the digest, so the key is told "deleted".
/// records.delete_key(&minted.record.digest);
/// assert_eq!(
///     Authenticator::default().authenticate(&key, &records, now).unwrap_err(),
///     AuthnFailure::Deleted,
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryRecords {
    users: HashMap<UserId, UserRecord>,
    keys: HashMap<ApiKeyDigest, ApiKeyRecord>,
    deleted_keys: HashSet<ApiKeyDigest>,
    tokens: HashMap<TokenDigest, TokenRecord>,
    grants: HashMap<UserId, Vec<CompanyId>>,
}

impl MemoryRecords {
    /// No records.
    pub fn new() -> MemoryRecords {
        MemoryRecords::default()
    }

    /// Adds (or replaces) a user.
    pub fn insert_user(&mut self, user: UserRecord) -> &mut MemoryRecords {
        self.users.insert(user.id.clone(), user);
        self
    }

    /// Adds (or replaces) an API-key record.
    pub fn insert_key(&mut self, record: ApiKeyRecord) -> &mut MemoryRecords {
        self.deleted_keys.remove(&record.digest);
        self.keys.insert(record.digest, record);
        self
    }

    /// Adds a freshly minted key's record and its api-user (never the key itself).
    pub fn insert_minted(&mut self, minted: &MintedApiKey) -> &mut MemoryRecords {
        self.insert_user(minted.user.clone())
            .insert_key(minted.record.clone())
    }

    /// Adds (or replaces) a token record.
    pub fn insert_token(&mut self, record: TokenRecord) -> &mut MemoryRecords {
        self.tokens.insert(record.digest, record);
        self
    }

    /// Gives `user` a grant for the linked company `company` (once).
    pub fn grant(&mut self, user: UserId, company: CompanyId) -> &mut MemoryRecords {
        let grants = self.grants.entry(user).or_default();
        if !grants.contains(&company) {
            grants.push(company);
        }
        self
    }

    /// Deletes the key with this digest, remembering the digest so that a request
    /// with the key is told "deleted"; the record, if there was one.
    pub fn delete_key(&mut self, digest: &ApiKeyDigest) -> Option<ApiKeyRecord> {
        self.deleted_keys.insert(*digest);
        self.keys.remove(digest)
    }

    /// The user with this id, to change (disable, demote).
    pub fn user_mut(&mut self, id: &UserId) -> Option<&mut UserRecord> {
        self.users.get_mut(id)
    }

    /// The key record with this digest, to change (revoke).
    pub fn key_mut(&mut self, digest: &ApiKeyDigest) -> Option<&mut ApiKeyRecord> {
        self.keys.get_mut(digest)
    }

    /// The token record with this digest, to change (revoke).
    pub fn token_mut(&mut self, digest: &TokenDigest) -> Option<&mut TokenRecord> {
        self.tokens.get_mut(digest)
    }

    /// The linked companies `user` holds a grant for, in the order granted.
    pub fn grants_of(&self, user: &UserId) -> &[CompanyId] {
        self.grants.get(user).map_or(&[], Vec::as_slice)
    }
}

impl RecordStore for MemoryRecords {
    fn api_key(&self, digest: &ApiKeyDigest) -> Lookup<'_, ApiKeyRecord> {
        match self.keys.get(digest) {
            Some(record) => Lookup::Found(record),
            None if self.deleted_keys.contains(digest) => Lookup::Deleted,
            None => Lookup::NotFound,
        }
    }

    fn token(&self, digest: &TokenDigest) -> Lookup<'_, TokenRecord> {
        self.tokens.get(digest).into()
    }

    fn user(&self, id: &UserId) -> Option<&UserRecord> {
        self.users.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExpiresIn, KeyLabel, Role, issue_token, mint_api_key, testing::NOW};

    fn acme() -> CompanyId {
        CompanyId::new("acme").unwrap()
    }

    #[test]
    fn records_are_found_by_digest_and_deleted_keys_remembered() {
        let m = mint_api_key(
            &acme(),
            KeyLabel::new("erp").unwrap(),
            b"0123456789abcdef",
            NOW,
        )
        .unwrap();
        let other = mint_api_key(
            &acme(),
            KeyLabel::new("b").unwrap(),
            b"fedcba9876543210",
            NOW,
        )
        .unwrap();
        let ann = UserRecord::active(UserId::new("ann").unwrap(), acme(), Role::Manager);
        let t = issue_token(&ann, b"a1b2c3d4e5f6a7b8", NOW, ExpiresIn::DEFAULT).unwrap();
        let mut r = MemoryRecords::new();
        assert_eq!(r.api_key(&m.record.digest), Lookup::NotFound);
        r.insert_minted(&m)
            .insert_user(ann.clone())
            .insert_token(t.record.clone());
        assert_eq!(r.api_key(&m.record.digest), Lookup::Found(&m.record));
        assert_eq!(r.api_key(&other.record.digest), Lookup::NotFound);
        assert_eq!(r.token(&t.record.digest), Lookup::Found(&t.record));
        assert_eq!(r.user(&m.user.id), Some(&m.user));
        assert_eq!(r.user(&ann.id), Some(&ann));
        assert_eq!(r.user(&UserId::new("nobody").unwrap()), None);

        assert_eq!(r.delete_key(&m.record.digest), Some(m.record.clone()));
        assert_eq!(r.api_key(&m.record.digest), Lookup::Deleted);
        assert_eq!(r.delete_key(&m.record.digest), None);
        // Put back: found again, no longer "deleted".
        r.insert_key(m.record.clone());
        assert_eq!(r.api_key(&m.record.digest), Lookup::Found(&m.record));

        r.key_mut(&m.record.digest).unwrap().revoke(NOW).unwrap();
        let Lookup::Found(revoked) = r.api_key(&m.record.digest) else {
            panic!("the key is kept")
        };
        assert!(revoked.revoked_at.is_some());
        r.token_mut(&t.record.digest).unwrap().revoke(NOW).unwrap();
        r.user_mut(&ann.id).unwrap().role = Role::ApiUser;
        assert_eq!(r.user(&ann.id).unwrap().role, Role::ApiUser);
        assert!(r.key_mut(&other.record.digest).is_none());
    }

    #[test]
    fn grants_are_kept_once_in_order() {
        let (max, eu, us) = (
            UserId::new("max").unwrap(),
            CompanyId::new("acme-eu").unwrap(),
            CompanyId::new("acme-us").unwrap(),
        );
        let mut r = MemoryRecords::new();
        assert!(r.grants_of(&max).is_empty());
        r.grant(max.clone(), eu.clone())
            .grant(max.clone(), us.clone())
            .grant(max.clone(), eu.clone());
        assert_eq!(r.grants_of(&max), [eu, us]);
        assert!(r.grants_of(&UserId::new("ann").unwrap()).is_empty());
    }
}
