//! The daily summary and the alerts the worker posts to the team's chat (README, "For
//! marketing: the daily summary and alerts"): a Cron Trigger runs every hour; once a day it
//! compares the last whole day with the seven before it and posts a summary, with an alert
//! when coverage fell; every run it checks that the banner still draws decisions and that
//! statistics are still being written.
//!
//! Nothing personal is in a message: counts, shares and times only. The messages are
//! `{"text": …}`, which Slack's incoming webhooks and Microsoft Teams' both accept.

use crate::clock::{day, rfc3339, EpochMillis, DAY_MS};
use crate::dashboard::report::Counts;
use serde::{Deserialize, Serialize};

/// The default of `ALERT_COVERAGE_DROP_POINTS`.
pub const DEFAULT_COVERAGE_DROP_POINTS: u32 = 10;
/// The default of `ALERT_SILENCE_HOURS`.
pub const DEFAULT_SILENCE_HOURS: u32 = 6;
/// How many days the last day is compared with.
pub const BASELINE_DAYS: u64 = 7;

/// When to alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertSettings {
    /// `ALERT_COVERAGE_DROP_POINTS`: alert when GA4 coverage falls by more than this many
    /// percentage points against the seven days before.
    pub coverage_drop_points: u32,
    /// `ALERT_SILENCE_HOURS`: alert when the banner was shown in this many hours and nobody
    /// decided.
    pub silence_hours: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            coverage_drop_points: DEFAULT_COVERAGE_DROP_POINTS,
            silence_hours: DEFAULT_SILENCE_HOURS,
        }
    }
}

/// One day's figures, or several days' together.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Page views.
    pub page_views: u64,
    /// Page views GA4 could see (analytics granted).
    pub analytics_views: u64,
    /// Page views that carried the banner (no decision in effect).
    pub impressions: u64,
    /// Every decision.
    pub decisions: u64,
    /// Decisions made on the banner (accept all, reject all, customise and save).
    pub banner_decisions: u64,
}

impl Figures {
    /// The figures of a report's group.
    #[must_use]
    pub fn of(counts: &Counts) -> Self {
        let d = &counts.decisions;
        Self {
            page_views: counts.page_views.total,
            analytics_views: counts.page_views.analytics,
            impressions: counts.page_views.undecided,
            decisions: d.total,
            banner_decisions: d.accept_all + d.reject_all + d.save,
        }
    }

    /// Several days' figures, summed.
    #[must_use]
    pub fn sum(days: &[Figures]) -> Self {
        days.iter().fold(Self::default(), |a, b| Self {
            page_views: a.page_views + b.page_views,
            analytics_views: a.analytics_views + b.analytics_views,
            impressions: a.impressions + b.impressions,
            decisions: a.decisions + b.decisions,
            banner_decisions: a.banner_decisions + b.banner_decisions,
        })
    }

    /// GA4 coverage in per cent; `None` without page views (no data is not 0 %).
    #[must_use]
    pub fn coverage_pct(&self) -> Option<f64> {
        pct(self.analytics_views, self.page_views)
    }

    /// Banner decisions ÷ impressions in per cent; `None` without impressions.
    #[must_use]
    pub fn interaction_pct(&self) -> Option<f64> {
        pct(self.banner_decisions, self.impressions)
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| 100.0 * part as f64 / whole as f64)
}

/// Something the team must hear about.
#[derive(Debug, Clone, PartialEq)]
pub enum Alert {
    /// GA4 coverage fell by more than the threshold.
    CoverageDrop {
        /// The seven days before, per cent.
        before: f64,
        /// The last day, per cent.
        last: f64,
    },
    /// Page views were counted the seven days before and none the last day.
    NoPageViews,
    /// The banner was shown and nobody decided for this many hours.
    Silence {
        /// The threshold.
        hours: u32,
    },
    /// Statistics writes failed (D1), last at this time.
    StatsWritesFailing {
        /// When the last one failed.
        at: EpochMillis,
    },
}

