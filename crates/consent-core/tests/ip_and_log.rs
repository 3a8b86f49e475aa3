//! Property tests of IP truncation and of the log line (`ip`, `log`), through the public API only.
//!
//! Each property runs `support::DEFAULT_CASES` cases in a plain `cargo test`, or as many as
//! `PROPTEST_CASES` says (`scripts/proptest-long.sh` runs a million). A failure is written to
//! `tests/ip_and_log.proptest-regressions` and replayed first on the next run.

mod support;

use consent_core::clock::rfc3339;
use consent_core::ip::truncate_ip;
use consent_core::log::{cut_path, log_path, push_json_str, Level, RequestLog, MAX_LOGGED_PATH};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use support::text;

/// The configuration of every property here, its failures kept in
/// `tests/ip_and_log.proptest-regressions`.
fn config() -> ProptestConfig {
    support::config("tests/ip_and_log.proptest-regressions")
}

// ---------------------------------------------------------------------------------------
// IP truncation.

/// The truncation an address must get, by bit arithmetic: IPv4 /24; the IPv4 inside an
/// IPv4-mapped, 6to4, Teredo (inverted) or NAT64 address, /24; other IPv6 /48.
fn expected_truncation(v6: Ipv6Addr) -> IpAddr {
    let bits = v6.to_bits();
    let v4 = |x: u128| {
        let low = u32::try_from(x & 0xffff_ffff).unwrap_or_default();
        IpAddr::V4(Ipv4Addr::from_bits(low & 0xffff_ff00))
    };
    if bits >> 32 == 0xffff {
        v4(bits)
    } else if bits >> 112 == 0x2002 {
        v4(bits >> 80)
    } else if bits >> 96 == 0x2001_0000 {
        v4(!bits)
    } else if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        v4(bits)
    } else {
        IpAddr::V6(Ipv6Addr::from_bits(bits & !((1u128 << 80) - 1)))
    }
}

/// IPv6 addresses, often of the forms that embed an IPv4 address.
fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    let with_prefix = |prefix: u128, len: u32| {
        any::<u128>().prop_map(move |x| Ipv6Addr::from_bits(prefix | (x & (u128::MAX >> len))))
    };
    prop_oneof![
        3 => any::<u128>().prop_map(Ipv6Addr::from_bits),
        1 => with_prefix(0xffff_u128 << 32, 96),
        1 => with_prefix(0x2002_u128 << 112, 16),
        1 => with_prefix(0x2001_0000_u128 << 96, 32),
        1 => with_prefix(0x0064_ff9b_u128 << 96, 96),
        1 => with_prefix(0x2001_0db8_u128 << 96, 32),
        1 => with_prefix(0x0064_ff9b_0001_u128 << 80, 48),
    ]
}

/// No host part: an IPv4 /24 or an IPv6 /48.
fn is_truncated(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets()[3] == 0,
        IpAddr::V6(v6) => v6.segments()[3..].iter().all(|s| *s == 0),
    }
}

proptest! {
    #![proptest_config(config())]

    /// An address comes back truncated; anything else is `None`, never echoed.
    #[test]
    fn only_an_address_is_truncated_and_only_truncated(raw in text(48)) {
        let parsed = raw.trim().parse::<IpAddr>();
        match truncate_ip(&raw) {
            None => prop_assert!(parsed.is_err(), "{:?}", raw),
            Some(ip) => {
                prop_assert!(parsed.is_ok(), "{:?} -> {}", raw, ip);
                prop_assert!(is_truncated(ip), "{:?} -> {}", raw, ip);
            }
        }
    }

    /// IPv4 loses its last octet, in whatever padding.
    #[test]
    fn ipv4_loses_its_last_octet(
        v4 in any::<Ipv4Addr>(),
        ws in select(&["", " ", "\t", "\n"][..]),
    ) {
        let [a, b, c, _] = v4.octets();
        let want = IpAddr::V4(Ipv4Addr::new(a, b, c, 0));
        prop_assert_eq!(truncate_ip(&format!("{ws}{v4}{ws}")), Some(want));
    }

    /// IPv6 keeps 48 bits; mapped, 6to4, Teredo and NAT64 give their IPv4's /24 (ending in
    /// .0), whichever way the address is written.
    #[test]
    fn ipv6_keeps_48_bits_or_its_ipv4s_24(v6 in ipv6(), long in any::<bool>()) {
        let raw = if long {
            v6.segments().iter().map(|s| format!("{s:x}")).collect::<Vec<_>>().join(":")
        } else {
            v6.to_string()
        };
        let got = truncate_ip(&raw);
        prop_assert_eq!(got, Some(expected_truncation(v6)), "{}", raw);
        prop_assert!(got.is_some_and(is_truncated));
    }
}

// ---------------------------------------------------------------------------------------
// Logs.

