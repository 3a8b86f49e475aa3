//! `POST /_consent`: reading a decision from a form or JSON body, strictly.
//!
//! Anything malformed is refused as a whole, so nothing is written for it: an unknown
//! field, a repeated one, a value other than the ones the banner sends.

use crate::consent::{Choices, DecisionMethod};
use serde::Deserialize;

/// Bodies over this size are refused with `413` (README, "The decision and the consent cookie").
pub const MAX_BODY_BYTES: usize = 4096;

/// Longest `return_to` path accepted.
const MAX_RETURN_PATH: usize = 1024;

/// A decision the visitor asked to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest {
    /// The choices to record, after Global Privacy Control was applied.
    pub choices: Choices,
    /// How the decision was given.
    pub method: DecisionMethod,
    /// Where to send the browser back to (form posts only): a same-origin path.
    pub return_to: Option<String>,
    /// True when the browser's `Sec-GPC: 1` turned a requested marketing consent into a refusal.
    pub gpc_refused_marketing: bool,
}

impl DecisionRequest {
    /// True when the answer is a redirect back to the page (a form), not JSON (the API).
    #[must_use]
    pub fn answered_with_redirect(&self) -> bool {
        self.method != DecisionMethod::Api
    }

    /// The same-site page the browser goes back to after a form decision.
    #[must_use]
    pub fn redirect_target(&self) -> &str {
        self.return_to.as_deref().unwrap_or("/")
    }
}

/// Why a decision request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadDecision {
    /// Over [`MAX_BODY_BYTES`].
    #[error("the body is larger than 4 KiB")]
    TooLarge,
    /// Neither a form nor JSON.
    #[error("send application/x-www-form-urlencoded or application/json")]
    UnsupportedMediaType,
    /// The body does not say a decision the way the contract does.
    #[error("{0}")]
    Malformed(String),
}

fn malformed(message: impl Into<String>) -> BadDecision {
    BadDecision::Malformed(message.into())
}

/// The two body formats of `POST /_consent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/x-www-form-urlencoded`: the banner's and the preferences page's forms.
    Form,
    /// `application/json`: `{"analytics": bool, "marketing": bool}`.
    Json,
}

/// Refuses a body whose declared `Content-Length` is over [`MAX_BODY_BYTES`] before a byte
/// of it is read. (A chunked body has none: the reader stops at the limit instead.)
///
/// # Errors
/// [`BadDecision::TooLarge`].
pub fn check_declared_length(content_length: Option<&str>) -> Result<(), BadDecision> {
    match content_length.and_then(|l| l.trim().parse::<usize>().ok()) {
        Some(length) if length > MAX_BODY_BYTES => Err(BadDecision::TooLarge),
        _ => Ok(()),
    }
}

/// The body kind of a `Content-Type`.
///
/// # Errors
/// [`BadDecision::UnsupportedMediaType`] for anything else.
pub fn body_kind(content_type: Option<&str>) -> Result<BodyKind, BadDecision> {
    let mime = content_type
        .and_then(|ct| ct.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(BodyKind::Form)
    } else if mime.eq_ignore_ascii_case("application/json") {
        Ok(BodyKind::Json)
    } else {
        Err(BadDecision::UnsupportedMediaType)
    }
}

/// Parses a body of `kind`; `gpc` is whether the request carried `Sec-GPC: 1`.
///
/// # Errors
/// See [`BadDecision`].
pub fn parse_decision(
    kind: BodyKind,
    body: &[u8],
    gpc: bool,
) -> Result<DecisionRequest, BadDecision> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BadDecision::TooLarge);
    }
    let (requested, method, return_to) = match kind {
        BodyKind::Form => parse_form(body)?,
        BodyKind::Json => parse_json(body)?,
    };
    // docs/compliance.md rule 16: Global Privacy Control is a refusal of marketing.
    let gpc_refused_marketing = gpc && requested.marketing;
    let choices = Choices {
        analytics: requested.analytics,
        marketing: requested.marketing && !gpc,
    };
    Ok(DecisionRequest {
        choices,
        method,
        return_to,
        gpc_refused_marketing,
    })
}

