//! Analytics gating: what a page may carry of Google's tags, given the visitor's choices.
//!
//! Basic Consent Mode (docs/compliance.md rules 1 and 15): without a grant the browser is sent
//! no tag at all, and whatever the origin wrote itself is removed. With a grant, Consent Mode
//! v2 defaults (all seven types denied) run first, then the update from the visitor's
//! choices, then the tags. Every script carries the response's nonce.
//!
//! Also here: which origin responses are rewritten and how their headers change
//! ([`rewrite`]), and the inventory of every cookie the site may set ([`cookies`]).

pub mod cookies;
pub mod decode;
pub mod elements;
pub mod rewrite;

use crate::consent::Choices;
use crate::html::escape_html;
use decode::{text_is_blocked, url_is_blocked, HostPattern, Rule, ToAscii};
use std::fmt::Write as _;

/// Where Google's analytics loads from and reports to, as Google documents its tags: GTM and
/// gtag.js, GA4's collection endpoints (`google-analytics.com`, `analytics.google.com`).
pub const ANALYTICS: [Rule; 3] = [
    Rule::domain("googletagmanager.com"),
    Rule::domain("google-analytics.com"),
    Rule::domain("analytics.google.com"),
];

/// Where Google's advertising loads from and reports to: Ads and Floodlight
/// (`doubleclick.net`, `googleadservices.com`), `AdSense` (`googlesyndication.com`), the
/// Publisher Tag (`googletagservices.com`), conversion and remarketing pixels on Google's own
/// domains (`google.<country>/pagead`), and GA4's advertising audiences
/// (`google.<country>/ads/ga-audiences`).
pub const MARKETING: [Rule; 6] = [
    Rule::domain("doubleclick.net"),
    Rule::domain("googleadservices.com"),
    Rule::domain("googlesyndication.com"),
    Rule::domain("googletagservices.com"),
    Rule::under(HostPattern::GoogleAnyTld, "/pagead"),
    Rule::under(HostPattern::GoogleAnyTld, "/ads/ga-audiences"),
];

/// Marketing granted, analytics not: GTM may load (it carries the ads tags), GA4 may not.
const MARKETING_ONLY: [Rule; 3] = [
    Rule::domain("google-analytics.com"),
    Rule::domain("analytics.google.com"),
    Rule::under(HostPattern::Domain("googletagmanager.com"), "/gtag/"),
];

/// Nothing granted: every destination of both purposes.
const NOTHING_GRANTED: [Rule; 9] = [
    ANALYTICS[0],
    ANALYTICS[1],
    ANALYTICS[2],
    MARKETING[0],
    MARKETING[1],
    MARKETING[2],
    MARKETING[3],
    MARKETING[4],
    MARKETING[5],
];

/// The configured tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tags<'a> {
    /// `GA4_MEASUREMENT_ID`.
    pub ga4: Option<&'a str>,
    /// `GTM_CONTAINER_ID`.
    pub gtm: Option<&'a str>,
}

/// What a page may keep and what the worker adds to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePlan {
    /// The destinations the browser must not be made to reach.
    pub blocked: &'static [Rule],
    /// Load GA4 (analytics granted and configured).
    pub ga4: Option<String>,
    /// Load GTM (analytics or marketing granted and configured).
    pub gtm: Option<String>,
}

impl PagePlan {
    /// True when the worker adds any tag.
    #[must_use]
    pub fn injects_tags(&self) -> bool {
        self.ga4.is_some() || self.gtm.is_some()
    }
}

/// The destinations the browser must not be made to reach under `choices`: fixed lists, so
/// none is built per call (the rewriter's handlers ask for them on every element).
#[must_use]
pub fn blocked_rules(choices: Choices) -> &'static [Rule] {
    match (choices.analytics, choices.marketing) {
        (false, false) => &NOTHING_GRANTED,
        (false, true) => &MARKETING_ONLY,
        (true, false) => &MARKETING,
        (true, true) => &[],
    }
}

