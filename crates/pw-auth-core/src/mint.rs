//! Minting credentials from caller-supplied randomness: API keys (each with its own
//! api-user) and access tokens.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::digest::{ApiKeyDigest, TokenDigest, sha256};
use crate::hex;
use crate::id::{ApiKeyId, CompanyId, IdError, TokenId, UserId};
use crate::lifetime::{ExpiresIn, Lifetime, LifetimeError};
use crate::role::Role;
use crate::secret::{API_KEY_PREFIX, AccessToken, ApiKey, TOKEN_PREFIX, checksum};
use crate::user::UserRecord;

/// The fewest random bytes a credential is minted from (128 bits).
pub const MIN_RANDOM_BYTES: usize = 16;
/// The most random bytes a credential is minted from.
pub const MAX_RANDOM_BYTES: usize = 64;
/// The longest key label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

const KEY_ID_LABEL: &[u8] = b"pw-auth/api-key-id/v1\0";
const TOKEN_ID_LABEL: &[u8] = b"pw-auth/token-id/v1\0";
/// Bytes of the labelled hash that make an id (96 bits: collisions are negligible).
const ID_BYTES: usize = 12;

/// Why a credential could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// Fewer than [`MIN_RANDOM_BYTES`] random bytes were supplied.
    #[error("{len} random bytes supplied; at least {MIN_RANDOM_BYTES} are needed")]
    TooLittleRandomness {
        /// How many were supplied.
        len: usize,
    },
    /// More than [`MAX_RANDOM_BYTES`] random bytes were supplied.
    #[error("{len} random bytes supplied; at most {MAX_RANDOM_BYTES} are used")]
    TooMuchRandomness {
        /// How many were supplied.
        len: usize,
    },
    /// The supplied bytes are all the same value, which is never the output of a
    /// working random source.
    #[error("the random bytes are all equal; the random source is broken")]
    DegenerateRandomness,
    /// The token lifetime is not acceptable.
    #[error(transparent)]
    Lifetime(#[from] LifetimeError),
    /// The user may not hold an access token (an api-user authenticates by its key).
    #[error("user `{user}` is an api-user; api-users authenticate with their api key")]
    ApiUserToken {
        /// The user.
        user: UserId,
    },
    /// The minted key or token failed its own validation (never expected: a bug).
    #[error("the minted credential failed its own validation")]
    SelfCheck,
    /// An id derived for the new record is invalid (never expected).
    #[error(transparent)]
    Id(#[from] IdError),
}

/// Why a label is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// The label is empty or only whitespace.
    #[error("key label is empty")]
    Empty,
    /// The label is longer than [`MAX_LABEL_CHARS`] characters.
    #[error("key label is {chars} characters long; the limit is {MAX_LABEL_CHARS}")]
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// The label holds a control character.
    #[error("key label contains a control character")]
    Control,
    /// The label holds an invisible or direction-changing character
    /// ([`grammar::is_invisible`](crate::grammar::is_invisible)), which would make
    /// two labels look alike or a label look like something else.
    #[error("key label contains an invisible or direction-changing character ({})", .0.escape_unicode())]
    Invisible(char),
}

/// The name of the system an API key is for, e.g. `Shopify connector`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyLabel(String);

impl KeyLabel {
    /// Validates a label: 1 to 100 characters, no control characters, no invisible
    /// or direction-changing ones (a label of only U+FEFF once passed as non-empty).
    pub fn new(label: &str) -> Result<KeyLabel, LabelError> {
        let chars = label.chars().count();
        if label.trim().is_empty() {
            Err(LabelError::Empty)
        } else if chars > MAX_LABEL_CHARS {
            Err(LabelError::TooLong { chars })
        } else if label.chars().any(char::is_control) {
            Err(LabelError::Control)
        } else if let Some(c) = label.chars().find(|&c| crate::grammar::is_invisible(c)) {
            Err(LabelError::Invisible(c))
        } else {
            Ok(KeyLabel(label.to_owned()))
        }
    }

    /// The label's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyLabel {
    type Error = LabelError;
    fn try_from(s: String) -> Result<Self, LabelError> {
        KeyLabel::new(&s)
    }
}

impl From<KeyLabel> for String {
    fn from(l: KeyLabel) -> String {
        l.0
    }
}

