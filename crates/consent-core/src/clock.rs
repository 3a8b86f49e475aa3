//! Time as the domain sees it: milliseconds since the Unix epoch, given by the caller.

/// Milliseconds since 1970-01-01T00:00:00Z, as `Date.now()` gives them.
pub type EpochMillis = u64;

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// The last instant [`rfc3339`] writes: 9999-12-31T23:59:59.999Z.
const LAST_MS: EpochMillis = 253_402_300_799_999;

/// Formats `ms` as RFC 3339 in UTC with millisecond precision, e.g. `2026-11-27T20:19:56.123Z`
/// (the fraction without trailing zeros, none for a whole second).
#[must_use]
pub fn rfc3339(ms: EpochMillis) -> String {
    let mut out = String::with_capacity(24);
    push_rfc3339(&mut out, ms);
    out
}

/// Appends [`rfc3339`]'s text for `ms`, digit by digit (it is written on every request's
/// log line, where `format!` costs more than the date arithmetic).
pub fn push_rfc3339(out: &mut String, ms: EpochMillis) {
    if ms > LAST_MS {
        // Unreachable for any millisecond count this worker will see; the epoch is a
        // visible, harmless stand-in rather than a panic or a five-digit year.
        out.push_str("1970-01-01T00:00:00Z");
        return;
    }
    let (days, ms_of_day) = (ms / DAY_MS, ms % DAY_MS);
    let (year, month, day) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    let fields = [
        (year, 4, '-'),
        (month, 2, '-'),
        (day, 2, 'T'),
        (secs / 3600, 2, ':'),
        (secs / 60 % 60, 2, ':'),
        (secs % 60, 2, '.'),
    ];
    for (value, width, separator) in fields {
        push_digits(out, value, width);
        out.push(separator);
    }
    let mut millis = ms_of_day % 1000;
    if millis == 0 {
        out.pop(); // no fraction: the '.' goes
    } else {
        let mut width = 3;
        while millis % 10 == 0 {
            millis /= 10;
            width -= 1;
        }
        push_digits(out, millis, width);
    }
    out.push('Z');
}

/// Appends the last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut String, value: u64, width: u32) {
    for place in (0..width).rev() {
        let digit = value / 10_u64.pow(place) % 10;
        out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
    }
}

/// The UTC day of `ms` as `YYYY-MM-DD`, used to group records by day.
#[must_use]
pub fn day(ms: EpochMillis) -> String {
    rfc3339(ms).chars().take(10).collect()
}

/// Midnight UTC of a `YYYY-MM-DD` day, or `None` when it is not one (or is before 1970).
#[must_use]
pub fn parse_day(text: &str) -> Option<EpochMillis> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (year, month, day) = (
        y.parse::<u64>().ok()?,
        m.parse::<u8>().ok()?,
        d.parse::<u8>().ok()?,
    );
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * DAY_MS)
}

fn days_in_month(year: u64, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// The proleptic Gregorian calendar from 1970 on, counted in 400-year eras from 0000-03-01
// (Howard Hinnant's `days_from_civil` and `civil_from_days`, unsigned: no date before 1970).
const DAYS_0000_03_01_TO_1970: u64 = 719_468;
const DAYS_PER_ERA: u64 = 146_097;

/// The days from 1970-01-01 to a valid date on or after it.
fn days_from_civil(year: u64, month: u8, day: u8) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let (era, year_of_era) = (year / 400, year % 400);
    let month = u64::from(month);
    let month_from_march = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_from_march + 2) / 5 + u64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - DAYS_0000_03_01_TO_1970
}

/// The date `days` after 1970-01-01: year, month (1–12), day (1–31).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let days = days + DAYS_0000_03_01_TO_1970;
    let (era, day_of_era) = (days / DAYS_PER_ERA, days % DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
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
