//! The paths the worker answers itself (CONTRACT.md, "Routes owned by the worker"): one
//! list, used by the router, the banner and the pages, so a link cannot point elsewhere
//! than the route that serves it.

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
/// `GET <prefix><consent id>`: that id's records (admins).
pub const ADMIN_RECORDS_PREFIX: &str = "/_consent/admin/records/";
/// `GET`: the audit log (admins).
pub const ADMIN_AUDIT: &str = "/_consent/admin/audit";

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

#[cfg(test)]
mod tests {
    use super::*;

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