/// The stored record of an API key: its digest, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRecord {
    /// The record's id.
    pub id: ApiKeyId,
    /// The company the key belongs to.
    pub company: CompanyId,
    /// The api-user created for this key.
    pub user: UserId,
    /// The system the key is for.
    pub label: KeyLabel,
    /// The digest of the key, to look the record up by.
    pub digest: ApiKeyDigest,
    /// When the key was created.
    #[serde(with = "crate::stamp")]
    pub created_at: OffsetDateTime,
    /// When the key was revoked, if it was. A revoked key stays listed and never
    /// authenticates again.
    #[serde(with = "crate::stamp::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// When the key expires, if it was minted to ([`MintedApiKey::expiring`]); none by
    /// default, as the platform's keys do not expire. Half-open like a token: the key
    /// works before this instant and never from it on.
    #[serde(
        default,
        with = "crate::stamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
    /// When the key retires, if it was rotated ([`rotate_api_key`](crate::rotate_api_key)):
    /// it works beside its successor before this instant and never from it on.
    #[serde(
        default,
        with = "crate::stamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub retires_at: Option<OffsetDateTime>,
    /// What the key may do within its api-user's permissions, if it was narrowed
    /// ([`MintedApiKey::scoped`]); none: all its api-user may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<crate::scope::KeyScope>,
    /// The key's own usage quota, if it was given one ([`MintedApiKey::limited`]): a
    /// request is admitted only if both this budget and its company's admit it. None:
    /// only the company's budget applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<crate::limit::Quota>,
}

/// Revoking a key that is already revoked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("api key `{id}` was already revoked")]
pub struct AlreadyRevoked {
    /// The key's id.
    pub id: ApiKeyId,
}

impl ApiKeyRecord {
    /// When the key stops working by its own dates: the earlier of its expiry and its
    /// retirement, if it has either.
    pub fn deadline(&self) -> Option<OffsetDateTime> {
        match (self.expires_at, self.retires_at) {
            (Some(e), Some(r)) => Some(e.min(r)),
            (e, r) => e.or(r),
        }
    }

    /// Revokes the key at `now`. The record stays, with its revocation time.
    pub fn revoke(&mut self, now: OffsetDateTime) -> Result<(), AlreadyRevoked> {
        if self.revoked_at.is_some() {
            return Err(AlreadyRevoked {
                id: self.id.clone(),
            });
        }
        self.revoked_at = Some(now);
        Ok(())
    }
}

/// A freshly minted API key: the key to show once, the record to store and the
/// api-user to create.
#[derive(Debug)]
#[non_exhaustive]
pub struct MintedApiKey {
    /// The plaintext key. Show it to the user once; never store it.
    pub key: ApiKey,
    /// The record to store.
    pub record: ApiKeyRecord,
    /// The new api-user, one per key.
    pub user: UserRecord,
}

fn check_random(random: &[u8]) -> Result<(), MintError> {
    let len = random.len();
    if len < MIN_RANDOM_BYTES {
        return Err(MintError::TooLittleRandomness { len });
    }
    if len > MAX_RANDOM_BYTES {
        return Err(MintError::TooMuchRandomness { len });
    }
    if random.windows(2).all(|w| w.first() == w.last()) {
        return Err(MintError::DegenerateRandomness);
    }
    Ok(())
}

fn derived_id(prefix: &str, label: &[u8], secret: &str) -> String {
    let d = sha256(label, secret.as_bytes());
    let mut id = String::from(prefix);
    hex::encode_into(d.get(..ID_BYTES).unwrap_or(&d), &mut id);
    id
}

/// Mints an API key for `company` from caller-supplied random bytes (16 to 64 of
/// them, from a cryptographically secure source).
///
/// The key has the form `pwk_<hex of the random bytes><8 hex checksum>`, the checksum
/// the CRC-32 of the hex (44 characters from 16 random bytes). The record id and the
/// api-user's id are derived from the key by a one-way hash.
///
/// ```
/// use pw_auth_core::{mint_api_key, CompanyId, KeyLabel, Role};
/// use time::macros::datetime;
/// let random: Vec<u8> = (1..=16).collect(); // use a CSPRNG in real code
/// let minted = mint_api_key(
///     &CompanyId::new("acme")?,
///     KeyLabel::new("Shopify connector")?,
///     &random,
///     datetime!(2026-11-27 12:00 UTC),
/// )?;
/// assert!(minted.key.expose_secret().starts_with("pwk_"));
/// assert_eq!(minted.record.digest, minted.key.digest());
/// assert_eq!(minted.user.role, Role::ApiUser);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn mint_api_key(
    company: &CompanyId,
    label: KeyLabel,
    random: &[u8],
    now: OffsetDateTime,
) -> Result<MintedApiKey, MintError> {
    let (key, id_hex) = new_key(random)?;
    let id = ApiKeyId::new(&format!("key_{id_hex}"))?;
    let user_id = UserId::new(&format!("api-user_{id_hex}"))?;
    Ok(MintedApiKey {
        record: ApiKeyRecord {
            id,
            company: company.clone(),
            user: user_id.clone(),
            label,
            digest: key.digest(),
            created_at: now,
            revoked_at: None,
            expires_at: None,
            retires_at: None,
            scope: None,
            quota: None,
        },
        user: UserRecord::active(user_id, company.clone(), Role::ApiUser),
        key,
    })
}

