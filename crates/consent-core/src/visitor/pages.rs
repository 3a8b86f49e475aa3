//! The pages the worker renders itself, in the demo site's look, without JavaScript.

use crate::clock::rfc3339;
use crate::consent::{Choices, ConsentState, Decision};
use crate::failure::Failure;
use crate::gate::cookies::{Category, INVENTORY};
use crate::html::escape_html;
use crate::i18n::{Lang, Texts};
use crate::paths;
use crate::site::{fill_html, BRAND};
use crate::visitor::banner::purposes;
use std::fmt::Write as _;

/// The shared stylesheet of the worker's pages: plain, readable, WCAG AA contrast.
const PAGE_CSS: &str = concat!(
    ":root{color-scheme:light}body{margin:0;font:16px/1.6 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a2e;background:#f6f7fb}",
    "header{background:#12264f;color:#fff;padding:14px 24px}header a{color:#fff;font-weight:700;text-decoration:none;font-size:20px}",
    "main{max-width:760px;margin:32px auto;padding:0 20px}main.wide{max-width:1040px}h1{font-size:28px;line-height:1.25}",
    ".card{background:#fff;border:1px solid #d8dbe5;border-radius:10px;padding:20px 24px;margin:16px 0}",
    "a{color:#0b57d0}button,.button{font:inherit;font-weight:600;padding:10px 18px;border-radius:8px;border:2px solid #12264f;background:#12264f;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}",
    "button.secondary{background:#fff;color:#12264f}:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
    ".cat{margin:10px 0}.cat small{display:block;margin-left:28px;color:#4a4f63}.cat input{width:20px;height:20px;margin:0 8px 0 0;vertical-align:-4px}",
    ".table-wrap{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:14px}",
    "th,td{text-align:left;border-bottom:1px solid #d8dbe5;padding:8px 6px;vertical-align:top;overflow-wrap:anywhere}",
    // Narrow screens: one card per cookie, each value under its column's name.
    "@media (max-width:720px){.cookies thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}",
    ".cookies tr{display:block;border-bottom:1px solid #d8dbe5;padding:8px 0}.cookies th,.cookies td{display:block;border:0;padding:2px 0}",
    ".cookies td::before{content:attr(data-label) \": \";font-weight:600}}",
    "code{background:#eef0f6;padding:1px 4px;border-radius:4px;overflow-wrap:anywhere}",
    // The dashboard.
    ".big{display:flex;flex-wrap:wrap;gap:12px 32px}.big p{margin:0}.big span{display:block;font-size:14px;color:#4a4f63}.big strong{font-size:32px;color:#12264f}",
    ".read{color:#4a4f63}svg{width:100%;height:auto;display:block;margin:8px 0}svg.bars{max-width:480px}svg.line{max-width:520px}.big small{display:block;font-size:14px;color:#4a4f63}.range{border:0;padding:0;margin:0 0 8px}",
    "table.numbers th,table.numbers td{overflow-wrap:normal}",
    // The privacy team's records: each field's label, its JSON name beside it in grey.
    ".fields dt{font-weight:600;margin-top:6px}.fields dd{margin:0 0 0 16px}.json-name{font-weight:400;color:#4a4f63;font-size:14px}",
    ".sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}",
    // Print: white paper, no card cut across pages, the charts at their reading size.
    "@media print{body{background:#fff}header{background:none;color:#000;padding:0}header a{color:#000}.card{break-inside:avoid;border-color:#8a8fa3}}"
);

/// A whole page: `title` is escaped, `body_html` is trusted markup.
#[must_use]
pub fn page(lang: Lang, title: &str, body_html: &str) -> String {
    page_of_width(lang, title, body_html, "")
}

/// A page whose main column is wider, for tables and charts.
#[must_use]
pub fn wide_page(lang: Lang, title: &str, body_html: &str) -> String {
    page_of_width(lang, title, body_html, "wide")
}

