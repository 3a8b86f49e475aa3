//! The HTML the worker adds to a page. Built from constants, so each variant is rendered
//! once per isolate and reused.

use crate::html::escape_html;
use crate::i18n::Lang;
use crate::paths;

/// Its look: a fixed element, so it never moves the page's layout. A stylesheet with the
/// response's nonce rather than a `style` attribute, which no CSP nonce can allow.
pub const SETTINGS_LINK_STYLE: &str = concat!(
    "#sivo-settings{position:fixed;left:12px;bottom:12px;z-index:2147483000;",
    "font:14px/1.4 system-ui,sans-serif;background:#fff;color:#1a1a2e;",
    "border:1px solid #767676;border-radius:6px;padding:6px 10px;text-decoration:underline}"
);

/// The link's stylesheet for the page's `<head>` (with `nonce` when the response has one).
#[must_use]
pub fn settings_link_style(nonce: Option<&str>) -> String {
    let nonce = nonce
        .map(|n| format!(r#" nonce="{}""#, escape_html(n)))
        .unwrap_or_default();
    format!("<style{nonce}>{SETTINGS_LINK_STYLE}</style>")
}

/// The persistent "cookie settings" link to the preferences page (docs/compliance.md rule 8),
/// appended just before `</body>`; its look is [`settings_link_style`].
#[must_use]
pub fn settings_link(lang: Lang) -> String {
    format!(
        r#"<a href="{path}" id="sivo-settings" data-consent-settings lang="{tag}">{text}</a>"#,
        path = paths::PREFERENCES,
        tag = lang.tag(),
        text = escape_html(lang.texts().settings_link),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_points_to_the_preferences_page_in_the_visitors_language() {
        let en = settings_link(Lang::En);
        assert!(
            en.starts_with(r#"<a href="/_consent/preferences" id="sivo-settings""#),
            "{en}"
        );
        let style = settings_link_style(Some("N0nce"));
        assert!(
            style.starts_with(r#"<style nonce="N0nce">#sivo-settings{position:fixed"#),
            "{style}"
        );
        assert!(settings_link_style(None).starts_with("<style>#sivo-settings{"));
        assert!(
            !en.contains("style=\""),
            "no style attribute: a CSP nonce cannot allow one"
        );
        assert!(en.contains(">Cookie settings</a>") && en.contains(r#"lang="en""#));
        let es = settings_link(Lang::Es);
        assert!(es.contains(">Configuración de cookies</a>") && es.contains(r#"lang="es""#));
        assert!(style.contains("position:fixed"), "must not move the page");
    }
}
