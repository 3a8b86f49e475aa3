//! The dashboard's audit log (docs/compliance.md rule 14: an immutable log of sensitive actions):
//! every admin look-up, every export, every read of the log and every refused attempt, appended
//! with a keyed hash (HMAC-SHA256 under `AUDIT_LOG_KEY`, a secret of its own, derived from no
//! other key) of itself and the entry before it, so an entry changed or removed later breaks
//! the chain and is found — also by someone who can write to the database but does not hold
//! the key, and so cannot compute a new chain.
//!
//! The newest entry's position and hash (the chain's [`Head`]) are also kept outside the
//! database (Workers KV): an append never continues below the head ([`chain_base`]), so a tail
//! cut from the database stays a hole that every read finds, and [`read::judge`] reports it.
//! [`refusals`] keeps a flood of refused requests from growing the log.

pub mod read;
pub mod refusals;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What every entry's hash starts with: the hash of this log and of nothing else made with the
/// same key.
const HASH_CONTEXT: &[u8] = b"sivo-consent audit log v2\n";

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
    /// Someone was refused (no token, a bad one, not listed, not an admin); `count` says how
    /// many refused requests the entry stands for ([`refusals`]).
    Refused,
    /// The worker found the database's chain ending below its head: the entries it names are
    /// missing (a cut tail) or the newest one is not the head's. Written before the entry
    /// that found it, continuing from the head ([`chain_base`]).
    TruncationFound,
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
            AuditAction::TruncationFound => "truncation_found",
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
    /// Who: the Access identity's e-mail, or `anonymous` (or `sivo-consent`, the worker itself).
    pub who: String,
    /// Their role (`viewer`, `admin`), or `none`.
    pub role: String,
    /// [`AuditAction::as_str`].
    pub action: String,
    /// What it was about: a consent id, a route, a date range.
    pub target: String,
    /// The client IP, truncated (`*`: several networks, [`refusals::OVERFLOW_NETWORK`]).
    pub ip: String,
    /// How many requests the entry stands for: 1, or more for refusals counted together.
    pub count: u64,
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
    /// How many requests it stands for (1 but for counted refusals).
    pub count: u64,
}

/// An entry's position and hash: D1's newest entry, or the chain's head as kept outside D1
/// (KV key [`HEAD_KEY`], JSON `{"seq":…,"hash":…}`: nothing personal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Its position.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// The KV key of the chain's head.
pub const HEAD_KEY: &str = "audit:head";

impl AuditEntry {
    /// The entry that follows `last` (or starts the chain) for `event`, hashed with `key`
    /// (`AUDIT_LOG_KEY`).
    #[must_use]
    pub fn next(last: Option<&Head>, event: &AuditEvent<'_>, key: &[u8]) -> Self {
        let (seq, prev_hash) = last.map_or((1, GENESIS), |h| (h.seq + 1, h.hash.as_str()));
        let mut entry = AuditEntry {
            seq,
            at: event.at.to_owned(),
            who: event.who.to_owned(),
            role: event.role.to_owned(),
            action: event.action.as_str().to_owned(),
            target: event.target.to_owned(),
            ip: event.ip.to_owned(),
            count: event.count,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry, key);
        entry
    }

    /// Its position and hash.
    #[must_use]
    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }

    /// True when its own hash is the one `key` gives it.
    #[must_use]
    pub fn hash_holds(&self, key: &[u8]) -> bool {
        entry_hash(self, key) == self.hash
    }
}

