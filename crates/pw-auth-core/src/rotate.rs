//! An API key's life after minting: an optional expiry ([`KeyLifetime`],
//! [`MintedApiKey::expiring`]) and rotation with overlap ([`rotate_api_key`]): a
//! successor for the same api-user, and the old key retired after a grace period.

use time::{Duration, OffsetDateTime};

use crate::id::{ApiKeyId, IdError};
use crate::mint::{ApiKeyRecord, MintError, MintedApiKey, new_key};
use crate::secret::ApiKey;

/// The shortest life a key may be minted with: one minute.
pub const MIN_KEY_LIFETIME_SECS: u64 = 60;
/// The longest life a key may be minted with: two years (730 days). A key that should
/// live longer is minted without an expiry (the platform's default).
pub const MAX_KEY_LIFETIME_SECS: u64 = 730 * 86_400;
/// The longest grace period of a rotation: 30 days, during which the old key works
/// beside its successor.
pub const MAX_ROTATION_GRACE_SECS: u64 = 30 * 86_400;

/// How long an API key lives from its minting, between [`MIN_KEY_LIFETIME_SECS`] and
/// [`MAX_KEY_LIFETIME_SECS`].
///
/// ```
/// use pw_auth_core::{KeyLifetime, KeyLifetimeError};
/// assert_eq!(KeyLifetime::from_days(90)?.as_secs(), 90 * 86_400);
/// assert_eq!(KeyLifetime::from_secs(59), Err(KeyLifetimeError::TooShort { secs: 59 }));
/// assert!(KeyLifetime::from_days(731).is_err());
/// # Ok::<(), KeyLifetimeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyLifetime(u64);

/// Why a key lifetime or a rotation's grace period is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLifetimeError {
    /// Shorter than [`MIN_KEY_LIFETIME_SECS`].
    #[error("a key lifetime of {secs} s is shorter than the least, {MIN_KEY_LIFETIME_SECS} s")]
    TooShort {
        /// The lifetime asked for.
        secs: u64,
    },
    /// Longer than [`MAX_KEY_LIFETIME_SECS`].
    #[error("a key lifetime of {secs} s is longer than the most, {MAX_KEY_LIFETIME_SECS} s")]
    TooLong {
        /// The lifetime asked for.
        secs: u64,
    },
    /// A rotation's grace period longer than [`MAX_ROTATION_GRACE_SECS`].
    #[error("a grace period of {secs} s is longer than the most, {MAX_ROTATION_GRACE_SECS} s")]
    GraceTooLong {
        /// The grace period asked for.
        secs: u64,
    },
    /// The expiry or retirement would fall past the end of the calendar.
    #[error("the key's expiry would fall past the end of the calendar")]
    OutOfRange,
}

impl KeyLifetime {
    /// A lifetime of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Result<KeyLifetime, KeyLifetimeError> {
        if secs < MIN_KEY_LIFETIME_SECS {
            Err(KeyLifetimeError::TooShort { secs })
        } else if secs > MAX_KEY_LIFETIME_SECS {
            Err(KeyLifetimeError::TooLong { secs })
        } else {
            Ok(KeyLifetime(secs))
        }
    }

    /// A lifetime of `days` days.
    pub const fn from_days(days: u64) -> Result<KeyLifetime, KeyLifetimeError> {
        match days.checked_mul(86_400) {
            Some(secs) => KeyLifetime::from_secs(secs),
            None => Err(KeyLifetimeError::TooLong { secs: u64::MAX }),
        }
    }

    /// The lifetime in seconds.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// `from` plus the lifetime.
    fn after(self, from: OffsetDateTime) -> Result<OffsetDateTime, KeyLifetimeError> {
        let secs = i64::try_from(self.0).map_err(|_| KeyLifetimeError::OutOfRange)?;
        from.checked_add(Duration::seconds(secs))
            .ok_or(KeyLifetimeError::OutOfRange)
    }
}

impl MintedApiKey {
    /// The same key, expiring `lifetime` after its minting. A key minted without it
    /// never expires (the platform's default).
    ///
    /// ```
    /// use pw_auth_core::*;
    /// use time::macros::datetime;
    /// let now = datetime!(2026-12-07 12:00 UTC);
    /// let random: Vec<u8> = (1..=16).collect(); // use a CSPRNG in real code
    /// let minted = mint_api_key(&CompanyId::new("acme")?, KeyLabel::new("ci")?, &random, now)?
    ///     .expiring(KeyLifetime::from_days(90)?)?;
    /// assert_eq!(minted.record.expires_at, Some(datetime!(2027-03-07 12:00 UTC)));
    /// let at = datetime!(2027-03-07 12:00 UTC);
    /// assert_eq!(
    ///     Authenticator::default().api_key(&minted.key, Lookup::Found(&minted.record), Some(&minted.user), at),
    ///     Err(AuthnFailure::KeyExpired { at })
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expiring(mut self, lifetime: KeyLifetime) -> Result<MintedApiKey, KeyLifetimeError> {
        self.record.expires_at = Some(lifetime.after(self.record.created_at)?);
        Ok(self)
    }
}

/// How long a rotated key keeps working beside its successor: 0 (retired at once) to
/// [`MAX_ROTATION_GRACE_SECS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RotationGrace(u64);

impl RotationGrace {
    /// One day, a common default: long enough to deploy the new key everywhere.
    pub const DAY: RotationGrace = RotationGrace(86_400);

    /// A grace period of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Result<RotationGrace, KeyLifetimeError> {
        if secs > MAX_ROTATION_GRACE_SECS {
            Err(KeyLifetimeError::GraceTooLong { secs })
        } else {
            Ok(RotationGrace(secs))
        }
    }

    /// The grace period in seconds.
    pub const fn as_secs(self) -> u64 {
        self.0
    }
}

