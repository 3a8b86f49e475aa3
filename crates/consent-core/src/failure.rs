//! Every way a request can be refused or fail, and what the visitor is told about it.
//!
//! One enum with meaning (in the spirit of daphne's `DapAbort`): each case knows its HTTP
//! status, its machine-readable code, a plain message in the visitor's language, the detail
//! that goes only to the log, and the page or JSON it is shown as. The worker has exactly
//! one function that turns a `Failure` into a response; nothing else picks a status.

use crate::consent::request::BadDecision;
use crate::i18n::Lang;

/// Why a request was refused (`4xx`) or could not be served (`5xx`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// No route of the worker's has this path.
    #[error("no such route")]
    NotFound,
    /// The route exists but not for this method; `allow` lists the ones it takes.
    #[error("method not allowed (allowed: {allow})")]
    MethodNotAllowed {
        /// The `Allow` header's value.
        allow: &'static str,
    },
    /// The dashboard was asked for without a Cloudflare Access token.
    #[error("no access token")]
    SignInRequired,
    /// A token that does not verify, or an identity without the role the route needs; the
    /// text is the reason, for the log and the audit log.
    #[error("{0}")]
    Forbidden(String),
    /// A state-changing request sent from another site (`Sec-Fetch-Site`, `Origin`).
    #[error("cross-site request refused")]
    CrossSite,
    /// A body over 4 KiB.
    #[error("body larger than 4 KiB")]
    TooLarge,
    /// Too many decisions from one network in a minute: nothing is written.
    #[error("rate limited")]
    TooManyRequests,
    /// A body the contract does not describe; the text says what is wrong with it.
    #[error("{0}")]
    BadRequest(String),
    /// Neither a form nor JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A key the route needs is not configured; the text names it (for the log).
    #[error("{0}")]
    NotConfigured(&'static str),
    /// The dashboard is closed: Cloudflare Access is not configured (and the origin is not
    /// the demo site). Never open by default.
    #[error("the dashboard is closed: Cloudflare Access is not configured")]
    DashboardClosed,
    /// A page was asked for and there is no origin to serve it from: `ORIGIN_URL` is not
    /// set, or the demo site was reached on a host that is not loopback. Never the demo.
    #[error("no origin: ORIGIN_URL is not set, or the demo site was reached off a loopback host")]
    NoOrigin,
    /// The visitor's records were asked for without a validly signed consent cookie.
    #[error("no valid consent cookie")]
    NoConsentCookie,
    /// Storage could not be reached or failed; the text is the detail for the log.
    #[error("{0}")]
    Unavailable(String),
    /// A consent whose proof could not be stored: nothing was switched on (no proof, no
    /// consent). `back` is the page to return to.
    #[error("{detail}")]
    NotRecorded {
        /// What failed, for the log.
        detail: String,
        /// The same-site page the decision was made on.
        back: String,
    },
    /// The origin could not be reached; the text is the runtime's reason.
    #[error("origin unreachable: {0}")]
    OriginUnreachable(String),
    /// The origin sent no response head in time.
    #[error("origin timed out")]
    OriginTimeout,
    /// Anything else: a runtime call that should not fail did.
    #[error("{0}")]
    Internal(String),
}

/// How a failure is shown: a page for a browser that navigated, JSON for a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    /// A whole HTML page in the site's look.
    Page,
    /// `{"error": code, "message": text}`.
    Json,
}

impl Presentation {
    /// What the client asked for: a page when it accepts HTML (a browser navigating, a form
    /// submitted without script) or when it asked for one of the site's own pages (the
    /// origin failed); JSON otherwise (the banner's `fetch`, scripts, tests).
    #[must_use]
    pub fn for_request(accept: Option<&str>, own_route: bool) -> Self {
        let accepts_html = accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/html"));
        if accepts_html || !own_route {
            Presentation::Page
        } else {
            Presentation::Json
        }
    }
}