impl Alert {
    /// The alert as a line of the message.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Alert::CoverageDrop { before, last } => format!(
                "ALERT: GA4 coverage fell from {before:.1} % to {last:.1} % ({:.1} points). Check that the banner shows and that the tag still loads after consent.",
                before - last
            ),
            Alert::NoPageViews => "ALERT: no page view was counted yesterday, after traffic the seven days before. Check the worker's route and the statistics database.".to_owned(),
            Alert::Silence { hours } => format!(
                "ALERT: the banner was shown in the last {hours} hours and nobody decided. Check that its buttons work."
            ),
            Alert::StatsWritesFailing { at } => format!(
                "ALERT: consent statistics could not be written (last failure {}). The dashboard's figures are incomplete until D1 answers.",
                rfc3339(*at)
            ),
        }
    }

    /// The kind, for the run's state and the log.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Alert::CoverageDrop { .. } => "coverage_drop",
            Alert::NoPageViews => "no_page_views",
            Alert::Silence { .. } => "silence",
            Alert::StatsWritesFailing { .. } => "stats_writes_failing",
        }
    }
}

fn signed_points(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(n), Some(b)) => {
            let d = n - b;
            let arrow = if d > 0.05 {
                "up"
            } else if d < -0.05 {
                "down"
            } else {
                "unchanged"
            };
            format!("{arrow} {d:+.1} points")
        }
        _ => "no comparison".to_owned(),
    }
}

fn shown(p: Option<f64>) -> String {
    p.map_or_else(|| "no data".to_owned(), |p| format!("{p:.1} %"))
}

/// The daily summary of `last_day` (`YYYY-MM-DD`) against the seven days before it, and the
/// alert it raises, if any.
#[must_use]
pub fn daily_summary(
    last_day: &str,
    last: &Figures,
    before: &[Figures],
    settings: &AlertSettings,
) -> (String, Option<Alert>) {
    let base = Figures::sum(before);
    let (cov, cov_before) = (last.coverage_pct(), base.coverage_pct());
    let (rate, rate_before) = (last.interaction_pct(), base.interaction_pct());
    #[allow(clippy::cast_precision_loss)]
    let daily_decisions = base.decisions as f64 / before.len().max(1) as f64;
    let alert = match (cov, cov_before) {
        (Some(c), Some(b)) if b - c > f64::from(settings.coverage_drop_points) => {
            Some(Alert::CoverageDrop { before: b, last: c })
        }
        (None, Some(_)) => Some(Alert::NoPageViews),
        _ => None,
    };
    let mut text = format!(
        "sivo-consent, {last_day}: GA4 coverage {} ({} against the 7 days before, {}); {} page views; {} decisions (7-day average {daily_decisions:.0}); banner interaction rate {} ({} against {}).",
        shown(cov),
        signed_points(cov, cov_before),
        shown(cov_before),
        last.page_views,
        last.decisions,
        shown(rate),
        signed_points(rate, rate_before),
        shown(rate_before),
    );
    if let Some(alert) = &alert {
        text.push('\n');
        text.push_str(&alert.text());
    }
    (text, alert)
}

/// When the banner was last shown and last answered, and statistics last failed: what the
/// worker records as it counts (`ACTIVITY_UPSERT`, and KV for failures).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// The last flush of page views that carried the banner.
    pub banner_at: Option<EpochMillis>,
    /// The last decision made on the banner.
    pub decision_at: Option<EpochMillis>,
    /// The last failed statistics write.
    pub stats_failed_at: Option<EpochMillis>,
}

/// What the hourly runs have already said, kept between runs (KV).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    /// The last day whose summary was posted.
    pub summary_day: Option<String>,
    /// When silence was last alerted.
    pub silence_at: Option<EpochMillis>,
    /// The statistics failure last alerted (its time).
    pub stats_failure_at: Option<EpochMillis>,
}

/// What a run at `now` posts, in order, each with how the state changes once it is posted.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// The message's text.
    pub text: String,
    /// The alert it carries, if any (for the log).
    pub alert: Option<&'static str>,
    /// What is remembered once it is posted.
    pub then: StateChange,
}

/// A change of [`AlertState`] after a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateChange {
    /// The summary of this day was posted.
    Summary(String),
    /// Silence was alerted at this time.
    Silence(EpochMillis),
    /// This statistics failure was alerted.
    StatsFailure(EpochMillis),
}

impl AlertState {
    /// Applies a posted message's change.
    pub fn apply(&mut self, change: &StateChange) {
        match change {
            StateChange::Summary(day) => self.summary_day = Some(day.clone()),
            StateChange::Silence(at) => self.silence_at = Some(*at),
            StateChange::StatsFailure(at) => self.stats_failure_at = Some(*at),
        }
    }
}