/// Decides what the page may carry.
#[must_use]
pub fn plan(choices: Choices, tags: Tags<'_>) -> PagePlan {
    PagePlan {
        blocked: blocked_rules(choices),
        ga4: tags.ga4.filter(|_| choices.analytics).map(str::to_owned),
        gtm: tags.gtm.filter(|_| choices.any()).map(str::to_owned),
    }
}

pub use elements::ELEMENTS as STRIP_ELEMENTS;

/// Elements whose text is code or markup that can load a tag: inline scripts, and
/// `<noscript>` (raw text to the parser, like a script's: GTM's iframe hides there).
/// Scripts whose type says they are data (`application/json`, `application/ld+json`) are
/// data, kept as they are. The text is judged chunk by chunk by [`InlineGate`].
pub const STRIP_INLINE: &str = r#"script:not([src]):not([type="application/json" i]):not([type="application/ld+json" i]), noscript"#;

/// Stylesheets in the page: their text is judged like a script's, and what would load from a
/// blocked destination is filtered out ([`elements::filter_css`]) rather than the whole sheet.
pub const STRIP_STYLE: &str = "style";

/// The origin's own loader of Google's tag, with consent: the worker then adds no second one.
pub const OWN_TAG_ELEMENTS: &str = r#"script[src*="googletagmanager.com/gtag/js" i], script[src*="googletagmanager.com/gtm.js" i]"#;

/// Inline scripts in `<head>` that may load Google's tag themselves ([`loads_google_tag`]).
pub const OWN_TAG_INLINE: &str = "head script:not([src])";

/// Longest inline script (in UTF-16 units, as the runtime counts) held back whole before it
/// is judged. Past it the held text is released if clean and the rest streams on, each chunk
/// checked with the end of the one before ([`MATCH_OVERLAP`]); a blocked host found then
/// drops the rest of the script, which leaves it cut short: a syntax error, so nothing of
/// it runs.
pub const MAX_HELD_SCRIPT: usize = 256 * 1024;

/// How much of the text before a chunk is checked with it, so a destination split across
/// chunks is still seen, however it is escaped: longer than the longest rule written with
/// eight characters a letter (`\u{0067}`, a CSS escape with its padding).
pub const MATCH_OVERLAP: usize = 512;

/// What to do with one chunk of an inline script's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkAction {
    /// Hold it back (remove it from the output; it is released later if the script is clean).
    Hold,
    /// Remove it for good.
    Drop,
    /// Let it through as it is.
    Pass,
    /// Replace it with everything held so far followed by itself.
    ReleaseHeld,
    /// Replace it with everything held so far followed by itself, without what would load
    /// from a blocked destination ([`elements::filter_css`]): a stylesheet.
    ReleaseFiltered,
}

/// The judgement of one inline script as its chunks stream by. Small and `Copy`, so the
/// worker keeps it in the page's state between the runtime's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InlineGate {
    /// UTF-16 units held back so far.
    pub held: usize,
    /// The held text was released (the script was too long to hold): chunks now stream.
    pub streaming: bool,
    /// A blocked destination was seen: everything from here is dropped (a script), or the
    /// whole text is filtered at its end (a stylesheet still held).
    pub dropping: bool,
    /// The text is a stylesheet: filtered, not dropped, when it is held whole.
    pub filter: bool,
}

