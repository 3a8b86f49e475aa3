//! The dashboard's numbers for a date range (README, "For marketing: the consent dashboard"): page
//! views by the consent in effect, decisions by method and grant, and coverage — the share
//! of page views GA4 (analytics) and Ads (marketing) can see — in total and by day, country,
//! language and device; the banner's figures (impressions, interaction, no choice, accept
//! rate); opt-in per purpose; and the same report for the equally long range just before.
//! Built from the grouped rows `stats::page_views_query` and `stats::decisions_query` return.
//! A rate whose denominator is 0 is `None` (`null` in the JSON, empty in the CSV), never 0:
//! no data is not 0 %.

use crate::clock::{day, parse_day, EpochMillis, DAY_MS};
use crate::dashboard::stats::Excluded;
use crate::failure::Failure;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The longest range the dashboard reads at once.
pub const MAX_RANGE_DAYS: u64 = 400;
/// The range when none is asked for: the last 30 days, today included.
pub const DEFAULT_RANGE_DAYS: u64 = 30;

/// A range of UTC days, both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRange {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day.
    pub to: String,
}

impl DayRange {
    /// The range a query string asks for (`from`, `to`), or the last 30 days.
    ///
    /// # Errors
    /// [`Failure::BadRequest`] for a day that is not one, `from` after `to`, or a range over
    /// [`MAX_RANGE_DAYS`].
    pub fn from_query(query: &str, now: EpochMillis) -> Result<Self, Failure> {
        let mut from = None;
        let mut to = None;
        for (name, value) in form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            match name.as_ref() {
                "from" => from = Some(value.into_owned()),
                "to" => to = Some(value.into_owned()),
                _ => {}
            }
        }
        let bad = |what: &str| Failure::BadRequest(format!("{what}: use YYYY-MM-DD"));
        let to_ms = match &to {
            Some(t) => parse_day(t).ok_or_else(|| bad("to"))?,
            None => now - now % DAY_MS,
        };
        let from_ms = match &from {
            Some(f) => parse_day(f).ok_or_else(|| bad("from"))?,
            None => to_ms.saturating_sub((DEFAULT_RANGE_DAYS - 1) * DAY_MS),
        };
        if from_ms > to_ms {
            return Err(Failure::BadRequest("from is after to".into()));
        }
        if (to_ms - from_ms) / DAY_MS >= MAX_RANGE_DAYS {
            return Err(Failure::BadRequest(format!(
                "at most {MAX_RANGE_DAYS} days at once"
            )));
        }
        Ok(Self {
            from: day(from_ms),
            to: day(to_ms),
        })
    }

    /// Every day of the range, in order.
    #[must_use]
    pub fn days(&self) -> Vec<String> {
        let (Some(from), Some(to)) = (parse_day(&self.from), parse_day(&self.to)) else {
            return Vec::new();
        };
        (0..=(to - from) / DAY_MS)
            .map(|i| day(from + i * DAY_MS))
            .collect()
    }

    /// The equally long range just before this one (for the comparison with the previous
    /// period).
    #[must_use]
    pub fn previous(&self) -> Self {
        let (Some(from), Some(to)) = (parse_day(&self.from), parse_day(&self.to)) else {
            return self.clone();
        };
        let len = to - from + DAY_MS;
        let prev_to = from.saturating_sub(DAY_MS);
        Self {
            from: day(prev_to.saturating_sub(len - DAY_MS)),
            to: day(prev_to),
        }
    }

    /// The range as a query string, for links.
    #[must_use]
    pub fn query(&self) -> String {
        format!("from={}&to={}", self.from, self.to)
    }
}

/// One row of `stats::page_views_query`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PageViewRow {
    /// The dimension's value (a day, a country, …).
    pub label: String,
    /// `undecided`, `rejected`, `analytics`, `marketing` or `all`.
    pub consent: String,
    /// Page views.
    pub n: u64,
}

/// One row of `stats::decisions_query`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DecisionRow {
    /// The dimension's value.
    pub label: String,
    /// How the decisions were given.
    pub method: String,
    /// Analytics granted (0/1).
    pub analytics: u8,
    /// Marketing granted (0/1).
    pub marketing: u8,
    /// `Sec-GPC: 1` (0/1).
    pub gpc: u8,
    /// Decisions.
    pub n: u64,
}

