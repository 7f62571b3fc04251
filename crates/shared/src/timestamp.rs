//! The one timestamp format of the API, the CLI and the docs: RFC 3339 in
//! UTC with exactly six fractional digits (microseconds, the precision both
//! databases store), `2026-12-03T16:40:16.123456Z`. Fixed width, so the
//! text sorts as the time does and columns line up. Any RFC 3339 time is
//! accepted on input.

use time::{OffsetDateTime, UtcOffset};

/// `at` in the fixed format (converted to UTC; nanoseconds dropped).
///
/// Written digit by digit: every execution record and KV write carries a
/// timestamp, and `format!` spent about 2,900 instructions on one
/// (docs/performance.md).
pub fn format(at: OffsetDateTime) -> String {
    let t = at.to_offset(UtcOffset::UTC);
    let Ok(year) = u32::try_from(t.year()) else {
        return slow(t);
    };
    if year > 9999 {
        return slow(t);
    }
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    digits(&mut out[0..4], year);
    digits(&mut out[5..7], u32::from(u8::from(t.month())));
    digits(&mut out[8..10], u32::from(t.day()));
    digits(&mut out[11..13], u32::from(t.hour()));
    digits(&mut out[14..16], u32::from(t.minute()));
    digits(&mut out[17..19], u32::from(t.second()));
    digits(&mut out[20..26], t.microsecond());
    // Only ASCII digits and separators were written: always UTF-8.
    std::str::from_utf8(&out).map_or_else(|_| slow(t), str::to_owned)
}

/// Writes `n` into `out` in decimal, right-aligned, zero-padded (the
/// caller's field is wide enough).
fn digits(out: &mut [u8], mut n: u32) {
    for d in out.iter_mut().rev() {
        // n % 10 < 10: the cast cannot truncate.
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Years before 0 or after 9999 (which `time` can hold): no fixed width.
fn slow(t: OffsetDateTime) -> String {
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
    fn the_fast_path_agrees_with_format_everywhere() {
        // A spread of instants over the four-digit years, with every field
        // at its edges somewhere in the sample.
        let step = time::Duration::new(86_400 * 3_650 + 3_599, 999_999_999);
        let mut next = Some(datetime!(0000-01-01 00:00:00 UTC));
        let mut seen = 0;
        while let Some(at) = next {
            assert_eq!(super::format(at), super::slow(at), "{at}");
            next = at.checked_add(step);
            seen += 1;
        }
        assert!(seen > 900, "{seen} instants");
        let edges = [
            datetime!(9999-12-31 23:59:59.999999999 UTC),
            datetime!(2024-02-29 12:00:00.000001 UTC),
            datetime!(1970-01-01 00:00:00 UTC),
        ];
        for at in edges {
            assert_eq!(super::format(at), super::slow(at), "{at}");
        }
        assert_eq!(
            super::format(datetime!(2024-02-29 12:00:00.000001 UTC)),
            "2024-02-29T12:00:00.000001Z"
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