/// Why a key cannot be rotated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// The key was revoked: a revoked key has nothing to hand over.
    #[error("api key `{id}` was revoked; mint a new key instead")]
    Revoked {
        /// The key's id.
        id: ApiKeyId,
    },
    /// The key was rotated already: rotate its successor instead.
    #[error("api key `{id}` was rotated already; rotate its successor instead")]
    AlreadyRotated {
        /// The key's id.
        id: ApiKeyId,
    },
    /// The key no longer works (it expired or retired): mint a new key instead.
    #[error("api key `{id}` stopped working at {at}; mint a new key instead")]
    Ended {
        /// The key's id.
        id: ApiKeyId,
        /// When it stopped working.
        at: OffsetDateTime,
    },
    /// The random bytes made the old key again: the random source is broken.
    #[error("the random bytes made the same key again; the random source is broken")]
    SameKey,
    /// The successor's expiry or the key's retirement falls past the calendar.
    #[error(transparent)]
    Lifetime(#[from] KeyLifetimeError),
    /// The successor could not be minted.
    #[error(transparent)]
    Mint(#[from] MintError),
}

impl From<IdError> for RotateError {
    fn from(e: IdError) -> RotateError {
        RotateError::Mint(MintError::Id(e))
    }
}

/// A rotation's result: the successor (its key shown once, its record to store) and
/// the old key's record, now retiring, to store in place of the old one.
#[derive(Debug)]
#[non_exhaustive]
pub struct RotatedApiKey {
    /// The successor's plaintext key. Show it once; never store it.
    pub key: ApiKey,
    /// The successor's record: the same company, api-user and label as the old key.
    pub record: ApiKeyRecord,
    /// The old key's record with its `retires_at` set.
    pub retired: ApiKeyRecord,
}

/// Rotates `old` at `now`: mints a successor from `random` for the *same* api-user
/// (so its permissions, grants and audit trail carry over) with the same label, the
/// same scope, the same quota and the same expiry policy (a key minted to live 90 days is succeeded by one that
/// lives 90 days from now; a key that never expires, by one that never expires), and
/// retires the old key `grace` after `now`. Both work until then; the old one is
/// refused from then on ([`AuthnFailure::KeyRetired`](crate::AuthnFailure::KeyRetired)).
///
/// ```
/// use pw_auth_core::*;
/// use time::macros::datetime;
/// let now = datetime!(2026-12-07 12:00 UTC);
/// let auth = Authenticator::default();
/// let old = mint_api_key(&CompanyId::new("acme")?, KeyLabel::new("erp")?, &[7; 15].iter().chain(&[8]).copied().collect::<Vec<_>>(), now)?;
/// let new = rotate_api_key(&old.record, &[9, 1, 9, 2, 9, 3, 9, 4, 9, 5, 9, 6, 9, 7, 9, 8], now, RotationGrace::DAY)?;
/// assert_eq!(new.record.user, old.record.user);
/// let (day, later) = (datetime!(2026-12-08 11:59 UTC), datetime!(2026-12-08 12:00 UTC));
/// let with = |key: &ApiKey, record: &ApiKeyRecord, at| auth.api_key(key, Lookup::Found(record), Some(&old.user), at);
/// assert!(with(&old.key, &new.retired, day).is_ok());
/// assert!(with(&new.key, &new.record, day).is_ok());
/// assert_eq!(with(&old.key, &new.retired, later), Err(AuthnFailure::KeyRetired { at: later }));
/// assert!(with(&new.key, &new.record, later).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rotate_api_key(
    old: &ApiKeyRecord,
    random: &[u8],
    now: OffsetDateTime,
    grace: RotationGrace,
) -> Result<RotatedApiKey, RotateError> {
    if old.revoked_at.is_some() {
        return Err(RotateError::Revoked { id: old.id.clone() });
    }
    if old.retires_at.is_some() {
        return Err(RotateError::AlreadyRotated { id: old.id.clone() });
    }
    if let Some(at) = old.deadline().filter(|&at| now >= at) {
        return Err(RotateError::Ended {
            id: old.id.clone(),
            at,
        });
    }
    let expires_at = match old.expires_at {
        None => None,
        Some(expires_at) => {
            // The old key's life, within the bounds a key may be minted with (a record
            // from elsewhere may hold any dates; shorter is the safe side).
            let secs = expires_at
                .unix_timestamp()
                .checked_sub(old.created_at.unix_timestamp())
                .and_then(|s| u64::try_from(s).ok())
                .unwrap_or(0)
                .clamp(MIN_KEY_LIFETIME_SECS, MAX_KEY_LIFETIME_SECS);
            Some(KeyLifetime(secs).after(now)?)
        }
    };
    let retires_at = now
        .checked_add(Duration::seconds(
            i64::try_from(grace.0).map_err(|_| KeyLifetimeError::OutOfRange)?,
        ))
        .ok_or(KeyLifetimeError::OutOfRange)?;
    let (key, id_hex) = new_key(random)?;
    if key.digest() == old.digest {
        return Err(RotateError::SameKey);
    }
    let record = ApiKeyRecord {
        id: ApiKeyId::new(&format!("key_{id_hex}"))?,
        company: old.company.clone(),
        user: old.user.clone(),
        label: old.label.clone(),
        digest: key.digest(),
        created_at: now,
        revoked_at: None,
        expires_at,
        retires_at: None,
        scope: old.scope.clone(),
        quota: old.quota,
    };
    let mut retired = old.clone();
    retired.retires_at = Some(retires_at);
    Ok(RotatedApiKey {
        key,
        record,
        retired,
    })
}
