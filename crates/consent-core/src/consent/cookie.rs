//! The consent cookie: the decision, signed with HMAC-SHA256 so the worker can trust it on
//! every page view without reading KV.
//!
//! Value: `base64url(payload) "." base64url(tag)`, where payload is
//! `v2|<id>|<analytics 0/1><marketing 0/1>|<given_at ms>|<expires_at ms>|<records>|<policy>`
//! (`<records>`: the references of the records written in the last minutes, comma-separated)
//! and tag = HMAC-SHA256(key, "sivo-consent cookie\n" + payload). `v1` payloads (no records)
//! still verify. The cookie is `HttpOnly`: scripts never read it; `GET /_consent/state` tells
//! them what it says. Its name starts with `__Host-`, so the browser accepts it only from this
//! host, `Secure`, with `Path=/` and no `Domain`: a sibling subdomain cannot set one.

use crate::clock::EpochMillis;
use crate::consent::{Choices, ConsentId, ConsentState, Decision};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The cookie's name.
pub const COOKIE_NAME: &str = "__Host-sivo_consent";

/// The name before the `__Host-` prefix: never read (a sibling subdomain could have set it),
/// only expired when a decision or an erasure is answered.
pub const LEGACY_COOKIE_NAME: &str = "sivo_consent";

/// How many recent record references a cookie carries at most.
pub const MAX_RECENT_RECORDS: usize = 6;

/// How long a record counts as recent: KV's listing may lag writes by up to 60 s; ten
/// minutes leaves room for another location's lag.
pub const RECENT_RECORD_MS: u64 = 10 * 60 * 1000;

/// The longest cookie value this worker writes is about 360 bytes; anything much longer is
/// not ours and is not even decoded.
const MAX_VALUE_LEN: usize = 512;

/// Domain separation for the MAC, so the key cannot be used to forge anything else.
const MAC_CONTEXT: &[u8] = b"sivo-consent cookie\n";

type HmacSha256 = Hmac<Sha256>;

/// The signed cookie value for `decision`.
#[must_use]
pub fn encode(decision: &Decision, key: &[u8]) -> String {
    let payload = format!(
        "v2|{}|{}{}|{}|{}|{}|{}",
        decision.id,
        u8::from(decision.choices.analytics),
        u8::from(decision.choices.marketing),
        decision.given_at,
        decision.expires_at,
        decision.recent_records.join(","),
        decision.policy_version
    );
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(tag(key, payload.as_bytes()))
    )
}

fn tag(key: &[u8], payload: &[u8]) -> Vec<u8> {
    mac(key, payload).finalize().into_bytes().to_vec()
}

fn mac(key: &[u8], payload: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail. Were it ever to, the
    // all-zero key fails safe: cookies signed with it never verify under the real key, so the
    // visitor is asked again and nothing is granted.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| {
        <HmacSha256 as Mac>::new(&hmac::digest::generic_array::GenericArray::default())
    });
    mac.update(MAC_CONTEXT);
    mac.update(payload);
    mac
}

/// Why a cookie value does not count as a decision. Only for logs and tests: to the visitor
/// every case means the same thing, no decision, and never consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieRejection {
    /// Not `payload.tag` in base64url, or too long.
    #[error("malformed")]
    Malformed,
    /// The signature does not match: forged, edited or signed with another key.
    #[error("bad signature")]
    BadSignature,
    /// Signed, but the payload does not parse (a future or foreign version).
    #[error("unknown payload")]
    UnknownPayload,
    /// Its time is up.
    #[error("expired")]
    Expired,
    /// Given under another `POLICY_VERSION`.
    #[error("other policy version")]
    OtherPolicy,
}

/// Checks a cookie value: signature first (in constant time), then content.
///
/// # Errors
/// See [`CookieRejection`].
pub fn verify(
    value: &str,
    key: &[u8],
    policy_version: &str,
    now: EpochMillis,
) -> Result<Decision, CookieRejection> {
    let decision = signed_decision(value, key)?;
    current(&decision, policy_version, now)?;
    Ok(decision)
}

