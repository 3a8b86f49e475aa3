//! Proxying the site: every request that is not the worker's own is fetched from the origin,
//! stripped of the analytics cookies and links the visitor has not allowed, and, when it is
//! an HTML page, rewritten as it streams: Consent Mode, banner, settings link, tags, or the
//! removal of the origin's own Google tags. The JavaScript entry (`src/js/entry.mjs`) does
//! the I/O and places the edits; every decision is made here, in synchronous calls
//! (`crate::entry`).

use crate::isolate::{banner, settings_link_js};
use crate::platform::{random_bytes, RuntimeUrl};
use crate::visit::Visit;
use consent_core::config::Config;
use consent_core::consent::cookie::cookie_names;
use consent_core::consent::{Choices, ConsentState};
use consent_core::failure::Failure;
use consent_core::gate::cookies::{
    allowed, expire_disallowed, filter_cookie_header, set_cookie_name,
};
use consent_core::gate::rewrite::{
    accept_encoding_is_readable, sniffed as sniffed_treatment, treatment, ResponseHead, Rewrite,
    Treatment, HEADERS_DROPPED_WHEN_REWRITTEN, ORIGIN_ACCEPT_ENCODING, REENCODED_AS,
    REWRITTEN_CACHE_CONTROL, REWRITTEN_VARY,
};
use consent_core::gate::{
    blocked_rules, consent_mode_script, extend_csp_header, filter_link_header, gtm_noscript,
    nonce_from_random, plan, tag_loaders, PagePlan, Tags,
};
use consent_core::log::{event_line, Level};
use consent_core::visitor::banner::BannerVariant;
use consent_core::visitor::settings_link::settings_link_style;
use wasm_bindgen::JsValue;
use web_sys::Request;

/// The facts about the origin's response that decide what the visitor gets, read by the
/// entry in one go.
#[derive(Debug, Default)]
pub struct OriginHead {
    /// Its status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Link`.
    pub link: Option<String>,
    /// Every `Set-Cookie` (empty when none).
    pub set_cookies: Vec<String>,
    /// `Content-Security-Policy`.
    pub csp: Option<String>,
    /// `Content-Security-Policy-Report-Only`.
    pub csp_report_only: Option<String>,
}

