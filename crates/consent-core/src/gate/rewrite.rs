//! Which origin responses the worker rewrites, and how their headers change.
//!
//! Only a decoded `text/html` body that a browser will render is rewritten. Everything else
//! (images, scripts, `HEAD`, `304`, ranges, redirects, bodies in an encoding the runtime does
//! not decode) passes through untouched, so the runtime can stream it without the worker.

/// What to do with an origin response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// Stream the body through the HTML rewriter.
    Rewrite,
    /// Return the response as it came.
    PassThrough,
    /// An HTML page in an encoding the runtime cannot decode for the rewriter: it cannot be
    /// gated, so it is not sent (the worker asks the origin only for encodings it decodes,
    /// so only an origin that ignores `Accept-Encoding` gets here).
    Refuse,
}

/// The encodings the worker asks the origin for: the ones the runtime decodes for the
/// rewriter. A browser's `deflate` or `zstd` would otherwise yield a page that cannot be
/// rewritten, and so cannot be gated.
pub const ORIGIN_ACCEPT_ENCODING: &str = "gzip, br";

/// True when the visitor's `Accept-Encoding` can go to the origin as it is: it names only
/// encodings the runtime decodes for the rewriter (`gzip`, `br`, `identity`), or none at all.
/// Otherwise (a browser's `deflate`, `zstd`, `*`) the origin is asked for
/// [`ORIGIN_ACCEPT_ENCODING`] instead, which costs a copy of the request.
#[must_use]
pub fn accept_encoding_is_readable(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_none_or(|value| {
        value
            .split(',')
            .map(|coding| coding.split(';').next().unwrap_or_default().trim())
            .all(|coding| coding.is_empty() || runtime_decodes(coding))
    })
}

/// The facts about a response that decide its [`Treatment`].
#[derive(Debug, Clone, Copy)]
pub struct ResponseHead<'a> {
    /// The request's method.
    pub method: &'a str,
    /// The response's status.
    pub status: u16,
    /// Its `Content-Type`, if any.
    pub content_type: Option<&'a str>,
    /// Its `Content-Encoding`, if any.
    pub content_encoding: Option<&'a str>,
}

/// Decides whether a response is rewritten.
#[must_use]
pub fn treatment(head: &ResponseHead<'_>) -> Treatment {
    let has_renderable_body = match head.status {
        // 204/205 have no body; 206 is a byte range of the origin's bytes, where an
        // injection would corrupt offsets the client relies on.
        204..=206 => false,
        // Success pages and error pages (404, 500 …) are shown to the visitor.
        200..=299 | 400..=599 => true,
        // 1xx, redirects and 304 Not Modified.
        _ => false,
    };
    if head.method.eq_ignore_ascii_case("HEAD") || !has_renderable_body {
        return Treatment::PassThrough;
    }
    if !head.content_type.is_some_and(is_html) {
        return Treatment::PassThrough;
    }
    if !head.content_encoding.is_none_or(runtime_decodes) {
        return Treatment::Refuse;
    }
    Treatment::Rewrite
}

/// True for `text/html`, whatever its parameters and case.
#[must_use]
pub fn is_html(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/html"))
}

/// True when the Workers runtime hands the body to the rewriter decoded (and re-encodes it
/// on the way out): no encoding, `identity`, `gzip` or `br`. Anything else (`zstd`,
/// `deflate`, a chain) would reach the rewriter as compressed bytes.
#[must_use]
pub fn runtime_decodes(content_encoding: &str) -> bool {
    let e = content_encoding.trim();
    e.is_empty()
        || e.eq_ignore_ascii_case("identity")
        || e.eq_ignore_ascii_case("gzip")
        || e.eq_ignore_ascii_case("x-gzip")
        || e.eq_ignore_ascii_case("br")
}

/// Response headers removed from a rewritten page: its length changes, and validators and
/// shared caching would let a page rendered for one consent state be served for another.
pub const HEADERS_DROPPED_WHEN_REWRITTEN: [&str; 4] =
    ["content-length", "etag", "last-modified", "content-md5"];

/// `Cache-Control` of a rewritten page: it depends on the visitor's cookie and language.
pub const REWRITTEN_CACHE_CONTROL: &str = "private, no-cache";

/// Added to `Vary` of a rewritten page, for the same reason.
pub const REWRITTEN_VARY: &str = "Cookie, Accept-Language";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_encodings_the_runtime_decodes_are_forwarded_as_they_are() {
        for readable in [
            None,
            Some("identity"),
            Some("gzip"),
            Some("gzip, br"),
            Some("br;q=1.0, gzip;q=0.8"),
            Some(""),
        ] {
            assert!(accept_encoding_is_readable(readable), "{readable:?}");
        }
        for unreadable in [
            "gzip, deflate, br, zstd",
            "zstd",
            "*",
            "deflate",
            "gzip, compress",
            "br, *;q=0.1",
        ] {
            assert!(
                !accept_encoding_is_readable(Some(unreadable)),
                "{unreadable}"
            );
        }
    }

    fn head(
        method: &'static str,
        status: u16,
        ct: Option<&'static str>,
        ce: Option<&'static str>,
    ) -> ResponseHead<'static> {
        ResponseHead {
            method,
            status,
            content_type: ct,
            content_encoding: ce,
        }
    }

    #[test]
    fn html_pages_and_html_error_pages_are_rewritten() {
        for status in [200, 201, 404, 410, 500, 503] {
            assert_eq!(
                treatment(&head("GET", status, Some("text/html; charset=utf-8"), None)),
                Treatment::Rewrite,
                "{status}"
            );
        }
        assert_eq!(
            treatment(&head("POST", 200, Some("TEXT/HTML"), Some("gzip"))),
            Treatment::Rewrite
        );
        assert_eq!(
            treatment(&head("GET", 200, Some("text/html"), Some("br"))),
            Treatment::Rewrite
        );
        assert_eq!(
            treatment(&head(
                "GET",
                200,
                Some("text/html;charset=iso-8859-1"),
                Some("identity")
            )),
            Treatment::Rewrite
        );
    }

    #[test]
    fn everything_else_passes_through() {
        let cases = [
            head("HEAD", 200, Some("text/html"), None),
            head("GET", 304, Some("text/html"), None),
            head("GET", 206, Some("text/html"), None),
            head("GET", 204, Some("text/html"), None),
            head("GET", 301, Some("text/html"), None),
            head("GET", 200, Some("image/png"), None),
            head("GET", 200, Some("application/json"), None),
            head("GET", 200, Some("text/html-sandboxed"), None),
            head("GET", 200, Some("application/xhtml+xml"), None),
            head("GET", 200, None, None),
            head("GET", 200, Some("image/png"), Some("zstd")),
        ];
        for h in cases {
            assert_eq!(treatment(&h), Treatment::PassThrough, "{h:?}");
        }
        // An HTML page the rewriter cannot read cannot be gated: never sent ungated.
        for ce in ["zstd", "deflate", "gzip, br"] {
            let h = head("GET", 200, Some("text/html"), Some(ce));
            assert_eq!(treatment(&h), Treatment::Refuse, "{ce}");
        }
    }
}
