//! The consent banner, rendered on the server into the page itself.
//!
//! A form that posts to `/_consent`, so it works with JavaScript off; a few hundred bytes of
//! script only let it close without a reload. A fixed panel: it covers part of the viewport
//! but never moves the page (no layout shift). Reject sits beside Accept with the same size
//! and colours (docs/compliance.md rule 3); the category boxes are never pre-ticked (rule 4).

use crate::consent::Choices;
use crate::html::escape_html;
use crate::i18n::Lang;
use crate::paths;
use crate::site::fill_text;
use sha2::{Digest, Sha256};

/// What the banner depends on besides the page it is shown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BannerVariant {
    /// Its language.
    pub lang: Lang,
    /// Whether the browser sent `Sec-GPC: 1` (marketing shown off, with a note).
    pub gpc: bool,
}

/// One piece of the banner: fixed text, or a value that differs per response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Markup, the same on every page of a variant.
    Text(String),
    /// The response's CSP nonce (already safe: base64).
    Nonce,
    /// The page's path and query, HTML-escaped.
    ReturnTo,
}

/// The banner as fixed parts around the per-response values, so the fixed parts are built
/// once per isolate and a page only joins them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BannerTemplate {
    /// The parts, in order.
    pub parts: Vec<Part>,
    /// SHA-256 (hex) of the banner's stylesheet ([`BannerTemplate::style`]) followed by the
    /// banner, with `{nonce}` and `{return_to}` in place of the per-response values: names
    /// exactly the text, style and script shown, for the proof record.
    pub sha256: String,
}

const STYLE: &str = concat!(
    "#sivo-cb{position:fixed;left:0;right:0;bottom:0;z-index:2147483001;box-sizing:border-box;max-height:85vh;overflow:auto;",
    "background:#fff;color:#1a1a2e;border-top:3px solid #12264f;box-shadow:0 -4px 24px rgba(0,0,0,.18);",
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;text-align:left}",
    "#sivo-cb *{box-sizing:border-box}#sivo-cb form{max-width:960px;margin:0 auto;padding:12px 16px}",
    "#sivo-cb h2{font-size:16px;line-height:1.3;margin:0 0 4px;color:#12264f}#sivo-cb p{margin:0 0 10px}",
    "#sivo-cb a{color:#0b57d0;text-decoration:underline}",
    "#sivo-cb .sivo-row{display:flex;flex-wrap:wrap;gap:8px;align-items:center}",
    "#sivo-cb button,#sivo-cb summary{font-family:inherit;font-size:15px;font-weight:600;line-height:1.2;min-height:44px;padding:11px 16px;border-radius:8px;cursor:pointer}",
    "#sivo-cb .sivo-choice{flex:1 1 140px;border:2px solid #12264f;background:#12264f;color:#fff}",
    "#sivo-cb details{margin-top:8px}",
    "#sivo-cb summary{display:inline-block;list-style:none;border:2px solid #12264f;background:#fff;color:#12264f}",
    "#sivo-cb summary::-webkit-details-marker{display:none}",
    "#sivo-cb .sivo-save{border:2px solid #12264f;background:#fff;color:#12264f}",
    "#sivo-cb fieldset{border:1px solid #c4c8d4;border-radius:8px;margin:10px 0;padding:6px 12px}",
    "#sivo-cb legend{font-weight:600;padding:0 4px}#sivo-cb .sivo-cat{padding:6px 0}",
    "#sivo-cb .sivo-cat+.sivo-cat{border-top:1px solid #e3e5ec}#sivo-cb input{width:20px;height:20px;margin:0 8px 0 0;vertical-align:-4px}",
    "#sivo-cb label{font-weight:600}#sivo-cb small{display:block;color:#4a4f63;margin-left:28px}",
    "#sivo-cb .sivo-gpc{color:#7a2e00;font-weight:600}#sivo-cb .sivo-details{font-size:13px;color:#4a4f63}",
    "#sivo-cb :focus-visible{outline:3px solid #b45309;outline-offset:2px}"
);

/// Closes the banner without a reload when scripts run; the form works without it.
const SCRIPT: &str = concat!(
    "(function(){var b=document.getElementById('sivo-cb'),f=b&&b.querySelector('form');",
    "if(!f||!window.fetch||!window.URLSearchParams)return;",
    "f.addEventListener('submit',function(e){var s=e.submitter;if(!s||!s.value)return;e.preventDefault();",
    "var d=new URLSearchParams(new FormData(f));d.set('action',s.value);",
    "fetch(f.action,{method:'POST',body:d,credentials:'same-origin',redirect:'manual'})",
    ".then(function(r){if(r.type!=='opaqueredirect'&&!r.ok)throw 0;",
    "var on=s.value==='accept_all'||(s.value==='save'&&(d.has('analytics')||d.has('marketing')));",
    "if(on){location.reload()}else{b.remove()}})",
    ".catch(function(){var i=document.createElement('input');i.type='hidden';i.name='action';i.value=s.value;f.appendChild(i);f.submit()})})})();"
);

