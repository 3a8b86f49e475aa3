//! Property tests of the consent cookie and of the `POST /_consent` request (`consent::cookie`,
//! `consent::request`), through the public API only.
//!
//! Each property runs `support::DEFAULT_CASES` cases in a plain `cargo test`, or as many as
//! `PROPTEST_CASES` says (`scripts/proptest-long.sh` runs a million). A failure is written to
//! `tests/consent.proptest-regressions` and replayed first on the next run.

mod support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use consent_core::consent::cookie::{
    authenticate, cookie_names, cookie_value, encode, read_consent_cookie, verify, CookieRejection,
    COOKIE_NAME,
};
use consent_core::consent::request::{
    body_kind, check_declared_length, is_cross_site, is_safe_return_path, parse_decision,
    BadDecision, BodyKind, MAX_BODY_BYTES,
};
use consent_core::consent::{Choices, ConsentState, DecisionMethod};
use consent_core::failure::Failure;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use support::{
    apply, bytes, decision, edit, expected_form, json_body, one_of_or_text, return_path,
    stays_on_site, text, KEY, POLICY,
};

/// The configuration of every property here, its failures kept in
/// `tests/consent.proptest-regressions`.
fn config() -> ProptestConfig {
    support::config("tests/consent.proptest-regressions")
}

/// The decision a `Cookie` header carries and why a sent cookie counted as none.
fn state_of(
    header: Option<&str>,
    key: Option<&[u8]>,
    policy: &str,
    now: u64,
) -> (ConsentState, Option<CookieRejection>) {
    let reading = read_consent_cookie(header, key, policy, now);
    (reading.state, reading.rejected)
}

// ---------------------------------------------------------------------------------------
// The consent cookie.

proptest! {
    #![proptest_config(config())]

    /// Arbitrary text is never a decision, and no parser of the cookie panics on it.
    #[test]
    fn no_text_is_a_decision(
        value in prop_oneof![4 => text(100), 1 => text(600)],
        header in text(120),
        name in text(16),
        other_key in bytes(64),
        now in any::<u64>(),
    ) {
        prop_assert!(verify(&value, KEY, POLICY, now).is_err());
        prop_assert!(authenticate(&value, KEY).is_err());
        let _ = verify(&value, &other_key, POLICY, now);
        let (state, _) = state_of(Some(&header), Some(KEY), POLICY, now);
        prop_assert_eq!(state, ConsentState::Undecided);
        let _ = cookie_value(&header, &name);
        let _ = cookie_names(&header);
    }

    /// A cookie signed with the real key round-trips, in a header among others too.
    #[test]
    fn a_signed_decision_round_trips(d in decision(), offset in any::<u64>(), others in text(40)) {
        let value = encode(&d, KEY);
        let now = d.given_at + offset % (d.expires_at - d.given_at);
        prop_assert_eq!(verify(&value, KEY, &d.policy_version, now), Ok(d.clone()));
        prop_assert_eq!(authenticate(&value, KEY), Ok(d.id));
        let header = format!("{COOKIE_NAME}={value}; {others}");
        let (state, why) =
            state_of(Some(&header), Some(KEY), &d.policy_version, now);
        prop_assert_eq!((state, why), (ConsentState::Decided(d.clone()), None));
        prop_assert_eq!(
            verify(&value, KEY, &d.policy_version, d.expires_at),
            Err(CookieRejection::Expired)
        );
    }

    /// A signed value changed in any way (a byte replaced, inserted or removed, cut short,
    /// extended) never verifies or authenticates; nor does it under another key.
    #[test]
    fn a_changed_cookie_never_verifies(d in decision(), change in edit(), other_key in bytes(64)) {
        let value = encode(&d, KEY);
        if other_key != KEY {
            prop_assert_eq!(
                verify(&value, &other_key, &d.policy_version, d.given_at),
                Err(CookieRejection::BadSignature)
            );
        }
        let Some(changed) = apply(&value, &change) else { return Ok(()) };
        prop_assert!(verify(&changed, KEY, &d.policy_version, d.given_at).is_err(), "{}", changed);
        prop_assert!(authenticate(&changed, KEY).is_err());
        let header = format!("{COOKIE_NAME}={changed}");
        let (state, _) =
            state_of(Some(&header), Some(KEY), &d.policy_version, d.given_at);
        // The header's own syntax may cut the change off again (`…;junk`): only then may it
        // count.
        prop_assert!(
            state == ConsentState::Undecided
                || cookie_value(&header, COOKIE_NAME).as_deref() == Some(value.as_str())
        );
    }

    /// One decision's payload with a made-up tag, or with another decision's tag, is a bad
    /// signature.
    #[test]
    fn a_payload_needs_its_own_tag(d in decision(), e in decision(), tag in bytes(40)) {
        let (mine, other) = (encode(&d, KEY), encode(&e, KEY));
        let payload = mine.split_once('.').map_or("", |(p, _)| p);
        let forged = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&tag));
        prop_assert_eq!(
            verify(&forged, KEY, &d.policy_version, d.given_at),
            Err(CookieRejection::BadSignature)
        );
        let (other_payload, other_tag) = other.split_once('.').unwrap_or_default();
        if other_payload != payload {
            let swapped = format!("{payload}.{other_tag}");
            prop_assert_eq!(authenticate(&swapped, KEY), Err(CookieRejection::BadSignature));
        }
    }
}