fn page_of_width(lang: Lang, title: &str, body_html: &str, main_class: &str) -> String {
    let main = if main_class.is_empty() {
        "<main>".to_owned()
    } else {
        format!("<main class=\"{main_class}\">")
    };
    format!(
        "<!doctype html><html lang=\"{tag}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title} · {brand}</title><style>{css}</style></head><body><header><a href=\"/\">{brand}</a></header>{main}{body}</main></body></html>",
        tag = lang.tag(),
        title = escape_html(title),
        brand = escape_html(BRAND),
        css = PAGE_CSS,
        body = body_html,
    )
}

/// The section on the rights beyond the self-service ones: who is responsible, both
/// contacts, the answer time, the authority, and the consent id to quote.
fn rights_section(lang: Lang) -> String {
    let t = lang.texts();
    format!(
        r#"<div class="card" id="rights"><h2>{}</h2><p>{}</p><p>{}</p></div>"#,
        escape_html(t.rights_title),
        fill_html(t.rights_text, lang),
        fill_html(t.controller_text, lang)
    )
}

/// The page that reports `failure` (a browser that navigated gets this rather than JSON).
#[must_use]
pub fn error_page(lang: Lang, failure: &Failure) -> String {
    let (href, link) = failure.way_on(lang);
    let title = failure.title(lang);
    page(
        lang,
        title,
        &format!(
            "<h1>{}</h1><div class=\"card\" role=\"alert\"><p>{}</p><p><a class=\"button\" href=\"{}\">{}</a></p></div>",
            escape_html(title),
            escape_html(failure.message(lang)),
            escape_html(href),
            escape_html(link)
        ),
    )
}

/// A confirmation shown at the top of the preferences page after an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Nothing to confirm.
    None,
    /// A decision was saved.
    Saved,
    /// The records were erased.
    Erased,
}

