//! The five roles of a company's users and the levels they act at.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The role of a user within its company.
///
/// Names are parsed exactly: `administrator`, `manager`, `user`, `read-only`,
/// `api-user`. Any other spelling, including another case, is an error.
///
/// ```
/// use pw_auth_core::{Level, Role};
/// let role: Role = "api-user".parse()?;
/// assert_eq!(role.level(), Level::Manager);
/// assert!("Manager".parse::<Role>().is_err());
/// # Ok::<(), pw_auth_core::RoleError>(())
/// ```
///
/// `Role` has no ordering of its own: the api-user is not above or below a manager,
/// it acts *at* manager level. Compare [`Role::level`]s instead:
///
/// ```compile_fail
/// use pw_auth_core::Role;
/// let _ = Role::ReadOnly >= Role::Manager;
/// ```
///
/// ```
/// use pw_auth_core::Role;
/// assert!(Role::ReadOnly.level() < Role::Manager.level());
/// assert_eq!(Role::ApiUser.level(), Role::Manager.level());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The company's administrator: everything a company member may do.
    Administrator,
    /// A manager: everything except administrator-only actions.
    Manager,
    /// A user: views and everyday work.
    User,
    /// A read-only user: views only.
    ReadOnly,
    /// The user behind an API key: manager-level, never administrator-only actions.
    ApiUser,
}

/// The level a role acts at, lowest to highest. Comparisons follow the hierarchy
/// read-only < user < manager < administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Views only.
    ReadOnly,
    /// Everyday work.
    User,
    /// Management of the company's integrations, users below manager and API keys.
    Manager,
    /// Everything a company member may do.
    Administrator,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 4] = [
        Level::ReadOnly,
        Level::User,
        Level::Manager,
        Level::Administrator,
    ];

    /// The level's name, the same as the role of that name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::ReadOnly => "read-only",
            Level::User => "user",
            Level::Manager => "manager",
            Level::Administrator => "administrator",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoleError {
    /// The name is a known role in another case.
    #[error("unknown role `{value}`; role names are lowercase: did you mean `{expected}`?")]
    WrongCase {
        /// The name that was given.
        value: String,
        /// The role it would be in lowercase.
        expected: &'static str,
    },
    /// The name is not a role at all.
    #[error(
        "unknown role `{value}`; expected one of {names}",
        names = crate::names::one_of(Role::ALL.map(Role::as_str))
    )]
    Unknown {
        /// The name that was given.
        value: String,
    },
}

impl Role {
    /// Every role, most powerful first, api-user last.
    pub const ALL: [Role; 5] = [
        Role::Administrator,
        Role::Manager,
        Role::User,
        Role::ReadOnly,
        Role::ApiUser,
    ];

    /// The role's exact name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Manager => "manager",
            Role::User => "user",
            Role::ReadOnly => "read-only",
            Role::ApiUser => "api-user",
        }
    }

    /// The level this role acts at. An api-user acts at manager level: it may do all
    /// that a manager may and nothing that is administrator-only.
    pub const fn level(self) -> Level {
        match self {
            Role::Administrator => Level::Administrator,
            Role::Manager | Role::ApiUser => Level::Manager,
            Role::User => Level::User,
            Role::ReadOnly => Level::ReadOnly,
        }
    }

    /// Parses an exact role name.
    pub fn parse(s: &str) -> Result<Role, RoleError> {
        if let Some(role) = Role::ALL.into_iter().find(|r| r.as_str() == s) {
            return Ok(role);
        }
        match Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
        {
            Some(role) => Err(RoleError::WrongCase {
                value: s.to_owned(),
                expected: role.as_str(),
            }),
            None => Err(RoleError::Unknown {
                value: s.to_owned(),
            }),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Role, RoleError> {
        Role::parse(s)
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let s = String::deserialize(d)?;
        Role::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The longest custom role name, in bytes.
pub const MAX_CUSTOM_ROLE_NAME_LEN: usize = 64;

/// Why a string is not a custom role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CustomRoleNameError {
    /// Not of the form `[a-z][a-z0-9-]*`, at most 64 bytes.
    #[error(
        "custom role name `{0}` must be lowercase letters, digits and `-`, start with a letter, and be at most {MAX_CUSTOM_ROLE_NAME_LEN} bytes"
    )]
    Invalid(String),
    /// The name of a standard role (or `nobody`), which a custom role may not take.
    #[error("custom role name `{0}` is reserved for a standard role")]
    Reserved(String),
}

/// The name of a custom role (enterprise role manager), e.g. `integration-lead`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomRoleName(Box<str>);

impl CustomRoleName {
    /// Validates a name: `[a-z][a-z0-9-]*`, at most 64 bytes, not a standard role's.
    pub fn new(name: &str) -> Result<CustomRoleName, CustomRoleNameError> {
        let ok = name.len() <= MAX_CUSTOM_ROLE_NAME_LEN
            && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(CustomRoleNameError::Invalid(name.to_owned()));
        }
        if name == "nobody" || Role::ALL.iter().any(|r| r.as_str() == name) {
            return Err(CustomRoleNameError::Reserved(name.to_owned()));
        }
        Ok(CustomRoleName(name.into()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomRoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CustomRoleName {
    type Err = CustomRoleNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CustomRoleName::new(s)
    }
}

impl Serialize for CustomRoleName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CustomRoleName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CustomRoleName::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
        }
    }

    #[test]
    fn parsing_is_exact() {
        insta::assert_snapshot!(Role::parse("Manager").unwrap_err(), @"unknown role `Manager`; role names are lowercase: did you mean `manager`?");
        insta::assert_snapshot!(Role::parse("admin").unwrap_err(), @"unknown role `admin`; expected one of `administrator`, `manager`, `user`, `read-only`, `api-user`");
        assert!(Role::parse("read_only").is_err());
        assert!(Role::parse(" manager").is_err());
        assert!(Role::parse("").is_err());
    }

    #[test]
    fn custom_role_names() {
        assert!(CustomRoleName::new("integration-lead").is_ok());
        assert!(CustomRoleName::new("auditor2").is_ok());
        for bad in ["", "Lead", "2fa", "a_b", "a b", &"a".repeat(65)] {
            assert!(
                matches!(
                    CustomRoleName::new(bad),
                    Err(CustomRoleNameError::Invalid(_))
                ),
                "{bad}"
            );
        }
        for reserved in ["manager", "api-user", "read-only", "nobody"] {
            assert!(matches!(
                CustomRoleName::new(reserved),
                Err(CustomRoleNameError::Reserved(_))
            ));
        }
    }

    #[test]
    fn api_user_is_manager_level() {
        assert_eq!(Role::ApiUser.level(), Level::Manager);
        assert!(Role::ApiUser.level() < Level::Administrator);
        assert!(Level::ReadOnly < Level::User && Level::User < Level::Manager);
    }
}
