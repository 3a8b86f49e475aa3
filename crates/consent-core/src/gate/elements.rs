//! Every way markup loads something, judged as the browser will read it: which elements the
//! rewriter hands over ([`ELEMENTS`]), what each attribute is to the browser (a URL, a list of
//! URLs, a refresh, code, a stylesheet, or text a script may use), and what the page keeps:
//! an element whose purpose is to load goes whole; an element that only carries a loader (an
//! event handler, a `style`, a `ping`) keeps everything but it. CSS is filtered rather than
//! dropped, so a site's stylesheet survives the one `url()` that would call Google.

use super::decode::{
    decode_char_refs, refresh_is_blocked, srcset_is_blocked, text_is_blocked, url_is_blocked,
    url_list_is_blocked, Rule, ToAscii,
};

/// The elements the runtime hands over, as one selector list. What a selector costs decides
/// its shape (measured with `bench/investigations/ab.mjs`; BENCHMARKS.md, "Issue 21"): every
/// alternative is tested against every element of the page, a tag name for about 10 ns, so a
/// 1 MB page pays about 0.13 ms a tag; every element matched costs a call into JavaScript
/// (about 25 µs in workerd, whatever the handler does); and a test of an attribute makes the
/// runtime read the attributes of every element it could match — `[style]` alone costs a 1 MB
/// page about half its CPU again. So:
///
/// - [`TAGS`]: the elements whose purpose is to load (performance and consent plugins move a
///   script's URL into `data-src`, `data-rocket-src`, `data-litespeed-src`…: every attribute of
///   these is judged, event handlers and `style` included), `base` (a blocked base would turn
///   every relative URL into Google's), `body` (`onload`, `background`), `svg` (`onload`) and
///   SVG's `use` and `feImage`;
/// - [`ATTRIBUTES`]: what loads from any element — a `style`, a `background`, a `ping` or a
///   `formaction` (a click on a link or a button before any decision must not call Google
///   either) — and a refresh `meta`.
///
/// An event handler is judged on the elements of [`TAGS`], where `onload` and `onerror` fire on
/// their own; one on any other element (`onclick` on a `div`) is not: the HTML standard has over
/// a hundred handlers, and a selector each would cost the page more than its whole rewrite
/// (measured: 2.5 × the CPU of a 100 KB page).
pub const ELEMENTS: &str = concat!(
    "script, link, img, iframe, frame, source, object, embed, video, audio, track, input, image, ",
    "base, body, svg, use, feimage, ",
    "[style], [background], [ping], [formaction], meta[http-equiv]",
);

/// The tag names of [`ELEMENTS`].
pub const TAGS: [&str; 18] = [
    "script", "link", "img", "iframe", "frame", "source", "object", "embed", "video", "audio",
    "track", "input", "image", "base", "body", "svg", "use", "feimage",
];

/// The attribute tests of [`ELEMENTS`].
pub const ATTRIBUTES: [&str; 5] = [
    "[style]",
    "[background]",
    "[ping]",
    "[formaction]",
    "meta[http-equiv]",
];

/// What a page does with one element: the runtime `Element` methods to call, each with the
/// attribute name and value it takes (`remove` takes none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementEdit {
    /// `remove()`: the element goes whole, with its content.
    Remove,
    /// `removeAttribute(name)`.
    RemoveAttribute(String),
    /// `setAttribute(name, value)`: a `style` with its blocked `url()`s neutralised.
    SetAttribute(String, String),
}

/// What an attribute is to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// One URL the browser fetches or navigates to.
    Url,
    /// `srcset`, `imagesrcset`: candidates of a URL and a descriptor.
    SrcSet,
    /// `ping`, `archive`: URLs separated by whitespace.
    UrlList,
    /// `content` of a `<meta http-equiv="refresh">`.
    Refresh,
    /// An event handler: script.
    Handler,
    /// `style`: CSS.
    Style,
    /// Anything else (`data-*`, `srcdoc`, `value`…): text a script or the browser may use.
    Text,
}

fn role(tag: &str, name: &str, refresh: bool) -> Role {
    match name {
        "src" | "href" | "xlink:href" | "data" | "poster" | "background" | "action"
        | "formaction" | "codebase" | "manifest" | "longdesc" | "lowsrc" | "dynsrc" | "icon"
        | "code" | "profile" => Role::Url,
        "srcset" | "imagesrcset" => Role::SrcSet,
        "ping" | "archive" => Role::UrlList,
        "content" if refresh && tag == "meta" => Role::Refresh,
        "style" => Role::Style,
        _ if name.starts_with("on") => Role::Handler,
        _ => Role::Text,
    }
}

/// Elements whose purpose is to load what their attributes name: when one of those is
/// blocked, the element goes whole.
fn is_loader(tag: &str) -> bool {
    matches!(
        tag,
        "script"
            | "link"
            | "img"
            | "iframe"
            | "frame"
            | "source"
            | "object"
            | "embed"
            | "video"
            | "audio"
            | "track"
            | "input"
            | "image"
            | "use"
            | "feimage"
            | "base"
            | "meta"
    )
}

