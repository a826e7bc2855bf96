//! Principals: who is calling, in which company, with which role, and how they
//! authenticated. A [`Principal`] is made by authentication only
//! ([`crate::Authenticator`]); its invariants hold by construction.

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use crate::id::{ApiKeyId, CompanyId, TokenId, UserId};
use crate::lifetime::Leeway;
use crate::limit::Quota;
use crate::role::{CustomRoleName, Level, Role};
use crate::scope::KeyScope;

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
        #[serde(with = "crate::stamp")]
        expires_at: OffsetDateTime,
    },
}

/// Who is calling: an authenticated user of a company.
///
/// There is no public constructor: a principal comes out of
/// [`Authenticator`](crate::Authenticator) only, so it always stands for records
/// that were looked up and checked. Its invariants hold by construction:
///
/// * an API-key principal is always an api-user, and never has a custom role;
/// * a bearer principal is never an api-user, and has its user's current role;
/// * a bearer principal remembers when it stops being valid (the token's expiry
///   plus the leeway it was authenticated with), and [`authorize`](crate::authorize)
///   denies it from then on with [`Reason::CredentialExpired`](crate::Reason::CredentialExpired).
///
/// Forging one does not compile:
///
/// ```compile_fail
/// use pw_auth_core::*;
/// use time::macros::datetime;
/// let admin = Principal::bearer(
///     UserId::new("mallory")?, CompanyId::new("acme")?, Role::Administrator,
///     TokenId::new("t")?, datetime!(1970-01-01 0:00 UTC),
/// );
/// # Ok::<(), IdError>(())
/// ```
///
/// Nor does dropping a decision, where `unused_must_use` is denied:
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use pw_auth_core::*;
/// fn check(policy: &Policy, p: &Principal, r: &Request<'_>, now: time::OffsetDateTime) {
///     authorize(policy, p, r, now);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    user: UserId,
    company: CompanyId,
    role: Role,
    custom_role: Option<CustomRoleName>,
    method: AuthMethod,
    /// The first instant at which the principal is no longer valid; `None` for an
    /// API key that neither expires nor retires (the platform's keys do not expire)
    /// or a deadline past the end of the calendar.
    deadline: Option<OffsetDateTime>,
    /// An API key's scope, if it was narrowed: checked after the role.
    scope: Option<Arc<KeyScope>>,
    /// An API key's own usage quota, if it has one: charged beside its company's.
    key_quota: Option<Quota>,
}

impl Principal {
    /// The principal behind an API key: always the key's api-user, valid until the
    /// key's `deadline` (its expiry or retirement) if it has one.
    pub(crate) fn api_key(
        user: UserId,
        company: CompanyId,
        key_id: ApiKeyId,
        deadline: Option<OffsetDateTime>,
    ) -> Principal {
        Principal {
            user,
            company,
            role: Role::ApiUser,
            custom_role: None,
            method: AuthMethod::ApiKey { key_id },
            deadline,
            scope: None,
            key_quota: None,
        }
    }

    /// The same API-key principal narrowed to `scope`.
    pub(crate) fn with_scope(mut self, scope: Option<Arc<KeyScope>>) -> Principal {
        if matches!(self.method, AuthMethod::ApiKey { .. }) {
            self.scope = scope;
        }
        self
    }

    /// The same API-key principal with its key's own quota.
    pub(crate) fn with_key_quota(mut self, quota: Option<Quota>) -> Principal {
        if matches!(self.method, AuthMethod::ApiKey { .. }) {
            self.key_quota = quota;
        }
        self
    }

    /// The API key's own usage quota, if it has one
    /// ([`MintedApiKey::limited`](crate::MintedApiKey::limited)): each request is
    /// charged to it and to the company's budget together
    /// ([`check_joint_limit`](crate::check_joint_limit)). `None` for a bearer
    /// principal and for a key without one.
    pub fn key_quota(&self) -> Option<&Quota> {
        self.key_quota.as_ref()
    }

