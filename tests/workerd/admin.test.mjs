// The marketing dashboard in workerd with real local D1 and KV (README, "For marketing: the
// consent dashboard"): every route behind a Cloudflare Access token checked against a
// loopback stand-in for the team's certs, the roles, key rotation, the exact numbers, the exports,
// the record look-ups and the audit log with its hash chain, and a failing D1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keyId } from '../../scripts/lib/records.mjs';
import { startOrigin } from '../support/origin.mjs';
import { startWorker, RECORD_KEY } from '../support/worker.mjs';
import { entryHash } from '../support/audit.mjs';
import { consentCookie, postForm, recordsOf, signedCookie } from '../support/consent.mjs';
import { daysAgo, today } from '../support/days.mjs';
import {
  TEST_AUD, accessClaims, accessToken, b64url, privateKeyPem, publicJwk, signHs256, signRs256, startCertsServer,
} from '../support/access-tokens.mjs';

const ADMIN = 'ana@sivocenter.com';
const VIEWER = 'luis@sivocenter.com';
const OUTSIDER = 'x@other.example';
const SOME_ID = '0123456789abcdef'.repeat(2);
const ROUTES = {
  dashboard: '/_consent/admin',
  json: '/_consent/admin/stats.json',
  csv: '/_consent/admin/stats.csv',
  records: `/_consent/admin/records/${SOME_ID}`,
  audit: '/_consent/admin/audit',
};
const VIEWER_ROUTES = [ROUTES.dashboard, ROUTES.json, ROUTES.csv];
const ADMIN_ROUTES = [ROUTES.records, ROUTES.audit];
const EVERY_ROUTE = [...VIEWER_ROUTES, ...ADMIN_ROUTES];

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148';
const IPAD = 'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)';
const DESKTOP = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120';

let origin;
let certs;
let worker;

/** The Access settings of a worker whose team domain is `teamDomain`. */
const accessVars = (teamDomain) => ({
  ACCESS_TEAM_DOMAIN: teamDomain,
  ACCESS_AUD: TEST_AUD,
  DASHBOARD_ADMINS: ADMIN,
  DASHBOARD_VIEWERS: '@sivocenter.com',
});

/** A worker in front of the fixture origin with Access pointed at `team` (a certs server). */
const startDashboard = (team, options = {}) =>
  startWorker({ origin: origin.url, ...options, vars: { ...accessVars(team.url), ...options.vars } });

before(async () => {
  origin = await startOrigin();
  certs = await startCertsServer();
  worker = await startDashboard(certs);
});
after(async () => {
  await worker?.close();
  await certs?.close();
  await origin?.close();
});

/** A token for `email` from the main certs server's team, valid now. */
const tokenFor = (email, options = {}) => accessToken({ teamDomain: certs.url, email, ...options });

/**
 * GET `path` on `w` as the dashboard's own pages would (JSON errors, `Sec-Fetch-Site:
 * same-origin`), with `token` if given.
 */