fn url_parts() -> impl Strategy<Value = (String, String, Option<String>, Option<String>)> {
    (
        "[a-z0-9.-]{1,12}(:[0-9]{1,5})?",
        "(/[a-zA-Z0-9%._~é-]{0,40}){0,4}",
        option::of("[a-z=&/%@.?]{0,20}"),
        option::of("[a-z/?#]{0,10}"),
    )
}

proptest! {
    #![proptest_config(config())]

    /// A logged path has no query or fragment and is at most 512 bytes and the ellipsis.
    #[test]
    fn a_logged_path_is_bounded_and_has_no_query(
        url in prop_oneof![3 => text(100), 1 => "[a-z:/?#%é]{400,600}"],
    ) {
        let p = log_path(&url);
        prop_assert!(!p.contains('?') && !p.contains('#'), "{:?} -> {:?}", url, p);
        prop_assert!(p.len() <= MAX_LOGGED_PATH + "…".len());
    }

    /// The logged path of an absolute URL is its path (or `/`): nothing of the query.
    #[test]
    fn a_logged_path_is_the_urls_path((host, path, query, fragment) in url_parts()) {
        let url = format!(
            "https://{host}{path}{}{}",
            query.map(|q| format!("?{q}")).unwrap_or_default(),
            fragment.map(|f| format!("#{f}")).unwrap_or_default()
        );
        let want = if path.is_empty() { "/" } else { path.as_str() };
        if want.len() <= MAX_LOGGED_PATH {
            prop_assert_eq!(log_path(&url), want, "{}", url);
        }
    }

    /// A log line is one line of JSON whatever the request held, with no whole IP.
    #[test]
    fn a_log_line_is_json_without_a_whole_ip(
        url in text(100),
        method in text(10),
        ip in option::of(client_ip()),
        country in option::of(text(4)),
        error in option::of(text(20)),
        received_at in any::<u64>(),
    ) {
        let line = RequestLog {
            received_at, method: &method, path: &log_path(&url), status: 200, client_ip: ip.as_deref(),
            consent: "undecided", country: country.as_deref(), duration_ms: 1,
            level: Level::Info, error: error.as_deref(), cookie_rejected: None,
        }
        .to_json_line();
        prop_assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let logged = v["ip"].as_str().map(str::parse::<IpAddr>);
        prop_assert!(logged.is_none_or(|ip| ip.is_ok_and(is_truncated)), "{}", line);
    }

    /// The log line, written field by field, is byte for byte what `serde_json` writes for
    /// the same fields in the contract's order (what the worker wrote with until issue 13).
    #[test]
    fn the_log_line_is_what_serde_json_writes(
        url in text(100),
        method in text(10),
        ip in option::of(client_ip()),
        country in option::of(prop_oneof![text(4), "[A-Z]{2}"]),
        error in option::of(text(20)),
        rejected in option::of(text(20)),
        level in select(vec![Level::Info, Level::Warn, Level::Error]),
        status in any::<u16>(),
        received_at in prop_oneof![any::<u64>(), 0..300_000_000_000_000_u64],
        duration_ms in any::<u64>(),
        consent in text(12),
    ) {
        let log = RequestLog {
            received_at, method: &method, path: &url, status, client_ip: ip.as_deref(),
            consent: &consent, country: country.as_deref(), duration_ms, level,
            error: error.as_deref(), cookie_rejected: rejected.as_deref(),
        };
        let serde_line = serde_json::to_string(&SerdeLine {
            ts: rfc3339(received_at),
            level,
            msg: "request",
            method: &method,
            path: &cut_path(&url),
            status,
            ip: ip.as_deref().and_then(truncate_ip).map(|ip| ip.to_string()),
            consent: &consent,
            country: country
                .as_deref()
                .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphanumeric())),
            ms: duration_ms,
            error: error.as_deref(),
            cookie_rejected: rejected.as_deref(),
        })
        .unwrap();
        prop_assert_eq!(log.to_json_line(), serde_line);
    }

    /// A JSON string is escaped exactly as `serde_json` escapes it.
    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them(value in text(60)) {
        let mut written = String::new();
        push_json_str(&mut written, &value);
        prop_assert_eq!(written, serde_json::to_string(&value).unwrap());
    }
}

/// A `CF-Connecting-IP` as a log line may get it: any text, an IPv6 or an IPv4 address.
fn client_ip() -> impl Strategy<Value = String> {
    prop_oneof![
        text(40),
        ipv6().prop_map(|v| v.to_string()),
        any::<Ipv4Addr>().prop_map(|v| v.to_string()),
    ]
}

/// The log line as the worker serialised it with `serde_json` until issue 13's third pass.
#[derive(serde::Serialize)]
struct SerdeLine<'a> {
    ts: String,
    level: Level,
    msg: &'static str,
    method: &'a str,
    path: &'a str,
    status: u16,
    ip: Option<String>,
    consent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<&'a str>,
    ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookie_rejected: Option<&'a str>,
}
