//! The use case "a visitor decides": which consent id the decision continues, the proof
//! record, the rule "no proof, no consent", and the cookies the answer sets. The worker only
//! reads the request and writes the answer.

use crate::clock::EpochMillis;
use crate::config::Config;
use crate::consent::cookie::{
    clear_legacy_cookie, cookie_names, set_cookie, MAX_RECENT_RECORDS, RECENT_RECORD_MS,
};
use crate::consent::request::DecisionRequest;
use crate::consent::{ConsentId, Decision};
use crate::failure::Failure;
use crate::gate::cookies::expire_disallowed;
use crate::proof::record::{ProofRecord, RecordContext, Requester};
use crate::proof::records::append;
use crate::proof::store::KeyValueStore;

/// The worker's version, sealed into each record beside the banner's hash.
pub const WORKER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the request tells about the visitor and where they decided.
#[derive(Debug, Clone, Copy)]
pub struct Visitor<'a> {
    /// Who decided, as the record keeps it.
    pub requester: Requester<'a>,
    /// The path the request was sent to (the decision's page when the form names none).
    pub request_path: &'a str,
    /// The request's host, for expiring cookies on every domain variant.
    pub host: &'a str,
    /// The request's `Cookie` header.
    pub cookie_header: Option<&'a str>,
}

/// Everything a decision needs.
#[derive(Debug)]
pub struct DecideInput<'a> {
    /// What the visitor asked for.
    pub wanted: &'a DecisionRequest,
    /// The decision of the visitor's validly signed cookie, whatever its age or policy.
    pub previous: Option<&'a Decision>,
    /// Who and where.
    pub visitor: Visitor<'a>,
    /// SHA-256 of the banner the visitor was shown.
    pub banner_sha256: &'a str,
    /// Now.
    pub now: EpochMillis,
    /// 28 random bytes: a fresh consent id (16) and the record's nonce (12).
    pub random: [u8; 28],
    /// The visitor's network is over the abuse limit (`DECISION_LIMITER`): a decision that
    /// grants something is refused; a refusal or withdrawal still takes effect, its record not
    /// written (docs/compliance.md rule 8: refusing is never harder than consenting).
    pub over_limit: bool,
}

/// A decision taken.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The decision now in force.
    pub decision: Decision,
    /// The `Set-Cookie` values of the answer: the consent cookie, then the expiry of every
    /// cookie the decision no longer allows (docs/compliance.md rule 9).
    pub set_cookies: Vec<String>,
    /// A refusal whose record could not be stored still takes effect; this says why the
    /// record is missing, for the log.
    pub record_error: Option<String>,
}

/// The consent id a new decision is recorded under: the id of any cookie whose signature
/// verifies, however old and under whatever policy (so a returning visitor's older records
/// stay theirs to download and erase); otherwise a fresh id.
#[must_use]
pub fn continued_id(previous: Option<&Decision>, fresh: [u8; 16]) -> ConsentId {
    previous.map_or_else(|| ConsentId::from_random(fresh), |p| p.id)
}

/// The records the new cookie names: the new one first, then the previous cookie's that
/// are still recent enough for KV's listing to miss them.
#[must_use]
pub fn recent_records(
    previous: Option<&Decision>,
    new: Option<String>,
    now: EpochMillis,
) -> Vec<String> {
    let still_recent = |r: &&String| {
        r.get(..13)
            .and_then(|at| at.parse::<EpochMillis>().ok())
            .is_some_and(|at| at + RECENT_RECORD_MS > now)
    };
    new.into_iter()
        .chain(
            previous
                .into_iter()
                .flat_map(|p| p.recent_records.iter().filter(still_recent).cloned()),
        )
        .take(MAX_RECENT_RECORDS)
        .collect()
}

