// The dashboard's audit log in workerd with real local D1 and KV (README, "For marketing: the
// consent dashboard", "The audit log"): refused requests counted so a flood cannot grow it,
// appends that do not race each other, the log a page at a time, a cut tail found through the
// head kept in KV, the chain keyed by AUDIT_LOG_KEY alone, and what happens without the key or
// with KV failing. (Every route, token and role, and a changed row: admin.test.mjs; counted
// refusals written when their minute ends: audit-minute.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from '../support/origin.mjs';
import { startWorker, AUDIT_LOG_KEY, RECORD_KEY } from '../support/worker.mjs';
import { entryHash, GENESIS } from '../support/audit.mjs';
import { TEST_AUD, accessToken, startCertsServer } from '../support/access-tokens.mjs';

const ADMIN = 'ana@sivocenter.com';
const VIEWER = 'luis@sivocenter.com';
const SOME_ID = '0123456789abcdef'.repeat(2);
const ROUTES = {
  dashboard: '/_consent/admin',
  json: '/_consent/admin/stats.json',
  csv: '/_consent/admin/stats.csv',
  records: `/_consent/admin/records/${SOME_ID}`,
  audit: '/_consent/admin/audit',
};

let origin;
let certs;

before(async () => {
  origin = await startOrigin();
  certs = await startCertsServer();
});
after(async () => {
  await certs?.close();
  await origin?.close();
});

/** A worker in front of the fixture origin with Access pointed at `team` (a certs server). */
const startDashboard = (team, options = {}) =>
  startWorker({
    origin: origin.url,
    ...options,
    vars: { ACCESS_TEAM_DOMAIN: team.url, ACCESS_AUD: TEST_AUD, DASHBOARD_ADMINS: ADMIN, DASHBOARD_VIEWERS: '@sivocenter.com', ...options.vars },
  });

/** A token for `email` from the certs server's team, valid now. */
const tokenFor = (email) => accessToken({ teamDomain: certs.url, email });

/**
 * GET `path` on `w` as the dashboard's own pages would (JSON errors, `Sec-Fetch-Site:
 * same-origin`: a record look-up by GET is answered only so), with `token` if given.
 */
function get(w, path, { token, headers = {} } = {}) {
  return w.fetch(path, {
    headers: {
      accept: 'application/json',
      'sec-fetch-site': 'same-origin',
      ...(token === undefined ? {} : { 'cf-access-jwt-assertion': token }),
      ...headers,
    },
  });
}

/** Asserts an error answer: its status, its JSON code, no caching. */
async function assertError(res, status, code, what) {
  const body = await res.text();
  assert.equal(res.status, status, `${what}: ${res.status} ${body}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, what);
  assert.equal(JSON.parse(body).error, code, `${what}: ${body}`);
  assert.equal(res.headers.get('cache-control'), 'no-store', `${what}: no-store`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A page of the audit log as `w`'s admin reads it (`query`: `?before=…&limit=…`). */
async function readAudit(w, query = '') {
  const res = await get(w, `${ROUTES.audit}${query}`, { token: tokenFor(ADMIN) });
  const text = await res.text();
  assert.equal(res.status, 200, `audit${query}: ${text}`);
  return JSON.parse(text);
}

/** Every entry in `w`'s D1, oldest first. */
const allEntries = async (w) => (await w.db().prepare('SELECT * FROM audit_log ORDER BY seq').all()).results;

/** Waits, if need be, until at least `ms` are left in the current minute (refusals are counted by minute). */
async function clearOfMinuteEnd(ms = 5_000) {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < ms) await sleep(left + 50);
}

/** Asserts that `entries` (oldest first) chain from the start under `key`. */
function assertChained(entries, key = AUDIT_LOG_KEY) {
  entries.forEach((e, i) => {
    assert.equal(e.seq, i + 1, 'no position skipped');
    assert.equal(e.prev_hash, i === 0 ? GENESIS : entries[i - 1].hash, `entry ${e.seq} names the one before`);
    assert.equal(e.hash, entryHash(e, key), `entry ${e.seq}'s hash is its own`);
  });
}

test('a flood of refused requests adds at most two entries per network, whose counts add up; audited actions during it are answered', async () => {
  const w = await startDashboard(certs);
  try {
    const flood = { 'cf-connecting-ip': '192.0.2.33' };
    const viewer = tokenFor(VIEWER);
    const admin = tokenFor(ADMIN);
    await clearOfMinuteEnd();
    const [refused, exports, lookups] = await Promise.all([
      Promise.all(Array.from({ length: 40 }, () => get(w, ROUTES.json, { headers: flood }))),
      Promise.all(Array.from({ length: 10 }, () => get(w, ROUTES.csv, { token: viewer }))),
      Promise.all(Array.from({ length: 5 }, () => get(w, ROUTES.records, { token: admin }))),
    ]);
    for (const res of refused) await assertError(res, 401, 'sign_in_required', 'anonymous');
    for (const res of [...exports, ...lookups]) assert.equal(res.status, 200, `audited during the flood: ${await res.text()}`);
    const written = await allEntries(w);
    assert.equal(written.filter((e) => e.ip === '192.0.2.0').length, 1, 'the network\'s first refusal, at once; the rest counted');
    assert.equal(written.length, 16, 'one per export and look-up, and that one');

    // Reading the log writes what the isolate counted first, so the page is current.
    const log = await readAudit(w);
    assert.equal(log.chain, 'verified');
    const fromFlood = log.entries.filter((e) => e.ip === '192.0.2.0');
    assert.deepEqual(fromFlood.map((e) => e.count), [39, 1], 'two entries for 40 refusals');
    assert.ok(fromFlood.every((e) => e.action === 'refused' && e.who === 'anonymous'));
    assert.match(fromFlood[0].target, /^counted in the minute from \d{4}-\d\d-\d\dT\d\d:\d\d:00Z; the last: \/_consent\/admin\/stats\.json \(no Cloudflare Access token\)$/);
    assert.equal(log.total, 18, 'the exports, look-ups, two refusal entries and the read');
    assertChained(await allEntries(w));
  } finally {
    await w.close();
  }
});

