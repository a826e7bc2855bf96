//! User records, as the caller stores them.

use serde::{Deserialize, Serialize};

use crate::id::{CompanyId, UserId};
use crate::role::{CustomRoleName, Role};

/// Whether a user may authenticate at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// The user may authenticate.
    Active,
    /// The user is disabled: none of its credentials authenticate.
    Disabled,
}

/// A user of a company: a person, or the api-user behind one API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    /// The user's id.
    pub id: UserId,
    /// The company the user belongs to (its "home" company).
    pub company: CompanyId,
    /// The user's standard role in that company.
    pub role: Role,
    /// A custom role assigned by an administrator (enterprise role manager). While
    /// one is assigned, the user's permissions are exactly its toggles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_role: Option<CustomRoleName>,
    /// Whether the user may authenticate.
    pub status: UserStatus,
}

impl UserRecord {
    /// An active user.
    pub fn active(id: UserId, company: CompanyId, role: Role) -> UserRecord {
        UserRecord {
            id,
            company,
            role,
            custom_role: None,
            status: UserStatus::Active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_records_round_trip_and_reject_bad_fields() {
        let u = UserRecord::active(
            UserId::new("ann").unwrap(),
            CompanyId::new("acme").unwrap(),
            Role::ReadOnly,
        );
        let json = serde_json::to_string(&u).unwrap();
        assert_eq!(
            json,
            r#"{"id":"ann","company":"acme","role":"read-only","status":"active"}"#
        );
        assert_eq!(serde_json::from_str::<UserRecord>(&json).unwrap(), u);
        for bad in [
            r#"{"id":"ann","company":"acme","role":"Read-Only","status":"active"}"#,
            r#"{"id":"ann","company":"acme","role":"read-only","status":"sleeping"}"#,
            r#"{"id":"ann","company":"acme","role":"read-only","status":"active","admin":true}"#,
            r#"{"id":"a n","company":"acme","role":"read-only","status":"active"}"#,
        ] {
            assert!(serde_json::from_str::<UserRecord>(bad).is_err(), "{bad}");
        }
    }
}
