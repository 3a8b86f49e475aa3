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

/// Why a page the worker rewrote is not a page view: counted apart, by day, so marketing sees
/// the volume GA4 would not have counted either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Excluded {
    /// A known bot's user agent ([`BOT_PATTERNS`]).
    Bot,
    /// A prefetch or prerender (`Sec-Purpose`, `Purpose`): the browser fetched the page
    /// before, or without, anyone looking at it.
    Prefetch,
}

impl Excluded {
    /// Every reason, in display order.
    pub const ALL: [Excluded; 2] = [Excluded::Bot, Excluded::Prefetch];

    /// Its name in the database (`page_views_excluded.reason`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Excluded::Bot => "bot",
            Excluded::Prefetch => "prefetch",
        }
    }
}

/// What a rewritten page adds to the statistics ([`classify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageViewKind {
    /// A page view, as GA4 would count it.
    View,
    /// Not a page view, counted apart.
    Excluded(Excluded),
    /// Not counted at all: a `HEAD` request, or an answer other than 2xx (a 404 page, an
    /// error page).
    Nothing,
}

/// The user-agent patterns of the `isbot` npm package, one a line, vendored at the version
/// `package.json` pins (`tests/workerd/stats.test.mjs` checks they are that version's list).
/// The worker joins them with `|` into one case-insensitive JavaScript `RegExp`, as the
/// package does ([`bot_pattern`]): the patterns are written for JavaScript's regular
/// expressions (look-behind, look-ahead), and the runtime's engine matches them as the
/// package's own users do.
pub const BOT_PATTERNS: &str = include_str!("bots.txt");

/// [`BOT_PATTERNS`] as the one pattern the `isbot` package builds (`list.join("|")`, flag `i`).
#[must_use]
pub fn bot_pattern() -> String {
    BOT_PATTERNS
        .lines()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("|")
}

/// True when a `Sec-Purpose` or `Purpose` header value asks for a prefetch or a prerender
/// (`prefetch`, `prefetch;prerender`, `prefetch;anonymous-client-ip`, `prerender`): any of
/// its items or parameters is one of the two, in any case.
#[must_use]
pub fn is_prefetch(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        v.split([',', ';']).any(|item| {
            let token = item.split('=').next().unwrap_or_default().trim();
            token.eq_ignore_ascii_case("prefetch") || token.eq_ignore_ascii_case("prerender")
        })
    })
}

/// What a page the worker rewrote counts as, as GA4 would count it: `method` and `status`
/// are the request's and the answer's; `sec_purpose` and `purpose` the request's headers;
/// `is_bot` matches its user agent against [`BOT_PATTERNS`] and is asked only when
/// everything else says page view (it is the one costly check). A `HEAD` request or an
/// answer other than 2xx is nothing; a prefetch or prerender is [`Excluded::Prefetch`]
/// (whoever sends it); a known bot is [`Excluded::Bot`].
#[must_use]
pub fn classify(
    method: &str,
    status: u16,
    sec_purpose: Option<&str>,
    purpose: Option<&str>,
    is_bot: impl FnOnce() -> bool,
) -> PageViewKind {
    if method.eq_ignore_ascii_case("HEAD") || !(200..=299).contains(&status) {
        PageViewKind::Nothing
    } else if is_prefetch(sec_purpose) || is_prefetch(purpose) {
        PageViewKind::Excluded(Excluded::Prefetch)
    } else if is_bot() {
        PageViewKind::Excluded(Excluded::Bot)
    } else {
        PageViewKind::View
    }
}

/// One count for the tally: a page view, or a page that was not one ([`Excluded`]), by day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counted {
    /// A page view.
    View(PageView),
    /// A page that was not a page view, on `day` (`YYYY-MM-DD`, UTC).
    Excluded(String, Excluded),
}

/// What one flush writes: page views by [`PageView`], and the excluded pages by day and
/// reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Page views and how many.
    pub views: Vec<(PageView, u64)>,
    /// Excluded pages: day, reason, how many.
    pub excluded: Vec<(String, Excluded, u64)>,
}

impl Batch {
    /// True when there is nothing to write.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.views.is_empty() && self.excluded.is_empty()
    }
}