test('concurrent audited actions from one isolate are each answered and chained, none lost to a race for a position', async () => {
  const w = await startDashboard(certs);
  try {
    const viewer = tokenFor(VIEWER);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => get(w, i % 2 ? ROUTES.json : ROUTES.csv, { token: viewer })));
    for (const res of answers) assert.equal(res.status, 200, await res.text());
    const entries = await allEntries(w);
    assert.equal(entries.length, 30);
    assertChained(entries);
  } finally {
    await w.close();
  }
});

test('the audit log a page at a time: ?before and ?limit, newest first, total and next_before; bad values are 400', async () => {
  const w = await startDashboard(certs);
  try {
    const viewer = tokenFor(VIEWER);
    for (let i = 0; i < 24; i++) assert.equal((await get(w, ROUTES.json, { token: viewer })).status, 200);
    const first = await readAudit(w, '?limit=10');
    assert.deepEqual([first.chain, first.total, first.limit, first.before, first.next_before], ['verified', 25, 10, null, 16]);
    assert.deepEqual(first.entries.map((e) => e.seq), [25, 24, 23, 22, 21, 20, 19, 18, 17, 16]);
    assert.equal(first.entries[0].target, `${ROUTES.audit}?limit=10`, 'the read itself, with its page');
    const seen = [...first.entries.map((e) => e.seq)];
    let page = first;
    while (page.next_before !== null) {
      page = await readAudit(w, `?before=${page.next_before}&limit=10`);
      assert.equal(page.chain, 'verified', `before=${page.before}`);
      assert.ok(page.entries.length <= 10);
      seen.push(...page.entries.map((e) => e.seq));
    }
    assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => 25 - i), 'every entry once, in order');
    const defaults = await readAudit(w);
    assert.deepEqual([defaults.limit, defaults.entries.length, defaults.next_before], [100, 28, null]);
    assert.equal((await readAudit(w, '?limit=500')).limit, 500);

    const before = (await allEntries(w)).length;
    for (const bad of ['?limit=0', '?limit=501', '?limit=abc', '?limit=1.5', '?before=0', '?before=-3', '?before=x', '?before=', '?limit=5&limit=6']) {
      await assertError(await get(w, `${ROUTES.audit}${bad}`, { token: tokenFor(ADMIN) }), 400, 'bad_request', bad);
    }
    assert.equal((await allEntries(w)).length, before, 'a refused page reads and writes nothing');
  } finally {
    await w.close();
  }
});

test('a cut tail is reported as truncated, and stays so after the next append; without the head it would not be', async () => {
  const w = await startDashboard(certs);
  try {
    const viewer = tokenFor(VIEWER);
    for (let i = 0; i < 6; i++) assert.equal((await get(w, ROUTES.json, { token: viewer })).status, 200);
    assert.equal((await readAudit(w)).chain, 'verified');
    // An attacker with write access to D1 (but not to KV) drops the trigger and removes the newest entries.
    const db = w.db();
    await db.prepare('DROP TRIGGER audit_log_append_only_delete').run();
    await db.prepare('DELETE FROM audit_log WHERE seq > 4').run();
    const { n } = await db.prepare('SELECT COUNT(*) AS n FROM audit_log').first();
    assert.equal(n, 4, 'what remains chains from the start');
    assertChained(await allEntries(w));

    const log = await readAudit(w);
    assert.deepEqual([log.chain, log.broken_at], ['truncated', 5], 'entries 5 to 7 were cut');
    const [read, found] = log.entries;
    assert.deepEqual([read.seq, read.action], [9, 'audit_read']);
    assert.deepEqual([found.seq, found.action, found.who], [8, 'truncation_found', 'sivo-consent']);
    assert.match(found.target, /^entries 5 to 7 missing; the head was 7 \([0-9a-f]{16}…\)$/);
    assert.equal(found.hash, entryHash(found), 'the record of the cut is chained under the key');
    assert.deepEqual(log.head, { status: 'matches', seq: 9 });
    assert.ok(w.jsonLogs().some((l) => l.level === 'error' && l.msg === 'audit log below its head: the cut is recorded'));

    // Further appends leave the hole where it is: still reported, on every page.
    assert.equal((await get(w, ROUTES.csv, { token: viewer })).status, 200);
    const later = await readAudit(w);
    assert.deepEqual([later.chain, later.broken_at, later.total], ['truncated', 5, 8]);
    const older = await readAudit(w, '?before=5&limit=2');
    assert.deepEqual([older.chain, older.broken_at], ['truncated', 5]);

    // Removing the record of the cut as well is a removal the count still finds.
    await db.prepare('DELETE FROM audit_log WHERE seq = 8').run();
    const worse = await readAudit(w);
    assert.deepEqual([worse.chain, worse.broken_at], ['broken', 5]);
  } finally {
    await w.close();
  }
});