/// A new key from `random`, and the hex its record's id is made of (a one-way hash of
/// the key).
pub(crate) fn new_key(random: &[u8]) -> Result<(ApiKey, String), MintError> {
    check_random(random)?;
    let body = Zeroizing::new(hex::encode(random));
    let sum = checksum(body.as_bytes());
    let mut text = Zeroizing::new(String::with_capacity(
        API_KEY_PREFIX
            .len()
            .saturating_add(body.len())
            .saturating_add(sum.len()),
    ));
    text.push_str(API_KEY_PREFIX);
    text.push_str(&body);
    text.extend(sum.iter().map(|&b| char::from(b)));
    let id_hex = derived_id("", KEY_ID_LABEL, &text);
    let key = ApiKey::new(std::mem::take(&mut *text)).map_err(|_| MintError::SelfCheck)?;
    Ok((key, id_hex))
}

/// The stored record of an access token: its digest, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    /// The record's id.
    pub id: TokenId,
    /// The user whose credentials created the token; the token has that user's role.
    pub user: UserId,
    /// The user's company.
    pub company: CompanyId,
    /// The digest of the token, to look the record up by.
    pub digest: TokenDigest,
    /// When the token was issued and when it expires.
    pub lifetime: Lifetime,
    /// When the token was revoked (e.g. on logout), if it was.
    #[serde(with = "crate::stamp::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// Revoking a token that is already revoked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token `{id}` was already revoked")]
pub struct TokenAlreadyRevoked {
    /// The token's id.
    pub id: TokenId,
}

impl TokenRecord {
    /// Revokes the token at `now` (a logout). The record stays, with its revocation
    /// time, so a request with the token is told "revoked" rather than "unknown".
    ///
    /// ```
    /// use pw_auth_core::*;
    /// use time::macros::datetime;
    /// let now = datetime!(2026-11-27 12:00 UTC);
    /// let ann = UserRecord::active(UserId::new("ann")?, CompanyId::new("acme")?, Role::Manager);
    /// let random = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3];
    /// let mut issued = issue_token(&ann, &random, now, ExpiresIn::DEFAULT)?;
    /// issued.record.revoke(now)?;
    /// assert_eq!(
    ///     Authenticator::default().bearer(&issued.token, Lookup::Found(&issued.record), Some(&ann), now),
    ///     Err(AuthnFailure::Revoked { at: now })
    /// );
    /// assert!(issued.record.revoke(now).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn revoke(&mut self, now: OffsetDateTime) -> Result<(), TokenAlreadyRevoked> {
        if self.revoked_at.is_some() {
            return Err(TokenAlreadyRevoked {
                id: self.id.clone(),
            });
        }
        self.revoked_at = Some(now);
        Ok(())
    }
}

/// A freshly issued access token and the record to store.
#[derive(Debug)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The token to return to the client; never store it.
    pub token: AccessToken,
    /// The record to store.
    pub record: TokenRecord,
}

