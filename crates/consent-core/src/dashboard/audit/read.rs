//! Reading the audit log a page at a time (`GET /_consent/admin/audit?before=<seq>&limit=<n>`),
//! verified without rehashing the whole table per read. Each read checks:
//!
//! - the page shown: every entry's own hash, every link, and the link of its oldest entry to the
//!   one before it (read as one extra row, whose own hash is checked too);
//! - the numbering of the whole table (its count against its newest position: an entry removed
//!   anywhere leaves a position empty, and the first empty one is named);
//! - the head kept outside D1: D1's newest entry against it (behind it: a cut tail), the entry
//!   at the head's position against its hash, and every entry after the head (at most
//!   [`MAX_AHEAD`]) chaining from it.
//!
//! Not checked by a read: the hashes and links of entries that are neither on the page nor after
//! the head. A changed entry there is found when its page is read; reading every page, newest
//! to oldest, verifies the whole chain.

use super::{verify_run, AuditAction, AuditEntry, Defect, Head};
use crate::failure::Failure;
use serde::Deserialize;

/// Entries per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most entries a page holds.
pub const MAX_LIMIT: u32 = 500;
/// The most entries after the head a read checks.
pub const MAX_AHEAD: u32 = 500;

/// Which page: the entries before position `before` (all, if `None`), newest first, at most
/// `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Only entries at positions below this.
    pub before: Option<u64>,
    /// How many.
    pub limit: u32,
}

impl PageRequest {
    /// Reads `?before=<seq>&limit=<n>`; each at most once, whole numbers, `before` from 1 to
    /// [`BEFORE_ALL`], `limit` from 1 to [`MAX_LIMIT`]. Other parameters are ignored.
    ///
    /// # Errors
    /// [`Failure::BadRequest`] naming the parameter.
    pub fn from_query(query: &str) -> Result<Self, Failure> {
        let mut before = None;
        let mut limit = None;
        for (name, value) in form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            let (slot, max) = match name.as_ref() {
                "before" => (&mut before, BEFORE_ALL),
                "limit" => (&mut limit, u64::from(MAX_LIMIT)),
                _ => continue,
            };
            let bad = || {
                Failure::BadRequest(format!(
                    "{name}: a whole number from 1 to {max}, given once"
                ))
            };
            let n = value
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| value.parse::<u64>().ok())
                .flatten()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(bad)?;
            if slot.replace(n).is_some() {
                return Err(bad());
            }
        }
        Ok(Self {
            before,
            limit: limit.map_or(DEFAULT_LIMIT, |l| u32::try_from(l).unwrap_or(MAX_LIMIT)),
        })
    }

    /// What the read's own audit entry names: the route, with the page when it is not the
    /// first one of the default size.
    #[must_use]
    pub fn target(&self, path: &str) -> String {
        match (self.before, self.limit) {
            (None, DEFAULT_LIMIT) => path.to_owned(),
            (None, limit) => format!("{path}?limit={limit}"),
            (Some(before), limit) => format!("{path}?before={before}&limit={limit}"),
        }
    }
}

/// The table's size and newest position (D1: [`AUDIT_SHAPE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct Shape {
    /// How many entries it holds.
    pub total: u64,
    /// The newest entry's position.
    pub max_seq: Option<u64>,
}

impl Shape {
    /// How many positions from 1 to the newest are empty.
    #[must_use]
    pub fn missing(&self) -> u64 {
        self.max_seq.unwrap_or(0).saturating_sub(self.total)
    }
}

/// The first empty position and the entry after it (D1: [`AUDIT_FIRST_GAP`], then
/// [`AUDIT_FROM`] from it, one row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The first position with no entry, though entries after it exist.
    pub first_missing: u64,
    /// The first entry after it.
    pub next: Option<AuditEntry>,
}

/// The head kept outside D1, as a read found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadRead {
    /// KV could not be read: the tail is not checked.
    Unavailable,
    /// No head stored: a new log, or one written before the head was kept.
    Absent,
    /// The head.
    Stored(Head),
}

/// What one read fetched.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    /// [`Shape`].
    pub shape: Shape,
    /// [`Gap`], fetched when [`Shape::missing`] is not 0.
    pub gap: Option<&'a Gap>,
    /// The page, newest first: up to `limit` entries and the one before them.
    pub page: &'a [AuditEntry],
    /// [`HeadRead`].
    pub head: &'a HeadRead,
    /// With a stored head: the entries from the head's position on, oldest first (at most
    /// [`MAX_AHEAD`] + 1).
    pub from_head: &'a [AuditEntry],
}