/// Records `input.wanted` in `store` and says what cookies to set.
///
/// # Errors
/// [`Failure::NotConfigured`] without the keys; [`Failure::NotRecorded`] when a consent
/// (anything granted) could not be proven: no proof, no consent, so nothing is switched on.
/// A refusal never fails for want of a record.
pub async fn decide<S: KeyValueStore>(
    store: &S,
    config: &Config,
    input: &DecideInput<'_>,
) -> Result<Decided, Failure> {
    let (Some(signing_key), Some(record_key)) = (&config.signing_key, &config.record_key) else {
        return Err(Failure::NotConfigured("consent keys missing"));
    };
    let wanted = input.wanted;
    if input.over_limit && wanted.choices.any() {
        return Err(Failure::TooManyRequests);
    }
    let (fresh, nonce) = split_random(input.random);
    let id = continued_id(input.previous, fresh);
    let mut decision = Decision::new(
        id,
        wanted.choices,
        &config.policy_version,
        input.now,
        config.consent_max_age_days,
    );
    let stored = if input.over_limit {
        Err("a refusal over the rate limit: its record is not written".to_owned())
    } else {
        let record = proof_record(config, input, id);
        append(store, &record, record_key.expose(), nonce)
            .await
            .map_err(|e| e.to_string())
    };
    let record_error = stored
        .as_ref()
        .err()
        .map(|e| format!("decision not recorded: {e}"));
    decision.recent_records = recent_records(input.previous, stored.ok(), input.now);
    if let Some(detail) = &record_error {
        if wanted.choices.any() {
            return Err(Failure::NotRecorded {
                detail: detail.clone(),
                back: wanted.redirect_target().to_owned(),
            });
        }
    }
    let mut set_cookies = vec![set_cookie(
        &decision,
        signing_key.expose(),
        config.consent_max_age_days,
    )];
    let present = input
        .visitor
        .cookie_header
        .map(cookie_names)
        .unwrap_or_default();
    set_cookies.extend(clear_legacy_cookie(&present));
    set_cookies.extend(expire_disallowed(
        &present,
        wanted.choices,
        input.visitor.host,
    ));
    Ok(Decided {
        decision,
        set_cookies,
        record_error,
    })
}

fn split_random(random: [u8; 28]) -> ([u8; 16], [u8; 12]) {
    let mut id = [0; 16];
    let mut nonce = [0; 12];
    id.copy_from_slice(&random[..16]);
    nonce.copy_from_slice(&random[16..]);
    (id, nonce)
}

