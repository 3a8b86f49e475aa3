//! What the product does with proof records, over any [`KeyValueStore`]: append a record
//! (both its keys or neither), find an id's records, read them, erase them and leave the
//! erasure note. Written once, tested here against the in-memory store's faults and lag, and
//! run in production over Workers KV.

use crate::clock::{rfc3339, EpochMillis};
use crate::consent::ConsentId;
use crate::proof::record::{
    day_index_keys_of, erasure_entry, loggable_record_key, made_at, open, record_key, record_keys,
    records_prefix, seal, Keyring, ProofRecord, RecordError,
};
use crate::proof::store::{Entry, KeyValueStore, StoreError};

/// Most list pages read for one visitor: 1,000 keys each, far beyond any real history,
/// and well inside KV's 1,000 operations per invocation once the reads are added.
pub const MAX_LIST_PAGES: usize = 5;

/// Why a record was not stored. Nothing is left half-written, or the text says what was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The key material is unusable.
    #[error("record not sealed: {0}")]
    Seal(RecordError),
    /// The store refused or failed.
    #[error("record not stored: {0}")]
    Store(String),
}

/// Seals `record` and writes it with its day index entry (`record_key` both encrypts the
/// record and keys its index tag). If the second write fails, the first is deleted, so a
/// failure leaves nothing half-written. Returns the record's reference, for the cookie.
///
/// # Errors
/// See [`AppendError`].
pub async fn append<S: KeyValueStore>(
    store: &S,
    record: &ProofRecord,
    record_key: &[u8],
    nonce: [u8; 12],
) -> Result<String, AppendError> {
    let keys = record_keys(record.id, record.at_ms, &nonce, record_key);
    let sealed = seal(record, record_key, nonce, &keys.record).map_err(AppendError::Seal)?;
    let metadata = serde_json::to_value(record.stats_metadata())
        .map_err(|e| AppendError::Store(format!("metadata: {e}")))?;
    let entry = |value, metadata| Entry {
        value,
        expires_at_secs: record.kv_expiration(),
        metadata,
    };
    // The record carries no metadata: nothing about the visitor is readable beside their id.
    store
        .put(&keys.record, entry(&sealed, None))
        .await
        .map_err(|e| AppendError::Store(e.to_string()))?;
    if let Err(index_err) = store.put(&keys.day_index, entry("", Some(&metadata))).await {
        return Err(AppendError::Store(match store.delete(&keys.record).await {
            Ok(()) => format!("day index write failed ({index_err}); record rolled back"),
            Err(delete_err) => format!(
                "day index write failed ({index_err}) and the record {} could not be rolled back ({delete_err})",
                loggable_record_key(&keys.record)
            ),
        }));
    }
    Ok(keys.reference)
}

/// Every record key of `id`: those the store lists, and those of `known` references (the
/// cookie's recent records), which a lagging listing may not show yet.
///
/// # Errors
/// When a listing fails, or there are more than [`MAX_LIST_PAGES`] pages.
pub async fn keys_of<S: KeyValueStore>(
    store: &S,
    id: ConsentId,
    known: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut keys = listed_keys_of(store, id).await?;
    for reference in known {
        let key = record_key(id, reference);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.sort();
    Ok(keys)
}

async fn listed_keys_of<S: KeyValueStore>(
    store: &S,
    id: ConsentId,
) -> Result<Vec<String>, StoreError> {
    let prefix = records_prefix(id);
    let mut keys = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_LIST_PAGES {
        let page = store
            .list(&prefix, cursor.take())
            .await
            .map_err(|e| StoreError(format!("listing a visitor's records: {e}")))?;
        keys.extend(page.keys);
        match page.cursor {
            None => return Ok(keys),
            Some(next) => cursor = Some(next),
        }
    }
    Err(StoreError(format!(
        "a visitor has more than {MAX_LIST_PAGES} pages of records"
    )))
}

/// The records under `keys`, decrypted, as JSON, each opened with the key it names (the
/// current or the previous one). A record that does not open (sealed under a key no longer
/// held, tampered) is listed as unreadable with its date, from its KV key, rather than hidden
/// or failing the whole answer: `{"unreadable": true, "key", "at", "at_ms", "error"}`, and
/// `"key_id"` when the key it names is gone. One that expired between listing and reading is
/// left out.
///
/// # Errors
/// When a read fails.
pub async fn open_all<S: KeyValueStore>(
    store: &S,
    keys: &[String],
    keyring: &Keyring<'_>,
) -> Result<Vec<serde_json::Value>, StoreError> {
    let mut records = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(stored) = store
            .get(key)
            .await
            .map_err(|e| StoreError(format!("reading record {}: {e}", loggable_record_key(key))))?
        else {
            continue;
        };
        records.push(match open(&stored, keyring, key) {
            Ok(record) => serde_json::to_value(record).unwrap_or(serde_json::Value::Null),
            Err(e) => unreadable(key, e),
        });
    }
    Ok(records)
}

