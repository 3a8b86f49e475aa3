//! Time as the domain sees it: milliseconds since the Unix epoch, given by the caller.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since 1970-01-01T00:00:00Z, as `Date.now()` gives them.
pub type EpochMillis = u64;

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// Formats `ms` as RFC 3339 in UTC with millisecond precision, e.g. `2026-11-27T20:19:56.123Z`.
#[must_use]
pub fn rfc3339(ms: EpochMillis) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        // Unreachable for any u64 millisecond count this worker will see (year < 9999);
        // the epoch is a visible, harmless stand-in rather than a panic.
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// The UTC day of `ms` as `YYYY-MM-DD`, used to group records by day.
#[must_use]
pub fn day(ms: EpochMillis) -> String {
    rfc3339(ms).chars().take(10).collect()
}

/// Midnight UTC of a `YYYY-MM-DD` day, or `None` when it is not one.
#[must_use]
pub fn parse_day(text: &str) -> Option<EpochMillis> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    let secs = date.midnight().assume_utc().unix_timestamp();
    u64::try_from(secs).ok().map(|s| s * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_810_796_123), "2026-11-27T20:19:56.123Z");
        assert_eq!(day(1_795_810_796_123), "2026-11-27");
    }

    #[test]
    fn days_parse_back_to_their_midnight() {
        let midnight = parse_day("2026-11-27").unwrap();
        assert_eq!(day(midnight), "2026-11-27");
        assert_eq!(midnight % DAY_MS, 0);
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "26-11-27",
            "2026-1-27",
            "1969-12-31",
            "x",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }
}