// ---------------------------------------------------------------------------------------
// POST /_consent.

fn any_body() -> impl Strategy<Value = Vec<u8>> {
    let padded = (support::form_body(), 0usize..1200).prop_map(|(mut body, extra)| {
        body.extend(std::iter::repeat_n(
            b'a',
            MAX_BODY_BYTES + extra - body.len().min(MAX_BODY_BYTES),
        ));
        body
    });
    prop_oneof![
        1 => bytes(5000),
        1 => bytes(200),
        2 => text(120).prop_map(String::into_bytes),
        3 => support::form_body(),
        2 => json_body().prop_map(|(b, _)| b),
        1 => padded,
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Every body is a decision or one of the documented refusals, 400 or 413, never a 5xx;
    /// over 4096 bytes is always (and only then) `TooLarge`.
    #[test]
    fn every_refusal_is_a_documented_4xx(
        body in any_body(),
        json in any::<bool>(),
        gpc in any::<bool>(),
    ) {
        let kind = if json { BodyKind::Json } else { BodyKind::Form };
        match parse_decision(kind, &body, gpc) {
            Ok(d) => {
                prop_assert!(body.len() <= MAX_BODY_BYTES);
                prop_assert!(d.return_to.as_deref().is_none_or(is_safe_return_path));
                prop_assert!(!(gpc && d.choices.marketing), "GPC refuses marketing");
                prop_assert_eq!(d.method == DecisionMethod::Api, json);
                prop_assert!(!json || d.return_to.is_none());
            }
            Err(bad) => {
                prop_assert_eq!(bad == BadDecision::TooLarge, body.len() > MAX_BODY_BYTES);
                prop_assert!(
                    matches!(bad, BadDecision::TooLarge | BadDecision::Malformed(_)),
                    "{:?}", bad
                );
                let status = Failure::from(bad.clone()).status();
                prop_assert_eq!(status, if bad == BadDecision::TooLarge { 413 } else { 400 });
            }
        }
    }

    /// A form body means exactly what the contract says, or is refused as malformed.
    #[test]
    fn a_form_means_what_the_contract_says(body in support::form_body(), gpc in any::<bool>()) {
        let got = parse_decision(BodyKind::Form, &body, gpc);
        if body.len() > MAX_BODY_BYTES {
            prop_assert_eq!(got, Err(BadDecision::TooLarge));
            return Ok(());
        }
        match (got, expected_form(&body)) {
            (Ok(d), Some((wanted, method, return_to))) => {
                prop_assert_eq!(d.choices.analytics, wanted.analytics);
                prop_assert_eq!(d.choices.marketing, wanted.marketing && !gpc);
                prop_assert_eq!(d.gpc_refused_marketing, wanted.marketing && gpc);
                prop_assert_eq!(d.method, method);
                prop_assert_eq!(d.return_to, return_to);
            }
            (Err(BadDecision::Malformed(_)), None) => {}
            (got, want) => prop_assert!(
                false,
                "{:?} parsed {:?}, expected {:?}", String::from_utf8_lossy(&body), got, want
            ),
        }
    }

    /// A JSON body means exactly `{"analytics": bool, "marketing": bool}` or is refused.
    #[test]
    fn a_json_body_means_what_the_contract_says(
        (body, expected) in json_body(),
        gpc in any::<bool>(),
    ) {
        match (parse_decision(BodyKind::Json, &body, gpc), expected) {
            (Ok(d), Some(c)) => {
                let marketing = c.marketing && !gpc;
                prop_assert_eq!(d.choices, Choices { analytics: c.analytics, marketing });
                prop_assert_eq!(d.gpc_refused_marketing, c.marketing && gpc);
            }
            (Err(BadDecision::Malformed(_)), None) => {}
            (got, want) => prop_assert!(
                false,
                "{:?} parsed {:?}, expected {:?}", String::from_utf8_lossy(&body), got, want
            ),
        }
    }

    /// A path `is_safe_return_path` accepts starts with one `/` (not `//`, not `/\`), holds
    /// no control, whitespace or backslash, and resolves, as a browser resolves a
    /// `Location`, to this site.
    #[test]
    fn a_safe_return_path_stays_on_the_site(p in return_path()) {
        if is_safe_return_path(&p) {
            prop_assert!(stays_on_site(&p), "{:?}", p);
            let page = url::Url::parse("https://sivocenter.com/precios?x=1").unwrap();
            let target = page.join(&p);
            prop_assert!(
                target.as_ref().is_ok_and(|t| t.origin() == page.origin()),
                "{:?} -> {:?}", p, target
            );
        }
    }

    /// The request's headers: no panic, and each refusal is the documented one.
    #[test]
    fn request_headers_are_judged_as_documented(
        length in option::of(text(24)),
        n in prop_oneof![0usize..8192, any::<usize>()],
        ws in select(&["", " ", "\t"][..]),
        content_type in option::of(one_of_or_text(&[
            "application/json",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "text/plain",
            "Application/JSON",
        ], 40)),
    ) {
        match check_declared_length(length.as_deref()) {
            Ok(()) => {}
            Err(bad) => prop_assert_eq!(Failure::from(bad).status(), 413),
        }
        let declared = format!("{ws}{n}{ws}");
        prop_assert_eq!(check_declared_length(Some(&declared)).is_err(), n > MAX_BODY_BYTES);
        match body_kind(content_type.as_deref()) {
            Ok(_) => {}
            Err(bad) => {
                prop_assert_eq!(&bad, &BadDecision::UnsupportedMediaType);
                prop_assert_eq!(Failure::from(bad).status(), 400);
            }
        }
    }

    /// Another site is refused: any `Sec-Fetch-Site` but `same-origin` and `none`, any
    /// `Origin` whose host is not the request's.
    #[test]
    fn cross_site_requests_are_recognised(
        site in option::of(one_of_or_text(
            &["same-origin", "none", "same-site", "cross-site", "SAME-ORIGIN"],
            12,
        )),
        origin_host in one_of_or_text(
            &["sivocenter.com", "SivoCenter.com", "evil.example", "sivocenter.com.evil.com", ""],
            20,
        ),
        scheme in select(&["https://", "http://", "", "null"][..]),
    ) {
        let origin = format!("{scheme}{origin_host}");
        let cross = is_cross_site(site.as_deref(), Some(&origin), "sivocenter.com");
        let bad_site = site.as_deref().is_some_and(|s| {
            !s.eq_ignore_ascii_case("same-origin") && !s.eq_ignore_ascii_case("none")
        });
        let bad_origin =
            !scheme.ends_with("://") || !origin_host.eq_ignore_ascii_case("sivocenter.com");
        // `Origin: null` (a form under Referrer-Policy: no-referrer) with the browser's own
        // `Sec-Fetch-Site: same-origin` is this site.
        let null_from_this_site = origin == "null"
            && site.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("same-origin"));
        prop_assert_eq!(
            cross,
            bad_site || (bad_origin && !null_from_this_site),
            "{:?} {:?}", site, origin
        );
        prop_assert_eq!(is_cross_site(site.as_deref(), None, "sivocenter.com"), bad_site);
    }
}