impl Failure {
    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Failure::BadRequest(_) | Failure::UnsupportedMediaType => 400,
            Failure::NoConsentCookie | Failure::SignInRequired => 401,
            Failure::CrossSite | Failure::Forbidden(_) => 403,
            Failure::NotFound => 404,
            Failure::MethodNotAllowed { .. } => 405,
            Failure::TooLarge => 413,
            Failure::TooManyRequests => 429,
            Failure::Internal(_) => 500,
            Failure::OriginUnreachable(_) => 502,
            Failure::NotConfigured(_)
            | Failure::DashboardClosed
            | Failure::NoOrigin
            | Failure::Unavailable(_)
            | Failure::NotRecorded { .. } => 503,
            Failure::OriginTimeout => 504,
        }
    }

    /// The machine-readable code of the JSON answer.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Failure::NotFound => "not_found",
            Failure::MethodNotAllowed { .. } => "method_not_allowed",
            Failure::CrossSite => "cross_site",
            Failure::TooLarge => "too_large",
            Failure::TooManyRequests => "too_many_requests",
            Failure::BadRequest(_) => "bad_request",
            Failure::UnsupportedMediaType => "unsupported_media_type",
            Failure::NotConfigured(_) | Failure::DashboardClosed | Failure::NoOrigin => {
                "not_configured"
            }
            Failure::NoConsentCookie => "no_consent_cookie",
            Failure::SignInRequired => "sign_in_required",
            Failure::Forbidden(_) => "forbidden",
            Failure::Unavailable(_) => "unavailable",
            Failure::NotRecorded { .. } => "not_recorded",
            Failure::OriginUnreachable(_) => "origin_unreachable",
            Failure::OriginTimeout => "origin_timeout",
            Failure::Internal(_) => "internal",
        }
    }

    /// The plain message for the visitor, in their language.
    #[must_use]
    pub fn message(&self, lang: Lang) -> &'static str {
        let t = lang.texts();
        match self {
            Failure::NotFound => t.err_not_found,
            Failure::MethodNotAllowed { .. } => t.err_method,
            Failure::CrossSite => t.err_cross_site,
            Failure::TooLarge => t.err_too_large,
            Failure::TooManyRequests => t.err_rate_limited,
            Failure::BadRequest(_) => t.err_bad_request,
            Failure::UnsupportedMediaType => t.err_media_type,
            Failure::NotConfigured(_) => t.err_not_configured,
            Failure::DashboardClosed => t.err_dashboard_closed,
            Failure::NoOrigin => t.err_no_origin,
            Failure::NoConsentCookie => t.err_no_cookie,
            Failure::SignInRequired => t.err_sign_in,
            Failure::Forbidden(_) => t.err_forbidden,
            Failure::Unavailable(_) => t.err_unavailable,
            Failure::NotRecorded { .. } => t.save_failed_text,
            Failure::OriginUnreachable(_) => t.origin_down,
            Failure::OriginTimeout => t.origin_timeout,
            Failure::Internal(_) => t.err_internal,
        }
    }

    /// The heading of the failure's page.
    #[must_use]
    pub fn title(&self, lang: Lang) -> &'static str {
        let t = lang.texts();
        match self {
            Failure::NotRecorded { .. } => t.save_failed_title,
            Failure::OriginUnreachable(_) | Failure::OriginTimeout => t.origin_title,
            Failure::NotFound
            | Failure::MethodNotAllowed { .. }
            | Failure::SignInRequired
            | Failure::Forbidden(_)
            | Failure::CrossSite
            | Failure::TooLarge
            | Failure::TooManyRequests
            | Failure::BadRequest(_)
            | Failure::UnsupportedMediaType
            | Failure::NotConfigured(_)
            | Failure::DashboardClosed
            | Failure::NoOrigin
            | Failure::NoConsentCookie
            | Failure::Unavailable(_)
            | Failure::Internal(_) => t.error_title,
        }
    }

    /// The page's one way on: its address and its text.
    #[must_use]
    pub fn way_on(&self, lang: Lang) -> (&str, &'static str) {
        let t = lang.texts();
        match self {
            Failure::NotRecorded { back, .. } => (back.as_str(), t.back_to_page),
            // The same address again: the page the visitor asked for.
            Failure::OriginUnreachable(_) | Failure::OriginTimeout => ("", t.try_again),
            Failure::NotFound
            | Failure::MethodNotAllowed { .. }
            | Failure::SignInRequired
            | Failure::Forbidden(_)
            | Failure::CrossSite
            | Failure::TooLarge
            | Failure::TooManyRequests
            | Failure::BadRequest(_)
            | Failure::UnsupportedMediaType
            | Failure::NotConfigured(_)
            | Failure::DashboardClosed
            | Failure::NoOrigin
            | Failure::NoConsentCookie
            | Failure::Unavailable(_)
            | Failure::Internal(_) => ("/", t.back_home),
        }
    }

    /// Headers the answer carries besides the content type.
    #[must_use]
    pub fn headers(&self) -> Vec<(&'static str, &'static str)> {
        match self {
            Failure::MethodNotAllowed { allow } => vec![("allow", allow)],
            Failure::NotRecorded { .. } => vec![("retry-after", "5")],
            Failure::TooManyRequests => vec![("retry-after", "60")],
            Failure::NotFound
            | Failure::SignInRequired
            | Failure::Forbidden(_)
            | Failure::CrossSite
            | Failure::TooLarge
            | Failure::BadRequest(_)
            | Failure::UnsupportedMediaType
            | Failure::NotConfigured(_)
            | Failure::DashboardClosed
            | Failure::NoOrigin
            | Failure::NoConsentCookie
            | Failure::Unavailable(_)
            | Failure::OriginUnreachable(_)
            | Failure::OriginTimeout
            | Failure::Internal(_) => Vec::new(),
        }
    }

    /// What the log line's `error` field says: the detail of a failure on our side, `None`
    /// for a request the client got wrong (logged at `info`, as any other answer).
    #[must_use]
    pub fn log_detail(&self) -> Option<String> {
        (self.status() >= 500).then(|| self.to_string())
    }

    /// The JSON answer: `{"error": code, "message": plain words}`, and for a malformed
    /// request a `detail` saying what is wrong with it (in English, for developers).
    #[must_use]
    pub fn to_json(&self, lang: Lang) -> String {
        let mut body = serde_json::json!({ "error": self.code(), "message": self.message(lang) });
        if let Failure::BadRequest(detail) = self {
            body["detail"] = serde_json::Value::from(detail.as_str());
        }
        body.to_string()
    }
}

