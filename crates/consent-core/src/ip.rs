//! Truncation of client IP addresses before they are logged or stored.
//!
//! docs/compliance.md rule 17: IPv4 to /24 (last octet 0), IPv6 to /48 (last 80 bits 0).
//!
//! Some IPv6 addresses are an IPv4 client in disguise: they carry the visitor's whole IPv4
//! address, and are truncated as that IPv4 address, to its /24, so that a log line or a proof
//! record shows `192.0.2.0` for them as for any other IPv4 visitor:
//! - IPv4-mapped, `::ffff:a.b.c.d` (RFC 4291): the last 32 bits;
//! - 6to4, `2002:AABB:CCDD::/48` (RFC 3056): bits 16..48. Its /48 *is* the whole IPv4
//!   address, so truncating it as IPv6 would keep everything rule 17 removes;
//! - Teredo, `2001:0000::/32` (RFC 4380): the client's public IPv4 is the last 32 bits,
//!   inverted (XOR `0xffffffff`); a /48 would keep only part of the Teredo server's address;
//! - NAT64, `64:ff9b::/96` (RFC 6052's well-known prefix): the last 32 bits; a /48 would
//!   keep only the prefix.
//!
//! For Teredo and NAT64 a /48 would not leak the visitor's address, but it would say
//! nothing true about them either: their IPv4 /24 is what every other IPv4 visitor gets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Truncates a textual IP address: IPv4 to its /24, IPv6 to its /48, and an IPv6 address
/// that embeds the visitor's IPv4 address (mapped, 6to4, Teredo, NAT64) to that IPv4
/// address's /24.
///
/// Returns `None` when `raw` is not an IP address; the caller logs that as unknown rather
/// than logging the raw text, which could be anything a client sent.
#[must_use]
pub fn truncate_ip(raw: &str) -> Option<IpAddr> {
    let addr: IpAddr = raw.trim().parse().ok()?;
    Some(match addr {
        IpAddr::V4(v4) => IpAddr::V4(truncate_v4(v4)),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => IpAddr::V4(truncate_v4(v4)),
            None => IpAddr::V6(truncate_v6(v6)),
        },
    })
}

/// The visitor's IPv4 address inside an IPv4-mapped, 6to4, Teredo or NAT64 address.
fn embedded_ipv4(addr: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = addr.to_ipv4_mapped() {
        return Some(v4);
    }
    let v4 = |high: u16, low: u16| Ipv4Addr::from_bits(u32::from(high) << 16 | u32::from(low));
    match addr.segments() {
        // Teredo, 2001:0000::/32: the client's address, obfuscated by inversion.
        [0x2001, 0, .., high, low] => Some(v4(!high, !low)),
        // 6to4, 2002:AABB:CCDD::/48, and NAT64's well-known prefix, 64:ff9b::/96.
        [0x2002, high, low, ..] | [0x64, 0xff9b, 0, 0, 0, 0, high, low] => Some(v4(high, low)),
        _ => None,
    }
}

fn truncate_v4(addr: Ipv4Addr) -> Ipv4Addr {
    let [a, b, c, _] = addr.octets();
    Ipv4Addr::new(a, b, c, 0)
}

fn truncate_v6(addr: Ipv6Addr) -> Ipv6Addr {
    let s = addr.segments();
    Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0)
}

