//! Property tests of writing instants and reading days (`clock`), through the public API only.
//!
//! Each property runs `support::DEFAULT_CASES` cases in a plain `cargo test`, or as many as
//! `PROPTEST_CASES` says (`scripts/proptest-long.sh` runs a million). A failure is written to
//! `tests/clock.proptest-regressions` and replayed first on the next run.

mod support;

use consent_core::clock::{day, parse_day, rfc3339};
use proptest::prelude::*;
use support::text;

/// The configuration of every property here, its failures kept in
/// `tests/clock.proptest-regressions`.
fn config() -> ProptestConfig {
    support::config("tests/clock.proptest-regressions")
}

// ---------------------------------------------------------------------------------------
// Time.

/// [`rfc3339`] as the `time` crate wrote it.
fn time_crate_rfc3339(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// [`parse_day`] as the `time` crate read it.
fn time_crate_parse_day(text: &str) -> Option<u64> {
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

proptest! {
    #![proptest_config(config())]

    /// Instants are written, and days read, as the `time` crate did.
    #[test]
    fn time_is_written_and_read_as_the_time_crate_did(
        ms in prop_oneof![
            3 => 0..=253_402_300_800_000_u64,
            1 => any::<u64>(),
            1 => (0..=2_932_896_u64, 0..3_u64).prop_map(|(d, e)| d * 86_400_000 + e),
        ],
        text in prop_oneof![
            3 => "[0-9+]{4}-[0-9+]{2}-[0-9+]{2}",
            1 => "(19[6-9][0-9]|2[0-9]{3}|9999)-(0[0-9]|1[0-3])-([0-3][0-9])",
            1 => text(12),
        ],
    ) {
        prop_assert_eq!(rfc3339(ms), time_crate_rfc3339(ms));
        prop_assert_eq!(day(ms), time_crate_rfc3339(ms).chars().take(10).collect::<String>());
        prop_assert_eq!(parse_day(&text), time_crate_parse_day(&text), "{:?}", text);
        prop_assert_eq!(parse_day(&day(ms)), time_crate_parse_day(&day(ms)));
    }
}