    /// The id of the API key behind the principal, if it authenticated with one.
    pub fn key_id(&self) -> Option<&ApiKeyId> {
        match &self.method {
            AuthMethod::ApiKey { key_id } => Some(key_id),
            AuthMethod::Bearer { .. } => None,
        }
    }

    /// The scope its API key was narrowed to, if any.
    pub fn key_scope(&self) -> Option<&KeyScope> {
        self.scope.as_deref()
    }

    /// The principal behind a bearer token, with the role of the user whose
    /// credentials created it, valid until `expires_at` widened by `leeway`. `None`
    /// for the api-user, which authenticates with its key only.
    pub(crate) fn bearer(
        user: UserId,
        company: CompanyId,
        role: Role,
        token_id: TokenId,
        expires_at: OffsetDateTime,
        leeway: Leeway,
    ) -> Option<Principal> {
        if role == Role::ApiUser {
            return None;
        }
        let leeway = time::Duration::try_from(leeway.get()).unwrap_or(time::Duration::ZERO);
        Some(Principal {
            user,
            company,
            role,
            custom_role: None,
            method: AuthMethod::Bearer {
                token_id,
                expires_at,
            },
            deadline: expires_at.checked_add(leeway),
            scope: None,
            key_quota: None,
        })
    }

    /// The same bearer principal acting under a custom role: its permissions become
    /// exactly the custom role's toggles. `None` for an api-user, which never takes a
    /// custom role.
    pub(crate) fn with_custom_role(mut self, custom_role: CustomRoleName) -> Option<Principal> {
        if self.role == Role::ApiUser {
            return None;
        }
        self.custom_role = Some(custom_role);
        Some(self)
    }

