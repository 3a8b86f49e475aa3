//! The privacy team's pages under `/_consent/admin` (README, "For the privacy team"): the
//! form to look up a consent id, a visitor's records, and the audit log with its verdict.
//! Rendered from the same JSON the routes answer to programs, so a page never shows other
//! data than the JSON; every value is escaped (an e-mail or a target is never markup).

use crate::consent::ConsentId;
use crate::failure::Failure;
use crate::html::escape_html;
use crate::i18n::{Lang, Texts};
use crate::paths;
use serde_json::Value;
use std::fmt::Write as _;

/// Largest form body read for a look-up.
const MAX_FORM_BYTES: usize = 4096;

/// The consent id of the look-up form's body (`consent_id=<32 hex>`, other fields ignored;
/// surrounding spaces and upper case forgiven, as pasted).
///
/// # Errors
/// [`Failure::TooLarge`] over 4 KiB; [`Failure::BadRequest`] without a valid id.
pub fn consent_id_of_form(body: &[u8]) -> Result<ConsentId, Failure> {
    if body.len() > MAX_FORM_BYTES {
        return Err(Failure::TooLarge);
    }
    let bad =
        || Failure::BadRequest("send consent_id=<the 32 hex characters of a consent id>".into());
    let text = std::str::from_utf8(body).map_err(|_| bad())?;
    let value = text
        .split('&')
        .find_map(|pair| pair.strip_prefix("consent_id="))
        .ok_or_else(bad)?;
    let value = value.replace('+', " ");
    ConsentId::parse(&value.trim().to_ascii_lowercase()).ok_or_else(bad)
}

/// The links between the privacy pages and the dashboard.
fn nav(t: &Texts) -> String {
    let e = escape_html;
    format!(
        r#"<nav aria-label="{label}"><p><a href="{admin}">{dash}</a> · <a href="{records}">{lookup}</a> · <a href="{audit}">{log}</a></p></nav>"#,
        label = e(t.priv_nav),
        admin = paths::ADMIN,
        dash = e(t.dash_title),
        records = paths::ADMIN_RECORDS,
        lookup = e(t.priv_lookup_title),
        audit = paths::ADMIN_AUDIT,
        log = e(t.priv_audit_title),
    )
}

/// The dashboard's links to the privacy pages, for an admin.
#[must_use]
pub fn privacy_links(t: &Texts) -> String {
    let e = escape_html;
    format!(
        r#"<nav aria-label="{label}"><p><a href="{records}">{lookup}</a> · <a href="{audit}">{log}</a></p></nav>"#,
        label = e(t.priv_nav),
        records = paths::ADMIN_RECORDS,
        lookup = e(t.priv_lookup_title),
        audit = paths::ADMIN_AUDIT,
        log = e(t.priv_audit_title),
    )
}

/// The look-up form: one field, posted to [`paths::ADMIN_RECORDS`].
fn lookup_form(t: &Texts, value: &str) -> String {
    let e = escape_html;
    format!(
        concat!(
            r#"<form class="card" method="post" action="{action}"><p><label for="consent_id">{label}</label><br>"#,
            r#"<input type="text" id="consent_id" name="consent_id" value="{value}" required pattern="[0-9a-fA-F]{{32}}" maxlength="64" size="34" autocomplete="off" spellcheck="false" aria-describedby="consent_id_help"></p>"#,
            r#"<p id="consent_id_help" class="read">{help}</p><p><button type="submit">{submit}</button></p></form>"#
        ),
        action = paths::ADMIN_RECORDS,
        label = e(t.priv_consent_id),
        value = e(value),
        help = e(t.priv_lookup_help),
        submit = e(t.priv_look_up),
    )
}

/// `GET /_consent/admin/records`: the look-up form.
#[must_use]
pub fn lookup_page(lang: Lang) -> String {
    let t = lang.texts();
    let body = format!(
        "<h1>{}</h1>{}<p>{}</p>{}",
        escape_html(t.priv_lookup_title),
        nav(t),
        escape_html(t.priv_audited),
        lookup_form(t, "")
    );
    crate::visitor::pages::wide_page(lang, t.priv_lookup_title, &body)
}

/// A JSON value as text: strings as they are, the rest as compact JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