impl InlineGate {
    /// Judges the next chunk: `window` is the chunk preceded by up to [`MATCH_OVERLAP`]
    /// units of the text before it, `chunk_len` the chunk's own length, `last` whether it
    /// ends the script. After the last chunk the gate is back to its default.
    pub fn next(
        &mut self,
        window: &str,
        chunk_len: usize,
        last: bool,
        blocked: &[Rule],
    ) -> ChunkAction {
        if !self.dropping && text_is_blocked(window, blocked) {
            self.dropping = true;
        }
        let fits = self.held + chunk_len <= MAX_HELD_SCRIPT;
        let action = if self.dropping && self.filter && !self.streaming && fits {
            // A stylesheet naming a blocked destination is held whole, then filtered.
            if last {
                ChunkAction::ReleaseFiltered
            } else {
                self.held += chunk_len;
                ChunkAction::Hold
            }
        } else if self.dropping {
            ChunkAction::Drop
        } else if self.streaming {
            ChunkAction::Pass
        } else if last || !fits {
            self.streaming = !last;
            if self.held == 0 {
                ChunkAction::Pass
            } else {
                ChunkAction::ReleaseHeld
            }
        } else {
            self.held += chunk_len;
            ChunkAction::Hold
        };
        if last {
            *self = Self {
                filter: self.filter,
                ..Self::default()
            };
        }
        action
    }
}