/// The day whose summary is due at `now`: yesterday (UTC), unless it was posted already.
#[must_use]
pub fn summary_due(now: EpochMillis, state: &AlertState) -> Option<String> {
    let yesterday = day(now.saturating_sub(DAY_MS));
    (state.summary_day.as_deref() != Some(yesterday.as_str())).then_some(yesterday)
}

/// The alerts of one run that do not need the day's figures: silence, and statistics
/// failing. Each is said once: silence again only after another silent period, a failure
/// only when a newer one happened.
#[must_use]
pub fn run_alerts(
    now: EpochMillis,
    activity: &Activity,
    state: &AlertState,
    settings: &AlertSettings,
) -> Vec<Post> {
    let mut posts = Vec::new();
    let window = u64::from(settings.silence_hours) * 3_600_000;
    let since = now.saturating_sub(window);
    let shown_lately = activity.banner_at.is_some_and(|at| at >= since);
    let decided_lately = activity.decision_at.is_some_and(|at| at >= since);
    let said_lately = state.silence_at.is_some_and(|at| at >= since);
    if settings.silence_hours > 0 && shown_lately && !decided_lately && !said_lately {
        let alert = Alert::Silence {
            hours: settings.silence_hours,
        };
        posts.push(Post {
            text: alert.text(),
            alert: Some(alert.kind()),
            then: StateChange::Silence(now),
        });
    }
    if let Some(at) = activity.stats_failed_at {
        if state.stats_failure_at.is_none_or(|said| at > said) {
            let alert = Alert::StatsWritesFailing { at };
            posts.push(Post {
                text: alert.text(),
                alert: Some(alert.kind()),
                then: StateChange::StatsFailure(at),
            });
        }
    }
    posts
}

