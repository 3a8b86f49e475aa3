// Refused dashboard requests counted in an isolate are written when their minute ends, by a
// timer after the response, with nobody reading the log (README, "The audit log"). In a file of
// its own: it waits for the end of the current minute (up to a minute).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from '../support/origin.mjs';
import { startWorker, AUDIT_LOG_KEY } from '../support/worker.mjs';
import { entryHash, GENESIS } from '../support/audit.mjs';
import { TEST_AUD, startCertsServer } from '../support/access-tokens.mjs';

const ADMIN = 'ana@sivocenter.com';
const ROUTES = { csv: '/_consent/admin/stats.csv' };

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

test('refusals counted in a minute are written when it ends, without anyone reading the log', { timeout: 90_000 }, async () => {
  const w = await startDashboard(certs);
  try {
    const headers = { 'cf-connecting-ip': '198.51.100.99' };
    await clearOfMinuteEnd();
    const minuteEnds = Date.now() - (Date.now() % 60_000) + 60_000;
    for (let i = 0; i < 5; i++) await assertError(await get(w, ROUTES.csv, { headers }), 401, 'sign_in_required', `refusal ${i}`);
    const fromThem = async () => (await allEntries(w)).filter((e) => e.ip === '198.51.100.0');
    assert.deepEqual((await fromThem()).map((e) => e.count), [1], 'the first at once, the rest counted');
    let seen = [];
    while (Date.now() < minuteEnds + 10_000 && seen.length < 2) {
      await sleep(500);
      seen = await fromThem();
    }
    assert.deepEqual(seen.map((e) => e.count), [1, 4], 'the other four, as one entry');
    assert.ok(Date.parse(seen[1].at) >= minuteEnds, `written once the minute was over: ${seen[1].at}`);
    assertChained(await allEntries(w));
  } finally {
    await w.close();
  }
});
