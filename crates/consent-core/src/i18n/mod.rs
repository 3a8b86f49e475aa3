//! The visitor's language, and every text the worker shows, one file per language.

mod en;
mod es;

/// A language the banner and pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English, the default.
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// Every supported language.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The BCP 47 tag, for `lang` attributes.
    #[must_use]
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// Every text in this language.
    #[must_use]
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &en::TEXTS,
            Lang::Es => &es::TEXTS,
        }
    }
}

/// Picks the language from an `Accept-Language` header: the supported language with the
/// highest quality, the earlier one on a tie, English when none is acceptable.
#[must_use]
pub fn negotiate(accept_language: Option<&str>) -> Lang {
    let Some(header) = accept_language else {
        return Lang::En;
    };
    let mut best: Option<(Lang, u16)> = None;
    for item in header.split(',').take(32) {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim();
        let primary = range.split('-').next().unwrap_or("");
        let lang = if primary.eq_ignore_ascii_case("es") {
            Lang::Es
        } else if primary.eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            continue;
        };
        let quality = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1000), parse_quality);
        let Some(quality) = quality else { continue };
        if quality > 0 && best.is_none_or(|(_, q)| quality > q) {
            best = Some((lang, quality));
        }
    }
    best.map_or(Lang::En, |(lang, _)| lang)
}

/// `q` values in thousandths, rounded; `None` when malformed or above 1. Read as digits, a
/// point and digits, not as a float: `str::parse::<f32>` linked core's decimal-to-float
/// parser and its tables, 13.9 KB of the gzipped wasm (BENCHMARKS.md), for three digits.
fn parse_quality(raw: &str) -> Option<u16> {
    let raw = raw.trim();
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > 1 || (whole == "1" && fraction.bytes().any(|b| b != b'0')) {
        return None;
    }
    let digit = |i: usize| {
        fraction
            .as_bytes()
            .get(i)
            .map_or(0, |b| u16::from(b - b'0'))
    };
    let thousandths = digit(0) * 100 + digit(1) * 10 + digit(2) + u16::from(digit(3) >= 5);
    match whole {
        "" => Some(thousandths),
        "1" => Some(1000),
        _ => None,
    }
}

