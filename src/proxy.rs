//! Proxying the site: every request that is not the worker's own: fetched from the origin, stripped of the
//! analytics cookies the visitor has not allowed, and, when it is an HTML page, rewritten as
//! it streams: banner, settings link, Consent Mode and tags, or the removal of the origin's
//! own Google tags.

use crate::banners::banner;
use crate::error::WorkerError;
use crate::html_rewriter::{Edit, HtmlRewriter, PageState, TextEdit};
use crate::origin::{fetch_from_origin, OriginError};
use crate::{Served, Visit};
use consent_core::banner::BannerVariant;
use consent_core::config::Config;
use consent_core::consent::{Choices, ConsentState};
use consent_core::cookie_inventory::{allowed, filter_cookie_header, set_cookie_name};
use consent_core::failure::Failure;
use consent_core::gating::{
    consent_mode_script, extend_csp, gtm_noscript, nonce_from_random, plan, tag_loaders, PagePlan,
    Tags, OWN_TAG_ELEMENTS, OWN_TAG_INLINE, STRIP_ELEMENTS, STRIP_INLINE,
};
use consent_core::i18n::Lang;
use consent_core::rewrite::{
    treatment, ResponseHead, Treatment, HEADERS_DROPPED_WHEN_REWRITTEN, REWRITTEN_CACHE_CONTROL,
    REWRITTEN_VARY,
};
use consent_core::settings_link::settings_link;
use js_sys::{Array, Function, Reflect};
use std::collections::HashMap;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Headers, Request, Response, ResponseInit};
use worker::Env;

thread_local! {
    /// The settings link per language, rendered and copied into JavaScript once per isolate.
    static SETTINGS_LINK: std::cell::RefCell<HashMap<Lang, JsValue>> = std::cell::RefCell::new(HashMap::new());
}

/// Serves a page from the origin.
///
/// # Errors
/// The origin unreachable or too slow ([`Failure::OriginUnreachable`],
/// [`Failure::OriginTimeout`]), or the runtime failing.
pub async fn serve(
    request: &Request,
    env: &Env,
    config: &Config,
    visit: &Visit,
) -> Result<Served, WorkerError> {
    let choices = visit.consent.choices();
    let outbound = without_disallowed_cookies(request, visit.cookie.as_deref(), choices)?;
    let response = fetch_from_origin(
        env,
        &config.origin,
        outbound.as_ref().unwrap_or(request),
        &visit.path_and_query(),
    )
    .await
    .map_err(|e| match e {
        OriginError::Timeout => Failure::OriginTimeout,
        OriginError::Unreachable(why) => Failure::OriginUnreachable(why),
        OriginError::Misconfigured(why) => {
            Failure::OriginUnreachable(format!("misconfigured: {why}"))
        }
    })?;
    let response = without_disallowed_set_cookies(response, choices)?;
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
        Treatment::PassThrough => Ok(Served::ok(response)),
        Treatment::Rewrite => Ok(Served::ok(rewrite(&response, visit, config)?)),
    }
}

/// The request to send the origin, when it must differ from the visitor's: analytics
/// cookies the visitor has not allowed are not forwarded (rule 1: not read before opt-in).
fn without_disallowed_cookies(
    request: &Request,
    cookie: Option<&str>,
    choices: Choices,
) -> Result<Option<Request>, JsValue> {
    let Some(cookie) = cookie else {
        return Ok(None);
    };
    let filtered = filter_cookie_header(cookie, choices);
    if filtered.as_deref() == Some(cookie) {
        return Ok(None);
    }
    let copy = Request::new_with_request(request)?;
    match filtered {
        Some(kept) => copy.headers().set("cookie", &kept)?,
        None => copy.headers().delete("cookie")?,
    }
    Ok(Some(copy))
}