/// What a download shows of a record that does not open: its key, its date and why.
fn unreadable(key: &str, error: RecordError) -> serde_json::Value {
    let at_ms = made_at(key);
    let mut entry = serde_json::json!({
        "unreadable": true,
        "key": key,
        "at": at_ms.map(rfc3339),
        "at_ms": at_ms,
        "error": error.to_string(),
    });
    if let (RecordError::UnknownKey(id), Some(fields)) = (error, entry.as_object_mut()) {
        fields.insert("key_id".to_owned(), id.to_string().into());
    }
    entry
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// How many records were deleted.
    pub records: usize,
    /// The erasure note could not be kept (the records are gone all the same): the detail.
    pub note_error: Option<String>,
}

/// What to erase, and how to find it.
#[derive(Debug, Clone, Copy)]
pub struct ErasureRequest<'a> {
    /// Whose records.
    pub id: ConsentId,
    /// The recent records the cookie names (a lagging listing may miss them).
    pub known: &'a [String],
    /// The record keys: a record's day index tag is keyed with the key that sealed it.
    pub keys: Keyring<'a>,
    /// Now.
    pub now: EpochMillis,
    /// How long the erasure note is kept.
    pub retention_days: u32,
}

/// Deletes every record of the id (listed or named by the cookie) and its day index
/// entries, then keeps the erasure note (no personal data: the id's hash and the time).
/// Idempotent: a key that is gone already (erased before, expired) is not deleted again, and
/// when nothing was there no note is written, so repeated calls write nothing (KV's daily
/// writes are a budget a loop could otherwise spend).
///
/// # Errors
/// When listing or a deletion fails; what was deleted stays deleted, and a retry finishes
/// the job.
pub async fn erase<S: KeyValueStore>(
    store: &S,
    request: ErasureRequest<'_>,
) -> Result<Erasure, StoreError> {
    let ErasureRequest {
        id,
        now,
        retention_days,
        ..
    } = request;
    let mut found = Vec::new();
    for key in keys_of(store, id, request.known).await? {
        // Read, not written: a listing lags behind deletions as it does behind writes.
        if let Some(stored) = store.get(&key).await? {
            found.push((key, stored));
        }
    }
    if found.is_empty() {
        return Ok(Erasure {
            records: 0,
            note_error: None,
        });
    }
    for (key, stored) in &found {
        // The day index entries first: if the record's deletion then fails, a retry still
        // finds the record (by listing its id) and finishes the job. Each is keyed with the
        // key that sealed its record (a record from before key ids: either key may have).
        let mut indexes = Vec::new();
        for sealer in request.keys.sealers_of(stored) {
            for index in day_index_keys_of(key, sealer) {
                if !indexes.contains(&index) {
                    indexes.push(index);
                }
            }
        }
        for index in &indexes {
            store.delete(index).await.map_err(|e| incomplete(&e))?;
        }
        store.delete(key).await.map_err(|e| incomplete(&e))?;
    }
    let (note_key, note) = erasure_entry(id, now);
    let kept = store
        .put(
            &note_key,
            Entry {
                value: &note,
                expires_at_secs: Entry::expiry_after_days(now, retention_days),
                metadata: None,
            },
        )
        .await;
    Ok(Erasure {
        records: found.len(),
        note_error: kept.err().map(|e| e.to_string()),
    })
}

