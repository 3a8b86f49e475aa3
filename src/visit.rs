//! What the worker knows about the request it is answering: read once, when the request
//! arrives, and the one source of its facts for every route and the log line.

use crate::failure::WorkerError;
use crate::protocol::fields;
use consent_core::config::{Config, SecretBytes};
use consent_core::consent::cookie::{read_consent_cookie, CookieRejection};
use consent_core::consent::request::is_cross_site;
use consent_core::consent::{ConsentState, Decision};
use consent_core::failure::Failure;
use consent_core::i18n::{negotiate, Lang};
use consent_core::ip::truncate_ip;
use consent_core::paths;
use web_sys::Headers;

/// One request, as the worker reads it.
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
    /// True for a path under `/_consent` (the worker's own routes).
    pub is_own_route: bool,
    /// The visitor's language.
    pub lang: Lang,
    /// The decision their signed cookie carries, verified without any KV read.
    pub consent: ConsentState,
    /// The decision of a validly signed cookie whatever its age or policy: the visitor's
    /// consent id, which a new decision continues.
    pub signed: Option<Decision>,
    /// Why the consent cookie, if any, counted as no decision (for the log).
    pub cookie_rejected: Option<CookieRejection>,
    /// `Sec-GPC` as sent (sealed in a proof record).
    pub sec_gpc: Option<String>,
    /// Whether it says `1` (Global Privacy Control).
    pub gpc: bool,
    /// `Cookie`.
    pub cookie: Option<String>,
    /// `Accept-Encoding`.
    pub accept_encoding: Option<String>,
    /// `CF-Connecting-IP`, whole: only ever logged or stored truncated ([`Visit::network`]).
    pub client_ip: Option<String>,
    /// `User-Agent` (the dashboard's device class, the proof record).
    pub user_agent: Option<String>,
    /// Two-letter country from the platform (`request.cf.country`).
    pub country: Option<String>,
    /// The request's headers, for the few only some routes read ([`Header`]).
    headers: Headers,
}

/// The headers only some of the worker's own routes read, through [`Visit::header`]. Every
/// other fact has its field in [`Visit`], read once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// `Accept`: a page or JSON for an error.
    Accept,
    /// `Content-Length` of a decision or an erasure.
    ContentLength,
    /// `Content-Type` of a decision.
    ContentType,
    /// `Sec-Fetch-Site`, against cross-site posts.
    SecFetchSite,
    /// `Origin`, likewise.
    Origin,
    /// `Cf-Access-Jwt-Assertion`: the dashboard's Access token.
    AccessToken,
    /// `Sec-Purpose`: a prefetch or prerender is not a page view (read only for a page view).
    SecPurpose,
    /// `Purpose`: its older form.
    Purpose,
}

impl Header {
    fn name(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::ContentLength => "content-length",
            Self::ContentType => "content-type",
            Self::SecFetchSite => "sec-fetch-site",
            Self::Origin => "origin",
            Self::AccessToken => "cf-access-jwt-assertion",
            Self::SecPurpose => "sec-purpose",
            Self::Purpose => "purpose",
        }
    }
}

impl Visit {
    /// Reads a request once. `facts` is its URL, method, the headers of
    /// [`crate::protocol::REQUEST_HEADERS`] and the country, joined as the protocol says (an
    /// absent one empty); `headers` the request's, for the rare others. The consent cookie is
    /// verified here (no KV read). `now` is the arrival time (ms since the epoch).
    #[must_use]
    pub fn read(facts: &str, headers: Headers, config: &Config, now: u64) -> Self {
        // The order of crate::protocol::REQUEST_HEADERS, between the method and the country.
        let [url, method, cookie, accept_language, sec_gpc, accept_encoding, client_ip, user_agent, country] =
            fields::<9>(facts).map(|f| f.map(str::to_owned));
        let url = url.unwrap_or_default();
        let parts = paths::split_request_url(&url);
        let (path, search, host) = (
            parts.path.to_owned(),
            parts.search.to_owned(),
            parts.host.to_owned(),
        );
        let reading = read_consent_cookie(
            cookie.as_deref(),
            config.signing_key.as_ref().map(SecretBytes::expose),
            &config.policy_version,
            now,
        );
        Self {
            now,
            is_own_route: paths::is_own(&path),
            lang: negotiate(accept_language.as_deref()),
            gpc: sec_gpc.as_deref().is_some_and(|v| v.trim() == "1"),
            url,
            path,
            search,
            host,
            method: method.unwrap_or_default(),
            consent: reading.state,
            signed: reading.signed,
            cookie_rejected: reading.rejected,
            sec_gpc,
            cookie,
            accept_encoding,
            client_ip,
            user_agent,
            country,
            headers,
        }
    }

    /// One of the headers only some routes read.
    #[must_use]
    pub fn header(&self, header: Header) -> Option<String> {
        self.headers.get(header.name()).ok().flatten()
    }

    /// The page's path and query.
    #[must_use]
    pub fn path_and_query(&self) -> String {
        format!("{}{}", self.path, self.search)
    }

    /// The visitor's network: their address truncated (IPv4 /24, IPv6 /48), or `unknown`.
    /// Never the whole address.
    #[must_use]
    pub fn network(&self) -> String {
        self.client_ip
            .as_deref()
            .and_then(truncate_ip)
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }

    /// Refuses a state-changing request sent from another site (`Sec-Fetch-Site`, `Origin`).
    ///
    /// # Errors
    /// [`Failure::CrossSite`].
    pub fn ensure_same_site(&self) -> Result<(), WorkerError> {
        if is_cross_site(
            self.header(Header::SecFetchSite).as_deref(),
            self.header(Header::Origin).as_deref(),
            &self.host,
        ) {
            return Err(Failure::CrossSite.into());
        }
        Ok(())
    }
}
