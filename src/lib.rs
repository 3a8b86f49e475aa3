//! sivo-consent: the edge worker in front of sivocenter.com.
//!
//! This crate is the thin layer between the Workers platform and the `consent_core`
//! domain: it reads requests, the clock, KV and the origin, asks the domain what to do,
//! and turns the answers into responses. Every request ends in exactly one log line.

mod access;
mod admin;
mod audit_log;
mod banners;
mod config;
mod decision;
mod edge;
mod error;
mod kv_store;
mod platform;
mod proxy;
mod respond;
mod rights;
mod router;
mod stats;

use consent_core::config::SecretBytes;
use consent_core::consent::cookie::{read_consent_cookie, CookieRejection};
use consent_core::consent::request::is_cross_site;
use consent_core::consent::{ConsentState, Decision};
use consent_core::failure::Failure;
use consent_core::i18n::{negotiate, Lang};
use consent_core::log::{Level, RequestLog};
use consent_core::paths;
use error::WorkerError;
use web_sys::{Headers, Request, Response};
use worker::{event, Context, Env};

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
    /// The request's headers, read when needed.
    pub headers: Headers,
    /// True for a path under `/_consent` (the worker's own routes).
    pub is_own_route: bool,
    /// The visitor's language.
    pub lang: Lang,
    /// The decision their signed cookie carries, verified without any KV read.
    pub consent: ConsentState,
    /// The decision of a validly signed cookie whatever its age or policy: the visitor's
    /// consent id, which a new decision continues.
    pub signed: Option<Decision>,
    /// Whether the browser sent `Sec-GPC: 1` (Global Privacy Control).
    pub gpc: bool,
    /// The request's `Cookie` header, read once.
    pub cookie: Option<String>,
    /// Two-letter country from the platform (`request.cf.country`).
    pub country: Option<String>,
    /// Why the consent cookie, if any, counted as no decision (for the log).
    pub cookie_rejected: Option<CookieRejection>,
    /// `CF-Connecting-IP`, whole: only ever logged truncated.
    pub client_ip: Option<String>,
    /// `User-Agent` (the dashboard's device class).
    pub user_agent: Option<String>,
    /// `Accept-Encoding`.
    pub accept_encoding: Option<String>,
}

/// What the worker reads from a request, in one go: from the `Request` for its own routes
/// (`read_visit`), or handed over by the JavaScript entry in one call (`edge::page_for`).
#[derive(Debug, Default)]
pub struct RequestFacts {
    /// The full request URL.
    pub url: String,
    /// The request method.
    pub method: String,
    /// `Cookie`.
    pub cookie: Option<String>,
    /// `Accept-Language`.
    pub accept_language: Option<String>,
    /// `Sec-GPC`.
    pub sec_gpc: Option<String>,
    /// `Accept-Encoding`.
    pub accept_encoding: Option<String>,
    /// `CF-Connecting-IP`.
    pub client_ip: Option<String>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// `request.cf.country`.
    pub country: Option<String>,
}

impl Visit {
    /// A request header's value.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).ok().flatten()
    }

    /// The page's path and query.
    #[must_use]
    pub fn path_and_query(&self) -> String {
        format!("{}{}", self.path, self.search)
    }

    /// Refuses a state-changing request sent from another site (`Sec-Fetch-Site`, `Origin`).
    ///
    /// # Errors
    /// [`Failure::CrossSite`].
    pub fn ensure_same_site(&self) -> Result<(), WorkerError> {
        if is_cross_site(
            self.header("sec-fetch-site").as_deref(),
            self.header("origin").as_deref(),
            &self.host,
        ) {
            return Err(Failure::CrossSite.into());
        }
        Ok(())
    }
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
    /// What the answer adds to the statistics.
    pub tally: stats::Tally,
}

impl Served {
    /// A response that went as intended.
    #[must_use]
    pub fn ok(response: Response) -> Self {
        Self {
            response,
            level: Level::Info,
            error: None,
            consent_after: None,
            tally: stats::Tally::Nothing,
        }
    }

    /// The same answer, counted in the statistics as `tally` says.
    #[must_use]
    pub fn counted(self, tally: stats::Tally) -> Self {
        Self { tally, ..self }
    }

