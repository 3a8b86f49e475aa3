//! Consent statistics: what is counted, how a page view's count waits in the isolate until
//! it is written, and the SQL that writes and reads the counts (D1, `migrations/`).
//!
//! Nothing personal is counted: a page view is a day, the consent in effect, a country, a
//! language and a device class; a decision adds its method, what it granted and GPC. No id,
//! IP, path or user agent is stored with a count.

use crate::clock::{day, EpochMillis};
use crate::consent::{Choices, DecisionMethod};
use crate::i18n::Lang;
use std::collections::HashMap;

/// A coarse device class, from the user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    /// Phones.
    Mobile,
    /// Tablets.
    Tablet,
    /// Everything else.
    Desktop,
}

impl Device {
    /// Every class, in display order.
    pub const ALL: [Device; 3] = [Device::Mobile, Device::Tablet, Device::Desktop];

    /// The class of a user agent. Tablets first: iPads and Android tablets (Android without
    /// "Mobile") would otherwise read as phones or desktops.
    #[must_use]
    pub fn of(user_agent: Option<&str>) -> Device {
        let ua = user_agent.unwrap_or_default().to_ascii_lowercase();
        if ua.contains("ipad")
            || ua.contains("tablet")
            || (ua.contains("android") && !ua.contains("mobile"))
        {
            Device::Tablet
        } else if ua.contains("mobi") || ua.contains("iphone") || ua.contains("ipod") {
            Device::Mobile
        } else {
            Device::Desktop
        }
    }

    /// Its name in the database and the JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Desktop => "desktop",
        }
    }
}

/// Two letters, or `"--"` when the platform does not say.
#[must_use]
pub fn country_code(country: Option<&str>) -> String {
    match country {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        _ => "--".to_owned(),
    }
}

/// What one page view is counted by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageView {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// The consent in effect: `undecided`, `rejected`, `analytics`, `marketing` or `all`.
    pub consent: &'static str,
    /// [`country_code`].
    pub country: String,
    /// The language served.
    pub lang: Lang,
    /// [`Device::of`].
    pub device: Device,
}

/// The page views an isolate has counted and not yet written. Page views cost no storage
/// call of their own: they are summed here and written as one batch at most every
/// `STATS_FLUSH_SECONDS`.
#[derive(Debug, Default)]
pub struct PageViewTally {
    counts: HashMap<PageView, u64>,
    last_flush: Option<EpochMillis>,
}

impl PageViewTally {
    /// Counts one page view.
    pub fn count(&mut self, view: PageView) {
        *self.counts.entry(view).or_insert(0) += 1;
    }

    /// True when there is something to write and the last write was at least
    /// `flush_seconds` ago (0: always). The first page view of an isolate starts the clock.
    #[must_use]
    pub fn due(&mut self, now: EpochMillis, flush_seconds: u32) -> bool {
        if self.counts.is_empty() {
            return false;
        }
        let last = *self.last_flush.get_or_insert(now);
        flush_seconds == 0 || now.saturating_sub(last) >= u64::from(flush_seconds) * 1000
    }

    /// Takes everything counted, for one write.
    pub fn take(&mut self, now: EpochMillis) -> Vec<(PageView, u64)> {
        self.last_flush = Some(now);
        self.counts.drain().collect()
    }

    /// Puts back what a failed write did not store, to go with the next one.
    pub fn restore(&mut self, rows: Vec<(PageView, u64)>) {
        for (view, n) in rows {
            *self.counts.entry(view).or_insert(0) += n;
        }
    }

