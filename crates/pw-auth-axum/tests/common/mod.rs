//! Set-up shared by the test binaries.
#![allow(clippy::unwrap_used, reason = "test code")]

use pw_auth_axum::{CompanyInfo, MemoryStore};
use pw_auth_core::{CompanyId, KeyLabel, MintedApiKey, Tier, mint_api_key};
use time::OffsetDateTime;

/// A memory store with acme (professional, no parent) and an API key of acme's,
/// minted at `now`, and that key.
pub(crate) fn acme_and_its_key(now: OffsetDateTime) -> (MemoryStore, MintedApiKey) {
    let acme = CompanyId::new("acme").unwrap();
    let minted =
        mint_api_key(&acme, KeyLabel::new("k").unwrap(), b"0123456789abcdef", now).unwrap();
    let store = MemoryStore::default();
    store.add_company(
        acme,
        CompanyInfo {
            tier: Tier::Professional,
            parent: None,
        },
    );
    store.add_minted(&minted);
    (store, minted)
}
