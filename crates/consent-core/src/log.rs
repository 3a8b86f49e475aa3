//! One JSON object per line for every request (README, "Logs").
//!
//! The line never holds a whole IP address (docs/compliance.md rule 17), a query string (it
//! may carry e-mail addresses or campaign ids), a cookie value or a secret.

use crate::clock::{push_rfc3339, rfc3339, EpochMillis};
use crate::ip::truncate_ip;
use crate::paths::split_request_url;
use serde::Serialize;
use std::borrow::Cow;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A request served as intended.
    Info,
    /// Served, but something needs an operator's eye (e.g. configuration).
    Warn,
    /// Something failed: the origin, KV, a binding.
    Error,
}

/// Longest path kept in a log line; longer ones are cut, marked with `…`.
pub const MAX_LOGGED_PATH: usize = 512;

/// What is known about a request once it has been answered.
#[derive(Debug, Clone)]
pub struct RequestLog<'a> {
    /// When the request arrived.
    pub received_at: EpochMillis,
    /// HTTP method.
    pub method: &'a str,
    /// The request's path, without its query (`paths::split_request_url`'s); cut to
    /// [`MAX_LOGGED_PATH`] when logged.
    pub path: &'a str,
    /// The answer's status code.
    pub status: u16,
    /// The client address as the platform gave it (`CF-Connecting-IP`), untruncated.
    pub client_ip: Option<&'a str>,
    /// The visitor's consent state, as [`crate::consent::ConsentState::log_label`] names it.
    pub consent: &'a str,
    /// Two-letter country code from the platform, if any.
    pub country: Option<&'a str>,
    /// Milliseconds from arrival to the response head.
    pub duration_ms: u64,
    /// Severity.
    pub level: Level,
    /// A short, safe description of a failure; never a secret or personal data.
    pub error: Option<&'a str>,
    /// Why a consent cookie the request carried counted as no decision (forged, expired…).
    pub cookie_rejected: Option<&'a str>,
}

impl Level {
    /// The level as the log line writes it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

impl RequestLog<'_> {
    /// The JSON line, without a trailing newline: `ts`, `level`, `msg`, `method`, `path`,
    /// `status`, `ip`, `consent`, then `country`, `ms`, `error` and `cookie_rejected` when
    /// present.
    ///
    /// Written directly, not through `serde_json`: the line is built on every request, and
    /// serde's and `core::fmt`'s generic machinery cost more there than the fields
    /// themselves (BENCHMARKS.md, "Issue 13, third pass"). The properties check the line
    /// is byte for byte what `serde_json` writes for the same fields.
    #[must_use]
    pub fn to_json_line(&self) -> String {
        let path = cut_path(self.path);
        let mut line = String::with_capacity(192 + path.len() + self.method.len());
        line.push_str("{\"ts\":\"");
        push_rfc3339(&mut line, self.received_at);
        line.push_str("\",\"level\":\"");
        line.push_str(self.level.as_str());
        line.push_str("\",\"msg\":\"request\",\"method\":");
        push_json_str(&mut line, self.method);
        line.push_str(",\"path\":");
        push_json_str(&mut line, &path);
        line.push_str(",\"status\":");
        line.push_str(itoa::Buffer::new().format(self.status));
        line.push_str(",\"ip\":");
        match self.client_ip.and_then(truncate_ip) {
            Some(ip) => {
                line.push('"');
                push_ip(&mut line, ip);
                line.push('"');
            }
            None => line.push_str("null"),
        }
        line.push_str(",\"consent\":");
        push_json_str(&mut line, self.consent);
        if let Some(country) = self
            .country
            .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            line.push_str(",\"country\":\"");
            line.push_str(country);
            line.push('"');
        }
        line.push_str(",\"ms\":");
        line.push_str(itoa::Buffer::new().format(self.duration_ms));
        for (name, value) in [
            ("error", self.error),
            ("cookie_rejected", self.cookie_rejected),
        ] {
            if let Some(value) = value {
                line.push_str(",\"");
                line.push_str(name);
                line.push_str("\":");
                push_json_str(&mut line, &redact_ids(value));
            }
        }
        line.push('}');
        line
    }
}

