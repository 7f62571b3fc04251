//! The one timestamp format of the API, the CLI and the docs: RFC 3339 in
//! UTC with exactly six fractional digits (microseconds, the precision both
//! databases store), `2026-12-03T16:40:16.123456Z`. Fixed width, so the
//! text sorts as the time does and columns line up. Any RFC 3339 time is
//! accepted on input.

use time::{OffsetDateTime, UtcOffset};

/// `at` in the fixed format (converted to UTC; nanoseconds dropped).
pub fn format(at: OffsetDateTime) -> String {
    let t = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// For `#[serde(with = "picloud_shared::timestamp")]`.
pub fn serialize<S: serde::Serializer>(at: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*at))
}

pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    time::serde::rfc3339::deserialize(d)
}

/// For `Option<OffsetDateTime>` fields.
pub mod option {
    use time::OffsetDateTime;

    pub fn serialize<S: serde::Serializer>(
        at: &Option<OffsetDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_some(&super::format(*at)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        time::serde::rfc3339::option::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn always_six_digits_in_utc() {
        assert_eq!(
            super::format(datetime!(2026-12-03 16:40:16 UTC)),
            "2026-12-03T16:40:16.000000Z"
        );
        assert_eq!(
            super::format(datetime!(2026-12-03 16:40:16.123456789 UTC)),
            "2026-12-03T16:40:16.123456Z"
        );
        assert_eq!(
            super::format(datetime!(2026-12-03 18:40:16.5 +02:00)),
            "2026-12-03T16:40:16.500000Z"
        );
    }

    #[test]
    fn round_trips_through_serde() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct T {
            #[serde(with = "super")]
            at: time::OffsetDateTime,
            #[serde(with = "super::option")]
            maybe: Option<time::OffsetDateTime>,
        }
        let t = T {
            at: datetime!(2026-12-03 16:40:16.25 UTC),
            maybe: None,
        };
        let text = serde_json::to_string(&t).unwrap();
        assert_eq!(text, r#"{"at":"2026-12-03T16:40:16.250000Z","maybe":null}"#);
        assert_eq!(serde_json::from_str::<T>(&text).unwrap(), t);
    }
}