impl From<BadDecision> for Failure {
    fn from(bad: BadDecision) -> Self {
        match bad {
            BadDecision::TooLarge => Failure::TooLarge,
            BadDecision::UnsupportedMediaType => Failure::UnsupportedMediaType,
            BadDecision::Malformed(why) => Failure::BadRequest(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_failure() -> Vec<Failure> {
        vec![
            Failure::NotFound,
            Failure::MethodNotAllowed { allow: "GET, HEAD" },
            Failure::CrossSite,
            Failure::TooLarge,
            Failure::TooManyRequests,
            Failure::BadRequest("unknown action".into()),
            Failure::UnsupportedMediaType,
            Failure::NotConfigured("consent keys missing"),
            Failure::DashboardClosed,
            Failure::NoOrigin,
            Failure::NoConsentCookie,
            Failure::SignInRequired,
            Failure::Forbidden("not listed".into()),
            Failure::Unavailable("KV list failed".into()),
            Failure::NotRecorded {
                detail: "consent x: put failed".into(),
                back: "/precios".into(),
            },
            Failure::OriginUnreachable("connection refused".into()),
            Failure::OriginTimeout,
            Failure::Internal("oops".into()),
        ]
    }

    #[test]
    fn each_failure_has_the_status_the_contract_gives() {
        let statuses: Vec<u16> = every_failure().iter().map(Failure::status).collect();
        assert_eq!(
            statuses,
            [
                404, 405, 403, 413, 429, 400, 400, 503, 503, 503, 401, 401, 403, 503, 503, 502,
                504, 500
            ]
        );
    }

    #[test]
    fn messages_are_in_the_visitors_language_and_never_the_detail() {
        for failure in every_failure() {
            let (en, es) = (failure.message(Lang::En), failure.message(Lang::Es));
            assert!(!en.is_empty() && !es.is_empty() && en != es, "{failure:?}");
            for detail in [
                "KV list failed",
                "connection refused",
                "oops",
                "put failed",
                "not listed",
            ] {
                assert!(!en.contains(detail), "{failure:?} leaks its detail");
            }
        }
    }

    #[test]
    fn only_our_own_failures_are_logged_as_errors() {
        for failure in every_failure() {
            assert_eq!(
                failure.log_detail().is_some(),
                failure.status() >= 500,
                "{failure:?}"
            );
        }
        assert_eq!(
            Failure::OriginUnreachable("refused".into()).log_detail(),
            Some("origin unreachable: refused".into())
        );
    }

    #[test]
    fn json_names_the_code_and_says_what_is_malformed() {
        let json: serde_json::Value =
            serde_json::from_str(&Failure::BadRequest("unknown action".into()).to_json(Lang::Es))
                .unwrap();
        assert_eq!(json["error"], "bad_request");
        assert_eq!(json["message"], Lang::Es.texts().err_bad_request);
        assert_eq!(json["detail"], "unknown action");
        let unavailable: serde_json::Value =
            serde_json::from_str(&Failure::Unavailable("KV down".into()).to_json(Lang::En))
                .unwrap();
        assert!(
            unavailable.get("detail").is_none(),
            "server detail stays in the log"
        );
    }

    #[test]
    fn a_browser_gets_a_page_and_a_program_json() {
        let browser = Some("text/html,application/xhtml+xml,*/*;q=0.8");
        assert_eq!(Presentation::for_request(browser, true), Presentation::Page);
        assert_eq!(
            Presentation::for_request(Some("*/*"), true),
            Presentation::Json
        );
        assert_eq!(Presentation::for_request(None, true), Presentation::Json);
        assert_eq!(
            Presentation::for_request(None, false),
            Presentation::Page,
            "a site page that failed"
        );
    }

    #[test]
    fn the_way_on_goes_back_where_the_visitor_was() {
        let failed = Failure::NotRecorded {
            detail: String::new(),
            back: "/precios".into(),
        };
        assert_eq!(failed.way_on(Lang::En), ("/precios", "Back to the page"));
        assert_eq!(failed.headers(), [("retry-after", "5")]);
        assert_eq!(
            Failure::MethodNotAllowed { allow: "POST" }.headers(),
            [("allow", "POST")]
        );
    }
}