fn proof_record(config: &Config, input: &DecideInput<'_>, id: ConsentId) -> ProofRecord {
    let v = &input.visitor;
    let wanted = input.wanted;
    ProofRecord::new(
        id,
        wanted.choices,
        wanted.method,
        &config.policy_version,
        wanted.gpc_refused_marketing,
        input.now,
        &RecordContext {
            banner_sha256: input.banner_sha256,
            worker_version: WORKER_VERSION,
            // The page the decision was made on: the form says, else the request's path.
            path: wanted.return_to.as_deref().unwrap_or(v.request_path),
            retention_days: config.record_retention_days,
            requester: v.requester,
        },
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::parse_config;
    use crate::consent::cookie::{verify, COOKIE_NAME};
    use crate::consent::request::{parse_decision, BodyKind};
    use crate::consent::Choices;
    use crate::i18n::Lang;
    use crate::proof::memory::{MemoryStore, Op};
    use crate::proof::record::open;
    use crate::proof::records::keys_of;
    use crate::proof::store::block_on;

    pub(crate) const NOW: u64 = 1_795_810_796_123;
    pub(crate) const SIGNING: &str = "test-signing-key-0123456789-abcdefghijklmnop";
    const RECORD_KEY_B64: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

    pub(crate) fn config() -> Config {
        parse_config(
            |name| match name {
                "ORIGIN_URL" => Some("https://origin.example".into()),
                _ => None,
            },
            |name| match name {
                "CONSENT_SIGNING_KEY" => Some(SIGNING.into()),
                "RECORD_ENCRYPTION_KEY" => Some(RECORD_KEY_B64.into()),
                _ => None,
            },
        )
    }

    fn form(body: &str) -> DecisionRequest {
        parse_decision(BodyKind::Form, body.as_bytes(), false).unwrap()
    }

    pub(crate) fn visitor(cookie_header: Option<&str>) -> Visitor<'_> {
        Visitor {
            requester: Requester {
                lang: Lang::Es,
                country: Some("ES"),
                sec_gpc: None,
                client_ip: Some("203.0.113.77"),
                user_agent: Some("Mozilla/5.0"),
            },
            request_path: "/_consent",
            host: "www.sivocenter.com",
            cookie_header,
        }
    }

    pub(crate) fn run(
        store: &MemoryStore,
        body: &str,
        previous: Option<&Decision>,
        cookie_header: Option<&str>,
        random: u8,
    ) -> Result<Decided, Failure> {
        run_with(
            &config(),
            store,
            body,
            previous,
            cookie_header,
            random,
            false,
        )
    }

    fn run_with(
        config: &Config,
        store: &MemoryStore,
        body: &str,
        previous: Option<&Decision>,
        cookie_header: Option<&str>,
        random: u8,
        over_limit: bool,
    ) -> Result<Decided, Failure> {
        let wanted = form(body);
        block_on(decide(
            store,
            config,
            &DecideInput {
                wanted: &wanted,
                previous,
                visitor: visitor(cookie_header),
                banner_sha256: "ab12",
                now: NOW,
                random: [random; 28],
                over_limit,
            },
        ))
    }

    fn record_of(store: &MemoryStore, key: &str) -> ProofRecord {
        let config = config();
        let stored = store.raw(key).unwrap().0;
        open(&stored, &config.record_keyring().unwrap(), key).unwrap()
    }

    #[test]
    fn over_the_abuse_limit_a_refusal_takes_effect_unrecorded_and_a_grant_is_refused() {
        let config = config();
        let decide_over_limit = |store: &MemoryStore, body: &str| {
            run_with(&config, store, body, None, Some("_ga=GA1.1.1.1"), 3, true)
        };
        let store = MemoryStore::new(NOW);
        let refused = decide_over_limit(&store, "action=reject_all").unwrap();
        assert_eq!(refused.decision.choices, Choices::NONE);
        assert!(refused.set_cookies[0].starts_with(&format!("{COOKIE_NAME}=")));
        assert!(
            refused.set_cookies.iter().any(|c| c.starts_with("_ga=;")),
            "the analytics cookies are expired: {:?}",
            refused.set_cookies
        );
        assert!(refused
            .record_error
            .is_some_and(|e| e.contains("rate limit")));
        assert!(store.keys().is_empty(), "nothing written");
        assert_eq!(
            decide_over_limit(&store, "action=accept_all").unwrap_err(),
            Failure::TooManyRequests
        );
        assert!(store.keys().is_empty());
    }

    #[test]
    fn a_consent_is_a_signed_cookie_and_one_sealed_record() {
        let store = MemoryStore::new(NOW);
        let decided = run(
            &store,
            "action=accept_all&return_to=%2Fprecios",
            None,
            None,
            1,
        )
        .unwrap();
        assert_eq!(decided.decision.choices, Choices::ALL);
        assert_eq!(decided.decision.id, ConsentId::from_random([1; 16]));
        let cookie = &decided.set_cookies[0];
        assert!(cookie.starts_with(&format!("{COOKIE_NAME}=")));
        let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
        assert_eq!(
            verify(value, SIGNING.as_bytes(), "1", NOW + 1),
            Ok(decided.decision.clone())
        );
        let keys = block_on(keys_of(&store, decided.decision.id, &[])).unwrap();
        assert_eq!(keys.len(), 1);
        let record = record_of(&store, &keys[0]);
        assert_eq!(record.path, "/precios", "the page the banner was on");
        assert_eq!(record.ip_truncated.as_deref(), Some("203.0.113.0"));
        assert_eq!(record.banner_sha256, "ab12");
        assert!(decided.record_error.is_none());
    }

    #[test]
    fn a_change_of_mind_continues_the_chain_and_keeps_the_first_record() {
        let store = MemoryStore::new(NOW);
        let first = run(&store, "action=accept_all", None, None, 1).unwrap();
        let first_key = block_on(keys_of(&store, first.decision.id, &[]))
            .unwrap()
            .remove(0);
        let sealed_before = store.raw(&first_key).unwrap();
        let second = run(&store, "action=reject_all", Some(&first.decision), None, 2).unwrap();
        assert_eq!(second.decision.id, first.decision.id);
        assert_eq!(
            block_on(keys_of(&store, first.decision.id, &[]))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            store.raw(&first_key).unwrap(),
            sealed_before,
            "never rewritten"
        );
    }

    #[test]
    fn a_returning_visitor_keeps_their_id_across_a_policy_change_or_expiry() {
        let store = MemoryStore::new(NOW);
        let first = run(&store, "action=accept_all", None, None, 1).unwrap();
        let old = Decision {
            policy_version: "0".into(),
            expires_at: NOW - 1,
            ..first.decision.clone()
        };
        let again = run(&store, "action=reject_all", Some(&old), None, 2).unwrap();
        assert_eq!(again.decision.id, first.decision.id);
        assert_eq!(
            block_on(keys_of(&store, first.decision.id, &[]))
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn the_cookie_names_the_new_record_and_the_previous_recent_ones() {
        let store = MemoryStore::new(NOW);
        let first = run(&store, "action=accept_all", None, None, 1).unwrap();
        assert_eq!(first.decision.recent_records.len(), 1);
        let second = run(&store, "action=reject_all", Some(&first.decision), None, 2).unwrap();
        assert_eq!(second.decision.recent_records.len(), 2, "both are recent");
        assert_eq!(
            second.decision.recent_records[1],
            first.decision.recent_records[0]
        );
        let later = recent_records(
            Some(&second.decision),
            Some("1795811796123-0000000a".into()),
            NOW + RECENT_RECORD_MS + 1,
        );
        assert_eq!(
            later,
            ["1795811796123-0000000a"],
            "older ones are listed by now"
        );
        let many = Decision {
            recent_records: vec![second.decision.recent_records[0].clone(); 10],
            ..second.decision.clone()
        };
        assert_eq!(
            recent_records(Some(&many), None, NOW).len(),
            MAX_RECENT_RECORDS
        );
    }

    #[test]
    fn no_proof_no_consent() {
        let store = MemoryStore::new(NOW);
        store.fail(Op::Put, "rec:", 0);
        let failed = run(
            &store,
            "action=save&analytics=on&return_to=%2Fprecios",
            None,
            None,
            1,
        )
        .unwrap_err();
        match failed {
            Failure::NotRecorded { detail, back } => {
                assert_eq!(back, "/precios");
                assert!(detail.starts_with("decision not recorded: "), "{detail}");
                // The store's own error names the key; the log line never holds the id.
                let logged = crate::log::redact_ids(&detail);
                assert!(!logged.contains(&"01".repeat(16)), "{logged}");
            }
            other => panic!("{other:?}"),
        }
        assert!(store.keys().is_empty());
    }

    #[test]
    fn a_refusal_takes_effect_even_without_its_record() {
        let store = MemoryStore::new(NOW);
        store.fail(Op::Put, "day:", 0);
        let decided = run(
            &store,
            "action=reject_all",
            None,
            Some("_ga=GA1.1.1; _gcl_au=1"),
            1,
        )
        .unwrap();
        assert_eq!(decided.decision.choices, Choices::NONE);
        assert!(decided.record_error.unwrap().contains("rolled back"));
        assert!(store.keys().is_empty(), "nothing half-written");
        let expired: Vec<_> = decided.set_cookies.iter().skip(1).collect();
        assert!(expired.iter().any(|c| c.starts_with("_ga=;")));
        assert!(expired.iter().any(|c| c.starts_with("_gcl_au=;")));
    }

    #[test]
    fn without_keys_nothing_is_decided() {
        let store = MemoryStore::new(NOW);
        let mut config = config();
        config.signing_key = None;
        let failed = run_with(&config, &store, "action=reject_all", None, None, 0, false);
        assert_eq!(
            failed.unwrap_err(),
            Failure::NotConfigured("consent keys missing")
        );
        assert!(store.calls().is_empty(), "not even a write was tried");
    }
}