/// The webhook's JSON body for `text`.
#[must_use]
pub fn webhook_body(text: &str) -> String {
    serde_json::json!({ "text": text }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;
    const NOW: EpochMillis = 1_796_000_000_000;

    fn day_with(page_views: u64, analytics: u64, impressions: u64, banner: u64) -> Figures {
        Figures {
            page_views,
            analytics_views: analytics,
            impressions,
            decisions: banner,
            banner_decisions: banner,
        }
    }

    #[test]
    fn a_coverage_fall_beyond_the_threshold_is_an_alert_and_a_small_one_is_not() {
        let week = vec![day_with(1000, 600, 300, 150); 7];
        let settings = AlertSettings::default();
        let (text, alert) = daily_summary(
            "2026-12-06",
            &day_with(1000, 450, 300, 150),
            &week,
            &settings,
        );
        assert_eq!(
            alert,
            Some(Alert::CoverageDrop {
                before: 60.0,
                last: 45.0
            })
        );
        assert!(
            text.contains(
                "GA4 coverage 45.0 % (down -15.0 points against the 7 days before, 60.0 %)"
            ),
            "{text}"
        );
        assert!(
            text.contains("ALERT: GA4 coverage fell from 60.0 % to 45.0 % (15.0 points)"),
            "{text}"
        );
        let (_, none) = daily_summary(
            "2026-12-06",
            &day_with(1000, 520, 300, 150),
            &week,
            &settings,
        );
        assert_eq!(none, None, "8 points is within 10");
        let strict = AlertSettings {
            coverage_drop_points: 5,
            ..settings
        };
        assert!(
            daily_summary("d", &day_with(1000, 520, 300, 150), &week, &strict)
                .1
                .is_some()
        );
    }

    #[test]
    fn no_data_is_no_data_not_zero() {
        let settings = AlertSettings::default();
        let (text, alert) = daily_summary("d", &Figures::default(), &[], &settings);
        assert_eq!(alert, None, "nothing before, nothing now: nothing to alert");
        assert!(
            text.contains("GA4 coverage no data (no comparison"),
            "{text}"
        );
        let week = vec![day_with(100, 50, 40, 20); 7];
        let (text, alert) = daily_summary("d", &Figures::default(), &week, &settings);
        assert_eq!(alert, Some(Alert::NoPageViews));
        assert!(text.contains("ALERT: no page view was counted"), "{text}");
        assert!(text.contains("interaction rate no data"), "{text}");
    }

    #[test]
    fn the_summary_says_decisions_and_interaction_rate_with_their_change() {
        let week = vec![day_with(1000, 600, 400, 200); 7];
        let (text, _) = daily_summary(
            "2026-12-06",
            &day_with(1000, 610, 400, 100),
            &week,
            &AlertSettings::default(),
        );
        assert!(text.starts_with("sivo-consent, 2026-12-06: "), "{text}");
        assert!(text.contains("100 decisions (7-day average 200)"), "{text}");
        assert!(
            text.contains("interaction rate 25.0 % (down -25.0 points against 50.0 %)"),
            "{text}"
        );
        assert!(text.contains("(up +1.0 points"), "{text}");
        // Nothing personal: no address, id or path could be in it; only the figures.
        assert!(!text.contains('@') && !text.contains('/'), "{text}");
    }

    #[test]
    fn silence_is_said_once_per_silent_period_and_only_when_the_banner_draws_views() {
        let settings = AlertSettings {
            silence_hours: 6,
            ..AlertSettings::default()
        };
        let state = AlertState::default();
        let quiet = Activity {
            banner_at: Some(NOW - HOUR),
            decision_at: Some(NOW - 7 * HOUR),
            stats_failed_at: None,
        };
        let posts = run_alerts(NOW, &quiet, &state, &settings);
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].alert, Some("silence"));
        assert!(posts[0].text.contains("last 6 hours and nobody decided"));
        // Said: not again within the window.
        let mut said = state.clone();
        said.apply(&posts[0].then);
        assert!(run_alerts(NOW + HOUR, &quiet, &said, &settings).is_empty());
        // A decision within the window, or no banner shown lately: no alert.
        let answered = Activity {
            decision_at: Some(NOW - 5 * HOUR),
            ..quiet
        };
        assert!(run_alerts(NOW, &answered, &state, &settings).is_empty());
        let no_views = Activity {
            banner_at: Some(NOW - 7 * HOUR),
            ..quiet
        };
        assert!(run_alerts(NOW, &no_views, &state, &settings).is_empty());
        let never = Activity {
            banner_at: Some(NOW - HOUR),
            decision_at: None,
            stats_failed_at: None,
        };
        assert_eq!(
            run_alerts(NOW, &never, &state, &settings).len(),
            1,
            "never a decision at all is silence too"
        );
        let off = AlertSettings {
            silence_hours: 0,
            ..settings
        };
        assert!(
            run_alerts(NOW, &quiet, &state, &off).is_empty(),
            "0 turns it off"
        );
    }

    #[test]
    fn a_statistics_failure_is_said_once_and_a_newer_one_again() {
        let settings = AlertSettings::default();
        let failing = Activity {
            stats_failed_at: Some(NOW - HOUR),
            ..Activity::default()
        };
        let posts = run_alerts(NOW, &failing, &AlertState::default(), &settings);
        assert_eq!(
            posts.iter().map(|p| p.alert).collect::<Vec<_>>(),
            [Some("stats_writes_failing")]
        );
        let mut state = AlertState::default();
        state.apply(&posts[0].then);
        assert!(run_alerts(NOW + HOUR, &failing, &state, &settings).is_empty());
        let again = Activity {
            stats_failed_at: Some(NOW + 30 * 60_000),
            ..failing
        };
        assert_eq!(run_alerts(NOW + HOUR, &again, &state, &settings).len(), 1);
    }

    #[test]
    fn the_summary_is_due_once_a_day_for_yesterday() {
        let mut state = AlertState::default();
        let due = summary_due(NOW, &state);
        assert_eq!(due.as_deref(), Some(day(NOW - DAY_MS).as_str()));
        state.apply(&StateChange::Summary(day(NOW - DAY_MS)));
        assert_eq!(summary_due(NOW + HOUR, &state), None);
        assert!(summary_due(NOW + DAY_MS, &state).is_some());
    }

    #[test]
    fn the_webhook_body_is_slack_and_teams_json() {
        let body: serde_json::Value = serde_json::from_str(&webhook_body("a \"b\"\nc")).unwrap();
        assert_eq!(body, serde_json::json!({ "text": "a \"b\"\nc" }));
    }
}