    /// Page views waiting to be written.
    #[must_use]
    pub fn pending(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// A page view for a request served at `now`.
#[must_use]
pub fn page_view(
    now: EpochMillis,
    consent: &'static str,
    country: Option<&str>,
    lang: Lang,
    user_agent: Option<&str>,
) -> PageView {
    PageView {
        day: day(now),
        consent,
        country: country_code(country),
        lang,
        device: Device::of(user_agent),
    }
}

/// The newest file in `migrations/`: the schema this build reads and writes. The health
/// route compares it with the newest migration wrangler recorded as applied
/// (`d1_migrations`), so a deploy that skipped `wrangler d1 migrations apply` says
/// `degraded` rather than `ok`. A test fails when a migration is added and this is not.
pub const LATEST_MIGRATION: &str = "0005_audit_log.sql";

/// Records that the banner was shown (`?1 = 'banner'`) or answered (`'decision'`) at `?2`
/// (ms), for `alerts::run_alerts`: the later time wins.
pub const ACTIVITY_UPSERT: &str = "INSERT INTO activity (kind, at) VALUES (?1, ?2) ON CONFLICT (kind) DO UPDATE SET at = MAX(at, excluded.at)";

/// Both activity times.
pub const ACTIVITY_QUERY: &str = "SELECT kind, at FROM activity";

/// The KV key holding the time of the last failed statistics write (a number, ms), for the
/// alert that statistics are not being written: D1 cannot hold what D1 failed to write.
pub const STATS_FAILED_KEY: &str = "alerts:stats-failed-at";

/// The KV key of what the hourly alert runs have already posted (`alerts::AlertState`).
pub const ALERT_STATE_KEY: &str = "alerts:state";

/// The newest applied migration, as wrangler records it.
pub const APPLIED_MIGRATION_QUERY: &str = "SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1";

/// Adds `?6` views to one page-view row (D1: one statement per row, sent as one batch).
pub const PAGE_VIEWS_UPSERT: &str = "INSERT INTO page_views (day, consent, country, lang, device, views) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (day, consent, country, lang, device) DO UPDATE SET views = views + excluded.views";

/// Adds one decision.
pub const DECISIONS_UPSERT: &str = "INSERT INTO decisions (day, method, analytics, marketing, gpc, country, lang, device, decisions) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1) ON CONFLICT (day, method, analytics, marketing, gpc, country, lang, device) DO UPDATE SET decisions = decisions + 1";

/// A row of [`PAGE_VIEWS_UPSERT`]'s parameters, in order.
#[must_use]
pub fn page_view_params(
    view: &PageView,
    views: u64,
) -> (
    String,
    &'static str,
    String,
    &'static str,
    &'static str,
    u64,
) {
    (
        view.day.clone(),
        view.consent,
        view.country.clone(),
        view.lang.tag(),
        view.device.as_str(),
        views,
    )
}

/// One recorded decision, as counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// How it was given.
    pub method: DecisionMethod,
    /// What it granted.
    pub choices: Choices,
    /// The browser sent `Sec-GPC: 1`.
    pub gpc: bool,
    /// [`country_code`].
    pub country: String,
    /// The language.
    pub lang: Lang,
    /// [`Device::of`].
    pub device: Device,
}

impl DecisionCount {
    /// The count of a decision recorded `now` (`wanted.choices` after GPC).
    #[must_use]
    pub fn of(
        now: EpochMillis,
        wanted: &crate::consent::request::DecisionRequest,
        gpc: bool,
        country: Option<&str>,
        lang: Lang,
        user_agent: Option<&str>,
    ) -> Self {
        Self {
            day: day(now),
            method: wanted.method,
            choices: wanted.choices,
            gpc,
            country: country_code(country),
            lang,
            device: Device::of(user_agent),
        }
    }

    /// The method's name as stored (`accept_all`, `reject_all`, `save`, `preferences`,
    /// `withdraw`, `api`).
    #[must_use]
    pub fn method_name(&self) -> &'static str {
        match self.method {
            DecisionMethod::AcceptAll => "accept_all",
            DecisionMethod::RejectAll => "reject_all",
            DecisionMethod::Save => "save",
            DecisionMethod::Preferences => "preferences",
            DecisionMethod::Withdraw => "withdraw",
            DecisionMethod::Api => "api",
        }
    }

