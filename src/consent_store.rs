//! Writing proof records to KV: both keys or neither.

use consent_core::record::{record_keys, seal, ProofRecord, RecordError};
use worker::kv::{KvError, KvStore};

/// The KV binding's name.
pub const KV_BINDING: &str = "CONSENT_KV";

/// Why a record was not stored.
#[derive(Debug)]
pub enum StoreError {
    /// The key material is unusable.
    Seal(RecordError),
    /// KV refused or failed; nothing was left behind (or the log says what was).
    Kv(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Seal(e) => write!(f, "record not sealed: {e}"),
            StoreError::Kv(e) => write!(f, "record not stored: {e}"),
        }
    }
}

/// Seals `record` and writes it with its day index entry. If the second write fails, the
/// first is deleted, so a failure leaves nothing half-written.
///
/// # Errors
/// See [`StoreError`].
pub async fn store_record(
    kv: &KvStore,
    record: &ProofRecord,
    key: &[u8],
    nonce: [u8; 12],
) -> Result<String, StoreError> {
    let keys = record_keys(record.id, record.at_ms, &nonce);
    let sealed = seal(record, key, nonce, &keys.record).map_err(StoreError::Seal)?;
    let metadata = record.stats_metadata();
    let expiration = record.kv_expiration();

    put(kv, &keys.record, sealed, expiration, &metadata)
        .await
        .map_err(|e| StoreError::Kv(e.to_string()))?;
    if let Err(index_err) = put(kv, &keys.day_index, String::new(), expiration, &metadata).await {
        return Err(match kv.delete(&keys.record).await {
            Ok(()) => StoreError::Kv(format!("day index write failed ({index_err}); record rolled back")),
            Err(delete_err) => StoreError::Kv(format!(
                "day index write failed ({index_err}) and the record {} could not be rolled back ({delete_err})",
                keys.record
            )),
        });
    }
    Ok(keys.record)
}

async fn put(
    kv: &KvStore,
    key: &str,
    value: String,
    expiration: u64,
    metadata: &consent_core::record::StatsMetadata,
) -> Result<(), KvError> {
    kv.put(key, value)?
        .expiration(expiration)
        .metadata(metadata)?
        .execute()
        .await
}
