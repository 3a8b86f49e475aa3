//! Property tests of the configuration and of the failures' answers (`config`, `failure`), through the public API only.
//!
//! Each property runs `support::DEFAULT_CASES` cases in a plain `cargo test`, or as many as
//! `PROPTEST_CASES` says (`scripts/proptest-long.sh` runs a million). A failure is written to
//! `tests/config_and_failure.proptest-regressions` and replayed first on the next run.

mod support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use consent_core::config::{parse_config, Origin};
use consent_core::consent::request::BadDecision;
use consent_core::failure::Failure;
use consent_core::i18n::Lang;
use proptest::option;
use proptest::prelude::*;
use std::collections::HashMap;
use support::{one_of_or_text, text};

/// The configuration of every property here, its failures kept in
/// `tests/config_and_failure.proptest-regressions`.
fn config() -> ProptestConfig {
    support::config("tests/config_and_failure.proptest-regressions")
}

// ---------------------------------------------------------------------------------------
// Configuration and failures.

const VARS: [&str; 6] = [
    "ORIGIN_URL",
    "GA4_MEASUREMENT_ID",
    "GTM_CONTAINER_ID",
    "POLICY_VERSION",
    "CONSENT_MAX_AGE_DAYS",
    "RECORD_RETENTION_DAYS",
];

fn var_value() -> BoxedStrategy<String> {
    one_of_or_text(
        &[
            "",
            "route",
            "https://origin.example",
            "http://h:8080/",
            "ftp://x",
            "https://a/b",
            "G-ABC123",
            "GTM-XYZ9",
            "G-",
            "2026-11",
            "0",
            "1",
            "365",
            "366",
            "3650",
            "-1",
            " 30 ",
        ],
        40,
    )
}

/// A secret: usable (32+ characters; 32 bytes in base64), short, or any text.
fn secret() -> impl Strategy<Value = Option<String>> {
    option::of(prop_oneof![
        "[A-Za-z0-9]{32,48}",
        any::<[u8; 32]>().prop_map(|k| STANDARD.encode(k)),
        "[A-Za-z0-9+/=]{8,31}",
    ])
}

proptest! {
    #![proptest_config(config())]

    /// Any settings give a working configuration within its bounds, and no secret is ever
    /// shown: not in the health answer, the problems or the debug form.
    #[test]
    fn configuration_is_bounded_and_never_shows_a_secret(
        vars in proptest::collection::vec(option::of(var_value()), 6),
        signing in secret(),
        record in secret(),
    ) {
        let vars: HashMap<&str, String> =
            VARS.iter().zip(vars).filter_map(|(k, v)| v.map(|v| (*k, v))).collect();
        let c = parse_config(
            |k| vars.get(k).cloned(),
            |k| match k {
                "CONSENT_SIGNING_KEY" => signing.clone(),
                "RECORD_ENCRYPTION_KEY" => record.clone(),
                _ => None,
            },
        );
        prop_assert!((1..=365).contains(&c.consent_max_age_days));
        prop_assert!((1..=3650).contains(&c.record_retention_days));
        prop_assert!(c.policy_version.len() <= 32 && !c.policy_version.is_empty());
        prop_assert!(c.signing_key.as_ref().is_none_or(|k| k.expose().len() >= 32));
        prop_assert!(c.record_key.as_ref().is_none_or(|k| k.expose().len() == 32));
        if let Origin::Url(url) = &c.origin {
            let http = url.starts_with("https://") || url.starts_with("http://");
            prop_assert!(http && !url.ends_with('/'), "{}", url);
        }
        if !c.origin.is_development() {
            let usable = signing.as_ref().is_some_and(|s| s.trim().len() >= 32);
            prop_assert_eq!(c.signing_key.is_some(), usable);
        }
        let facts = consent_core::config::HealthFacts {
            loopback: false,
            schema: consent_core::config::SchemaState::Current,
            commit: None,
            built_at: None,
        };
        let shown = format!("{} {:?}", c.health(&facts), c);
        for s in [&signing, &record].into_iter().flatten() {
            prop_assert!(!shown.contains(s.trim()), "a secret in {}", shown);
        }
    }

    /// A malformed request's detail, whatever it holds, is JSON-escaped in a 400 answer and
    /// stays out of the error log.
    #[test]
    fn a_bad_request_answers_json(detail in text(100), es in any::<bool>()) {
        let failure = Failure::from(BadDecision::Malformed(detail.clone()));
        let lang = if es { Lang::Es } else { Lang::En };
        let v: serde_json::Value = serde_json::from_str(&failure.to_json(lang)).unwrap();
        prop_assert_eq!(v["detail"].as_str(), Some(detail.as_str()));
        prop_assert_eq!((failure.status(), failure.log_detail()), (400, None));
    }
}
