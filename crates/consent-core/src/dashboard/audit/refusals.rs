//! Refused anonymous requests, counted so that a flood cannot grow the audit log. Per isolate,
//! the first refusal from a network (the truncated IP) in a minute is written at once, as every
//! refusal was before; the rest of that minute are counted here and written as one entry with
//! their count when the minute is over (by a timer after the response, or by the isolate's next
//! audited action) or when the log is read. So a network adds at most two entries a minute per
//! isolate, whatever it sends, and the counts add up to the requests refused.
//!
//! At most [`MAX_NETWORKS`] networks are followed a minute; refusals from any further ones are
//! counted together, under [`OVERFLOW_NETWORK`], so many networks at once cannot grow the log
//! or the isolate's memory either.

use crate::clock::{rfc3339, EpochMillis};

/// How long refusals from one network are counted together.
pub const WINDOW_MS: u64 = 60_000;
/// Networks followed one by one in a minute.
pub const MAX_NETWORKS: usize = 100;
/// The `ip` of an entry counting refusals from networks past [`MAX_NETWORKS`].
pub const OVERFLOW_NETWORK: &str = "*";
/// A timer that has not written by its time plus this is taken as gone (the runtime may end
/// work left after a response): the next request arms another.
const TIMER_GRACE_MS: u64 = 10_000;

/// What to do with a refusal just noted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noted {
    /// The network's first this minute: write its entry now.
    WriteNow,
    /// Counted, to be written with the others of its minute.
    Counted,
}

/// Refusals counted together: one entry, with their number as its `count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedRefusals {
    /// The truncated IP, or [`OVERFLOW_NETWORK`].
    pub network: String,
    /// The minute they fell in (its start).
    pub minute: EpochMillis,
    /// How many.
    pub count: u64,
    /// The target of the last of them (`<path> (<reason>)`).
    pub last: String,
}

impl CountedRefusals {
    /// The target of their entry.
    #[must_use]
    pub fn target(&self) -> String {
        format!(
            "counted in the minute from {}; the last: {}",
            rfc3339(self.minute),
            self.last
        )
    }
}

#[derive(Debug, Default, Clone)]
struct Pending {
    count: u64,
    last: String,
}

impl Pending {
    fn add(&mut self, target: &str) {
        self.count += 1;
        target.clone_into(&mut self.last);
    }
}

/// An isolate's counted refusals.
#[derive(Debug, Default)]
pub struct RefusalTally {
    minute: EpochMillis,
    /// The networks followed this minute, in the order they came (at most [`MAX_NETWORKS`]:
    /// a list searched in order is smaller code than a map, and as fast at this size).
    networks: Vec<(String, Pending)>,
    overflow: Pending,
    ready: Vec<CountedRefusals>,
    timer: Option<EpochMillis>,
}

impl RefusalTally {
    /// Notes a refusal from `network` at `now` with `target`.
    pub fn note(&mut self, network: &str, now: EpochMillis, target: &str) -> Noted {
        self.roll(now);
        if let Some((_, pending)) = self.networks.iter_mut().find(|(n, _)| n == network) {
            pending.add(target);
            return Noted::Counted;
        }
        if self.networks.len() >= MAX_NETWORKS {
            self.overflow.add(target);
            return Noted::Counted;
        }
        self.networks.push((network.to_owned(), Pending::default()));
        Noted::WriteNow
    }

    /// Moves the counts of a minute that is over to `ready`.
    fn roll(&mut self, now: EpochMillis) {
        let minute = now - now % WINDOW_MS;
        if minute == self.minute {
            return;
        }
        let ended = std::mem::replace(&mut self.minute, minute);
        let networks = std::mem::take(&mut self.networks);
        let overflow = std::mem::take(&mut self.overflow);
        self.collect(ended, networks, overflow);
    }

    fn collect(
        &mut self,
        minute: EpochMillis,
        networks: impl IntoIterator<Item = (String, Pending)>,
        overflow: Pending,
    ) {
        let counted = networks
            .into_iter()
            .chain([(OVERFLOW_NETWORK.to_owned(), overflow)])
            .filter(|(_, p)| p.count > 0)
            .map(|(network, p)| CountedRefusals {
                network,
                minute,
                count: p.count,
                last: p.last,
            });
        self.ready.extend(counted);
    }

    /// The counts of minutes that are over, to write now.
    pub fn take_due(&mut self, now: EpochMillis) -> Vec<CountedRefusals> {
        self.roll(now);
        std::mem::take(&mut self.ready)
    }

    /// Every count, the current minute's too (the log is being read). The current minute's
    /// networks stay followed: their later refusals this minute are counted, not written.
    pub fn take_all(&mut self, now: EpochMillis) -> Vec<CountedRefusals> {
        self.roll(now);
        let networks: Vec<(String, Pending)> = self
            .networks
            .iter_mut()
            .map(|(n, p)| (n.clone(), std::mem::take(p)))
            .collect();
        let overflow = std::mem::take(&mut self.overflow);
        self.collect(self.minute, networks, overflow);
        std::mem::take(&mut self.ready)
    }

    /// Refusals counted and not yet taken.
    #[must_use]
    pub fn pending(&self) -> u64 {
        self.ready.iter().map(|c| c.count).sum::<u64>()
            + self.networks.iter().map(|(_, p)| p.count).sum::<u64>()
            + self.overflow.count
    }

