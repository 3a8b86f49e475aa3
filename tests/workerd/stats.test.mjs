// Consent statistics in workerd with real local D1 (migrations applied): every rewritten
// page counts one page view, every recorded decision one decision, nothing personal is
// stored, and a failing D1 never breaks a page (issue 11). A page view is what GA4 would count
// (known bots and prefetches counted apart, HEAD and non-2xx not at all), and every page view
// reaches D1 within STATS_FLUSH_SECONDS even when no traffic follows (issue 22, items 2 and 3).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startOrigin } from '../support/origin.mjs';
import { startWorker, ROOT } from '../support/worker.mjs';
import { signedCookie, postForm } from '../support/consent.mjs';
import { fetchIdentity } from '../support/site.mjs';
import { today } from '../support/days.mjs';

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148';
const IPAD = 'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)';
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const BINGBOT = 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)';
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
  await get('/page', { 'user-agent': CHROME, cookie: signedCookie({ analytics: false, marketing: false }) });
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sum = async (w, sql) => (await w.db().prepare(sql).first('n')) ?? 0;
const views = (w) => sum(w, 'SELECT SUM(views) AS n FROM page_views');
const excluded = async (w) => {
  const { results } = await w.db().prepare('SELECT reason, SUM(views) AS n FROM page_views_excluded GROUP BY reason ORDER BY reason').all();
  return Object.fromEntries(results.map((r) => [r.reason, r.n]));
};

test('a page view is what GA4 would count: bots and prefetches are counted apart, HEAD and non-2xx not at all', async () => {
  const w = await startWorker({ origin: origin.url });
  try {
    const get = (path, headers, init = {}) => fetchIdentity(w, path, headers, init).then(async (r) => [r.status, await r.text()]);
    const [status, html] = await get('/page', { 'user-agent': CHROME });
    assert.equal(status, 200);
    assert.match(html, /data-consent-banner/);
    // Each of these is served as any page is (rewritten, with the banner), but is not a page view.
    for (const headers of [
      { 'user-agent': GOOGLEBOT },
      { 'user-agent': BINGBOT },
      { 'user-agent': CHROME, 'sec-purpose': 'prefetch' },
      { 'user-agent': CHROME, 'sec-purpose': 'prefetch;prerender' },
      { 'user-agent': CHROME, purpose: 'prefetch' },
    ]) {
      const [s, body] = await get('/page', headers);
      assert.equal(s, 200, JSON.stringify(headers));
      assert.match(body, /data-consent-banner/, JSON.stringify(headers));
    }
    const [missing, missingHtml] = await get('/missing', { 'user-agent': CHROME });
    assert.equal(missing, 404);
    assert.match(missingHtml, /data-consent-banner/, 'a 404 page is rewritten all the same');
    assert.equal((await fetchIdentity(w, '/page', { 'user-agent': CHROME }, { method: 'HEAD' })).status, 200);
    await sleep(300);
    assert.equal(await views(w), 1, 'only the Chrome page view');
    assert.deepEqual(await excluded(w), { bot: 2, prefetch: 3 }, 'the 404 and the HEAD are not counted apart either');
  } finally {
    await w.close();
  }
});

test('every counted page view reaches D1 within STATS_FLUSH_SECONDS, with no traffic after it', async () => {
  const w = await startWorker({ origin: origin.url, vars: { STATS_FLUSH_SECONDS: '2' } });
  try {
    const page = (ua = CHROME) => fetchIdentity(w, '/page', { 'user-agent': ua }).then((r) => r.text());
    const started = Date.now();
    for (let i = 0; i < 4; i++) await page();
    await page(GOOGLEBOT);
    await sleep(300);
    assert.equal(await views(w), 0, 'batched: the request that opened the batch writes it after 2 s');
    // Silence: no request reaches the worker from here on.
    let landed = 0;
    while (Date.now() - started < 6000 && (landed = await views(w)) < 4) await sleep(100);
    assert.equal(landed, 4, 'all four page views, without another page view to trigger the write');
    assert.ok(Date.now() - started >= 2000, 'not before the flush period');
    assert.deepEqual(await excluded(w), { bot: 1 }, 'the excluded page goes in the same batch');
    // The next page view opens the next batch, which lands by itself too.
    const again = Date.now();
    await page();
    await page();
    while (Date.now() - again < 6000 && (landed = await views(w)) < 6) await sleep(100);
    assert.equal(landed, 6);
    assert.equal(w.jsonLogs().filter((l) => l.level === 'error').length, 0);
  } finally {
    await w.close();
  }
});

test('the bot patterns are the pinned isbot package\'s list, and match as isbot matches', () => {
  const require = createRequire(import.meta.url);
  const isbot = require('isbot');
  const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).devDependencies.isbot;
  assert.equal(require('isbot/package.json').version, pinned, 'the installed isbot is the version package.json pins');
  const vendored = fs.readFileSync(path.join(ROOT, 'crates/consent-core/src/dashboard/bots.txt'), 'utf8').split('\n').filter(Boolean);
  assert.deepEqual(vendored, isbot.list, `crates/consent-core/src/dashboard/bots.txt is isbot ${pinned}'s list: copy it again after a bump`);
  // The worker builds what the package builds: the list joined with |, case-insensitive.
  const pattern = new RegExp(vendored.join('|'), 'i');
  assert.equal(pattern.source, isbot.getPattern().source);
  for (const ua of [GOOGLEBOT, BINGBOT, 'curl/8.5.0', 'python-requests/2.31', 'node']) assert.ok(pattern.test(ua), ua);
  for (const ua of [CHROME, IPHONE, IPAD]) assert.ok(!pattern.test(ua), ua);
});
