//! The pages the worker renders itself, in the demo site's look, without JavaScript.

use crate::i18n::Lang;
use crate::inject::escape_html;

/// The shared stylesheet of the worker's pages: plain, readable, WCAG AA contrast.
const PAGE_CSS: &str = concat!(
    ":root{color-scheme:light}body{margin:0;font:16px/1.6 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a2e;background:#f6f7fb}",
    "header{background:#12264f;color:#fff;padding:14px 24px}header a{color:#fff;font-weight:700;text-decoration:none;font-size:20px}",
    "main{max-width:760px;margin:32px auto;padding:0 20px}h1{font-size:28px;line-height:1.25}",
    ".card{background:#fff;border:1px solid #d8dbe5;border-radius:10px;padding:20px 24px;margin:16px 0}",
    "a{color:#0b57d0}button,.button{font:inherit;font-weight:600;padding:10px 18px;border-radius:8px;border:2px solid #12264f;background:#12264f;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}",
    "button.secondary{background:#fff;color:#12264f}:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
    "table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;border-bottom:1px solid #d8dbe5;padding:8px 6px;vertical-align:top}",
    "code{background:#eef0f6;padding:1px 4px;border-radius:4px}"
);

/// A whole page: `title` is escaped, `body_html` is trusted markup.
#[must_use]
pub fn page(lang: Lang, title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{tag}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title} · SIVO</title><style>{css}</style></head><body><header><a href=\"/\">SIVO</a></header><main>{body}</main></body></html>",
        tag = lang.tag(),
        title = escape_html(title),
        css = PAGE_CSS,
        body = body_html,
    )
}

/// The page shown when the origin cannot be reached (`502`) or is too slow (`504`).
#[must_use]
pub fn origin_unavailable(lang: Lang, timed_out: bool) -> String {
    let t = lang.texts();
    let detail = if timed_out {
        t.origin_timeout
    } else {
        t.origin_down
    };
    page(
        lang,
        t.origin_title,
        &format!(
            "<h1>{}</h1><div class=\"card\"><p>{}</p><p><a class=\"button\" href=\"\">{}</a></p></div>",
            escape_html(t.origin_title),
            escape_html(detail),
            escape_html(t.try_again)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_error_page_is_a_whole_page_in_the_visitors_language() {
        let es = origin_unavailable(Lang::Es, false);
        assert!(es.starts_with("<!doctype html><html lang=\"es\">"));
        assert!(es.contains(Lang::Es.texts().origin_down) && es.ends_with("</html>"));
        let en = origin_unavailable(Lang::En, true);
        assert!(en.contains(Lang::En.texts().origin_timeout));
    }

    #[test]
    fn titles_are_escaped() {
        assert!(page(Lang::En, "<b>", "").contains("<title>&lt;b&gt; · SIVO</title>"));
    }
}