/// True when `host` (a request URL's host, with or without its port) names this machine:
/// `localhost`, an address in `127.0.0.0/8`, or `[::1]`. Development-only behaviour (the
/// dashboard's development identity) is kept to such hosts, so a deployed worker reached by
/// its real name never shows it, whatever its configuration.
#[must_use]
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(bracketed) = host.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((inside, rest)) if rest.is_empty() || rest.starts_with(':') => inside,
            _ => return false,
        }
    } else {
        match host.split_once(':') {
            Some((name, _port)) => name,
            None => host,
        }
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match name.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => v6.is_loopback(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_this_machines_names_are_loopback_hosts() {
        for host in [
            "localhost",
            "LOCALHOST:8787",
            "127.0.0.1",
            "127.0.0.1:8787",
            "127.9.9.9",
            "[::1]",
            "[::1]:8787",
        ] {
            assert!(super::is_loopback_host(host), "{host}");
        }
        for host in [
            "sivocenter.com",
            "localhost.sivocenter.com",
            "127.0.0.1.nip.io",
            "10.0.0.1",
            "[::2]",
            "[::1]x",
            "::1",
            "",
            "0.0.0.0:8787",
        ] {
            assert!(!super::is_loopback_host(host), "{host}");
        }
    }

    use super::truncate_ip;

    fn t(raw: &str) -> Option<String> {
        truncate_ip(raw).map(|ip| ip.to_string())
    }

    #[test]
    fn ipv4_keeps_only_the_first_three_octets() {
        assert_eq!(t("203.0.113.77").as_deref(), Some("203.0.113.0"));
        assert_eq!(t("8.8.8.8").as_deref(), Some("8.8.8.0"));
        assert_eq!(t("255.255.255.255").as_deref(), Some("255.255.255.0"));
        assert_eq!(t(" 10.1.2.3 ").as_deref(), Some("10.1.2.0"));
    }

    #[test]
    fn ipv6_keeps_only_the_first_48_bits() {
        assert_eq!(
            t("2001:db8:85a3:8d3:1319:8a2e:370:7348").as_deref(),
            Some("2001:db8:85a3::")
        );
        assert_eq!(t("::1").as_deref(), Some("::"));
        assert_eq!(
            t("2a00:1450:4003:80b::200e").as_deref(),
            Some("2a00:1450:4003::")
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_is_truncated_as_ipv4() {
        assert_eq!(t("::ffff:198.51.100.23").as_deref(), Some("198.51.100.0"));
        assert_eq!(t("::ffff:c633:6417").as_deref(), Some("198.51.100.0"));
    }

    #[test]
    fn six_to_four_is_truncated_as_its_ipv4() {
        // 2002:c000:0204::/48 is 192.0.2.4 whole: as IPv6 its /48 would keep all of it.
        assert_eq!(t("2002:c000:0204::1").as_deref(), Some("192.0.2.0"));
        assert_eq!(
            t("2002:cb00:71ff:1:2:3:4:5").as_deref(),
            Some("203.0.113.0")
        );
        assert_eq!(t("2002::").as_deref(), Some("0.0.0.0"));
    }

    #[test]
    fn teredo_is_truncated_as_the_clients_ipv4() {
        // RFC 4380: client 192.0.2.45 is the inverted last 32 bits, 3fff:fdd2; the server
        // 65.54.227.120 is 4136:e378, the port 40000 is the inverted 63bf.
        assert_eq!(
            t("2001:0:4136:e378:8000:63bf:3fff:fdd2").as_deref(),
            Some("192.0.2.0")
        );
        assert_eq!(
            t("2001:0000:4136:e378:8000:63bf:34ff:9b8e").as_deref(),
            Some("203.0.100.0"),
            "client 203.0.100.113"
        );
        assert_eq!(
            t("2001:1:4136:e378:8000:63bf:3fff:fdd2").as_deref(),
            Some("2001:1:4136::"),
            "2001:1::/32 is not Teredo"
        );
        assert_eq!(
            t("2001:db8:85a3::7348").as_deref(),
            Some("2001:db8:85a3::"),
            "nor is 2001:db8::/32"
        );
    }

    #[test]
    fn nat64_is_truncated_as_its_ipv4() {
        assert_eq!(t("64:ff9b::192.0.2.33").as_deref(), Some("192.0.2.0"));
        assert_eq!(t("64:ff9b::c000:221").as_deref(), Some("192.0.2.0"));
        assert_eq!(
            t("64:ff9b:1::c000:221").as_deref(),
            Some("64:ff9b:1::"),
            "the local-use prefix 64:ff9b:1::/48 keeps no IPv4 bits in its /48"
        );
    }

    #[test]
    fn malformed_input_is_rejected_not_echoed() {
        for raw in [
            "",
            "localhost",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "2001:db8::g",
            "1.2.3.4, 5.6.7.8",
            "[::1]",
            "1.2.3.4:80",
        ] {
            assert_eq!(t(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn no_truncated_address_keeps_a_host_part() {
        for raw in [
            "192.0.2.1",
            "192.0.2.254",
            "2001:db8:1:2:3:4:5:6",
            "::ffff:192.0.2.9",
            "2002:c000:0209::",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "64:ff9b::192.0.2.9",
        ] {
            let out = t(raw).unwrap_or_default();
            assert!(out.ends_with(".0") || out.ends_with("::"), "{raw} -> {out}");
        }
    }
}