/// `GET /_consent/preferences`: the current decision, a form to change or withdraw it
/// (plain HTML forms: works without JavaScript), the download of the visitor's records and
/// their erasure.
#[must_use]
pub fn preferences_page(
    lang: Lang,
    state: &ConsentState,
    lapsed: Option<&Decision>,
    gpc: bool,
    notice: Notice,
) -> String {
    let t = lang.texts();
    let e = escape_html;
    let mut body = format!("<h1>{}</h1><p>{}</p>", e(t.prefs_title), e(t.prefs_intro));
    let confirmation = match notice {
        Notice::None => None,
        Notice::Saved => Some(t.prefs_saved),
        Notice::Erased => Some(t.prefs_erased),
    };
    if let Some(text) = confirmation {
        let _ = write!(body, r#"<p class="card" role="status">{}</p>"#, e(text));
    }
    body.push_str(&current_decision(t, state, lapsed));
    body.push_str(&change_form(lang, state.choices(), gpc));
    if matches!(state, ConsentState::Decided(_)) || lapsed.is_some() {
        body.push_str(&rights_cards(t));
    }
    body.push_str(&rights_section(lang));
    let _ = write!(
        body,
        r#"<p><a href="{}">{}</a> · <a href="/">{}</a></p>"#,
        paths::COOKIES,
        e(t.cookie_policy),
        e(BRAND)
    );
    page(lang, t.prefs_title, &body)
}

/// The card saying what the visitor decided, when, and under which id.
/// The card saying what the visitor decided, when, and under which id: the receipt they
/// quote to the site when their cookie is gone. A signed cookie whose decision lapsed
/// (`lapsed`) still names their id and its date.
fn current_decision(t: &Texts, state: &ConsentState, lapsed: Option<&Decision>) -> String {
    let e = escape_html;
    let on_off = |on: bool| if on { t.prefs_on } else { t.prefs_off };
    match (state, lapsed) {
        (ConsentState::Undecided, Some(d)) => format!(
            concat!(
                r#"<div class="card" id="current"><p>{undecided}</p><p>{lapsed} <time datetime="{at}">{day}</time>.</p>"#,
                r#"<p>{id_label} <code>{id}</code></p></div>"#
            ),
            undecided = e(t.prefs_undecided),
            lapsed = e(t.prefs_lapsed),
            at = rfc3339(d.given_at),
            day = &rfc3339(d.given_at)[..10],
            id_label = e(t.prefs_id),
            id = d.id,
        ),
        (ConsentState::Undecided, None) => format!(
            r#"<div class="card" id="current"><p>{}</p></div>"#,
            e(t.prefs_undecided)
        ),
        (ConsentState::Decided(d), _) => format!(
            concat!(
                r#"<div class="card" id="current"><p>{decided} <time datetime="{at}">{day}</time> {policy} <strong>{version}</strong>.</p>"#,
                r#"<ul><li>{necessary}: {always}</li><li>{analytics}: <strong data-category="analytics">{a}</strong></li><li>{marketing}: <strong data-category="marketing">{m}</strong></li></ul>"#,
                r#"<p>{id_label} <code>{id}</code></p></div>"#
            ),
            decided = e(t.prefs_decided),
            at = rfc3339(d.given_at),
            day = &rfc3339(d.given_at)[..10],
            policy = e(t.prefs_policy),
            version = e(&d.policy_version),
            necessary = e(t.necessary_title),
            always = e(t.always_on),
            analytics = e(t.analytics_title),
            a = e(on_off(d.choices.analytics)),
            marketing = e(t.marketing_title),
            m = e(on_off(d.choices.marketing)),
            id_label = e(t.prefs_id),
            id = d.id,
        ),
    }
}

/// The form that changes or withdraws the decision, showing the current choices.
fn change_form(lang: Lang, choices: Choices, gpc: bool) -> String {
    let t = lang.texts();
    let e = escape_html;
    format!(
        concat!(
            r#"<form class="card" method="post" action="{decide}"><h2>{change}</h2>"#,
            r#"<input type="hidden" name="via" value="preferences"><input type="hidden" name="return_to" value="{back}">"#,
            "{purposes}",
            r#"<p><button type="submit" name="action" value="save">{save}</button> "#,
            r#"<button type="submit" class="secondary" name="action" value="reject_all">{withdraw}</button> "#,
            r#"<button type="submit" class="secondary" name="action" value="accept_all">{accept}</button></p></form>"#
        ),
        change = e(t.prefs_change),
        decide = paths::DECIDE,
        back = paths::PREFERENCES_SAVED,
        purposes = purposes(lang, choices, gpc, "cat", "gpc-note"),
        save = e(t.save),
        withdraw = e(t.prefs_withdraw),
        accept = e(t.accept_all),
    )
}

/// The download of the visitor's records and their erasure.
fn rights_cards(t: &Texts) -> String {
    let e = escape_html;
    format!(
        concat!(
            r#"<div class="card"><h2>{}</h2><p>{}</p><p><a href="{}" download>{}</a></p></div>"#,
            r#"<form class="card" method="post" action="{}"><h2>{}</h2><p>{}</p><input type="hidden" name="action" value="erase"><button type="submit" class="secondary">{}</button></form>"#
        ),
        e(t.access_title),
        e(t.access_text),
        paths::RECORDS,
        e(t.access_link),
        paths::RECORDS,
        e(t.erase_title),
        e(t.erase_text),
        e(t.erase_button)
    )
}

/// `GET /_consent/cookies`: the cookie policy, rendered from the inventory that also
/// decides which cookies are dropped and expired.
#[must_use]
pub fn cookie_policy_page(lang: Lang, record_retention_days: u32) -> String {
    let t = lang.texts();
    let e = escape_html;
    let mut rows = String::new();
    for c in &INVENTORY {
        let (category, purpose, lifetime) = match lang {
            Lang::En => (c.category, c.purpose_en, c.lifetime_en),
            Lang::Es => (c.category, c.purpose_es, c.lifetime_es),
        };
        let category = match category {
            Category::Necessary => t.cat_necessary,
            Category::Analytics => t.cat_analytics,
            Category::Marketing => t.cat_marketing,
        };
        let _ = write!(
            rows,
            "<tr><th scope=\"row\"><code>{}</code></th><td data-label=\"{}\">{}</td><td data-label=\"{}\">{}</td><td data-label=\"{}\">{}</td><td data-label=\"{}\">{}</td><td data-label=\"{}\">{}</td></tr>",
            e(c.name),
            e(t.col_provider),
            e(&c.provider()),
            e(t.col_category),
            e(category),
            e(t.col_purpose),
            e(purpose),
            e(t.col_lifetime),
            e(lifetime),
            e(t.col_party),
            e(if c.first_party { t.first_party } else { t.third_party }),
        );
    }
    let body = format!(
        concat!(
            "<h1>{title}</h1><p>{controller}</p><p>{intro}</p><div class=\"card table-wrap\"><table class=\"cookies\"><thead><tr>",
            "<th scope=\"col\">{name}</th><th scope=\"col\">{provider}</th><th scope=\"col\">{category}</th><th scope=\"col\">{purpose}</th><th scope=\"col\">{lifetime}</th><th scope=\"col\">{party}</th>",
            "</tr></thead><tbody>{rows}</tbody></table></div><p>{transfers}</p><p>{records}</p><p>{withdraw}</p>",
            "<p><a class=\"button\" href=\"{preferences}\">{settings}</a></p>{rights}"
        ),
        title = e(t.policy_title),
        controller = fill_html(t.controller_text, lang),
        intro = e(t.policy_intro),
        name = e(t.col_name),
        provider = e(t.col_provider),
        category = e(t.col_category),
        purpose = e(t.col_purpose),
        lifetime = e(t.col_lifetime),
        party = e(t.col_party),
        rows = rows,
        transfers = fill_html(t.policy_transfers, lang),
        records = fill_html(t.policy_records, lang)
            .replace("{retention_days}", &record_retention_days.to_string()),
        withdraw = e(t.policy_withdraw),
        preferences = paths::PREFERENCES,
        settings = e(t.settings_link),
        rights = rights_section(lang),
    );
    page_of_width(lang, t.policy_title, &body, "wide")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{Choices, ConsentId, Decision};

    #[test]
    fn preferences_show_the_decision_and_every_right() {
        let d = Decision::new(
            ConsentId::from_random([1; 16]),
            Choices {
                analytics: true,
                marketing: false,
            },
            "3",
            1_795_810_796_123,
            365,
        );
        let html = preferences_page(
            Lang::En,
            &ConsentState::Decided(d),
            None,
            false,
            Notice::Saved,
        );
        assert!(html.contains("Your choice has been saved."));
        assert!(html.contains(r#"<time datetime="2026-11-27T20:19:56.123Z">2026-11-27</time>"#));
        assert!(
            html.contains(r#"data-category="analytics">On<"#)
                && html.contains(r#"data-category="marketing">Off<"#)
        );
        assert!(html.contains(&"01".repeat(16)));
        assert!(
            html.contains(r#"<input type="checkbox" name="analytics" checked>"#),
            "the visitor's own choice is shown"
        );
        assert!(html.contains(r#"<input type="checkbox" name="marketing">"#));
        assert!(html.contains(r#"value="reject_all">Withdraw consent<"#));
        assert!(
            html.contains(r#"href="/_consent/records""#)
                && html.contains(r#"action="/_consent/records""#)
        );
        assert!(html.contains("the banner will ask you again"));
    }

    #[test]
    fn preferences_without_a_decision_offer_no_download_and_tick_nothing() {
        let html = preferences_page(Lang::Es, &ConsentState::Undecided, None, true, Notice::None);
        assert!(html.contains("Todavía no has decidido"));
        assert!(!html.contains("/_consent/records"));
        assert!(!html.contains(r#"name="analytics" checked"#));
        assert!(
            html.contains(r#"name="marketing" disabled"#)
                && html.contains("Global Privacy Control")
        );
    }

    #[test]
    fn a_lapsed_decision_still_shows_its_id_and_date_and_the_rights() {
        let d = Decision::new(
            ConsentId::from_random([2; 16]),
            Choices::ALL,
            "1",
            1_795_810_796_123,
            1,
        );
        let html = preferences_page(
            Lang::En,
            &ConsentState::Undecided,
            Some(&d),
            false,
            Notice::None,
        );
        assert!(html.contains("no longer stands") && html.contains(&"02".repeat(16)));
        assert!(html.contains(r#"<time datetime="2026-11-27T20:19:56.123Z">2026-11-27</time>"#));
        assert!(
            html.contains(r#"action="/_consent/records""#),
            "download and erasure offered"
        );
        assert!(
            !html.contains(r#"name="analytics" checked"#),
            "nothing shown as granted"
        );
    }

    #[test]
    fn the_pages_give_both_contacts_the_authority_and_the_id_to_quote() {
        use crate::site::{
            ANSWER_DAYS, AUTHORITY, AUTHORITY_URL, CLOUDFLARE, CONTROLLER, DPO_EMAIL, PRIVACY_EMAIL,
        };
        let d = Decision::new(ConsentId::from_random([4; 16]), Choices::ALL, "1", 0, 1);
        for lang in Lang::ALL {
            let prefs = preferences_page(
                lang,
                &ConsentState::Decided(d.clone()),
                None,
                false,
                Notice::None,
            );
            let policy = cookie_policy_page(lang, 1460);
            for html in [&prefs, &policy] {
                for fact in [
                    CONTROLLER,
                    PRIVACY_EMAIL,
                    DPO_EMAIL,
                    AUTHORITY,
                    AUTHORITY_URL,
                ] {
                    assert!(html.contains(&escape_html(fact)), "{lang:?}: {fact}");
                }
                assert!(
                    html.contains(&format!(" {ANSWER_DAYS} ")),
                    "{lang:?}: the answer time"
                );
                assert!(html.contains(&format!(r#"href="mailto:{DPO_EMAIL}""#)));
            }
            assert!(
                prefs.contains(&format!("<code>{}</code>", d.id)),
                "{lang:?}: the id to quote"
            );
            assert!(
                policy.contains(CLOUDFLARE.name) && policy.contains("1460"),
                "{lang:?}: where records are kept, how long"
            );
            assert!(
                policy.contains(&escape_html(crate::site::GOOGLE.safeguards(lang))),
                "{lang:?}: transfers as the policy says"
            );
        }
    }

    #[test]
    fn every_purpose_has_its_label_and_its_own_description() {
        for lang in Lang::ALL {
            for gpc in [false, true] {
                let html =
                    preferences_page(lang, &ConsentState::Undecided, None, gpc, Notice::None);
                assert_eq!(
                    html.matches("<label").count(),
                    html.matches("</label>").count()
                );
                assert_eq!(html.matches(r#"<div class="cat">"#).count(), 3);
                let marketing = lang.texts().marketing_title;
                assert!(
                    html.contains(&format!(" {marketing}</label><small>")),
                    "{lang:?}: name, then its description"
                );
            }
        }
    }

    #[test]
    fn the_cookie_policy_lists_the_whole_inventory() {
        for lang in Lang::ALL {
            let html = cookie_policy_page(lang, 1460);
            for c in &INVENTORY {
                assert!(
                    html.contains(&format!("<code>{}</code>", escape_html(c.name))),
                    "{lang:?} {}",
                    c.name
                );
            }
            assert!(html.contains("26"), "GA's lifetime");
            assert!(html.contains("Google Ireland"));
        }
    }

    #[test]
    fn an_error_page_is_a_whole_page_in_the_visitors_language() {
        let es = error_page(Lang::Es, &Failure::OriginUnreachable("refused".into()));
        assert!(es.starts_with("<!doctype html><html lang=\"es\">"));
        assert!(es.contains(Lang::Es.texts().origin_down) && es.ends_with("</html>"));
        assert!(!es.contains("refused"), "the detail stays in the log");
        let en = error_page(Lang::En, &Failure::OriginTimeout);
        assert!(en.contains(Lang::En.texts().origin_timeout));
        let failed = error_page(
            Lang::En,
            &Failure::NotRecorded {
                detail: "x".into(),
                back: "/a\"b".into(),
            },
        );
        assert!(failed.contains("<h1>Your choice was not saved</h1>"));
        assert!(failed.contains(r#"href="/a&quot;b">Back to the page</a>"#));
    }

    #[test]
    fn titles_are_escaped() {
        assert!(page(Lang::En, "<b>", "").contains("<title>&lt;b&gt; · SIVO</title>"));
    }
}
