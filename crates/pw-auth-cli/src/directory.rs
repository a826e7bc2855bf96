//! A directory of companies, users, grants, API keys and tokens: what a server keeps
//! in its store, as one JSON file. Lookups are by digest, never by secret.

use pw_auth_core::{
    ApiKeyDigest, ApiKeyRecord, CompanyId, MemoryRecords, Request, Tier, TokenRecord, UserId,
    UserRecord,
};
use serde::{Deserialize, Serialize};

/// A company and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Company {
    pub(crate) id: CompanyId,
    pub(crate) tier: Tier,
    /// The parent company, if this one is linked to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) parent: Option<CompanyId>,
}

/// An explicit grant for a parent's team member to act in a linked company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Grant {
    pub(crate) user: UserId,
    pub(crate) company: CompanyId,
}

/// The whole store, as loaded from `--directory FILE`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Directory {
    pub(crate) companies: Vec<Company>,
    pub(crate) users: Vec<UserRecord>,
    #[serde(default)]
    pub(crate) grants: Vec<Grant>,
    #[serde(default)]
    pub(crate) api_keys: Vec<ApiKeyRecord>,
    #[serde(default)]
    pub(crate) tokens: Vec<TokenRecord>,
    /// Digests of deleted keys, kept so that a request can be told "deleted".
    #[serde(default)]
    pub(crate) deleted_keys: Vec<ApiKeyDigest>,
}

impl Directory {
    pub(crate) fn company(&self, id: &CompanyId) -> Option<&Company> {
        self.companies.iter().find(|c| &c.id == id)
    }

    /// What the routing of a server knows before authentication: the company's tier
    /// and parent.
    pub(crate) fn request<'a>(
        &'a self,
        action: &'a str,
        company: &'a CompanyId,
    ) -> Result<Request<'a>, String> {
        let c = self
            .company(company)
            .ok_or_else(|| format!("company `{company}` is not in the directory"))?;
        Ok(Request::new(action, company, c.tier).with_parent(c.parent.as_ref()))
    }

    /// The directory's records as a store to look them up in: users, keys, tokens,
    /// deleted keys' digests (told "deleted") and grants.
    pub(crate) fn records(&self) -> MemoryRecords {
        let mut records = MemoryRecords::new();
        for digest in &self.deleted_keys {
            records.delete_key(digest);
        }
        for user in &self.users {
            records.insert_user(user.clone());
        }
        for key in &self.api_keys {
            records.insert_key(key.clone());
        }
        for token in &self.tokens {
            records.insert_token(token.clone());
        }
        for grant in &self.grants {
            records.grant(grant.user.clone(), grant.company.clone());
        }
        records
    }
}