/// One row of `stats::EXCLUDED_QUERY`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExcludedRow {
    /// The day.
    pub label: String,
    /// `bot` or `prefetch` (`stats::Excluded::as_str`).
    pub reason: String,
    /// Pages.
    pub n: u64,
}

/// Pages the worker rewrote that were not page views, counted apart (`stats::Excluded`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExcludedViews {
    /// Known bots.
    pub bots: u64,
    /// Prefetches and prerenders.
    pub prefetch: u64,
}

/// Page views by the consent in effect. `analytics` and `marketing` count every view where
/// that purpose was granted, so a view with both counts in both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PageViews {
    /// All rewritten HTML pages.
    pub total: u64,
    /// No valid decision.
    pub undecided: u64,
    /// Everything refused.
    pub rejected: u64,
    /// Analytics granted (GA4 can see it).
    pub analytics: u64,
    /// Marketing granted (Ads can see it).
    pub marketing: u64,
    /// The pages that were not page views, outside `total`: counted by day only, so present
    /// for the whole range and each day, absent from the other breakdowns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<ExcludedViews>,
}

/// Decisions recorded, by method and by what they granted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Decisions {
    /// All decisions.
    pub total: u64,
    /// The banner's "Accept all".
    pub accept_all: u64,
    /// The banner's "Reject all".
    pub reject_all: u64,
    /// The banner's customise layer.
    pub save: u64,
    /// Decisions granting analytics.
    pub analytics: u64,
    /// Decisions granting marketing.
    pub marketing: u64,
    /// Decisions from browsers sending Global Privacy Control.
    pub gpc: u64,
}

/// The share of page views each tool can see, 0 to 1; `None` without page views.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Coverage {
    /// GA4.
    pub analytics: Option<f64>,
    /// Google Ads.
    pub marketing: Option<f64>,
}

/// What the banner drew: the figures every consent platform shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Banner {
    /// Page views that carried the banner (consent `undecided`).
    pub impressions: u64,
    /// Decisions made from the banner: accept all, reject all, customise and save.
    pub decisions: u64,
    /// `decisions ÷ impressions`; `None` without impressions.
    pub interaction_rate: Option<f64>,
    /// The share of impressions that ended in no choice: `1 − interaction_rate`, at least 0.
    pub no_choice_rate: Option<f64>,
    /// "Accept all" ÷ banner decisions: the consent rate among those who chose (Didomi's
    /// "consent rate"); `None` without banner decisions.
    pub accept_rate: Option<f64>,
}

/// The share of decisions that granted each purpose; `None` without decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct OptIn {
    /// Analytics.
    pub analytics: Option<f64>,
    /// Marketing.
    pub marketing: Option<f64>,
}

/// The counts of one group (the whole range, a day, a country, …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Page views.
    pub page_views: PageViews,
    /// Decisions.
    pub decisions: Decisions,
    /// Coverage.
    pub coverage: Coverage,
    /// The banner's figures.
    pub banner: Banner,
    /// Opt-in per purpose.
    pub opt_in: OptIn,
}

impl Counts {
    fn add_page_views(&mut self, consent: &str, n: u64) {
        let v = &mut self.page_views;
        v.total += n;
        match consent {
            "undecided" => v.undecided += n,
            "rejected" => v.rejected += n,
            "analytics" => v.analytics += n,
            "marketing" => v.marketing += n,
            "all" => {
                v.analytics += n;
                v.marketing += n;
            }
            _ => {}
        }
    }

    fn add_decisions(&mut self, row: &DecisionRow) {
        let d = &mut self.decisions;
        d.total += row.n;
        match row.method.as_str() {
            "accept_all" => d.accept_all += row.n,
            "reject_all" => d.reject_all += row.n,
            "save" => d.save += row.n,
            _ => {}
        }
        d.analytics += u64::from(row.analytics) * row.n;
        d.marketing += u64::from(row.marketing) * row.n;
        d.gpc += u64::from(row.gpc) * row.n;
    }

