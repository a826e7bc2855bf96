//! Principals: who is calling, in which company, with which role, and how they
//! authenticated.

use serde::Serialize;
use time::OffsetDateTime;

use crate::id::{ApiKeyId, CompanyId, TokenId, UserId};
use crate::role::{CustomRoleName, Level, Role};

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
    custom_role: Option<CustomRoleName>,
    method: AuthMethod,
}

impl Principal {
    /// The principal behind an API key: always the key's api-user.
    pub fn api_key(user: UserId, company: CompanyId, key_id: ApiKeyId) -> Principal {
        Principal {
            user,
            company,
            role: Role::ApiUser,
            custom_role: None,
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
            custom_role: None,
            method: AuthMethod::Bearer {
                token_id,
                expires_at,
            },
        }
    }

    /// The same bearer principal acting under a custom role: its permissions become
    /// exactly the custom role's toggles. An API-key principal never takes a custom
    /// role; for one this returns it unchanged.
    pub fn with_custom_role(mut self, custom_role: CustomRoleName) -> Principal {
        if self.role != Role::ApiUser {
            self.custom_role = Some(custom_role);
        }
        self
    }

    /// The custom role the principal acts under, if any.
    pub fn custom_role(&self) -> Option<&CustomRoleName> {
        self.custom_role.as_ref()
    }

    /// The user.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The user's own (home) company.
    pub fn company(&self) -> &CompanyId {
        &self.company
    }

    /// The user's standard role. See [`Principal::custom_role`]: when one is set, it
    /// decides the permissions instead.
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_api_key_principal_is_always_an_api_user() {
        let p = Principal::api_key(
            UserId::new("k").unwrap(),
            CompanyId::new("acme").unwrap(),
            ApiKeyId::new("key_1").unwrap(),
        );
        assert_eq!(p.role(), Role::ApiUser);
        assert_eq!(p.level(), Level::Manager);
        let p = p.with_custom_role(CustomRoleName::new("auditor").unwrap());
        assert_eq!(p.custom_role(), None);
        assert_eq!(
            p.method(),
            &AuthMethod::ApiKey {
                key_id: ApiKeyId::new("key_1").unwrap()
            }
        );
    }

    #[test]
    fn a_bearer_principal_keeps_its_role_and_expiry() {
        let exp = datetime!(2026-11-28 12:00 UTC);
        let p = Principal::bearer(
            UserId::new("ann").unwrap(),
            CompanyId::new("acme").unwrap(),
            Role::Administrator,
            TokenId::new("t").unwrap(),
            exp,
        );
        assert_eq!(p.role(), Role::Administrator);
        assert_eq!(p.user().as_str(), "ann");
        assert_eq!(p.company().as_str(), "acme");
        let json = serde_json::to_value(p.method()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "bearer", "token_id": "t", "expires_at": "2026-11-28T12:00:00Z"})
        );
    }
}
