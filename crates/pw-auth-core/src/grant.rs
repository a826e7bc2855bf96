//! A linked-company grant as stored: the company it lets a parent's member act in,
//! and optionally until when. A decision is given the grants in force at its `now`
//! ([`grants_in_force`]); an expired grant is as if there were none, so a request it
//! would have allowed is denied with [`Reason::MissingGrant`](crate::Reason::MissingGrant).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::CompanyId;

/// An explicit grant for a linked company, permanent or until `expires_at`
/// (half-open like a token: in force before that instant, never from it on).
///
/// ```
/// use pw_auth_core::*;
/// use time::macros::datetime;
/// let eu = CompanyId::new("acme-eu")?;
/// let until = datetime!(2026-12-08 12:00 UTC);
/// let grants = [Grant::until(eu.clone(), until)];
/// assert_eq!(grants_in_force(&grants, datetime!(2026-12-08 11:59 UTC)), [eu.clone()]);
/// assert!(grants_in_force(&grants, until).is_empty());
/// assert_eq!(grants_in_force(&[Grant::permanent(eu.clone())], until), [eu]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The linked company.
    pub company: CompanyId,
    /// When the grant ends, if it does.
    #[serde(
        default,
        with = "crate::stamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
}

impl Grant {
    /// A grant with no end.
    pub const fn permanent(company: CompanyId) -> Grant {
        Grant {
            company,
            expires_at: None,
        }
    }

    /// A grant in force until `expires_at`.
    pub const fn until(company: CompanyId, expires_at: OffsetDateTime) -> Grant {
        Grant {
            company,
            expires_at: Some(expires_at),
        }
    }

    /// Whether the grant is in force at `now`.
    pub fn in_force(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_none_or(|end| now < end)
    }
}

/// The companies of `grants` in force at `now`, for
/// [`Request::with_grants`](crate::Request::with_grants). Allocates only when some are.
pub fn grants_in_force(grants: &[Grant], now: OffsetDateTime) -> Vec<CompanyId> {
    grants
        .iter()
        .filter(|g| g.in_force(now))
        .map(|g| g.company.clone())
        .collect()
}
