// The holes a security review found, each tried as an attacker or a real origin would, in
// workerd with real local KV and a loopback origin (issue 10).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { startOrigin } from '../support/origin.mjs';
import { startWorker } from '../support/worker.mjs';
import { consentCookie, allKeys, recordsOf, signedCookie, postForm } from '../support/consent.mjs';
import { COOKIE_NAME, LEGACY_COOKIE_NAME } from '../../scripts/lib/consent-cookie.mjs';

const GOOGLE = /googletagmanager\.com|google-analytics\.com|doubleclick\.net/i;
const BROWSER_ENCODINGS = 'gzip, deflate, br, zstd';
let origin;
let worker;

before(async () => {
  origin = await startOrigin({
    '/linked': (req, res) => {
      res.setHeader('link', [
        '</app.css>; rel=preload; as=style',
        '<https://www.googletagmanager.com/gtag/js?id=G-L>; rel=preload; as=script, <//www.google-analytics.com>; rel=preconnect',
      ]);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<html><head><title>Linked</title></head><body><p>linked</p></body></html>');
    },
    '/logo.png': (req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', link: '<https://www.googletagmanager.com>; rel=preconnect' });
      res.end(Buffer.from('PNG'));
    },
    '/two-csp': (req, res) => {
      res.setHeader('content-security-policy', ["default-src 'self'", "script-src 'self'; script-src-elem 'self' https://cdn.example"]);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><head><title>CSP</title></head><body><p>two policies</p></body></html>');
    },
    '/zstd': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'zstd' });
      res.end(Buffer.from('not really zstd: the worker cannot read it either way'));
    },
    '/gzip-page': (req, res) => {
      const body = zlib.gzipSync('<html><head><script src="https://www.googletagmanager.com/gtag/js?id=G-Z"></script></head><body><p>gz</p></body></html>');
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
      res.end(body);
    },
  });
  worker = await startWorker({ origin: origin.url });
});
after(async () => {
  await worker?.close();
  await origin?.close();
});

const get = (path, headers = {}) => worker.fetch(path, { headers: { 'accept-encoding': 'identity', ...headers } });

test('a returning visitor keeps their records across a POLICY_VERSION change: download shows both, erasure removes both', async () => {
  const kvDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-kv-policy-'));
  const v1 = await startWorker({ origin: origin.url, kvDir, vars: { POLICY_VERSION: '1' } });
  let cookie;
  let id;
  try {
    const first = await postForm(v1, { action: 'accept_all' });
    cookie = consentCookie(first);
    id = (await (await v1.fetch('/_consent/state', { headers: { cookie } })).json()).id;
  } finally {
    await v1.close();
  }
  const v2 = await startWorker({ origin: origin.url, kvDir, vars: { POLICY_VERSION: '2' } });
  try {
    assert.equal((await (await v2.fetch('/_consent/state', { headers: { cookie } })).json()).decided, false, 'asked again');
    const again = await postForm(v2, { action: 'reject_all' }, { cookie });
    const cookie2 = consentCookie(again);
    const state = await (await v2.fetch('/_consent/state', { headers: { cookie: cookie2 } })).json();
    assert.equal(state.id, id, 'the same consent id continues');
    const download = await (await v2.fetch('/_consent/records', { headers: { cookie: cookie2 } })).json();
    assert.deepEqual(download.records.map((r) => r.policy_version), ['1', '2']);
    const erased = await v2.fetch('/_consent/records', { method: 'DELETE', headers: { cookie: cookie2, 'sec-fetch-site': 'same-origin' } });
    assert.deepEqual(await erased.json(), { erased: 2 });
    assert.equal((await recordsOf(v2.kv(), id)).length, 0, 'the policy-1 record is gone too');
  } finally {
    await v2.close();
  }
});

test('the preferences page is a receipt: the consent id and date, even after the decision lapsed', async () => {
  const cookie = signedCookie({ id: 'cd'.repeat(16), policy: '0', givenAt: Date.parse('2026-01-15T10:00:00Z') });
  const html = await (await get('/_consent/preferences', { cookie, 'accept-language': 'en' })).text();
  assert.match(html, /no longer stands/);
  assert.match(html, new RegExp(`<code>${'cd'.repeat(16)}</code>`));
  assert.match(html, /<time datetime="2026-01-15T10:00:00Z">2026-01-15<\/time>/);
});