/// The chain's state as one read found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// Everything checked holds.
    Verified,
    /// An entry checked was changed, unlinked or removed.
    Broken,
    /// Entries at the end were removed: D1 ends below the head, or an append found it so and
    /// recorded the cut ([`AuditAction::TruncationFound`]), and nothing else is wrong.
    Truncated,
}

impl Chain {
    /// Its name in the answer.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Chain::Verified => "verified",
            Chain::Broken => "broken",
            Chain::Truncated => "truncated",
        }
    }
}

/// How D1's newest entry stands to the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadStatus {
    /// D1's newest entry is the head.
    Matches,
    /// D1 holds entries after the head, each chaining from it (a head write that failed, lost
    /// a race, or a KV read a little behind).
    Ahead,
    /// D1's newest entry is older than the head: its tail was cut.
    Behind,
    /// The entry at the head's position is not the head's, or those after it do not chain.
    Differs,
    /// No head stored.
    Absent,
    /// KV could not be read.
    Unavailable,
}

impl HeadStatus {
    /// Its name in the answer.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            HeadStatus::Matches => "matches",
            HeadStatus::Ahead => "ahead",
            HeadStatus::Behind => "behind",
            HeadStatus::Differs => "differs",
            HeadStatus::Absent => "absent",
            HeadStatus::Unavailable => "unavailable",
        }
    }
}

/// A read's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// [`Chain`].
    pub chain: Chain,
    /// The first position found wrong (for `truncated`, the first missing one).
    pub broken_at: Option<u64>,
    /// [`HeadStatus`].
    pub head: HeadStatus,
    /// The head's position, when one was read.
    pub head_seq: Option<u64>,
}

/// Judges what a read fetched (module documentation: what is checked and what is not).
#[must_use]
pub fn judge(found: &Found<'_>, key: &[u8]) -> Report {
    let mut broken: Vec<u64> = Vec::new();
    let mut cut: Vec<u64> = Vec::new();
    // The numbering: with `missing` positions empty, the first one is either a recorded cut
    // (the entry after the hole records exactly this hole, and it holds) or a removal.
    let missing = found.shape.missing();
    let recorded_cut = found.gap.and_then(|gap| {
        let next = gap.next.as_ref()?;
        let records_it = next.action == AuditAction::TruncationFound.as_str()
            && next.seq.checked_sub(gap.first_missing) == Some(missing)
            && next.hash_holds(key);
        records_it.then_some(gap.first_missing)
    });
    if missing > 0 {
        match (recorded_cut, found.gap) {
            (Some(at), _) => cut.push(at),
            (None, Some(gap)) => broken.push(gap.first_missing),
            (None, None) => broken.push(found.shape.max_seq.unwrap_or(1)),
        }
    }
    // A run's first defect, but the hole of a recorded cut.
    let run_defect = |run: &[AuditEntry]| match verify_run(run, key) {
        Err(Defect::Missing(at)) if recorded_cut == Some(at) => None,
        Err(defect) => Some(defect.seq()),
        Ok(()) => None,
    };
    let mut page: Vec<AuditEntry> = found.page.to_vec();
    page.reverse();
    broken.extend(run_defect(&page));
    let (head, head_seq) = match found.head {
        HeadRead::Unavailable => (HeadStatus::Unavailable, None),
        HeadRead::Absent => (HeadStatus::Absent, None),
        HeadRead::Stored(head) => {
            let newest = found.shape.max_seq;
            let status = judge_head(head, newest, found.from_head, run_defect);
            match status {
                HeadStatus::Behind => cut.push(newest.map_or(1, |n| n + 1)),
                HeadStatus::Differs => broken.push(
                    run_defect(found.from_head)
                        .filter(|_| found.from_head.first().is_some_and(|f| f.head() == *head))
                        .unwrap_or(head.seq),
                ),
                _ => {}
            }
            (status, Some(head.seq))
        }
    };
    let (chain, broken_at) = match (broken.iter().min(), cut.iter().min()) {
        (Some(&b), c) => (Chain::Broken, Some(c.map_or(b, |&c| b.min(c)))),
        (None, Some(&c)) => (Chain::Truncated, Some(c)),
        (None, None) => (Chain::Verified, None),
    };
    Report {
        chain,
        broken_at,
        head,
        head_seq,
    }
}