fn parse_form(body: &[u8]) -> Result<(Choices, DecisionMethod, Option<String>), BadDecision> {
    std::str::from_utf8(body).map_err(|_| malformed("the form is not UTF-8"))?;
    let mut action = None;
    let mut analytics = None;
    let mut marketing = None;
    let mut return_to = None;
    let mut via = None;
    for (name, value) in form_urlencoded::parse(body) {
        let slot = match name.as_ref() {
            "action" => &mut action,
            "analytics" => &mut analytics,
            "marketing" => &mut marketing,
            "return_to" => &mut return_to,
            "via" => &mut via,
            other => return Err(malformed(format!("unknown field {:?}", truncate(other)))),
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(malformed(format!("field {name:?} given twice")));
        }
    }
    let checkbox = |field: &str, value: Option<String>| match value.as_deref() {
        None => Ok(false),
        Some("on") => Ok(true),
        Some(_) => Err(malformed(format!("{field} must be \"on\" or absent"))),
    };
    let ticked = Choices {
        analytics: checkbox("analytics", analytics)?,
        marketing: checkbox("marketing", marketing)?,
    };
    let from_preferences = match via.as_deref() {
        None | Some("banner") => false,
        Some("preferences") => true,
        Some(_) => return Err(malformed("via must be \"banner\" or \"preferences\"")),
    };
    // Checkboxes are sent whichever button is pressed: they count only for "save".
    let (choices, method) = match (action.as_deref(), from_preferences) {
        (Some("accept_all"), false) => (Choices::ALL, DecisionMethod::AcceptAll),
        (Some("accept_all"), true) => (Choices::ALL, DecisionMethod::Preferences),
        (Some("reject_all"), false) => (Choices::NONE, DecisionMethod::RejectAll),
        (Some("reject_all"), true) => (Choices::NONE, DecisionMethod::Withdraw),
        (Some("save"), false) => (ticked, DecisionMethod::Save),
        (Some("save"), true) => (ticked, DecisionMethod::Preferences),
        (None, _) => return Err(malformed("action is missing")),
        (Some(_), _) => return Err(malformed("action must be accept_all, reject_all or save")),
    };
    // A page the worker will not send the browser to (absolute, too long, a backslash…) is
    // no reason to refuse the visitor's decision: it is recorded, and the browser goes to a
    // safe page of this site instead.
    let return_to = return_to.filter(|path| is_safe_return_path(path));
    Ok((choices, method, return_to))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDecision {
    analytics: bool,
    marketing: bool,
}

fn parse_json(body: &[u8]) -> Result<(Choices, DecisionMethod, Option<String>), BadDecision> {
    let d: JsonDecision = serde_json::from_slice(body).map_err(|e| {
        malformed(format!(
            "expected {{\"analytics\": bool, \"marketing\": bool}}: {e}"
        ))
    })?;
    Ok((
        Choices {
            analytics: d.analytics,
            marketing: d.marketing,
        },
        DecisionMethod::Api,
        None,
    ))
}

/// True for a path on this site: starts with one `/`, no scheme, no host, no backslash, no
/// control characters. Anything else could send the browser elsewhere after a decision.
#[must_use]
pub fn is_safe_return_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.len() <= MAX_RETURN_PATH
        && !path
            .chars()
            .any(|c| c.is_control() || c == '\\' || c.is_whitespace())
}