const NONCE: &str = "{nonce}";
const RETURN_TO: &str = "{return_to}";

/// Renders the banner template for `variant`. The first layer says who is asking, for
/// which purposes, that Google is involved, and how to accept, reject or choose, in two short
/// sentences; cookie names, lifetimes, the controller's contacts and the transfers are in the
/// customise layer and the cookie policy (AEPD cookie guide, 2023: layered information).
#[must_use]
pub fn banner_template(variant: BannerVariant) -> BannerTemplate {
    let lang = variant.lang;
    let t = lang.texts();
    let text = |s: &str| escape_html(&fill_text(s, lang));
    let head = format!(
        concat!(
            r#"<section id="sivo-cb" data-consent-banner aria-labelledby="sivo-cb-title" lang="{lang}">"#,
            r#"<form method="post" action="{decide}"><input type="hidden" name="return_to" value="{{return_to}}">"#,
            r#"<h2 id="sivo-cb-title">{title}</h2><p>{text} <a href="{cookies}">{policy}</a></p>"#,
            r#"<div class="sivo-row"><button type="submit" class="sivo-choice" name="action" value="reject_all">{reject}</button>"#,
            r#"<button type="submit" class="sivo-choice" name="action" value="accept_all">{accept}</button></div>"#
        ),
        lang = lang.tag(),
        decide = paths::DECIDE,
        title = text(t.banner_title),
        text = text(t.banner_text),
        cookies = paths::COOKIES,
        policy = escape_html(t.cookie_policy),
        reject = escape_html(t.reject_all),
        accept = escape_html(t.accept_all),
    );
    let whole = format!(
        concat!(
            "{head}",
            r#"<details><summary>{customise}</summary><fieldset><legend>{legend}</legend>{categories}</fieldset>"#,
            r#"<p class="sivo-details">{details}</p>"#,
            r#"<button type="submit" class="sivo-save" name="action" value="save">{save}</button></details>"#,
            r#"</form><script nonce="{{nonce}}">{script}</script></section>"#
        ),
        head = head,
        customise = escape_html(t.customise),
        legend = escape_html(t.categories_legend),
        categories = purposes(lang, Choices::NONE, variant.gpc, "sivo-cat", "sivo-cb-gpc"),
        details = text(t.banner_details),
        save = escape_html(t.save),
        script = SCRIPT,
    );
    let sha256 = crate::hex(&Sha256::digest(
        [style_element(NONCE), whole.clone()].concat().as_bytes(),
    ));
    BannerTemplate {
        parts: split_parts(&whole),
        sha256,
    }
}

/// The three purposes as form controls, shared by the banner's customise layer and the
/// preferences page: a label around each box and its name, the description after it (so
/// the markup is valid and the name stands on its own line), boxes ticked only as `choices`
/// says (the banner passes none: rule 4). With `gpc`, marketing is off and disabled, with
/// the note `gpc_id` names. `class` is the class of each purpose's block.
pub(crate) fn purposes(
    lang: Lang,
    choices: Choices,
    gpc: bool,
    class: &str,
    gpc_id: &str,
) -> String {
    let t = lang.texts();
    let text = |s: &str| escape_html(&fill_text(s, lang));
    let checked = |on: bool| if on { " checked" } else { "" };
    let purpose = |input: String, title: String, description: &str, extra: String| {
        format!(
            r#"<div class="{class}"><label>{input} {title}</label><small>{}</small>{extra}</div>"#,
            text(description)
        )
    };
    let necessary = purpose(
        r#"<input type="checkbox" checked disabled>"#.to_owned(),
        format!(
            "{} ({})",
            escape_html(t.necessary_title),
            escape_html(t.always_on)
        ),
        t.necessary_text,
        String::new(),
    );
    let analytics = purpose(
        format!(
            r#"<input type="checkbox" name="analytics"{}>"#,
            checked(choices.analytics)
        ),
        escape_html(t.analytics_title),
        t.analytics_text,
        String::new(),
    );
    let marketing = if gpc {
        purpose(
            format!(
                r#"<input type="checkbox" name="marketing" disabled aria-describedby="{gpc_id}">"#
            ),
            escape_html(t.marketing_title),
            t.marketing_text,
            format!(
                r#"<p id="{gpc_id}" class="sivo-gpc">{}</p>"#,
                escape_html(t.gpc_note)
            ),
        )
    } else {
        purpose(
            format!(
                r#"<input type="checkbox" name="marketing"{}>"#,
                checked(choices.marketing)
            ),
            escape_html(t.marketing_title),
            t.marketing_text,
            String::new(),
        )
    };
    format!("{necessary}{analytics}{marketing}")
}