    fn finish(mut self) -> Self {
        let (v, d) = (self.page_views, self.decisions);
        self.coverage = Coverage {
            analytics: share(v.analytics, v.total),
            marketing: share(v.marketing, v.total),
        };
        let banner_decisions = d.accept_all + d.reject_all + d.save;
        let interaction_rate = share(banner_decisions, v.undecided);
        self.banner = Banner {
            impressions: v.undecided,
            decisions: banner_decisions,
            interaction_rate,
            no_choice_rate: interaction_rate.map(|r| (1.0 - r).max(0.0)),
            accept_rate: share(d.accept_all, banner_decisions),
        };
        self.opt_in = OptIn {
            analytics: share(d.analytics, d.total),
            marketing: share(d.marketing, d.total),
        };
        self
    }
}

/// `part / whole`; `None` when there is no whole (no data is not 0 %).
#[must_use]
#[allow(clippy::cast_precision_loss)] // counts far below 2^52
pub fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The numbers of one range.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The range.
    pub range: DayRange,
    /// The whole range.
    pub total: Counts,
    /// One entry per dimension of `stats::DIMENSIONS`: (JSON key, label → counts).
    pub breakdowns: Vec<(&'static str, BTreeMap<String, Counts>)>,
    /// The same report for [`DayRange::previous`], when it was read.
    pub previous: Option<Box<Report>>,
}

impl Report {
    /// Aggregates the rows of each dimension (in `stats::DIMENSIONS` order). The day
    /// breakdown has every day of the range, zero where nothing was counted.
    #[must_use]
    pub fn build(
        range: DayRange,
        views: &[Vec<PageViewRow>],
        decisions: &[Vec<DecisionRow>],
    ) -> Self {
        let mut breakdowns = Vec::new();
        let mut total = Counts::default();
        for (i, (_, key)) in crate::dashboard::stats::DIMENSIONS.iter().enumerate() {
            let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
            if i == 0 {
                for d in range.days() {
                    groups.insert(d, Counts::default());
                }
            }
            for row in views.get(i).into_iter().flatten() {
                groups
                    .entry(row.label.clone())
                    .or_default()
                    .add_page_views(&row.consent, row.n);
                if i == 0 {
                    total.add_page_views(&row.consent, row.n);
                }
            }
            for row in decisions.get(i).into_iter().flatten() {
                groups
                    .entry(row.label.clone())
                    .or_default()
                    .add_decisions(row);
                if i == 0 {
                    total.add_decisions(row);
                }
            }
            if i == 0 {
                for c in groups.values_mut() {
                    c.page_views.excluded = Some(ExcludedViews::default());
                }
            }
            let groups = groups.into_iter().map(|(k, c)| (k, c.finish())).collect();
            breakdowns.push((*key, groups));
        }
        total.page_views.excluded = Some(ExcludedViews::default());
        Self {
            range,
            total: total.finish(),
            breakdowns,
            previous: None,
        }
    }

    /// Adds the report of the range just before, for the comparison.
    #[must_use]
    pub fn with_previous(mut self, previous: Report) -> Self {
        self.previous = Some(Box::new(previous));
        self
    }

    /// Adds the excluded pages (`stats::EXCLUDED_QUERY`'s rows) to the whole range and to
    /// their days.
    #[must_use]
    pub fn with_excluded(mut self, rows: &[ExcludedRow]) -> Self {
        let add = |views: &mut PageViews, row: &ExcludedRow| {
            let excluded = views.excluded.get_or_insert_with(ExcludedViews::default);
            let reason = row.reason.as_str();
            if reason == Excluded::Bot.as_str() {
                excluded.bots += row.n;
            } else if reason == Excluded::Prefetch.as_str() {
                excluded.prefetch += row.n;
            }
        };
        for row in rows {
            add(&mut self.total.page_views, row);
            if let Some((_, days)) = self.breakdowns.iter_mut().find(|(k, _)| *k == "date") {
                add(
                    &mut days.entry(row.label.clone()).or_default().page_views,
                    row,
                );
            }
        }
        self
    }