test('the chain is keyed by AUDIT_LOG_KEY alone: a new RECORD_ENCRYPTION_KEY leaves it verified, another AUDIT_LOG_KEY breaks it', async () => {
  const w = await startDashboard(certs);
  const viewer = tokenFor(VIEWER);
  try {
    for (let i = 0; i < 3; i++) assert.equal((await get(w, ROUTES.json, { token: viewer })).status, 200);
  } finally {
    await w.close();
  }
  const rotated = await startDashboard(certs, { kvDir: w.kvDir, vars: { RECORD_ENCRYPTION_KEY: Buffer.alloc(32, 42).toString('base64') } });
  try {
    const log = await readAudit(rotated);
    assert.deepEqual([log.chain, log.broken_at, log.total], ['verified', null, 4], 'the record key rotated, the log is intact');
    assertChained(await allEntries(rotated));
  } finally {
    await rotated.close();
  }
  const otherKey = Buffer.alloc(32, 43).toString('base64');
  const rekeyed = await startDashboard(certs, { kvDir: w.kvDir, vars: { AUDIT_LOG_KEY: otherKey } });
  try {
    const log = await readAudit(rekeyed);
    assert.deepEqual([log.chain, log.broken_at], ['broken', 1], 'written under one key, read under another');
    const newest = log.entries[0];
    assert.equal(newest.hash, entryHash(newest, otherKey), 'its own read is chained under the key it has');
  } finally {
    await rekeyed.close();
  }
});

test('AUDIT_LOG_KEY missing with a real origin: health lists it, audited actions are refused 503 not_configured, refusals still refuse', async () => {
  const w = await startDashboard(certs, { vars: { AUDIT_LOG_KEY: '' } });
  try {
    const health = await (await w.fetch('/_consent/health')).json();
    assert.equal(health.status, 'degraded');
    assert.deepEqual(health.problems.map((p) => [p.setting, p.severity]), [['AUDIT_LOG_KEY', 'error']]);
    const admin = tokenFor(ADMIN);
    for (const path of [ROUTES.json, ROUTES.csv, ROUTES.records, ROUTES.audit]) {
      await assertError(await get(w, path, { token: admin }), 503, 'not_configured', path);
    }
    const page = await get(w, ROUTES.dashboard, { token: admin, headers: { accept: 'text/html' } });
    assert.equal(page.status, 200, 'the page itself is not audited');
    await assertError(await get(w, ROUTES.json), 401, 'sign_in_required', 'no token');
    await assertError(await get(w, ROUTES.audit, { token: tokenFor(VIEWER) }), 403, 'forbidden', 'a viewer on audit');
    assert.equal((await allEntries(w)).length, 0, 'nothing written without the key');
    await sleep(100);
    assert.ok(w.jsonLogs().some((l) => l.level === 'error' && l.msg === 'refused attempt not audited' && /AUDIT_LOG_KEY/.test(l.error)));
  } finally {
    await w.close();
  }
  // The record key is not accepted in its place.
  const same = await startDashboard(certs, { vars: { AUDIT_LOG_KEY: RECORD_KEY } });
  try {
    const health = await (await same.fetch('/_consent/health')).json();
    assert.match(health.problems.find((p) => p.setting === 'AUDIT_LOG_KEY')?.message ?? '', /must not be a record key/);
    await assertError(await get(same, ROUTES.json, { token: tokenFor(ADMIN) }), 503, 'not_configured', 'the record key as the audit key');
  } finally {
    await same.close();
  }
});

test('a KV failure never takes the audit log down: the head is reported unavailable and the page still verified', async () => {
  const w = await startDashboard(certs, { kvFaults: true });
  try {
    const viewer = tokenFor(VIEWER);
    for (let i = 0; i < 3; i++) assert.equal((await get(w, ROUTES.json, { token: viewer })).status, 200);
    await w.kvFaults({ get: true, put: true });
    const log = await readAudit(w);
    assert.deepEqual([log.chain, log.head.status, log.head.seq, log.total], ['verified', 'unavailable', null, 4]);
    assert.ok(w.jsonLogs().some((l) => l.level === 'error' && l.msg === 'audit log head not written'));
    await w.kvFaults({});
    const healed = await readAudit(w);
    assert.deepEqual([healed.chain, healed.head.status], ['verified', 'matches'], 'the next head written is the newest entry');
  } finally {
    await w.close();
  }
});
