//! Every request that is not the worker's own: fetched from the origin, and, when it is an
//! HTML page, rewritten as it streams.

use crate::banner_cache::banner;
use crate::html_rewriter::{Edit, HtmlRewriter};
use crate::origin::{fetch_from_origin, OriginError};
use crate::{respond, Served, Visit};
use consent_core::banner::BannerVariant;
use consent_core::config::Config;
use consent_core::consent::ConsentState;
use consent_core::i18n::Lang;
use consent_core::inject::settings_link;
use consent_core::pages::origin_unavailable;
use consent_core::rewrite::{
    treatment, ResponseHead, Treatment, HEADERS_DROPPED_WHEN_REWRITTEN, REWRITTEN_CACHE_CONTROL,
    REWRITTEN_VARY,
};
use std::collections::HashMap;
use wasm_bindgen::JsValue;
use web_sys::{Headers, Request, Response, ResponseInit};
use worker::Env;

thread_local! {
    /// The settings link per language, rendered and copied into JavaScript once per isolate.
    static SETTINGS_LINK: std::cell::RefCell<HashMap<Lang, JsValue>> = std::cell::RefCell::new(HashMap::new());
}

/// Serves a page from the origin.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub async fn serve(
    request: &Request,
    env: &Env,
    config: &Config,
    visit: &Visit,
) -> Result<Served, JsValue> {
    let response = match fetch_from_origin(env, &config.origin, request).await {
        Ok(response) => response,
        Err(err) => return origin_failure(visit.lang, &err),
    };
    let headers = response.headers();
    let content_type = headers.get("content-type").ok().flatten();
    let content_encoding = headers.get("content-encoding").ok().flatten();
    let head = ResponseHead {
        method: &request.method(),
        status: response.status(),
        content_type: content_type.as_deref(),
        content_encoding: content_encoding.as_deref(),
    };
    match treatment(&head) {
        Treatment::PassThrough => Ok(Served::ok(response)),
        Treatment::Rewrite => rewrite(&response, visit).map(Served::ok),
    }
}

fn origin_failure(lang: Lang, err: &OriginError) -> Result<Served, JsValue> {
    let (status, timed_out, detail) = match err {
        OriginError::Timeout => (504, true, "origin timed out".to_owned()),
        OriginError::Unreachable(why) => (502, false, format!("origin unreachable: {why}")),
        OriginError::Misconfigured(why) => (502, false, format!("origin misconfigured: {why}")),
    };
    Ok(Served::failed(
        respond::html(status, &origin_unavailable(lang, timed_out))?,
        detail,
    ))
}

/// Streams `response` through the rewriter with the page's injections.
fn rewrite(response: &Response, visit: &Visit) -> Result<Response, JsValue> {
    let lang = visit.lang;
    let headers = Headers::new_with_headers(&response.headers())?;
    for name in HEADERS_DROPPED_WHEN_REWRITTEN {
        headers.delete(name)?;
    }
    headers.set("cache-control", REWRITTEN_CACHE_CONTROL)?;
    headers.append("vary", REWRITTEN_VARY)?;
    let init = ResponseInit::new();
    init.set_status(response.status());
    init.set_status_text(&response.status_text());
    init.set_headers(&headers);
    let fresh = Response::new_with_opt_readable_stream_and_init(response.body().as_ref(), &init)?;

    let link = SETTINGS_LINK.with(|cache| {
        cache
            .borrow_mut()
            .entry(lang)
            .or_insert_with(|| JsValue::from_str(&settings_link(lang)))
            .clone()
    });
    let mut rewriter = HtmlRewriter::new()?.on("body", Edit::AppendHtml, &link)?;
    if visit.consent == ConsentState::Undecided {
        // First in the body, so it is first in the keyboard's tab order.
        let banner = banner(BannerVariant {
            lang,
            gpc: visit.gpc,
        })
        .render(&return_path(&visit.url));
        rewriter = rewriter.on("body", Edit::PrependHtml, &banner)?;
    }
    rewriter.transform(&fresh)
}

/// Path and query of the page, where the banner's form sends the browser back to.
fn return_path(url: &str) -> String {
    web_sys::Url::new(url).map_or_else(
        |_| "/".to_owned(),
        |u| format!("{}{}", u.pathname(), u.search()),
    )
}
