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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_810_796_123), "2026-11-27T20:19:56.123Z");
        assert_eq!(day(1_795_810_796_123), "2026-11-27");
    }
}