/// Whether a signed decision is still in force.
fn current(
    decision: &Decision,
    policy_version: &str,
    now: EpochMillis,
) -> Result<(), CookieRejection> {
    if decision.expires_at <= now || decision.given_at > decision.expires_at {
        return Err(CookieRejection::Expired);
    }
    if decision.policy_version != policy_version {
        return Err(CookieRejection::OtherPolicy);
    }
    Ok(())
}

/// The consent id a cookie value proves its holder owns: the signature alone is checked, so a
/// decision that has expired or was given under an older policy still lets its holder see
/// and erase their own records (GDPR arts. 15, 17, 20).
///
/// # Errors
/// [`CookieRejection::Malformed`], [`CookieRejection::BadSignature`] or
/// [`CookieRejection::UnknownPayload`].
pub fn authenticate(value: &str, key: &[u8]) -> Result<ConsentId, CookieRejection> {
    signed_decision(value, key).map(|d| d.id)
}

/// The decision in a cookie value whose signature verifies, whatever its age or policy: it
/// still names its holder's consent id and recent records.
///
/// # Errors
/// As [`authenticate`].
pub fn signed_decision(value: &str, key: &[u8]) -> Result<Decision, CookieRejection> {
    if value.len() > MAX_VALUE_LEN {
        return Err(CookieRejection::Malformed);
    }
    let (payload_b64, tag_b64) = value.split_once('.').ok_or(CookieRejection::Malformed)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| CookieRejection::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag_b64)
        .map_err(|_| CookieRejection::Malformed)?;
    mac(key, &payload)
        .verify_slice(&tag)
        .map_err(|_| CookieRejection::BadSignature)?;
    let payload = String::from_utf8(payload).map_err(|_| CookieRejection::UnknownPayload)?;
    parse_payload(&payload).ok_or(CookieRejection::UnknownPayload)
}

fn parse_payload(payload: &str) -> Option<Decision> {
    let (version, rest) = payload.split_once('|')?;
    let fields = match version {
        "v1" => 5,
        "v2" => 6,
        _ => return None,
    };
    let mut parts = rest.splitn(fields, '|');
    let id = ConsentId::parse(parts.next()?)?;
    let choices = match parts.next()? {
        "00" => Choices {
            analytics: false,
            marketing: false,
        },
        "10" => Choices {
            analytics: true,
            marketing: false,
        },
        "01" => Choices {
            analytics: false,
            marketing: true,
        },
        "11" => Choices {
            analytics: true,
            marketing: true,
        },
        _ => return None,
    };
    let given_at = parts.next()?.parse().ok()?;
    let expires_at = parts.next()?.parse().ok()?;
    let recent_records = if version == "v2" {
        parse_record_refs(parts.next()?)?
    } else {
        Vec::new()
    };
    let policy_version = parts.next()?.to_owned();
    Some(Decision {
        recent_records,
        id,
        choices,
        policy_version,
        given_at,
        expires_at,
    })
}

fn parse_record_refs(field: &str) -> Option<Vec<String>> {
    if field.is_empty() {
        return Some(Vec::new());
    }
    let refs: Vec<String> = field.split(',').map(str::to_owned).collect();
    (refs.len() <= MAX_RECENT_RECORDS && refs.iter().all(|r| is_record_ref(r))).then_some(refs)
}