/// Appends `text` as a JSON string, escaped as `serde_json` escapes it: `"` and `\`, the
/// control characters below U+0020 (`\b`, `\t`, `\n`, `\f`, `\r` by name, the others as
/// `\u00xx`); everything else as it is.
pub fn push_json_str(out: &mut String, text: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[plain..i]);
        plain = i + 1;
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&text[plain..]);
    out.push('"');
}

/// Appends a (truncated) address as `Display` writes it; an IPv4 one digit by digit.
fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(itoa::Buffer::new().format(octet));
            }
        }
        std::net::IpAddr::V6(v6) => {
            use std::fmt::Write as _;
            // Writing to a String cannot fail.
            let _ = write!(out, "{v6}");
        }
    }
}

/// The path of a request URL, without scheme, host, query string or fragment, and cut to
/// [`MAX_LOGGED_PATH`] bytes. A string without `://` is taken as a path.
#[must_use]
pub fn log_path(url: &str) -> String {
    let path = if url.contains("://") {
        split_request_url(url).path
    } else {
        url.split(['?', '#']).next().unwrap_or("/")
    };
    cut_path(path).into_owned()
}

/// A path cut to [`MAX_LOGGED_PATH`] bytes (at a character boundary) and marked with `…`.
#[must_use]
pub fn cut_path(path: &str) -> Cow<'_, str> {
    if path.len() <= MAX_LOGGED_PATH {
        return Cow::Borrowed(path);
    }
    let mut cut = MAX_LOGGED_PATH;
    while !path.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!("{}…", &path[..cut]))
}

/// A log line for an event that is not a request (an error in the background, an admin
/// action): `fields` is merged after `ts`, `level` and `msg`; a consent id in the message or
/// a string field is replaced by `<id>` ([`redact_ids`]).
#[must_use]
pub fn event_line(at: EpochMillis, level: Level, msg: &str, fields: serde_json::Value) -> String {
    let mut line = serde_json::json!({ "ts": rfc3339(at), "level": level, "msg": redact_ids(msg) });
    if let (Some(obj), serde_json::Value::Object(extra)) = (line.as_object_mut(), fields) {
        for (name, value) in extra {
            let value = match value {
                serde_json::Value::String(text) => {
                    serde_json::Value::String(redact_ids(&text).into_owned())
                }
                other => other,
            };
            obj.insert(name, value);
        }
    }
    line.to_string()
}

/// What a consent id is replaced by in a log line.
pub const REDACTED_ID: &str = "<id>";

