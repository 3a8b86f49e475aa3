//! Which origin responses the worker rewrites, and how their headers change.
//!
//! Only a body a browser will render as HTML is rewritten: the type it uses ([`mime_type`],
//! the Fetch standard's "extract a MIME type") is `text/html` or `application/xhtml+xml`, or
//! there is none and the body's first bytes sniff as HTML ([`sniffs_as_html`]). Everything
//! else (images, scripts, `HEAD`, `304`, ranges, redirects) passes through untouched, so the
//! runtime can stream it without the worker; an HTML body that cannot be decoded for the
//! rewriter is refused.

/// What to do with an origin response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Treatment {
    /// Stream the body through the HTML rewriter.
    Rewrite(Rewrite),
    /// No type: the body's first bytes ([`SNIFF_BYTES`]) decide, as they do for the browser
    /// ([`sniffed`]). `gunzip` as [`Rewrite::gunzip`]: the bytes sniffed are the decoded ones.
    Sniff {
        /// The entry decodes the body as gzip first.
        gunzip: bool,
    },
    /// Return the response as it came.
    PassThrough,
    /// An HTML page in an encoding that cannot be decoded for the rewriter: it cannot be
    /// gated, so it is not sent (the worker asks the origin only for encodings the runtime
    /// decodes, so only an origin that ignores `Accept-Encoding` gets here).
    Refuse,
}

/// How a page is rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// The body is gzip under a label the runtime does not decode (`x-gzip`, `GZIP`…,
    /// [`BodyCoding::Gunzip`]): the entry decodes it, and the page goes out labelled
    /// [`REENCODED_AS`], which the runtime encodes (or not) as the visitor accepts.
    pub gunzip: bool,
    /// The page's `Content-Type` when the origin's must change: `text/html` with the
    /// origin's charset for an XHTML page (the markup the worker adds is HTML, not
    /// well-formed XML, so the page can no longer go to an XML parser), for a page whose type
    /// was sniffed, and for a header holding several types (only the one the browser uses
    /// is kept).
    pub content_type: Option<String>,
}

/// How many of the body's first bytes decide whether a page without a type is HTML: the
/// "resource header" of the MIME Sniffing standard.
pub const SNIFF_BYTES: usize = 1445;

/// The `Content-Encoding` a page the entry decoded goes out with ([`Rewrite::gunzip`]).
pub const REENCODED_AS: &str = "gzip";

/// The encodings the worker asks the origin for: the ones the runtime decodes for the
/// rewriter. A browser's `deflate` or `zstd` would otherwise yield a page that cannot be
/// rewritten, and so cannot be gated.
pub const ORIGIN_ACCEPT_ENCODING: &str = "gzip, br";

/// True when the visitor's `Accept-Encoding` can go to the origin as it is: it names only
/// encodings the runtime decodes for the rewriter (`gzip`, `br`, `identity`, in any case: a
/// request's codings are case-insensitive), or none at all. Otherwise (a browser's `deflate`,
/// `zstd`, `*`) the origin is asked for [`ORIGIN_ACCEPT_ENCODING`] instead, which costs a
/// copy of the request.
#[must_use]
pub fn accept_encoding_is_readable(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_none_or(|value| {
        value
            .split(',')
            .map(|coding| coding.split(';').next().unwrap_or_default().trim())
            .all(|coding| {
                coding.is_empty()
                    || ["identity", "gzip", "br"]
                        .iter()
                        .any(|known| coding.eq_ignore_ascii_case(known))
            })
    })
}