/// Every text of one language. Adding a language is one file filling this in.
#[derive(Debug)]
pub struct Texts {
    /// The persistent link to the preferences page, on every page.
    pub settings_link: &'static str,
    /// Title of the page shown when the origin fails.
    pub origin_title: &'static str,
    /// The origin could not be reached.
    pub origin_down: &'static str,
    /// The origin did not answer in time.
    pub origin_timeout: &'static str,
    /// A link or button to try again.
    pub try_again: &'static str,
    /// The banner region's accessible name.
    pub banner_label: &'static str,
    /// The banner's heading.
    pub banner_title: &'static str,
    /// The banner's first-layer text: purposes, who receives the data, how to withdraw.
    pub banner_text: &'static str,
    /// The customise layer's details: the controller in full, the recipient and the
    /// transfers, how to withdraw.
    pub banner_details: &'static str,
    /// Link text to the cookie policy.
    pub cookie_policy: &'static str,
    /// "Accept all".
    pub accept_all: &'static str,
    /// "Reject all".
    pub reject_all: &'static str,
    /// "Customise".
    pub customise: &'static str,
    /// Legend of the per-purpose switches.
    pub categories_legend: &'static str,
    /// "Save choices".
    pub save: &'static str,
    /// Necessary cookies' heading.
    pub necessary_title: &'static str,
    /// What the necessary cookie is.
    pub necessary_text: &'static str,
    /// "Always on".
    pub always_on: &'static str,
    /// Analytics heading.
    pub analytics_title: &'static str,
    /// What analytics means, who gets the data, how long.
    pub analytics_text: &'static str,
    /// Marketing heading.
    pub marketing_title: &'static str,
    /// What marketing means, who gets the data, how long.
    pub marketing_text: &'static str,
    /// Shown when the browser sent Global Privacy Control.
    pub gpc_note: &'static str,
    /// Title of the page shown when a consent could not be stored.
    pub save_failed_title: &'static str,
    /// Its text.
    pub save_failed_text: &'static str,
    /// Link back to the page.
    pub back_to_page: &'static str,
    /// Title of the preferences page.
    pub prefs_title: &'static str,
    /// What the page is for.
    pub prefs_intro: &'static str,
    /// Shown when there is no decision yet.
    pub prefs_undecided: &'static str,
    /// Before the date of the decision.
    pub prefs_decided: &'static str,
    /// Before the policy version.
    pub prefs_policy: &'static str,
    /// Before the consent id.
    pub prefs_id: &'static str,
    /// Before the date of a decision that no longer stands (expired, or an older policy).
    pub prefs_lapsed: &'static str,
    /// A category is on.
    pub prefs_on: &'static str,
    /// A category is off.
    pub prefs_off: &'static str,
    /// Heading of the form.
    pub prefs_change: &'static str,
    /// The one-button withdrawal.
    pub prefs_withdraw: &'static str,
    /// Confirmation after a change.
    pub prefs_saved: &'static str,
    /// Confirmation after erasure.
    pub prefs_erased: &'static str,
    /// Heading of the access section.
    pub access_title: &'static str,
    /// What the download holds.
    pub access_text: &'static str,
    /// The download link.
    pub access_link: &'static str,
    /// Heading of the erasure section.
    pub erase_title: &'static str,
    /// What erasure means, plainly.
    pub erase_text: &'static str,
    /// The erasure button.
    pub erase_button: &'static str,
    /// Title of the cookie policy page.
    pub policy_title: &'static str,
    /// Its first paragraph.
    pub policy_intro: &'static str,
    /// Recipients and transfers.
    pub policy_transfers: &'static str,
    /// Heading of the rights section.
    pub rights_title: &'static str,
    /// How to exercise the rights beyond the self-service ones: contacts, time, authority.
    pub rights_text: &'static str,
    /// Who is responsible, with contacts.
    pub controller_text: &'static str,
    /// Where the proof records are kept, for how long (`{retention_days}`).
    pub policy_records: &'static str,
    /// How to change or withdraw.
    pub policy_withdraw: &'static str,
    /// Table column.
    pub col_name: &'static str,
    /// Table column.
    pub col_provider: &'static str,
    /// Table column.
    pub col_category: &'static str,
    /// Table column.
    pub col_purpose: &'static str,
    /// Table column.
    pub col_lifetime: &'static str,
    /// Table column.
    pub col_party: &'static str,
    /// First party.
    pub first_party: &'static str,
    /// Third party.
    pub third_party: &'static str,
    /// Category name.
    pub cat_necessary: &'static str,
    /// Category name.
    pub cat_analytics: &'static str,
    /// Category name.
    pub cat_marketing: &'static str,
    /// Title of a page that reports a refused or failed request.
    pub error_title: &'static str,
    /// Link back to the home page.
    pub back_home: &'static str,
    /// No such route.
    pub err_not_found: &'static str,
    /// A route called with a method it does not take.
    pub err_method: &'static str,
    /// A state-changing request from another site.
    pub err_cross_site: &'static str,
    /// A body over 4 KiB.
    pub err_too_large: &'static str,
    /// A body the contract does not describe.
    pub err_bad_request: &'static str,
    /// Neither a form nor JSON.
    pub err_media_type: &'static str,
    /// The site's consent keys are missing.
    pub err_not_configured: &'static str,
    /// Records asked for without a valid consent cookie.
    pub err_no_cookie: &'static str,
    /// Storage or randomness failed.
    pub err_unavailable: &'static str,
    /// The dashboard is closed until Access is configured.
    pub err_dashboard_closed: &'static str,
    /// A page with no origin to serve it from.
    pub err_no_origin: &'static str,
    /// The dashboard needs Cloudflare Access.
    pub err_sign_in: &'static str,
    /// Not allowed on the dashboard, or not as an admin.
    pub err_forbidden: &'static str,
    /// Too many decisions from one network.
    pub err_rate_limited: &'static str,
    /// An unexpected failure.
    pub err_internal: &'static str,
    /// Title of the marketing dashboard.
    pub dash_title: &'static str,
    /// Label of the date range.
    pub dash_period: &'static str,
    /// First day.
    pub dash_from: &'static str,
    /// Last day.
    pub dash_to: &'static str,
    /// Apply the range.
    pub dash_show: &'static str,
    /// Page views.
    pub dash_page_views: &'static str,
    /// Decisions.
    pub dash_decisions: &'static str,
    /// GA4's share of page views.
    pub dash_coverage_ga4: &'static str,
    /// Ads' share of page views.
    pub dash_coverage_ads: &'static str,
    /// How to read coverage ({pct}, {factor}).
    pub dash_coverage_read: &'static str,
    /// No page views.
    pub dash_no_views: &'static str,
    /// The pages that were not page views, counted apart ({bots}, {prefetch}).
    pub dash_excluded: &'static str,
    /// Coverage per day.
    pub dash_per_day: &'static str,
    /// How to read the per-day chart.
    pub dash_per_day_read: &'static str,
    /// Opt-in per purpose.
    pub dash_optin: &'static str,
    /// How to read opt-in ({n}, {a}, {m}, {g}).
    pub dash_optin_read: &'static str,
    /// GPC share.
    pub dash_gpc: &'static str,
    /// Decisions by method.
    pub dash_methods: &'static str,
    /// How to read methods.
    pub dash_methods_read: &'static str,
    /// Other methods.
    pub dash_other: &'static str,
    /// By country.
    pub dash_by_country: &'static str,
    /// By language.
    pub dash_by_language: &'static str,
    /// By device.
    pub dash_by_device: &'static str,
    /// How to read the tables.
    pub dash_breakdown_read: &'static str,
    /// Column: the group.
    pub dash_group: &'static str,
    /// Show the chart's numbers as a table.
    pub dash_table: &'static str,
    /// Exports.
    pub dash_download: &'static str,
    /// Who is signed in ({who}, {role}).
    pub dash_signed_in: &'static str,
    /// Development identity notice.
    pub dash_dev_notice: &'static str,
    /// Device class.
    pub dash_mobile: &'static str,
    /// Device class.
    pub dash_tablet: &'static str,
    /// Device class.
    pub dash_desktop: &'static str,
    /// "No data" for a rate without a denominator.
    pub dash_no_data: &'static str,
    /// The banner's figures (heading).
    pub dash_banner: &'static str,
    /// Banner impressions.
    pub dash_impressions: &'static str,
    /// Interaction rate.
    pub dash_interaction: &'static str,
    /// The share who never choose.
    pub dash_no_choice: &'static str,
    /// Accept rate among those who chose.
    pub dash_accept_rate: &'static str,
    /// How to read the banner's figures.
    pub dash_banner_read: &'static str,
    /// The published reference ({pct}).
    pub dash_reference: &'static str,
    /// The reference line's label ({pct}).
    pub dash_reference_label: &'static str,
    /// The previous period ({from}, {to}).
    pub dash_previous: &'static str,
    /// A rise in points ({points}, {before}).
    pub dash_up: &'static str,
    /// A fall in points ({points}, {before}).
    pub dash_down: &'static str,
    /// No change ({before}).
    pub dash_same: &'static str,
    /// No comparison possible.
    pub dash_no_comparison: &'static str,
    /// A count in the previous period ({n}).
    pub dash_before_count: &'static str,
    /// Consent per day (chart title).
    pub dash_consent_per_day: &'static str,
    /// How to read the consent chart.
    pub dash_consent_per_day_read: &'static str,
    /// Column and axis: the day.
    pub dash_day: &'static str,
    /// The vertical axis.
    pub dash_share_axis: &'static str,
    /// The links between the dashboard and the privacy pages.
    pub priv_nav: &'static str,
    /// Title of the look-up form.
    pub priv_lookup_title: &'static str,
    /// The form's field.
    pub priv_consent_id: &'static str,
    /// Where the id comes from.
    pub priv_lookup_help: &'static str,
    /// The form's button.
    pub priv_look_up: &'static str,
    /// That every look-up is logged.
    pub priv_audited: &'static str,
    /// Title of the records page.
    pub priv_records_title: &'static str,
    /// `{id}`, `{n}`: whose records and how many.
    pub priv_records_of: &'static str,
    /// The download button.
    pub priv_download: &'static str,
    /// What the download is.
    pub priv_download_read: &'static str,
    /// No records for the id.
    pub priv_no_records: &'static str,
    /// `{n}`, `{at}`: one record's heading.
    pub priv_record_heading: &'static str,
    /// A record that does not open.
    pub priv_unreadable: &'static str,
    /// A record's fields as the records page names them, in the order shown: (the field's
    /// name in the JSON, its label). A field not listed is shown after these under its JSON
    /// name.
    pub priv_fields: &'static [(&'static str, &'static str)],
    /// Heading of the second form.
    pub priv_another: &'static str,
    /// Title of the audit page.
    pub priv_audit_title: &'static str,
    /// The chain holds.
    pub priv_chain_verified: &'static str,
    /// `{seq}`: where the chain breaks.
    pub priv_chain_broken: &'static str,
    /// `{seq}`: where the cut begins.
    pub priv_chain_truncated: &'static str,
    /// `{seq}`: the head.
    pub priv_head_matches: &'static str,
    /// `{seq}`: the head.
    pub priv_head_ahead: &'static str,
    /// `{seq}`: the head.
    pub priv_head_behind: &'static str,
    /// `{seq}`: the head.
    pub priv_head_differs: &'static str,
    /// No head.
    pub priv_head_absent: &'static str,
    /// The head could not be read.
    pub priv_head_unavailable: &'static str,
    /// `{n}`: entries in the log.
    pub priv_total: &'static str,
    /// An empty page.
    pub priv_no_entries: &'static str,
    /// Column: position.
    pub priv_col_seq: &'static str,
    /// Column: when.
    pub priv_col_at: &'static str,
    /// Column: who.
    pub priv_col_who: &'static str,
    /// Column: action.
    pub priv_col_action: &'static str,
    /// Column: target.
    pub priv_col_target: &'static str,
    /// Column: network.
    pub priv_col_ip: &'static str,
    /// Column: count.
    pub priv_col_count: &'static str,
    /// Link to older entries.
    pub priv_older: &'static str,
    /// Link to the newest entries.
    pub priv_newest: &'static str,
    /// Label of the paging links.
    pub priv_pages: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_quality_and_defaults_to_english() {
        assert_eq!(negotiate(None), Lang::En);
        assert_eq!(negotiate(Some("")), Lang::En);
        assert_eq!(negotiate(Some("es-ES,es;q=0.9,en;q=0.8")), Lang::Es);
        assert_eq!(negotiate(Some("en-GB,en;q=0.9,es;q=0.8")), Lang::En);
        assert_eq!(
            negotiate(Some("fr-FR,fr;q=0.9,es;q=0.5,en;q=0.4")),
            Lang::Es
        );
        assert_eq!(negotiate(Some("de,fr")), Lang::En);
        assert_eq!(negotiate(Some("en;q=0.2, es;q=0.8")), Lang::Es);
        assert_eq!(negotiate(Some("ES-mx")), Lang::Es);
        assert_eq!(negotiate(Some("es;q=0, en;q=0.1")), Lang::En);
        assert_eq!(negotiate(Some("es;q=abc, en;q=0.1")), Lang::En);
        assert_eq!(negotiate(Some("es;q=7")), Lang::En);
        assert_eq!(negotiate(Some("*")), Lang::En);
        assert_eq!(
            negotiate(Some("es, en")),
            Lang::Es,
            "a tie goes to the first"
        );
    }

    #[test]
    fn quality_is_read_in_rounded_thousandths_and_a_sign_or_exponent_is_refused() {
        for (raw, thousandths) in [
            ("1", Some(1000)),
            ("1.", Some(1000)),
            ("1.000", Some(1000)),
            ("1.0000", Some(1000)),
            ("0", Some(0)),
            ("0.5", Some(500)),
            (".5", Some(500)),
            ("00.25", Some(250)),
            (" 0.8 ", Some(800)),
            ("0.123", Some(123)),
            ("0.1234", Some(123)),
            ("0.1235", Some(124)),
            ("0.9995", Some(1000)),
            ("1.001", None),
            ("2", None),
            ("10", None),
            ("-0.5", None),
            ("+0.5", None),
            ("0.5e1", None),
            ("", None),
            (".", None),
            ("0..5", None),
            ("abc", None),
        ] {
            assert_eq!(parse_quality(raw), thousandths, "{raw:?}");
        }
    }

    #[test]
    fn every_language_fills_every_text() {
        for lang in Lang::ALL {
            let t = lang.texts();
            assert!(!t.settings_link.is_empty(), "{lang:?}");
        }
        assert_ne!(
            Lang::En.texts().settings_link,
            Lang::Es.texts().settings_link
        );
    }
}
