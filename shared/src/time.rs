//! Instants. Stored as milliseconds since the Unix epoch, always UTC; a time zone is applied only
//! when a time is shown to a person.

use std::fmt;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339, macros::format_description};

/// A UTC instant with millisecond precision.
///
/// In JSON (and every human-readable format) it is an ISO 8601 / RFC 3339 string with its zone
/// (`2026-11-24T09:30:00.000Z`); reading also takes any offset (`+08:00`) and, for data written
/// before the API spoke ISO, a number of milliseconds since the epoch. In binary formats (the
/// sync wire's postcard) it stays the integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Reconcile)]
pub struct Timestamp(pub i64);

/// The earliest and latest instants written as ISO 8601 (years 0000 to 9999): a device can
/// store any integer, and an answer must still be a valid date.
const ISO_MIN_MS: i64 = -62_167_219_200_000;
const ISO_MAX_MS: i64 = 253_402_300_799_999;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let iso = crate::openapi::string_schema(
            utoipa::openapi::KnownFormat::DateTime,
            "ISO 8601 / RFC 3339 with its zone, e.g. 2026-11-24T09:30:00+08:00 (answers are always this, in UTC with milliseconds)",
        );
        let millis = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64)))
            .minimum(Some(ISO_MIN_MS as f64))
            .maximum(Some(ISO_MAX_MS as f64))
            .description(Some("milliseconds since 1970-01-01 UTC, as clients written before ISO 8601 send (read, never written)"));
        OneOfBuilder::new().item(iso).item(millis).into()
    }
}
#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Timestamp {}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.serialize_str(&self.to_iso8601()) } else { s.serialize_i64(self.0) }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an ISO 8601 date-time with its zone, e.g. 2026-11-24T09:30:00+08:00")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                // A query string's number is text: milliseconds, as the API took before.
                if let Ok(ms) = v.parse::<i64>() {
                    return self.visit_i64(ms);
                }
                // An unencoded `+08:00` in a query string arrives as ` 08:00`.
                let mended;
                let v = match v.len().checked_sub(6).filter(|&i| v.is_char_boundary(i) && v[i..].starts_with(' ')) {
                    Some(i) => {
                        mended = format!("{}+{}", &v[..i], &v[i + 1..]);
                        mended.as_str()
                    }
                    None => v,
                };
                Timestamp::parse_rfc3339(v).ok_or_else(|| {
                    E::custom(format_args!("{v:?} is not an ISO 8601 date-time with its zone (e.g. 2026-11-24T09:30:00+08:00)"))
                })
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timestamp, E> {
                if (ISO_MIN_MS..=ISO_MAX_MS).contains(&v) {
                    Ok(Timestamp(v))
                } else {
                    Err(E::custom(format_args!("{v} milliseconds is outside years 0000 to 9999")))
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        if d.is_human_readable() { d.deserialize_any(Visitor) } else { d.deserialize_i64(Visitor) }
    }
}

// By hand rather than derived: the derived newtype impl only hydrates through `hydrate`, which
// `Option<Timestamp>` bypasses (it calls `hydrate_int` on the inner type).
impl Hydrate for Timestamp {
    fn hydrate_int(i: i64) -> Result<Self, autosurgeon::HydrateError> {
        Ok(Self(i))
    }

    fn hydrate_uint(u: u64) -> Result<Self, autosurgeon::HydrateError> {
        i64::try_from(u).map(Self).map_err(|_| autosurgeon::HydrateError::unexpected("a millisecond timestamp", u.to_string()))
    }
}

impl Timestamp {
    pub const MINUTE: i64 = 60_000;
    pub const HOUR: i64 = 60 * Self::MINUTE;
    pub const DAY: i64 = 24 * Self::HOUR;