test(`the consent cookie is ${COOKIE_NAME}: a sibling subdomain's ${LEGACY_COOKIE_NAME} is neither read nor continued`, async () => {
  const res = await postForm(worker, { action: 'accept_all' });
  const set = res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE_NAME}=`));
  assert.match(set, /; HttpOnly/i);
  assert.match(set, /; Secure/i);
  assert.match(set, /; Path=\//);
  assert.doesNotMatch(set, /Domain=/i, '__Host- forbids a Domain');
  // An attacker on a sibling subdomain sets the old name for the whole domain, with a valid
  // signature copied from their own browser: it counts for nothing.
  const planted = signedCookie({ id: 'ee'.repeat(16) }).replace(`${COOKIE_NAME}=`, `${LEGACY_COOKIE_NAME}=`);
  const page = await (await get('/page', { cookie: planted })).text();
  assert.match(page, /data-consent-banner/, 'still undecided');
  const decided = await postForm(worker, { action: 'reject_all' }, { cookie: planted });
  const state = await (await worker.fetch('/_consent/state', { headers: { cookie: consentCookie(decided) } })).json();
  assert.notEqual(state.id, 'ee'.repeat(16), 'the next decision is not captured under the planted id');
  assert.ok(decided.headers.getSetCookie().some((c) => c.startsWith(`${LEGACY_COOKIE_NAME}=;`) && /Max-Age=0/.test(c)), 'the old cookie is expired');
});

test('erasure deletes the records the cookie names even when KV does not list them yet', async () => {
  // The decision's record is in KV; the listing sees it too locally, so simulate a lagging
  // listing by erasing with a cookie whose named record was written under another prefix
  // position: the worker must delete what the cookie names, whatever list says.
  const res = await postForm(worker, { action: 'accept_all' });
  const cookie = consentCookie(res);
  const { id } = await (await worker.fetch('/_consent/state', { headers: { cookie } })).json();
  const [{ key }] = await recordsOf(worker.kv(), id);
  assert.match(key.name, new RegExp(`^rec:${id}:\\d{13}-[0-9a-f]{8}$`));
  const erased = await worker.fetch('/_consent/records', { method: 'DELETE', headers: { cookie, 'sec-fetch-site': 'same-origin' } });
  assert.deepEqual(await erased.json(), { erased: 1 });
  assert.equal(await worker.kv().get(key.name), null);
});

test('KV holds nothing readable about a person: no metadata on the record, no id or time shared with the day index', async () => {
  const res = await postForm(worker, { action: 'save', analytics: 'on' });
  const { id } = await (await worker.fetch('/_consent/state', { headers: { cookie: consentCookie(res) } })).json();
  const [{ key }] = await recordsOf(worker.kv(), id);
  assert.equal(key.metadata, undefined, JSON.stringify(key));
  const reference = key.name.split(':').at(-1);
  const days = await allKeys(worker.kv(), 'day:');
  assert.ok(days.length > 0 && days.every((d) => !d.name.includes(reference) && !d.name.includes(id)));
  assert.ok(days.some((d) => d.metadata?.analytics === true && d.metadata?.marketing === false), 'aggregates still countable');
});

test('Origin: null from a same-origin form (Referrer-Policy: no-referrer) is this site', async () => {
  const res = await postForm(worker, { action: 'reject_all' }, { origin: 'null', 'sec-fetch-site': 'same-origin' });
  assert.equal(res.status, 303);
  const cross = await postForm(worker, { action: 'accept_all' }, { origin: 'null', 'sec-fetch-site': 'cross-site' });
  assert.equal(cross.status, 403);
});

test('a return page the worker will not use no longer refuses the decision: recorded, and home', async () => {
  for (const returnTo of ['https://evil.example/', '//evil.example/', '/search?q=a\\b', `/${'a'.repeat(2000)}`]) {
    const res = await postForm(worker, { action: 'accept_all', return_to: returnTo });
    assert.equal(res.status, 303, returnTo);
    assert.equal(res.headers.get('location'), '/', returnTo);
    assert.ok(consentCookie(res), 'decision recorded');
  }
});

test('the origin is asked only for encodings the rewriter reads; HTML it cannot read is never sent ungated', async () => {
  const echoed = await (await worker.fetch('/echo', { headers: { 'accept-encoding': BROWSER_ENCODINGS } })).json();
  // Only what the runtime decodes for the rewriter (the worker forwards an Accept-Encoding
  // that already names only those, in whatever order, and replaces any other).
  const asked = echoed.headers['accept-encoding'].split(',').map((c) => c.split(';')[0].trim());
  assert.ok(asked.length > 0 && asked.every((c) => ['gzip', 'br', 'identity'].includes(c)), echoed.headers['accept-encoding']);
  const refused = await worker.fetch('/zstd', { headers: { 'accept-encoding': BROWSER_ENCODINGS } });
  assert.equal(refused.status, 502);
  assert.doesNotMatch(await refused.text(), /not really zstd/);
  const gz = await worker.fetch('/gzip-page', { headers: { 'accept-encoding': BROWSER_ENCODINGS } });
  const html = await gz.text();
  assert.doesNotMatch(html, GOOGLE, 'a gzip page is rewritten');
  assert.match(html, /data-consent-banner/);
});

test('Link headers to Google hosts are dropped without consent, on pages and on images', async () => {
  const page = await get('/linked');
  assert.equal(page.headers.get('link'), '</app.css>; rel=preload; as=style');
  const image = await get('/logo.png');
  assert.equal(image.headers.get('link'), null);
  assert.equal(Buffer.from(await image.arrayBuffer()).toString(), 'PNG');
  const granted = await get('/linked', { cookie: signedCookie({ analytics: true, marketing: true }) });
  assert.match(granted.headers.get('link'), /googletagmanager/, 'kept with consent');
});

test('every CSP policy is extended on its own, script-src-elem included', async () => {
  const res = await get('/two-csp');
  const html = await res.text();
  const nonce = /<script nonce="([^"]+)">/.exec(html)[1];
  const policies = res.headers.get('content-security-policy').split(', ');
  assert.equal(policies.length, 2, policies.join(' | '));
  assert.match(policies[0], new RegExp(`script-src 'self' 'nonce-${nonce.replace(/[+/=]/g, '\\$&')}'`));
  assert.ok(policies[1].includes(`script-src-elem 'self' https://cdn.example 'nonce-${nonce}'`), policies[1]);
});

