//! How the crate writes timestamps: RFC 3339 in UTC, always. A time with an offset
//! that RFC 3339 cannot carry (seconds-precision, like `+01:00:30`) is normalised to
//! UTC first; a year outside 0000–9999, which RFC 3339 cannot carry at all, is written
//! in ISO 8601's expanded form (`+10000-01-01T00:00:00Z`, `-0001-…`) instead of
//! failing, so an audit record can always be written whatever clock produced it.
//! Reading accepts RFC 3339 only.

use std::fmt;

use serde::{Deserializer, Serializer};
use time::{OffsetDateTime, UtcOffset};

/// A timestamp's written form (see the module's documentation).
pub(crate) struct Stamp(pub(crate) OffsetDateTime);

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The conversion fails only at the very ends of `time`'s range; the original
        // offset is written then.
        let t = self.0.checked_to_offset(UtcOffset::UTC).unwrap_or(self.0);
        if let Ok(text) = t.format(&time::format_description::well_known::Rfc3339) {
            return f.write_str(&text);
        }
        // Beyond what RFC 3339 carries: the same form with ISO 8601's expanded year.
        write!(
            f,
            "{:+05}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        let nanos = t.nanosecond();
        if nanos != 0 {
            // Nine digits, trailing zeros dropped, as `time`'s RFC 3339 writer does.
            let nine = format!("{nanos:09}");
            f.write_str(".")?;
            f.write_str(nine.trim_end_matches('0'))?;
        }
        let offset = t.offset();
        if offset.is_utc() {
            f.write_str("Z")
        } else {
            let (h, m, s) = offset.as_hms();
            let sign = if offset.is_negative() { '-' } else { '+' };
            write!(
                f,
                "{sign}{:02}:{:02}:{:02}",
                h.unsigned_abs(),
                m.unsigned_abs(),
                s.unsigned_abs()
            )
        }
    }
}

/// The first and the last instant RFC 3339 can carry (the years 0 to 9999, UTC), in
/// Unix nanoseconds: `0000-01-01T00:00:00Z` and `9999-12-31T23:59:59.999999999Z`.
const FIRST_WRITABLE_NS: i128 = -62_167_219_200_000_000_000;
const LAST_WRITABLE_NS: i128 = 253_402_300_799_999_999_999;

/// Whether RFC 3339 can carry an instant given in Unix nanoseconds: what the limiter
/// accepts as `now` and stores, so that its state can always be read back.
pub(crate) fn is_writable_ns(ns: i128) -> bool {
    (FIRST_WRITABLE_NS..=LAST_WRITABLE_NS).contains(&ns)
}

/// Whether RFC 3339 can carry `t` once normalised to UTC.
#[cfg(test)]
fn is_writable(t: OffsetDateTime) -> bool {
    is_writable_ns(t.unix_timestamp_nanos())
}

/// `#[serde(with = "crate::stamp")]`.
pub(crate) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Stamp(*t))
}

/// What a timestamp must be, said when one is not (`time`'s own message for a year
/// past 9999 is "a character literal was not valid").
const EXPECTED: &str =
    "a timestamp must be an RFC 3339 date-time with a four-digit year, like 2026-11-27T12:00:00Z";

fn parse<E: serde::de::Error>(text: &str) -> Result<OffsetDateTime, E> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| E::custom(EXPECTED))
}

/// `#[serde(with = "crate::stamp")]`.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    let text: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
    parse(&text)
}

/// `#[serde(with = "crate::stamp::option")]`.
pub(crate) mod option {
    use serde::{Deserializer, Serializer};
    use time::OffsetDateTime;

    use super::Stamp;

