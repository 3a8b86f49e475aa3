// A believable consent history for the demo dashboard (scripts/demo-traffic.mjs --days N):
// visitors from several countries, on phones, desktops and tablets, in Spanish and English,
// with a weekly rhythm (weekends quieter), slow growth, and a dip in the accept rate after a
// policy change (the banner asks everyone again, and fewer accept at first). Counted as the
// worker counts (crates/consent-core/src/dashboard/stats.rs): page views by day, the consent in
// effect, country, language and device; decisions by day, method, what they granted, GPC,
// country, language and device; bots and prefetches apart by day. Written with the worker's
// own upserts (migrations/0001_consent_stats.sql, 0002_page_views_excluded.sql), so running
// it twice adds to the counts, as more traffic would.

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` of the UTC day `ms` falls in. */
export const dayOf = (ms) => new Date(ms).toISOString().slice(0, 10);

// Country: weight, and the share of its visitors served in Spanish.
const COUNTRIES = [
  ['ES', 55, 0.93], ['MX', 12, 0.97], ['AR', 7, 0.97], ['US', 9, 0.25],
  ['GB', 7, 0.04], ['FR', 5, 0.3], ['DE', 5, 0.2],
];
const DEVICES = [['mobile', 58], ['desktop', 35], ['tablet', 7]];
// Monday first: weekends are quieter (Date.getUTCDay: 0 is Sunday).
const WEEKDAY = [0.62, 1.0, 1.04, 1.02, 0.98, 0.9, 0.66];

/** A seeded pseudo-random generator in [0, 1), so a history is the same each time. */
export function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const pick = (random, weighted) => {
  let r = random() * weighted.reduce((s, [, w]) => s + w, 0);
  for (const entry of weighted) if ((r -= entry[1]) < 0) return entry;
  return weighted[0];
};

/**
 * The counts of the `days` days before `todayMs` (today itself excluded: its traffic is sent
 * through the worker). `policyChangeDaysAgo`: the day the policy changed (default a third of
 * the way back). Returns `{ pageViews, decisions, excluded, policyChange }`: maps of the
 * tables' keys to counts, and the day of the change.
 */
export function history({ days, todayMs = Date.now(), visitorsPerDay = 420, seed = 20261207, policyChangeDaysAgo } = {}) {
  const random = seeded(seed);
  const today = todayMs - (todayMs % DAY_MS);
  const changeAgo = policyChangeDaysAgo ?? Math.max(2, Math.round(days / 3));
  const pageViews = new Map();
  const decisions = new Map();
  const excluded = new Map();
  const add = (map, key, n = 1) => map.set(key, (map.get(key) ?? 0) + n);
  for (let ago = days; ago >= 1; ago--) {
    const ms = today - ago * DAY_MS;
    const day = dayOf(ms);
    // The week's rhythm, slow growth, some noise.
    const growth = 1 + 0.004 * (days - ago);
    const visitors = Math.round(visitorsPerDay * WEEKDAY[new Date(ms).getUTCDay()] * growth * (0.9 + 0.2 * random()));
    // After the policy change everyone is asked again: fewer come back decided, and fewer
    // accept everything at first, recovering over about two weeks.
    const since = changeAgo - ago; // days since the change (negative before it)
    const shock = since >= 0 ? Math.exp(-since / 7) : 0;
    const decidedAlready = 0.34 * (1 - 0.85 * shock);
    const acceptAll = 0.79 - 0.2 * shock;
    const interacts = 0.62 + 0.08 * shock;
    for (let v = 0; v < visitors; v++) {
      const [country, , spanish] = pick(random, COUNTRIES);
      const lang = random() < spanish ? 'es' : 'en';
      const [device] = pick(random, DEVICES);
      const gpc = random() < 0.05;
      const views = 1 + Math.floor(random() * random() * 6);
      const at = (consent, n) => add(pageViews, [day, consent, country, lang, device].join('|'), n);
      if (random() < decidedAlready) {
        // A returning visitor whose earlier choice is still in effect: no banner.
        const r = random();
        at(r < 0.74 ? (gpc ? 'analytics' : 'all') : r < 0.9 ? 'rejected' : 'analytics', views);
        continue;
      }
      // The first page carries the banner.
      at('undecided', 1);
      if (random() >= interacts) {
        at('undecided', views - 1); // never chose: every page carries it
        continue;
      }
      const r = random();
      let method; let analytics; let marketing;
      if (r < acceptAll) [method, analytics, marketing] = ['accept_all', 1, 1];
      else if (r < acceptAll + (1 - acceptAll) * 0.72) [method, analytics, marketing] = ['reject_all', 0, 0];
      else [method, analytics, marketing] = ['save', 1, random() < 0.35 ? 1 : 0];
      if (gpc) marketing = 0; // Global Privacy Control refuses marketing
      add(decisions, [day, method, analytics, marketing, gpc ? 1 : 0, country, lang, device].join('|'));
      const consent = analytics && marketing ? 'all' : analytics ? 'analytics' : marketing ? 'marketing' : 'rejected';
      at(consent, views - 1);
    }
    add(excluded, `${day}|bot`, Math.round(visitors * (0.1 + 0.04 * random())));
    add(excluded, `${day}|prefetch`, Math.round(visitors * (0.02 + 0.02 * random())));
  }
  for (const map of [pageViews, decisions]) for (const [k, n] of map) if (n === 0) map.delete(k);
  return { pageViews, decisions, excluded, policyChange: dayOf(today - changeAgo * DAY_MS) };
}

const quote = (v) => (typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);
const asValue = (s) => (/^\d+$/.test(s) ? Number(s) : s);

/** Multi-row upserts, as the worker's (stats::PAGE_VIEWS_UPSERT and the others), in chunks. */
function upserts(map, head, tail) {
  const rows = [...map].map(([key, n]) => `(${[...key.split('|').map(asValue), n].map(quote).join(', ')})`);
  const out = [];
  for (let i = 0; i < rows.length; i += 400) out.push(`${head} VALUES ${rows.slice(i, i + 400).join(', ')} ${tail};`);
  return out;
}

/** The SQL statements that add `history`'s counts to the worker's tables. */
export function historySql({ pageViews, decisions, excluded }) {
  return [
    ...upserts(pageViews, 'INSERT INTO page_views (day, consent, country, lang, device, views)', 'ON CONFLICT (day, consent, country, lang, device) DO UPDATE SET views = views + excluded.views'),
    ...upserts(decisions, 'INSERT INTO decisions (day, method, analytics, marketing, gpc, country, lang, device, decisions)', 'ON CONFLICT (day, method, analytics, marketing, gpc, country, lang, device) DO UPDATE SET decisions = decisions + excluded.decisions'),
    ...upserts(excluded, 'INSERT INTO page_views_excluded (day, reason, views)', 'ON CONFLICT (day, reason) DO UPDATE SET views = views + excluded.views'),
  ];
}
