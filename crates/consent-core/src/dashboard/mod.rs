//! The marketing dashboard at `/_consent/admin`: who may see it ([`access`], Cloudflare
//! Access), the audit log of what was done there ([`audit`]), the counts behind it
//! ([`stats`]), its numbers for a date range ([`report`]), the page itself ([`page`]), and
//! the daily summary and alerts posted to the team's chat ([`alerts`]).

pub mod access;
pub mod alerts;
pub mod audit;
pub mod page;
pub mod privacy;
pub mod report;
pub mod stats;

/// Whether a record look-up (`/_consent/admin/records/<id>`) may be answered. It reads a
/// visitor's records and writes an audit entry in the admin's name, so another site must not
/// be able to make an admin's browser ask for one (a link, a redirect): a `GET` or `HEAD` only
/// when the browser says the request is the site's own or the admin's own typing
/// (`Sec-Fetch-Site: same-origin` or `none`; a client that sends no `Sec-Fetch-Site` uses
/// `POST`), a `POST` unless it comes from another site
/// ([`crate::consent::request::is_cross_site`]). Anything else is refused (`403`) before the
/// token is read, and nothing is written.
#[must_use]
pub fn look_up_allowed(
    method: &str,
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    host: &str,
) -> bool {
    match method {
        "GET" | "HEAD" => sec_fetch_site.is_some_and(|site| {
            site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")
        }),
        "POST" => !crate::consent::request::is_cross_site(sec_fetch_site, origin, host),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::look_up_allowed;

    #[test]
    fn a_record_look_up_is_answered_only_for_the_sites_own_requests_or_a_post() {
        let host = "sivocenter.com";
        let allowed = |method, site, origin| look_up_allowed(method, site, origin, host);
        // The dashboard's own links, the admin's address bar, a POST from the site or a program.
        assert!(allowed("GET", Some("same-origin"), None));
        assert!(allowed("GET", Some("none"), None));
        assert!(allowed("HEAD", Some("Same-Origin"), None));
        assert!(allowed("POST", None, None));
        assert!(allowed(
            "POST",
            Some("same-origin"),
            Some("https://sivocenter.com")
        ));
        // Another site's link or redirect, a sibling subdomain, a GET that says nothing.
        assert!(!allowed("GET", Some("cross-site"), None));
        assert!(!allowed("GET", Some("same-site"), None));
        assert!(!allowed("GET", None, None));
        assert!(!allowed("GET", Some(""), None));
        assert!(!allowed(
            "POST",
            Some("cross-site"),
            Some("https://evil.example")
        ));
        assert!(!allowed("POST", None, Some("https://evil.example")));
        assert!(!allowed(
            "POST",
            Some("same-site"),
            Some("https://www.sivocenter.com")
        ));
        assert!(!allowed("DELETE", Some("same-origin"), None));
    }
}
