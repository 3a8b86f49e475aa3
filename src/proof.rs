//! The storage port over Workers KV: the one production implementation of
//! [`KeyValueStore`]. The rules over it live in `consent_core::proof::records`.

use consent_core::proof::store::{Entry, KeyValueStore, ListPage, StoreError};
use worker::kv::{KvError, KvStore};
use worker::Env;

/// The KV binding's name (`wrangler.toml`).
pub const KV_BINDING: &str = "CONSENT_KV";

/// The proof records' namespace. A missing binding is not an error until a call needs it,
/// so a refusal can still take effect (its record is then reported missing in the log).
#[derive(Debug)]
pub struct KvRecords {
    kv: Result<KvStore, StoreError>,
}

impl KvRecords {
    /// The namespace bound as [`KV_BINDING`].
    pub fn bind(env: &Env) -> Self {
        Self {
            kv: env
                .kv(KV_BINDING)
                .map_err(|e| StoreError(format!("KV binding {KV_BINDING} unavailable: {e}"))),
        }
    }

    fn kv(&self) -> Result<&KvStore, StoreError> {
        self.kv.as_ref().map_err(Clone::clone)
    }
}

/// A KV failure in a few words for the log: the JavaScript error's message, not its whole
/// debug form with the stack and the wasm function names.
fn failed(e: KvError) -> StoreError {
    StoreError(match e {
        KvError::JavaScript(js) => format!("KV: {}", crate::failure::describe(&js)),
        other => format!("KV: {other}"),
    })
}

impl KeyValueStore for KvRecords {
    async fn put(&self, key: &str, entry: Entry<'_>) -> Result<(), StoreError> {
        let mut put = self
            .kv()?
            .put(key, entry.value)
            .map_err(failed)?
            .expiration(entry.expires_at_secs);
        if let Some(metadata) = entry.metadata {
            put = put.metadata(metadata).map_err(failed)?;
        }
        put.execute().await.map_err(failed)
    }

    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.kv()?.get(key).text().await.map_err(failed)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.kv()?.delete(key).await.map_err(failed)
    }

    async fn list(&self, prefix: &str, cursor: Option<String>) -> Result<ListPage, StoreError> {
        let mut list = self.kv()?.list().prefix(prefix.to_owned());
        if let Some(cursor) = cursor {
            list = list.cursor(cursor);
        }
        let page = list.execute().await.map_err(failed)?;
        Ok(ListPage {
            keys: page.keys.into_iter().map(|k| k.name).collect(),
            cursor: if page.list_complete {
                None
            } else {
                page.cursor
            },
        })
    }
}
