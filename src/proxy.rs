//! Proxying the site: every request that is not the worker's own is fetched from the origin,
//! stripped of the analytics cookies and links the visitor has not allowed, and, when it is
//! an HTML page, rewritten as it streams: Consent Mode, banner, settings link, tags, or the
//! removal of the origin's own Google tags. The JavaScript entry (`src/js/entry.mjs`) does
//! the I/O and places the edits; every decision is made here, in synchronous calls
//! (`crate::edge`).

use crate::banners::banner;
use crate::error::WorkerError;
use crate::platform::random_bytes;
use crate::Visit;
use consent_core::banner::BannerVariant;
use consent_core::config::Config;
use consent_core::consent::{Choices, ConsentState};
use consent_core::consent_cookie::cookie_names;
use consent_core::cookie_inventory::{
    allowed, expire_disallowed, filter_cookie_header, set_cookie_name,
};
use consent_core::failure::Failure;
use consent_core::gating::{
    blocked_hosts, consent_mode_script, extend_csp_header, filter_link_header, gtm_noscript,
    nonce_from_random, plan, tag_loaders, PagePlan, Tags,
};
use consent_core::i18n::Lang;
use consent_core::rewrite::{
    accept_encoding_is_readable, treatment, ResponseHead, Treatment,
    HEADERS_DROPPED_WHEN_REWRITTEN, ORIGIN_ACCEPT_ENCODING, REWRITTEN_CACHE_CONTROL,
    REWRITTEN_VARY,
};
use consent_core::settings_link::settings_link;
use js_sys::{Array, Function, Reflect};
use std::collections::HashMap;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Headers, Request, Response, ResponseInit};

thread_local! {
    /// The settings link per language for responses without a nonce, rendered and copied
    /// into JavaScript once per isolate.
    static SETTINGS_LINK: std::cell::RefCell<HashMap<Lang, JsValue>> = std::cell::RefCell::new(HashMap::new());
}

/// The CSP headers a rewritten page's nonce is added to (report-only too, so it does not
/// report the worker's own scripts).
const CSP_HEADERS: [&str; 2] = [
    "content-security-policy",
    "content-security-policy-report-only",
];

/// What the proxy does with the origin's response: the response to send and, for an HTML
/// page, the edits the JavaScript entry's rewriter applies as it streams
/// (`src/js/entry.mjs`).
#[derive(Debug)]
pub struct Prepared {
    /// The response to send (or to stream through the rewriter when `edits` is some).
    pub response: Response,
    /// The page's edits, when the response is rewritten.
    pub edits: Option<Edits>,
}

/// Everything a rewritten page gets, decided here; the rewriter only places it.
#[derive(Debug)]
pub struct Edits {
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
    /// The settings link, last in `<body>`.
    pub link: JsValue,
}

/// The request to send the origin: the visitor's own unless it must change (see
/// [`outbound_request`]).
///
/// # Errors
/// Only if the runtime refuses to copy the request.
pub fn outbound(request: &Request, visit: &Visit) -> Result<Request, JsValue> {
    Ok(outbound_request(request, visit, visit.consent.choices())?
        .unwrap_or_else(|| Clone::clone(request)))
}

/// The origin's response as the visitor receives it: disallowed cookies and links removed
/// on every response, and for an HTML page the headers and edits of its rewrite.
///
/// # Errors
/// An HTML page that cannot be gated ([`Failure::OriginUnreachable`]), or the runtime failing.
pub fn prepare(
    response: Response,
    visit: &Visit,
    config: &Config,
) -> Result<Prepared, WorkerError> {
    let choices = visit.consent.choices();
    let response = with_allowed_headers(response, visit, choices)?;
    let headers = response.headers();
    let content_type = headers.get("content-type").ok().flatten();
    let content_encoding = headers.get("content-encoding").ok().flatten();
    let head = ResponseHead {
        method: &visit.method,
        status: response.status(),
        content_type: content_type.as_deref(),
        content_encoding: content_encoding.as_deref(),
    };
    match treatment(&head) {
        Treatment::PassThrough => Ok(Prepared {
            response,
            edits: None,
        }),
        Treatment::Rewrite => rewrite(&response, visit, config),
        Treatment::Refuse => Err(Failure::OriginUnreachable(format!(
            "an HTML page in an encoding the rewriter cannot read ({}): not sent ungated",
            content_encoding.unwrap_or_default()
        ))
        .into()),
    }
}

/// The request to send the origin, when it must differ from the visitor's: analytics
/// cookies the visitor has not allowed are not forwarded (rule 1: not read before opt-in),
/// and only encodings the rewriter can read are asked for.
fn outbound_request(
    request: &Request,
    visit: &Visit,
    choices: Choices,
) -> Result<Option<Request>, JsValue> {
    let cookie = visit.cookie.as_deref();
    let filtered = cookie.and_then(|c| filter_cookie_header(c, choices));
    let cookie_changes = cookie.is_some() && filtered.as_deref() != cookie;
    let encoding_changes = !accept_encoding_is_readable(visit.accept_encoding.as_deref());
    if !cookie_changes && !encoding_changes {
        return Ok(None);
    }
    let copy = Request::new_with_request(request)?;
    let headers = copy.headers();
    headers.set("accept-encoding", ORIGIN_ACCEPT_ENCODING)?;
    if cookie_changes {
        match filtered {
            Some(kept) => headers.set("cookie", &kept)?,
            None => headers.delete("cookie")?,
        }
    }
    Ok(Some(copy))
}

