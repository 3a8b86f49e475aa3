//! The dashboard's audit log in D1: appended with the hash of the entry before it
//! (`consent_core::dashboard::audit`), read back whole and verified.

use crate::dashboard::stats::{d1_failed, database};
use consent_core::dashboard::audit::{AuditEntry, AuditEvent, AUDIT_ALL, AUDIT_INSERT, AUDIT_LAST};
use consent_core::failure::Failure;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::Env;

/// How often an append is tried when another isolate took the same position first.
const APPEND_TRIES: usize = 3;

#[derive(Deserialize)]
struct Last {
    seq: u64,
    hash: String,
}

/// Appends `event`, its hash keyed with `key` (`consent_core::dashboard::audit::audit_key`).
///
/// # Errors
/// When D1 fails (the caller refuses the action it was about to log).
pub async fn append(env: &Env, event: &AuditEvent<'_>, key: &[u8]) -> Result<AuditEntry, Failure> {
    let db = database(env)?;
    let mut last_error = String::new();
    for _ in 0..APPEND_TRIES {
        let last: Option<Last> = db
            .prepare(AUDIT_LAST)
            .first(None)
            .await
            .map_err(|e| Failure::Unavailable(format!("audit log: {e}")))?;
        let entry = AuditEntry::next(last.as_ref().map(|l| (l.seq, l.hash.as_str())), event, key);
        #[allow(clippy::cast_precision_loss)] // positions far below 2^53
        let seq = entry.seq as f64;
        let insert = db
            .prepare(AUDIT_INSERT)
            .bind(&[
                JsValue::from_f64(seq),
                entry.at.clone().into(),
                entry.who.clone().into(),
                entry.role.clone().into(),
                entry.action.clone().into(),
                entry.target.clone().into(),
                entry.ip.clone().into(),
                entry.prev_hash.clone().into(),
                entry.hash.clone().into(),
            ])
            .map_err(|e| d1_failed(&e))?;
        match insert.run().await {
            Ok(_) => return Ok(entry),
            // Another isolate appended at this position first: read the chain's end again.
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(Failure::Unavailable(format!(
        "audit log append failed: {last_error}"
    )))
}

/// Every entry, oldest first.
///
/// # Errors
/// When D1 fails.
pub async fn all(env: &Env) -> Result<Vec<AuditEntry>, Failure> {
    database(env)?
        .prepare(AUDIT_ALL)
        .all()
        .await
        .and_then(|r| r.results::<AuditEntry>())
        .map_err(|e| Failure::Unavailable(format!("audit log: {e}")))
}
