//! Principals: who is calling, in which company, with which role, and how they
//! authenticated.

use serde::Serialize;
use time::OffsetDateTime;

use crate::id::{ApiKeyId, CompanyId, TokenId, UserId};
use crate::role::{Level, Role};

/// How a principal authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthMethod {
    /// With an API key.
    ApiKey {
        /// The key's record id.
        key_id: ApiKeyId,
    },
    /// With an OAuth 2 bearer token.
    Bearer {
        /// The token's record id.
        token_id: TokenId,
        /// When the token expires.
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
}

/// Who is calling: an authenticated user of a company.
///
/// Its invariants hold by construction: an API-key principal is always an api-user;
/// a bearer principal has its user's role.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    user: UserId,
    company: CompanyId,
    role: Role,
    method: AuthMethod,
}

impl Principal {
    /// The principal behind an API key: always the key's api-user.
    pub fn api_key(user: UserId, company: CompanyId, key_id: ApiKeyId) -> Principal {
        Principal {
            user,
            company,
            role: Role::ApiUser,
            method: AuthMethod::ApiKey { key_id },
        }
    }

    /// The principal behind a bearer token, with the role of the user whose
    /// credentials created it.
    pub fn bearer(
        user: UserId,
        company: CompanyId,
        role: Role,
        token_id: TokenId,
        expires_at: OffsetDateTime,
    ) -> Principal {
        Principal {
            user,
            company,
            role,
            method: AuthMethod::Bearer {
                token_id,
                expires_at,
            },
        }
    }

    /// The user.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The user's own (home) company.
    pub fn company(&self) -> &CompanyId {
        &self.company
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The level the principal acts at.
    pub fn level(&self) -> Level {
        self.role.level()
    }

    /// How the principal authenticated.
    pub fn method(&self) -> &AuthMethod {
        &self.method
    }
}