/// The origin's response as the visitor may receive it, on every response, HTML or not:
/// no `Set-Cookie` for cookies the visitor has not allowed, no `Link` to a blocked host
/// (replayed as Early Hints), and an expiry for every such cookie the browser still holds
/// (a `_ga` written by script after a refusal is gone at the next request). Untouched, and
/// not copied, when nothing changes.
fn with_allowed_headers(
    response: Response,
    visit: &Visit,
    choices: Choices,
) -> Result<Response, JsValue> {
    let headers = response.headers();
    let present = visit
        .cookie
        .as_deref()
        .map(cookie_names)
        .unwrap_or_default();
    let expiries = expire_disallowed(&present, choices, &visit.host);
    let link = headers.get("link")?;
    let blocked = blocked_hosts(choices);
    let link_after = link.as_deref().map(|l| filter_link_header(l, blocked));
    let link_changes = link_after.as_ref().is_some_and(|after| *after != link);
    // Every Set-Cookie, read once (none is the common case: no copy of the list at all).
    let origin_cookies = if headers.get("set-cookie")?.is_some() {
        set_cookies(&headers)?
    } else {
        Vec::new()
    };
    let set_cookie_changes = origin_cookies
        .iter()
        .any(|c| set_cookie_name(c).is_some_and(|n| !allowed(&n, choices)));
    if expiries.is_empty() && !link_changes && !set_cookie_changes {
        return Ok(response);
    }
    let copy = Headers::new_with_headers(&headers)?;
    if set_cookie_changes {
        copy.delete("set-cookie")?;
        for c in origin_cookies
            .iter()
            .filter(|c| set_cookie_name(c).is_none_or(|n| allowed(&n, choices)))
        {
            copy.append("set-cookie", c)?;
        }
    }
    if let Some(after) = link_after.filter(|_| link_changes) {
        match after {
            Some(kept) => copy.set("link", &kept)?,
            None => copy.delete("link")?,
        }
    }
    for expiry in &expiries {
        copy.append("set-cookie", expiry)?;
    }
    rebuild(&response, &copy)
}

/// Every `Set-Cookie` value, separately (`Headers.getSetCookie()`).
fn set_cookies(headers: &Headers) -> Result<Vec<String>, JsValue> {
    let get: Function = Reflect::get(headers, &JsValue::from_str("getSetCookie"))?.dyn_into()?;
    let list: Array = get.call0(headers)?.dyn_into()?;
    Ok(list.iter().filter_map(|v| v.as_string()).collect())
}

fn rebuild(response: &Response, headers: &Headers) -> Result<Response, JsValue> {
    let init = ResponseInit::new();
    init.set_status(response.status());
    init.set_status_text(&response.status_text());
    init.set_headers(headers);
    Response::new_with_opt_readable_stream_and_init(response.body().as_ref(), &init)
}

/// The rewritten page's headers and edits.
fn rewrite(response: &Response, visit: &Visit, config: &Config) -> Result<Prepared, WorkerError> {
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
    let fresh = rebuild(
        response,
        &rewritten_headers(response, nonce.as_deref(), &page_plan)?,
    )?;
    let link = match &nonce {
        Some(nonce) => JsValue::from_str(&settings_link(lang, Some(nonce))),
        None => SETTINGS_LINK.with(|cache| {
            cache
                .borrow_mut()
                .entry(lang)
                .or_insert_with(|| JsValue::from_str(&settings_link(lang, None)))
                .clone()
        }),
    };
    let mut edits = Edits {
        choices,
        strip: !page_plan.blocked.is_empty(),
        consent_mode: None,
        loaders: None,
        noscript: None,
        banner: None,
        link,
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
            edits.banner = Some(banner(variant).render(&visit.path_and_query(), nonce));
        }
    }
    Ok(Prepared {
        response: fresh,
        edits: Some(edits),
    })
}

/// A rewritten page's headers: no length or validators, private caching, and every CSP
/// policy extended with the nonce.
fn rewritten_headers(
    response: &Response,
    nonce: Option<&str>,
    page_plan: &PagePlan,
) -> Result<Headers, JsValue> {
    let headers = Headers::new_with_headers(&response.headers())?;
    for name in HEADERS_DROPPED_WHEN_REWRITTEN {
        headers.delete(name)?;
    }
    headers.set("cache-control", REWRITTEN_CACHE_CONTROL)?;
    headers.append("vary", REWRITTEN_VARY)?;
    for name in CSP_HEADERS {
        // Several CSP headers arrive joined with commas: each policy is extended on its own.
        if let (Some(nonce), Some(csp)) = (nonce, headers.get(name)?) {
            headers.set(name, &extend_csp_header(&csp, nonce, page_plan))?;
        }
    }
    Ok(headers)
}