/// HMAC-SHA256 (hex) under `key` of an entry's position, count, fields and the hash before
/// it, each text length-prefixed so no two entries hash alike by moving text between fields.
#[must_use]
pub fn entry_hash(e: &AuditEntry, key: &[u8]) -> String {
    crate::hex(&keyed(key, |h| {
        h.update(HASH_CONTEXT);
        h.update(&e.seq.to_be_bytes());
        h.update(&e.count.to_be_bytes());
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

/// The first thing wrong with a run of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// The entry at this position does not hash to its own hash (changed, or written under
    /// another key).
    Changed(u64),
    /// The entry at this position does not name the hash of the one before it.
    Unlinked(u64),
    /// Nothing is at this position, though entries after it are: the first missing one.
    Missing(u64),
}

impl Defect {
    /// Its position.
    #[must_use]
    pub fn seq(self) -> u64 {
        match self {
            Defect::Changed(s) | Defect::Unlinked(s) | Defect::Missing(s) => s,
        }
    }
}

/// Checks a run of consecutive entries given oldest first: each entry's own hash, that each
/// names the hash of the one before it, that the positions run without a gap, and that an
/// entry at position 1 names [`GENESIS`].
///
/// # Errors
/// The first [`Defect`], oldest first.
pub fn verify_run(entries: &[AuditEntry], key: &[u8]) -> Result<(), Defect> {
    let mut before: Option<&AuditEntry> = None;
    for e in entries {
        match before {
            None if e.seq == 1 && e.prev_hash != GENESIS => return Err(Defect::Unlinked(1)),
            Some(b) if e.seq != b.seq + 1 => return Err(Defect::Missing(b.seq + 1)),
            Some(b) if e.prev_hash != b.hash => return Err(Defect::Unlinked(e.seq)),
            _ => {}
        }
        if !e.hash_holds(key) {
            return Err(Defect::Changed(e.seq));
        }
        before = Some(e);
    }
    Ok(())
}

/// Checks a whole chain given oldest first, from position 1 (an offline check, or a test's).
///
/// # Errors
/// The position of the first entry that breaks the chain.
pub fn verify_chain(entries: &[AuditEntry], key: &[u8]) -> Result<(), u64> {
    match entries.first() {
        Some(first) if first.seq != 1 => Err(1),
        _ => verify_run(entries, key).map_err(Defect::seq),
    }
}

/// What an append found when the database's chain ends below its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The head kept outside D1.
    pub head: Head,
    /// D1's newest entry, if any.
    pub d1_last: Option<Head>,
}

impl Cut {
    /// The target of the [`AuditAction::TruncationFound`] entry that records it.
    #[must_use]
    pub fn target(&self) -> String {
        let short = |h: &str| h.get(..16).unwrap_or(h).to_owned();
        match &self.d1_last {
            Some(last) if last.seq == self.head.seq => format!(
                "entry {} is not the head's ({}…); continuing from the head",
                last.seq,
                short(&self.head.hash)
            ),
            last => format!(
                "entries {} to {} missing; the head was {} ({}…)",
                last.as_ref().map_or(1, |l| l.seq + 1),
                self.head.seq,
                self.head.seq,
                short(&self.head.hash)
            ),
        }
    }

    /// The entry that records it, written right after the head.
    #[must_use]
    pub fn entry(&self, at: &str, key: &[u8]) -> AuditEntry {
        let target = self.target();
        AuditEntry::next(
            Some(&self.head),
            &AuditEvent {
                at,
                who: "sivo-consent",
                role: "none",
                action: AuditAction::TruncationFound,
                target: &target,
                ip: "none",
                count: 1,
            },
            key,
        )
    }
}

/// Where the next entry goes, given D1's newest entry and the head kept outside D1 (the
/// newest the worker knows it wrote). Normally after D1's newest. When the head is further
/// on than D1 (the newest entries were removed) or at D1's newest position with another hash
/// (it was replaced), after the head, with the [`Cut`] to record first: the positions in
/// between stay empty, so the cut remains visible to every later read instead of being
/// written over. D1 ahead of the head (a head write that failed or lost a race, or a stale
/// read of KV) is normal: after D1's newest.
#[must_use]
pub fn chain_base(d1_last: Option<Head>, head: Option<Head>) -> (Option<Head>, Option<Cut>) {
    match (d1_last, head) {
        (last, Some(head))
            if last
                .as_ref()
                .is_none_or(|l| l.seq < head.seq || (l.seq == head.seq && l.hash != head.hash)) =>
        {
            (
                Some(head.clone()),
                Some(Cut {
                    head,
                    d1_last: last,
                }),
            )
        }
        (last, _) => (last, None),
    }
}

/// The newer of two heads (by position): what KV says and what this isolate last wrote (KV
/// may answer with an older value for up to a minute).
#[must_use]
pub fn newest(a: Option<Head>, b: Option<Head>) -> Option<Head> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.seq > a.seq { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The last entry's position and hash.
pub const AUDIT_LAST: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";
/// Appends an entry; the primary key on `seq` refuses a second entry at the same position
/// (two appends racing), so the chain never forks: the loser reads the end again and retries.
pub const AUDIT_INSERT: &str = "INSERT INTO audit_log (seq, at, who, role, action, target, ip, count, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
/// The text of a D1 error when [`AUDIT_INSERT`] lost a race for its position.
pub const POSITION_TAKEN: &str = "UNIQUE constraint failed";

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const KEY: &[u8] = b"the audit key of these tests, 32+";

    fn event(action: AuditAction, target: &str) -> AuditEvent<'_> {
        AuditEvent {
            at: "2026-11-27T20:19:56.123Z",
            who: "ana@sivocenter.com",
            role: "admin",
            action,
            target,
            ip: "203.0.113.0",
            count: 1,
        }
    }

    pub(crate) fn chain(n: usize, key: &[u8]) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let target = format!("target {i}");
            let last = out.last().map(AuditEntry::head);
            out.push(AuditEntry::next(
                last.as_ref(),
                &event(AuditAction::RecordsLookup, &target),
                key,
            ));
        }
        out
    }

    #[test]
    fn a_chain_verifies_and_names_its_positions() {
        let c = chain(4, KEY);
        assert_eq!(c[0].prev_hash, GENESIS);
        assert_eq!(c[3].seq, 4);
        assert_eq!(c[2].prev_hash, c[1].hash);
        assert_eq!(verify_chain(&c, KEY), Ok(()));
        assert_eq!(verify_chain(&[], KEY), Ok(()));
        assert_eq!(verify_run(&c[1..], KEY), Ok(()), "a run from the middle");
    }

    #[test]
    fn a_changed_removed_or_reordered_entry_is_found() {
        let mut changed = chain(4, KEY);
        changed[1].target = "someone else".into();
        assert_eq!(verify_chain(&changed, KEY), Err(2));
        let mut recounted = chain(4, KEY);
        recounted[2].count = 40;
        assert_eq!(
            verify_run(&recounted, KEY),
            Err(Defect::Changed(3)),
            "the count is hashed"
        );
        let mut rehashed = chain(4, KEY);
        rehashed[1].who = "mallory@example.com".into();
        rehashed[1].hash = entry_hash(&rehashed[1], KEY);
        assert_eq!(
            verify_run(&rehashed, KEY),
            Err(Defect::Unlinked(3)),
            "the next entry no longer follows"
        );
        let mut removed = chain(4, KEY);
        removed.remove(2);
        assert_eq!(verify_run(&removed, KEY), Err(Defect::Missing(3)));
        let mut swapped = chain(3, KEY);
        swapped.swap(0, 1);
        assert_eq!(verify_chain(&swapped, KEY), Err(1));
        let mut first_gone = chain(3, KEY);
        first_gone.remove(0);
        assert_eq!(verify_chain(&first_gone, KEY), Err(1));
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
        let mut forged = chain(3, KEY);
        forged[1].who = "mallory@example.com".into();
        for i in 1..forged.len() {
            forged[i].prev_hash = forged[i - 1].hash.clone();
            forged[i].hash = entry_hash(&forged[i], b"a key the forger chose");
        }
        assert_eq!(verify_chain(&forged, KEY), Err(2));
    }

    #[test]
    fn a_chain_written_under_one_key_is_broken_under_another() {
        let c = chain(3, b"the audit key before a rotation..");
        assert_eq!(verify_run(&c, KEY), Err(Defect::Changed(1)));
    }

    #[test]
    fn an_append_continues_from_d1_unless_the_head_is_further_on() {
        let c = chain(5, KEY);
        let at = |i: usize| Some(c[i].head());
        assert_eq!(chain_base(at(4), at(4)), (at(4), None), "in step");
        assert_eq!(chain_base(at(4), None), (at(4), None), "no head yet");
        assert_eq!(chain_base(None, None), (None, None), "a new log");
        assert_eq!(
            chain_base(at(4), at(2)),
            (at(4), None),
            "D1 ahead of the head: a head write was lost, not an attack"
        );
        // The newest two were removed: the next entry goes after the head, not over the cut.
        let (base, cut) = chain_base(at(2), at(4));
        assert_eq!(base, at(4));
        let cut = cut.as_ref().map(Cut::target);
        assert_eq!(
            cut.as_deref().map(|t| t.split(';').next()),
            Some(Some("entries 4 to 5 missing"))
        );
        let (base, cut) = chain_base(None, at(1));
        assert_eq!(base, at(1), "everything removed");
        assert!(cut.is_some_and(|c| c.target().starts_with("entries 1 to 2 missing")));
        let mut replaced = c[4].head();
        replaced.hash = "f".repeat(64);
        let (base, cut) = chain_base(Some(replaced), at(4));
        assert_eq!(base, at(4), "the newest entry replaced");
        assert!(cut.is_some_and(|c| c.target().starts_with("entry 5 is not the head's")));
    }

    #[test]
    fn the_record_of_a_cut_follows_the_head_and_leaves_the_hole() {
        let c = chain(5, KEY);
        let cut = Cut {
            head: c[4].head(),
            d1_last: Some(c[2].head()),
        };
        let marker = cut.entry("2026-11-27T20:20:00Z", KEY);
        assert_eq!(
            (marker.seq, marker.prev_hash.as_str()),
            (6, c[4].hash.as_str())
        );
        assert_eq!(marker.action, "truncation_found");
        let mut kept: Vec<AuditEntry> = c[..3].to_vec();
        kept.push(marker);
        assert_eq!(verify_run(&kept, KEY), Err(Defect::Missing(4)));
    }

    #[test]
    fn newest_takes_the_later_head() {
        let c = chain(3, KEY);
        assert_eq!(
            newest(Some(c[0].head()), Some(c[2].head())),
            Some(c[2].head())
        );
        assert_eq!(
            newest(Some(c[2].head()), Some(c[0].head())),
            Some(c[2].head())
        );
        assert_eq!(newest(None, Some(c[1].head())), Some(c[1].head()));
        assert_eq!(newest(None, None), None);
    }
}