fn split_parts(mut rest: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    loop {
        let next = [
            (rest.find(NONCE), NONCE, Part::Nonce),
            (rest.find(RETURN_TO), RETURN_TO, Part::ReturnTo),
        ]
        .into_iter()
        .filter_map(|(at, marker, part)| at.map(|at| (at, marker, part)))
        .min_by_key(|(at, _, _)| *at);
        let Some((at, marker, part)) = next else {
            parts.push(Part::Text(rest.to_owned()));
            return parts;
        };
        parts.push(Part::Text(rest[..at].to_owned()));
        parts.push(part);
        rest = &rest[at + marker.len()..];
    }
}

/// The banner's stylesheet with `nonce` (already escaped) as it goes into `<head>`: a
/// `<style>` inside the banner's `<section>` is not valid HTML.
fn style_element(nonce: &str) -> String {
    format!(r#"<style nonce="{nonce}">{STYLE}</style>"#)
}

impl BannerTemplate {
    /// The banner's stylesheet, carrying `nonce`, for the page's `<head>` (the same for every
    /// variant; the hash names it with the banner).
    #[must_use]
    pub fn style(&self, nonce: &str) -> String {
        style_element(&escape_html(nonce))
    }

    /// The banner for the page at `path`, its script carrying `nonce`.
    #[must_use]
    pub fn render(&self, path: &str, nonce: &str) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Nonce => escape_html(nonce),
                Part::ReturnTo => escape_html(path),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en() -> BannerTemplate {
        banner_template(BannerVariant {
            lang: Lang::En,
            gpc: false,
        })
    }

    #[test]
    fn the_banner_is_a_form_with_the_contract_fields() {
        let html = en().render("/pricing.html", "N0nce");
        assert!(html.starts_with(
            r#"<section id="sivo-cb" data-consent-banner aria-labelledby="sivo-cb-title""#
        ));
        assert!(html.contains(r#"<form method="post" action="/_consent">"#));
        assert!(html.contains(r#"name="return_to" value="/pricing.html""#));
        for value in ["accept_all", "reject_all", "save"] {
            assert_eq!(
                html.matches(&format!(r#"name="action" value="{value}""#))
                    .count(),
                1,
                "{value}"
            );
        }
        assert!(html.contains(r#"<input type="checkbox" name="analytics">"#));
        assert!(html.contains(r#"<input type="checkbox" name="marketing">"#));
        assert!(html.contains(r#"href="/_consent/cookies""#));
        assert!(html.ends_with("</script></section>"));
        assert_eq!(html.matches(r#"nonce="N0nce""#).count(), 1, "the script");
        assert!(!html.contains("<style"), "the stylesheet goes into <head>");
        let style = en().style("N0nce");
        assert!(style.starts_with(r#"<style nonce="N0nce">#sivo-cb{position:fixed"#));
        assert!(style.ends_with("</style>"));
    }

    #[test]
    fn no_category_is_pre_ticked() {
        let html = en().render("/", "N0nce");
        for name in ["analytics", "marketing"] {
            let at = html.find(&format!(r#"name="{name}""#)).unwrap_or(0);
            let tag_start = html[..at].rfind('<').unwrap_or(0);
            let tag_end = at + html[at..].find('>').unwrap_or(0);
            assert!(
                !html[tag_start..tag_end].contains("checked"),
                "{name} is pre-ticked"
            );
        }
    }

    #[test]
    fn reject_and_accept_look_the_same_and_sit_side_by_side() {
        let html = en().render("/", "N0nce");
        let reject = html.find(r#"value="reject_all""#).unwrap_or(0);
        let accept = html.find(r#"value="accept_all""#).unwrap_or(0);
        let button = |at: usize| {
            let start = html[..at].rfind("<button").unwrap_or(0);
            html[start..at].to_owned()
        };
        assert_eq!(button(reject), button(accept), "same element, same class");
        assert!(reject < accept, "reject first");
        let between = &html[reject..accept];
        assert!(
            !between.contains("<details") && !between.contains("</section>"),
            "same row"
        );
    }

    #[test]
    fn spanish_and_english_differ_only_in_words() {
        let es = banner_template(BannerVariant {
            lang: Lang::Es,
            gpc: false,
        })
        .render("/", "N0nce");
        assert!(
            es.contains(r#"lang="es""#)
                && es.contains(">Rechazar todo<")
                && es.contains(">Aceptar todo<")
                && es.contains(">Personalizar<")
        );
        assert!(en().render("/", "N0nce").contains(">Reject all<"));
    }

    #[test]
    fn the_banner_names_purposes_recipient_and_withdrawal() {
        for lang in Lang::ALL {
            let html = banner_template(BannerVariant { lang, gpc: false }).render("/", "N0nce");
            assert!(
                html.contains(crate::site::GOOGLE.name),
                "{lang:?}: recipient"
            );
            assert!(html.contains("26"), "{lang:?}: lifetime");
            assert!(
                html.contains("_ga") && html.contains("_gcl_"),
                "{lang:?}: cookies"
            );
        }
    }

    #[test]
    fn the_first_layer_is_short_and_says_who_asks_for_what_with_whom() {
        use crate::site::{CONTROLLER, GOOGLE};
        for lang in Lang::ALL {
            for gpc in [false, true] {
                let html = banner_template(BannerVariant { lang, gpc }).render("/", "n");
                let first = &html[..html.find("<details>").unwrap()];
                let text = first[first.find("<h2").unwrap()..].to_owned();
                assert!(text.contains(CONTROLLER), "{lang:?}: who is asking");
                assert!(text.contains("Google"), "{lang:?}: the third party");
                assert!(
                    text.contains(r#"href="/_consent/cookies""#),
                    "{lang:?}: the details"
                );
                let sentences = lang.texts().banner_text.matches(". ").count() + 1;
                assert!(sentences <= 3, "{lang:?}: {sentences} sentences");
                let second = &html[html.find("<details>").unwrap()..];
                for fact in [
                    GOOGLE.safeguards(lang),
                    crate::site::PRIVACY_EMAIL,
                    crate::site::DPO_EMAIL,
                    "_ga",
                    "26",
                ] {
                    assert!(
                        second.contains(&crate::html::escape_html(fact)),
                        "{lang:?}: {fact} in the customise layer"
                    );
                }
                assert_eq!(
                    html.matches("<label").count(),
                    html.matches("</label>").count(),
                    "{lang:?} {gpc}: balanced labels"
                );
            }
        }
    }

    #[test]
    fn a_change_of_the_sites_facts_changes_the_banners_hash() {
        // The hash sealed in each record names the banner's text, facts included: the facts
        // are rendered into the template the hash is taken of.
        let t = en();
        let whole: String = t
            .parts
            .iter()
            .map(|p| match p {
                Part::Text(s) => s.as_str(),
                Part::Nonce | Part::ReturnTo => "",
            })
            .collect();
        assert!(
            whole.contains(crate::site::CONTROLLER) && whole.contains(crate::site::GOOGLE.name)
        );
    }

    #[test]
    fn legitimate_interest_is_never_offered_as_a_basis() {
        // docs/compliance.md rule 5: no "legitimate interest" layer or toggle for cookies.
        for lang in Lang::ALL {
            for gpc in [false, true] {
                let html = banner_template(BannerVariant { lang, gpc })
                    .render("/", "n")
                    .to_lowercase();
                assert!(
                    !html.contains("legitimate interest") && !html.contains("interés legítimo"),
                    "{lang:?}"
                );
            }
        }
    }

    #[test]
    fn gpc_shows_marketing_off_with_a_reason() {
        let html = banner_template(BannerVariant {
            lang: Lang::En,
            gpc: true,
        })
        .render("/", "N0nce");
        assert!(html.contains(r#"name="marketing" disabled"#));
        assert!(html.contains("Global Privacy Control"));
    }

    #[test]
    fn the_path_is_escaped_and_does_not_change_the_hash() {
        let t = en();
        let html = t.render(r#"/"><script>alert(1)</script>"#, "N");
        assert!(!html.contains("<script>alert"));
        let other = banner_template(BannerVariant {
            lang: Lang::Es,
            gpc: false,
        });
        assert_ne!(t.sha256, other.sha256);
        assert_eq!(t.sha256, en().sha256, "stable");
        let section: String = t
            .parts
            .iter()
            .map(|p| match p {
                Part::Text(s) => s.as_str(),
                Part::Nonce => NONCE,
                Part::ReturnTo => RETURN_TO,
            })
            .collect();
        assert_eq!(
            t.sha256,
            crate::hex(&Sha256::digest(
                format!("{}{section}", style_element(NONCE)).as_bytes()
            )),
            "the hash names the stylesheet too"
        );
        assert_eq!(t.sha256.len(), 64);
    }

    #[test]
    fn the_banner_stays_small() {
        // Budget: 3 KB gzipped for HTML + CSS + JS (issue 6); raw size as a cheap guard here,
        // the gzipped figure is measured by the benchmark.
        let html = en().render("/pricing.html", "N0nce") + &en().style("N0nce");
        assert!(html.len() < 7000, "{} bytes", html.len());
    }
}
