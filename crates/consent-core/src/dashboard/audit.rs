//! The dashboard's audit log (docs/compliance.md rule 14: an immutable log of sensitive actions):
//! every admin look-up, every export and every refused attempt, appended with a keyed hash
//! (HMAC-SHA256) of itself and the entry before it, so an entry changed or removed later
//! breaks the chain and is found — also by someone who can write to the database but does
//! not hold the key, and so cannot compute a new chain.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The audit log's key, derived from the record key (`RECORD_ENCRYPTION_KEY`), so the chain
/// needs no secret of its own and nothing without the worker's key can forge one.
#[must_use]
pub fn audit_key(record_key: &[u8]) -> Vec<u8> {
    keyed(record_key, |mac| {
        mac.update(b"sivo-consent audit log key\n");
    })
}

fn keyed(key: &[u8], feed: impl FnOnce(&mut HmacSha256)) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail; the empty key is a safe
    // stand-in that verifies nothing made with the real one.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| {
        <HmacSha256 as Mac>::new(&hmac::digest::generic_array::GenericArray::default())
    });
    feed(&mut mac);
    mac.finalize().into_bytes().to_vec()
}

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A consent id's records were read.
    RecordsLookup,
    /// The statistics were exported as JSON.
    ExportJson,
    /// The statistics were exported as CSV.
    ExportCsv,
    /// The audit log was read.
    AuditRead,
    /// Someone was refused (no token, a bad one, not listed, not an admin).
    Refused,
}

impl AuditAction {
    /// Its name in the log.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::RecordsLookup => "records_lookup",
            AuditAction::ExportJson => "export_json",
            AuditAction::ExportCsv => "export_csv",
            AuditAction::AuditRead => "audit_read",
            AuditAction::Refused => "refused",
        }
    }
}

/// One entry, as stored (D1 table `audit_log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When, RFC 3339.
    pub at: String,
    /// Who: the Access identity's e-mail, or `anonymous`.
    pub who: String,
    /// Their role (`viewer`, `admin`), or `none`.
    pub role: String,
    /// [`AuditAction::as_str`].
    pub action: String,
    /// What it was about: a consent id, a route, a date range.
    pub target: String,
    /// The client IP, truncated.
    pub ip: String,
    /// The hash of the entry before (or [`GENESIS`]).
    pub prev_hash: String,
    /// [`entry_hash`] of this entry.
    pub hash: String,
}

/// What a new entry says; [`AuditEntry::next`] chains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent<'a> {
    /// When, RFC 3339.
    pub at: &'a str,
    /// Who.
    pub who: &'a str,
    /// Their role.
    pub role: &'a str,
    /// What.
    pub action: AuditAction,
    /// About what.
    pub target: &'a str,
    /// The client IP, truncated (never whole).
    pub ip: &'a str,
}

impl AuditEntry {
    /// The entry that follows `last` (or starts the chain) for `event`, hashed with `key`
    /// ([`audit_key`]).
    #[must_use]
    pub fn next(last: Option<(u64, &str)>, event: &AuditEvent<'_>, key: &[u8]) -> Self {
        let (seq, prev_hash) = last.map_or((1, GENESIS), |(seq, hash)| (seq + 1, hash));
        let mut entry = AuditEntry {
            seq,
            at: event.at.to_owned(),
            who: event.who.to_owned(),
            role: event.role.to_owned(),
            action: event.action.as_str().to_owned(),
            target: event.target.to_owned(),
            ip: event.ip.to_owned(),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry, key);
        entry
    }
}

