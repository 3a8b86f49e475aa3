//! The use cases of the visitor's rights over their own consent (GDPR arts. 15, 17, 20):
//! download their records and erase them. Records are found by the consent id in the
//! visitor's signed cookie and by nothing else.

use crate::clock::EpochMillis;
use crate::config::Config;
use crate::consent::cookie::{
    clear_cookie, clear_legacy_cookie, cookie_names, cookie_value, signed_decision, COOKIE_NAME,
};
use crate::consent::request::MAX_BODY_BYTES;
use crate::consent::{Choices, Decision};
use crate::failure::Failure;
use crate::gate::cookies::expire_disallowed;
use crate::proof::record::Keyring;
use crate::proof::records::{erase as erase_records, keys_of, open_all, ErasureRequest};
use crate::proof::store::{KeyValueStore, StoreError};

/// The decision of the request's validly signed cookie: its consent id, which the holder
/// owns, and its recent records. The signature alone is checked: a decision that expired or
/// was given under an older policy is still theirs.
///
/// # Errors
/// [`Failure::NotConfigured`] without a signing key; [`Failure::NoConsentCookie`] without a
/// validly signed cookie (forged, edited, re-signed with another key).
pub fn owner(cookie_header: Option<&str>, config: &Config) -> Result<Decision, Failure> {
    let key = config
        .signing_key
        .as_ref()
        .ok_or(Failure::NotConfigured("signing key missing"))?;
    cookie_header
        .and_then(|h| cookie_value(h, COOKIE_NAME))
        .and_then(|v| signed_decision(&v, key.expose()).ok())
        .ok_or(Failure::NoConsentCookie)
}

fn keyring_of(config: &Config) -> Result<Keyring<'_>, Failure> {
    config
        .record_keyring()
        .ok_or(Failure::NotConfigured("record key missing"))
}

/// A download of the visitor's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The attachment's file name.
    pub filename: String,
    /// `{"consent_id", "records": [...]}`, decrypted under the current or the previous key;
    /// a record under a key no longer held is listed as unreadable with its date.
    pub body: String,
}

/// Every record of the cookie's owner, decrypted.
///
/// # Errors
/// See [`owner`]; [`Failure::NotConfigured`] without the record key;
/// [`Failure::Unavailable`] when the store fails.
pub async fn download<S: KeyValueStore>(
    store: &S,
    config: &Config,
    cookie_header: Option<&str>,
) -> Result<Download, Failure> {
    let owner = owner(cookie_header, config)?;
    let id = owner.id;
    let keyring = keyring_of(config)?;
    let keys = keys_of(store, id, &owner.recent_records)
        .await
        .map_err(unavailable)?;
    let records = open_all(store, &keys, &keyring)
        .await
        .map_err(unavailable)?;
    Ok(Download {
        filename: format!("sivo-consent-{id}.json"),
        body: serde_json::json!({ "consent_id": id, "records": records }).to_string(),
    })
}

/// Checks the body of the preferences page's erase form: exactly `action=erase`.
///
/// # Errors
/// [`Failure::TooLarge`] over 4 KiB; [`Failure::BadRequest`] for anything else.
pub fn check_erase_form(body: &[u8]) -> Result<(), Failure> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Failure::TooLarge);
    }
    if body != b"action=erase" {
        return Err(Failure::BadRequest("send action=erase".into()));
    }
    Ok(())
}

/// An erasure done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    /// How many records were deleted.
    pub records: usize,
    /// The consent cookie's deletion, then the expiry of every analytics cookie present.
    pub set_cookies: Vec<String>,
    /// The erasure note could not be kept: the detail, for the log.
    pub note_error: Option<String>,
}

/// Erases every record of the cookie's owner, keeps the erasure note, and says which
/// cookies to expire.
///
/// # Errors
/// See [`owner`]; [`Failure::Unavailable`] when the store fails part-way (nothing claims
/// success; a retry finishes the job).
pub async fn erase<S: KeyValueStore>(
    store: &S,
    config: &Config,
    cookie_header: Option<&str>,
    host: &str,
    now: EpochMillis,
) -> Result<Erased, Failure> {
    let owner = owner(cookie_header, config)?;
    let id = owner.id;
    let request = ErasureRequest {
        id,
        known: &owner.recent_records,
        keys: keyring_of(config)?,
        now,
        retention_days: config.record_retention_days,
    };
    let erasure = erase_records(store, request).await.map_err(unavailable)?;
    let mut set_cookies = vec![clear_cookie()];
    let present = cookie_header.map(cookie_names).unwrap_or_default();
    set_cookies.extend(clear_legacy_cookie(&present));
    set_cookies.extend(expire_disallowed(&present, Choices::NONE, host));
    Ok(Erased {
        records: erasure.records,
        set_cookies,
        note_error: erasure
            .note_error
            .map(|e| format!("records erased, but the erasure entry was not kept: {e}")),
    })
}