fn incomplete(e: &StoreError) -> StoreError {
    StoreError(format!("erasing a visitor's records: {e}; retry to finish"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{Choices, DecisionMethod};
    use crate::i18n::Lang;
    use crate::proof::memory::{MemoryStore, Op};
    use crate::proof::record::{KeyId, RecordContext, Requester};
    use crate::proof::store::block_on;

    const KEY: [u8; 32] = [7; 32];

    fn req(id: ConsentId, known: &[String], now: u64) -> ErasureRequest<'_> {
        ErasureRequest {
            id,
            known,
            keys: Keyring::new(&KEY, None),
            now,
            retention_days: 30,
        }
    }
    const NOW: u64 = 1_795_810_796_123;

    pub(crate) fn record(id: ConsentId, at: u64) -> ProofRecord {
        ProofRecord::new(
            id,
            Choices::ALL,
            DecisionMethod::AcceptAll,
            "1",
            false,
            at,
            &RecordContext {
                banner_sha256: "ab",
                worker_version: "0.1.0",
                path: "/",
                retention_days: 1460,
                requester: Requester {
                    lang: Lang::En,
                    country: Some("ES"),
                    sec_gpc: None,
                    client_ip: Some("203.0.113.9"),
                    user_agent: None,
                },
            },
        )
    }

    #[test]
    fn a_record_is_both_keys_with_its_sealed_expiry() {
        let store = MemoryStore::new(NOW);
        let id = ConsentId::from_random([1; 16]);
        let reference = block_on(append(&store, &record(id, NOW), &KEY, [9; 12])).unwrap();
        let key = record_key(id, &reference);
        let keys = store.keys();
        assert_eq!(keys.len(), 2);
        assert!(keys.contains(&key) && keys.iter().any(|k| k.starts_with("day:")));
        let (_, _, expiry) = store.raw(&key).unwrap();
        assert_eq!(expiry, (NOW + 1460 * 86_400_000) / 1000);
    }

    #[test]
    fn a_failed_second_write_is_rolled_back() {
        let store = MemoryStore::new(NOW);
        store.fail(Op::Put, "day:", 0);
        let id = ConsentId::from_random([1; 16]);
        let err = block_on(append(&store, &record(id, NOW), &KEY, [9; 12])).unwrap_err();
        assert!(err.to_string().contains("record rolled back"), "{err}");
        assert!(store.keys().is_empty(), "neither key is left");
    }

    #[test]
    fn a_rollback_that_fails_is_reported_with_the_key_left_behind() {
        let store = MemoryStore::new(NOW);
        store.fail(Op::Put, "day:", 0);
        store.fail(Op::Delete, "rec:", 0);
        let id = ConsentId::from_random([1; 16]);
        let err = block_on(append(&store, &record(id, NOW), &KEY, [9; 12])).unwrap_err();
        let left = store.keys();
        assert_eq!(left.len(), 1);
        assert!(err.to_string().contains(&left[0]), "{err}");
    }

    #[test]
    fn records_are_found_across_pages_and_read_back() {
        let store = MemoryStore::new(NOW).with_page_size(2);
        let id = ConsentId::from_random([1; 16]);
        let other = ConsentId::from_random([2; 16]);
        for i in 0..5u8 {
            block_on(append(
                &store,
                &record(id, NOW + u64::from(i)),
                &KEY,
                [i; 12],
            ))
            .unwrap();
        }
        block_on(append(&store, &record(other, NOW), &KEY, [9; 12])).unwrap();
        let keys = block_on(keys_of(&store, id, &[])).unwrap();
        assert_eq!(keys.len(), 5);
        let records = block_on(open_all(&store, &keys, &Keyring::new(&KEY, None))).unwrap();
        assert!(records.iter().all(|r| r["id"] == id.to_string().as_str()));
        let with_wrong_key =
            block_on(open_all(&store, &keys, &Keyring::new(&[1; 32], None))).unwrap();
        assert!(with_wrong_key[0]["error"].is_string(), "shown, not hidden");
    }

    const OLD: [u8; 32] = [8; 32];

    /// A store holding one record of `id` sealed under `OLD` and one under `KEY`.
    fn records_under_two_keys(id: ConsentId) -> MemoryStore {
        let store = MemoryStore::new(NOW);
        block_on(append(&store, &record(id, NOW), &OLD, [1; 12])).unwrap();
        block_on(append(&store, &record(id, NOW + 1), &KEY, [2; 12])).unwrap();
        store
    }

    #[test]
    fn with_the_previous_key_records_under_both_keys_open() {
        let id = ConsentId::from_random([1; 16]);
        let store = records_under_two_keys(id);
        let keys = block_on(keys_of(&store, id, &[])).unwrap();
        let records = block_on(open_all(&store, &keys, &Keyring::new(&KEY, Some(&OLD)))).unwrap();
        let times: Vec<_> = records.iter().map(|r| r["at_ms"].as_u64()).collect();
        assert_eq!(times, [Some(NOW), Some(NOW + 1)]);
        assert!(records
            .iter()
            .all(|r| r["id"] == id.to_string().as_str() && r.get("unreadable").is_none()));
    }

    #[test]
    fn a_record_whose_key_is_gone_is_listed_unreadable_with_its_date() {
        let id = ConsentId::from_random([1; 16]);
        let store = records_under_two_keys(id);
        let keys = block_on(keys_of(&store, id, &[])).unwrap();
        let records = block_on(open_all(&store, &keys, &Keyring::new(&KEY, None))).unwrap();
        assert_eq!(records.len(), 2, "listed, not hidden");
        let gone = &records[0];
        assert_eq!(gone["unreadable"], true);
        assert_eq!(gone["at"], "2026-11-27T20:19:56.123Z");
        assert_eq!(gone["at_ms"], NOW);
        assert_eq!(gone["key"], keys[0].as_str());
        assert_eq!(gone["key_id"], KeyId::of(&OLD).to_string().as_str());
        assert!(
            gone["error"].as_str().unwrap().contains("no longer held"),
            "{gone}"
        );
        assert!(gone.get("choices").is_none() && gone.get("ip_truncated").is_none());
        assert_eq!(
            records[1]["method"], "accept_all",
            "the current key's record opens"
        );
    }

    #[test]
    fn erasure_finds_each_records_index_under_the_key_that_sealed_it() {
        let id = ConsentId::from_random([1; 16]);
        let store = records_under_two_keys(id);
        let request = ErasureRequest {
            keys: Keyring::new(&KEY, Some(&OLD)),
            ..req(id, &[], NOW + 5)
        };
        assert_eq!(block_on(erase(&store, request)).unwrap().records, 2);
        assert!(
            store.keys().iter().all(|k| k.starts_with("erasure:")),
            "both index entries found: {:?}",
            store.keys()
        );
        // Without the previous key the record still goes; its index entry (no id, keyed
        // under a key no longer held) cannot be found, and expires with it.
        let store = records_under_two_keys(id);
        assert_eq!(
            block_on(erase(&store, req(id, &[], NOW + 5)))
                .unwrap()
                .records,
            2
        );
        assert!(block_on(keys_of(&store, id, &[])).unwrap().is_empty());
    }

    #[test]
    fn too_many_pages_is_an_error_not_a_partial_answer() {
        let store = MemoryStore::new(NOW).with_page_size(1);
        let id = ConsentId::from_random([1; 16]);
        for i in 0..=u8::try_from(MAX_LIST_PAGES).unwrap() {
            let at = NOW + u64::from(i);
            block_on(append(&store, &record(id, at), &KEY, [i; 12])).unwrap();
        }
        assert!(block_on(keys_of(&store, id, &[])).is_err());
    }

    #[test]
    fn erasure_deletes_both_keys_of_every_record_and_keeps_a_note() {
        let store = MemoryStore::new(NOW);
        let id = ConsentId::from_random([1; 16]);
        let other = ConsentId::from_random([2; 16]);
        block_on(append(&store, &record(id, NOW), &KEY, [1; 12])).unwrap();
        block_on(append(&store, &record(id, NOW + 1), &KEY, [2; 12])).unwrap();
        block_on(append(&store, &record(other, NOW), &KEY, [3; 12])).unwrap();
        let erased = block_on(erase(&store, req(id, &[], NOW + 5))).unwrap();
        assert_eq!(
            erased,
            Erasure {
                records: 2,
                note_error: None
            }
        );
        let left = store.keys();
        assert_eq!(left.iter().filter(|k| k.starts_with("erasure:")).count(), 1);
        assert_eq!(
            left.iter().filter(|k| k.starts_with("day:")).count(),
            1,
            "other's index"
        );
        assert!(
            block_on(keys_of(&store, other, &[])).unwrap().len() == 1,
            "others untouched"
        );
        assert!(!left.iter().any(|k| k.contains(&id.to_string())));
    }

    /// A store holding one record of one visitor.
    fn one_record() -> (MemoryStore, ConsentId) {
        let store = MemoryStore::new(NOW);
        let id = ConsentId::from_random([1; 16]);
        block_on(append(&store, &record(id, NOW), &KEY, [1; 12])).unwrap();
        (store, id)
    }

    #[test]
    fn an_erasure_that_fails_half_way_says_so_and_a_retry_finishes() {
        let (store, id) = one_record();
        store.fail(Op::Delete, "rec:", 0);
        let err = block_on(erase(&store, req(id, &[], NOW))).unwrap_err();
        assert!(err.0.contains("retry to finish"), "{err}");
        assert!(
            !store.keys().iter().any(|k| k.starts_with("erasure:")),
            "no note claims success"
        );
        store.heal();
        assert_eq!(
            block_on(erase(&store, req(id, &[], NOW))).unwrap().records,
            1
        );
        assert!(block_on(keys_of(&store, id, &[])).unwrap().is_empty());
    }

    #[test]
    fn a_failed_note_is_reported_but_the_records_are_gone() {
        let (store, id) = one_record();
        store.fail(Op::Put, "erasure:", 0);
        let erased = block_on(erase(&store, req(id, &[], NOW))).unwrap();
        assert_eq!(erased.records, 1);
        assert!(erased.note_error.is_some());
        assert!(store.keys().is_empty());
    }

    #[test]
    fn a_listing_that_lags_misses_a_new_record_and_the_cookies_reference_finds_it() {
        // KV lists eventually: a record written seconds ago may not be listed yet.
        let store = MemoryStore::new(NOW);
        let id = ConsentId::from_random([1; 16]);
        block_on(append(&store, &record(id, NOW), &KEY, [1; 12])).unwrap();
        store.hide_new_keys_from_list(60_000);
        store.set_now(NOW + 120_000);
        let newest = block_on(append(&store, &record(id, NOW + 120_000), &KEY, [2; 12])).unwrap();
        assert_eq!(
            block_on(keys_of(&store, id, &[])).unwrap().len(),
            1,
            "not listed yet"
        );
        let known = [newest];
        assert_eq!(block_on(keys_of(&store, id, &known)).unwrap().len(), 2);
        let erased = block_on(erase(&store, req(id, &known, NOW + 121_000))).unwrap();
        assert_eq!(erased.records, 2);
        assert!(
            store.keys().iter().all(|k| k.starts_with("erasure:")),
            "nothing of the id survives, its index entries included: {:?}",
            store.keys()
        );
    }

    #[test]
    fn the_record_key_holds_no_metadata_and_the_index_no_id() {
        let store = MemoryStore::new(NOW);
        let id = ConsentId::from_random([1; 16]);
        let reference = block_on(append(&store, &record(id, NOW), &KEY, [1; 12])).unwrap();
        let (_, metadata, _) = store.raw(&record_key(id, &reference)).unwrap();
        assert_eq!(
            metadata, None,
            "no choices, method or country beside the id"
        );
        let index = store
            .keys()
            .into_iter()
            .find(|k| k.starts_with("day:"))
            .unwrap();
        let (_, index_meta, _) = store.raw(&index).unwrap();
        assert_eq!(
            index_meta.unwrap()["analytics"],
            true,
            "aggregates stay countable"
        );
        assert!(!index.contains(&reference[..13]) && !index.contains(&reference[14..]));
    }
}
