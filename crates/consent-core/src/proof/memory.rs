//! An in-memory [`KeyValueStore`] for native tests, with KV's behaviour and its faults on
//! demand: a write, read, delete or list that fails, and a listing that does not yet show
//! keys written in the last moments (KV's listing is eventually consistent, up to 60 s).

use crate::clock::EpochMillis;
use crate::proof::store::{Entry, KeyValueStore, ListPage, StoreError};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// The operations a fault can be set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `put`.
    Put,
    /// `get`.
    Get,
    /// `delete`.
    Delete,
    /// `list`.
    List,
}

#[derive(Debug, Clone)]
struct Stored {
    value: String,
    metadata: Option<serde_json::Value>,
    expires_at_secs: u64,
    written_at: EpochMillis,
}

#[derive(Debug, Clone)]
struct Fault {
    op: Op,
    key_prefix: String,
    /// How many matching calls still succeed before the fault strikes.
    after: usize,
}

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<String, Stored>,
    now: EpochMillis,
    list_lag_ms: u64,
    page_size: usize,
    faults: Vec<Fault>,
    calls: Vec<(Op, String)>,
}

/// A store in memory. Its clock starts at `now` and moves only when told to.
#[derive(Debug)]
pub struct MemoryStore {
    state: RefCell<State>,
}

impl MemoryStore {
    /// An empty store whose clock reads `now`, listing 1,000 keys a page as KV does.
    #[must_use]
    pub fn new(now: EpochMillis) -> Self {
        Self {
            state: RefCell::new(State {
                now,
                page_size: 1000,
                ..State::default()
            }),
        }
    }

    /// Lists `size` keys a page, to exercise cursors with few keys.
    #[must_use]
    pub fn with_page_size(self, size: usize) -> Self {
        self.state.borrow_mut().page_size = size.max(1);
        self
    }

    /// Sets the clock.
    pub fn set_now(&self, now: EpochMillis) {
        self.state.borrow_mut().now = now;
    }

    /// Keys written less than `lag_ms` ago are left out of `list` (but `get` finds them).
    pub fn hide_new_keys_from_list(&self, lag_ms: u64) {
        self.state.borrow_mut().list_lag_ms = lag_ms;
    }

    /// Every `op` on a key starting with `key_prefix` fails, after `after` such calls have
    /// succeeded. For `list`, the prefix is the listed prefix.
    pub fn fail(&self, op: Op, key_prefix: &str, after: usize) {
        self.state.borrow_mut().faults.push(Fault {
            op,
            key_prefix: key_prefix.to_owned(),
            after,
        });
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.state.borrow_mut().faults.clear();
    }

    /// Every live key, whatever `list` would show: the truth, for assertions.
    #[must_use]
    pub fn keys(&self) -> Vec<String> {
        let state = self.state.borrow();
        let now_secs = state.now / 1000;
        state
            .entries
            .iter()
            .filter(|(_, s)| s.expires_at_secs > now_secs)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The value, metadata and expiry stored under `key`, if any.
    #[must_use]
    pub fn raw(&self, key: &str) -> Option<(String, Option<serde_json::Value>, u64)> {
        self.state
            .borrow()
            .entries
            .get(key)
            .map(|s| (s.value.clone(), s.metadata.clone(), s.expires_at_secs))
    }

    /// Every call made, in order.
    #[must_use]
    pub fn calls(&self) -> Vec<(Op, String)> {
        self.state.borrow().calls.clone()
    }

    fn check(&self, op: Op, key: &str) -> Result<(), StoreError> {
        let mut state = self.state.borrow_mut();
        state.calls.push((op, key.to_owned()));
        for fault in &mut state.faults {
            if fault.op == op && key.starts_with(&fault.key_prefix) {
                if fault.after == 0 {
                    return Err(StoreError(format!("{op:?} {key}: injected failure")));
                }
                fault.after -= 1;
            }
        }
        Ok(())
    }
}

impl KeyValueStore for MemoryStore {
    async fn put(&self, key: &str, entry: Entry<'_>) -> Result<(), StoreError> {
        self.check(Op::Put, key)?;
        let mut state = self.state.borrow_mut();
        let written_at = state.now;
        state.entries.insert(
            key.to_owned(),
            Stored {
                value: entry.value.to_owned(),
                metadata: entry.metadata.cloned(),
                expires_at_secs: entry.expires_at_secs,
                written_at,
            },
        );
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.check(Op::Get, key)?;
        let state = self.state.borrow();
        Ok(state
            .entries
            .get(key)
            .filter(|s| s.expires_at_secs > state.now / 1000)
            .map(|s| s.value.clone()))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.check(Op::Delete, key)?;
        self.state.borrow_mut().entries.remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str, cursor: Option<String>) -> Result<ListPage, StoreError> {
        self.check(Op::List, prefix)?;
        let state = self.state.borrow();
        let visible: Vec<&String> = state
            .entries
            .iter()
            .filter(|(k, s)| {
                k.starts_with(prefix)
                    && s.expires_at_secs > state.now / 1000
                    && s.written_at + state.list_lag_ms <= state.now
            })
            .map(|(k, _)| k)
            .filter(|k| cursor.as_ref().is_none_or(|c| k.as_str() > c.as_str()))
            .collect();
        let keys: Vec<String> = visible
            .iter()
            .take(state.page_size)
            .map(|k| (*k).clone())
            .collect();
        let cursor = (visible.len() > keys.len())
            .then(|| keys.last().cloned())
            .flatten();
        Ok(ListPage { keys, cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::store::block_on;

    fn entry(value: &str) -> Entry<'_> {
        Entry {
            value,
            expires_at_secs: 10_000,
            metadata: None,
        }
    }

    #[test]
    fn it_behaves_like_kv() {
        let store = MemoryStore::new(1_000_000).with_page_size(2);
        for k in ["a:1", "a:2", "a:3", "b:1"] {
            block_on(store.put(k, entry(k))).unwrap();
        }
        let first = block_on(store.list("a:", None)).unwrap();
        assert_eq!(first.keys, ["a:1", "a:2"]);
        let second = block_on(store.list("a:", first.cursor)).unwrap();
        assert_eq!((second.keys, second.cursor), (vec!["a:3".to_owned()], None));
        assert_eq!(block_on(store.get("b:1")).unwrap().as_deref(), Some("b:1"));
        block_on(store.delete("b:1")).unwrap();
        block_on(store.delete("b:1")).unwrap();
        assert_eq!(block_on(store.get("b:1")).unwrap(), None);
        store.set_now(10_000_000);
        assert_eq!(block_on(store.get("a:1")).unwrap(), None, "expired");
    }

    #[test]
    fn faults_and_lag_strike_when_told() {
        let store = MemoryStore::new(0);
        store.fail(Op::Put, "day:", 1);
        block_on(store.put("day:1", entry("x"))).unwrap();
        assert!(block_on(store.put("day:2", entry("x"))).is_err());
        assert!(block_on(store.put("rec:1", entry("x"))).is_ok());
        store.heal();
        store.hide_new_keys_from_list(60_000);
        assert!(block_on(store.list("rec:", None)).unwrap().keys.is_empty());
        assert!(
            block_on(store.get("rec:1")).unwrap().is_some(),
            "get sees it"
        );
        store.set_now(60_000);
        assert_eq!(block_on(store.list("rec:", None)).unwrap().keys, ["rec:1"]);
    }
}