/// True when a request comes from another site and must be refused (`403`): a
/// `Sec-Fetch-Site` other than `same-origin` or `none`, or an `Origin` whose host is not
/// `host`. Requests with neither (non-browser clients) cannot be forged by a third-party
/// page and pass. `Origin: null` is what a form sends under `Referrer-Policy: no-referrer`:
/// with the browser's own `Sec-Fetch-Site: same-origin` it is this site.
#[must_use]
pub fn is_cross_site(sec_fetch_site: Option<&str>, origin: Option<&str>, host: &str) -> bool {
    if let Some(site) = sec_fetch_site {
        if !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none") {
            return true;
        }
        if origin == Some("null") && site.eq_ignore_ascii_case("same-origin") {
            return false;
        }
    }
    match origin {
        None => false,
        Some(origin) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest);
            origin_host.is_none_or(|h| !h.eq_ignore_ascii_case(host))
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Result<DecisionRequest, BadDecision> {
        parse_decision(BodyKind::Form, body.as_bytes(), false)
    }

    #[test]
    fn the_three_banner_actions() {
        let accept = form("action=accept_all&return_to=%2Fprecios").unwrap();
        assert_eq!(
            (accept.choices, accept.method, accept.return_to.as_deref()),
            (Choices::ALL, DecisionMethod::AcceptAll, Some("/precios"))
        );
        let reject = form("action=reject_all&analytics=on").unwrap();
        assert_eq!(
            (reject.choices, reject.method),
            (Choices::NONE, DecisionMethod::RejectAll),
            "ticks do not count for reject"
        );
        let save = form("analytics=on&action=save").unwrap();
        assert_eq!(
            (save.choices, save.method),
            (
                Choices {
                    analytics: true,
                    marketing: false
                },
                DecisionMethod::Save
            )
        );
        let none = form("action=save").unwrap();
        assert_eq!(
            none.choices,
            Choices::NONE,
            "nothing ticked means nothing granted"
        );
    }

    #[test]
    fn the_preferences_page_is_recorded_as_such() {
        assert_eq!(
            form("action=save&marketing=on&via=preferences")
                .unwrap()
                .method,
            DecisionMethod::Preferences
        );
        assert_eq!(
            form("action=reject_all&via=preferences").unwrap().method,
            DecisionMethod::Withdraw
        );
    }

    #[test]
    fn json_bodies() {
        let d = parse_decision(
            BodyKind::Json,
            br#"{"analytics":true,"marketing":false}"#,
            false,
        )
        .unwrap();
        assert_eq!(
            (d.choices, d.method, d.return_to),
            (
                Choices {
                    analytics: true,
                    marketing: false
                },
                DecisionMethod::Api,
                None
            )
        );
    }

    #[test]
    fn gpc_refuses_marketing_and_says_so() {
        let d = parse_decision(BodyKind::Form, b"action=accept_all", true).unwrap();
        assert_eq!(
            (d.choices, d.gpc_refused_marketing),
            (
                Choices {
                    analytics: true,
                    marketing: false
                },
                true
            )
        );
        let d = parse_decision(BodyKind::Form, b"action=reject_all", true).unwrap();
        assert_eq!((d.choices, d.gpc_refused_marketing), (Choices::NONE, false));
        let d = parse_decision(
            BodyKind::Json,
            br#"{"analytics":false,"marketing":true}"#,
            true,
        )
        .unwrap();
        assert_eq!((d.choices, d.gpc_refused_marketing), (Choices::NONE, true));
    }

    #[test]
    fn every_malformed_form_is_refused() {
        for body in [
            "",
            "action=",
            "action=accept",
            "action=ACCEPT_ALL",
            "action=accept_all&action=reject_all",
            "action=save&analytics=yes",
            "action=save&analytics=on&analytics=on",
            "action=save&marketing=1",
            "action=save&admin=true",
            "action=accept_all&via=elsewhere",
            "analytics=on&marketing=on",
        ] {
            assert!(
                matches!(form(body), Err(BadDecision::Malformed(_))),
                "{body:?}"
            );
        }
        assert!(matches!(
            parse_decision(BodyKind::Form, b"action=accept_all&x=\xff", false),
            Err(BadDecision::Malformed(_))
        ));
    }

    #[test]
    fn a_return_page_the_worker_will_not_use_does_not_refuse_the_decision() {
        for body in [
            "action=accept_all&return_to=https%3A%2F%2Fevil.example",
            "action=accept_all&return_to=%2F%2Fevil.example",
            "action=accept_all&return_to=%2F%5Cevil.example",
            "action=accept_all&return_to=%2Fsearch%3Fq%3Da%5Cb",
            "action=accept_all&return_to=relative",
            "action=accept_all&return_to=%2Fa%0d%0aSet-Cookie:x",
            &format!("action=accept_all&return_to=%2F{}", "a".repeat(2000)),
        ] {
            let d = form(body).unwrap();
            assert_eq!(
                (d.choices, d.return_to.as_deref()),
                (Choices::ALL, None),
                "{body}"
            );
            assert_eq!(d.redirect_target(), "/", "a safe page of this site");
        }
    }

    #[test]
    fn every_malformed_json_is_refused() {
        for body in [
            "",
            "{}",
            "[]",
            "null",
            r#"{"analytics":true}"#,
            r#"{"analytics":"true","marketing":false}"#,
            r#"{"analytics":1,"marketing":0}"#,
            r#"{"analytics":true,"marketing":false,"admin":true}"#,
            r#"{"analytics":true,"marketing":false}{"#,
            r#"{"analytics":true,"analytics":false,"marketing":false}"#,
        ] {
            assert!(
                matches!(
                    parse_decision(BodyKind::Json, body.as_bytes(), false),
                    Err(BadDecision::Malformed(_))
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn size_and_type_limits() {
        let big = format!(
            "action=accept_all&return_to=/{}",
            "a".repeat(MAX_BODY_BYTES)
        );
        assert_eq!(form(&big), Err(BadDecision::TooLarge));
        assert_eq!(
            body_kind(Some("application/x-www-form-urlencoded; charset=UTF-8")),
            Ok(BodyKind::Form)
        );
        assert_eq!(body_kind(Some("Application/JSON")), Ok(BodyKind::Json));
        assert_eq!(
            body_kind(Some("multipart/form-data; boundary=x")),
            Err(BadDecision::UnsupportedMediaType)
        );
        assert_eq!(body_kind(None), Err(BadDecision::UnsupportedMediaType));
    }

    #[test]
    fn cross_site_detection() {
        assert!(!is_cross_site(
            Some("same-origin"),
            Some("https://sivocenter.com"),
            "sivocenter.com"
        ));
        assert!(!is_cross_site(None, None, "sivocenter.com"));
        assert!(!is_cross_site(
            None,
            Some("http://127.0.0.1:8787"),
            "127.0.0.1:8787"
        ));
        assert!(is_cross_site(Some("cross-site"), None, "sivocenter.com"));
        assert!(is_cross_site(Some("same-site"), None, "sivocenter.com"));
        assert!(is_cross_site(
            None,
            Some("https://evil.example"),
            "sivocenter.com"
        ));
        assert!(is_cross_site(None, Some("null"), "sivocenter.com"));
        assert!(
            !is_cross_site(Some("same-origin"), Some("null"), "sivocenter.com"),
            "a form under Referrer-Policy: no-referrer"
        );
        assert!(is_cross_site(
            Some("cross-site"),
            Some("null"),
            "sivocenter.com"
        ));
        assert!(is_cross_site(Some("none"), Some("null"), "sivocenter.com"));
        assert!(is_cross_site(
            Some("same-origin"),
            Some("https://sivocenter.com.evil.example"),
            "sivocenter.com"
        ));
    }
}