/// How D1's newest entry (`newest`) and the entries from the head's position on (`from_head`)
/// stand to the head.
fn judge_head(
    head: &Head,
    newest: Option<u64>,
    from_head: &[AuditEntry],
    run_defect: impl Fn(&[AuditEntry]) -> Option<u64>,
) -> HeadStatus {
    if newest.is_none_or(|n| n < head.seq) {
        return HeadStatus::Behind;
    }
    match from_head.first() {
        Some(first) if first.head() == *head => {
            if run_defect(from_head).is_some() {
                HeadStatus::Differs
            } else if newest == Some(head.seq) {
                HeadStatus::Matches
            } else {
                HeadStatus::Ahead
            }
        }
        _ => HeadStatus::Differs,
    }
}

/// The answer of `GET /_consent/admin/audit`: the verdict, the table's size, the page (newest
/// first, without the extra row read to check its link) and the `before` of the next page
/// (`null` on the last).
#[must_use]
pub fn answer(
    report: &Report,
    request: &PageRequest,
    shape: &Shape,
    page: &[AuditEntry],
) -> serde_json::Value {
    let limit = request.limit as usize;
    let shown = page.get(..limit).unwrap_or(page);
    let next_before = (page.len() > limit)
        .then(|| shown.last().map(|e| e.seq))
        .flatten();
    serde_json::json!({
        "chain": report.chain.as_str(),
        "broken_at": report.broken_at,
        "head": { "status": report.head.as_str(), "seq": report.head_seq },
        "total": shape.total,
        "before": request.before,
        "limit": request.limit,
        "next_before": next_before,
        "entries": shown,
    })
}

/// The table's size and newest position.
pub const AUDIT_SHAPE: &str = "SELECT COUNT(*) AS total, MAX(seq) AS max_seq FROM audit_log";
/// A page: the entries below `?1`, newest first, at most `?2` (the page's limit plus one).
pub const AUDIT_PAGE: &str = "SELECT seq, at, who, role, action, target, ip, count, prev_hash, hash FROM audit_log WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2";
/// The entries from position `?1` on, oldest first, at most `?2`.
pub const AUDIT_FROM: &str = "SELECT seq, at, who, role, action, target, ip, count, prev_hash, hash FROM audit_log WHERE seq >= ?1 ORDER BY seq ASC LIMIT ?2";
/// The first empty position (read only when the count says there is one): 1, or the first
/// position after an entry with no successor.
pub const AUDIT_FIRST_GAP: &str = "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = 1) THEN 1 ELSE (SELECT a.seq + 1 FROM audit_log a WHERE NOT EXISTS (SELECT 1 FROM audit_log b WHERE b.seq = a.seq + 1) ORDER BY a.seq LIMIT 1) END AS first_missing";
/// `before` when none is given: past every position.
pub const BEFORE_ALL: u64 = 1 << 53;

#[cfg(test)]
mod tests {
    use super::super::tests::{chain, KEY};
    use super::super::{chain_base, entry_hash};
    use super::*;

    /// What a read of `table` (oldest first, positions as they are) would fetch, judged.
    fn read(table: &[AuditEntry], head: &HeadRead, before: Option<u64>, limit: usize) -> Report {
        let shape = Shape {
            total: table.len() as u64,
            max_seq: table.iter().map(|e| e.seq).max(),
        };
        let mut page: Vec<AuditEntry> = table
            .iter()
            .filter(|e| e.seq < before.unwrap_or(BEFORE_ALL))
            .rev()
            .take(limit + 1)
            .cloned()
            .collect();
        page.sort_by_key(|e| std::cmp::Reverse(e.seq));
        let from_head: Vec<AuditEntry> = match head {
            HeadRead::Stored(h) => table.iter().filter(|e| e.seq >= h.seq).cloned().collect(),
            _ => Vec::new(),
        };
        let gap = (shape.missing() > 0).then(|| {
            let present = |s: u64| table.iter().any(|e| e.seq == s);
            let first_missing = (1..=shape.max_seq.unwrap_or(0))
                .find(|&s| !present(s))
                .unwrap_or(1);
            Gap {
                first_missing,
                next: table.iter().find(|e| e.seq > first_missing).cloned(),
            }
        });
        judge(
            &Found {
                shape,
                gap: gap.as_ref(),
                page: &page,
                head,
                from_head: &from_head,
            },
            KEY,
        )
    }

    fn stored(e: &AuditEntry) -> HeadRead {
        HeadRead::Stored(e.head())
    }