/// The origin's response without `Set-Cookie` headers for cookies the visitor has not
/// allowed. Untouched (and not copied) when there are none.
fn without_disallowed_set_cookies(
    response: Response,
    choices: Choices,
) -> Result<Response, JsValue> {
    let headers = response.headers();
    if headers.get("set-cookie")?.is_none() {
        return Ok(response);
    }
    let all = set_cookies(&headers)?;
    let keep: Vec<String> = all
        .iter()
        .filter(|c| set_cookie_name(c).is_none_or(|n| allowed(&n, choices)))
        .cloned()
        .collect();
    if keep.len() == all.len() {
        return Ok(response);
    }
    let copy = Headers::new_with_headers(&headers)?;
    copy.delete("set-cookie")?;
    for c in &keep {
        copy.append("set-cookie", c)?;
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

/// Streams `response` through the rewriter with the page's edits.
fn rewrite(response: &Response, visit: &Visit, config: &Config) -> Result<Response, JsValue> {
    let lang = visit.lang;
    let choices = visit.consent.choices();
    let page_plan = plan(
        choices,
        Tags {
            ga4: config.ga4_measurement_id.as_deref(),
            gtm: config.gtm_container_id.as_deref(),
        },
    );
    let undecided = visit.consent == ConsentState::Undecided;
    // A nonce only when this response carries scripts of ours.
    let nonce = (undecided || page_plan.injects_tags())
        .then(new_nonce)
        .transpose()?;

    let headers = Headers::new_with_headers(&response.headers())?;
    for name in HEADERS_DROPPED_WHEN_REWRITTEN {
        headers.delete(name)?;
    }
    headers.set("cache-control", REWRITTEN_CACHE_CONTROL)?;
    headers.append("vary", REWRITTEN_VARY)?;
    if let (Some(nonce), Some(csp)) = (&nonce, headers.get("content-security-policy")?) {
        headers.set(
            "content-security-policy",
            &extend_csp(&csp, nonce, &page_plan),
        )?;
    }
    let fresh = rebuild(response, &headers)?;

    let link = SETTINGS_LINK.with(|cache| {
        cache
            .borrow_mut()
            .entry(lang)
            .or_insert_with(|| JsValue::from_str(&settings_link(lang)))
            .clone()
    });
    let mut rewriter = strip_blocked(HtmlRewriter::new()?, &page_plan, choices)?;
    let mut banner_html = None;
    if let Some(nonce) = &nonce {
        if page_plan.injects_tags() {
            rewriter = add_tags(rewriter, &page_plan, choices, nonce)?;
        }
        if undecided {
            let variant = BannerVariant {
                lang,
                gpc: visit.gpc,
            };
            banner_html = Some(JsValue::from(
                banner(variant).render(&visit.path_and_query(), nonce),
            ));
        }
    }
    // The banner first in the body, so it is first in the keyboard's tab order; the link last.
    let body = PageState::for_body(banner_html.as_ref(), &link)?;
    rewriter = rewriter
        .on("body", Edit::Body, body.as_value())?
        .finish_body(&body)?;
    rewriter.transform(&fresh)
}

/// Removes what the origin wrote itself that the visitor has not allowed: tags, preconnects,
/// pixels, GTM's noscript frame, and inline scripts that load them. The selectors and the
/// matching are the domain's (`consent_core::gating`).
fn strip_blocked(
    rewriter: HtmlRewriter,
    page_plan: &PagePlan,
    choices: Choices,
) -> Result<HtmlRewriter, JsValue> {
    if page_plan.blocked.is_empty() {
        return Ok(rewriter);
    }
    let state = PageState::new("", "", choices)?;
    rewriter
        .on(STRIP_ELEMENTS, Edit::RemoveIfBlocked, state.as_value())?
        .on_text(STRIP_INLINE, TextEdit::DropBlockedScript, &state)
}

/// Consent Mode first in `<head>`; the tags at its end, unless the origin loads its own.
fn add_tags(
    rewriter: HtmlRewriter,
    page_plan: &PagePlan,
    choices: Choices,
    nonce: &str,
) -> Result<HtmlRewriter, JsValue> {
    let noscript = page_plan
        .gtm
        .as_deref()
        .map(gtm_noscript)
        .unwrap_or_default();
    let state = PageState::new(&tag_loaders(page_plan, nonce), &noscript, choices)?;
    let mut rewriter = rewriter
        .on(
            "head",
            Edit::PrependHtml,
            &JsValue::from_str(&consent_mode_script(choices, nonce)),
        )?
        .on(OWN_TAG_ELEMENTS, Edit::MarkOwnTag, state.as_value())?
        .on_text(OWN_TAG_INLINE, TextEdit::MarkOwnInlineTag, &state)?
        .on("head", Edit::LoadersBeforeEnd, state.as_value())?;
    if !noscript.is_empty() {
        rewriter = rewriter.on("body", Edit::NoscriptUnlessOwnTag, state.as_value())?;
    }
    Ok(rewriter)
}

/// A fresh CSP nonce from 16 random bytes.
fn new_nonce() -> Result<String, JsValue> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| JsValue::from_str(&format!("getrandom: {e}")))?;
    Ok(nonce_from_random(bytes))
}
