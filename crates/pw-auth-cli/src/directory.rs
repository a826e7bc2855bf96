//! A directory of companies, users, grants, API keys and tokens: what a server keeps
//! in its store, as one JSON file. Lookups are by digest, never by secret.

use std::borrow::Cow;

use pw_auth_core::{
    ApiKeyDigest, ApiKeyRecord, CompanyId, Lookup, RecordStore, Request, Tier, TokenDigest,
    TokenRecord, UserId, UserRecord,
};
use pw_auth_http::ServerStore;
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
}

impl ServerStore for Directory {
    fn grants(&self, user: &UserId) -> Cow<'_, [CompanyId]> {
        self.grants
            .iter()
            .filter(|g| &g.user == user)
            .map(|g| g.company.clone())
            .collect::<Vec<_>>()
            .into()
    }
}

impl RecordStore for Directory {
    fn api_key(&self, digest: &ApiKeyDigest) -> Lookup<'_, ApiKeyRecord> {
        match self.api_keys.iter().find(|k| &k.digest == digest) {
            Some(k) => Lookup::Found(k),
            None if self.deleted_keys.contains(digest) => Lookup::Deleted,
            None => Lookup::NotFound,
        }
    }

    fn token(&self, digest: &TokenDigest) -> Lookup<'_, TokenRecord> {
        self.tokens.iter().find(|t| &t.digest == digest).into()
    }

    fn user(&self, id: &UserId) -> Option<&UserRecord> {
        self.users.iter().find(|u| &u.id == id)
    }
}