    #[test]
    fn a_whole_chain_with_its_head_is_verified_page_by_page() {
        let c = chain(12, KEY);
        let head = stored(&c[11]);
        for before in [None, Some(9), Some(5), Some(2)] {
            let r = read(&c, &head, before, 3);
            assert_eq!(
                (r.chain, r.broken_at, r.head, r.head_seq),
                (Chain::Verified, None, HeadStatus::Matches, Some(12)),
                "{before:?}"
            );
        }
        assert_eq!(read(&[], &HeadRead::Absent, None, 3).chain, Chain::Verified);
    }

    #[test]
    fn a_cut_tail_is_truncated_and_stays_so_after_the_next_append() {
        let c = chain(10, KEY);
        let head = stored(&c[9]);
        let cut: Vec<AuditEntry> = c[..7].to_vec();
        let r = read(&cut, &head, None, 100);
        assert_eq!(
            (r.chain, r.broken_at, r.head),
            (Chain::Truncated, Some(8), HeadStatus::Behind)
        );
        // The next append goes after the head and records the cut first.
        let (base, found) = chain_base(cut.last().map(AuditEntry::head), Some(c[9].head()));
        let Some(found) = found else {
            panic!("the cut is found")
        };
        let marker = found.entry("2026-11-27T21:00:00Z", KEY);
        let mut after: Vec<AuditEntry> = cut.clone();
        after.push(marker.clone());
        let mut more = chain(1, KEY).remove(0);
        more.seq = marker.seq + 1;
        more.prev_hash = marker.hash.clone();
        more.hash = entry_hash(&more, KEY);
        after.push(more.clone());
        assert_eq!(base.map(|b| b.seq), Some(10));
        for (head, status) in [
            (stored(&more), HeadStatus::Matches),
            (stored(&marker), HeadStatus::Ahead),
            (HeadRead::Absent, HeadStatus::Absent),
        ] {
            let r = read(&after, &head, None, 100);
            assert_eq!(
                (r.chain, r.broken_at, r.head),
                (Chain::Truncated, Some(8), status)
            );
            assert_eq!(
                read(&after, &head, None, 1).chain,
                Chain::Truncated,
                "a page past the hole"
            );
        }
    }

    #[test]
    fn removing_the_record_of_a_cut_or_more_than_it_names_is_broken() {
        let c = chain(10, KEY);
        let cut = Cut {
            head: c[9].head(),
            d1_last: Some(c[6].head()),
        };
        let marker = cut.entry("2026-11-27T21:00:00Z", KEY);
        // A second hole below the recorded one.
        let mut table: Vec<AuditEntry> = c[..7].to_vec();
        table.remove(3);
        table.push(marker.clone());
        let r = read(&table, &stored(&marker), None, 100);
        assert_eq!((r.chain, r.broken_at), (Chain::Broken, Some(4)));
        // A record of a cut written by someone without the key.
        let mut forged = marker.clone();
        forged.target = "entries 8 to 10 missing; nothing to see".into();
        let mut table: Vec<AuditEntry> = c[..7].to_vec();
        table.push(forged);
        assert_eq!(
            read(&table, &HeadRead::Absent, None, 100).chain,
            Chain::Broken
        );
    }

    #[test]
    fn an_entry_removed_from_the_middle_is_broken_at_its_position_on_any_page() {
        let mut c = chain(10, KEY);
        c.remove(4);
        for before in [None, Some(3)] {
            let r = read(&c, &stored(&c[8]), before, 2);
            assert_eq!(
                (r.chain, r.broken_at),
                (Chain::Broken, Some(5)),
                "{before:?}"
            );
        }
        let mut first = chain(4, KEY);
        first.remove(0);
        let r = read(&first, &HeadRead::Absent, None, 100);
        assert_eq!((r.chain, r.broken_at), (Chain::Broken, Some(1)));
    }

    #[test]
    fn a_changed_entry_is_broken_when_its_page_or_the_head_is_read() {
        let mut c = chain(10, KEY);
        c[2].target = "someone else".into();
        let head = stored(&c[9]);
        let r = read(&c, &head, Some(5), 2);
        assert_eq!(
            (r.chain, r.broken_at),
            (Chain::Broken, Some(3)),
            "on the page"
        );
        let r = read(&c, &head, Some(4), 2);
        assert_eq!(
            (r.chain, r.broken_at),
            (Chain::Broken, Some(3)),
            "the extra row"
        );
        assert_eq!(
            read(&c, &head, None, 2).chain,
            Chain::Verified,
            "elsewhere: found when that page is read (module documentation)"
        );
        let mut newest = chain(10, KEY);
        newest[9].who = "mallory@example.com".into();
        newest[9].hash = entry_hash(&newest[9], b"a key the forger chose");
        let r = read(&newest, &head, Some(3), 1);
        assert_eq!(
            (r.chain, r.broken_at, r.head),
            (Chain::Broken, Some(10), HeadStatus::Differs),
            "the head's entry, whatever page is read"
        );
    }