/// The facts about a response that decide its [`Treatment`].
#[derive(Debug, Clone, Copy)]
pub struct ResponseHead<'a> {
    /// The request's method.
    pub method: &'a str,
    /// The response's status.
    pub status: u16,
    /// Its `Content-Type`, if any (several headers joined with `, `).
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
    let mime = head.content_type.and_then(mime_type);
    let content_type = match &mime {
        // No type the browser can use, or one that asks it to sniff: the body decides.
        None => None,
        Some(m) if SNIFFED_TYPES.contains(&m.essence.as_str()) => None,
        Some(m) if m.essence == "text/html" || m.essence == "application/xhtml+xml" => {
            let single = head
                .content_type
                .is_some_and(|h| header_values(h).len() == 1);
            let as_is = single && m.essence == "text/html";
            Some((!as_is).then(|| m.as_html()))
        }
        Some(_) => return Treatment::PassThrough,
    };
    let gunzip = match body_coding(head.content_encoding) {
        BodyCoding::Readable => false,
        BodyCoding::Gunzip => true,
        // Not even sniffed: what the browser would make of it is unknown, so it may be a
        // page, and it cannot be gated.
        BodyCoding::Unreadable => return Treatment::Refuse,
    };
    match content_type {
        Some(content_type) => Treatment::Rewrite(Rewrite {
            gunzip,
            content_type,
        }),
        None => Treatment::Sniff { gunzip },
    }
}

/// What a response whose type was to be sniffed ([`Treatment::Sniff`]) gets, from the
/// body's first bytes (up to [`SNIFF_BYTES`], decoded): rewritten, and labelled `text/html`,
/// when they sniff as HTML; `None` when the browser would not render it as a page.
#[must_use]
pub fn sniffed(prefix: &[u8], gunzip: bool) -> Option<Rewrite> {
    sniffs_as_html(prefix).then(|| Rewrite {
        gunzip,
        content_type: Some(HTML.to_owned()),
    })
}

const HTML: &str = "text/html";

/// Supplied types that make the browser sniff as if there were none (MIME Sniffing standard,
/// "determine the computed MIME type"); `*/*` never gets this far ([`mime_type`] skips it).
const SNIFFED_TYPES: [&str; 2] = ["unknown/unknown", "application/unknown"];

/// The MIME type a browser uses for a `Content-Type` header: its essence (lower case) and
/// charset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeType {
    /// `type/subtype`, lower case.
    pub essence: String,
    /// The `charset` parameter, if any.
    pub charset: Option<String>,
}

impl MimeType {
    /// `text/html` with this type's charset: the `Content-Type` of a rewritten page.
    fn as_html(&self) -> String {
        match &self.charset {
            Some(charset) if charset.chars().all(is_token) => format!("{HTML}; charset={charset}"),
            Some(charset) => format!(
                r#"{HTML}; charset="{}""#,
                charset.replace('\\', "\\\\").replace('"', "\\\"")
            ),
            None => HTML.to_owned(),
        }
    }
}

/// The MIME type a browser uses for a `Content-Type` header that may hold several values (one
/// header with commas, or several joined by the runtime with `, `): the Fetch standard's
/// "extract a MIME type". The last value that parses wins, `*/*` is skipped, and a charset
/// given with an earlier value of the same essence is kept. `None` when no value parses.
#[must_use]
pub fn mime_type(header: &str) -> Option<MimeType> {
    let mut found: Option<MimeType> = None;
    // The charset of the first value of the run of values with the winning essence.
    let mut charset: Option<String> = None;
    for value in header_values(header) {
        let Some(mut parsed) = parse_mime_type(value) else {
            continue;
        };
        if parsed.essence == "*/*" {
            continue;
        }
        if found.as_ref().is_none_or(|f| f.essence != parsed.essence) {
            charset.clone_from(&parsed.charset);
        } else if parsed.charset.is_none() {
            parsed.charset.clone_from(&charset);
        }
        found = Some(parsed);
    }
    found
}

/// The values of a header (Fetch's "get, decode, and split"): split at commas outside quoted
/// strings, each trimmed of spaces and tabs.
fn header_values(header: &str) -> Vec<&str> {
    let mut values = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in header.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                values.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    values.push(&header[start..]);
    values
        .into_iter()
        .map(|v| v.trim_matches([' ', '\t']))
        .collect()
}

