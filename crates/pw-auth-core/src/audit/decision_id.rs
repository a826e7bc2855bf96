//! [`DecisionId`]: the id a decision's audit record and its answer both carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::hex;

/// The id of one decision: its audit record holds it, and the server's answer carries
/// it (`X-Decision-Id`), so that a support ticket can quote it and find the record.
///
/// 16 bytes — the decision's time in Unix milliseconds (48 bits) then 80 bits the
/// caller draws at random — written as 32 lowercase hex digits. Ids sort by time as
/// text, and are unique without coordination between servers (two ids of one
/// millisecond collide with probability 2⁻⁸⁰). The library draws nothing: the random
/// bytes come in, like the time.
///
/// ```
/// use pw_auth_core::DecisionId;
/// use time::macros::datetime;
/// let id = DecisionId::new(datetime!(2026-12-07 12:00 UTC), [7; 10]);
/// assert_eq!(id.to_string(), "01a25060060007070707070707070707");
/// assert_eq!(id.to_string().parse::<DecisionId>()?, id);
/// # Ok::<(), pw_auth_core::DecisionIdError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DecisionId([u8; 16]);

/// Text that is not a decision id: 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a decision id is 32 lowercase hex digits")]
pub struct DecisionIdError;

impl DecisionId {
    /// The id of a decision made at `at`, with `random` drawn by the caller. A time
    /// before 1970 counts as 1970; one past the year 10889 as that year's end (48
    /// bits of milliseconds): the id stays unique by its random part.
    pub fn new(at: OffsetDateTime, random: [u8; 10]) -> DecisionId {
        let ms = at.unix_timestamp_nanos().div_euclid(1_000_000);
        let ms = u64::try_from(ms.clamp(0, (1 << 48) - 1)).unwrap_or(0);
        let mut bytes = [0u8; 16];
        let (time, rest) = bytes.split_at_mut(6);
        if let Some(low) = ms.to_be_bytes().get(2..) {
            time.copy_from_slice(low);
        }
        rest.copy_from_slice(&random);
        DecisionId(bytes)
    }

    /// The decision's time it holds, in Unix milliseconds.
    pub fn unix_millis(&self) -> u64 {
        let mut ms = [0u8; 8];
        if let (Some(to), Some(from)) = (ms.get_mut(2..), self.0.get(..6)) {
            to.copy_from_slice(from);
        }
        u64::from_be_bytes(ms)
    }

    /// Its 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Its 32 hex digits, without allocating (for a header value).
    pub fn to_hex(&self) -> [u8; 32] {
        hex::encode_array(self.0)
    }
}

impl fmt::Display for DecisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.to_hex();
        // Hex digits are ASCII.
        f.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for DecisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecisionId({self})")
    }
}

impl FromStr for DecisionId {
    type Err = DecisionIdError;

    fn from_str(s: &str) -> Result<DecisionId, DecisionIdError> {
        // Exactly 32 lowercase hex digits, or nothing.
        hex::decode_array(s).map(DecisionId).ok_or(DecisionIdError)
    }
}

impl Serialize for DecisionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DecisionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DecisionId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn the_time_comes_first_in_milliseconds_and_the_random_bytes_after() {
        let id = DecisionId::new(datetime!(1970-01-01 00:00:01.002 UTC), [0xab; 10]);
        assert_eq!(id.to_string(), "0000000003eaabababababababababab");
        assert_eq!(id.unix_millis(), 1002);
        let before = DecisionId::new(datetime!(1969-12-31 23:59:59 UTC), [0; 10]);
        assert_eq!(before.to_string(), "0".repeat(32), "before 1970: 1970");
        let last = DecisionId::new(datetime!(9999-12-31 23:59:59.999 UTC), [0; 10]);
        assert!(last.to_string().starts_with("e677d21fdbff"), "{last}");
    }

    #[test]
    fn its_bytes_and_its_debug_form() {
        let id = DecisionId::new(datetime!(1970-01-01 00:00:01.002 UTC), [0xab; 10]);
        let mut bytes = [0xab; 16];
        bytes[..6].copy_from_slice(&[0, 0, 0, 0, 0x03, 0xea]);
        assert_eq!(id.as_bytes(), &bytes);
        assert_eq!(
            format!("{id:?}"),
            "DecisionId(0000000003eaabababababababababab)"
        );
    }

    #[test]
    fn only_32_lowercase_hex_digits_parse() {
        let good = "01a25060060007070707070707070707";
        assert!(good.parse::<DecisionId>().is_ok());
        for bad in [
            "",
            "01a2506006000707070707070707070",
            "01a250600600070707070707070707070",
            "01A25060060007070707070707070707",
            "01a2506006000707070707070707070g",
            " 1a25060060007070707070707070707",
        ] {
            assert_eq!(bad.parse::<DecisionId>(), Err(DecisionIdError), "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Parse ∘ display is the identity, through JSON too; and ids sort as their
        /// times do, whatever their random parts.
        #[test]
        fn text_round_trips_and_sorts_by_time(
            a in 0i64..253_402_300_799,
            b in 0i64..253_402_300_799,
            ra in any::<[u8; 10]>(),
            rb in any::<[u8; 10]>(),
        ) {
            let at = |s| OffsetDateTime::from_unix_timestamp(s).unwrap();
            let (x, y) = (DecisionId::new(at(a), ra), DecisionId::new(at(b), rb));
            prop_assert_eq!(x.to_string().parse::<DecisionId>().unwrap(), x);
            prop_assert_eq!(x.unix_millis(), u64::try_from(a).unwrap() * 1000);
            let json = serde_json::to_string(&x).unwrap();
            prop_assert_eq!(serde_json::from_str::<DecisionId>(&json).unwrap(), x);
            if a < b {
                prop_assert!(x.to_string() < y.to_string());
            }
        }
    }
}