/// One record as a card: its date as the heading, then every field it holds.
fn record_card(t: &Texts, index: usize, record: &Value) -> String {
    let e = escape_html;
    let unreadable = record.get("unreadable").and_then(Value::as_bool) == Some(true);
    let at = record
        .get("at")
        .or_else(|| record.get("timestamp"))
        .map_or_else(|| "—".to_owned(), text_of);
    let mut card = format!(
        r#"<section class="card" aria-labelledby="record-{index}"><h2 id="record-{index}">{}</h2>"#,
        e(&t.priv_record_heading
            .replace("{n}", &(index + 1).to_string())
            .replace("{at}", &at))
    );
    if unreadable {
        let _ = write!(
            card,
            r#"<p role="note"><strong>{}</strong></p>"#,
            e(t.priv_unreadable)
        );
    }
    card.push_str("<dl class=\"fields\">");
    if let Some(fields) = record.as_object() {
        // The labelled fields in their order, then any other under its JSON name; each label
        // with the JSON name beside it, so the page reads against the download.
        let labelled = t
            .priv_fields
            .iter()
            .filter_map(|&(name, label)| fields.get(name).map(|value| (name, Some(label), value)));
        let others = fields
            .iter()
            .filter(|(name, _)| !t.priv_fields.iter().any(|(known, _)| known == name))
            .map(|(name, value)| (name.as_str(), None, value));
        for (name, label, value) in labelled.chain(others) {
            match label {
                Some(label) => {
                    let _ = write!(
                        card,
                        r#"<dt>{} <span class="json-name">({})</span></dt>"#,
                        e(label),
                        e(name)
                    );
                }
                None => {
                    let _ = write!(card, "<dt>{}</dt>", e(name));
                }
            }
            let _ = write!(card, "<dd><code>{}</code></dd>", e(&text_of(value)));
        }
    }
    card.push_str("</dl></section>");
    card
}

