//! The paths the worker answers itself (README, "Routes owned by the worker"): one list,
//! used by the router, the banner and the pages, so a link cannot point elsewhere than the
//! route that serves it.

/// Every path under this prefix belongs to the worker; everything else goes to the origin.
pub const PREFIX: &str = "/_consent";
/// `POST`: record a decision.
pub const DECIDE: &str = "/_consent";
/// `GET`: the decision the visitor's cookie carries.
pub const STATE: &str = "/_consent/state";
/// `GET`: review, change or withdraw the decision.
pub const PREFERENCES: &str = "/_consent/preferences";
/// The preferences page confirming a saved decision.
pub const PREFERENCES_SAVED: &str = "/_consent/preferences?saved";
/// The preferences page confirming an erasure.
pub const PREFERENCES_ERASED: &str = "/_consent/preferences?erased";
/// `GET`: download the visitor's records; `DELETE` (or the form's `POST`): erase them.
pub const RECORDS: &str = "/_consent/records";
/// `GET`: the cookie policy.
pub const COOKIES: &str = "/_consent/cookies";
/// `GET`: the configuration summary.
pub const HEALTH: &str = "/_consent/health";
/// The marketing dashboard (behind Cloudflare Access); the routes below are under it.
pub const ADMIN: &str = "/_consent/admin";
/// `GET`: the range's statistics as JSON.
pub const ADMIN_STATS_JSON: &str = "/_consent/admin/stats.json";
/// `GET`: the range's statistics as CSV, one row per day.
pub const ADMIN_STATS_CSV: &str = "/_consent/admin/stats.csv";
/// The privacy team's look-up form (`GET`) and its answer (`POST consent_id=<id>`).
pub const ADMIN_RECORDS: &str = "/_consent/admin/records";
/// `GET <prefix><consent id>`: that id's records (admins).
pub const ADMIN_RECORDS_PREFIX: &str = "/_consent/admin/records/";
/// `GET`: the audit log (admins).
pub const ADMIN_AUDIT: &str = "/_consent/admin/audit";

/// How the record look-up's path is written in a log line: its consent id, which names a
/// visitor's records, never goes to the logs.
pub const ADMIN_RECORDS_LOGGED: &str = "/_consent/admin/records/:id";

/// A path as a log line may hold it: the record look-up's consent id replaced by `:id`.
#[must_use]
pub fn loggable(path: &str) -> &str {
    if path.starts_with(ADMIN_RECORDS_PREFIX) {
        ADMIN_RECORDS_LOGGED
    } else {
        path
    }
}

/// True for a path the worker answers itself.
#[must_use]
pub fn is_own(path: &str) -> bool {
    path == PREFIX
        || path
            .strip_prefix(PREFIX)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The route a path names: `/_consent/` is the decision route too.
#[must_use]
pub fn route_of(path: &str) -> &str {
    if path == "/_consent/" {
        DECIDE
    } else {
        path
    }
}

/// The parts of a request URL the worker uses, as the URL standard's `host`, `pathname` and
/// `search` would give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// Host, with the port if the URL names one.
    pub host: &'a str,
    /// Path, `/` at least.
    pub path: &'a str,
    /// Query with its `?`, or empty (also for a bare `?`).
    pub search: &'a str,
}

/// Splits a request URL as the runtime hands it (absolute and already serialised by the URL
/// parser: lower-case host, default port dropped, path percent-encoded), without building a
/// URL object. A string without `://` yields host "" and path "/".
#[must_use]
pub fn split_request_url(url: &str) -> UrlParts<'_> {
    let Some((_, rest)) = url.split_once("://") else {
        return UrlParts {
            host: "",
            path: "/",
            search: "",
        };
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let (authority, path_and_query) = rest
        .find(['/', '?'])
        .map_or((rest, ""), |i| rest.split_at(i));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (path, search) = path_and_query
        .find('?')
        .map_or((path_and_query, ""), |i| path_and_query.split_at(i));
    UrlParts {
        host,
        path: if path.is_empty() { "/" } else { path },
        search: if search == "?" { "" } else { search },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_record_look_up_holds_no_consent_id() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            loggable(&format!("{ADMIN_RECORDS_PREFIX}{id}")),
            ADMIN_RECORDS_LOGGED
        );
        assert_eq!(
            loggable("/_consent/admin/records/x/y"),
            ADMIN_RECORDS_LOGGED
        );
        assert_eq!(loggable(ADMIN_AUDIT), ADMIN_AUDIT);
        assert_eq!(loggable("/pricing.html"), "/pricing.html");
    }

    #[test]
    fn a_request_url_splits_as_the_url_standard_would() {
        let parts = |u| {
            let p = split_request_url(u);
            (p.host, p.path, p.search)
        };
        assert_eq!(
            parts("https://sivocenter.com/precios?utm=a&b=c"),
            ("sivocenter.com", "/precios", "?utm=a&b=c")
        );
        assert_eq!(parts("http://127.0.0.1:8787/"), ("127.0.0.1:8787", "/", ""));
        assert_eq!(parts("https://sivocenter.com"), ("sivocenter.com", "/", ""));
        assert_eq!(
            parts("https://sivocenter.com?x=1"),
            ("sivocenter.com", "/", "?x=1")
        );
        assert_eq!(
            parts("https://sivocenter.com/a?"),
            ("sivocenter.com", "/a", "")
        );
        assert_eq!(
            parts("https://sivocenter.com/a/b%20c?q=/x?y#frag"),
            ("sivocenter.com", "/a/b%20c", "?q=/x?y")
        );
        assert_eq!(
            parts("https://user:pw@sivocenter.com/a"),
            ("sivocenter.com", "/a", "")
        );
        assert_eq!(
            parts("http://[2001:db8::1]:8080/_consent"),
            ("[2001:db8::1]:8080", "/_consent", "")
        );
        assert_eq!(parts("not a url"), ("", "/", ""));
    }

    #[test]
    fn only_the_prefix_and_what_is_under_it_are_the_workers() {
        for own in [
            "/_consent",
            "/_consent/",
            "/_consent/state",
            "/_consent/x/y",
        ] {
            assert!(is_own(own), "{own}");
        }
        for site in ["/", "/_consentx", "/_consent-policy", "/a/_consent/state"] {
            assert!(!is_own(site), "{site}");
        }
        assert_eq!(route_of("/_consent/"), DECIDE);
        assert_eq!(route_of(STATE), STATE);
    }
}
