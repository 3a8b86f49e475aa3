#!/usr/bin/env node
// The load run: the built worker in workerd (Miniflare, on a loopback port, real local KV) in
// front of an HTTP origin on loopback, driven by concurrent clients for a fixed time with a
// mix of everything a visitor does: pages in every consent state, an image, decisions (new ones
// and changes of mind), downloads and erasures of ids the run created. Afterwards every
// decision is checked in KV (and counted once in D1's statistics), and workerd's memory over
// the run is reported.
//
//   node tests/load/load.mjs                  60 s at 16 clients, writes test-artifacts/load/load.md
//   node tests/load/load.mjs --quick          5 s (the test command runs this)
//   node tests/load/load.mjs --duration=120 --concurrency=32
//   node tests/load/load.mjs --quick --only=image,page:all      a part of the mix (for diagnosis)
//   node tests/load/load.mjs --passthrough    the same clients (pages, image) against bench/passthrough.mjs:
//                                        workerd's own memory curve, to compare with ours
//   node tests/load/load.mjs --stats-flush=0  every page view written to D1 at once (default: 20 s
//                                        batches, 2 s with --quick); all of them checked either way
//   SIVO_LOAD_KV_ROOT=/dev/shm node tests/load/load.mjs        local KV on tmpfs (Miniflare's KV is SQLite
//                                        on disk, in the workerd process: disk latency slows every route)
//
// Exits non-zero on any 5xx, any failed request or wrong answer, any decision whose record is
// missing, wrong or half-written, any erased id with records left, or workerd's RSS growing
// by more than 50% from half-way to the end.
// Nothing here asserts a timing.
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signConsentCookie } from '../../scripts/lib/consent-cookie.mjs';
import { cpuSeconds, freePort, rssKb, workerdPids } from '../../scripts/lib/processes.mjs';
import { openRecord, allKeys, consentSetCookie } from '../support/consent.mjs';
import { applyMigrations } from '../support/worker.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const QUICK = process.argv.includes('--quick');
const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const DURATION_S = Number(flag('duration') ?? (QUICK ? 5 : 60));
const CONCURRENCY = Number(flag('concurrency') ?? 16);
const RSS_EVERY_MS = 2000;
// Half-way: workerd's heap grows while the runtime warms up whatever the worker does (a plain
// pass-through worker grows faster: --passthrough), so the first half is not judged.
const RSS_BASELINE_S = DURATION_S / 2;
const RSS_MAX_GROWTH = 0.5;
const REQUEST_TIMEOUT_MS = 30_000;
const OUT = path.join(ROOT, 'test-artifacts', 'load');
const BUILD = path.join(ROOT, 'build');
const SIGNING_KEY = 'load-signing-key-0123456789-abcdefghijklmnop';
const RECORD_KEY = Buffer.alloc(32, 3).toString('base64');
const AUDIT_LOG_KEY = Buffer.alloc(32, 9).toString('base64');
const GOOGLE = /googletagmanager\.com|google-analytics\.com/;

const log = (...args) => console.error('[load]', ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------- the origin: a 10 KB page with a Google tag, and an image ----------
function tenKbPage() {
  let page = '<!doctype html><html lang="es"><head><meta charset="utf-8"><title>Precios</title>'
    + '<link rel="preconnect" href="https://www.googletagmanager.com">'
    + '<script async src="https://www.googletagmanager.com/gtag/js?id=G-ORIGIN1"></script>'
    + "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag('js',new Date());gtag('config','G-ORIGIN1');</script>"
    + '</head><body><header><nav><a href="/">Inicio</a> <a href="/precios">Precios</a></nav></header><main>';
  const tail = '</main><footer><p>© Sivo Center</p></footer></body></html>';
  let n = 0;
  while (page.length + tail.length < 10 * 1024) {
    n += 1;
    page += `<section><h2>Plan ${n}</h2><p>Descripción del plan ${n}: sesiones, seguimiento y material incluido, con precios claros y sin permanencia.</p><img src="/image.png" alt="Plan ${n}"></section>`;
  }
  return page + tail;
}
const PAGE = tenKbPage();
const IMAGE = Buffer.from(Array.from({ length: 20 * 1024 }, (_, i) => (i * 7919 + 13) % 256));

async function startOrigin() {
  const server = http.createServer((req, res) => {
    const p = req.url.split('?')[0];
    if (p === '/image.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': IMAGE.length, 'cache-control': 'public, max-age=86400' });
      return res.end(IMAGE);
    }
    if (p === '/' || p === '/precios') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(PAGE) });
      return res.end(PAGE);
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => { server.closeAllConnections(); return new Promise((r) => server.close(r)); } };
}