/// HTTP's token code points.
fn is_token(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The MIME Sniffing standard's "parse a MIME type", keeping only what decides a rewrite: the
/// essence and the first valid `charset`.
fn parse_mime_type(value: &str) -> Option<MimeType> {
    let http_whitespace = ['\t', '\n', '\r', ' '];
    let value = value.trim_matches(http_whitespace);
    let (kind, rest) = value.split_once('/')?;
    let (subtype, mut params) = rest.split_once(';').unwrap_or((rest, ""));
    let subtype = subtype.trim_end_matches(http_whitespace);
    if kind.is_empty() || subtype.is_empty() || !kind.chars().chain(subtype.chars()).all(is_token) {
        return None;
    }
    let mut charset = None;
    while charset.is_none() && !params.is_empty() {
        let param = params.trim_start_matches(http_whitespace);
        let name_end = param.find([';', '=']).unwrap_or(param.len());
        let name = &param[..name_end];
        let after = &param[name_end..];
        let Some(after) = after.strip_prefix('=') else {
            params = after.strip_prefix(';').unwrap_or_default();
            continue;
        };
        let value = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => value.push('\\'),
                    },
                    c => value.push(c),
                }
            }
            let tail = &quoted[end.min(quoted.len())..];
            params = tail.split_once(';').map_or("", |(_, next)| next);
            value
        } else {
            let (value, next) = after.split_once(';').unwrap_or((after, ""));
            params = next;
            value.trim_end_matches(http_whitespace).to_owned()
        };
        if name.eq_ignore_ascii_case("charset") && !value.is_empty() {
            charset = Some(value);
        }
    }
    Some(MimeType {
        essence: format!("{kind}/{subtype}").to_ascii_lowercase(),
        charset,
    })
}

/// The HTML patterns of the MIME Sniffing standard ("rules for identifying an unknown MIME
/// type"), each followed by a tag-terminating byte; letters match in either case.
const HTML_PATTERNS: [&[u8]; 17] = [
    b"<!DOCTYPE HTML",
    b"<HTML",
    b"<HEAD",
    b"<SCRIPT",
    b"<IFRAME",
    b"<H1",
    b"<DIV",
    b"<FONT",
    b"<TABLE",
    b"<A",
    b"<STYLE",
    b"<TITLE",
    b"<B",
    b"<BODY",
    b"<BR",
    b"<P",
    b"<!--",
];

/// True when a body without a type is HTML to a browser: its first bytes (the first
/// [`SNIFF_BYTES`] are read; more are ignored) are optional whitespace (tab, line feed, form
/// feed, carriage return, space), then one of [`HTML_PATTERNS`] in any case, then a space or
/// `>`. The MIME Sniffing standard's HTML check, run by browsers whatever
/// `X-Content-Type-Options` says here: a page gated that the browser shows as text costs
/// nothing, a page not gated that it renders would leak.
#[must_use]
pub fn sniffs_as_html(prefix: &[u8]) -> bool {
    let header = &prefix[..prefix.len().min(SNIFF_BYTES)];
    let start = header
        .iter()
        .position(|b| !matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' '))
        .unwrap_or(header.len());
    let rest = &header[start..];
    HTML_PATTERNS.iter().any(|pattern| {
        rest.get(..pattern.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(pattern))
            && matches!(rest.get(pattern.len()), Some(b' ' | b'>'))
    })
}

/// How a body reaches the rewriter, by its `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyCoding {
    /// As the runtime hands it over: no encoding (`identity`, in any case), or exactly `gzip`
    /// or `br`, the only labels workerd decodes (measured: it compares them case-sensitively
    /// and knows no `x-gzip`), re-encoding the page on the way out as the visitor accepts.
    Readable,
    /// gzip under a label the runtime leaves encoded (`x-gzip`, `GZIP`…, which browsers all
    /// decode): the entry decodes it with `DecompressionStream`.
    Gunzip,
    /// Anything else (`zstd`, `deflate`, `BR`, a chain): it would reach the rewriter as
    /// compressed bytes.
    Unreadable,
}