function get(w, path, { token, headers = {}, method = 'GET' } = {}) {
  return w.fetch(path, {
    method,
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

/** Every kind of token the worker must refuse with 403, by name. */
function badTokens() {
  const now = Math.floor(Date.now() / 1000);
  const team = certs.url;
  const header = { alg: 'RS256', kid: 'test-key-1', typ: 'JWT' };
  const claims = accessClaims({ teamDomain: team, email: ADMIN });
  const publicPem = crypto.createPublicKey(privateKeyPem(1)).export({ type: 'spki', format: 'pem' });
  const viewerToken = tokenFor(VIEWER);
  const [h, , s] = viewerToken.split('.');
  return {
    garbage: 'garbage',
    'three garbage parts': 'abc.def.ghi',
    expired: tokenFor(ADMIN, { claims: { iat: now - 7200, nbf: now - 7200, exp: now - 3600 } }),
    'not yet valid': tokenFor(ADMIN, { claims: { nbf: now + 3600, exp: now + 7200 } }),
    'no expiry': signRs256(header, { ...claims, exp: undefined }),
    'wrong aud': tokenFor(ADMIN, { claims: { aud: ['other-aud'] } }),
    'wrong iss': tokenFor(ADMIN, { claims: { iss: 'https://evil.cloudflareaccess.com' } }),
    'alg none': `${b64url({ alg: 'none', kid: 'test-key-1', typ: 'JWT' })}.${b64url(claims)}.`,
    'HS256 with the public key (PEM) as secret': signHs256({ ...header, alg: 'HS256' }, claims, publicPem),
    'HS256 with the public key (JWK) as secret': signHs256({ ...header, alg: 'HS256' }, claims, JSON.stringify(publicJwk(1))),
    'tampered payload (viewer token, admin claims)': `${h}.${b64url(claims)}.${s}`,
    'signed by key 2, naming key 1': accessToken({ teamDomain: team, email: ADMIN, key: 2, kid: 'test-key-1' }),
    'unknown kid': tokenFor(ADMIN, { kid: 'test-key-9' }),
    'no e-mail (service token)': signRs256(header, { ...claims, email: undefined }),
    oversized: tokenFor(ADMIN, { claims: { padding: 'x'.repeat(20_000) } }),
  };
}

/** Why each of badTokens() is refused, as the audit entry of the refusal says. */
const REFUSAL_REASONS = {
  garbage: /malformed Access token/,
  'three garbage parts': /malformed Access token/,
  expired: /Access token expired/,
  'not yet valid': /not yet valid/,
  'no expiry': /has no expiry/,
  'wrong aud': /for another application/,
  'wrong iss': /issued by another team domain/,
  'alg none': /algorithm is not RS256/,
  'HS256 with the public key (PEM) as secret': /algorithm is not RS256/,
  'HS256 with the public key (JWK) as secret': /algorithm is not RS256/,
  'tampered payload (viewer token, admin claims)': /signature does not verify/,
  'signed by key 2, naming key 1': /signature does not verify/,
  'unknown kid': /unknown key/,
  'no e-mail (service token)': /no e-mail address/,
  oversized: /longer than 16 KiB/,
};

test('no token: 401 sign_in_required on every route, as JSON for a program and as a page for a browser', async () => {
  for (const path of EVERY_ROUTE) {
    await assertError(await get(worker, path), 401, 'sign_in_required', `${path} without a token`);
    await assertError(await get(worker, path, { token: '' }), 401, 'sign_in_required', `${path} with an empty token`);
  }
  const page = await worker.fetch(ROUTES.dashboard, { headers: { accept: 'text/html', 'accept-language': 'en' } });
  assert.equal(page.status, 401);
  assert.match(page.headers.get('content-type'), /text\/html/);
  assert.match(await page.text(), /Cloudflare Access/);
});

test('every refused token: 403 forbidden on every route, each for its own reason, audited', async () => {
  const tokens = badTokens();
  assert.deepEqual(Object.keys(tokens).sort(), Object.keys(REFUSAL_REASONS).sort());
  // Each attempt from a network of its own: a network's first refusal of a minute is written at
  // once (the rest of its minute are counted: see "a flood of refused requests…").
  const lastEntry = (ip) => worker.db().prepare('SELECT who, role, action, target, count FROM audit_log WHERE ip = ?1 ORDER BY seq DESC LIMIT 1').bind(ip).first();
  for (const [t, [name, token]] of Object.entries(tokens).entries()) {
    for (const [r, path] of EVERY_ROUTE.entries()) {
      const network = `10.${t}.${r}.0`;
      const headers = { 'cf-connecting-ip': `10.${t}.${r}.7` };
      await assertError(await get(worker, path, { token, headers }), 403, 'forbidden', `${path} with ${name}`);
      const entry = await lastEntry(network);
      assert.deepEqual([entry.who, entry.role, entry.action, entry.count], ['anonymous', 'none', 'refused', 1], `${name} on ${path}`);
      assert.ok(entry.target.startsWith(`${path} (`), `${name}: ${entry.target}`);
      assert.match(entry.target, REFUSAL_REASONS[name], `${name} on ${path} is refused for its own reason`);
    }
  }
});

test('a token within the 60 s leeway of exp and nbf is accepted', async () => {
  const now = Math.floor(Date.now() / 1000);
  for (const [name, claims] of [
    ['expired 20 s ago', { iat: now - 3600, nbf: now - 3600, exp: now - 20 }],
    ['valid from 20 s from now', { nbf: now + 20 }],
    ['aud as a string', { aud: TEST_AUD }],
  ]) {
    const res = await get(worker, ROUTES.json, { token: tokenFor(ADMIN, { claims }) });
    assert.equal(res.status, 200, `${name}: ${await res.text()}`);
  }
});

test('roles: a viewer reads the statistics only, an admin everything, an unlisted identity nothing', async () => {
  const viewer = tokenFor(VIEWER);
  const admin = tokenFor(ADMIN);
  for (const path of VIEWER_ROUTES) {
    const res = await get(worker, path, { token: viewer });
    assert.equal(res.status, 200, `viewer on ${path}: ${await res.text()}`);
  }
  for (const path of ADMIN_ROUTES) {
    await assertError(await get(worker, path, { token: viewer }), 403, 'forbidden', `viewer on ${path}`);
  }
  for (const path of EVERY_ROUTE) {
    const res = await get(worker, path, { token: admin });
    assert.equal(res.status, 200, `admin on ${path}: ${await res.text()}`);
    assert.equal(res.headers.get('cache-control'), 'no-store', `${path}: no-store`);
  }
  for (const email of [OUTSIDER, 'luis@mail.sivocenter.com', 'luis@sivocenter.com.evil.example', 'ana@sivocenter.co']) {
    const token = tokenFor(email);
    for (const path of EVERY_ROUTE) {
      await assertError(await get(worker, path, { token }), 403, 'forbidden', `${email} on ${path}`);
    }
  }
  // Addresses are compared case-insensitively: Access may send any case.
  const shouting = await get(worker, ROUTES.audit, { token: tokenFor('ANA@SivoCenter.COM') });
  assert.equal(shouting.status, 200, 'the admin in capitals is still the admin');
});

test('the answers: the page, the JSON and the CSV exports with their file names', async () => {
  const token = tokenFor(VIEWER);
  const page = await get(worker, ROUTES.dashboard, { token, headers: { accept: 'text/html', 'accept-language': 'en' } });
  assert.match(page.headers.get('content-type'), /^text\/html/);
  const html = await page.text();
  assert.match(html, /Signed in as luis@sivocenter\.com/i);
  assert.doesNotMatch(html, /Development mode/);
  const range = `from=${daysAgo(2)}&to=${today()}`;
  const json = await get(worker, `${ROUTES.json}?${range}`, { token });
  assert.match(json.headers.get('content-type'), /^application\/json/);
  assert.equal(json.headers.get('content-disposition'), `attachment; filename="sivo-consent-stats-${daysAgo(2)}-${today()}.json"`);
  const body = await json.json();
  assert.deepEqual([body.from, body.to], [daysAgo(2), today()]);
  const csv = await get(worker, `${ROUTES.csv}?${range}`, { token });
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  assert.equal(csv.headers.get('content-disposition'), `attachment; filename="sivo-consent-stats-${daysAgo(2)}-${today()}.csv"`);
  const lines = (await csv.text()).trim().split('\n');
  assert.equal(lines.length, 4, 'a header and one row per day');
});

test('an e-mail address is shown escaped, never as markup', async () => {
  const res = await get(worker, ROUTES.dashboard, { token: tokenFor('<img src=x onerror=alert(1)>@sivocenter.com'), headers: { accept: 'text/html' } });
  const html = await res.text();
  assert.equal(res.status, 200, 'a viewer by its domain');
  assert.doesNotMatch(html, /<img src=x/);
  assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;@sivocenter\.com/);
});

test('key rotation: an unknown kid refetches the certs once; a made-up kid right after fetches nothing', async () => {
  const team = await startCertsServer({ jwks: 1 });
  const w = await startDashboard(team);
  try {
    const token = (key, kid) => accessToken({ teamDomain: team.url, email: ADMIN, key, ...(kid ? { kid } : {}) });
    assert.equal((await get(w, ROUTES.json, { token: token(1) })).status, 200, 'key 1 before the rotation');
    assert.equal(team.fetches, 1, 'the first request fetched the certs');
    assert.equal((await get(w, ROUTES.json, { token: token(1) })).status, 200);
    assert.equal(team.fetches, 1, 'then they are kept');

    team.serve(2);
    const rotated = await get(w, ROUTES.json, { token: token(2) });
    assert.equal(rotated.status, 200, `key 2 after the rotation: ${await rotated.text()}`);
    assert.equal(team.fetches, 2, 'exactly one refetch');
    assert.equal((await get(w, ROUTES.json, { token: token(1) })).status, 200, 'key 1 is still listed');
    assert.equal((await get(w, ROUTES.json, { token: token(2) })).status, 200);
    assert.equal(team.fetches, 2);

    for (const kid of ['made-up-1', 'made-up-2', 'made-up-3']) {
      await assertError(await get(w, ROUTES.json, { token: token(1, kid) }), 403, 'forbidden', kid);
    }
    assert.equal(team.fetches, 2, 'made-up kids within a minute of the refresh fetch nothing');
  } finally {
    await w.close();
    await team.close();
  }
});

test('certs that cannot be fetched: 503 unavailable, nothing let in, and not fetched again for a minute', async () => {
  // When they are fetched again (a minute on), and that keys are kept for at most an hour:
  // dashboard/access/tests.rs, over a clock the test sets.
  const team = await startCertsServer();
  team.fail(500);
  const w = await startDashboard(team);
  try {
    const token = accessToken({ teamDomain: team.url, email: ADMIN });
    for (const path of EVERY_ROUTE) {
      await assertError(await get(w, path, { token }), 503, 'unavailable', `${path} with the certs down`);
    }
    await assertError(await get(w, ROUTES.json), 401, 'sign_in_required', 'no token needs no certs');
    assert.equal(team.fetches, 1, 'one failed fetch; every later request within the minute waits');
    for (const kid of ['made-up-1', 'made-up-2']) {
      const madeUp = accessToken({ teamDomain: team.url, email: ADMIN, kid });
      await assertError(await get(w, ROUTES.json, { token: madeUp }), 503, 'unavailable', kid);
    }
    team.fail(0);
    await assertError(await get(w, ROUTES.json, { token }), 503, 'unavailable', 'certs back, but within the minute');
    assert.equal(team.fetches, 1, 'a failed fetch is throttled like a refresh');
  } finally {
    await w.close();
    await team.close();
  }
});

test('Access not configured with a real origin: 503 not_configured on every route, token or not', async () => {
  const token = tokenFor(ADMIN);
  for (const [name, vars] of [
    ['nothing set', { ACCESS_TEAM_DOMAIN: '', ACCESS_AUD: '' }],
    ['no audience', { ACCESS_AUD: '' }],
    ['no team domain', { ACCESS_TEAM_DOMAIN: '' }],
    ['a team domain that is not https', { ACCESS_TEAM_DOMAIN: 'http://sivo.cloudflareaccess.com' }],
    ['a team domain with a path', { ACCESS_TEAM_DOMAIN: 'https://sivo.cloudflareaccess.com/cdn-cgi' }],
  ]) {
    const w = await startDashboard(certs, { vars });
    try {
      for (const path of EVERY_ROUTE) {
        await assertError(await get(w, path), 503, 'not_configured', `${name}: ${path} without a token`);
        await assertError(await get(w, path, { token }), 503, 'not_configured', `${name}: ${path} with a token`);
      }
      const page = await w.fetch('/page');
      assert.equal(page.status, 200, `${name}: the site keeps being served`);
      const health = await (await w.fetch('/_consent/health')).json();
      assert.equal(health.dashboard, 'closed', name);
    } finally {
      await w.close();
    }
  }
});

test('the demo origin with Access unset opens as the development identity on a loopback host only, and says so; with Access set it does not', async () => {
  const demo = await startWorker({ vars: { ACCESS_TEAM_DOMAIN: '', ACCESS_AUD: '' } });
  try {
    for (const host of ['sivocenter.com', 'staging.sivocenter.com', '192.168.1.20:8787', 'localhost.sivocenter.com']) {
      for (const path of EVERY_ROUTE) {
        await assertError(await get(demo, `http://${host}${path}`), 503, 'not_configured', `${host}${path}: no development identity off loopback`);
      }
    }
    for (const host of ['localhost:8787', '127.0.0.1:8787', '[::1]:8787']) {
      const res = await get(demo, `http://${host}${ROUTES.json}`);
      assert.equal(res.status, 200, `${host}: ${await res.text()}`);
    }
    const loopback = (path) => `http://127.0.0.1:8787${path}`;
    const page = await get(demo, loopback(ROUTES.dashboard), { headers: { accept: 'text/html', 'accept-language': 'en' } });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Development mode/);
    assert.match(html, /developer@localhost/);
    for (const path of [ROUTES.json, ROUTES.csv, ROUTES.audit, ROUTES.records]) {
      const res = await get(demo, loopback(path));
      assert.equal(res.status, 200, `${path}: ${await res.text()}`);
    }
    const audit = await (await get(demo, loopback(ROUTES.audit))).json();
    const asked = audit.entries.filter((e) => e.action !== 'refused');
    assert.ok(asked.length > 0 && asked.every((e) => e.who === 'developer@localhost' && e.role === 'admin'), 'audited as the developer');
    assert.ok(audit.entries.filter((e) => e.action === 'refused').every((e) => e.who === 'anonymous'), 'off loopback: refused, anonymous');
    assert.equal((await (await demo.fetch(loopback('/_consent/health'))).json()).dashboard, 'development');
  } finally {
    await demo.close();
  }
  const guarded = await startWorker({ vars: accessVars(certs.url) });
  try {
    await assertError(await get(guarded, ROUTES.dashboard), 401, 'sign_in_required', 'demo origin with Access set');
    const res = await get(guarded, ROUTES.dashboard, { token: tokenFor(VIEWER), headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.doesNotMatch(await res.text(), /Development mode/);
  } finally {
    await guarded.close();
  }
});

test('exact counts: page views by consent, decisions by method, coverage, the banner, opt-in, every day, device and language, the previous period; the CSV agrees', async () => {
  const w = await startDashboard(certs);
  try {
    const page = (lang, ua, cookie) =>
      w.fetch('/page', { headers: { 'accept-language': lang, 'user-agent': ua, 'accept-encoding': 'identity', ...(cookie ? { cookie } : {}) } }).then((r) => r.text());
    const all = signedCookie({ analytics: true, marketing: true });
    const rejected = signedCookie({ analytics: false, marketing: false });
    for (let i = 0; i < 2; i++) await page('es', IPHONE);
    for (let i = 0; i < 3; i++) await page('en', DESKTOP);
    await page('es', IPAD, all);
    for (let i = 0; i < 2; i++) await page('en', IPHONE, all);
    for (let i = 0; i < 2; i++) await page('en', DESKTOP, rejected);
    const decide = async (fields, lang, ua, extra = {}) => {
      const res = await postForm(w, fields, { 'accept-language': lang, 'user-agent': ua, ...extra });
      assert.equal(res.status, 303, JSON.stringify(fields));
    };
    await decide({ action: 'accept_all' }, 'es', IPHONE);
    await decide({ action: 'accept_all' }, 'es', IPHONE);
    await decide({ action: 'reject_all' }, 'en', DESKTOP);
    await decide({ action: 'save', analytics: 'on' }, 'en', DESKTOP);
    await decide({ action: 'save', analytics: 'on', marketing: 'on' }, 'es', IPAD, { 'sec-gpc': '1' });
    // Neither the dashboard nor the consent routes count as page views; a known bot's page and
    // a prefetch are counted apart.
    await page('en', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)');
    await w.fetch('/page', { headers: { 'user-agent': DESKTOP, 'sec-purpose': 'prefetch', 'accept-encoding': 'identity' } }).then((r) => r.text());
    await w.fetch('/_consent/state');
    await w.fetch('/image.png').then((r) => r.arrayBuffer());

    const token = tokenFor(VIEWER);
    const range = `from=${daysAgo(6)}&to=${today()}`;
    let stats;
    for (let i = 0; i < 100; i++) {
      stats = await (await get(w, `${ROUTES.json}?${range}`, { token })).json();
      if (stats.page_views.total >= 10 && stats.decisions.total >= 5) break;
      await sleep(30);
    }
    await sleep(300);
    stats = await (await get(w, `${ROUTES.json}?${range}`, { token })).json();

    assert.deepEqual([stats.from, stats.to], [daysAgo(6), today()]);
    assert.deepEqual(stats.page_views, { total: 10, undecided: 5, rejected: 2, analytics: 3, marketing: 3, excluded: { bots: 1, prefetch: 1 } });
    assert.deepEqual(stats.decisions, { total: 5, accept_all: 2, reject_all: 1, save: 2, analytics: 4, marketing: 2, gpc: 1 });
    assert.deepEqual(stats.coverage, { analytics: 0.3, marketing: 0.3 });
    // 5 page views carried the banner; 5 decisions were made on it, 2 of them "Accept all".
    assert.deepEqual(stats.banner, { impressions: 5, decisions: 5, interaction_rate: 1, no_choice_rate: 0, accept_rate: 0.4 });
    assert.deepEqual(stats.opt_in, { analytics: 0.8, marketing: 0.4 });

    assert.deepEqual(stats.by_day.map((d) => d.date), [6, 5, 4, 3, 2, 1, 0].map(daysAgo), 'every day of the range, in order');
    for (const day of stats.by_day.slice(0, -1)) {
      assert.equal(day.page_views.total + day.decisions.total, 0, `${day.date} is empty`);
      assert.deepEqual(day.coverage, { analytics: null, marketing: null }, 'no data on an empty day: null, not 0 (nor NaN)');
      assert.deepEqual(day.banner, { impressions: 0, decisions: 0, interaction_rate: null, no_choice_rate: null, accept_rate: null });
      assert.deepEqual(day.opt_in, { analytics: null, marketing: null });
    }
    const last = stats.by_day.at(-1);
    assert.deepEqual([last.page_views, last.decisions, last.coverage, last.banner, last.opt_in], [stats.page_views, stats.decisions, stats.coverage, stats.banner, stats.opt_in], 'today holds everything');
    // The previous period: the seven days before, with the same keys, empty here.
    assert.deepEqual([stats.previous.from, stats.previous.to, stats.previous.by_day.length], [daysAgo(13), daysAgo(7), 7]);
    assert.deepEqual(stats.previous.coverage, { analytics: null, marketing: null });
    assert.equal(stats.previous.banner.accept_rate, null);
    assert.equal(stats.previous.previous, undefined, 'one period back, not a chain');

    const by = (rows, key) => Object.fromEntries(rows.map((r) => [r[key], [r.page_views.total, r.decisions.total]]));
    assert.deepEqual(by(stats.by_device, 'device'), { mobile: [4, 2], tablet: [1, 1], desktop: [5, 2] });
    assert.deepEqual(by(stats.by_language, 'language'), { es: [3, 3], en: [7, 2] });
    assert.deepEqual(by(stats.by_country, 'country'), { ES: [10, 5] });
    const en = stats.by_language.find((r) => r.language === 'en');
    assert.deepEqual(en.page_views, { total: 7, undecided: 3, rejected: 2, analytics: 2, marketing: 2 });

    const csv = await (await get(w, `${ROUTES.csv}?${range}`, { token })).text();
    const lines = csv.trim().split('\n');
    assert.equal(lines[0], 'date,page_views,undecided,rejected,analytics,marketing,coverage_analytics,coverage_marketing,decisions,accept_all,reject_all,save,decisions_analytics,decisions_marketing,gpc,banner_impressions,banner_decisions,interaction_rate,no_choice_rate,accept_rate,optin_analytics,optin_marketing');
    assert.equal(lines.length, 8, 'a header and seven days');
    assert.equal(lines.at(-1), `${today()},10,5,2,3,3,0.3000,0.3000,5,2,1,2,4,2,1,5,5,1.0000,0.0000,0.4000,0.8000,0.4000`);
    assert.equal(lines[1], `${daysAgo(6)},0,0,0,0,0,,,0,0,0,0,0,0,0,0,0,,,,,`, 'no data: empty fields, not 0');

    const defaults = await (await get(w, ROUTES.json, { token })).json();
    assert.deepEqual([defaults.from, defaults.to, defaults.by_day.length], [daysAgo(29), today(), 30], 'the last 30 days by default');
    assert.equal(defaults.page_views.total, 10);
    const before = await (await get(w, `${ROUTES.json}?from=${daysAgo(20)}&to=${daysAgo(1)}`, { token })).json();
    assert.equal(before.page_views.total + before.decisions.total, 0, 'a range without today holds nothing');

    const html = await (await get(w, `${ROUTES.dashboard}?${range}`, { token, headers: { accept: 'text/html', 'accept-language': 'en' } })).text();
    assert.match(html, /<span>Page views<\/span><strong>10<\/strong>/);
    assert.match(html, /GA4 saw 30 % of page views/);
    assert.match(html, /Not page views, counted apart \(GA4 would not count them either\): known bots 1, prefetches and prerenders 1\./);
    assert.match(html, /<span>Accepted all, of those who chose<\/span><strong>40 %<\/strong><small class="change">no comparison: no data before<\/small>/);

    // History in the previous period, as the worker writes it: the comparison reads it.
    await w.db().batch([
      w.db().prepare("INSERT INTO page_views (day, consent, country, lang, device, views) VALUES (?1, 'all', 'ES', 'es', 'mobile', 10), (?1, 'undecided', 'ES', 'es', 'mobile', 10)").bind(daysAgo(10)),
      w.db().prepare("INSERT INTO decisions (day, method, analytics, marketing, gpc, country, lang, device, decisions) VALUES (?1, 'accept_all', 1, 1, 0, 'ES', 'es', 'mobile', 4), (?1, 'reject_all', 0, 0, 0, 'ES', 'es', 'mobile', 1)").bind(daysAgo(10)),
    ]);
    const compared = await (await get(w, `${ROUTES.json}?${range}`, { token })).json();
    assert.deepEqual([compared.previous.page_views.total, compared.previous.coverage, compared.previous.banner], [20, { analytics: 0.5, marketing: 0.5 }, { impressions: 10, decisions: 5, interaction_rate: 0.5, no_choice_rate: 0.5, accept_rate: 0.8 }]);
    assert.equal(compared.previous.by_day.find((d) => d.date === daysAgo(10)).page_views.total, 20);
    assert.equal(compared.page_views.total, 10, 'the current period unchanged');
    const comparedHtml = await (await get(w, `${ROUTES.dashboard}?${range}`, { token, headers: { accept: 'text/html', 'accept-language': 'en' } })).text();
    assert.match(comparedHtml, /<span>Accepted all, of those who chose<\/span><strong>40 %<\/strong><small class="change">▼ down 40\.0 points from 80 %<\/small>/);
    assert.match(comparedHtml, /<span>GA4 coverage<\/span><strong>30 %<\/strong><small class="change">▼ down 20\.0 points from 50 %<\/small>/);
    assert.match(comparedHtml, /Compared with the previous period, /);

    for (const bad of ['from=2026-13-01', 'to=2026-02-30', 'from=yesterday', `from=${today()}&to=${daysAgo(1)}`, `from=${daysAgo(400)}&to=${today()}`]) {
      for (const path of VIEWER_ROUTES) {
        await assertError(await get(w, `${path}?${bad}`, { token }), 400, 'bad_request', `${path}?${bad}`);
      }
    }
    const widest = await get(w, `${ROUTES.json}?from=${daysAgo(399)}&to=${today()}`, { token });
    assert.equal(widest.status, 200, '400 days at once are fine');
  } finally {
    await w.close();
  }
});

test('the audit log: exports, look-ups and refusals, newest first, truncated IPs, a verified chain; a changed row breaks it', async () => {
  const w = await startDashboard(certs);
  try {
    const viewer = tokenFor(VIEWER);
    const admin = tokenFor(ADMIN);
    const range = `from=${daysAgo(1)}&to=${today()}`;
    const expired = badTokens().expired;
    assert.equal((await get(w, `${ROUTES.json}?${range}`, { token: viewer, headers: { 'cf-connecting-ip': '203.0.113.77' } })).status, 200);
    assert.equal((await get(w, `${ROUTES.csv}?${range}`, { token: viewer, headers: { 'cf-connecting-ip': '2001:db8:abcd:12::5' } })).status, 200);
    assert.equal((await get(w, ROUTES.records, { token: admin, headers: { 'cf-connecting-ip': '198.51.100.23' } })).status, 200);
    assert.equal((await get(w, ROUTES.dashboard, { token: viewer })).status, 200, 'reading the page is not audited');
    await assertError(await get(w, ROUTES.json, { headers: { 'cf-connecting-ip': '192.0.2.200' } }), 401, 'sign_in_required', 'no token');
    await assertError(await get(w, ROUTES.audit, { token: viewer, headers: { 'cf-connecting-ip': '203.0.113.9' } }), 403, 'forbidden', 'viewer on audit');
    await assertError(await get(w, ROUTES.records, { token: expired, headers: { 'cf-connecting-ip': '203.0.113.10' } }), 403, 'forbidden', 'expired');
    await assertError(await get(w, ROUTES.csv, { token: tokenFor(OUTSIDER), headers: { 'cf-connecting-ip': '198.51.100.11' } }), 403, 'forbidden', 'outsider');

    const res = await get(w, ROUTES.audit, { token: admin, headers: { 'cf-connecting-ip': '203.0.113.77' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const text = await res.text();
    for (const t of [viewer, admin, expired]) assert.ok(!text.includes(t.split('.')[2]), 'no token in the log');
    const log = JSON.parse(text);
    assert.equal(log.chain, 'verified');
    assert.equal(log.broken_at, null);
    assert.deepEqual(log.head, { status: 'matches', seq: 8 }, 'the head kept in KV is the newest entry');
    assert.deepEqual([log.total, log.before, log.limit, log.next_before], [8, null, 100, null]);
    const pick = ({ seq, who, role, action, target, ip, count }) => ({ seq, who, role, action, target, ip, count });
    assert.deepEqual(log.entries.map(pick), [
      { seq: 8, who: ADMIN, role: 'admin', action: 'audit_read', target: ROUTES.audit, ip: '203.0.113.0', count: 1 },
      { seq: 7, who: 'anonymous', role: 'none', action: 'refused', target: `${ROUTES.csv} (identity in neither DASHBOARD_ADMINS nor DASHBOARD_VIEWERS)`, ip: '198.51.100.0', count: 1 },
      { seq: 6, who: 'anonymous', role: 'none', action: 'refused', target: `${ROUTES.records} (Access token expired)`, ip: '203.0.113.0', count: 1 },
      { seq: 5, who: VIEWER, role: 'viewer', action: 'refused', target: `${ROUTES.audit} (admin route)`, ip: '203.0.113.0', count: 1 },
      { seq: 4, who: 'anonymous', role: 'none', action: 'refused', target: `${ROUTES.json} (no Cloudflare Access token)`, ip: '192.0.2.0', count: 1 },
      { seq: 3, who: ADMIN, role: 'admin', action: 'records_lookup', target: SOME_ID, ip: '198.51.100.0', count: 1 },
      { seq: 2, who: VIEWER, role: 'viewer', action: 'export_csv', target: range, ip: '2001:db8:abcd::', count: 1 },
      { seq: 1, who: VIEWER, role: 'viewer', action: 'export_json', target: range, ip: '203.0.113.0', count: 1 },
    ]);
    assert.deepEqual(JSON.parse(await w.kv().get('audit:head')), { seq: 8, hash: log.entries[0].hash }, 'the head in KV: a position and a hash, nothing personal');
    const oldestFirst = [...log.entries].reverse();
    oldestFirst.forEach((e, i) => {
      assert.equal(e.prev_hash, i === 0 ? '0'.repeat(64) : oldestFirst[i - 1].hash, `entry ${e.seq} names the one before`);
      assert.equal(e.hash, entryHash(e), `entry ${e.seq}'s hash is its own`);
      assert.match(e.at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
      // As instants: RFC 3339 strings with and without a fraction ("…:05Z", "…:05.3Z") do not
      // sort as text.
      if (i > 0) assert.ok(Date.parse(e.at) >= Date.parse(oldestFirst[i - 1].at), 'times never go back');
    });

    // The database refuses to change or remove an entry.
    const db = w.db();
    await assert.rejects(db.prepare("UPDATE audit_log SET target = 'nothing to see' WHERE seq = 3").run(), /append-only/);
    await assert.rejects(db.prepare('DELETE FROM audit_log WHERE seq = 3').run(), /append-only/);
    const intact = await (await get(w, ROUTES.audit, { token: admin })).json();
    assert.equal(intact.chain, 'verified');

    // An attacker with database access drops the trigger and rewrites an entry: the chain breaks there.
    await db.prepare('DROP TRIGGER audit_log_append_only_update').run();
    await db.prepare(`UPDATE audit_log SET target = '${'f'.repeat(32)}' WHERE seq = 3`).run();
    const broken = await (await get(w, ROUTES.audit, { token: admin })).json();
    assert.equal(broken.chain, 'broken');
    assert.equal(broken.broken_at, 3);
    assert.equal(broken.entries.length, 10, 'every entry is still shown');
    assert.equal(broken.entries.find((e) => e.seq === 3).target, 'f'.repeat(32));
    assert.equal(broken.entries[0].action, 'audit_read', 'and reading it is still logged');

    // Removing an entry leaves a gap in the positions: found too.
    await db.prepare('DROP TRIGGER audit_log_append_only_delete').run();
    await db.prepare(`UPDATE audit_log SET target = '${SOME_ID}' WHERE seq = 3`).run();
    assert.equal((await (await get(w, ROUTES.audit, { token: admin })).json()).chain, 'verified', 'put back, it verifies again');
    await db.prepare('DELETE FROM audit_log WHERE seq = 5').run();
    const gap = await (await get(w, ROUTES.audit, { token: admin })).json();
    assert.deepEqual([gap.chain, gap.broken_at], ['broken', 5]);
  } finally {
    await w.close();
  }
});

test('a record look-up answers that id’s records, decrypted, after writing its audit entry', async () => {
  const w = await startDashboard(certs);
  try {
    const first = await postForm(w, { action: 'accept_all' }, { 'accept-language': 'es' });
    const cookie = consentCookie(first);
    const { id } = await (await w.fetch('/_consent/state', { headers: { cookie } })).json();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal((await postForm(w, { action: 'save', analytics: 'on' }, { cookie })).status, 303);
    await postForm(w, { action: 'reject_all' }); // someone else's

    const viewerTry = await get(w, `/_consent/admin/records/${id}`, { token: tokenFor(VIEWER) });
    await assertError(viewerTry, 403, 'forbidden', 'a viewer looks up an id');

    const [logsBefore, rawBefore] = [w.jsonLogs().length, w.logs.length];
    const res = await get(w, `/_consent/admin/records/${id}`, { token: tokenFor(ADMIN), headers: { 'cf-connecting-ip': '203.0.113.77' } });
    assert.equal(res.status, 200);
    // The consent id names a visitor's records: the log line holds the route, not the id.
    const lines = w.jsonLogs().slice(logsBefore).filter((l) => l.msg === 'request');
    assert.deepEqual(lines.map((l) => l.path), ['/_consent/admin/records/:id']);
    assert.ok(!w.logs.slice(rawBefore).some((l) => l.message.includes(id)), 'no log line names the id');
    // Read at once, without waiting: the entry was written before the answer was sent.
    const last = await w.db().prepare('SELECT who, role, action, target, ip FROM audit_log ORDER BY seq DESC LIMIT 1').first();
    assert.deepEqual(last, { who: ADMIN, role: 'admin', action: 'records_lookup', target: id, ip: '203.0.113.0' });
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.json();
    assert.equal(body.consent_id, id);
    const stored = await recordsOf(w.kv(), id);
    assert.equal(body.records.length, 2, JSON.stringify(body));
    assert.deepEqual(body.records, stored.map((r) => r.record), 'exactly the stored records, decrypted');
    assert.deepEqual(body.records.map((r) => r.method), ['accept_all', 'save']);
    assert.ok(body.records.every((r) => r.id === id), 'all of that id');
    assert.deepEqual(body.records.map((r) => [r.choices.analytics, r.choices.marketing]), [[true, true], [true, false]]);

    const nobody = await get(w, `/_consent/admin/records/${'9'.repeat(32)}`, { token: tokenFor(ADMIN) });
    assert.equal(nobody.status, 200);
    assert.deepEqual((await nobody.json()).records, [], 'an unknown id has no records');
    for (const bad of ['ABCDEF0123456789ABCDEF0123456789', 'abc', `${id}0`, `${id}/x`]) {
      const r = await get(w, `/_consent/admin/records/${bad}`, { token: tokenFor(ADMIN) });
      assert.equal(r.status, 404, `records/${bad}`);
    }
  } finally {
    await w.close();
  }
});

test('a record look-up another site could make an admin’s browser send is refused before anything is read or written; a POST or the site’s own GET is answered', async () => {
  const w = await startDashboard(certs);
  try {
    const cookie = consentCookie(await postForm(w, { action: 'accept_all' }));
    const { id } = await (await w.fetch('/_consent/state', { headers: { cookie } })).json();
    const path = `/_consent/admin/records/${id}`;
    const admin = tokenFor(ADMIN);
    const entries = async () => (await w.db().prepare('SELECT COUNT(*) AS n FROM audit_log').first()).n;
    const before = await entries();
    for (const [what, init] of [
      ['a link from another site', { headers: { 'sec-fetch-site': 'cross-site' } }],
      ['a sibling subdomain', { headers: { 'sec-fetch-site': 'same-site' } }],
      ['a GET that says nothing of where it comes from', { headers: { 'sec-fetch-site': undefined } }],
      ['a form posted from another site', { method: 'POST', headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } }],
      ['a POST with a foreign Origin', { method: 'POST', headers: { 'sec-fetch-site': undefined, origin: 'https://evil.example' } }],
    ]) {
      const headers = Object.fromEntries(Object.entries(init.headers).filter(([, v]) => v !== undefined));
      const res = await w.fetch(path, {
        method: init.method ?? 'GET',
        headers: { accept: 'application/json', 'cf-access-jwt-assertion': admin, ...headers },
      });
      await assertError(res, 403, 'cross_site', what);
    }
    assert.equal(await entries(), before, 'nothing written: the admin did not ask');
    for (const [what, init] of [
      ['the dashboard\'s own GET', { headers: { 'sec-fetch-site': 'same-origin' } }],
      ['the address bar', { headers: { 'sec-fetch-site': 'none' } }],
      ['a program\'s POST', { method: 'POST', headers: {} }],
      ['a POST from the dashboard', { method: 'POST', headers: { 'sec-fetch-site': 'same-origin', origin: 'https://sivocenter.com' } }],
    ]) {
      const res = await w.fetch(path, {
        method: init.method ?? 'GET',
        headers: { accept: 'application/json', 'cf-access-jwt-assertion': admin, ...init.headers },
      });
      assert.equal(res.status, 200, `${what}: ${await res.clone().text()}`);
      assert.equal((await res.json()).records.length, 1, what);
    }
    assert.equal(await entries(), before + 4, 'each answered look-up audited');
    const put = await w.fetch(path, { method: 'PUT', headers: { 'cf-access-jwt-assertion': admin, accept: 'application/json' } });
    await assertError(put, 405, 'method_not_allowed', 'PUT');
    assert.equal(put.headers.get('allow'), 'GET, HEAD, POST');
  } finally {
    await w.close();
  }
});

test('a record look-up after a record key rotation: both keys open with the previous key set; without it the older record is listed unreadable with its date, 200', async () => {
  const NEW = Buffer.alloc(32, 11).toString('base64');
  const kvDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-kv-rotation-'));
  const run = async (vars, body) => {
    const w = await startDashboard(certs, { kvDir, vars });
    try {
      return await body(w);
    } finally {
      await w.close();
    }
  };
  const lookUp = async (w, id) => {
    const res = await get(w, `/_consent/admin/records/${id}`, { token: tokenFor(ADMIN) });
    assert.equal(res.status, 200);
    return (await res.json()).records;
  };
  const { cookie, id, givenAt, key } = await run({}, async (w) => {
    const c = consentCookie(await postForm(w, { action: 'accept_all' }));
    const s = await (await w.fetch('/_consent/state', { headers: { cookie: c } })).json();
    const [first] = await recordsOf(w.kv(), s.id);
    return { cookie: c, id: s.id, givenAt: s.given_at, key: first.key.name };
  });
  await run({ RECORD_ENCRYPTION_KEY: NEW, RECORD_ENCRYPTION_KEY_PREVIOUS: RECORD_KEY }, async (w) => {
    assert.equal((await postForm(w, { action: 'save', analytics: 'on' }, { cookie })).status, 303);
    assert.deepEqual((await lookUp(w, id)).map((r) => [r.id, r.method]), [[id, 'accept_all'], [id, 'save']]);
  });
  await run({ RECORD_ENCRYPTION_KEY: NEW }, async (w) => {
    const [gone, kept] = await lookUp(w, id);
    assert.deepEqual([gone.unreadable, gone.key, gone.at, gone.at_ms, gone.key_id], [true, key, givenAt, Date.parse(givenAt), keyId(RECORD_KEY)]);
    assert.equal(gone.method, undefined, 'nothing of it is shown but its date');
    assert.equal(kept.method, 'save');
  });
});

test('an export or a look-up whose audit entry cannot be written is refused, and reads nothing', async () => {
  const w = await startDashboard(certs, { kvFaults: true });
  try {
    const { cookie } = { cookie: consentCookie(await postForm(w, { action: 'accept_all' })) };
    const { id } = await (await w.fetch('/_consent/state', { headers: { cookie } })).json();
    await w.db().prepare("CREATE TRIGGER audit_log_jammed BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'jammed'); END").run();
    await w.kvFaults({});
    const admin = tokenFor(ADMIN);
    await assertError(await get(w, `/_consent/admin/records/${id}`, { token: admin }), 503, 'unavailable', 'look-up');
    const { calls, keys } = await w.kvFaults();
    assert.deepEqual(keys.get, ['audit:head'], 'only the audit log\'s head was read, no record');
    assert.deepEqual([calls.getWithMetadata, calls.list], [0, 0], 'no record was read');
    await assertError(await get(w, ROUTES.json, { token: admin }), 503, 'unavailable', 'JSON export');
    await assertError(await get(w, ROUTES.csv, { token: admin }), 503, 'unavailable', 'CSV export');
    await assertError(await get(w, ROUTES.audit, { token: admin }), 503, 'unavailable', 'audit read');
    const page = await get(w, ROUTES.dashboard, { token: admin, headers: { accept: 'text/html' } });
    assert.equal(page.status, 200, 'the page itself is not an export');
    const { n } = await w.db().prepare('SELECT COUNT(*) AS n FROM audit_log').first();
    assert.equal(n, 0);
  } finally {
    await w.close();
  }
});

test('a failing D1 never breaks a page or a decision; the dashboard answers 503 unavailable', async (t) => {
  const w = await startDashboard(certs, { d1: false });
  try {
    const page = await w.fetch('/page');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /data-consent-banner/);
    assert.equal((await postForm(w, { action: 'accept_all' })).status, 303);
    for (const path of EVERY_ROUTE) {
      await assertError(await get(w, path, { token: tokenFor(ADMIN) }), 503, 'unavailable', `admin on ${path}`);
    }
    for (const path of VIEWER_ROUTES) {
      await assertError(await get(w, path, { token: tokenFor(VIEWER) }), 503, 'unavailable', `viewer on ${path}`);
    }
    await t.test('a refusal is still a refusal while the audit log is down (src/dashboard/mod.rs `refused`: "best effort")', async () => {
      await assertError(await get(w, ROUTES.json), 401, 'sign_in_required', 'no token');
      await assertError(await get(w, ROUTES.audit, { token: tokenFor(VIEWER) }), 403, 'forbidden', 'viewer on audit');
      await assertError(await get(w, ROUTES.json, { token: tokenFor(OUTSIDER) }), 403, 'forbidden', 'outsider');
    });
    await sleep(100);
    assert.ok(w.jsonLogs().some((l) => l.level === 'error' && /CONSENT_DB/.test(JSON.stringify(l))), 'the failure is logged');
  } finally {
    await w.close();
  }
});
