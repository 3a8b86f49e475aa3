//! sivo-consent: the edge worker in front of sivocenter.com.
//!
//! This crate is the thin layer between the Workers platform and the `consent_core`
//! domain: it reads requests, the clock, KV and the origin, asks the domain what to do,
//! and turns the answers into responses. Every request ends in exactly one log line.

mod banner_cache;
mod consent_store;
mod decision;
mod html_rewriter;
mod origin;
mod page;
mod respond;
mod rights;
mod routes;
mod settings;

use consent_core::consent::ConsentState;
use consent_core::consent_cookie::state_from_cookie_header;
use consent_core::i18n::{negotiate, Lang};
use consent_core::log::{Level, RequestLog};
use wasm_bindgen::JsValue;
use web_sys::{Request, Response};
use worker::{event, Context, Date, Env};

/// Every path under this prefix belongs to the worker (CONTRACT.md, "Routes").
pub const OWN_PREFIX: &str = "/_consent";

/// What the worker knows about the request it is answering.
#[derive(Debug)]
pub struct Visit {
    /// Arrival time, ms since the epoch.
    pub now: u64,
    /// The full request URL.
    pub url: String,
    /// Its path.
    pub path: String,
    /// Its query string, with the `?`, or empty.
    pub search: String,
    /// Its host, with the port if any.
    pub host: String,
    /// The request method.
    pub method: String,
    /// The visitor's language.
    pub lang: Lang,
    /// The decision their signed cookie carries, verified without any KV read.
    pub consent: ConsentState,
    /// Whether the browser sent `Sec-GPC: 1` (Global Privacy Control).
    pub gpc: bool,
    /// Two-letter country from the platform.
    pub country: Option<String>,
    /// The request's `Cookie` header, read once.
    pub cookie: Option<String>,
    /// Why the consent cookie, if any, counted as no decision (for the log).
    pub cookie_rejected: Option<consent_core::consent_cookie::CookieRejection>,
}

/// An answer and what the log should say about it.
#[derive(Debug)]
pub struct Served {
    /// The response to send.
    pub response: Response,
    /// The log line's level.
    pub level: Level,
    /// A safe description of a failure, for the log.
    pub error: Option<String>,
    /// The consent state this answer leaves the visitor in, when it changed it.
    pub consent_after: Option<&'static str>,
}

impl Served {
    /// A response that went as intended.
    pub fn ok(response: Response) -> Self {
        Self {
            response,
            level: Level::Info,
            error: None,
            consent_after: None,
        }
    }

    /// A response that reports a failure.
    pub fn failed(response: Response, error: impl Into<String>) -> Self {
        Self {
            response,
            level: Level::Error,
            error: Some(error.into()),
            consent_after: None,
        }
    }
}

#[event(fetch)]
async fn fetch(request: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let now = now_ms();
    let config = settings::config(&env, now);
    let url = request.url();
    let (path, search, host) = match web_sys::Url::new(&url) {
        Ok(u) => (u.pathname(), u.search(), u.host()),
        Err(_) => ("/".to_owned(), String::new(), String::new()),
    };
    let headers = request.headers();
    let lang = negotiate(headers.get("accept-language").ok().flatten().as_deref());
    let cookie = headers.get("cookie").ok().flatten();
    let (consent, cookie_rejected) = state_from_cookie_header(
        cookie.as_deref(),
        config.signing_key.as_ref().map(|k| k.expose()),
        &config.policy_version,
        now,
    );
    let gpc = headers
        .get("sec-gpc")
        .ok()
        .flatten()
        .is_some_and(|v| v.trim() == "1");
    let visit = Visit {
        now,
        url,
        path,
        search,
        host,
        method: request.method(),
        lang,
        consent,
        gpc,
        country: request_country(&request),
        cookie,
        cookie_rejected,
    };

    let outcome = if visit.path == OWN_PREFIX || visit.path.starts_with("/_consent/") {
        routes::handle(&request, &env, &config, &visit).await
    } else {
        page::serve(&request, &env, &config, &visit).await
    };
    let served = match outcome {
        Ok(served) => served,
        Err(err) => {
            let detail = origin::describe(&err);
            Served::failed(
                respond::json_error(500, "internal", "Something went wrong on our side.")?,
                detail,
            )
        }
    };

    let line = RequestLog {
        received_at: now,
        method: &visit.method,
        url: &visit.url,
        status: served.response.status(),
        client_ip: headers.get("cf-connecting-ip").ok().flatten().as_deref(),
        consent: served
            .consent_after
            .unwrap_or_else(|| visit.consent.log_label()),
        country: visit.country.as_deref(),
        duration_ms: now_ms().saturating_sub(now),
        level: served.level,
        error: served.error.as_deref(),
        cookie_rejected: visit.cookie_rejected.map(|r| r.to_string()).as_deref(),
    }
    .to_json_line();
    match served.level {
        Level::Error => worker::console_error!("{line}"),
        _ => worker::console_log!("{line}"),
    }
    Ok(served.response)
}

/// Milliseconds since the epoch, from the runtime's clock.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn now_ms() -> u64 {
    // `Date.now()` is a positive whole number of ms well inside u64.
    Date::now().as_millis()
}

/// The visitor's country as the platform gives it (`request.cf.country`), if any.
fn request_country(request: &Request) -> Option<String> {
    let cf = js_sys::Reflect::get(request, &JsValue::from_str("cf")).ok()?;
    if cf.is_undefined() || cf.is_null() {
        return None;
    }
    js_sys::Reflect::get(&cf, &JsValue::from_str("country"))
        .ok()?
        .as_string()
}
