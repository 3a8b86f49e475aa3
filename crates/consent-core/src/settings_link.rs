//! The HTML the worker adds to a page. Built from constants, so each variant is rendered
//! once per isolate and reused.

use crate::html::escape_html;
use crate::i18n::Lang;
use crate::paths;

/// The persistent "cookie settings" link to the preferences page (COMPLIANCE.md rule 8), appended just before `</body>`. A fixed element:
/// it never moves the page's layout.
#[must_use]
pub fn settings_link(lang: Lang) -> String {
    format!(
        concat!(
            r#"<a href="{path}" data-consent-settings lang="{tag}" "#,
            r#"style="position:fixed;left:12px;bottom:12px;z-index:2147483000;"#,
            r#"font:14px/1.4 system-ui,sans-serif;background:#fff;color:#1a1a2e;"#,
            r#"border:1px solid #767676;border-radius:6px;padding:6px 10px;text-decoration:underline">{text}</a>"#
        ),
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
        assert!(en.starts_with(r#"<a href="/_consent/preferences""#), "{en}");
        assert!(en.contains(">Cookie settings</a>") && en.contains(r#"lang="en""#));
        let es = settings_link(Lang::Es);
        assert!(es.contains(">Configuración de cookies</a>") && es.contains(r#"lang="es""#));
        assert!(en.contains("position:fixed"), "must not move the page");
    }
}