/// Issues an access token for `user`, whose password the caller has verified, at
/// `now` for `expires_in`, from caller-supplied random bytes (16 to 64).
///
/// The token has the form `pwt_<hex of the random bytes>`. API-users cannot be issued
/// tokens: they authenticate only with their key.
pub fn issue_token(
    user: &UserRecord,
    random: &[u8],
    now: OffsetDateTime,
    expires_in: ExpiresIn,
) -> Result<IssuedToken, MintError> {
    if user.role == Role::ApiUser {
        return Err(MintError::ApiUserToken {
            user: user.id.clone(),
        });
    }
    check_random(random)?;
    let lifetime = Lifetime::new(now, expires_in)?;
    let mut text = Zeroizing::new(String::from(TOKEN_PREFIX));
    hex::encode_into(random, &mut text);
    let id = TokenId::new(&derived_id("tok_", TOKEN_ID_LABEL, &text))?;
    let token = AccessToken::new(std::mem::take(&mut *text)).map_err(|_| MintError::SelfCheck)?;
    Ok(IssuedToken {
        record: TokenRecord {
            id,
            user: user.id.clone(),
            company: user.company.clone(),
            digest: token.digest(),
            lifetime,
            revoked_at: None,
        },
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-27 12:00 UTC);

    fn acme() -> CompanyId {
        CompanyId::new("acme").unwrap()
    }

    fn random() -> Vec<u8> {
        (0u8..16).collect()
    }

    #[test]
    fn minted_key_has_the_documented_shape() {
        let m = mint_api_key(&acme(), KeyLabel::new("erp").unwrap(), &random(), NOW).unwrap();
        let k = m.key.expose_secret();
        assert_eq!(k.len(), 4 + 32 + 8);
        // The checksum: the CRC-32 (IEEE) of the hex body, computed independently
        // (`python3 -c 'import zlib; print(hex(zlib.crc32(b"0001…0e0f")))'`).
        assert_eq!(k, "pwk_000102030405060708090a0b0c0d0e0f8168b50b");
        // It parses back as a valid key with the same digest.
        let again = ApiKey::new(k.to_owned()).unwrap();
        assert_eq!(again.digest(), m.record.digest);
        assert_eq!(m.record.user, m.user.id);
        assert_eq!(m.user.company, acme());
        assert!(m.record.id.as_str().starts_with("key_"));
        // The key is nowhere in the record or the user.
        let record = serde_json::to_string(&m.record).unwrap();
        assert!(!record.contains(&k[4..36]));
        assert!(!format!("{m:?}").contains(&k[4..36]));
    }

    #[test]
    fn one_user_per_key() {
        let mut other = random();
        other[0] = 99;
        let a = mint_api_key(&acme(), KeyLabel::new("a").unwrap(), &random(), NOW).unwrap();
        let b = mint_api_key(&acme(), KeyLabel::new("a").unwrap(), &other, NOW).unwrap();
        assert_ne!(a.user.id, b.user.id);
        assert_ne!(a.record.id, b.record.id);
        assert_ne!(a.record.digest, b.record.digest);
    }

    #[test]
    fn randomness_is_checked() {
        let label = || KeyLabel::new("x").unwrap();
        assert_eq!(
            mint_api_key(&acme(), label(), &[1; 15], NOW).unwrap_err(),
            MintError::TooLittleRandomness { len: 15 }
        );
        assert_eq!(
            mint_api_key(&acme(), label(), &[7; 16], NOW).unwrap_err(),
            MintError::DegenerateRandomness
        );
        assert_eq!(
            mint_api_key(&acme(), label(), &[1; 65], NOW).unwrap_err(),
            MintError::TooMuchRandomness { len: 65 }
        );
    }

    #[test]
    fn revoke_keeps_the_record_once() {
        let mut m = mint_api_key(&acme(), KeyLabel::new("a").unwrap(), &random(), NOW).unwrap();
        m.record.revoke(NOW).unwrap();
        assert_eq!(m.record.revoked_at, Some(NOW));
        assert!(m.record.revoke(NOW).is_err());
    }

    #[test]
    fn labels() {
        assert_eq!(KeyLabel::new(" "), Err(LabelError::Empty));
        assert_eq!(KeyLabel::new("a\nb"), Err(LabelError::Control));
        assert!(KeyLabel::new(&"é".repeat(100)).is_ok());
        assert_eq!(
            KeyLabel::new(&"é".repeat(101)),
            Err(LabelError::TooLong { chars: 101 })
        );
    }

    #[test]
    fn tokens_are_issued_for_people_only() {
        let u = UserRecord::active(UserId::new("u1").unwrap(), acme(), Role::Manager);
        let t = issue_token(&u, &random(), NOW, ExpiresIn::DEFAULT).unwrap();
        assert!(t.token.expose_secret().starts_with("pwt_"));
        assert_eq!(t.record.digest, t.token.digest());
        assert_eq!(
            t.record.lifetime.expires_at(),
            datetime!(2026-11-28 12:00 UTC)
        );
        let api = UserRecord::active(UserId::new("k").unwrap(), acme(), Role::ApiUser);
        assert!(matches!(
            issue_token(&api, &random(), NOW, ExpiresIn::DEFAULT),
            Err(MintError::ApiUserToken { .. })
        ));
    }
}