/// How a body with this `Content-Encoding` reaches the rewriter.
#[must_use]
pub fn body_coding(content_encoding: Option<&str>) -> BodyCoding {
    let e = content_encoding.unwrap_or_default().trim();
    if e.is_empty() || e.eq_ignore_ascii_case("identity") || e == "gzip" || e == "br" {
        BodyCoding::Readable
    } else if e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip") {
        BodyCoding::Gunzip
    } else {
        BodyCoding::Unreadable
    }
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
            Some("GZIP, Br"),
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

    fn rewrite(gunzip: bool, content_type: Option<&str>) -> Treatment {
        Treatment::Rewrite(Rewrite {
            gunzip,
            content_type: content_type.map(str::to_owned),
        })
    }

    #[test]
    fn html_pages_and_html_error_pages_are_rewritten() {
        for status in [200, 201, 404, 410, 500, 503] {
            assert_eq!(
                treatment(&head("GET", status, Some("text/html; charset=utf-8"), None)),
                rewrite(false, None),
                "{status}"
            );
        }
        assert_eq!(
            treatment(&head("POST", 200, Some("TEXT/HTML"), Some("gzip"))),
            rewrite(false, None)
        );
        assert_eq!(
            treatment(&head("GET", 200, Some("text/html"), Some("br"))),
            rewrite(false, None)
        );
        assert_eq!(
            treatment(&head(
                "GET",
                200,
                Some("text/html;charset=iso-8859-1"),
                Some("IDENTITY")
            )),
            rewrite(false, None)
        );
    }

    #[test]
    fn an_xhtml_page_is_rewritten_and_served_as_html_with_its_charset() {
        assert_eq!(
            treatment(&head(
                "GET",
                200,
                Some("application/xhtml+xml; charset=ISO-8859-1"),
                None
            )),
            rewrite(false, Some("text/html; charset=ISO-8859-1"))
        );
        assert_eq!(
            treatment(&head("GET", 200, Some("Application/XHTML+XML"), None)),
            rewrite(false, Some("text/html"))
        );
    }

    #[test]
    fn several_types_count_as_the_one_the_browser_uses() {
        let cases = [
            ("text/plain, text/html", Some("text/html")),
            ("text/html, text/plain", None),
            (
                "text/plain, text/html;charset=utf-8, */*",
                Some("text/html; charset=utf-8"),
            ),
            (
                "text/html;charset=gbk, text/html",
                Some("text/html; charset=gbk"),
            ),
            ("text/plain, nonsense, text/html", Some("text/html")),
            (r#"text/plain;x="a,b", TEXT/HTML"#, Some("text/html")),
        ];
        for (header, served_as) in cases {
            let expected = served_as.map_or(Treatment::PassThrough, |ct| rewrite(false, Some(ct)));
            let h = head("GET", 200, Some(header), None);
            assert_eq!(treatment(&h), expected, "{header}");
        }
        // One value that is text/html keeps its header as it is.
        assert_eq!(
            treatment(&head("GET", 200, Some(r#"text/html;x="a, b""#), None)),
            rewrite(false, None)
        );
    }

    #[test]
    fn the_mime_type_is_extracted_as_fetch_says() {
        let m = |h: &str| mime_type(h).map(|m| (m.essence, m.charset));
        let owned = |e: &str, c: Option<&str>| Some((e.to_owned(), c.map(str::to_owned)));
        assert_eq!(m("text/html"), owned("text/html", None));
        assert_eq!(
            m(" Text/HTML ; Charset=\"utf-8\" "),
            owned("text/html", Some("utf-8"))
        );
        assert_eq!(
            m("text/html;charset=a, text/html;charset=b, text/html"),
            owned("text/html", Some("a"))
        );
        assert_eq!(
            m("text/html;charset=a, text/plain, text/html"),
            owned("text/html", None)
        );
        assert_eq!(m("*/*"), None);
        assert_eq!(m(""), None);
        assert_eq!(m("text/html, */*"), owned("text/html", None));
        assert_eq!(m("html"), None);
        assert_eq!(m("text/ html"), None);
        assert_eq!(
            m("text/html;;charset=x;charset=y"),
            owned("text/html", Some("x"))
        );
    }

    #[test]
    fn a_page_without_a_type_is_sniffed() {
        for ct in [
            None,
            Some("*/*"),
            Some("unknown/unknown"),
            Some("application/unknown"),
            Some("nonsense"),
        ] {
            assert_eq!(
                treatment(&head("GET", 200, ct, None)),
                Treatment::Sniff { gunzip: false },
                "{ct:?}"
            );
        }
        assert_eq!(
            treatment(&head("GET", 200, None, Some("x-gzip"))),
            Treatment::Sniff { gunzip: true }
        );
        assert_eq!(
            treatment(&head("HEAD", 200, None, None)),
            Treatment::PassThrough
        );
        assert_eq!(
            treatment(&head("GET", 304, None, None)),
            Treatment::PassThrough
        );
        assert_eq!(
            sniffed(b"  <!doctype html><p>x", false),
            Some(Rewrite {
                gunzip: false,
                content_type: Some("text/html".to_owned())
            })
        );
        assert_eq!(sniffed(b"GIF89a", true), None);
    }

    #[test]
    fn the_html_patterns_of_the_sniffing_standard() {
        let html = [
            &b"<!DOCTYPE HTML>"[..],
            b"<!doctype html><html>",
            b"\t\n\x0c\r <html>",
            b"<HEAD>",
            b"<script src=x>",
            b"<iframe ",
            b"<h1>",
            b"<div>",
            b"<font>",
            b"<table>",
            b"<a href=x>",
            b"<style>",
            b"<title>",
            b"<b>",
            b"<body>",
            b"<br>",
            b"<p>",
            b"<!-- x -->",
            b"<!-->",
        ];
        let other = [
            &b""[..],
            b"<html",
            b"<!doctype html",
            b"<htmlx>",
            b"<html\n>",
            b"<!doctype xml>",
            b"<?xml version=\"1.0\"?><html>",
            b"\xef\xbb\xbf<html>",
            b"\x0b<html>",
            b"text <html>",
            b"<abbr>",
            b"<!---->",
            b"{\"a\":1}",
        ];
        for (bytes, is_html) in html
            .iter()
            .map(|b| (b, true))
            .chain(other.iter().map(|b| (b, false)))
        {
            assert_eq!(
                sniffs_as_html(bytes),
                is_html,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        // Only the first SNIFF_BYTES count: whitespace up to the end of them hides the tag.
        let mut late = vec![b' '; SNIFF_BYTES - 6];
        late.extend_from_slice(b"<html>");
        assert!(sniffs_as_html(&late));
        let mut too_late = vec![b' '; SNIFF_BYTES - 5];
        too_late.extend_from_slice(b"<html>");
        assert!(!sniffs_as_html(&too_late));
    }

    #[test]
    fn gzip_under_a_label_the_runtime_leaves_alone_is_decoded_by_the_entry() {
        for (label, coding) in [
            (None, BodyCoding::Readable),
            (Some("identity"), BodyCoding::Readable),
            (Some("gzip"), BodyCoding::Readable),
            (Some("br"), BodyCoding::Readable),
            (Some("x-gzip"), BodyCoding::Gunzip),
            (Some("GZIP"), BodyCoding::Gunzip),
            (Some("X-Gzip"), BodyCoding::Gunzip),
            (Some("BR"), BodyCoding::Unreadable),
            (Some("deflate"), BodyCoding::Unreadable),
            (Some("zstd"), BodyCoding::Unreadable),
            (Some("gzip, br"), BodyCoding::Unreadable),
        ] {
            assert_eq!(body_coding(label), coding, "{label:?}");
        }
        assert_eq!(
            treatment(&head("GET", 200, Some("text/html"), Some("x-gzip"))),
            rewrite(true, None)
        );
        assert_eq!(
            treatment(&head("GET", 200, Some("image/png"), Some("x-gzip"))),
            Treatment::PassThrough,
            "what is not a page goes as it came: the browser decodes it"
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
            head("GET", 200, Some("text/plain"), None),
            head("GET", 200, Some("image/png"), Some("zstd")),
        ];
        for h in cases {
            assert_eq!(treatment(&h), Treatment::PassThrough, "{h:?}");
        }
        // An HTML page the rewriter cannot read cannot be gated: never sent ungated; nor is a
        // body without a type that cannot be sniffed.
        for (ct, ce) in [
            (Some("text/html"), "zstd"),
            (Some("text/html"), "deflate"),
            (Some("text/html"), "gzip, br"),
            (Some("text/html"), "BR"),
            (Some("application/xhtml+xml"), "zstd"),
            (None, "zstd"),
        ] {
            let h = head("GET", 200, ct, Some(ce));
            assert_eq!(treatment(&h), Treatment::Refuse, "{ct:?} {ce}");
        }
    }
}