fn unavailable(e: StoreError) -> Failure {
    Failure::Unavailable(e.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::decide::tests::{config, run, NOW};
    use crate::consent::ConsentId;
    use crate::proof::memory::{MemoryStore, Op};
    use crate::proof::store::block_on;

    /// A visitor who accepted, then refused: two records, and the `Cookie` header they hold.
    fn visitor_with_two_records(store: &MemoryStore) -> (ConsentId, String) {
        let first = run(store, "action=accept_all", None, None, 1).unwrap();
        let second = run(store, "action=reject_all", Some(&first.decision), None, 2).unwrap();
        let cookie = second.set_cookies[0].split(';').next().unwrap().to_owned();
        (second.decision.id, format!("_ga=GA1.1.1; {cookie}"))
    }

    #[test]
    fn the_download_holds_exactly_the_owners_records() {
        let store = MemoryStore::new(NOW);
        let (id, cookie) = visitor_with_two_records(&store);
        run(&store, "action=accept_all", None, None, 9).unwrap();
        let download = block_on(download(&store, &config(), Some(&cookie))).unwrap();
        assert_eq!(download.filename, format!("sivo-consent-{id}.json"));
        let body: serde_json::Value = serde_json::from_str(&download.body).unwrap();
        let methods: Vec<_> = body["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["method"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(methods, ["accept_all", "reject_all"]);
    }

    /// The test configuration with `current` as the record key and `previous` before it.
    fn rotated(current: &str, previous: Option<&str>) -> Config {
        let base = config();
        let mut secrets = vec![
            (
                "CONSENT_SIGNING_KEY",
                crate::consent::decide::tests::SIGNING,
            ),
            ("RECORD_ENCRYPTION_KEY", current),
            // The audit log's own key (32 bytes of 0x09), unrelated to the record keys.
            (
                "AUDIT_LOG_KEY",
                "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=",
            ),
        ];
        secrets.extend(previous.map(|p| ("RECORD_ENCRYPTION_KEY_PREVIOUS", p)));
        let c = crate::config::parse_config(
            |name| (name == "ORIGIN_URL").then(|| "https://origin.example".to_owned()),
            |name| {
                secrets
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            },
        );
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_ne!(c.record_key, base.record_key);
        c
    }

    /// 32 bytes of 0x0b, in base64: the key after the test configuration's.
    const NEW_KEY: &str = "CwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCws=";
    /// The test configuration's record key, 32 bytes of 7.
    const OLD_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

    #[test]
    fn after_a_key_rotation_the_download_holds_records_under_both_keys() {
        let store = MemoryStore::new(NOW);
        let (_, cookie) = visitor_with_two_records(&store);
        let rotating = rotated(NEW_KEY, Some(OLD_KEY));
        let body = |config: &Config| -> serde_json::Value {
            serde_json::from_str(
                &block_on(download(&store, config, Some(&cookie)))
                    .unwrap()
                    .body,
            )
            .unwrap()
        };
        let methods = |v: &serde_json::Value| -> Vec<String> {
            v["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["method"].as_str().unwrap_or("unreadable").to_owned())
                .collect()
        };
        assert_eq!(methods(&body(&rotating)), ["accept_all", "reject_all"]);

        // The previous key gone: listed as unreadable with their dates, never an error.
        let gone = body(&rotated(NEW_KEY, None));
        assert_eq!(methods(&gone), ["unreadable", "unreadable"]);
        for record in gone["records"].as_array().unwrap() {
            assert_eq!(record["unreadable"], true);
            assert_eq!(record["at"], "2026-11-27T20:19:56.123Z", "{record}");
        }
    }

    #[test]
    fn no_valid_cookie_no_records() {
        let store = MemoryStore::new(NOW);
        visitor_with_two_records(&store);
        let forged = format!("{COOKIE_NAME}=forged.value");
        for cookie in [None, Some(forged.as_str()), Some("other=1")] {
            let refused = block_on(download(&store, &config(), cookie)).unwrap_err();
            assert_eq!(refused, Failure::NoConsentCookie, "{cookie:?}");
        }
    }

    #[test]
    fn a_failing_store_is_unavailable_not_an_empty_download() {
        let store = MemoryStore::new(NOW);
        let (_, cookie) = visitor_with_two_records(&store);
        store.fail(Op::List, "rec:", 0);
        let failed = block_on(download(&store, &config(), Some(&cookie))).unwrap_err();
        assert!(
            matches!(failed, Failure::Unavailable(ref d) if d.contains("listing a visitor's records"))
        );
        store.heal();
        store.fail(Op::Get, "rec:", 1);
        assert!(matches!(
            block_on(download(&store, &config(), Some(&cookie))),
            Err(Failure::Unavailable(_))
        ));
    }

    #[test]
    fn erasure_removes_every_record_and_expires_the_cookies() {
        let store = MemoryStore::new(NOW);
        let (id, cookie) = visitor_with_two_records(&store);
        let erased = block_on(erase(
            &store,
            &config(),
            Some(&cookie),
            "sivocenter.com",
            NOW,
        ))
        .unwrap();
        assert_eq!(erased.records, 2);
        assert!(erased.set_cookies[0].starts_with(&format!("{COOKIE_NAME}=;")));
        assert!(erased.set_cookies.iter().any(|c| c.starts_with("_ga=;")));
        assert!(block_on(keys_of(&store, id, &[])).unwrap().is_empty());
        assert!(store.keys().iter().all(|k| k.starts_with("erasure:")));
    }

    #[test]
    fn erasure_is_idempotent_a_second_call_writes_nothing() {
        let store = MemoryStore::new(NOW);
        let (_, cookie) = visitor_with_two_records(&store);
        let erase_now = || {
            block_on(erase(
                &store,
                &config(),
                Some(&cookie),
                "sivocenter.com",
                NOW,
            ))
            .unwrap()
        };
        assert_eq!(erase_now().records, 2);
        let after_first = store.keys();
        let calls = store.calls().len();
        let again = erase_now();
        assert_eq!(again.records, 0);
        assert!(again.note_error.is_none());
        assert_eq!(store.keys(), after_first, "no second erasure note");
        let writes: Vec<_> = store.calls()[calls..]
            .iter()
            .filter(|(op, _)| matches!(op, Op::Put | Op::Delete))
            .cloned()
            .collect();
        assert!(writes.is_empty(), "{writes:?}");
    }

    #[test]
    fn erasure_does_not_trust_a_lagging_listing() {
        let store = MemoryStore::new(NOW);
        store.hide_new_keys_from_list(60_000);
        let (id, cookie) = visitor_with_two_records(&store);
        let download = block_on(download(&store, &config(), Some(&cookie))).unwrap();
        assert_eq!(
            download.body.matches("\"method\"").count(),
            2,
            "both, though unlisted"
        );
        let erased = block_on(erase(
            &store,
            &config(),
            Some(&cookie),
            "sivocenter.com",
            NOW,
        ))
        .unwrap();
        assert_eq!(erased.records, 2);
        assert!(
            store.keys().iter().all(|k| k.starts_with("erasure:")),
            "{:?}",
            store.keys()
        );
        assert!(block_on(keys_of(&store, id, &[])).unwrap().is_empty());
    }

    #[test]
    fn an_erasure_that_cannot_finish_does_not_claim_success() {
        let store = MemoryStore::new(NOW);
        let (_, cookie) = visitor_with_two_records(&store);
        store.fail(Op::Delete, "rec:", 1);
        let failed = block_on(erase(
            &store,
            &config(),
            Some(&cookie),
            "sivocenter.com",
            NOW,
        ));
        assert!(
            matches!(failed, Err(Failure::Unavailable(ref d)) if d.contains("retry to finish"))
        );
    }

    #[test]
    fn the_erase_form_says_exactly_one_thing() {
        assert_eq!(check_erase_form(b"action=erase"), Ok(()));
        assert!(matches!(
            check_erase_form(b"action=erase&x=1"),
            Err(Failure::BadRequest(_))
        ));
        assert_eq!(
            check_erase_form(&[b'a'; MAX_BODY_BYTES + 1]),
            Err(Failure::TooLarge)
        );
    }
}