/// What the request that counted something does about writing it ([`PageViewTally::count`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flush {
    /// Write this at once (`STATS_FLUSH_SECONDS` 0).
    Now(Batch),
    /// This request opened a batch: it waits this many seconds after its response, then
    /// takes and writes everything counted by then ([`PageViewTally::take`]).
    After(u32),
    /// A batch is open: its opener writes this count with the rest.
    Joined,
}

/// How long the platform lets a request's `waitUntil` run after its response. A batch still
/// open this long after it was opened lost its flush (the isolate cut it short): the next
/// count opens a new one rather than wait for it forever.
pub const WAIT_UNTIL_MS: u64 = 30_000;

/// The page views (and excluded pages) an isolate has counted and not yet written. A count
/// costs no storage call of its own: the request that finds no batch open opens one and, after
/// its response, waits `STATS_FLUSH_SECONDS` and writes everything counted by then as one
/// batch; the requests in between only add to it. So every count reaches D1 within
/// `STATS_FLUSH_SECONDS` of being counted, whether or not more traffic follows.
#[derive(Debug, Default)]
pub struct PageViewTally {
    counts: HashMap<PageView, u64>,
    /// A handful of rows at most (a reason and a day each): a list, not a second map.
    excluded: Vec<(String, Excluded, u64)>,
    /// When the open batch was opened, if one is.
    open_since: Option<EpochMillis>,
}

impl PageViewTally {
    /// Counts one page view (or excluded page) at `now`, and says what the counting request
    /// does about writing it: with `flush_seconds` 0, write everything at once; with no
    /// batch open (or one open for [`WAIT_UNTIL_MS`], whose flush never came), open one;
    /// else join the open one.
    pub fn count(&mut self, counted: Counted, now: EpochMillis, flush_seconds: u32) -> Flush {
        match counted {
            Counted::View(view) => *self.counts.entry(view).or_insert(0) += 1,
            Counted::Excluded(day, why) => self.add_excluded(day, why, 1),
        }
        if flush_seconds == 0 {
            return Flush::Now(self.take());
        }
        match self.open_since {
            Some(opened) if now.saturating_sub(opened) < WAIT_UNTIL_MS => Flush::Joined,
            _ => {
                self.open_since = Some(now);
                Flush::After(flush_seconds)
            }
        }
    }

    /// Takes everything counted, for one write, and closes the open batch: what is counted
    /// from now on opens the next.
    pub fn take(&mut self) -> Batch {
        self.open_since = None;
        Batch {
            views: self.counts.drain().collect(),
            excluded: std::mem::take(&mut self.excluded),
        }
    }

    fn add_excluded(&mut self, day: String, why: Excluded, n: u64) {
        match self
            .excluded
            .iter_mut()
            .find(|(d, w, _)| *d == day && *w == why)
        {
            Some((_, _, count)) => *count += n,
            None => self.excluded.push((day, why, n)),
        }
    }

    /// Puts back what a failed write did not store: it goes with the next batch (the open
    /// one, or the one the next count opens).
    pub fn restore(&mut self, batch: Batch) {
        for (view, n) in batch.views {
            *self.counts.entry(view).or_insert(0) += n;
        }
        for (day, why, n) in batch.excluded {
            self.add_excluded(day, why, n);
        }
    }