    /// The same answer, noting the consent state it leaves the visitor in.
    #[must_use]
    pub fn leaving(self, consent: &'static str) -> Self {
        Self {
            consent_after: Some(consent),
            ..self
        }
    }

    /// The same answer, logged as an error with `detail` when there is one: it went out,
    /// but something behind it failed (a refusal whose record is missing, …).
    #[must_use]
    pub fn with_failure(self, detail: Option<String>) -> Self {
        match detail {
            None => self,
            Some(detail) => Self {
                level: Level::Error,
                error: Some(detail),
                ..self
            },
        }
    }
}

/// The worker's own routes (`/_consent/…`), which wait on KV, D1 and the request body.
/// Everything else, the site's pages, is proxied by the JavaScript entry
/// (`src/js/entry.mjs`) with synchronous calls into [`edge`].
#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let now = platform::now_ms();
    let config = config::config(&env, now);
    let visit = read_visit(&request, &config, now);
    let outcome = if visit.is_own_route {
        router::handle(&request, &env, &config, &visit).await
    } else {
        Err(Failure::Internal("a site page reached the own-route handler".into()).into())
    };
    let served = match outcome {
        Ok(served) => served,
        Err(error) => error::answer(&error, &visit)?,
    };
    log_request(&visit, &served);
    stats::count(served.tally, &visit, &config, &env, &ctx);
    Ok(served.response)
}

/// Reads what every request needs, once.
fn read_visit(request: &Request, config: &consent_core::config::Config, now: u64) -> Visit {
    let headers = request.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let facts = RequestFacts {
        url: request.url(),
        method: request.method(),
        cookie: header("cookie"),
        accept_language: header("accept-language"),
        sec_gpc: header("sec-gpc"),
        accept_encoding: header("accept-encoding"),
        client_ip: header("cf-connecting-ip"),
        user_agent: header("user-agent"),
        country: platform::request_country(request),
    };
    visit_of(facts, headers, config, now)
}

/// The visit a request's facts make: its path, language and verified consent.
fn visit_of(
    facts: RequestFacts,
    headers: Headers,
    config: &consent_core::config::Config,
    now: u64,
) -> Visit {
    let parts = paths::split_request_url(&facts.url);
    let (path, search, host) = (
        parts.path.to_owned(),
        parts.search.to_owned(),
        parts.host.to_owned(),
    );
    let reading = read_consent_cookie(
        facts.cookie.as_deref(),
        config.signing_key.as_ref().map(SecretBytes::expose),
        &config.policy_version,
        now,
    );
    Visit {
        now,
        is_own_route: paths::is_own(&path),
        lang: negotiate(facts.accept_language.as_deref()),
        gpc: facts.sec_gpc.is_some_and(|v| v.trim() == "1"),
        url: facts.url,
        path,
        search,
        host,
        method: facts.method,
        headers,
        consent: reading.state,
        signed: reading.signed,
        cookie: facts.cookie,
        country: facts.country,
        cookie_rejected: reading.rejected,
        client_ip: facts.client_ip,
        user_agent: facts.user_agent,
        accept_encoding: facts.accept_encoding,
    }
}

/// Writes the request's one log line.
fn log_request(visit: &Visit, served: &Served) {
    log_line(
        visit,
        served.response.status(),
        served.level,
        served.error.as_deref(),
        served.consent_after,
        platform::now_ms(),
    );
}

/// Writes the request's one log line from its parts; `end_ms` is when the answer's head was
/// ready (its `ms` is the time from arrival to then).
fn log_line(
    visit: &Visit,
    status: u16,
    level: Level,
    error: Option<&str>,
    consent_after: Option<&'static str>,
    end_ms: u64,
) {
    let line = RequestLog {
        received_at: visit.now,
        method: &visit.method,
        path: &visit.path,
        status,
        client_ip: visit.client_ip.as_deref(),
        consent: consent_after.unwrap_or_else(|| visit.consent.log_label()),
        country: visit.country.as_deref(),
        duration_ms: end_ms.saturating_sub(visit.now),
        level,
        error,
        cookie_rejected: visit.cookie_rejected.map(|r| r.to_string()).as_deref(),
    }
    .to_json_line();
    let line = wasm_bindgen::JsValue::from(line);
    match level {
        Level::Error => web_sys::console::error_1(&line),
        _ => web_sys::console::log_1(&line),
    }
}