/// The records page for a look-up's answer (`{"consent_id", "records": [...]}`).
#[must_use]
pub fn records_page(lang: Lang, answer: &Value) -> String {
    let t = lang.texts();
    let e = escape_html;
    let id = answer.get("consent_id").map_or_else(String::new, text_of);
    let records = answer
        .get("records")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut body = format!(
        "<h1>{}</h1>{}<p>{}</p>",
        e(t.priv_records_title),
        nav(t),
        e(&t.priv_records_of
            .replace("{id}", &id)
            .replace("{n}", &records.len().to_string()))
    );
    let _ = write!(
        body,
        r#"<p><a class="button" href="{prefix}{id}?download" download="sivo-consent-{id}.json">{label}</a></p><p class="read">{read}</p>"#,
        prefix = paths::ADMIN_RECORDS_PREFIX,
        id = e(&id),
        label = e(t.priv_download),
        read = e(t.priv_download_read),
    );
    if records.is_empty() {
        let _ = write!(body, r#"<p class="card">{}</p>"#, e(t.priv_no_records));
    }
    for (index, record) in records.iter().enumerate() {
        body.push_str(&record_card(t, index, record));
    }
    let _ = write!(body, "<h2>{}</h2>", e(t.priv_another));
    body.push_str(&lookup_form(t, ""));
    crate::visitor::pages::wide_page(lang, t.priv_records_title, &body)
}

/// The chain's verdict in words.
fn verdict(t: &Texts, answer: &Value) -> String {
    let at = answer.get("broken_at").map_or_else(String::new, text_of);
    match answer.get("chain").and_then(Value::as_str) {
        Some("verified") => t.priv_chain_verified.to_owned(),
        Some("truncated") => t.priv_chain_truncated.replace("{seq}", &at),
        _ => t.priv_chain_broken.replace("{seq}", &at),
    }
}

/// The head's state in words.
fn head_words(t: &Texts, answer: &Value) -> String {
    let head = answer.get("head");
    let status = head
        .and_then(|h| h.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let seq = head
        .and_then(|h| h.get("seq"))
        .map_or_else(|| "—".to_owned(), text_of);
    let words = match status {
        "matches" => t.priv_head_matches,
        "ahead" => t.priv_head_ahead,
        "behind" => t.priv_head_behind,
        "differs" => t.priv_head_differs,
        "absent" => t.priv_head_absent,
        _ => t.priv_head_unavailable,
    };
    words.replace("{seq}", &seq)
}

/// The page's entries as a table (one card per entry on narrow screens).
fn audit_table(t: &Texts, answer: &Value) -> String {
    let e = escape_html;
    let mut out = String::new();
    let columns = [
        t.priv_col_seq,
        t.priv_col_at,
        t.priv_col_who,
        t.priv_col_action,
        t.priv_col_target,
        t.priv_col_ip,
        t.priv_col_count,
    ];
    let mut rows = String::new();
    let entries = answer
        .get("entries")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for entry in entries {
        let field = |name: &str| entry.get(name).map_or_else(String::new, text_of);
        let who = format!("{} ({})", field("who"), field("role"));
        let cells = [
            field("seq"),
            field("at"),
            who,
            field("action"),
            field("target"),
            field("ip"),
            field("count"),
        ];
        rows.push_str("<tr>");
        for (i, (label, cell)) in columns.iter().zip(cells).enumerate() {
            let tag = if i == 0 { "th scope=\"row\"" } else { "td" };
            let close = if i == 0 { "th" } else { "td" };
            let _ = write!(
                rows,
                r#"<{tag} data-label="{}">{}</{close}>"#,
                e(label),
                e(&cell)
            );
        }
        rows.push_str("</tr>");
    }
    if entries.is_empty() {
        let _ = write!(out, r#"<p class="card">{}</p>"#, e(t.priv_no_entries));
    } else {
        let mut head = String::new();
        for c in columns {
            let _ = write!(head, r#"<th scope="col">{}</th>"#, e(c));
        }
        let _ = write!(
            out,
            r#"<div class="card table-wrap" tabindex="0" role="group" aria-label="{title}"><table class="cookies"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"#,
            title = e(t.priv_audit_title),
        );
    }
    out
}

/// The audit page for a read's answer (`consent_core::dashboard::audit::read::answer`).
#[must_use]
pub fn audit_page(lang: Lang, answer: &Value) -> String {
    let t = lang.texts();
    let e = escape_html;
    let total = answer.get("total").map_or_else(String::new, text_of);
    let broken = answer.get("chain").and_then(Value::as_str) != Some("verified");
    let mut body = format!("<h1>{}</h1>{}", e(t.priv_audit_title), nav(t));
    let _ = write!(
        body,
        r#"<div class="card" role="{role}"><p><strong>{verdict}</strong></p><p>{head}</p><p>{total}</p></div>"#,
        role = if broken { "alert" } else { "status" },
        verdict = e(&verdict(t, answer)),
        head = e(&head_words(t, answer)),
        total = e(&t.priv_total.replace("{n}", &total)),
    );
    body.push_str(&audit_table(t, answer));
    let limit = answer.get("limit").map_or_else(String::new, text_of);
    let mut links = Vec::new();
    if answer.get("before").is_some_and(|b| !b.is_null()) {
        links.push(format!(
            r#"<a href="{}">{}</a>"#,
            paths::ADMIN_AUDIT,
            e(t.priv_newest)
        ));
    }
    if let Some(next) = answer.get("next_before").and_then(Value::as_u64) {
        links.push(format!(
            r#"<a href="{}?before={next}&amp;limit={}">{}</a>"#,
            paths::ADMIN_AUDIT,
            e(&limit),
            e(t.priv_older)
        ));
    }
    if !links.is_empty() {
        let _ = write!(
            body,
            r#"<nav aria-label="{}"><p>{}</p></nav>"#,
            e(t.priv_pages),
            links.join(" · ")
        );
    }
    crate::visitor::pages::wide_page(lang, t.priv_audit_title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn the_form_gives_the_consent_id_and_refuses_anything_else() {
        let id = |body: &str| consent_id_of_form(body.as_bytes()).map(|id| id.to_string());
        assert_eq!(id(&format!("consent_id={ID}")).unwrap(), ID);
        assert_eq!(
            id(&format!("x=1&consent_id=+{}+", ID.to_uppercase())).unwrap(),
            ID
        );
        for bad in [
            "",
            "consent_id=",
            "consent_id=abc",
            "id=0123456789abcdef0123456789abcdef",
        ] {
            assert!(matches!(id(bad), Err(Failure::BadRequest(_))), "{bad}");
        }
        let long = format!("consent_id={ID}&{}", "x".repeat(5000));
        assert!(matches!(id(&long), Err(Failure::TooLarge)));
    }

    #[test]
    fn the_records_page_shows_every_field_escaped_and_offers_the_download() {
        let answer = json!({ "consent_id": ID, "records": [
            { "at": "2026-12-01T10:00:00Z", "method": "accept_all", "country": "<b>ES</b>" },
            { "unreadable": true, "at": "2026-11-01T10:00:00Z", "key": "k" },
        ]});
        for lang in Lang::ALL {
            let page = records_page(lang, &answer);
            assert!(page.contains("accept_all"));
            assert!(page.contains("&lt;b&gt;ES&lt;/b&gt;"));
            assert!(!page.contains("<b>ES"));
            assert!(page.contains("2026-11-01T10:00:00Z"));
            assert!(page.contains(lang.texts().priv_unreadable));
            assert!(page.contains(&format!("{}{ID}?download", paths::ADMIN_RECORDS_PREFIX)));
            assert!(page.contains(&format!(r#"lang="{}""#, lang.tag())));
            assert!(!page.contains("<script"));
        }
    }

    #[test]
    fn a_records_fields_are_labelled_in_the_pages_language_in_order_with_their_json_names() {
        let answer = json!({ "consent_id": ID, "records": [
            { "user_agent": "Firefox", "at": "2026-12-01T10:00:00Z", "country": "ES", "future_field": 1 },
        ]});
        let es = records_page(Lang::Es, &answer);
        let label =
            |page: &str, text: &str| page.find(text).unwrap_or_else(|| panic!("{text} missing"));
        let (at, country, agent, other) = (
            label(
                &es,
                r#"<dt>Decidido el (UTC) <span class="json-name">(at)</span></dt>"#,
            ),
            label(
                &es,
                r#"<dt>País <span class="json-name">(country)</span></dt>"#,
            ),
            label(
                &es,
                r#"<dt>Navegador (user agent) <span class="json-name">(user_agent)</span></dt>"#,
            ),
            label(&es, "<dt>future_field</dt>"),
        );
        assert!(
            at < country && country < agent && agent < other,
            "the table's order, unknown fields last"
        );
        let en = records_page(Lang::En, &answer);
        assert!(en.contains(r#"<dt>Country <span class="json-name">(country)</span></dt>"#));
    }

    #[test]
    fn every_field_a_record_holds_has_a_label_in_both_languages() {
        let record = crate::proof::record::tests::record();
        let record = serde_json::to_value(&record).unwrap();
        let fields = record.as_object().unwrap().keys().map(String::as_str);
        // And what a download shows of a record that does not open (proof::records).
        let unreadable = ["unreadable", "key", "at", "at_ms", "error", "key_id"];
        for field in fields.chain(unreadable) {
            for lang in Lang::ALL {
                assert!(
                    lang.texts()
                        .priv_fields
                        .iter()
                        .any(|(name, _)| *name == field),
                    "{lang:?}: no label for {field}"
                );
            }
        }
    }

    #[test]
    fn the_audit_page_says_the_verdict_and_escapes_who_and_what() {
        let entry = json!({ "seq": 7, "at": "2026-12-01T10:00:00Z", "who": "<i>x@y</i>", "role": "admin",
            "action": "records_lookup", "target": "\"><script>", "ip": "1.2.3.0", "count": 1 });
        let answer = json!({ "chain": "verified", "broken_at": null, "head": { "status": "matches", "seq": 7 },
            "total": 7, "before": null, "limit": 1, "next_before": 7, "entries": [entry] });
        let t = Lang::En.texts();
        let page = audit_page(Lang::En, &answer);
        assert!(page.contains(t.priv_chain_verified));
        assert!(page.contains("&lt;i&gt;x@y&lt;/i&gt;"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("?before=7&amp;limit=1"));
        let broken = json!({ "chain": "broken", "broken_at": 3, "head": { "status": "differs", "seq": 7 },
            "total": 7, "before": 9, "limit": 50, "next_before": null, "entries": [] });
        let page = audit_page(Lang::Es, &broken);
        assert!(page.contains(&Lang::Es.texts().priv_chain_broken.replace("{seq}", "3")));
        assert!(!page.contains("before=")); // no older page
        assert!(page.contains(Lang::Es.texts().priv_newest));
    }
}