// ---------- the worker ----------
async function startWorker(origin, kvDir, logCounts) {
  if (!fs.existsSync(path.join(BUILD, 'index_bg.wasm'))) throw new Error('build/ is missing: run scripts/build.sh');
  const port = await freePort();
  const worker = PASSTHROUGH
    ? { modules: [{ type: 'ESModule', path: path.join(ROOT, 'bench', 'passthrough.mjs') }], modulesRoot: path.join(ROOT, 'bench') }
    : {
      modules: [
        { type: 'ESModule', path: path.join(BUILD, 'index.js') },
        { type: 'CompiledWasm', path: path.join(BUILD, 'index_bg.wasm') },
      ],
      modulesRoot: BUILD,
    };
  const mf = new Miniflare({
    ...convertV4MiniflareOptions({
      ...worker,
      compatibilityDate: '2026-11-01',
      host: '127.0.0.1',
      port,
      kvNamespaces: { CONSENT_KV: 'load' },
      d1Databases: PASSTHROUGH ? {} : { CONSENT_DB: 'load-db' },
      cf: { country: 'ES' },
      bindings: {
        ORIGIN: origin, ORIGIN_URL: origin, GA4_MEASUREMENT_ID: 'G-LOAD1234', GTM_CONTAINER_ID: '', POLICY_VERSION: '1',
        CONSENT_MAX_AGE_DAYS: '365', RECORD_RETENTION_DAYS: '1460', CONSENT_SIGNING_KEY: SIGNING_KEY, RECORD_ENCRYPTION_KEY: RECORD_KEY, AUDIT_LOG_KEY,
        // As wrangler.toml: page views flushed to D1 at most every 30 s; the dashboard closed.
        STATS_FLUSH_SECONDS, ACCESS_TEAM_DOMAIN: '', ACCESS_AUD: '', DASHBOARD_VIEWERS: '', DASHBOARD_ADMINS: '',
      },
      // Every request logs a line: count them by level and keep the first errors, as a log
      // pipeline would take them off the worker.
      handleStructuredLogs: ({ message }) => {
        let line;
        try {
          line = JSON.parse(message);
        } catch {
          logCounts.other += 1;
          return;
        }
        logCounts[line.level] = (logCounts[line.level] ?? 0) + 1;
        if (line.level === 'error' && logCounts.samples.length < 5) logCounts.samples.push(line);
      },
    }),
    resourcePersistencePath: kvDir,
  });
  const url = (await mf.ready).href.replace(/\/$/, '');
  const db = PASSTHROUGH ? undefined : await mf.getD1Database('CONSENT_DB');
  if (db) await applyMigrations(db);
  return { mf, url, db };
}