/// `text` with every consent id in it (a run of exactly 32 hex digits, the form
/// [`crate::consent::ConsentId`] is written in) replaced by [`REDACTED_ID`]. A consent id
/// names a visitor's records (their cookie carries it), so no log line holds one: the
/// messages are written without them, and this catches one that comes inside another
/// component's error (a KV key, say). Longer hex runs (hashes) are kept.
#[must_use]
pub fn redact_ids(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_hexdigit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
        }
        if i - start == 32 {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            // Hex digits are ASCII: both ends are character boundaries.
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED_ID);
            copied = i;
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn sample() -> RequestLog<'static> {
        RequestLog {
            received_at: 1_795_810_796_123,
            method: "GET",
            path: "/precios",
            status: 200,
            client_ip: Some("203.0.113.77"),
            consent: "undecided",
            country: Some("ES"),
            duration_ms: 7,
            level: Level::Info,
            error: None,
            cookie_rejected: None,
        }
    }

    #[test]
    fn a_request_line_has_every_contract_field() {
        let v: Value = serde_json::from_str(&sample().to_json_line()).unwrap_or_default();
        assert_eq!(v["ts"], "2026-11-27T20:19:56.123Z");
        assert_eq!(v["level"], "info");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["path"], "/precios");
        assert_eq!(v["status"], 200);
        assert_eq!(v["ip"], "203.0.113.0");
        assert_eq!(v["consent"], "undecided");
        assert_eq!(v["country"], "ES");
        assert_eq!(v["ms"], 7);
        assert!(v.get("error").is_none());
    }

    #[test]
    fn the_line_holds_no_whole_ip_and_is_one_line() {
        let mut log = sample();
        log.client_ip = Some("2001:db8:85a3:8d3:1319:8a2e:370:7348");
        log.path = "/a\nb";
        let line = log.to_json_line();
        assert!(!line.contains('\n'));
        assert!(
            !line.contains("1319") && line.contains("\"ip\":\"2001:db8:85a3::\""),
            "{line}"
        );
    }

    #[test]
    fn an_unparseable_ip_is_logged_as_null_never_echoed() {
        let mut log = sample();
        log.client_ip = Some("evil\", \"admin\": true");
        let v: Value = serde_json::from_str(&log.to_json_line()).unwrap_or_default();
        assert_eq!(v["ip"], Value::Null);
        log.client_ip = None;
        let v: Value = serde_json::from_str(&log.to_json_line()).unwrap_or_default();
        assert_eq!(v["ip"], Value::Null);
    }

    #[test]
    fn paths_are_extracted_from_urls() {
        assert_eq!(log_path("https://a.com"), "/");
        assert_eq!(log_path("https://a.com/"), "/");
        assert_eq!(
            log_path("http://127.0.0.1:8787/_consent/state?x=1"),
            "/_consent/state"
        );
        assert_eq!(log_path("/relative/path?q"), "/relative/path");
        assert_eq!(log_path("https://a.com/a%20b#frag"), "/a%20b");
        assert_eq!(log_path("https://a.com?x=/b"), "/");
        let long = format!("https://a.com/{}", "é".repeat(400));
        let p = log_path(&long);
        assert!(p.len() <= MAX_LOGGED_PATH + "…".len() && p.ends_with('…'));
    }

    #[test]
    fn no_log_line_holds_a_consent_id() {
        let id = "0123456789abcdef0123456789abcdef";
        let error = format!("KV put rec:{id}:1795810796123-abcdef01: failed");
        let mut log = sample();
        log.error = Some(&error);
        let line = log.to_json_line();
        assert!(!line.contains(id), "{line}");
        assert!(line.contains("rec:<id>:1795810796123-abcdef01"), "{line}");
        let event = event_line(
            0,
            Level::Error,
            &format!("consent {id}"),
            serde_json::json!({ "error": error, "n": 1 }),
        );
        assert!(!event.contains(id), "{event}");
        // Only exactly 32 digits: a SHA-256 (64) or a shorter run is not an id.
        let hash = "ab".repeat(32);
        assert_eq!(redact_ids(&hash), hash.as_str());
        assert_eq!(
            redact_ids("ref 1795810796123-abcdef01"),
            "ref 1795810796123-abcdef01"
        );
        assert_eq!(
            redact_ids(&format!("{id}{id}x{id}")),
            format!("{}x<id>", id.repeat(2))
        );
    }

    #[test]
    fn errors_and_events_are_json_too() {
        let mut log = sample();
        log.level = Level::Error;
        log.status = 502;
        log.error = Some("origin unreachable");
        let v: Value = serde_json::from_str(&log.to_json_line()).unwrap_or_default();
        assert_eq!(
            (v["level"].as_str(), v["error"].as_str()),
            (Some("error"), Some("origin unreachable"))
        );
        let e = event_line(
            0,
            Level::Warn,
            "config",
            serde_json::json!({"setting": "ORIGIN_URL"}),
        );
        let v: Value = serde_json::from_str(&e).unwrap_or_default();
        assert_eq!(
            (
                v["msg"].as_str(),
                v["setting"].as_str(),
                v["level"].as_str()
            ),
            (Some("config"), Some("ORIGIN_URL"), Some("warn"))
        );
    }

    #[test]
    fn a_rejected_cookie_is_named_only_when_there_is_one() {
        let mut log = sample();
        assert!(!log.to_json_line().contains("cookie_rejected"));
        log.cookie_rejected = Some("bad signature");
        let v: Value = serde_json::from_str(&log.to_json_line()).unwrap_or_default();
        assert_eq!(v["cookie_rejected"], "bad signature");
    }

    #[test]
    fn a_bogus_country_is_dropped() {
        let mut log = sample();
        log.country = Some("<script>");
        let v: Value = serde_json::from_str(&log.to_json_line()).unwrap_or_default();
        assert!(v.get("country").is_none());
    }
}
