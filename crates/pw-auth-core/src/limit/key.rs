//! A limit per API key inside its company's budget: an optional quota on the key,
//! never looser than its company's, and one check of both budgets that charges both
//! or neither.

use std::time::Duration as StdDuration;

use serde::Serialize;
use time::OffsetDateTime;

use super::{LimitDecision, LimitState, Quota, check_limit};

/// Which budget refused a request: as recorded in an over-limit audit record
/// (`"limited_by": "company"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitedBy {
    /// The company's budget, shared by all its people and keys.
    Company,
    /// The API key's own budget.
    Key,
    /// Both were spent.
    Both,
}

impl LimitedBy {
    /// The stable code, as serialised: `company`, `key` or `both`.
    pub const fn as_str(self) -> &'static str {
        match self {
            LimitedBy::Company => "company",
            LimitedBy::Key => "key",
            LimitedBy::Both => "both",
        }
    }
}

/// A key's quota looser than its company's: refused when the key is minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a key's quota may not be looser than its company's ({limit} requests per {period_secs} s, {burst} at once)"
)]
pub struct KeyQuotaError {
    /// The company quota's limit.
    pub limit: u32,
    /// The company quota's period, in seconds.
    pub period_secs: u64,
    /// The company quota's burst.
    pub burst: u32,
}

impl Quota {
    /// Whether this quota is never looser than `other`: it admits no more at once
    /// (`burst`) and no more a second on average (`limit / period`). A key's quota
    /// must be within its company's ([`MintedApiKey::limited`](crate::MintedApiKey::limited)).
    ///
    /// ```
    /// use pw_auth_core::Quota;
    /// let company = Quota::DEFAULT; // 240 a minute
    /// assert!(Quota::new(60, 60, 10)?.is_within(&company));
    /// assert!(Quota::new(4, 1, 4)?.is_within(&company)); // 240 a minute, in seconds
    /// assert!(!Quota::new(5, 1, 5)?.is_within(&company)); // 300 a minute
    /// assert!(!Quota::new(10, 60, 241)?.is_within(&company)); // a larger burst
    /// # Ok::<(), pw_auth_core::QuotaError>(())
    /// ```
    pub fn is_within(&self, other: &Quota) -> bool {
        // limit / period ≤ other.limit / other.period, crosswise in `u128`: a `u32`
        // times a `u64` cannot overflow it.
        let ours = u128::from(self.limit).saturating_mul(u128::from(other.period_secs));
        let theirs = u128::from(other.limit).saturating_mul(u128::from(self.period_secs));
        self.burst <= other.burst && ours <= theirs
    }
}

impl crate::mint::MintedApiKey {
    /// The same key with its own usage quota, `quota`, inside its company's,
    /// `company` (the quota of the company's tier): refused if `quota` is looser.
    /// Every request with the key then spends both budgets, and is admitted only if
    /// both admit it ([`check_joint_limit`]).
    pub fn limited(
        mut self,
        quota: Quota,
        company: &Quota,
    ) -> Result<crate::mint::MintedApiKey, KeyQuotaError> {
        if !quota.is_within(company) {
            return Err(KeyQuotaError {
                limit: company.limit(),
                period_secs: company.period_secs(),
                burst: company.burst(),
            });
        }
        self.record.quota = Some(quota);
        Ok(self)
    }
}

/// The answer of a check against a company's budget and its API key's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JointDecision {
    /// The company's budget after the request: charged if the request was
    /// admitted, as it stands (uncharged) if it was not.
    pub company: LimitDecision,
    /// The key's budget, likewise.
    pub key: LimitDecision,
}

impl JointDecision {
    /// Whether the request is admitted: both budgets admitted it.
    pub const fn is_allowed(&self) -> bool {
        self.company.is_allowed() && self.key.is_allowed()
    }

    /// Which budget refused the request; `None` if it was admitted.
    pub const fn limited_by(&self) -> Option<LimitedBy> {
        match (self.company.is_allowed(), self.key.is_allowed()) {
            (true, true) => None,
            (false, true) => Some(LimitedBy::Company),
            (true, false) => Some(LimitedBy::Key),
            (false, false) => Some(LimitedBy::Both),
        }
    }

    /// How long until a request will be admitted: the longer of the refusing
    /// budgets' waits (the other budget only grows meanwhile); `None` if admitted.
    pub fn retry_after(&self) -> Option<StdDuration> {
        let wait = |d: &LimitDecision| match *d {
            LimitDecision::Deny { retry_after, .. } => Some(retry_after),
            LimitDecision::Allow { .. } => None,
        };
        match (wait(&self.company), wait(&self.key)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// What an admitting budget's decision says when the request was refused by the
/// other and this one was not charged: one more request left, whole one interval
/// sooner.
fn uncharged(decision: LimitDecision, quota: &Quota) -> LimitDecision {
    match decision {
        LimitDecision::Allow {
            remaining,
            reset_after,
        } => {
            let interval = super::non_negative(quota.interval());
            LimitDecision::Allow {
                remaining: remaining.saturating_add(1).min(quota.burst()),
                reset_after: reset_after.saturating_sub(interval),
            }
        }
        deny => deny,
    }
}

/// Checks one request against its company's budget (`company`, under
/// `company_quota`) and its API key's own (`key`, under `key_quota`) at `now`: the
/// decision, and the two states to store, in that order. The request is admitted
/// only if both budgets admit it, and then both are charged; if either refuses,
/// neither is charged (each state is returned as [`check_limit`] leaves a refused
/// one). So across any interleaving of a company's keys, the company admits no more
/// than it would alone, and a key no more than its own quota. Store both states
/// together, in one atomic update. Allocates nothing.
///
/// ```
/// use pw_auth_core::{LimitState, LimitedBy, Quota, check_joint_limit};
/// use time::macros::datetime;
/// let now = datetime!(2026-12-07 12:00 UTC);
/// let (company, key) = (Quota::new(240, 60, 240)?, Quota::new(2, 60, 2)?);
/// let (mut c, mut k) = (LimitState::default(), LimitState::default());
/// for _ in 0..2 {
///     let (d, c2, k2) = check_joint_limit(c, &company, k, &key, now);
///     assert!(d.is_allowed());
///     (c, k) = (c2, k2);
/// }
/// let (d, c3, k3) = check_joint_limit(c, &company, k, &key, now);
/// assert_eq!(d.limited_by(), Some(LimitedBy::Key));
/// assert_eq!((c3, k3), (c, k)); // nothing charged
/// # Ok::<(), pw_auth_core::QuotaError>(())
/// ```
#[must_use = "a limit check does nothing until its decision is checked and its states stored"]
pub fn check_joint_limit(
    company: LimitState,
    company_quota: &Quota,
    key: LimitState,
    key_quota: &Quota,
    now: OffsetDateTime,
) -> (JointDecision, LimitState, LimitState) {
    let (c, c_charged) = check_limit(company, company_quota, now);
    let (k, k_charged) = check_limit(key, key_quota, now);
    match (c.is_allowed(), k.is_allowed()) {
        (true, true) => (JointDecision { company: c, key: k }, c_charged, k_charged),
        // A refusing budget's state is what `check_limit` left (perhaps clamped); an
        // admitting one's is not charged.
        (true, false) => (
            JointDecision {
                company: uncharged(c, company_quota),
                key: k,
            },
            company,
            k_charged,
        ),
        (false, true) => (
            JointDecision {
                company: c,
                key: uncharged(k, key_quota),
            },
            c_charged,
            key,
        ),
        (false, false) => (JointDecision { company: c, key: k }, c_charged, k_charged),
    }
}