// ---------- the visitors ----------
const STATES = {
  undecided: undefined,
  rejected: { analytics: false, marketing: false },
  analytics: { analytics: true, marketing: false },
  all: { analytics: true, marketing: true },
};
const CHOICES = [
  { fields: { action: 'accept_all' }, choices: { analytics: true, marketing: true }, method: 'accept_all' },
  { fields: { action: 'reject_all' }, choices: { analytics: false, marketing: false }, method: 'reject_all' },
  { fields: { action: 'save', analytics: 'on' }, choices: { analytics: true, marketing: false }, method: 'save' },
  { fields: { action: 'save', marketing: 'on' }, choices: { analytics: false, marketing: true }, method: 'save' },
];
// What a client does next, by weight.
const PASSTHROUGH = process.argv.includes('--passthrough');
const STATS_FLUSH_SECONDS = flag('stats-flush') ?? (QUICK ? '2' : '20');
// The clients' user agent: a browser's, so their pages count as page views (a bot's would be
// counted apart).
const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const ONLY = PASSTHROUGH ? ['page:undecided', 'image'] : flag('only')?.split(',');
const MIX = [
  ['page:undecided', 12], ['page:rejected', 12], ['page:analytics', 12], ['page:all', 12],
  ['image', 14], ['decision:new', 16], ['decision:change', 6], ['download', 8], ['erasure', 8],
].filter(([route]) => !ONLY || ONLY.includes(route));
const MIX_TOTAL = MIX.reduce((a, [, w]) => a + w, 0);
function pick() {
  let r = Math.random() * MIX_TOTAL;
  for (const [name, w] of MIX) if ((r -= w) < 0) return name;
  return MIX[0][0];
}

function stateCookie(state) {
  const now = Date.now();
  return signConsentCookie({ id: 'cd'.repeat(16), ...STATES[state], givenAt: now, expiresAt: now + 86_400_000, policy: '1' }, SIGNING_KEY);
}

