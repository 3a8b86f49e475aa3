//! Truncation of client IP addresses before they are logged or stored.
//!
//! COMPLIANCE.md rule 17: IPv4 to /24 (last octet 0), IPv6 to /48 (last 80 bits 0). An
//! IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is an IPv4 client and is truncated as one,
//! otherwise a /48 of the mapped range would keep the whole IPv4 address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Truncates a textual IP address: IPv4 to its /24, IPv6 to its /48.
///
/// Returns `None` when `raw` is not an IP address; the caller logs that as unknown rather
/// than logging the raw text, which could be anything a client sent.
#[must_use]
pub fn truncate_ip(raw: &str) -> Option<IpAddr> {
    let addr: IpAddr = raw.trim().parse().ok()?;
    Some(match addr {
        IpAddr::V4(v4) => IpAddr::V4(truncate_v4(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(truncate_v4(v4)),
            None => IpAddr::V6(truncate_v6(v6)),
        },
    })
}

fn truncate_v4(addr: Ipv4Addr) -> Ipv4Addr {
    let [a, b, c, _] = addr.octets();
    Ipv4Addr::new(a, b, c, 0)
}

fn truncate_v6(addr: Ipv6Addr) -> Ipv6Addr {
    let s = addr.segments();
    Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0)
}

#[cfg(test)]
mod tests {
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
        ] {
            let out = t(raw).unwrap_or_default();
            assert!(out.ends_with(".0") || out.ends_with("::"), "{raw} -> {out}");
        }
    }
}