/// What the page keeps of an element (`tag` in lower case, its attributes with their names
/// in lower case and their values undecoded, as the rewriter hands them over): nothing to do,
/// or the edits. `rules` are what the visitor's choices block.
#[must_use]
pub fn judge_element<'a>(
    tag: &str,
    attributes: &[(&'a str, &'a str)],
    rules: &[Rule],
    idna: &impl ToAscii,
) -> Vec<ElementEdit> {
    if rules.is_empty() {
        return Vec::new();
    }
    let refresh = tag == "meta"
        && attributes.iter().any(|(n, v)| {
            *n == "http-equiv" && decode_char_refs(v).trim().eq_ignore_ascii_case("refresh")
        });
    let mut edits = Vec::new();
    for &(name, value) in attributes {
        let role = role(tag, name, refresh);
        let blocked = match role {
            Role::Url => url_is_blocked(value, rules, idna),
            Role::SrcSet => srcset_is_blocked(value, rules, idna),
            Role::UrlList => url_list_is_blocked(value, rules, idna),
            Role::Refresh => refresh_is_blocked(value, rules, idna),
            Role::Handler | Role::Style | Role::Text => text_is_blocked(value, rules),
        };
        if !blocked {
            continue;
        }
        let element_goes =
            is_loader(tag) && matches!(role, Role::Url | Role::SrcSet | Role::Refresh | Role::Text);
        if element_goes {
            return vec![ElementEdit::Remove];
        }
        edits.push(match role {
            Role::Style => match filter_css(&decode_char_refs(value), rules) {
                Some(kept) if !kept.trim().is_empty() => {
                    ElementEdit::SetAttribute(name.to_owned(), kept)
                }
                _ => ElementEdit::RemoveAttribute(name.to_owned()),
            },
            Role::Url
            | Role::SrcSet
            | Role::UrlList
            | Role::Refresh
            | Role::Handler
            | Role::Text => ElementEdit::RemoveAttribute(name.to_owned()),
        });
    }
    edits
}