test('Consent Mode defaults, all denied, come first in <head> on a page where nothing is granted', async () => {
  for (const cookie of [undefined, signedCookie({ analytics: false, marketing: false })]) {
    const html = await (await get('/page', cookie ? { cookie } : {})).text();
    assert.match(html, /<head><script nonce="[^"]+">window\.dataLayer=window\.dataLayer\|\|\[\];function gtag\(\)\{dataLayer\.push\(arguments\);\}gtag\('consent','default',\{ad_storage:'denied'/);
    assert.doesNotMatch(html, /'update'/);
  }
});

test('cookies the visitor has not allowed are expired on every response, not only on a decision', async () => {
  const cookie = `_ga=GA1.1.9; _gac_UA-1=x; FPID=y; origin_session=keep; ${signedCookie({ analytics: false, marketing: false })}`;
  for (const path of ['/page', '/image.png']) {
    const res = await get(path, { cookie });
    const expired = res.headers.getSetCookie().filter((c) => /Max-Age=0/.test(c)).map((c) => c.split('=')[0]);
    for (const name of ['_ga', '_gac_UA-1', 'FPID']) assert.ok(expired.includes(name), `${path}: ${name} in ${expired}`);
    assert.ok(!expired.includes('origin_session'));
  }
  const clean = await get('/image.png', { cookie: 'origin_session=keep' });
  assert.deepEqual(clean.headers.getSetCookie(), [], 'nothing to expire, nothing added');
});

test('decisions beyond the rate limit from one network get 429 with Retry-After and write nothing', async () => {
  const limited = await startWorker({ origin: origin.url, ratelimits: { DECISION_LIMITER: { simple: { limit: 2, period: 60 } } } });
  try {
    const from = (ip) => ({ 'cf-connecting-ip': ip });
    for (let i = 0; i < 2; i++) assert.equal((await postForm(limited, { action: 'reject_all' }, from(`198.51.100.${10 + i}`))).status, 303);
    const before = (await allKeys(limited.kv())).length;
    const over = await postForm(limited, { action: 'accept_all' }, from('198.51.100.99'));
    assert.equal(over.status, 429, 'the same /24');
    assert.equal(over.headers.get('retry-after'), '60');
    assert.equal((await over.json()).error, 'too_many_requests');
    assert.equal(consentCookie(over), undefined);
    assert.equal((await allKeys(limited.kv())).length, before, 'nothing written');
    assert.equal((await postForm(limited, { action: 'reject_all' }, from('203.0.113.5'))).status, 303, 'another network is not limited');
  } finally {
    await limited.close();
  }
});