/// True for a record reference: `<13 digits>-<8 lower-case hex digits>`.
#[must_use]
pub fn is_record_ref(r: &str) -> bool {
    r.split_once('-').is_some_and(|(at, tag)| {
        at.len() == 13
            && at.bytes().all(|b| b.is_ascii_digit())
            && tag.len() == 8
            && tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// What a request's `Cookie` header says about consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieReading {
    /// The decision in force: anything wrong with the cookie means
    /// [`ConsentState::Undecided`].
    pub state: ConsentState,
    /// The decision of a validly signed cookie, whatever its age or policy: the visitor's
    /// consent id and recent records, which a new decision continues.
    pub signed: Option<Decision>,
    /// Why a cookie that was sent counts as no decision, for the log.
    pub rejected: Option<CookieRejection>,
}

/// Reads the consent cookie of a `Cookie` header.
#[must_use]
pub fn read_consent_cookie(
    header: Option<&str>,
    key: Option<&[u8]>,
    policy_version: &str,
    now: EpochMillis,
) -> CookieReading {
    let none = CookieReading {
        state: ConsentState::Undecided,
        signed: None,
        rejected: None,
    };
    let (Some(header), Some(key)) = (header, key) else {
        return none;
    };
    let Some(value) = cookie_value(header, COOKIE_NAME) else {
        return none;
    };
    let signed = match signed_decision(&value, key) {
        Ok(signed) => signed,
        Err(why) => {
            return CookieReading {
                rejected: Some(why),
                ..none
            }
        }
    };
    match current(&signed, policy_version, now) {
        Ok(()) => CookieReading {
            state: ConsentState::Decided(signed.clone()),
            signed: Some(signed),
            rejected: None,
        },
        Err(why) => CookieReading {
            signed: Some(signed),
            rejected: Some(why),
            ..none
        },
    }
}

/// The value of the cookie `name` in a `Cookie` header, if present (the first one wins,
/// as browsers send the most specific first).
#[must_use]
pub fn cookie_value(header: &str, name: &str) -> Option<String> {
    cookie_pairs(header)
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
}

/// The names of every cookie in a `Cookie` header.
#[must_use]
pub fn cookie_names(header: &str) -> Vec<String> {
    cookie_pairs(header).map(|(n, _)| n.to_owned()).collect()
}

/// The cookies of a `Cookie` header: each `;`-separated part that is a [`cookie_pair`].
fn cookie_pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(cookie_pair)
}

/// The name and value of `name=value`, both trimmed (the value keeps any quotes and
/// further `=`), or `None` without an `=` or a name. This is how the `cookie` crate reads a
/// pair, without its attribute and date parsers, which the worker does not need.
#[must_use]
pub fn cookie_pair(text: &str) -> Option<(&str, &str)> {
    let (name, value) = text.split_once('=')?;
    let name = name.trim();
    (!name.is_empty()).then(|| (name, value.trim()))
}

/// The attributes that make a `Set-Cookie` value delete its cookie at once.
pub(crate) const EXPIRED_NOW: &str = "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";

/// The attributes of the worker's own cookie: `Secure` and `Path=/` with no `Domain`, as
/// `__Host-` requires. (Attributes in the order the `cookie` crate wrote them.)
const OWN_ATTRIBUTES: &str = "; HttpOnly; SameSite=Lax; Secure; Path=/";

/// The `Set-Cookie` value that stores `decision` for `max_age_days`.
#[must_use]
pub fn set_cookie(decision: &Decision, key: &[u8], max_age_days: u32) -> String {
    format!(
        "{COOKIE_NAME}={}{OWN_ATTRIBUTES}; Max-Age={}",
        encode(decision, key),
        u64::from(max_age_days) * 86_400
    )
}

/// The `Set-Cookie` value that deletes the consent cookie.
#[must_use]
pub fn clear_cookie() -> String {
    expired(COOKIE_NAME)
}

/// The `Set-Cookie` values that delete the cookie under its pre-`__Host-` name, when the
/// request carries one: host-only, as it was set.
#[must_use]
pub fn clear_legacy_cookie(present: &[String]) -> Option<String> {
    present
        .iter()
        .any(|n| n == LEGACY_COOKIE_NAME)
        .then(|| expired(LEGACY_COOKIE_NAME))
}

fn expired(name: &'static str) -> String {
    format!("{name}={OWN_ATTRIBUTES}{EXPIRED_NOW}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DAY_MS;

    const KEY: &[u8] = b"a-signing-key-of-at-least-32-bytes-long!";
    const NOW: u64 = 1_795_810_796_123;

    fn decision() -> Decision {
        Decision::new(
            ConsentId::from_random([7; 16]),
            Choices {
                analytics: true,
                marketing: false,
            },
            "2026-11",
            NOW,
            365,
        )
    }

    #[test]
    fn a_signed_cookie_verifies_to_the_same_decision() {
        let d = decision();
        assert_eq!(verify(&encode(&d, KEY), KEY, "2026-11", NOW + 1), Ok(d));
    }

    #[test]
    fn tampering_anywhere_is_detected() {
        let d = decision();
        let value = encode(&d, KEY);
        let (payload, tag) = value.split_once('.').unwrap_or_default();
        // Grant marketing by editing the payload and re-encoding it: the tag no longer fits.
        let edited = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap_or_default())
            .unwrap_or_default()
            .replace("|10|", "|11|");
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(edited));
        assert_eq!(
            verify(&forged, KEY, "2026-11", NOW),
            Err(CookieRejection::BadSignature)
        );
        // Flip one character of the tag, and of the payload.
        for i in [0, payload.len() + 3, value.len() - 1] {
            let mut bytes = value.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap_or_default();
            assert!(verify(&tampered, KEY, "2026-11", NOW).is_err(), "{i}");
        }
    }

    #[test]
    fn truncated_and_garbage_values_are_rejected() {
        let value = encode(&decision(), KEY);
        for bad in [
            "",
            ".",
            "abc",
            &value[..value.len() / 2],
            &value[..value.len() - 1],
            &value[..value.find('.').unwrap_or(0)],
            "e30.e30",
            "!!!.###",
            &"A".repeat(600),
            &format!("{value}.extra"),
        ] {
            assert!(verify(bad, KEY, "2026-11", NOW).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn another_key_does_not_verify() {
        let value = encode(&decision(), KEY);
        assert_eq!(
            verify(
                &value,
                b"another-key-another-key-another-key!!",
                "2026-11",
                NOW
            ),
            Err(CookieRejection::BadSignature)
        );
    }

    #[test]
    fn expired_and_old_policy_cookies_are_no_decision() {
        let d = decision();
        let value = encode(&d, KEY);
        assert_eq!(
            verify(&value, KEY, "2026-11", d.expires_at),
            Err(CookieRejection::Expired)
        );
        assert_eq!(
            verify(&value, KEY, "2026-11", NOW + 366 * DAY_MS),
            Err(CookieRejection::Expired)
        );
        assert_eq!(
            verify(&value, KEY, "2026-12", NOW),
            Err(CookieRejection::OtherPolicy)
        );
    }

    #[test]
    fn a_signed_payload_of_unknown_shape_is_rejected() {
        for payload in [
            "v3|x",
            "v2|07070707070707070707070707070707|10|1|2|not-a-ref|1",
            "v2|07070707070707070707070707070707|10|1|2|1",
            "v1|zz|10|1|2|1",
            "v1|07070707070707070707070707070707|12|1|2|1",
            "v1|07070707070707070707070707070707|10|a|2|1",
        ] {
            let value = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(payload),
                URL_SAFE_NO_PAD.encode(tag(KEY, payload.as_bytes()))
            );
            assert_eq!(
                verify(&value, KEY, "1", 0),
                Err(CookieRejection::UnknownPayload),
                "{payload}"
            );
        }
    }

    #[test]
    fn the_state_comes_from_the_cookie_header() {
        let d = decision();
        let header = format!("_ga=GA1.1.1; {COOKIE_NAME}={}; other=1", encode(&d, KEY));
        let read = |header: Option<&str>, key: Option<&[u8]>, policy: &str| {
            read_consent_cookie(header, key, policy, NOW)
        };
        assert_eq!(
            read(Some(&header), Some(KEY), "2026-11").state,
            ConsentState::Decided(d.clone())
        );
        assert_eq!(
            read(None, Some(KEY), "2026-11").state,
            ConsentState::Undecided
        );
        assert_eq!(
            read(Some(&header), None, "2026-11").state,
            ConsentState::Undecided,
            "no key: nothing is trusted"
        );
        let garbage = read(
            Some(&format!("{COOKIE_NAME}=garbage")),
            Some(KEY),
            "2026-11",
        );
        assert_eq!(
            (garbage.state, garbage.signed, garbage.rejected),
            (
                ConsentState::Undecided,
                None,
                Some(CookieRejection::Malformed)
            )
        );
        let other_policy = read(Some(&header), Some(KEY), "2027-01");
        assert_eq!(other_policy.state, ConsentState::Undecided);
        assert_eq!(
            other_policy.signed,
            Some(d),
            "still signed: still the visitor's id"
        );
        assert_eq!(other_policy.rejected, Some(CookieRejection::OtherPolicy));
        assert_eq!(cookie_names("a=1; b=2;c=3"), ["a", "b", "c"]);
    }

    #[test]
    fn a_cookie_without_the_host_prefix_is_never_read() {
        // A sibling subdomain can set `sivo_consent` for the whole domain; it cannot set a
        // `__Host-` cookie, which the browser takes only from this host.
        let header = format!("{LEGACY_COOKIE_NAME}={}", encode(&decision(), KEY));
        let reading = read_consent_cookie(Some(&header), Some(KEY), "2026-11", NOW);
        assert_eq!(
            (reading.state, reading.signed),
            (ConsentState::Undecided, None)
        );
        assert!(COOKIE_NAME.starts_with("__Host-"));
        let present = cookie_names(&header);
        let clear = clear_legacy_cookie(&present).unwrap();
        assert!(
            clear.starts_with("sivo_consent=;") && !clear.contains("Domain"),
            "{clear}"
        );
        assert_eq!(clear_legacy_cookie(&["other".to_owned()]), None);
    }

    #[test]
    fn the_cookie_names_its_recent_records_and_v1_still_verifies() {
        let mut d = decision();
        d.recent_records = vec![
            "1795810796123-abcdef01".into(),
            "1795810790000-00000002".into(),
        ];
        assert_eq!(verify(&encode(&d, KEY), KEY, "2026-11", NOW), Ok(d.clone()));
        let v1 = "v1|07070707070707070707070707070707|10|1795810796123|1827346796123|2026-11";
        let value = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(v1),
            URL_SAFE_NO_PAD.encode(tag(KEY, v1.as_bytes()))
        );
        let old = verify(&value, KEY, "2026-11", NOW).unwrap();
        assert!(old.recent_records.is_empty());
        d.recent_records = vec!["1795810796123-abcdef01".into(); MAX_RECENT_RECORDS];
        assert!(
            encode(&d, KEY).len() <= MAX_VALUE_LEN,
            "the longest cookie still fits"
        );
        assert!(!is_record_ref("1795810796123-ABCDEF01") && !is_record_ref("1-abcdef01"));
    }

    #[test]
    fn authentication_needs_the_signature_but_not_a_current_decision() {
        let d = decision();
        let value = encode(&d, KEY);
        assert_eq!(authenticate(&value, KEY), Ok(d.id));
        let old = Decision {
            policy_version: "0".into(),
            expires_at: 1,
            given_at: 0,
            ..d.clone()
        };
        assert_eq!(
            authenticate(&encode(&old, KEY), KEY),
            Ok(d.id),
            "an old or expired decision is still theirs"
        );
        assert_eq!(
            authenticate(&value, b"another-key-another-key-another-key!!"),
            Err(CookieRejection::BadSignature)
        );
        assert_eq!(
            authenticate("garbage", KEY),
            Err(CookieRejection::Malformed)
        );
    }

    #[test]
    fn set_cookie_has_the_contract_attributes() {
        let sc = set_cookie(&decision(), KEY, 365);
        assert!(sc.starts_with("__Host-sivo_consent="));
        assert!(!sc.contains("Domain"), "__Host- forbids a Domain");
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=31536000",
        ] {
            assert!(sc.contains(attr), "{attr} in {sc}");
        }
        let clear = clear_cookie();
        assert!(
            clear.starts_with("__Host-sivo_consent=;") && clear.contains("Max-Age=0"),
            "{clear}"
        );
    }
}