    /// The current time from the system clock.
    pub fn now() -> Self {
        Self((OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_minutes(self, minutes: i64) -> Self {
        Self(self.0.saturating_add(minutes.saturating_mul(Self::MINUTE)))
    }

    /// `self - earlier` in whole minutes, negative when `earlier` is later (saturating: a device
    /// can write any time at all, and no screen may fail on it).
    pub fn minutes_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0).div_euclid(Self::MINUTE)
    }

    fn utc(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// RFC 3339 in UTC (`2026-11-24T09:30:00Z`), for logs and wire formats.
    pub fn to_rfc3339(self) -> String {
        self.utc().replace_nanosecond(0).unwrap_or(self.utc()).format(&Rfc3339).unwrap_or_default()
    }

    /// The local wall-clock time at a fixed UTC offset, with the offset written out
    /// (`2026-11-24 17:30 +08:00`), so a reader always knows which zone it is.
    pub fn in_zone(self, offset_minutes: i32) -> String {
        let offset = UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap_or(UtcOffset::UTC);
        let fmt = format_description!("[year]-[month]-[day] [hour]:[minute] [offset_hour sign:mandatory]:[offset_minute]");
        // A time that cannot be shown in the zone (past year 9999) is shown in UTC instead.
        let t = self.utc();
        t.checked_to_offset(offset).unwrap_or(t).format(&fmt).unwrap_or_default()
    }

    /// Start of the local calendar day containing `self`, as a UTC instant.
    pub fn start_of_local_day(self, offset_minutes: i32) -> Timestamp {
        let off = i64::from(offset_minutes) * Self::MINUTE;
        Timestamp(self.0.saturating_add(off).div_euclid(Self::DAY).saturating_mul(Self::DAY).saturating_sub(off))
    }

    /// Parses RFC 3339 (`2026-11-24T09:30:00+08:00`), years 0000 to 9999 in UTC.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        let ms = i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()?;
        (ISO_MIN_MS..=ISO_MAX_MS).contains(&ms).then_some(Self(ms))
    }

    /// ISO 8601 in UTC with milliseconds (`2026-11-24T09:30:00.000Z`), the API's form. A time
    /// outside years 0000 to 9999 (only a broken or hostile device writes one) is written as
    /// the nearest of those ends.
    pub fn to_iso8601(self) -> String {
        let ms = self.0.clamp(ISO_MIN_MS, ISO_MAX_MS);
        let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
        t.format(&fmt).unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// `#[serde(with = "shared::time::millis")]`: milliseconds in every format, for JSON that
/// phones already installed read as integers (the device routes' answers).
pub mod millis {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Timestamp;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        Timestamp::deserialize(d)
    }

    /// The same for an optional time.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        use super::super::Timestamp;

        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&t.0),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            Option::<Timestamp>::deserialize(d)
        }
    }
}

/// Parses a calendar date `YYYY-MM-DD` into days since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i64> {
    let date = Date::parse(s, format_description!("[year]-[month]-[day]")).ok()?;
    Some(i64::from(date.to_julian_day() - Date::from_calendar_date(1970, time::Month::January, 1).ok()?.to_julian_day()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_zone() {
        let t = Timestamp::parse_rfc3339("2026-11-24T09:30:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-24T09:30:00Z");
        assert_eq!(t.in_zone(480), "2026-11-24 17:30 +08:00");
        assert_eq!(t.in_zone(-330), "2026-11-24 04:00 -05:30");
        assert_eq!(t.start_of_local_day(480).in_zone(480), "2026-11-24 00:00 +08:00");
    }

    #[test]
    fn any_time_a_device_writes_can_be_shown() {
        for t in [Timestamp(i64::MAX), Timestamp(i64::MIN), Timestamp(253_402_300_799_000), Timestamp(-62_135_596_800_000)] {
            for off in [-720, 0, 480, 840] {
                let _ = t.in_zone(off);
                let _ = t.start_of_local_day(off);
            }
            let _ = t.to_rfc3339();
            let _ = t.minutes_since(Timestamp(0));
            let _ = Timestamp(0).minutes_since(t);
        }
        assert_eq!(Timestamp(253_402_300_799_000).in_zone(480), "9999-12-31 23:59 +00:00", "shown in UTC when the zone would pass 9999");
    }

    #[test]
    fn json_speaks_iso_8601_and_binary_keeps_the_integer() {
        let t = Timestamp(1_764_000_000_123);
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2025-11-24T16:00:00.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>("\"2025-11-25T00:00:00.123+08:00\"").unwrap(), t);
        assert_eq!(serde_json::from_str::<Timestamp>("1764000000123").unwrap(), t, "older data: milliseconds");
        assert_eq!(serde_json::from_str::<Timestamp>("\"1764000000123\"").unwrap(), t, "a query string's milliseconds");
        assert_eq!(serde_json::from_str::<Timestamp>("\"2025-11-25T00:00:00.123 08:00\"").unwrap(), t, "an unencoded + in a query");
        assert!(serde_json::from_str::<Timestamp>("1000000000000000000").is_err(), "past year 9999");
        for bad in ["\"2025-11-24 16:00\"", "\"2025-11-24T16:00:00\"", "\"yesterday\"", "\"+10000-01-01T00:00:00Z\"", "true"] {
            assert!(serde_json::from_str::<Timestamp>(bad).is_err(), "{bad}");
        }
        let bytes = postcard::to_stdvec(&t).unwrap();
        assert_eq!(postcard::from_bytes::<Timestamp>(&bytes).unwrap(), t);
        assert!(bytes.len() <= 8, "the wire keeps a varint");
        assert_eq!(Timestamp(i64::MAX).to_iso8601(), "9999-12-31T23:59:59.999Z");
        assert_eq!(Timestamp(i64::MIN).to_iso8601(), "0000-01-01T00:00:00.000Z");
        for t in [Timestamp(ISO_MIN_MS), Timestamp(ISO_MAX_MS), Timestamp(-1), Timestamp(0)] {
            assert_eq!(serde_json::from_str::<Timestamp>(&serde_json::to_string(&t).unwrap()).unwrap(), t);
        }
    }

    #[test]
    fn parses_dates() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }
}