    /// The contract's `stats.json`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::json!({
            "from": self.range.from,
            "to": self.range.to,
            "page_views": self.total.page_views,
            "decisions": self.total.decisions,
            "coverage": self.total.coverage,
            "banner": self.total.banner,
            "opt_in": self.total.opt_in,
        });
        for (key, groups) in &self.breakdowns {
            let rows: Vec<serde_json::Value> = groups
                .iter()
                .map(|(label, c)| {
                    let mut row = serde_json::to_value(c).unwrap_or_default();
                    row[*key] = serde_json::Value::from(label.as_str());
                    row
                })
                .collect();
            out[format!("by_{}", if *key == "date" { "day" } else { key })] = rows.into();
        }
        if let Some(previous) = &self.previous {
            out["previous"] = previous.to_json();
        }
        out
    }

    /// The days of the range as CSV, one row per day; a rate without a denominator is an
    /// empty field.
    #[must_use]
    pub fn to_csv(&self) -> String {
        let mut out = String::from("date,page_views,undecided,rejected,analytics,marketing,coverage_analytics,coverage_marketing,decisions,accept_all,reject_all,save,decisions_analytics,decisions_marketing,gpc,banner_impressions,banner_decisions,interaction_rate,no_choice_rate,accept_rate,optin_analytics,optin_marketing\n");
        let rate = |r: Option<f64>| r.map(|r| format!("{r:.4}")).unwrap_or_default();
        for (date, c) in self.by("date") {
            let (v, d, b) = (c.page_views, c.decisions, c.banner);
            let _ = writeln!(
                out,
                "{date},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                v.total,
                v.undecided,
                v.rejected,
                v.analytics,
                v.marketing,
                rate(c.coverage.analytics),
                rate(c.coverage.marketing),
                d.total,
                d.accept_all,
                d.reject_all,
                d.save,
                d.analytics,
                d.marketing,
                d.gpc,
                b.impressions,
                b.decisions,
                rate(b.interaction_rate),
                rate(b.no_choice_rate),
                rate(b.accept_rate),
                rate(c.opt_in.analytics),
                rate(c.opt_in.marketing),
            );
        }
        out
    }

    /// The groups of one breakdown (`date`, `country`, `language`, `device`).
    #[must_use]
    pub fn by(&self, key: &str) -> Vec<(&str, Counts)> {
        self.breakdowns
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, g)| g.iter().map(|(l, c)| (l.as_str(), *c)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_810_796_123; // 2026-11-27

    fn pv(label: &str, consent: &str, n: u64) -> PageViewRow {
        PageViewRow {
            label: label.into(),
            consent: consent.into(),
            n,
        }
    }

    fn dec(label: &str, method: &str, a: u8, m: u8, gpc: u8, n: u64) -> DecisionRow {
        DecisionRow {
            label: label.into(),
            method: method.into(),
            analytics: a,
            marketing: m,
            gpc,
            n,
        }
    }

    #[test]
    fn ranges_default_to_the_last_30_days_and_refuse_nonsense() {
        let r = DayRange::from_query("", NOW).unwrap();
        assert_eq!(
            (r.from.as_str(), r.to.as_str()),
            ("2026-10-29", "2026-11-27")
        );
        assert_eq!(r.days().len(), 30);
        let r = DayRange::from_query("?from=2026-11-01&to=2026-11-03", NOW).unwrap();
        assert_eq!(r.days(), ["2026-11-01", "2026-11-02", "2026-11-03"]);
        assert_eq!(r.query(), "from=2026-11-01&to=2026-11-03");
        for bad in [
            "from=2026-11-05&to=2026-11-01",
            "from=yesterday",
            "to=2026-02-30",
            "from=2020-01-01&to=2026-01-01",
        ] {
            assert!(
                matches!(DayRange::from_query(bad, NOW), Err(Failure::BadRequest(_))),
                "{bad}"
            );
        }
    }

    fn sample() -> Report {
        let range = DayRange::from_query("from=2026-11-26&to=2026-11-27", NOW).unwrap();
        let day_views = vec![
            pv("2026-11-26", "undecided", 50),
            pv("2026-11-26", "all", 30),
            pv("2026-11-26", "analytics", 10),
            pv("2026-11-26", "rejected", 10),
        ];
        let country_views = vec![
            pv("ES", "all", 30),
            pv("ES", "undecided", 50),
            pv("FR", "analytics", 10),
            pv("FR", "rejected", 10),
        ];
        let day_decisions = vec![
            dec("2026-11-26", "accept_all", 1, 1, 0, 3),
            dec("2026-11-26", "reject_all", 0, 0, 1, 1),
            dec("2026-11-26", "save", 1, 0, 0, 1),
        ];
        Report::build(
            range,
            &[day_views, country_views, vec![], vec![]],
            &[day_decisions, vec![], vec![], vec![]],
        )
    }

    #[test]
    fn coverage_is_the_share_of_page_views_each_tool_sees() {
        let report = sample();
        let t = report.total;
        assert_eq!(
            t.page_views,
            PageViews {
                total: 100,
                undecided: 50,
                rejected: 10,
                analytics: 40,
                marketing: 30,
                excluded: Some(ExcludedViews::default()),
            }
        );
        assert_eq!(t.coverage.analytics, Some(0.4));
        assert_eq!(t.coverage.marketing, Some(0.3));
        assert_eq!(
            t.decisions,
            Decisions {
                total: 5,
                accept_all: 3,
                reject_all: 1,
                save: 1,
                analytics: 4,
                marketing: 3,
                gpc: 1
            }
        );
        let days = report.by("date");
        assert_eq!(days.len(), 2, "every day of the range, zero-filled");
        assert_eq!(days[1].1.page_views.total, 0);
        assert_eq!(report.by("country")[1].1.page_views.total, 20);
    }

    #[test]
    fn json_and_csv_carry_the_same_numbers() {
        let report = sample();
        let json = report.to_json();
        assert_eq!(json["page_views"]["analytics"], 40);
        assert_eq!(json["by_day"][0]["date"], "2026-11-26");
        assert_eq!(json["by_country"][0]["country"], "ES");
        assert!(json["by_language"].as_array().unwrap().is_empty());
        let csv = report.to_csv();
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("2026-11-26,100,50,10,40,30,0.4000,0.3000,5,3,1,1,4,3,1"),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), 3);
    }

    #[test]
    fn excluded_pages_are_counted_apart_for_the_range_and_each_day_only() {
        let ex = |label: &str, reason: &str, n| ExcludedRow {
            label: label.into(),
            reason: reason.into(),
            n,
        };
        let report = sample().with_excluded(&[
            ex("2026-11-26", "bot", 7),
            ex("2026-11-27", "bot", 2),
            ex("2026-11-27", "prefetch", 3),
            ex("2026-11-27", "unknown", 99),
        ]);
        let t = report.total.page_views;
        assert_eq!(
            t.excluded,
            Some(ExcludedViews {
                bots: 9,
                prefetch: 3
            })
        );
        assert_eq!(t.total, 100, "not page views");
        assert_eq!(
            report.total.coverage.analytics,
            Some(0.4),
            "nor in coverage"
        );
        let days = report.by("date");
        assert_eq!(
            days.iter()
                .map(|(_, c)| c.page_views.excluded)
                .collect::<Vec<_>>(),
            [
                Some(ExcludedViews {
                    bots: 7,
                    prefetch: 0
                }),
                Some(ExcludedViews {
                    bots: 2,
                    prefetch: 3
                })
            ]
        );
        let json = report.to_json();
        assert_eq!(
            json["page_views"]["excluded"],
            serde_json::json!({ "bots": 9, "prefetch": 3 })
        );
        assert_eq!(json["by_day"][1]["page_views"]["excluded"]["prefetch"], 3);
        assert!(
            json["by_country"][0]["page_views"]
                .get("excluded")
                .is_none(),
            "counted by day only: no made-up zero for a country"
        );
        let none = sample().to_json();
        assert_eq!(
            none["page_views"]["excluded"],
            serde_json::json!({ "bots": 0, "prefetch": 0 }),
            "zero when nothing was excluded"
        );
        assert_eq!(none["by_day"][1]["page_views"]["excluded"]["bots"], 0);
    }

    #[test]
    fn an_empty_range_has_no_rates_rather_than_zero_or_nan() {
        let range = DayRange::from_query("", NOW).unwrap();
        let report = Report::build(range, &[], &[]);
        assert_eq!(report.total.coverage, Coverage::default());
        let json = report.to_json();
        for rate in [
            &json["coverage"]["analytics"],
            &json["coverage"]["marketing"],
            &json["banner"]["interaction_rate"],
            &json["banner"]["no_choice_rate"],
            &json["banner"]["accept_rate"],
            &json["opt_in"]["analytics"],
            &json["by_day"][3]["coverage"]["analytics"],
        ] {
            assert!(rate.is_null(), "{json}");
        }
        assert_eq!(json["banner"]["impressions"], 0);
    }

    #[test]
    fn the_banner_figures_are_impressions_decisions_and_their_rates() {
        let report = sample();
        let b = report.total.banner;
        assert_eq!((b.impressions, b.decisions), (50, 5));
        assert_eq!(b.interaction_rate, Some(0.1));
        assert!((b.no_choice_rate.unwrap() - 0.9).abs() < 1e-9);
        assert_eq!(
            b.accept_rate,
            Some(0.6),
            "3 accept all of 5 banner decisions"
        );
        assert_eq!(
            report.total.opt_in,
            OptIn {
                analytics: Some(0.8),
                marketing: Some(0.6)
            }
        );
        let days = report.by("date");
        assert_eq!(days[0].1.banner.accept_rate, Some(0.6), "per day too");
        assert_eq!(
            days[1].1.coverage,
            Coverage::default(),
            "a day without page views has no coverage, not 0"
        );
        assert_eq!(days[1].1.banner.interaction_rate, None);
        let json = report.to_json();
        assert_eq!(json["banner"]["decisions"], 5);
        assert_eq!(json["by_day"][0]["opt_in"]["analytics"], 0.8);
        assert!(json["by_day"][1]["coverage"]["analytics"].is_null());
        assert!(json["by_day"][1]["opt_in"]["marketing"].is_null());
        let csv = report.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].ends_with(",gpc,banner_impressions,banner_decisions,interaction_rate,no_choice_rate,accept_rate,optin_analytics,optin_marketing"));
        assert!(
            lines[1].ends_with(",1,50,5,0.1000,0.9000,0.6000,0.8000,0.6000"),
            "{csv}"
        );
        assert_eq!(
            lines[2], "2026-11-27,0,0,0,0,0,,,0,0,0,0,0,0,0,0,0,,,,,",
            "no data: empty fields, not 0"
        );
    }

    #[test]
    fn the_previous_period_is_the_equally_long_range_just_before() {
        let r = DayRange::from_query("from=2026-11-26&to=2026-11-27", NOW).unwrap();
        let p = r.previous();
        assert_eq!(
            (p.from.as_str(), p.to.as_str()),
            ("2026-11-24", "2026-11-25")
        );
        let r = DayRange::from_query("from=2026-03-01&to=2026-03-01", NOW).unwrap();
        assert_eq!(r.previous().days(), ["2026-02-28"]);
        let r = DayRange::from_query("", NOW).unwrap();
        let p = r.previous();
        assert_eq!(
            (p.from.as_str(), p.to.as_str(), p.days().len()),
            ("2026-09-29", "2026-10-28", 30)
        );
        let previous = Report::build(p, &[vec![pv("2026-10-01", "all", 10)]], &[vec![]]);
        let json = sample().with_previous(previous).to_json();
        assert_eq!(json["previous"]["from"], "2026-09-29");
        assert_eq!(json["previous"]["to"], "2026-10-28");
        assert_eq!(json["previous"]["coverage"]["analytics"], 1.0);
        assert!(json["previous"]["banner"]["accept_rate"].is_null());
        assert_eq!(json["previous"]["by_day"].as_array().unwrap().len(), 30);
        assert!(json["previous"].get("previous").is_none());
        assert!(sample().to_json().get("previous").is_none());
    }
}