/// A `Link` response header without the links to blocked destinations (`preload`,
/// `preconnect`, `dns-prefetch`, `modulepreload`…: Cloudflare replays them as Early Hints, so
/// the browser would connect before the page arrives). `None` when no link is left; the value
/// unchanged when nothing is blocked.
#[must_use]
pub fn filter_link_header(value: &str, blocked: &[Rule], idna: &impl ToAscii) -> Option<String> {
    let kept: Vec<&str> = split_links(value)
        .into_iter()
        .map(str::trim)
        .filter(|link| !link.is_empty() && !link_is_blocked(link, blocked, idna))
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// A link's target judged as a URL; a malformed link (no brackets) naming a blocked
/// destination anywhere is dropped too.
fn link_is_blocked(link: &str, blocked: &[Rule], idna: &impl ToAscii) -> bool {
    match link.strip_prefix('<').and_then(|rest| rest.split_once('>')) {
        Some((url, _)) => url_is_blocked(url, blocked, idna),
        None => text_is_blocked(link, blocked),
    }
}

/// The links of a `Link` header: split at commas outside `<…>` and quotes.
fn split_links(value: &str) -> Vec<&str> {
    let mut links = Vec::new();
    let (mut start, mut in_target, mut in_quotes) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            '<' if !in_quotes => in_target = true,
            '>' if !in_quotes => in_target = false,
            '"' if !in_target => in_quotes = !in_quotes,
            ',' if !in_target && !in_quotes => {
                links.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    links.push(&value[start..]);
    links
}

/// True when an inline script loads Google's tag itself (the origin's own snippet).
#[must_use]
pub fn loads_google_tag(script: &str) -> bool {
    let script = script.to_ascii_lowercase();
    script.contains("googletagmanager.com/gtm.js")
        || script.contains("googletagmanager.com/gtag/js")
}

/// A CSP nonce from 16 random bytes (base64, as CSP wants it).
#[must_use]
pub fn nonce_from_random(bytes: [u8; 16]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The Consent Mode v2 script for the start of `<head>` of every rewritten page: defaults,
/// all denied, then (when anything is granted) the update from `choices`. Known on the
/// server, so no `wait_for_update` is needed; on a page where nothing is granted, a tag that
/// slips through anyway (proxied through the site's own domain, built at run time) starts
/// denied.
#[must_use]
pub fn consent_mode_script(choices: Choices, nonce: &str) -> String {
    let g = |on: bool| if on { "granted" } else { "denied" };
    format!(
        concat!(
            r#"<script nonce="{nonce}">window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}"#,
            "gtag('consent','default',{{ad_storage:'denied',ad_user_data:'denied',ad_personalization:'denied',analytics_storage:'denied',",
            "functionality_storage:'denied',personalization_storage:'denied',security_storage:'denied'}});",
            "{update}</script>"
        ),
        nonce = escape_html(nonce),
        update = if choices.any() {
            format!(
                "gtag('consent','update',{{analytics_storage:'{a}',ad_storage:'{m}',ad_user_data:'{m}',ad_personalization:'{m}'}});",
                a = g(choices.analytics),
                m = g(choices.marketing),
            )
        } else {
            String::new()
        },
    )
}

/// The tag loaders for the end of `<head>`: GA4's gtag.js and config, GTM's container.
#[must_use]
pub fn tag_loaders(plan: &PagePlan, nonce: &str) -> String {
    let nonce = escape_html(nonce);
    let mut out = String::new();
    if let Some(id) = &plan.ga4 {
        let id = escape_html(id);
        let _ = write!(
            out,
            r#"<script async nonce="{nonce}" src="https://www.googletagmanager.com/gtag/js?id={id}"></script><script nonce="{nonce}">gtag('js',new Date());gtag('config','{id}');</script>"#
        );
    }
    if let Some(id) = &plan.gtm {
        let id = escape_html(id);
        let _ = write!(
            out,
            concat!(
                r#"<script nonce="{nonce}">dataLayer.push({{'gtm.start':new Date().getTime(),event:'gtm.js'}});"#,
                "(function(d){{var j=d.createElement('script');j.async=true;j.nonce='{nonce}';",
                "j.src='https://www.googletagmanager.com/gtm.js?id={id}';d.head.appendChild(j);}})(document);</script>"
            ),
            nonce = nonce,
            id = id
        );
    }
    out
}

/// GTM's `<noscript>` iframe, right after `<body>`.
#[must_use]
pub fn gtm_noscript(container: &str) -> String {
    format!(
        r#"<noscript><iframe src="https://www.googletagmanager.com/ns.html?id={}" height="0" width="0" hidden title="Google Tag Manager"></iframe></noscript>"#,
        escape_html(container)
    )
}

/// A `Content-Security-Policy` header value, which may hold several policies (several
/// headers joined, or one header with commas): each is extended on its own by
/// [`extend_csp`], so the injected scripts are allowed by all of them. Nothing in any
/// policy is removed or loosened. Each directive that forbids everything and so stays as it
/// is ([`extend_csp_noting`]) is added to `forbidding`.
#[must_use]
pub fn extend_csp_header(
    header: &str,
    nonce: &str,
    plan: &PagePlan,
    forbidding: &mut Vec<String>,
) -> String {
    header
        .split(',')
        .map(|policy| extend_csp_noting(policy.trim(), nonce, plan, forbidding))
        .filter(|policy| !policy.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The CSP with the response's nonce (and the hosts the injected tags need) added where
/// the policy restricts them ([`extend_csp_noting`], the directives that forbid everything
/// not reported).
#[must_use]
pub fn extend_csp(policy: &str, nonce: &str, plan: &PagePlan) -> String {
    extend_csp_noting(policy, nonce, plan, &mut Vec::new())
}

/// The CSP with the response's nonce (and the hosts the injected tags need) added where
/// the policy restricts them. A directive the policy leaves unrestricted is left alone; one
/// that falls back to `default-src` is created from it; the nonce is not added where
/// `'unsafe-inline'` already allows inline code (a nonce would switch that off and break the
/// origin's own inline scripts). A directive whose source list is `'none'` (or empty, which
/// means the same) stays exactly as it is, and so does one that would be created from a
/// `default-src 'none'`: the worker never widens what the site forbade. The names of those
/// directives (as the policy writes them: `default-src` for one it falls back to) are added
/// to `forbidding`, once each: what the worker adds there cannot run.
#[must_use]
pub fn extend_csp_noting(
    policy: &str,
    nonce: &str,
    plan: &PagePlan,
    forbidding: &mut Vec<String>,
) -> String {
    let nonce_source = format!("'nonce-{nonce}'");
    let mut directives = directives_of(policy);
    let default = directives.iter().find(|(n, _)| n == "default-src").cloned();

    let mut script: Vec<&str> = vec![&nonce_source];
    if plan.injects_tags() {
        script.push("https://www.googletagmanager.com");
    }
    let mut extend = |directives: &mut Vec<(String, Vec<String>)>,
                      fallback: Option<&(String, Vec<String>)>,
                      name: &str,
                      sources: &[&str]| {
        if let Some(forbidding_one) = allow(directives, fallback, name, sources) {
            if !forbidding.contains(&forbidding_one) {
                forbidding.push(forbidding_one);
            }
        }
    };
    extend(&mut directives, default.as_ref(), "script-src", &script);
    extend(
        &mut directives,
        default.as_ref(),
        "style-src",
        &[&nonce_source],
    );
    // The `-elem` directives override the plain ones for elements: extended only where the
    // policy has them (otherwise the plain one, just extended, applies).
    extend(&mut directives, None, "script-src-elem", &script);
    extend(&mut directives, None, "style-src-elem", &[&nonce_source]);
    if plan.injects_tags() {
        let google = [
            "https://www.googletagmanager.com",
            "https://*.google-analytics.com",
            "https://*.analytics.google.com",
        ];
        extend(&mut directives, default.as_ref(), "connect-src", &google);
        extend(&mut directives, default.as_ref(), "img-src", &google);
    }
    if plan.gtm.is_some() {
        // A missing frame-src falls back to child-src before default-src.
        let frames_fallback = directives
            .iter()
            .find(|(n, _)| n == "child-src")
            .cloned()
            .or(default);
        extend(
            &mut directives,
            frames_fallback.as_ref(),
            "frame-src",
            &["https://www.googletagmanager.com"],
        );
    }
    directives
        .iter()
        .map(|(n, v)| {
            if v.is_empty() {
                n.clone()
            } else {
                format!("{n} {}", v.join(" "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A policy's directives: each name (lower case) with its sources.
fn directives_of(policy: &str) -> Vec<(String, Vec<String>)> {
    policy
        .split(';')
        .filter_map(|d| {
            // CSP separates with ASCII whitespace only: a vertical tab or a no-break space
            // is part of a (then malformed) source, never a separator.
            let mut words = d.split_ascii_whitespace();
            let name = words.next()?.to_ascii_lowercase();
            Some((name, words.map(str::to_owned).collect()))
        })
        .collect()
}

/// Adds `sources` to directive `name`, created from `fallback` (a directive's name and
/// sources) when the policy lacks it; nothing when neither is there. Returns the name of the
/// directive that forbids everything, when that is why nothing was added.
fn allow(
    directives: &mut Vec<(String, Vec<String>)>,
    fallback: Option<&(String, Vec<String>)>,
    name: &str,
    sources: &[&str],
) -> Option<String> {
    // Keywords are case-insensitive (`'UNSAFE-INLINE'` is `'unsafe-inline'`).
    let keyword = |v: &str, k: &str| v.eq_ignore_ascii_case(k);
    // `'none'` alone, or no source at all, matches nothing.
    let forbids_all = |values: &[String]| values.iter().all(|v| keyword(v, "'none'"));
    let index = match directives.iter().position(|(n, _)| n == name) {
        Some(index) => index,
        None => match fallback {
            None => return None,
            Some((fallback_name, values)) if forbids_all(values) => {
                return Some(fallback_name.clone())
            }
            Some((_, values)) => {
                directives.push((name.to_owned(), values.clone()));
                directives.len() - 1
            }
        },
    };
    let (_, values) = directives.get_mut(index)?;
    if forbids_all(values) {
        return Some(name.to_owned());
    }
    let prefixed = |v: &str, p: &str| {
        v.get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
    };
    let inline_allowed = values.iter().any(|v| keyword(v, "'unsafe-inline'"))
        && !values
            .iter()
            .any(|v| prefixed(v, "'nonce-") || prefixed(v, "'sha"));
    values.retain(|v| !keyword(v, "'none'"));
    for source in sources {
        if source.starts_with("'nonce-") && inline_allowed {
            continue;
        }
        if !values.iter().any(|v| v == source) {
            values.push((*source).to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests;