/** The consent cookie a response set: its `name=value`, id and record references. */
function parseConsentCookie(res) {
  const set = consentSetCookie(res);
  if (!set) return undefined;
  const pair = set.split(';')[0];
  const payload = Buffer.from(pair.slice(pair.indexOf('=') + 1).split('.')[0], 'base64url').toString();
  const [, id, , , , records] = payload.split('|');
  return { pair, id, refs: records ? records.split(',') : [] };
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const kvDir = fs.mkdtempSync(path.join(process.env.SIVO_LOAD_KV_ROOT ?? os.tmpdir(), 'sivo-load-kv-'));
  const logCounts = { info: 0, warn: 0, error: 0, other: 0, samples: [] };
  const origin = await startOrigin();
  const { mf, url, db } = await startWorker(origin.url, kvDir, logCounts);
  const workerdPid = workerdPids()[0];
  log(`worker ${url}, origin ${origin.url}, workerd pid ${workerdPid ?? '?'}; ${DURATION_S} s at ${CONCURRENCY} clients`);
  const stateCookies = Object.fromEntries(Object.keys(STATES).filter((s) => s !== 'undecided').map((s) => [s, stateCookie(s)]));

  // Bookkeeping.
  const byRoute = {}; // route -> { status -> count }
  const latencies = {}; // route -> [ms]
  const problems = []; // wrong answers, failed requests
  const decisions = []; // { id, key, choices, method } for every decision answered 303/200
  const ids = new Map(); // id -> { cookie, refs, records: expected count, erased }
  const idle = []; // ids no client is using now
  let netBlock = 0;
  const count = (route, status, ms) => {
    (byRoute[route] ??= {})[status] = ((byRoute[route] ??= {})[status] ?? 0) + 1;
    (latencies[route] ??= []).push(ms);
  };
  const problem = (route, what) => {
    if (problems.length < 50) problems.push(`${route}: ${what}`);
    problem.total = (problem.total ?? 0) + 1;
  };
  const nextIp = () => {
    netBlock += 1;
    return `10.${(netBlock >> 8) & 255}.${netBlock & 255}.${1 + (netBlock % 200)}`;
  };

  async function request(route, pathname, init = {}) {
    const started = performance.now();
    try {
      const res = await fetch(`${url}${pathname}`, { redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...init });
      const body = Buffer.from(await res.arrayBuffer());
      count(route, res.status, performance.now() - started);
      return { res, body };
    } catch (e) {
      count(route, 'failed', performance.now() - started);
      problem(route, `request failed: ${e.name}: ${e.message}`);
      return undefined;
    }
  }

  async function decide(route, cookie) {
    const choice = CHOICES[Math.floor(Math.random() * CHOICES.length)];
    const r = await request(route, '/_consent', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', 'cf-connecting-ip': nextIp(), 'accept-language': 'es', ...(cookie ? { cookie: cookie.pair } : {}) },
      body: new URLSearchParams({ ...choice.fields, return_to: '/precios' }).toString(),
    });
    if (!r) return undefined;
    if (r.res.status !== 303) {
      problem(route, `status ${r.res.status}: ${r.body.toString().slice(0, 200)}`);
      return undefined;
    }
    const set = parseConsentCookie(r.res);
    if (!set) {
      problem(route, '303 without a consent cookie');
      return undefined;
    }
    const fresh = set.refs.filter((ref) => !(cookie?.refs ?? []).includes(ref));
    if (fresh.length !== 1 || (cookie && set.id !== cookie.id)) {
      problem(route, `cookie names ${fresh.length} new records (id ${set.id}, was ${cookie?.id})`);
      return set;
    }
    decisions.push({ id: set.id, key: `rec:${set.id}:${fresh[0]}`, choices: choice.choices, method: choice.method });
    return set;
  }

  async function act(route) {
    if (route.startsWith('page:')) {
      const state = route.slice(5);
      const r = await request(route, '/precios', { headers: { 'user-agent': BROWSER, 'accept-encoding': 'gzip', 'accept-language': 'es', ...(stateCookies[state] ? { cookie: stateCookies[state] } : {}) } });
      if (!r) return;
      if (r.res.status !== 200) return problem(route, `status ${r.res.status}`);
      if (PASSTHROUGH) return;
      const html = r.body.toString('utf8');
      const banner = html.includes('data-consent-banner');
      if (banner !== (state === 'undecided')) problem(route, `banner ${banner ? 'present' : 'missing'}`);
      const tags = GOOGLE.test(html);
      if (tags !== (state === 'analytics' || state === 'all')) problem(route, `Google tag ${tags ? 'present' : 'missing'}`);
      if (!html.endsWith('</html>')) problem(route, 'page incomplete');
      return;
    }
    if (route === 'image') {
      const r = await request(route, '/image.png');
      if (r && (r.res.status !== 200 || !r.body.equals(IMAGE))) problem(route, `status ${r.res.status}, ${r.body.length} bytes`);
      return;
    }
    if (route === 'decision:new' || idle.length === 0) {
      const set = await decide('decision:new');
      if (set) {
        ids.set(set.id, { cookie: set, records: 1, erased: false });
        idle.push(set.id);
      }
      return;
    }
    // The rest work on an id the run created, checked out so that no other client uses it meanwhile.
    const id = idle.splice(Math.floor(Math.random() * idle.length), 1)[0];
    const visitor = ids.get(id);
    try {
      if (route === 'decision:change') {
        const set = await decide(route, visitor.cookie);
        if (set) {
          visitor.cookie = set;
          visitor.records += 1;
        }
      } else if (route === 'download') {
        const r = await request(route, '/_consent/records', { headers: { cookie: visitor.cookie.pair } });
        if (!r) return;
        if (r.res.status !== 200) return problem(route, `status ${r.res.status}`);
        const body = JSON.parse(r.body.toString());
        if (body.consent_id !== id || body.records.length !== visitor.records || body.records.some((rec) => rec.id !== id)) {
          problem(route, `${id}: ${body.records?.length} records, expected ${visitor.records}`);
        }
      } else if (route === 'erasure') {
        const r = await request(route, '/_consent/records', { method: 'DELETE', headers: { cookie: visitor.cookie.pair, 'sec-fetch-site': 'same-origin' } });
        if (!r) return;
        if (r.res.status !== 200) return problem(route, `status ${r.res.status}`);
        const body = JSON.parse(r.body.toString());
        if (body.erased !== visitor.records) problem(route, `${id}: erased ${body.erased}, expected ${visitor.records}`);
        visitor.erased = true;
      }
    } finally {
      if (!visitor.erased) idle.push(id);
    }
  }

  // Memory, every few seconds.
  const rss = [];
  const started = performance.now();
  const sampleRss = () => {
    if (!workerdPid) return;
    try {
      rss.push({ s: (performance.now() - started) / 1000, kb: rssKb(workerdPid) });
    } catch {
      // workerd gone: counted as a failure below
    }
  };
  sampleRss();
  const sampler = setInterval(sampleRss, RSS_EVERY_MS);
  const cpuBefore = { workerd: workerdPid ? cpuSeconds(workerdPid) : NaN, node: process.cpuUsage() };

  const deadline = started + DURATION_S * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < deadline) await act(pick());
  }));
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(sampler);
  sampleRss();
  const nodeCpu = process.cpuUsage(cpuBefore.node);
  const cpu = {
    workerd_s: +((workerdPid ? cpuSeconds(workerdPid) : NaN) - cpuBefore.workerd).toFixed(1),
    node_s: +((nodeCpu.user + nodeCpu.system) / 1e6).toFixed(1),
    load_average: os.loadavg().map((l) => +l.toFixed(2)),
  };

  // ---------- the records ----------
  const kv = await mf.getKVNamespace('CONSENT_KV');
  const keys = await allKeys(kv);
  const names = new Set(keys.map((k) => k.name));
  const rec = keys.filter((k) => k.name.startsWith('rec:'));
  const day = keys.filter((k) => k.name.startsWith('day:'));
  const erasureEntries = keys.filter((k) => k.name.startsWith('erasure:'));
  const recordProblems = [];
  const recordProblem = (what) => {
    if (recordProblems.length < 50) recordProblems.push(what);
    recordProblem.total = (recordProblem.total ?? 0) + 1;
  };
  let checked = 0;
  for (const d of decisions) {
    const erased = ids.get(d.id)?.erased;
    if (erased) {
      if (names.has(d.key)) recordProblem(`${d.key}: still there after its id was erased`);
      continue;
    }
    if (!names.has(d.key)) {
      recordProblem(`${d.key}: missing (a decision answered 303)`);
      continue;
    }
    try {
      const record = openRecord(await kv.get(d.key), d.key, RECORD_KEY);
      if (record.id !== d.id || record.method !== d.method || record.choices.analytics !== d.choices.analytics || record.choices.marketing !== d.choices.marketing) {
        recordProblem(`${d.key}: holds ${JSON.stringify({ id: record.id, method: record.method, choices: record.choices })}, expected ${JSON.stringify(d)}`);
      }
      checked += 1;
    } catch (e) {
      recordProblem(`${d.key}: does not decrypt (${e.message})`);
    }
  }
  const erasedIds = [...ids.entries()].filter(([, v]) => v.erased).map(([id]) => id);
  const erasedPrefixes = new Set(erasedIds.map((id) => `rec:${id}:`));
  const leftover = rec.filter((k) => erasedPrefixes.has(k.name.slice(0, 4 + 32 + 1)));
  if (leftover.length) recordProblem(`${leftover.length} rec: keys left under erased ids, e.g. ${leftover[0].name}`);
  const expectedRec = decisions.filter((d) => !ids.get(d.id)?.erased).length;
  if (rec.length !== expectedRec) recordProblem(`${rec.length} rec: keys, expected ${expectedRec} (decisions not erased)`);
  if (rec.length !== day.length) recordProblem(`${rec.length} rec: keys but ${day.length} day: keys: half-written decisions or index entries`);
  if (erasureEntries.length !== erasedIds.length) recordProblem(`${erasureEntries.length} erasure: entries for ${erasedIds.length} erasures`);
  const ownerless = rec.filter((k) => !ids.has(k.name.slice(4, 36)));
  if (ownerless.length) recordProblem(`${ownerless.length} rec: keys of ids no answer gave out, e.g. ${ownerless[0].name}`);

  // ---------- the statistics: every decision counted once in D1 (an upsert after the response) ----------
  const stats = {};
  if (db) {
    const sum = async (sql) => Number((await db.prepare(sql).first())?.n ?? 0);
    const settle = Date.now() + 10_000;
    do {
      stats.decisions_counted = await sum('SELECT COALESCE(SUM(decisions), 0) AS n FROM decisions');
      if (stats.decisions_counted === decisions.length) break;
      await sleep(250);
    } while (Date.now() < settle);
    // Page views wait in the isolate at most STATS_FLUSH_SECONDS, then the request that opened
    // their batch writes them, with no traffic after it: every page view must be counted.
    const pages = Object.entries(byRoute).filter(([route]) => route.startsWith('page:')).reduce((a, [, st]) => a + (st[200] ?? 0), 0);
    const flushed = Date.now() + 1000 * Number(STATS_FLUSH_SECONDS) + 10_000;
    do {
      stats.page_views_flushed = await sum('SELECT COALESCE(SUM(views), 0) AS n FROM page_views');
      if (stats.page_views_flushed === pages) break;
      await sleep(250);
    } while (Date.now() < flushed);
    if (stats.page_views_flushed !== pages) recordProblem(`D1 counts ${stats.page_views_flushed} page views for ${pages} pages served (STATS_FLUSH_SECONDS=${STATS_FLUSH_SECONDS})`);
    if (stats.decisions_counted !== decisions.length) recordProblem(`D1 counts ${stats.decisions_counted} decisions for ${decisions.length} answered`);
  }

  await mf.dispose();
  await origin.close();
  fs.rmSync(kvDir, { recursive: true, force: true });

  // ---------- the summary ----------
  const totals = { requests: 0, by_status: {} };
  for (const statuses of Object.values(byRoute)) {
    for (const [status, n] of Object.entries(statuses)) {
      totals.requests += n;
      totals.by_status[status] = (totals.by_status[status] ?? 0) + n;
    }
  }
  const fivexx = Object.entries(totals.by_status).filter(([s]) => /^5/.test(s)).reduce((a, [, n]) => a + n, 0);
  const baseline = rss.find((r) => r.s >= RSS_BASELINE_S) ?? rss.at(-1);
  const memory = rss.length ? {
    pid: workerdPid,
    samples: rss.length,
    first_mb: +(rss[0].kb / 1024).toFixed(1),
    at_baseline_s: +baseline.s.toFixed(1),
    baseline_mb: +(baseline.kb / 1024).toFixed(1),
    last_mb: +(rss.at(-1).kb / 1024).toFixed(1),
    max_mb: +(Math.max(...rss.map((r) => r.kb)) / 1024).toFixed(1),
    growth_from_baseline: +((rss.at(-1).kb - baseline.kb) / baseline.kb).toFixed(3),
    series_mb: rss.map((r) => [+r.s.toFixed(0), +(r.kb / 1024).toFixed(0)]),
  } : { pid: null };
  const routes = Object.fromEntries(MIX.map(([route]) => {
    const sorted = [...(latencies[route] ?? [])].sort((a, b) => a - b);
    return [route, { requests: sorted.length, statuses: byRoute[route] ?? {}, p50_ms: +percentile(sorted, 50).toFixed(1), p99_ms: +percentile(sorted, 99).toFixed(1) }];
  }));
  const failures = [];
  if (fivexx) failures.push(`${fivexx} responses were 5xx`);
  if (problem.total) failures.push(`${problem.total} requests failed or were answered wrongly`);
  if (recordProblem.total) failures.push(`${recordProblem.total} record checks failed`);
  if (logCounts.error) failures.push(`${logCounts.error} error log lines`);
  if (!workerdPid || rss.length < 2) failures.push('workerd\'s RSS could not be sampled');
  else if (memory.growth_from_baseline > RSS_MAX_GROWTH) failures.push(`workerd RSS grew ${(memory.growth_from_baseline * 100).toFixed(0)}% from ${memory.at_baseline_s} s to the end`);
  if (!PASSTHROUGH && (decisions.length === 0 || erasedIds.length === 0)) failures.push('the run made no decision or no erasure');

  const summary = {
    duration_s: +elapsed.toFixed(1),
    concurrency: CONCURRENCY,
    requests: totals.requests,
    rps: +(totals.requests / elapsed).toFixed(1),
    by_status: totals.by_status,
    routes,
    records: {
      decisions_answered: decisions.length,
      ids_created: ids.size,
      ids_erased: erasedIds.length,
      records_checked: checked,
      rec_keys: rec.length,
      day_keys: day.length,
      erasure_keys: erasureEntries.length,
      ...stats,
      problems: recordProblems,
    },
    memory,
    cpu,
    log_lines: { info: logCounts.info, warn: logCounts.warn, error: logCounts.error, error_samples: logCounts.samples },
    problems,
    ok: failures.length === 0,
    failures,
  };
  const md = markdown(summary);
  console.log(JSON.stringify(summary, null, 2));
  console.log();
  console.log(md);
  fs.writeFileSync(path.join(OUT, `load${PASSTHROUGH ? '-passthrough' : ''}${QUICK ? '-quick' : ''}.md`), md);
  if (failures.length) {
    log('FAILED:', failures.join('; '));
    process.exitCode = 1;
  }
}