/// One change to the response's headers (`Headers.set`, `append` or `delete`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    /// Replace every value of the header.
    Set(&'static str, String),
    /// Add a value.
    Append(&'static str, String),
    /// Remove the header.
    Delete(&'static str),
}

/// What the visitor gets for the origin's response.
#[derive(Debug)]
pub enum Prepared {
    /// The response as it came, or with these header changes (none: not even copied).
    Send(Vec<HeaderEdit>),
    /// The page with these header changes, streamed through the rewriter with these edits.
    Rewrite(Vec<HeaderEdit>, Edits),
    /// Undecided until the body's first bytes are seen ([`sniffed`]): the header changes so
    /// far, and whether the entry decodes the body as gzip first.
    Sniff(Vec<HeaderEdit>, bool),
}

/// Everything a rewritten page gets, decided here; the rewriter only places it.
#[derive(Debug)]
pub struct Edits {
    /// The entry decodes the body as gzip before the rewriter reads it (`Rewrite::gunzip`).
    pub gunzip: bool,
    /// The visitor's choices, which decide what is stripped.
    pub choices: Choices,
    /// Strip what the origin wrote itself that the visitor has not allowed.
    pub strip: bool,
    /// Consent Mode's defaults, first in `<head>`, when anything is not granted or tags go in.
    pub consent_mode: Option<String>,
    /// The tag loaders for the end of `<head>` (with consent), unless the page loads its own.
    pub loaders: Option<String>,
    /// GTM's noscript frame after `<body>`, unless the page loads its own tag.
    pub noscript: Option<String>,
    /// The banner, first in `<body>`, for a visitor who has not decided.
    pub banner: Option<String>,
    /// The stylesheets of the banner (with it) and of the settings link, for `<head>`.
    pub style: Option<String>,
    /// The settings link, last in `<body>`.
    pub link: JsValue,
}

/// The request to send the origin when [`outbound_changes`]: the visitor's own with analytics
/// cookies the visitor has not allowed removed (rule 1: not read before opt-in) and only
/// encodings the rewriter can read asked for.
///
/// # Errors
/// Only if the runtime refuses to copy the request.
pub fn outbound(request: &Request, visit: &Visit) -> Result<Request, JsValue> {
    let copy = Request::new_with_request(request)?;
    let headers = copy.headers();
    headers.set("accept-encoding", ORIGIN_ACCEPT_ENCODING)?;
    if let Some(cookie) = visit.cookie.as_deref() {
        match filter_cookie_header(cookie, visit.consent.choices()) {
            Some(kept) if kept == cookie => {}
            Some(kept) => headers.set("cookie", &kept)?,
            None => headers.delete("cookie")?,
        }
    }
    Ok(copy)
}

/// True when the request to the origin must differ from the visitor's: it carries cookies
/// the visitor has not allowed, or asks for an encoding the rewriter cannot read.
#[must_use]
pub fn outbound_changes(visit: &Visit) -> bool {
    let cookie = visit.cookie.as_deref();
    let cookie_changes = cookie
        .is_some_and(|c| filter_cookie_header(c, visit.consent.choices()).as_deref() != Some(c));
    cookie_changes || !accept_encoding_is_readable(visit.accept_encoding.as_deref())
}

/// What the visitor gets for the origin's response: disallowed cookies and links removed
/// on every response, and for an HTML page the headers and edits of its rewrite.
///
/// # Errors
/// An HTML page that cannot be gated ([`Failure::OriginUnreachable`]), or no randomness for
/// the nonce.
pub fn prepare(head: &OriginHead, visit: &Visit, config: &Config) -> Result<Prepared, Failure> {
    let choices = visit.consent.choices();
    let mut edits = allowed_header_edits(head, visit, choices);
    let response_head = ResponseHead {
        method: &visit.method,
        status: head.status,
        content_type: head.content_type.as_deref(),
        content_encoding: head.content_encoding.as_deref(),
    };
    match treatment(&response_head) {
        Treatment::PassThrough => Ok(Prepared::Send(edits)),
        Treatment::Rewrite(how) => {
            let page = rewrite(head, visit, config, &how, &mut edits)?;
            Ok(Prepared::Rewrite(edits, page))
        }
        Treatment::Sniff { gunzip } => Ok(Prepared::Sniff(edits, gunzip)),
        Treatment::Refuse => Err(Failure::OriginUnreachable(format!(
            "an HTML page in an encoding the rewriter cannot read ({}): not sent ungated",
            head.content_encoding.as_deref().unwrap_or_default()
        ))),
    }
}

/// What the visitor gets for a response [`prepare`] left to be sniffed, from the body's first
/// bytes (decoded): the page rewritten when they are HTML, otherwise the response with the
/// header changes so far (`edits`), and when the entry decoded it, labelled as it now goes.
///
/// # Errors
/// As [`prepare`]'s.
pub fn sniffed(
    head: &OriginHead,
    mut edits: Vec<HeaderEdit>,
    gunzip: bool,
    prefix: &[u8],
    visit: &Visit,
    config: &Config,
) -> Result<Prepared, Failure> {
    if let Some(how) = sniffed_treatment(prefix, gunzip) {
        let page = rewrite(head, visit, config, &how, &mut edits)?;
        return Ok(Prepared::Rewrite(edits, page));
    }
    if gunzip {
        edits.push(HeaderEdit::Set("content-encoding", REENCODED_AS.to_owned()));
        edits.push(HeaderEdit::Delete("content-length"));
    }
    Ok(Prepared::Send(edits))
}

/// The header changes every response gets, HTML or not: no `Set-Cookie` for cookies the
/// visitor has not allowed, no `Link` to a blocked host (replayed as Early Hints), and an
/// expiry for every such cookie the browser still holds (a `_ga` written by script after a
/// refusal is gone at the next request). None, the common case, leaves the response
/// untouched and not copied.
fn allowed_header_edits(head: &OriginHead, visit: &Visit, choices: Choices) -> Vec<HeaderEdit> {
    let mut edits = Vec::new();
    if head
        .set_cookies
        .iter()
        .any(|c| set_cookie_name(c).is_some_and(|n| !allowed(&n, choices)))
    {
        edits.push(HeaderEdit::Delete("set-cookie"));
        for c in head
            .set_cookies
            .iter()
            .filter(|c| set_cookie_name(c).is_none_or(|n| allowed(&n, choices)))
        {
            edits.push(HeaderEdit::Append("set-cookie", c.clone()));
        }
    }
    if let Some(link) = &head.link {
        match filter_link_header(link, blocked_rules(choices), &RuntimeUrl) {
            Some(kept) if kept == *link => {}
            Some(kept) => edits.push(HeaderEdit::Set("link", kept)),
            None => edits.push(HeaderEdit::Delete("link")),
        }
    }
    let present = visit
        .cookie
        .as_deref()
        .map(cookie_names)
        .unwrap_or_default();
    for expiry in expire_disallowed(&present, choices, &visit.host) {
        edits.push(HeaderEdit::Append("set-cookie", expiry));
    }
    edits
}

/// The rewritten page's headers and edits.
fn rewrite(
    head: &OriginHead,
    visit: &Visit,
    config: &Config,
    how: &Rewrite,
    header_edits: &mut Vec<HeaderEdit>,
) -> Result<Edits, Failure> {
    let lang = visit.lang;
    let choices = visit.consent.choices();
    let page_plan = plan(
        choices,
        Tags {
            ga4: config.ga4_measurement_id.as_deref(),
            gtm: config.gtm_container_id.as_deref(),
        },
    );
    // Consent Mode's defaults wherever anything is not granted (and before our tags): a tag
    // that slips through then starts denied. A page with everything granted and no tag of
    // ours gets no script, and its CSP is left alone.
    let consent_mode = choices != Choices::ALL || page_plan.injects_tags();
    let nonce = consent_mode
        .then(|| random_bytes().map(nonce_from_random))
        .transpose()?;
    rewritten_header_edits(
        head,
        how,
        nonce.as_deref(),
        &page_plan,
        header_edits,
        visit.now,
    );

    let mut edits = Edits {
        gunzip: how.gunzip,
        choices,
        strip: !page_plan.blocked.is_empty(),
        consent_mode: None,
        loaders: None,
        noscript: None,
        banner: None,
        style: Some(settings_link_style(nonce.as_deref())),
        link: settings_link_js(lang),
    };
    if let Some(nonce) = &nonce {
        edits.consent_mode = Some(consent_mode_script(choices, nonce));
        if page_plan.injects_tags() {
            edits.loaders = Some(tag_loaders(&page_plan, nonce));
            edits.noscript = page_plan.gtm.as_deref().map(gtm_noscript);
        }
        if visit.consent == ConsentState::Undecided {
            let variant = BannerVariant {
                lang,
                gpc: visit.gpc,
            };
            let banner = banner(variant);
            edits.banner = Some(banner.render(&visit.path_and_query(), nonce));
            edits.style = Some(banner.style(nonce) + edits.style.as_deref().unwrap_or_default());
        }
    }
    Ok(edits)
}

/// A rewritten page's headers: no length or validators, private caching, its type and
/// encoding when they change (an XHTML or sniffed page goes out as `text/html`, a page the
/// entry decoded as gzip), and every CSP policy extended with the nonce (several CSP
/// headers arrive joined with commas: each policy is extended on its own; report-only too,
/// so it does not report our scripts). A directive of the enforced policy that forbids
/// everything stays so, and is logged once per isolate (`now`: the request's arrival).
fn rewritten_header_edits(
    head: &OriginHead,
    how: &Rewrite,
    nonce: Option<&str>,
    page_plan: &PagePlan,
    edits: &mut Vec<HeaderEdit>,
    now: u64,
) {
    edits.extend(HEADERS_DROPPED_WHEN_REWRITTEN.map(HeaderEdit::Delete));
    if let Some(content_type) = &how.content_type {
        edits.push(HeaderEdit::Set("content-type", content_type.clone()));
    }
    if how.gunzip {
        edits.push(HeaderEdit::Set("content-encoding", REENCODED_AS.to_owned()));
    }
    edits.push(HeaderEdit::Set(
        "cache-control",
        REWRITTEN_CACHE_CONTROL.to_owned(),
    ));
    edits.push(HeaderEdit::Append("vary", REWRITTEN_VARY.to_owned()));
    let Some(nonce) = nonce else { return };
    for (name, csp) in [
        ("content-security-policy", &head.csp),
        ("content-security-policy-report-only", &head.csp_report_only),
    ] {
        if let Some(csp) = csp {
            let mut forbidding = Vec::new();
            let extended = extend_csp_header(csp, nonce, page_plan, &mut forbidding);
            if name == "content-security-policy" {
                note_forbidding_csp(&forbidding, now);
            }
            edits.push(HeaderEdit::Set(name, extended));
        }
    }
}

/// Logs, once per isolate, that the site's CSP forbids everything in a directive the
/// worker's additions need (the tags, Consent Mode, the banner's style or script): they
/// cannot run on its pages, and the worker does not widen the policy to make them.
fn note_forbidding_csp(forbidding: &[String], now: u64) {
    if forbidding.is_empty() || crate::isolate::with(|i| i.csp_forbidding_noted.replace(true)) {
        return;
    }
    let fields = serde_json::json!({ "directives": forbidding });
    worker::console_log!(
        "{}",
        event_line(
            now,
            Level::Warn,
            "the site's Content-Security-Policy forbids what the worker adds: left as it is",
            fields
        )
    );
}
