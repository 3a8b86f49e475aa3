//! The storage port: what the product needs of a key-value store, so that the rules over
//! it (a record is both keys or neither, erasure deletes in a safe order, …) are written
//! once, here, and tested natively against [`memory::MemoryStore`](super::memory::MemoryStore),
//! which can fail and lag on demand. The worker implements the same trait once over Workers
//! KV.
//!
//! The trait mirrors KV's semantics: a value with an absolute expiration and optional JSON
//! metadata; `list` by prefix in pages with a cursor, which may lag behind recent writes
//! (KV's listing is eventually consistent).

use crate::clock::EpochMillis;

/// Why a storage call failed. The text is for the log only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPage {
    /// Key names, in lexicographic order.
    pub keys: Vec<String>,
    /// Where the next page starts; `None` when this was the last.
    pub cursor: Option<String>,
}

/// A value to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'a> {
    /// The value.
    pub value: &'a str,
    /// When the store deletes it, in seconds since the epoch.
    pub expires_at_secs: u64,
    /// Metadata stored beside it, if any.
    pub metadata: Option<&'a serde_json::Value>,
}

impl Entry<'_> {
    /// Expiry in seconds since the epoch for something written `now` and kept `days`.
    #[must_use]
    pub fn expiry_after_days(now: EpochMillis, days: u32) -> u64 {
        now / 1000 + u64::from(days) * 86_400
    }
}

/// A key-value store with KV's semantics. Futures need not be `Send`: the Workers runtime
/// runs one request on one thread.
#[allow(async_fn_in_trait)]
pub trait KeyValueStore {
    /// Writes `entry` under `key`.
    ///
    /// # Errors
    /// When the store refuses or fails.
    async fn put(&self, key: &str, entry: Entry<'_>) -> Result<(), StoreError>;

    /// Reads the value under `key`; `None` when there is none (or it expired).
    ///
    /// # Errors
    /// When the store fails.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Deletes `key`; deleting a key that does not exist succeeds.
    ///
    /// # Errors
    /// When the store fails.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;

    /// One page of the keys starting with `prefix`, from `cursor`.
    ///
    /// # Errors
    /// When the store fails.
    async fn list(&self, prefix: &str, cursor: Option<String>) -> Result<ListPage, StoreError>;
}

/// Runs a future whose every await completes at once (the in-memory store's), for tests.
#[cfg(test)]
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("the in-memory store never waits"),
    }
}
