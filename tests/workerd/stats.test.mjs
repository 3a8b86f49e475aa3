// Consent statistics in workerd with real local D1 (migrations applied): every rewritten
// page counts one page view, every recorded decision one decision, nothing personal is
// stored, and a failing D1 never breaks a page (issue 11).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from '../support/origin.mjs';
import { startWorker } from '../support/worker.mjs';
import { signedCookie, postForm } from '../support/consent.mjs';
import { fetchIdentity } from '../support/site.mjs';
import { today } from '../support/days.mjs';

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148';
const IPAD = 'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)';
let origin;
let worker;

before(async () => {
  origin = await startOrigin();
  worker = await startWorker({ origin: origin.url, cf: { country: 'FR' } });
});
after(async () => {
  await worker?.close();
  await origin?.close();
});

/** Waits until the worker's after-response writes (ctx.waitUntil) have landed. */
async function rows(sql) {
  for (let i = 0; i < 50; i++) {
    const { results } = await worker.db().prepare(sql).all();
    if (results.length) return results;
    await new Promise((r) => setTimeout(r, 20));
  }
  return [];
}
const total = async (sql) => {
  await new Promise((r) => setTimeout(r, 150));
  return (await worker.db().prepare(sql).first('n')) ?? 0;
};

test('every rewritten page counts once, by consent, country, language and device; nothing else counts', async () => {
  const get = (path, headers = {}) => fetchIdentity(worker, path, headers, { redirect: 'manual' }).then((r) => r.text());
  await get('/page', { 'accept-language': 'es', 'user-agent': IPHONE });
  await get('/page', { 'accept-language': 'es', 'user-agent': IPHONE });
  await get('/page', { 'accept-language': 'en', 'user-agent': IPAD, cookie: signedCookie({ analytics: true, marketing: true }) });
  await get('/page', { cookie: signedCookie({ analytics: false, marketing: false }) });
  await get('/image.png');
  await get('/_consent/state');
  await get('/redirect');
  assert.equal(await total('SELECT SUM(views) AS n FROM page_views'), 4, 'images, own routes and redirects do not count');
  const all = await rows('SELECT day, consent, country, lang, device, views FROM page_views ORDER BY consent, lang');
  const day = today();
  assert.deepEqual(all, [
    { day, consent: 'all', country: 'FR', lang: 'en', device: 'tablet', views: 1 },
    { day, consent: 'rejected', country: 'FR', lang: 'en', device: 'desktop', views: 1 },
    { day, consent: 'undecided', country: 'FR', lang: 'es', device: 'mobile', views: 2 },
  ]);
});

test('every recorded decision counts by method, grants and GPC; a refused request does not', async () => {
  await postForm(worker, { action: 'accept_all' }, { 'user-agent': IPHONE });
  await postForm(worker, { action: 'save', analytics: 'on', marketing: 'on' }, { 'sec-gpc': '1' });
  await postForm(worker, { action: 'nonsense' });
  assert.equal(await total('SELECT SUM(decisions) AS n FROM decisions'), 2);
  const all = await rows('SELECT method, analytics, marketing, gpc, device, decisions FROM decisions ORDER BY method');
  assert.deepEqual(all, [
    { method: 'accept_all', analytics: 1, marketing: 1, gpc: 0, device: 'mobile', decisions: 1 },
    { method: 'save', analytics: 1, marketing: 0, gpc: 1, device: 'desktop', decisions: 1 },
  ], 'GPC turned the marketing grant into a refusal');
});

test('nothing personal is stored with a count', async () => {
  const columns = async (table) => (await worker.db().prepare(`PRAGMA table_info(${table})`).all()).results.map((c) => c.name);
  for (const table of ['page_views', 'decisions']) {
    for (const name of await columns(table)) assert.doesNotMatch(name, /id|ip|path|agent|url/, `${table}.${name}`);
  }
});

test('a missing or failing D1 never breaks a page or a decision', async () => {
  const noDb = await startWorker({ origin: origin.url, d1: false });
  try {
    const page = await noDb.fetch('/page');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /data-consent-banner/);
    assert.equal((await postForm(noDb, { action: 'reject_all' })).status, 303);
    await new Promise((r) => setTimeout(r, 200));
    const errors = noDb.jsonLogs().filter((l) => l.level === 'error' && /not written/.test(l.msg));
    assert.ok(errors.length >= 2, 'each failed write is logged');
    assert.ok(errors.every((l) => /CONSENT_DB/.test(l.error)));
  } finally {
    await noDb.close();
  }
});