/// `css` without what would load from a blocked destination: every `url(…)` or quoted string
/// (`image-set`, `@import "…"`) naming one becomes `none`, an `@import` of one and a comment
/// naming one go whole. `None` when nothing was blocked (the CSS is kept byte for byte); empty
/// when something blocked is left that the tokens above do not reach (an escape spelling
/// `url`): then the sheet goes rather than leak.
#[must_use]
pub fn filter_css(css: &str, rules: &[Rule]) -> Option<String> {
    if !text_is_blocked(css, rules) {
        return None;
    }
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some((start, end, kind)) = next_css_reference(rest) {
        out.push_str(&rest[..start]);
        // An `@import` is judged with the rest of its rule, to its `;`, and goes whole.
        let end = match kind {
            CssReference::Import => rest[start..]
                .find(';')
                .map_or(rest.len(), |i| start + i + 1),
            CssReference::Url | CssReference::String | CssReference::Comment => end,
        };
        let reference = &rest[start..end];
        match kind {
            _ if !text_is_blocked(reference, rules) => out.push_str(reference),
            CssReference::Import | CssReference::Comment => {}
            CssReference::Url | CssReference::String => out.push_str("none"),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    if text_is_blocked(&out, rules) {
        Some(String::new())
    } else {
        Some(out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CssReference {
    /// `url(…)`.
    Url,
    /// A quoted string (as `image-set("…")` or `@import "…"` take).
    String,
    /// The `@import` keyword: the string or `url()` after it is what it loads.
    Import,
    /// A comment (which a blocked name in it would otherwise keep the whole sheet from).
    Comment,
}

/// The next `url(…)`, quoted string or `@import` in `css`: its start, its end and what it is.
fn next_css_reference(css: &str) -> Option<(usize, usize, CssReference)> {
    let bytes = css.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = css[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                return Some((i, end, CssReference::Comment));
            }
            b'"' | b'\'' => {
                let quote = bytes[i];
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != quote {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                return Some((i, (j + 1).min(bytes.len()), CssReference::String));
            }
            b'@' if css[i..].len() >= 7 && css[i + 1..i + 7].eq_ignore_ascii_case("import") => {
                return Some((i, i + 7, CssReference::Import));
            }
            b'u' | b'U'
                if css[i..].len() >= 4
                    && css[i..i + 4].eq_ignore_ascii_case("url(")
                    && (i == 0 || !is_name_byte(bytes[i - 1])) =>
            {
                let close = css[i..].find(')').map_or(bytes.len(), |e| i + e + 1);
                return Some((i, close, CssReference::Url));
            }
            _ => i += 1,
        }
    }
    None
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'\\' || b >= 0x80
}

/// The runtime `Element` method of an edit, with its arguments: the form the entry applies
/// (`element[method](name, value)`).
#[must_use]
pub fn edit_call(edit: &ElementEdit) -> (&'static str, &str, &str) {
    match edit {
        ElementEdit::Remove => ("remove", "", ""),
        ElementEdit::RemoveAttribute(name) => ("removeAttribute", name, ""),
        ElementEdit::SetAttribute(name, value) => ("setAttribute", name, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::Choices;
    use crate::gate::decode::AsciiOnly;
    use crate::gate::{blocked_rules, ChunkAction, InlineGate};

    fn judge(tag: &str, attributes: &[(&str, &str)]) -> Vec<ElementEdit> {
        judge_element(tag, attributes, blocked_rules(Choices::NONE), &AsciiOnly)
    }

    fn remove_attribute(name: &str) -> ElementEdit {
        ElementEdit::RemoveAttribute(name.to_owned())
    }

    #[test]
    fn the_selector_list_is_the_tags_and_the_attribute_tests() {
        let selectors: Vec<&str> = ELEMENTS.split(", ").collect();
        let listed: Vec<&str> = TAGS.iter().chain(ATTRIBUTES.iter()).copied().collect();
        let (mut a, mut b) = (selectors.clone(), listed);
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b);
        for handler in ["onload", "onclick", "onbegin", "ontoggle"] {
            assert_eq!(role("div", handler, false), Role::Handler);
        }
    }

    #[test]
    fn a_loader_goes_whole_and_a_carrier_keeps_all_but_its_loader() {
        let gtag = "https://www.googletagmanager.com/gtag/js?id=G-1";
        assert_eq!(judge("script", &[("src", gtag)]), [ElementEdit::Remove]);
        assert_eq!(
            judge("base", &[("href", "https://www.googletagmanager.com/")]),
            [ElementEdit::Remove],
            "a blocked base would make every relative URL Google's"
        );
        assert_eq!(
            judge(
                "body",
                &[("onload", &format!("s.src='{gtag}'")), ("class", "home")]
            ),
            [remove_attribute("onload")]
        );
        assert_eq!(
            judge(
                "img",
                &[
                    ("src", "/x.png"),
                    ("onerror", "fetch('//www.google-analytics.com/g')")
                ]
            ),
            [remove_attribute("onerror")],
            "the image stays"
        );
        assert_eq!(
            judge(
                "a",
                &[
                    ("href", "/"),
                    ("ping", "/p https://www.google-analytics.com/g")
                ]
            ),
            [remove_attribute("ping")]
        );
        assert_eq!(
            judge(
                "td",
                &[("background", "https://www.google-analytics.com/g/collect")]
            ),
            [remove_attribute("background")]
        );
        assert!(judge("img", &[("src", "/logo.png"), ("alt", "logo")]).is_empty());
        assert!(
            judge_element("script", &[("src", gtag)], &[], &AsciiOnly).is_empty(),
            "nothing blocked, nothing judged"
        );
    }

    #[test]
    fn a_refresh_is_judged_by_its_url_and_other_metas_are_left_alone() {
        let refresh = [
            ("http-equiv", "Refresh"),
            (
                "content",
                "0;url=https://www.googletagmanager.com/ns.html?id=GTM-1",
            ),
        ];
        assert_eq!(judge("meta", &refresh), [ElementEdit::Remove]);
        assert!(judge("meta", &[("http-equiv", "refresh"), ("content", "30")]).is_empty());
    }

    #[test]
    fn a_style_keeps_everything_but_its_blocked_urls() {
        assert_eq!(
            judge(
                "div",
                &[(
                    "style",
                    "color:red;background:url(https://www.google-analytics.com/g/collect?v=2)"
                )]
            ),
            [ElementEdit::SetAttribute(
                "style".to_owned(),
                "color:red;background:none".to_owned()
            )]
        );
        assert_eq!(
            filter_css(
                "@import url(//www.googletagmanager.com/x.css);\n.a{color:blue}\n.b{background:url('/ok.png')}",
                blocked_rules(Choices::NONE)
            )
            .as_deref(),
            Some("\n.a{color:blue}\n.b{background:url('/ok.png')}")
        );
        assert_eq!(
            filter_css(".a{color:blue}", blocked_rules(Choices::NONE)),
            None
        );
    }

    #[test]
    fn a_stylesheet_naming_a_blocked_destination_is_held_whole_and_filtered() {
        let rules = blocked_rules(Choices::NONE);
        let mut gate = InlineGate {
            filter: true,
            ..InlineGate::default()
        };
        assert_eq!(
            gate.next(".a{background:url(//www.google-", 30, false, rules),
            ChunkAction::Hold
        );
        assert_eq!(
            gate.next("url(//www.google-analytics.com/g)}", 5, false, rules),
            ChunkAction::Hold
        );
        assert_eq!(gate.next("}", 1, true, rules), ChunkAction::ReleaseFiltered);
        assert!(gate.filter, "still a stylesheet's gate");
        assert_eq!(gate.next(".b{}", 4, true, rules), ChunkAction::Pass);
    }
}