    #[test]
    fn d1_ahead_of_the_head_is_verified_if_it_chains_from_it() {
        let c = chain(10, KEY);
        let r = read(&c, &stored(&c[6]), None, 2);
        assert_eq!(
            (r.chain, r.head, r.head_seq),
            (Chain::Verified, HeadStatus::Ahead, Some(7))
        );
        let mut unlinked = c.clone();
        unlinked[8].target = "changed".into();
        let r = read(&unlinked, &stored(&c[6]), Some(3), 1);
        assert_eq!(
            (r.chain, r.broken_at, r.head),
            (Chain::Broken, Some(9), HeadStatus::Differs)
        );
    }

    #[test]
    fn a_chain_under_another_key_is_broken_from_its_first_entry_checked() {
        let c = chain(5, b"the audit key before a rotation..");
        let r = read(&c, &stored(&c[4]), None, 100);
        assert_eq!((r.chain, r.broken_at), (Chain::Broken, Some(1)));
    }

    #[test]
    fn without_the_head_the_page_is_still_checked_and_says_so() {
        let c = chain(5, KEY);
        let r = read(&c[..3], &HeadRead::Unavailable, None, 100);
        assert_eq!(
            (r.chain, r.head, r.head_seq),
            (Chain::Verified, HeadStatus::Unavailable, None),
            "a cut tail cannot be seen without the head"
        );
        let mut changed = c.clone();
        changed[1].ip = "198.51.100.0".into();
        assert_eq!(
            read(&changed, &HeadRead::Unavailable, None, 100).chain,
            Chain::Broken
        );
    }

    #[test]
    fn the_answer_pages_newest_first_with_the_next_before() {
        let c = chain(5, KEY);
        let report = read(&c, &stored(&c[4]), None, 2);
        let shape = Shape {
            total: 5,
            max_seq: Some(5),
        };
        let page: Vec<AuditEntry> = c.iter().rev().take(3).cloned().collect();
        let request = PageRequest {
            before: None,
            limit: 2,
        };
        let a = answer(&report, &request, &shape, &page);
        assert_eq!(a["chain"], "verified");
        assert_eq!(a["total"], 5);
        assert_eq!(a["next_before"], 4);
        assert_eq!(a["head"]["status"], "matches");
        let seqs: Vec<u64> = a["entries"]
            .as_array()
            .map(|v| v.iter().filter_map(|e| e["seq"].as_u64()).collect())
            .unwrap_or_default();
        assert_eq!(seqs, [5, 4], "the extra row is not shown");
        let last = answer(
            &report,
            &PageRequest {
                before: Some(3),
                limit: 2,
            },
            &shape,
            &c[..2].iter().rev().cloned().collect::<Vec<_>>(),
        );
        assert_eq!(last["next_before"], serde_json::Value::Null);
    }

    #[test]
    fn page_parameters_are_whole_numbers_in_range_given_once() {
        let ok = |q: &str| PageRequest::from_query(q);
        assert_eq!(
            ok(""),
            Ok(PageRequest {
                before: None,
                limit: DEFAULT_LIMIT
            })
        );
        assert_eq!(
            ok("?before=120&limit=50&from=x"),
            Ok(PageRequest {
                before: Some(120),
                limit: 50
            })
        );
        assert_eq!(ok("limit=500").map(|p| p.limit), Ok(MAX_LIMIT));
        for bad in [
            "before=0",
            "before=-1",
            "before=abc",
            "before=",
            "before=1e3",
            "before=+5",
            "before=99999999999999999999999",
            "limit=0",
            "limit=501",
            "limit=1.5",
            "limit=%20%31",
            "limit=5&limit=6",
            "before=3&before=3",
        ] {
            assert!(
                matches!(ok(bad), Err(Failure::BadRequest(_))),
                "{bad} is refused"
            );
        }
        let first = PageRequest {
            before: None,
            limit: DEFAULT_LIMIT,
        };
        assert_eq!(first.target("/a"), "/a");
        assert_eq!(
            PageRequest {
                before: Some(9),
                limit: 10
            }
            .target("/a"),
            "/a?before=9&limit=10"
        );
    }

    use super::super::Cut;
}