    /// True for a decision made on the banner (its buttons or its customise layer).
    #[must_use]
    pub fn from_banner(&self) -> bool {
        matches!(
            self.method,
            DecisionMethod::AcceptAll | DecisionMethod::RejectAll | DecisionMethod::Save
        )
    }
}

/// The dimensions the dashboard breaks counts down by: the column, and the JSON key of a
/// row's label.
pub const DIMENSIONS: [(&str, &str); 4] = [
    ("day", "date"),
    ("country", "country"),
    ("lang", "language"),
    ("device", "device"),
];

/// Page views in a date range, by one dimension and the consent in effect.
#[must_use]
pub fn page_views_query(column: &str) -> String {
    format!("SELECT {column} AS label, consent, SUM(views) AS n FROM page_views WHERE day BETWEEN ?1 AND ?2 GROUP BY {column}, consent")
}

/// Decisions in a date range, by one dimension, method, grants and GPC.
#[must_use]
pub fn decisions_query(column: &str) -> String {
    format!("SELECT {column} AS label, method, analytics, marketing, gpc, SUM(decisions) AS n FROM decisions WHERE day BETWEEN ?1 AND ?2 GROUP BY {column}, method, analytics, marketing, gpc")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_latest_migration_is_the_newest_file_in_migrations() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations/")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| {
                std::path::Path::new(n)
                    .extension()
                    .is_some_and(|e| e == "sql")
            })
            .collect();
        names.sort();
        assert_eq!(
            names.last().map(String::as_str),
            Some(super::LATEST_MIGRATION)
        );
    }

    use super::*;

    const NOW: u64 = 1_795_810_796_123;

    #[test]
    fn devices_are_told_apart_by_their_user_agent() {
        for (ua, device) in [
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
                Device::Mobile,
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/120 Mobile Safari/537.36",
                Device::Mobile,
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)",
                Device::Tablet,
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-X200) Chrome/120 Safari/537.36",
                Device::Tablet,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) Chrome/120",
                Device::Desktop,
            ),
            ("", Device::Desktop),
        ] {
            assert_eq!(Device::of(Some(ua)), device, "{ua}");
        }
        assert_eq!(Device::of(None), Device::Desktop);
    }

    #[test]
    fn a_tally_counts_in_the_isolate_and_writes_at_most_every_flush_period() {
        let mut tally = PageViewTally::default();
        assert!(!tally.due(NOW, 30), "nothing to write");
        let view = page_view(NOW, "undecided", Some("es"), Lang::Es, None);
        assert_eq!(view.country, "ES");
        tally.count(view.clone());
        tally.count(view.clone());
        assert!(!tally.due(NOW, 30), "the first page view starts the clock");
        assert!(tally.due(NOW + 30_000, 30));
        let rows = tally.take(NOW + 30_000);
        assert_eq!(rows, vec![(view.clone(), 2)]);
        assert_eq!(tally.pending(), 0);
        tally.restore(rows);
        tally.count(view);
        assert_eq!(tally.pending(), 3, "a failed write goes with the next one");
        assert!(!tally.due(NOW + 31_000, 30));
        assert!(tally.due(NOW + 31_000, 0), "0 writes at once");
    }

    #[test]
    fn nothing_personal_is_counted() {
        let view = page_view(
            NOW,
            "all",
            Some("Madrid, ES"),
            Lang::En,
            Some("Mozilla/5.0 (iPhone)"),
        );
        assert_eq!(view.country, "--", "only a two-letter code");
        let params = page_view_params(&view, 1);
        assert_eq!(
            params,
            (
                "2026-11-27".to_owned(),
                "all",
                "--".to_owned(),
                "en",
                "mobile",
                1
            )
        );
    }

    #[test]
    fn queries_name_only_known_columns() {
        for (column, _) in DIMENSIONS {
            assert!(page_views_query(column).contains(&format!("GROUP BY {column}, consent")));
            assert!(decisions_query(column).starts_with(&format!("SELECT {column} AS label")));
        }
    }
}