    #[expect(
        clippy::ref_option,
        reason = "serde's `with` passes the field by reference"
    )]
    pub(crate) fn serialize<S: Serializer>(
        t: &Option<OffsetDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(&Stamp(*t)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        let text: Option<std::borrow::Cow<'de, str>> = serde::Deserialize::deserialize(d)?;
        text.map(|t| super::parse(&t)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn rfc3339_in_utc_and_expanded_years_beyond_it() {
        let cases = [
            (datetime!(2026-11-27 12:00 UTC), "2026-11-27T12:00:00Z"),
            (
                datetime!(2026-11-27 12:00:00.120 UTC),
                "2026-11-27T12:00:00.12Z",
            ),
            (
                datetime!(2026-11-27 12:00:00.000000001 UTC),
                "2026-11-27T12:00:00.000000001Z",
            ),
            (
                datetime!(2026-11-27 13:00:30 UTC).to_offset(offset!(+01:00:30)),
                "2026-11-27T13:00:30Z",
            ),
            (datetime!(0000-01-01 0:00 UTC), "0000-01-01T00:00:00Z"),
            (datetime!(9999-12-31 23:59:59 UTC), "9999-12-31T23:59:59Z"),
            (datetime!(-0001-12-31 23:59:59 UTC), "-0001-12-31T23:59:59Z"),
            (datetime!(-9999-01-01 0:00 UTC), "-9999-01-01T00:00:00Z"),
            (
                datetime!(-9999-01-01 0:00 +01:00),
                "-9999-01-01T00:00:00+01:00:00",
            ),
        ];
        for (t, text) in cases {
            assert_eq!(Stamp(t).to_string(), text);
        }
        // In range, the text is what `time`'s RFC 3339 writer gives for the UTC time.
        let t = datetime!(2026-11-27 12:00:00.5 -05:00);
        let utc = t.to_offset(UtcOffset::UTC);
        let rfc = utc
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        assert_eq!(Stamp(t).to_string(), rfc);
    }

    #[test]
    fn reading_says_what_a_timestamp_must_be() {
        #[derive(serde::Deserialize, Debug)]
        struct T {
            #[serde(with = "crate::stamp")]
            #[allow(dead_code, reason = "read only for its error")]
            at: OffsetDateTime,
        }
        for text in [
            r#"{"at": "10000-01-01T00:00:00Z"}"#,
            r#"{"at": "yesterday"}"#,
        ] {
            let e = serde_json::from_str::<T>(text).unwrap_err().to_string();
            assert!(e.starts_with(EXPECTED), "{e}");
        }
        let t: T = serde_json::from_str(r#"{"at": "2026-11-27T12:00:00+01:00"}"#).unwrap();
        assert_eq!(t.at, time::macros::datetime!(2026-11-27 11:00 UTC));
        // A string with an escape is read too (not only borrowed ones).
        let t: T = serde_json::from_str(r#"{"at": "2026-11-27T12:00:00\u005a"}"#).unwrap();
        assert_eq!(t.at, time::macros::datetime!(2026-11-27 12:00 UTC));
    }

    #[test]
    fn writable_means_a_year_rfc3339_can_carry() {
        // The bounds are the calendar's: the year of the instant in UTC, 0 to 9999.
        assert_eq!(
            FIRST_WRITABLE_NS,
            datetime!(0000-01-01 0:00 UTC).unix_timestamp_nanos()
        );
        assert_eq!(
            LAST_WRITABLE_NS,
            datetime!(9999-12-31 23:59:59.999999999 UTC).unix_timestamp_nanos()
        );
        let calendar = |t: OffsetDateTime| {
            t.checked_to_offset(UtcOffset::UTC)
                .is_some_and(|u| (0..=9999).contains(&u.year()))
        };
        for t in [
            datetime!(0000-01-01 0:00 UTC),
            datetime!(0000-01-01 0:00 +00:00:01),
            datetime!(-0001-12-31 23:59:59.999999999 UTC),
            datetime!(9999-12-31 23:59:59.999999999 UTC),
            datetime!(9999-12-31 23:59:59.999999999 -00:00:01),
            datetime!(9999-12-31 23:00 +01:00),
            datetime!(2026-11-28 12:00 +05:30),
        ] {
            assert_eq!(is_writable(t), calendar(t), "{t}");
        }
        assert!(is_writable(datetime!(9999-12-31 23:59:59.999999999 UTC)));
        assert!(!is_writable(datetime!(9999-12-31 23:59:59 -01:00)));
        assert!(is_writable(datetime!(0000-01-01 0:00 UTC)));
        assert!(!is_writable(datetime!(-0001-12-31 23:59:59 UTC)));
        assert!(!is_writable(datetime!(-9999-01-01 0:00 +01:00)));
    }
}
