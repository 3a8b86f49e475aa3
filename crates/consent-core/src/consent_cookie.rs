//! The consent cookie: the decision, signed with HMAC-SHA256 so the worker can trust it on
//! every page view without reading KV.
//!
//! Value: `base64url(payload) "." base64url(tag)`, where payload is
//! `v1|<id>|<analytics 0/1><marketing 0/1>|<given_at ms>|<expires_at ms>|<policy version>`
//! and tag = HMAC-SHA256(key, "sivo-consent cookie\n" + payload). The cookie is `HttpOnly`:
//! scripts never read it; `GET /_consent/state` tells them what it says.

use crate::clock::EpochMillis;
use crate::consent::{Choices, ConsentId, ConsentState, Decision};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The cookie's name.
pub const COOKIE_NAME: &str = "sivo_consent";

/// Longest cookie value this worker ever writes is about 160 bytes; anything much longer
/// is not ours and is not even decoded.
const MAX_VALUE_LEN: usize = 512;

/// Domain separation for the MAC, so the key cannot be used to forge anything else.
const MAC_CONTEXT: &[u8] = b"sivo-consent cookie\n";

type HmacSha256 = Hmac<Sha256>;

/// The signed cookie value for `decision`.
#[must_use]
pub fn encode(decision: &Decision, key: &[u8]) -> String {
    let payload = format!(
        "v1|{}|{}{}|{}|{}|{}",
        decision.id,
        u8::from(decision.choices.analytics),
        u8::from(decision.choices.marketing),
        decision.given_at,
        decision.expires_at,
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
    if decision.expires_at <= now || decision.given_at > decision.expires_at {
        return Err(CookieRejection::Expired);
    }
    if decision.policy_version != policy_version {
        return Err(CookieRejection::OtherPolicy);
    }
    Ok(decision)
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

/// The decision in a cookie value whose signature verifies, whatever its age or policy.
fn signed_decision(value: &str, key: &[u8]) -> Result<Decision, CookieRejection> {
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
    let mut parts = payload.splitn(6, '|');
    if parts.next()? != "v1" {
        return None;
    }
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
    let policy_version = parts.next()?.to_owned();
    Some(Decision {
        id,
        choices,
        policy_version,
        given_at,
        expires_at,
    })
}

/// The consent state carried by a request's `Cookie` header. Anything wrong with the
/// cookie means [`ConsentState::Undecided`]; the reason is returned for the log.
#[must_use]
pub fn state_from_cookie_header(
    header: Option<&str>,
    key: Option<&[u8]>,
    policy_version: &str,
    now: EpochMillis,
) -> (ConsentState, Option<CookieRejection>) {
    let (Some(header), Some(key)) = (header, key) else {
        return (ConsentState::Undecided, None);
    };
    let Some(value) = cookie_value(header, COOKIE_NAME) else {
        return (ConsentState::Undecided, None);
    };
    match verify(&value, key, policy_version, now) {
        Ok(decision) => (ConsentState::Decided(decision), None),
        Err(why) => (ConsentState::Undecided, Some(why)),
    }
}

/// The value of the cookie `name` in a `Cookie` header, if present (the first one wins,
/// as browsers send the most specific first).
#[must_use]
pub fn cookie_value(header: &str, name: &str) -> Option<String> {
    Cookie::split_parse(header)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The names of every cookie in a `Cookie` header.
#[must_use]
pub fn cookie_names(header: &str) -> Vec<String> {
    Cookie::split_parse(header)
        .filter_map(Result::ok)
        .map(|c| c.name().to_owned())
        .collect()
}

/// The `Set-Cookie` value that stores `decision` for `max_age_days`.
#[must_use]
pub fn set_cookie(decision: &Decision, key: &[u8], max_age_days: u32) -> String {
    Cookie::build((COOKIE_NAME, encode(decision, key)))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::days(i64::from(max_age_days)))
        .build()
        .to_string()
}

/// The `Set-Cookie` value that deletes the consent cookie.
#[must_use]
pub fn clear_cookie() -> String {
    Cookie::build((COOKIE_NAME, ""))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .expires(cookie::time::OffsetDateTime::UNIX_EPOCH)
        .build()
        .to_string()
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
            "v2|x",
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
        assert_eq!(
            state_from_cookie_header(Some(&header), Some(KEY), "2026-11", NOW).0,
            ConsentState::Decided(d)
        );
        assert_eq!(
            state_from_cookie_header(None, Some(KEY), "2026-11", NOW).0,
            ConsentState::Undecided
        );
        assert_eq!(
            state_from_cookie_header(Some(&header), None, "2026-11", NOW).0,
            ConsentState::Undecided,
            "no key: nothing is trusted"
        );
        let (state, why) =
            state_from_cookie_header(Some("sivo_consent=garbage"), Some(KEY), "2026-11", NOW);
        assert_eq!(
            (state, why),
            (ConsentState::Undecided, Some(CookieRejection::Malformed))
        );
        assert_eq!(cookie_names("a=1; b=2;c=3"), ["a", "b", "c"]);
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
        assert!(sc.starts_with("sivo_consent="));
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
            clear.starts_with("sivo_consent=;") && clear.contains("Max-Age=0"),
            "{clear}"
        );
    }
}