    /// When something is counted and no timer will write it, arms one: the time it should
    /// write (now, if a minute is already over; else when the current one ends).
    pub fn arm(&mut self, now: EpochMillis) -> Option<EpochMillis> {
        if self.pending() == 0 || self.timer.is_some_and(|t| now < t + TIMER_GRACE_MS) {
            return None;
        }
        let at = if self.ready.is_empty() {
            now.max(self.minute + WINDOW_MS)
        } else {
            now
        };
        self.timer = Some(at);
        Some(at)
    }

    /// The armed timer has written (or given up): the next request may arm another.
    pub fn disarm(&mut self) {
        self.timer = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-27T20:19:00Z.
    const MINUTE: EpochMillis = 1_795_810_740_000;

    #[test]
    fn a_network_writes_its_first_refusal_of_a_minute_and_counts_the_rest() {
        let mut t = RefusalTally::default();
        assert_eq!(t.note("203.0.113.0", MINUTE + 5, "/a (x)"), Noted::WriteNow);
        for i in 0..39 {
            assert_eq!(
                t.note("203.0.113.0", MINUTE + 10 + i, &format!("/b ({i})")),
                Noted::Counted
            );
        }
        assert_eq!(
            t.note("198.51.100.0", MINUTE + 100, "/c (y)"),
            Noted::WriteNow
        );
        assert_eq!(t.pending(), 39);
        assert_eq!(t.take_due(MINUTE + 59_999), [], "the minute is not over");
        let due = t.take_due(MINUTE + WINDOW_MS);
        assert_eq!(
            due,
            [CountedRefusals {
                network: "203.0.113.0".into(),
                minute: MINUTE,
                count: 39,
                last: "/b (38)".into(),
            }]
        );
        assert_eq!(
            due[0].target(),
            "counted in the minute from 2026-11-27T20:19:00Z; the last: /b (38)"
        );
        assert_eq!(t.pending(), 0);
        assert_eq!(
            t.note("203.0.113.0", MINUTE + WINDOW_MS + 1, "/a (x)"),
            Noted::WriteNow,
            "a new minute"
        );
    }

    #[test]
    fn a_flood_adds_at_most_two_entries_a_minute_and_its_counts_add_up() {
        let mut t = RefusalTally::default();
        let mut entries = Vec::new();
        let mut refused = 0u64;
        for ms in (0..3 * WINDOW_MS).step_by(50) {
            refused += 1;
            if t.note("203.0.113.0", MINUTE + ms, "/a (x)") == Noted::WriteNow {
                entries.push(1);
            }
            entries.extend(t.take_due(MINUTE + ms).iter().map(|c| c.count));
        }
        entries.extend(t.take_due(MINUTE + 3 * WINDOW_MS).iter().map(|c| c.count));
        assert_eq!(entries.len(), 6, "{entries:?}");
        assert_eq!(entries.iter().sum::<u64>(), refused);
    }

    #[test]
    fn reading_the_log_takes_the_current_minute_and_keeps_its_networks_followed() {
        let mut t = RefusalTally::default();
        t.note("203.0.113.0", MINUTE, "/a (x)");
        t.note("203.0.113.0", MINUTE + 1, "/a (x)");
        t.note("203.0.113.0", MINUTE + 2, "/a (x)");
        let all = t.take_all(MINUTE + 3);
        assert_eq!(all.iter().map(|c| c.count).collect::<Vec<_>>(), [2]);
        assert_eq!(t.note("203.0.113.0", MINUTE + 4, "/a (x)"), Noted::Counted);
        assert_eq!(t.take_all(MINUTE + 5)[0].count, 1);
        assert_eq!(t.take_all(MINUTE + 6), []);
    }

    #[test]
    fn networks_past_the_limit_are_counted_together() {
        let mut t = RefusalTally::default();
        for i in 0..MAX_NETWORKS {
            assert_eq!(
                t.note(&format!("10.0.{i}.0"), MINUTE, "/a (x)"),
                Noted::WriteNow
            );
        }
        for i in 0..500 {
            assert_eq!(
                t.note(&format!("10.1.{}.0", i % 250), MINUTE + 1, "/a (y)"),
                Noted::Counted
            );
        }
        let due = t.take_due(MINUTE + WINDOW_MS);
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].network.as_str(), due[0].count),
            (OVERFLOW_NETWORK, 500)
        );
    }

    #[test]
    fn a_timer_is_armed_once_for_the_minute_and_again_if_it_never_wrote() {
        let mut t = RefusalTally::default();
        assert_eq!(t.arm(MINUTE), None, "nothing counted");
        t.note("203.0.113.0", MINUTE + 1_000, "/a (x)");
        assert_eq!(t.arm(MINUTE + 1_000), None, "the first refusal was written");
        t.note("203.0.113.0", MINUTE + 2_000, "/a (x)");
        assert_eq!(
            t.arm(MINUTE + 2_000),
            Some(MINUTE + WINDOW_MS),
            "the minute's end"
        );
        t.note("203.0.113.0", MINUTE + 3_000, "/a (x)");
        assert_eq!(t.arm(MINUTE + 3_000), None, "one timer");
        assert_eq!(
            t.arm(MINUTE + WINDOW_MS + TIMER_GRACE_MS),
            Some(MINUTE + WINDOW_MS + TIMER_GRACE_MS),
            "the timer never wrote: another, at once"
        );
        t.disarm();
        assert_eq!(t.take_due(MINUTE + WINDOW_MS + 1).len(), 1);
        assert_eq!(t.arm(MINUTE + WINDOW_MS + 1), None, "written");
    }
}