    /// When the principal expired, if it has by `now`: a bearer principal's token
    /// expiry once `now` reaches the expiry plus the leeway; an API key's expiry or
    /// retirement once `now` reaches it (no leeway: only the server's clock decides).
    pub(crate) fn expired_at(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match (&self.method, self.deadline) {
            (AuthMethod::Bearer { expires_at, .. }, Some(deadline)) if now >= deadline => {
                Some(*expires_at)
            }
            (AuthMethod::ApiKey { .. }, Some(deadline)) if now >= deadline => Some(deadline),
            _ => None,
        }
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

/// Principals for tests and harnesses, made **without authentication**.
///
/// Only with the `test-support` feature. Production code never needs these: a real
/// principal comes from [`Authenticator`](crate::Authenticator). They keep the
/// invariants of [`Principal`] (an api-user is only ever an API-key principal, and
/// never takes a custom role).
///
/// ```
/// use pw_auth_core::{CompanyId, Policy, Request, Role, Tier, authorize, testing};
/// let acme = CompanyId::new("acme")?;
/// let manager = testing::principal(Role::Manager, &acme);
/// let req = Request::new("flows.deploy", &acme, Tier::Professional);
/// assert!(authorize(&Policy::default_policy(), &manager, &req, testing::NOW).is_allowed());
/// # Ok::<(), pw_auth_core::IdError>(())
/// ```
#[cfg(any(test, feature = "test-support"))]
pub mod testing {
    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::Principal;
    use crate::id::{ApiKeyId, CompanyId, TokenId, UserId};
    use crate::lifetime::Leeway;
    use crate::role::{CustomRoleName, Role};

    /// The instant the fixtures are made for: 2026-11-27 12:00 UTC.
    pub const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

    /// When the bearer principals of [`principal`] expire: a day after [`NOW`].
    pub const EXPIRES_AT: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

    /// The principal behind an API key (always an api-user).
    pub fn api_key_principal(user: UserId, company: CompanyId, key_id: ApiKeyId) -> Principal {
        Principal::api_key(user, company, key_id, None)
    }

    /// The principal behind a bearer token of `role`, expiring at `expires_at`, with
    /// no leeway. `None` for [`Role::ApiUser`].
    pub fn bearer_principal(
        user: UserId,
        company: CompanyId,
        role: Role,
        token_id: TokenId,
        expires_at: OffsetDateTime,
    ) -> Option<Principal> {
        Principal::bearer(user, company, role, token_id, expires_at, Leeway::ZERO)
    }

    /// `principal` acting under a custom role; `None` for an api-user.
    pub fn with_custom_role(principal: Principal, name: CustomRoleName) -> Option<Principal> {
        principal.with_custom_role(name)
    }

    /// A principal of `role` in `home`: the API-key principal `api-user_1` (key
    /// `key_1`) for [`Role::ApiUser`], otherwise the bearer principal `<role>-1`
    /// (token `tok_1`) valid until [`EXPIRES_AT`].
    pub fn principal(role: Role, home: &CompanyId) -> Principal {
        let user = UserId::fixture(match role {
            Role::Administrator => "administrator-1",
            Role::Manager => "manager-1",
            Role::User => "user-1",
            Role::ReadOnly => "read-only-1",
            Role::ApiUser => "api-user_1",
        });
        let key =
            || Principal::api_key(user.clone(), home.clone(), ApiKeyId::fixture("key_1"), None);
        if role == Role::ApiUser {
            return key();
        }
        let token = TokenId::fixture("tok_1");
        Principal::bearer(
            user.clone(),
            home.clone(),
            role,
            token,
            EXPIRES_AT,
            Leeway::ZERO,
        )
        // `role` is not the api-user here, so `bearer` is always `Some`.
        .unwrap_or_else(key)
    }

    /// The default policy's document with custom roles added until its JSON text is
    /// at least `min_bytes` long: each role views every area and edits half of them,
    /// the shape of a large tenant's policy. For tests and benchmarks of compiling.
    pub fn custom_roles_policy(min_bytes: usize) -> String {
        let mut doc: serde_json::Value =
            serde_json::from_str(crate::Policy::default_document_json()).unwrap_or_default();
        let areas: Vec<String> = crate::Policy::default_policy()
            .areas()
            .map(str::to_owned)
            .collect();
        let edit: Vec<String> = areas.iter().step_by(2).cloned().collect();
        let one = serde_json::json!({"name": "role-000000", "view": areas, "edit": edit});
        let per_role = one.to_string().len().saturating_add(1).max(1);
        let count = min_bytes.div_ceil(per_role).saturating_add(1);
        let roles: Vec<serde_json::Value> = (0..count)
            .map(|i| serde_json::json!({"name": format!("role-{i:06}"), "view": areas, "edit": edit}))
            .collect();
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("custom_roles".into(), serde_json::Value::Array(roles));
        }
        doc.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn acme() -> CompanyId {
        CompanyId::new("acme").unwrap()
    }

    #[test]
    fn an_api_key_principal_is_always_an_api_user_and_never_expires() {
        let p = Principal::api_key(
            UserId::new("k").unwrap(),
            acme(),
            ApiKeyId::new("key_1").unwrap(),
            None,
        );
        assert_eq!(p.role(), Role::ApiUser);
        assert_eq!(p.level(), Level::Manager);
        assert_eq!(p.expired_at(OffsetDateTime::UNIX_EPOCH), None);
        assert_eq!(p.expired_at(datetime!(9999-12-31 23:59:59 UTC)), None);
        assert_eq!(
            p.clone()
                .with_custom_role(CustomRoleName::new("auditor").unwrap()),
            None
        );
        assert_eq!(
            p.method(),
            &AuthMethod::ApiKey {
                key_id: ApiKeyId::new("key_1").unwrap()
            }
        );
    }

    #[test]
    fn an_expiring_api_key_principal_expires_at_its_deadline_exactly() {
        let end = datetime!(2027-03-07 12:00 UTC);
        let p = Principal::api_key(
            UserId::new("k").unwrap(),
            acme(),
            ApiKeyId::new("key_1").unwrap(),
            Some(end),
        );
        assert_eq!(
            p.expired_at(datetime!(2027-03-07 11:59:59.999999999 UTC)),
            None
        );
        assert_eq!(p.expired_at(end), Some(end));
        assert_eq!(p.expired_at(datetime!(2030-01-01 0:00 UTC)), Some(end));
    }

    #[test]
    fn a_bearer_principal_is_never_an_api_user() {
        let make = |role| {
            Principal::bearer(
                UserId::new("ann").unwrap(),
                acme(),
                role,
                TokenId::new("t").unwrap(),
                datetime!(2026-11-28 12:00 UTC),
                Leeway::ZERO,
            )
        };
        assert_eq!(make(Role::ApiUser), None);
        for role in [
            Role::Administrator,
            Role::Manager,
            Role::User,
            Role::ReadOnly,
        ] {
            assert_eq!(make(role).unwrap().role(), role);
        }
    }

    #[test]
    fn a_bearer_principal_keeps_its_role_and_expires_at_its_deadline() {
        let exp = datetime!(2026-11-28 12:00 UTC);
        let make = |leeway| {
            Principal::bearer(
                UserId::new("ann").unwrap(),
                acme(),
                Role::Administrator,
                TokenId::new("t").unwrap(),
                exp,
                leeway,
            )
            .unwrap()
        };
        let p = make(Leeway::ZERO);
        assert_eq!(p.role(), Role::Administrator);
        assert_eq!(p.user().as_str(), "ann");
        assert_eq!(p.company().as_str(), "acme");
        let one_ns = time::Duration::nanoseconds(1);
        assert_eq!(p.expired_at(exp - one_ns), None);
        assert_eq!(p.expired_at(exp), Some(exp));
        let json = serde_json::to_value(p.method()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "bearer", "token_id": "t", "expires_at": "2026-11-28T12:00:00Z"})
        );

        let lenient = make(Leeway::new(std::time::Duration::from_secs(5)).unwrap());
        let end = exp + time::Duration::seconds(5);
        assert_eq!(lenient.expired_at(end - one_ns), None);
        assert_eq!(lenient.expired_at(end), Some(exp));

        let named = p.with_custom_role(CustomRoleName::new("auditor").unwrap());
        assert_eq!(named.unwrap().custom_role().unwrap().as_str(), "auditor");
    }

