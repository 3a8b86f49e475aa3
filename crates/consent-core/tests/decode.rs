//! Property tests of `gate::decode`: what the browser will fetch, however the page encodes it.
//!
//! Blocked URLs are generated and then encoded in every way a browser accepts (character
//! references, TAB/LF/CR, percent-encoding, case, backslashes, extra slashes, userinfo, port,
//! spaces, fullwidth and mathematical letters); clean ones (look-alikes included) the same way.
//! The oracles: `htmlize` decodes the character references as the HTML tokenizer does in an
//! attribute, the `url` crate parses the result as a browser does, and the host it finds is
//! matched against the rules here, independently of the code under test.
//!
//! Each property runs `support::DEFAULT_CASES` cases in a plain `cargo test`, or as many as
//! `PROPTEST_CASES` says. A failure is written to `tests/decode.proptest-regressions` and
//! replayed first on the next run.

mod support;

use consent_core::gate::decode::{
    decode_char_refs, refresh_is_blocked, srcset_is_blocked, text_is_blocked, url_is_blocked,
    url_list_is_blocked, HostPattern, Rule, ToAscii,
};
use proptest::prelude::*;
use proptest::sample::select;
use std::fmt::Write as _;

/// The configuration of every property here, its failures kept in
/// `tests/decode.proptest-regressions`.
fn config() -> ProptestConfig {
    support::config("tests/decode.proptest-regressions")
}

/// Google's analytics and advertising hosts, and two path rules on any Google TLD.
const RULES: [Rule; 7] = [
    Rule::domain("googletagmanager.com"),
    Rule::domain("google-analytics.com"),
    Rule::domain("doubleclick.net"),
    Rule::domain("googleadservices.com"),
    Rule::domain("googlesyndication.com"),
    Rule::under(HostPattern::GoogleAnyTld, "/ads/ga-audiences"),
    Rule::under(HostPattern::GoogleAnyTld, "/pagead/"),
];

/// A path rule alone: GA4's loader, not GTM's.
const GTAG_ONLY: [Rule; 1] = [Rule::under(
    HostPattern::Domain("googletagmanager.com"),
    "/gtag/",
)];

/// The browser's host mapping, as the `url` crate does it.
struct UrlCrate;