function markdown(s) {
  const lines = [
    `# Load run${PASSTHROUGH ? ' (bench/passthrough.mjs, for comparison)' : ''}: ${s.duration_s} s, ${s.concurrency} clients`,
    '',
    `Built worker in workerd (Miniflare, loopback port, real local KV), loopback Node origin (10 KB page with a Google tag, 20 KB image), ${os.cpus().length} CPUs, Node ${process.version}. ${new Date().toISOString()}.`,
    '',
    `**${s.requests} requests, ${s.rps} req/s**; statuses: ${Object.entries(s.by_status).map(([k, v]) => `${k}: ${v}`).join(', ')}. ${s.ok ? 'All checks passed.' : `**FAILED**: ${s.failures.join('; ')}.`}`,
    '',
    '| route | requests | statuses | p50 ms | p99 ms |',
    '|---|---:|---|---:|---:|',
    ...Object.entries(s.routes).map(([route, r]) => `| ${route} | ${r.requests} | ${Object.entries(r.statuses).map(([k, v]) => `${k}: ${v}`).join(', ')} | ${r.p50_ms} | ${r.p99_ms} |`),
    '',
    '| records | |',
    '|---|---:|',
    `| decisions answered 303 | ${s.records.decisions_answered} |`,
    `| consent ids created / erased | ${s.records.ids_created} / ${s.records.ids_erased} |`,
    `| records found, decrypted and matching | ${s.records.records_checked} |`,
    `| \`rec:\` / \`day:\` / \`erasure:\` keys at the end | ${s.records.rec_keys} / ${s.records.day_keys} / ${s.records.erasure_keys} |`,
    `| decisions counted in D1 (statistics) | ${s.records.decisions_counted ?? '-'} |`,
    `| page views counted in D1 (STATS_FLUSH_SECONDS=${STATS_FLUSH_SECONDS}) | ${s.records.page_views_flushed ?? '-'} |`,
    `| record problems | ${s.records.problems.length} |`,
    '',
    '| workerd RSS | MB |',
    '|---|---:|',
    `| first | ${s.memory.first_mb} |`,
    `| at ${s.memory.at_baseline_s} s | ${s.memory.baseline_mb} |`,
    `| last | ${s.memory.last_mb} |`,
    `| max | ${s.memory.max_mb} |`,
    `| growth from ${s.memory.at_baseline_s} s to the end | ${(s.memory.growth_from_baseline * 100).toFixed(1)}% (limit ${RSS_MAX_GROWTH * 100}%) |`,
    '',
    `CPU over the run: workerd ${s.cpu.workerd_s} s (${(s.cpu.workerd_s / s.duration_s * 100).toFixed(0)}% of one core, ${(s.cpu.workerd_s * 1000 / s.requests).toFixed(1)} ms per request), the clients and origin (Node) ${s.cpu.node_s} s; load average at the end ${s.cpu.load_average.join(' ')} (other work on the machine counts).`,
    '',
    `Log lines: ${s.log_lines.info} info, ${s.log_lines.warn} warn, ${s.log_lines.error} error.`,
    '',
  ];
  if (s.problems.length || s.records.problems.length) lines.push('Problems:', '', ...[...s.problems, ...s.records.problems].map((p) => `- ${p}`), '');
  return lines.join('\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