    /// Page views waiting to be written.
    #[must_use]
    pub fn pending(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Excluded pages waiting to be written.
    #[must_use]
    pub fn pending_excluded(&self) -> u64 {
        self.excluded.iter().map(|(_, _, n)| n).sum()
    }

    /// True while a batch is open (its opener will write it).
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.open_since.is_some()
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

/// The newest migration applied, by name (wrangler's `d1_migrations`): by name rather than
/// by the order applied, so a migration numbered before one already applied does not read as
/// the newest. `NULL` when none is.
pub const APPLIED_MIGRATION_QUERY: &str = "SELECT MAX(name) AS name FROM d1_migrations";

/// Adds `?6` views to one page-view row (D1: one statement per row, sent as one batch).
pub const PAGE_VIEWS_UPSERT: &str = "INSERT INTO page_views (day, consent, country, lang, device, views) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (day, consent, country, lang, device) DO UPDATE SET views = views + excluded.views";

/// Adds `?3` excluded pages of one day and reason ([`Excluded`]), in the same batch as the
/// page views.
pub const EXCLUDED_UPSERT: &str = "INSERT INTO page_views_excluded (day, reason, views) VALUES (?1, ?2, ?3) ON CONFLICT (day, reason) DO UPDATE SET views = views + excluded.views";

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

/// Excluded pages in a date range, by day and reason.
pub const EXCLUDED_QUERY: &str = "SELECT day AS label, reason, SUM(views) AS n FROM page_views_excluded WHERE day BETWEEN ?1 AND ?2 GROUP BY day, reason";

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
    fn the_request_that_opens_a_batch_flushes_it_and_later_counts_join_it() {
        let mut tally = PageViewTally::default();
        let view = page_view(NOW, "undecided", Some("es"), Lang::Es, None);
        assert_eq!(view.country, "ES");
        let bot = || Counted::Excluded(day(NOW), Excluded::Bot);
        assert_eq!(
            tally.count(Counted::View(view.clone()), NOW, 20),
            Flush::After(20),
            "the first count opens a batch: its request flushes it 20 s later"
        );
        assert!(tally.is_open());
        assert_eq!(
            tally.count(Counted::View(view.clone()), NOW + 1_000, 20),
            Flush::Joined
        );
        assert_eq!(tally.count(bot(), NOW + 19_000, 20), Flush::Joined);
        assert_eq!(tally.pending(), 2);
        assert_eq!(tally.pending_excluded(), 1);
        let batch = tally.take();
        assert_eq!(batch.views, vec![(view.clone(), 2)]);
        assert_eq!(batch.excluded, vec![(day(NOW), Excluded::Bot, 1)]);
        assert!(!tally.is_open(), "taking closes the batch");
        assert_eq!((tally.pending(), tally.pending_excluded()), (0, 0));
        assert_eq!(
            tally.count(Counted::View(view.clone()), NOW + 20_001, 20),
            Flush::After(20),
            "the next count after a flush opens the next batch"
        );
    }

    #[test]
    fn a_failed_write_goes_with_the_next_batch_and_is_never_stranded() {
        let mut tally = PageViewTally::default();
        let view = page_view(NOW, "all", Some("FR"), Lang::En, None);
        assert_eq!(
            tally.count(Counted::View(view.clone()), NOW, 20),
            Flush::After(20)
        );
        let failed = tally.take();
        // While the write fails, another page view opens the next batch.
        assert_eq!(
            tally.count(Counted::View(view.clone()), NOW + 20_100, 20),
            Flush::After(20)
        );
        tally.restore(failed);
        assert_eq!(tally.pending(), 2, "the failed counts join the open batch");
        assert_eq!(tally.take().views, vec![(view.clone(), 2)]);

        // A failed write with no batch open: the next count opens one, which takes them along.
        tally.count(Counted::View(view.clone()), NOW + 50_000, 20);
        let failed = tally.take();
        tally.restore(failed);
        assert!(!tally.is_open());
        assert_eq!(
            tally.count(Counted::View(view.clone()), NOW + 60_000, 20),
            Flush::After(20)
        );
        assert_eq!(tally.take().views, vec![(view, 2)]);
    }

    #[test]
    fn a_batch_whose_flush_never_came_is_reopened() {
        let mut tally = PageViewTally::default();
        let view = page_view(NOW, "all", None, Lang::En, None);
        assert_eq!(
            tally.count(Counted::View(view.clone()), NOW, 25),
            Flush::After(25)
        );
        // Its opener's waitUntil was cut short: nothing took the batch.
        assert_eq!(
            tally.count(Counted::View(view.clone()), NOW + WAIT_UNTIL_MS - 1, 25),
            Flush::Joined
        );
        assert_eq!(
            tally.count(Counted::View(view), NOW + WAIT_UNTIL_MS, 25),
            Flush::After(25),
            "once the platform's waitUntil limit has passed, the next count opens a batch"
        );
        assert_eq!(
            tally.take().views[0].1,
            3,
            "with everything the lost one held"
        );
    }

    #[test]
    fn zero_writes_every_count_at_once() {
        let mut tally = PageViewTally::default();
        let view = page_view(NOW, "rejected", None, Lang::Es, None);
        let Flush::Now(batch) = tally.count(Counted::View(view.clone()), NOW, 0) else {
            panic!("0 writes at once");
        };
        assert_eq!(batch.views, vec![(view, 1)]);
        assert!(!tally.is_open());
        let Flush::Now(batch) =
            tally.count(Counted::Excluded(day(NOW), Excluded::Prefetch), NOW, 0)
        else {
            panic!("0 writes at once");
        };
        assert_eq!(batch.excluded, vec![(day(NOW), Excluded::Prefetch, 1)]);
        assert!(batch.views.is_empty() && !batch.is_empty());
        assert!(Batch::default().is_empty());
    }

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    /// The classification around the bot check: `is_bot` stands for the runtime's match
    /// of the user agent against [`BOT_PATTERNS`] (tested against the real list in
    /// `tests/workerd/stats.test.mjs`), and says whether it was asked.
    fn kind(
        method: &str,
        status: u16,
        sec_purpose: Option<&str>,
        purpose: Option<&str>,
        bot: bool,
    ) -> (PageViewKind, bool) {
        let asked = std::cell::Cell::new(false);
        let kind = classify(method, status, sec_purpose, purpose, || {
            asked.set(true);
            bot
        });
        (kind, asked.get())
    }

    #[test]
    fn a_page_view_is_what_ga4_would_count() {
        use PageViewKind::{Excluded as Apart, Nothing, View};
        assert_eq!(
            kind("GET", 200, None, None, false),
            (View, true),
            "{CHROME}"
        );
        assert_eq!(kind("POST", 201, None, None, false).0, View);
        assert_eq!(
            kind("GET", 200, None, None, true),
            (Apart(Excluded::Bot), true),
            "Googlebot, Bingbot: a known bot's user agent"
        );
        for (sec_purpose, purpose) in [
            (Some("prefetch"), None),
            (Some("prefetch;prerender"), None),
            (Some("prefetch; anonymous-client-ip"), None),
            (Some("Prefetch"), None),
            (None, Some("prefetch")),
            (None, Some("prerender")),
        ] {
            assert_eq!(
                kind("GET", 200, sec_purpose, purpose, false),
                (Apart(Excluded::Prefetch), false),
                "{sec_purpose:?} {purpose:?}: no bot check needed"
            );
        }
        assert_eq!(
            kind("GET", 200, Some("prefetch"), None, true).0,
            Apart(Excluded::Prefetch),
            "a bot's prefetch is a prefetch"
        );
        for (method, status) in [
            ("HEAD", 200),
            ("head", 200),
            ("GET", 404),
            ("GET", 500),
            ("GET", 301),
            ("GET", 304),
            ("GET", 199),
        ] {
            assert_eq!(
                kind(method, status, None, None, true),
                (Nothing, false),
                "{method} {status}: not a page view, nor counted apart"
            );
        }
        assert_eq!(kind("HEAD", 200, Some("prefetch"), None, false).0, Nothing);
        assert_eq!(kind("GET", 299, None, None, false).0, View);
        for not_prefetch in [
            "",
            "prefetchx",
            "prerendering",
            "preview",
            "anonymous-client-ip",
        ] {
            assert!(!is_prefetch(Some(not_prefetch)), "{not_prefetch}");
        }
        assert!(!is_prefetch(None));
    }

    #[test]
    fn the_bot_pattern_is_the_vendored_list_joined_as_isbot_joins_it() {
        let lines: Vec<&str> = BOT_PATTERNS.lines().collect();
        assert!(lines.len() > 100, "the whole list");
        assert!(lines.iter().all(|l| !l.is_empty()), "no blank line");
        let pattern = bot_pattern();
        assert_eq!(pattern.split('|').next(), lines.first().copied());
        assert_eq!(pattern, lines.join("|"));
        assert!(BOT_PATTERNS.ends_with('\n'));
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