impl ToAscii for UrlCrate {
    fn to_ascii(&self, host: &str) -> Option<String> {
        match url::Host::parse(host).ok()? {
            url::Host::Domain(domain) => Some(domain),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The oracle.

/// True when `host` is `domain` or a subdomain of it.
fn oracle_domain(host: &str, domain: &str) -> bool {
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// True when `host` is google.com, google.<cc>, google.co.<cc>, google.com.<cc>, or below.
fn oracle_google(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let cc = |l: &str| l.len() == 2 && l.bytes().all(|b| b.is_ascii_lowercase());
    let google_at = |i: usize| i < labels.len() && labels[i] == "google";
    let n = labels.len();
    (n >= 2 && (labels[n - 1] == "com" || cc(labels[n - 1])) && google_at(n - 2))
        || (n >= 3
            && cc(labels[n - 1])
            && (labels[n - 2] == "co" || labels[n - 2] == "com")
            && google_at(n - 3))
}

/// What the `url` crate says `decoded` (an attribute value, its references decoded) fetches
/// from on a page of either scheme: true when that is a blocked destination.
///
/// The `url` crate refuses `///host` and `//\\host` against a special base (`EmptyHost`), where
/// the URL standard (its "relative slash state", then "special authority ignore slashes
/// state") and browsers read `host`: such a value is also read with the base's scheme in
/// front (`https:///host`), which the crate reads as the standard does.
fn oracle_blocked(decoded: &str, rules: &[Rule]) -> bool {
    let plain: String = decoded
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let scheme_relative = plain.starts_with(['/', '\\'])
        && plain.get(1..).is_some_and(|r| r.starts_with(['/', '\\']));
    [
        ("https://sivocenter.com/a/b", decoded.to_owned()),
        ("http://sivocenter.com/a/b", decoded.to_owned()),
        ("https://sivocenter.com/a/b", format!("https:{plain}")),
    ]
    .iter()
    .filter(|(_, input)| scheme_relative || input == decoded)
    .any(|(base, input)| {
        let Ok(url) = url::Url::parse(base).and_then(|b| b.join(input)) else {
            return false;
        };
        if !["http", "https", "ws", "wss", "ftp"].contains(&url.scheme()) {
            return false;
        }
        let Some(url::Host::Domain(host)) = url.host() else {
            return false;
        };
        let host = host.strip_suffix('.').unwrap_or(host);
        if host == "sivocenter.com" {
            return false;
        }
        let path = percent_decode(url.path());
        rules.iter().any(|rule| {
            let host_ok = match rule.host {
                HostPattern::Domain(d) => oracle_domain(host, d),
                HostPattern::GoogleAnyTld => oracle_google(host),
            };
            host_ok && rule.path_prefix.is_none_or(|p| path.starts_with(p))
        })
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|&b| char::from(b).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or_default());
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------
// Generators.

/// A URL's parts: scheme (with its `:`, or empty for scheme-relative), the slashes, userinfo,
/// host, port, and the rest (path, query, fragment).
#[derive(Debug, Clone)]
struct Parts {
    scheme: String,
    slashes: String,
    userinfo: String,
    host: String,
    port: String,
    rest: String,
}

/// Scheme and slashes: any special scheme in any case with one to four `/` or `\` (none
/// when the scheme is given: the browser then still reads a host on a page of another
/// scheme), or two or more alone (scheme-relative).
fn scheme_and_slashes() -> impl Strategy<Value = (String, String)> {
    (
        select(
            &[
                "https:", "http:", "HTTPS:", "hTtP:", "wss:", "ws:", "ftp:", "",
            ][..],
        ),
        "[/\\\\]{0,4}",
    )
        .prop_map(|(scheme, slashes)| {
            let slashes = if scheme.is_empty() && slashes.len() < 2 {
                format!("/{slashes}/")
            } else {
                slashes
            };
            (scheme.to_owned(), slashes)
        })
}

/// Userinfo (with its `@`) and a port (with its `:`), either absent.
fn userinfo_and_port() -> impl Strategy<Value = (String, String)> {
    (
        select(
            &[
                "",
                "",
                "user@",
                "user:pass@",
                "a@b@",
                "googletagmanager.com@",
            ][..],
        ),
        select(&["", "", ":443", ":8080", ":"][..]),
    )
        .prop_map(|(u, p)| (u.to_owned(), p.to_owned()))
}

/// A subdomain prefix (with its dot), or none.
fn subdomain() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("www.".to_owned()),
        "[a-z0-9-]{1,8}\\."
    ]
}

/// A URL to a blocked destination of [`RULES`].
fn blocked_parts() -> impl Strategy<Value = Parts> {
    let host_rule = (
        subdomain(),
        select(
            &[
                "googletagmanager.com",
                "google-analytics.com",
                "doubleclick.net",
                "googleadservices.com",
                "googlesyndication.com",
            ][..],
        ),
        select(
            &[
                "",
                "/",
                "/gtag/js?id=G-X1",
                "/gtm.js?id=GTM-X",
                "/g/collect?v=2",
                "#x",
            ][..],
        ),
    )
        .prop_map(|(sub, host, rest)| (format!("{sub}{host}"), rest.to_owned()));
    let path_rule = (
        subdomain(),
        select(&["com", "es", "co.uk", "com.br", "de"][..]),
        select(
            &[
                "/ads/ga-audiences",
                "/ads/ga-audiences?t=1",
                "/pagead/",
                "/pagead/1p-user-list/1",
            ][..],
        ),
    )
        .prop_map(|(sub, tld, rest)| (format!("{sub}google.{tld}"), rest.to_owned()));
    (
        scheme_and_slashes(),
        userinfo_and_port(),
        prop_oneof![3 => host_rule, 1 => path_rule],
    )
        .prop_map(
            |((scheme, slashes), (userinfo, port), (host, rest))| Parts {
                scheme,
                slashes,
                userinfo,
                host,
                port,
                rest,
            },
        )
}

/// A URL to no blocked destination: other hosts, look-alikes, other paths on Google's
/// hosts, relative URLs.
fn clean_parts() -> impl Strategy<Value = Parts> {
    let host = prop_oneof![
        select(
            &[
                "googletagmanager.com.evil.net",
                "notgoogle-analytics.com",
                "evilgoogletagmanager.com",
                "google.example",
                "doubleclick.net.example.org",
                "googletagmanager.co",
                "google-analytics.com-x.net",
                "xn--googletagmanager-.com",
                "sivocenter.com",
                "cdn.sivocenter.com",
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z]{1,12}\\.(com|net|es|org)",
    ];
    let rest = select(
        &[
            "",
            "/",
            "/gtag/js",
            "/ads/ga-audiences",
            "/pagead/x",
            "?u=googletagmanager.com",
        ][..],
    );
    let google_other_path = (
        select(
            &[
                "www.google.com",
                "google.es",
                "google.com.evil.net",
                "wwwgoogle.com",
            ][..],
        ),
        select(&["/search?q=x", "/", "/ads", "/adsga-audiences"][..]),
    );
    (
        scheme_and_slashes(),
        userinfo_and_port(),
        prop_oneof![
            (host, rest).prop_map(|(h, r)| (h, r.to_owned())),
            google_other_path.prop_map(|(h, r)| (h.to_owned(), r.to_owned())),
        ],
    )
        .prop_map(
            |((scheme, slashes), (userinfo, port), (host, rest))| Parts {
                scheme,
                slashes,
                userinfo: userinfo.replace("googletagmanager.com@", "me@"),
                host,
                port,
                rest,
            },
        )
}

/// Random choices that drive the encoders (taken in turn, cycling).
fn tape() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..64)
}

/// Takes the choices of a [`tape`] in turn.
struct Tape<'a>(&'a [u8], usize);

impl Tape<'_> {
    fn next(&mut self) -> u8 {
        let b = self.0[self.1 % self.0.len()];
        self.1 += 1;
        b.wrapping_add(u8::try_from(self.1 / self.0.len() % 256).unwrap_or_default())
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: u8) -> bool {
        self.next().is_multiple_of(n)
    }
}

/// The host as a browser still reads it: letters in any case, some characters
/// percent-encoded (a fullwidth or mathematical letter as its UTF-8 bytes), some letters
/// fullwidth or mathematical (UTS 46 maps them back), a dot as a fullwidth or ideographic
/// full stop.
fn encode_host(host: &str, tape: &mut Tape<'_>) -> String {
    let mut out = String::new();
    for c in host.chars() {
        let c = match (tape.next() % 8, c) {
            (0, 'a'..='z') => char::from_u32(u32::from(c) - 0x61 + 0xFF41).unwrap_or(c),
            (1, 'a'..='z') => char::from_u32(u32::from(c) - 0x61 + 0x1D5BA).unwrap_or(c),
            (4, 'g') => '\u{210A}',
            (5, 'g') => '\u{1D53E}',
            (4, 'o') => '\u{1D560}',
            (0, '.') => '\u{FF0E}',
            (1, '.') => '\u{3002}',
            (2 | 3, c) => c.to_ascii_uppercase(),
            _ => c,
        };
        if tape.one_in(5) {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                if tape.one_in(2) {
                    let _ = write!(out, "%{b:02X}");
                } else {
                    let _ = write!(out, "%{b:02x}");
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The URL as the DOM holds it (character references decoded): the host encoded, the
/// scheme's case changed, TAB/LF/CR inserted anywhere, C0 controls and spaces around.
fn dom_value(parts: &Parts, tape: &mut Tape<'_>) -> String {
    let scheme: String = parts
        .scheme
        .chars()
        .map(|c| {
            if tape.one_in(2) {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    let url = format!(
        "{scheme}{}{}{}{}{}",
        parts.slashes,
        parts.userinfo,
        encode_host(&parts.host, tape),
        parts.port,
        parts.rest
    );
    let mut out = String::new();
    for _ in 0..tape.next() % 3 {
        out.push(*select_byte(b" \t\n\x01\x1f\x0c", tape) as char);
    }
    for c in url.chars() {
        if tape.one_in(6) {
            out.push(*select_byte(b"\t\n\r", tape) as char);
        }
        out.push(c);
    }
    for _ in 0..tape.next() % 3 {
        out.push(*select_byte(b" \t\r\x00\x1f", tape) as char);
    }
    out
}

fn select_byte<'a>(bytes: &'a [u8], tape: &mut Tape<'_>) -> &'a u8 {
    &bytes[usize::from(tape.next()) % bytes.len()]
}

/// Names of references to ASCII characters, and to letters UTS 46 maps to ASCII (ℊ, 𝕠, 𝔾).
const NAMES: [(char, &str); 16] = [
    ('.', "period"),
    ('/', "sol"),
    (':', "colon"),
    ('?', "quest"),
    ('=', "equals"),
    ('_', "lowbar"),
    ('@', "commat"),
    ('#', "num"),
    ('\\', "bsol"),
    ('\t', "Tab"),
    ('\n', "NewLine"),
    ('&', "amp"),
    ('\u{210A}', "gscr"),
    ('\u{1D560}', "oopf"),
    ('\u{1D53E}', "Gopf"),
    ('%', "percnt"),
];

/// `value` with random characters written as character references: named (where one
/// decodes to it, or to a letter UTS 46 maps to it), decimal or hex (`x` or `X`), with
/// leading zeros, with or without `;` (without only where the next character cannot
/// extend the number). `&` itself always as a reference, so no new reference is formed.
fn encode_refs(value: &str, tape: &mut Tape<'_>) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut encoded = vec![false; chars.len()];
    for (i, &c) in chars.iter().enumerate() {
        encoded[i] = c == '&' || (c != '\0' && tape.one_in(3));
    }
    for (i, &c) in chars.iter().enumerate() {
        let following = chars.get(i + 1).copied();
        let next_is_ref = encoded.get(i + 1).copied().unwrap_or(false);
        if !encoded[i] {
            out.push(c);
            continue;
        }
        let zeros = "0".repeat(usize::from(tape.next() % 4));
        let named = NAMES.iter().find(|(ch, _)| *ch == c).map(|(_, n)| *n);
        match (tape.next() % 3, named) {
            (0, Some(name)) => {
                // In an attribute only the legacy `amp` may drop its `;`.
                let semi = !(name == "amp"
                    && (next_is_ref
                        || following.is_none_or(|f| !f.is_ascii_alphanumeric() && f != '='))
                    && tape.one_in(2));
                let _ = write!(out, "&{name}{}", if semi { ";" } else { "" });
            }
            (1, _) => {
                let x = if tape.one_in(2) { 'x' } else { 'X' };
                let hex = format!("{:x}", u32::from(c));
                let hex = if tape.one_in(2) {
                    hex.to_uppercase()
                } else {
                    hex
                };
                let may_drop = next_is_ref || following.is_none_or(|f| !f.is_ascii_hexdigit());
                let semi = !may_drop || tape.one_in(2);
                let _ = write!(out, "&#{x}{zeros}{hex}{}", if semi { ";" } else { "" });
            }
            _ => {
                let may_drop = next_is_ref || following.is_none_or(|f| !f.is_ascii_digit());
                let semi = !may_drop || tape.one_in(2);
                let _ = write!(
                    out,
                    "&#{zeros}{}{}",
                    u32::from(c),
                    if semi { ";" } else { "" }
                );
            }
        }
    }
    out
}

/// A generated URL: its parts, the DOM's value (what the oracle parses) and the raw
/// attribute value (what the rewriter gives).
fn encoded(parts: impl Strategy<Value = Parts>) -> impl Strategy<Value = (Parts, String, String)> {
    (parts, tape()).prop_map(|(parts, tape)| {
        let mut tape = Tape(&tape, 0);
        let dom = dom_value(&parts, &mut tape);
        let raw = encode_refs(&dom, &mut tape);
        (parts, dom, raw)
    })
}

proptest! {
    #![proptest_config(config())]

    /// Every encoding of a blocked URL is blocked; the encoders are checked by the oracles
    /// (htmlize decodes the raw value to the DOM's, the `url` crate finds a blocked host).
    #[test]
    fn encoded_blocked_urls_are_blocked((parts, dom, raw) in encoded(blocked_parts())) {
        prop_assert_eq!(htmlize::unescape_attribute(raw.as_str()).into_owned(), dom.clone());
        prop_assert_eq!(decode_char_refs(&raw).into_owned(), dom.clone());
        prop_assert!(oracle_blocked(&dom, &RULES), "oracle: {:?} ({:?}) not blocked", dom, parts);
        prop_assert!(url_is_blocked(&raw, &RULES, &UrlCrate), "{:?} ({:?})", raw, parts);
    }

    /// No encoding of a clean URL (look-alikes, other paths, relative URLs) is blocked, and
    /// the oracle agrees.
    #[test]
    fn encoded_clean_urls_are_not_blocked((parts, dom, raw) in encoded(clean_parts())) {
        prop_assert_eq!(htmlize::unescape_attribute(raw.as_str()).into_owned(), dom.clone());
        prop_assert!(!oracle_blocked(&dom, &RULES), "oracle: {:?} ({:?}) blocked", dom, parts);
        prop_assert!(!url_is_blocked(&raw, &RULES, &UrlCrate), "{:?} ({:?})", raw, parts);
    }
}

/// The pieces of [`fragments`].
const FRAGMENTS: &[&str] = &[
    "https:",
    "HTTP:",
    "wss:",
    "javascript:",
    "data:",
    "//",
    "/",
    "\\",
    "\\\\",
    "www.",
    "googletagmanager",
    "google-analytics",
    "doubleclick",
    "google",
    ".com",
    ".net",
    ".es",
    ".co.uk",
    ".example",
    ".evil",
    "/gtag/js",
    "/ads/ga-audiences",
    "/pagead/",
    "/..",
    "/.",
    "%2e",
    "%2F",
    "%67",
    "%6F",
    "%",
    "&#x67;",
    "&#103",
    "&#0103;",
    "&#X6F",
    "&period;",
    "&sol;",
    "&colon;",
    "&amp;",
    "&amp",
    "&ampx",
    "&amp=",
    "&Gopf;",
    "&gscr;",
    "&shy;",
    "&Tab;",
    "&NewLine;",
    "&#9;",
    "&#13;",
    "&#x;",
    "&#",
    "&",
    ";",
    "=",
    "\t",
    "\n",
    "\r",
    " ",
    "\u{1}",
    "@",
    ":",
    ":443",
    "?",
    "#",
    "'",
    "\"",
    "g",
    "o",
    "x",
    "1",
    "ｇ",
    "．",
    "。",
    "𝗀",
    "\u{AD}",
    "-",
];

/// Text made of pieces of URLs, references, escapes and separators in any order: the inputs
/// where a decoder that skipped or misordered a step would differ from the browser.
fn fragments() -> impl Strategy<Value = String> {
    proptest::collection::vec(select(FRAGMENTS), 0..14).prop_map(|p| p.concat())
}

/// Names of the references [`decode_char_refs`] decodes, and text around them.
fn reference_text() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "&",
        "#",
        "x",
        "X",
        ";",
        "=",
        "q",
        "Q",
        "0",
        "1",
        "7",
        "9",
        "a",
        "F",
        "amp",
        "AMP",
        "lt",
        "GT",
        "quot",
        "nbsp",
        "shy",
        "sup2",
        "ordf",
        "period",
        "sol",
        "colon",
        "Gopf",
        "gscr",
        "Tab",
        "NewLine",
        "excl",
        "fjlig",
        "ThickSpace",
        "bsol",
        "lowbar",
        "&#0",
        "&#x110000",
        "&#xD800",
        "&#xdfff",
        "&#128",
        "&#x80",
        "&#x81",
        "&#x9F",
        "&#13",
        "&#x10FFFF",
        "&#99999999999",
        "&#x67",
        "&#0000000103",
    ];
    proptest::collection::vec(select(PIECES), 0..16).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(config())]

    /// On text of any mixture, whenever the browser (htmlize, then the `url` crate) would
    /// fetch from a blocked destination, ours says blocked.
    #[test]
    fn what_the_oracle_blocks_is_blocked(raw in fragments()) {
        let dom = htmlize::unescape_attribute(raw.as_str()).into_owned();
        if oracle_blocked(&dom, &RULES) {
            prop_assert!(url_is_blocked(&raw, &RULES, &UrlCrate), "{:?} ({:?})", raw, dom);
        }
        if oracle_blocked(&dom, &GTAG_ONLY) {
            prop_assert!(url_is_blocked(&raw, &GTAG_ONLY, &UrlCrate), "{:?} ({:?})", raw, dom);
        }
    }

    /// Character references decode as the HTML tokenizer decodes them in an attribute
    /// (htmlize): numeric ones in every form and range, the table's names with and without
    /// `;`, the legacy rule before `=` and alphanumerics.
    #[test]
    fn char_refs_decode_as_the_tokenizer_does(raw in reference_text()) {
        prop_assert_eq!(
            decode_char_refs(&raw).into_owned(),
            htmlize::unescape_attribute(raw.as_str()).into_owned()
        );
    }

    /// `srcset` and `ping`: a blocked URL anywhere in the list, however encoded, is found;
    /// a list of clean ones is not.
    #[test]
    fn lists_of_urls_are_judged_by_each_url(
        (_, _, blocked) in encoded(blocked_parts()),
        cleans in proptest::collection::vec(encoded(clean_parts()), 0..4),
        at in any::<prop::sample::Index>(),
        descriptor in select(&["", " 1x", " 480w", "\t2x", " 100w 2x"][..]),
    ) {
        // In a list, whitespace separates the URLs: only encodings without it inside.
        let plain = |s: &str| {
            let dom = htmlize::unescape_attribute(s).into_owned();
            dom.trim_matches(|c: char| c <= ' ')
                .chars()
                .all(|c| !matches!(c, '\t' | '\n' | '\x0C' | '\r' | ' ' | ','))
                .then(|| dom.trim_matches(|c: char| c <= ' ').to_owned())
        };
        let cleans: Vec<String> = cleans.iter().filter_map(|(_, _, raw)| plain(raw)).collect();
        let srcset = |urls: &[String]| {
            urls.iter().map(|u| format!("{u}{descriptor}")).collect::<Vec<_>>().join(", ")
        };
        prop_assert!(!srcset_is_blocked(&srcset(&cleans), &RULES, &UrlCrate));
        prop_assert!(!url_list_is_blocked(&cleans.join(" "), &RULES, &UrlCrate));
        if let Some(blocked) = plain(&blocked) {
            let mut urls = cleans.clone();
            urls.insert(at.index(urls.len() + 1), blocked);
            prop_assert!(srcset_is_blocked(&srcset(&urls), &RULES, &UrlCrate), "{}", srcset(&urls));
            prop_assert!(url_list_is_blocked(&urls.join(" \n"), &RULES, &UrlCrate));
        }
    }

    /// `<meta http-equiv="refresh">`: a blocked URL after the time, in any of the forms the
    /// HTML standard reads (`;` or `,`, `url=` in any case with spaces, quotes), is found;
    /// a clean one is not.
    #[test]
    fn refresh_urls_are_judged(
        (_, _, blocked) in encoded(blocked_parts()),
        (_, _, clean) in encoded(clean_parts()),
        time in select(&["0", "5", " 3.5", ".5", "10"][..]),
        separator in select(&[";", ",", " ", "; ", " ,\t"][..]),
        keyword in select(&["", "url=", "URL = ", "Url=", "uRl\t=\t"][..]),
        quote in select(&["", "'", "\""][..]),
    ) {
        let content = |url: &str| format!("{time}{separator}{keyword}{quote}{url}{quote}");
        prop_assert!(refresh_is_blocked(&content(&blocked), &RULES, &UrlCrate), "{}", content(&blocked));
        prop_assert!(!refresh_is_blocked(&content(&clean), &RULES, &UrlCrate), "{}", content(&clean));
    }
}

// ---------------------------------------------------------------------------------------
// Free text.

/// Where a URL sits in code or a stylesheet: the `{}` is the URL.
const SNIPPETS: [&str; 5] = [
    "var s=document.createElement('script');s.src='{}';document.head.appendChild(s);",
    "fetch(\"{}\",{mode:'no-cors'})",
    "new Image().src=`{}`",
    "body{background:url(\"{}\") no-repeat}",
    "@import '{}';",
];

/// How a snippet's language escapes a character.
#[derive(Debug, Clone, Copy)]
enum Lang {
    Js,
    Css,
}

/// `url` with random characters escaped as `lang` allows: JavaScript `\xHH`, `\uHHHH`,
/// `\u{H}`, legacy octal; CSS `\H…` (with a space, or a following
/// non-hex character, or six digits); TABs (and in JavaScript `\t`, `\n`, `\r`) anywhere;
/// percent-encoding; fullwidth letters; then, in an
/// attribute (`onclick=`, `style=`), character references.
fn escape_text(url: &str, lang: Lang, tape: &mut Tape<'_>) -> String {
    let chars: Vec<char> = url.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let next_hex = chars.get(i + 1).is_some_and(char::is_ascii_hexdigit);
        let cp = u32::from(c);
        if tape.one_in(7) {
            // A TAB (a raw LF or CR would end a string), or an escaped TAB, LF or CR.
            out.push_str(match (lang, tape.next() % 4) {
                (Lang::Js, 1) => "\\t",
                (Lang::Js, 2) => "\\n",
                (Lang::Js, 3) => "\\r",
                _ => "\t",
            });
        }
        if c == '\\' {
            // A backslash of the URL, as the author writes it.
            out.push_str("\\\\");
            continue;
        }
        match (tape.next() % 6, lang) {
            (0, Lang::Js) => {
                let _ = match tape.next() % 4 {
                    0 if cp < 0x100 => write!(out, "\\x{cp:02x}"),
                    1 if cp < 0x100 => write!(out, "\\{cp:o}"),
                    2 => write!(out, "\\u{{{cp:X}}}"),
                    _ if cp < 0x1_0000 => write!(out, "\\u{cp:04X}"),
                    _ => write!(out, "{c}"),
                };
            }
            (0, Lang::Css) => {
                let _ = if next_hex || tape.one_in(2) {
                    if tape.one_in(2) {
                        write!(out, "\\{cp:06x}")
                    } else {
                        write!(out, "\\{cp:x} ")
                    }
                } else {
                    write!(out, "\\{cp:X}")
                };
            }
            (1, _) if c.is_ascii_alphanumeric() && cp < 0x80 => {
                let _ = write!(out, "%{cp:02X}");
            }
            (2, _) if c.is_ascii_lowercase() => {
                out.push(char::from_u32(cp - 0x61 + 0xFF41).unwrap_or(c));
            }
            _ => out.push(c),
        }
    }
    out
}

/// A snippet of code or CSS holding `url`, escaped; in an attribute one time in two (then
/// with character references too).
fn snippet(parts: impl Strategy<Value = Parts>) -> impl Strategy<Value = String> {
    (parts, select(&SNIPPETS[..]), tape(), any::<bool>()).prop_map(
        |(parts, template, tape, attribute)| {
            let mut tape = Tape(&tape, 0);
            let url = format!(
                "{}{}{}{}{}",
                parts.scheme, parts.slashes, parts.host, parts.port, parts.rest
            );
            let lang = if template.contains('{') && template.starts_with(['b', '@']) {
                Lang::Css
            } else {
                Lang::Js
            };
            let text = template.replace("{}", &escape_text(&url, lang, &mut tape));
            if attribute {
                encode_refs(&text, &mut tape)
            } else {
                text
            }
        },
    )
}

proptest! {
    #![proptest_config(config())]

    /// A blocked URL in code or CSS, escaped in the language's ways, percent-encoded,
    /// fullwidth, char-ref-encoded in an attribute, is found.
    #[test]
    fn escaped_blocked_urls_in_text_are_blocked(text in snippet(blocked_parts())) {
        prop_assert!(text_is_blocked(&text, &RULES), "{}", text);
    }

    /// Clean URLs in code or CSS (hosts that do not hold a blocked host: the text search is a
    /// substring search), however escaped, are not.
    #[test]
    fn escaped_clean_urls_in_text_are_not_blocked(
        text in snippet(clean_parts().prop_filter("no blocked host inside", |p| {
            !RULES.iter().any(|r| matches!(r.host, HostPattern::Domain(d) if p.host.contains(d) || p.rest.contains(d)))
                && !p.host.ends_with("google.com") && !p.host.ends_with("google.es")
        }))
    ) {
        prop_assert!(!text_is_blocked(&text, &RULES), "{}", text);
    }
}