/// HMAC-SHA256 (hex) under `key` of an entry's fields and the hash before it, each
/// length-prefixed so no two entries hash alike by moving text between fields.
#[must_use]
pub fn entry_hash(e: &AuditEntry, key: &[u8]) -> String {
    crate::hex(&keyed(key, |h| {
        h.update(&e.seq.to_be_bytes());
        for field in [
            &e.at,
            &e.who,
            &e.role,
            &e.action,
            &e.target,
            &e.ip,
            &e.prev_hash,
        ] {
            h.update(&(field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
    }))
}

/// Checks a chain given oldest first: each entry's hash is its own, it names the hash before
/// it, and the positions run 1, 2, 3… without a gap.
///
/// # Errors
/// The position of the first entry that breaks the chain.
pub fn verify_chain(entries: &[AuditEntry], key: &[u8]) -> Result<(), u64> {
    let mut prev = GENESIS;
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as u64 + 1;
        if e.seq != expected_seq || e.prev_hash != prev || entry_hash(e, key) != e.hash {
            return Err(expected_seq);
        }
        prev = &e.hash;
    }
    Ok(())
}

/// The last entry's position and hash.
pub const AUDIT_LAST: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";
/// Appends an entry; the primary key on `seq` refuses a second entry at the same position
/// (two appends racing), so the chain never forks: the loser re-reads and retries.
pub const AUDIT_INSERT: &str = "INSERT INTO audit_log (seq, at, who, role, action, target, ip, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
/// Every entry, oldest first.
pub const AUDIT_ALL: &str = "SELECT seq, at, who, role, action, target, ip, prev_hash, hash FROM audit_log ORDER BY seq ASC";

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"the audit key of these tests, 32+";

    fn event(action: AuditAction, target: &str) -> AuditEvent<'_> {
        AuditEvent {
            at: "2026-11-27T20:19:56.123Z",
            who: "ana@sivocenter.com",
            role: "admin",
            action,
            target,
            ip: "203.0.113.0",
        }
    }

    fn chain(n: usize) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let target = format!("target {i}");
            let last = out.last().map(|e| (e.seq, e.hash.as_str()));
            out.push(AuditEntry::next(
                last,
                &event(AuditAction::RecordsLookup, &target),
                KEY,
            ));
        }
        out
    }

    #[test]
    fn a_chain_verifies_and_names_its_positions() {
        let c = chain(4);
        assert_eq!(c[0].prev_hash, GENESIS);
        assert_eq!(c[3].seq, 4);
        assert_eq!(c[2].prev_hash, c[1].hash);
        assert_eq!(verify_chain(&c, KEY), Ok(()));
        assert_eq!(verify_chain(&[], KEY), Ok(()));
    }

    #[test]
    fn a_changed_removed_or_reordered_entry_is_found() {
        let mut changed = chain(4);
        changed[1].target = "someone else".into();
        assert_eq!(verify_chain(&changed, KEY), Err(2));
        let mut rehashed = chain(4);
        rehashed[1].who = "mallory@example.com".into();
        rehashed[1].hash = entry_hash(&rehashed[1], KEY);
        assert_eq!(
            verify_chain(&rehashed, KEY),
            Err(3),
            "the next entry no longer follows"
        );
        let mut removed = chain(4);
        removed.remove(2);
        assert_eq!(verify_chain(&removed, KEY), Err(3));
        let mut swapped = chain(3);
        swapped.swap(0, 1);
        assert_eq!(verify_chain(&swapped, KEY), Err(1));
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let a = AuditEntry::next(None, &event(AuditAction::Refused, "ab"), KEY);
        let b = AuditEntry::next(
            None,
            &AuditEvent {
                who: "ana@sivocenter.coma",
                target: "b",
                ..event(AuditAction::Refused, "")
            },
            KEY,
        );
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn without_the_key_a_rewritten_chain_does_not_verify() {
        // Someone with write access to the database recomputes every hash after changing an
        // entry; without the worker's key theirs are not the chain's.
        let mut forged = chain(3);
        forged[1].who = "mallory@example.com".into();
        for i in 1..forged.len() {
            forged[i].prev_hash = forged[i - 1].hash.clone();
            forged[i].hash = entry_hash(&forged[i], b"a key the forger chose");
        }
        assert_eq!(verify_chain(&forged, KEY), Err(2));
        assert_ne!(audit_key(b"record key 1"), audit_key(b"record key 2"));
    }
}