    #[test]
    fn the_bearer_fixture_keeps_the_invariants() {
        let make = |role| {
            testing::bearer_principal(
                UserId::new("u").unwrap(),
                acme(),
                role,
                TokenId::new("t").unwrap(),
                testing::EXPIRES_AT,
            )
        };
        assert_eq!(make(Role::ApiUser), None);
        let p = make(Role::User).unwrap();
        assert_eq!(
            (p.role(), p.expired_at(testing::EXPIRES_AT)),
            (Role::User, Some(testing::EXPIRES_AT))
        );
        let key = testing::api_key_principal(
            UserId::new("k").unwrap(),
            acme(),
            ApiKeyId::new("k").unwrap(),
        );
        let name = CustomRoleName::new("auditor").unwrap();
        assert_eq!(testing::with_custom_role(key, name.clone()), None);
        let custom = testing::with_custom_role(p, name.clone()).unwrap();
        assert_eq!(custom.custom_role(), Some(&name));
    }

    #[test]
    fn the_fixture_principal_has_the_role_asked_for() {
        for role in Role::ALL {
            let p = testing::principal(role, &acme());
            assert_eq!(p.role(), role);
            assert_eq!(
                matches!(p.method(), AuthMethod::ApiKey { .. }),
                role == Role::ApiUser
            );
            assert_eq!(p.expired_at(testing::NOW), None);
            assert_eq!(UserId::new(p.user().as_str()).as_ref(), Ok(p.user()));
        }
    }
}
