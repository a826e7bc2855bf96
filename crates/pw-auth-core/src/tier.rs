//! Subscription tiers and the features they include. Tier trumps role.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A company's subscription tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// Everything, for 15 days.
    Trial,
    /// Advanced features visible but read-only.
    Standard,
    /// Everything but the role manager.
    Professional,
    /// Everything, custom limits, the role manager.
    Enterprise,
}

/// A feature that only some tiers include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// Creating and changing custom scripts, caches, de-dupe, webhooks, event connectors.
    Advanced,
    /// Custom roles (the role manager).
    RoleManager,
}

/// A name that is not a tier or a feature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TierError {
    /// Not a tier.
    #[error(
        "unknown tier `{0}`; expected one of {names}",
        names = crate::names::one_of(Tier::ALL.map(Tier::as_str))
    )]
    UnknownTier(String),
    /// Not a feature.
    #[error(
        "unknown feature `{0}`; expected one of {names}",
        names = crate::names::one_of(Feature::ALL.map(Feature::as_str))
    )]
    UnknownFeature(String),
}

impl Tier {
    /// Every tier, in the order of the platform's price list.
    pub const ALL: [Tier; 4] = [
        Tier::Trial,
        Tier::Standard,
        Tier::Professional,
        Tier::Enterprise,
    ];

    /// The tier's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tier::Trial => "trial",
            Tier::Standard => "standard",
            Tier::Professional => "professional",
            Tier::Enterprise => "enterprise",
        }
    }

    /// Whether the tier includes `feature`.
    pub const fn includes(self, feature: Feature) -> bool {
        match (self, feature) {
            (Tier::Trial | Tier::Enterprise, _) => true,
            (Tier::Professional, Feature::Advanced) => true,
            (Tier::Professional, Feature::RoleManager) | (Tier::Standard, _) => false,
        }
    }
}

impl Feature {
    /// Every feature.
    pub const ALL: [Feature; 2] = [Feature::Advanced, Feature::RoleManager];

    /// The feature's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Feature::Advanced => "advanced",
            Feature::RoleManager => "role-manager",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = TierError;
    fn from_str(s: &str) -> Result<Tier, TierError> {
        Tier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| TierError::UnknownTier(s.to_owned()))
    }
}

impl FromStr for Feature {
    type Err = TierError;
    fn from_str(s: &str) -> Result<Feature, TierError> {
        Feature::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| TierError::UnknownFeature(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_table() {
        use Feature::*;
        use Tier::*;
        let table = [
            (Trial, [true, true]),
            (Standard, [false, false]),
            (Professional, [true, false]),
            (Enterprise, [true, true]),
        ];
        for (tier, [adv, rm]) in table {
            assert_eq!(tier.includes(Advanced), adv, "{tier} advanced");
            assert_eq!(tier.includes(RoleManager), rm, "{tier} role-manager");
            assert_eq!(tier.as_str().parse::<Tier>(), Ok(tier));
        }
        assert!("Enterprise".parse::<Tier>().is_err());
        assert!("premium".parse::<Feature>().is_err());
    }
}
