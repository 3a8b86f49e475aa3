#!/usr/bin/env node
// The benchmark: sivo-consent against a pass-through worker and a JavaScript HTMLRewriter
// reference, side by side, in workerd (Miniflare, no wrangler dev proxy), in front of one
// nginx origin on loopback, driven by wrk. Rounds are interleaved so that drift in the
// machine hits every worker alike; the figures are medians of the rounds.
//
//   node bench/run.mjs            full run (about 10 minutes), writes BENCHMARKS.md
//   node bench/run.mjs --quick    one short round of every case, writes bench/out/quick.md
//
// Nothing here asserts a timing; --quick only checks that every case produced numbers.
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { COOKIE_NAME, signConsentCookie } from '../tests/support/consent-cookie.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.argv.includes('--quick');
const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const ROUNDS = Number(flag('rounds') ?? (QUICK ? 1 : 3));
const DURATION = flag('duration') ?? (QUICK ? '1s' : '5s');
const ONLY_PAGES = flag('pages')?.split(',');
const CONCURRENCY = QUICK ? [16] : [16, 64];
const OUT = path.join(ROOT, 'bench', 'out');
const SIGNING_KEY = 'bench-signing-key-0123456789-abcdefghijklmnop';
const RECORD_KEY = Buffer.alloc(32, 1).toString('base64');
fs.mkdirSync(OUT, { recursive: true });

function log(...args) {
  console.error('[bench]', ...args);
}

// ---------- fixtures: realistic pages built from the demo site, and a 200 KB image ----------
function makePages(dir) {
  const pricing = fs.readFileSync(path.join(ROOT, 'www', 'pricing.html'), 'utf8');
  const head = pricing.slice(0, pricing.indexOf('<main'));
  const main = pricing.slice(pricing.indexOf('<main'), pricing.indexOf('</main>') + 7);
  const tail = pricing.slice(pricing.indexOf('</main>') + 7);
  const page = (bytes) => {
    let body = '';
    while (head.length + body.length + tail.length < bytes) body += main;
    return head + body + tail;
  };
  const sizes = { '10k': 10 * 1024, '100k': 100 * 1024, '1m': 1024 * 1024 };
  for (const [name, bytes] of Object.entries(sizes)) fs.writeFileSync(path.join(dir, `page-${name}.html`), page(bytes));
  fs.writeFileSync(path.join(dir, 'image-200k.png'), crypto.randomBytes(200 * 1024));
  return Object.fromEntries(Object.keys(sizes).map((n) => [n, fs.statSync(path.join(dir, `page-${n}.html`)).size]));
}

// ---------- the origin: nginx on loopback ----------
async function startNginx(root) {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-nginx-'));
  const port = await freePort();
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), `
worker_processes 1; daemon off; pid ${prefix}/nginx.pid; error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  types { text/html html; image/png png; }
  client_body_temp_path ${prefix}; proxy_temp_path ${prefix}; fastcgi_temp_path ${prefix}; uwsgi_temp_path ${prefix}; scgi_temp_path ${prefix};
  server { listen 127.0.0.1:${port}; root ${root}; }
}`);
  const child = spawn(fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx', ['-p', prefix, '-c', path.join(prefix, 'nginx.conf')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/page-10k.html`)).ok) return { url, stop: () => child.kill('SIGTERM') };
    } catch {}
    await sleep(50);
  }
  throw new Error('nginx did not start (scripts/setup.sh --test installs nginx-light)');
}

// An origin that stalls half-way through a 100 KB page, to show streaming.
async function startStallingOrigin(html, stallMs) {
  const half = Math.floor(html.length / 2);
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.write(html.slice(0, half));
    setTimeout(() => res.end(html.slice(half)), stallMs);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => server.close() };
}

// ---------- the workers ----------
const BUILD = path.join(ROOT, 'build');
function oursOptions(origin) {
  return {
    modules: [
      { type: 'ESModule', path: path.join(BUILD, 'index.js') },
      { type: 'CompiledWasm', path: path.join(BUILD, 'index_bg.wasm') },
    ],
    modulesRoot: BUILD,
    bindings: {
      ORIGIN_URL: origin, GA4_MEASUREMENT_ID: 'G-BENCH123', GTM_CONTAINER_ID: 'GTM-BENCH45', POLICY_VERSION: '1',
      CONSENT_MAX_AGE_DAYS: '365', RECORD_RETENTION_DAYS: '1460', CONSENT_SIGNING_KEY: SIGNING_KEY, RECORD_ENCRYPTION_KEY: RECORD_KEY,
    },
    kvNamespaces: { CONSENT_KV: 'bench' },
  };
}
function jsOptions(file, bindings) {
  return { modules: [{ type: 'ESModule', path: path.join(ROOT, 'bench', file) }], bindings };
}
async function startWorker(options) {
  const started = performance.now();
  const port = await freePort();
  // Logs are read and dropped, as a production log pipeline would take them off the worker.
  const mf = new Miniflare(convertV4MiniflareOptions({ compatibilityDate: '2026-11-01', host: '127.0.0.1', port, handleStructuredLogs: () => {}, ...options }));
  const url = (await mf.ready).href.replace(/\/$/, '');
  return { mf, url, started };
}

function consentCookie() {
  const now = Date.now();
  return signConsentCookie({ id: 'ab'.repeat(16), analytics: true, marketing: true, givenAt: now, expiresAt: now + 86_400_000, policy: '1' }, SIGNING_KEY);
}

// ---------- wrk ----------
// Asynchronous: Node must keep draining workerd's log pipe (every request logs a line) and
// serving Miniflare's loopback while wrk runs, or workerd stalls on a full pipe.
async function wrk(url, connections, headers = []) {
  const args = ['-t2', `-c${connections}`, `-d${DURATION}`, '--latency', '-H', 'Accept-Encoding: identity'];
  for (const h of headers) args.push('-H', h);
  const { stdout: out } = await promisify(execFile)('wrk', [...args, url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const latency = (p) => toMs(new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out));
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors:.*timeout (\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p50: latency(50), p99: latency(99), errors };
}
function toMs(m) {
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---------- helpers ----------
function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
function freePort() {
  return new Promise((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
async function firstByteAndEnd(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first;
    http.get(url, { headers: { 'accept-encoding': 'identity', ...headers } }, (res) => {
      res.on('data', () => { first ??= performance.now() - t0; });
      res.on('end', () => resolve({ ttfb: first, total: performance.now() - t0 }));
    }).on('error', reject);
  });
}
const gz = (s) => zlib.gzipSync(Buffer.from(s), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

// ---------- main ----------
async function main() {
  execFileSync(path.join(ROOT, 'scripts', 'build.sh'), { stdio: 'inherit' });
  const fixtures = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-bench-'));
  fs.chmodSync(fixtures, 0o755); // nginx's workers run as an unprivileged user
  const pageSizes = makePages(fixtures);
  const nginx = await startNginx(fixtures);
  const cookie = consentCookie();

  // Cold start: a new workerd with the worker, until its first answer.
  const cold = {};
  for (const [name, options] of [['pass-through', jsOptions('passthrough.mjs', { ORIGIN: nginx.url })], ['sivo-consent', oursOptions(nginx.url)]]) {
    const w = await startWorker(options);
    await (await fetch(`${w.url}/page-10k.html`)).text();
    cold[name] = performance.now() - w.started;
    await w.mf.dispose();
  }

  const ours = await startWorker(oursOptions(nginx.url));
  // The exact bytes ours injects, for the reference to inject too.
  const bannerPage = await (await fetch(`${ours.url}/page-10k.html`, { headers: { 'accept-language': 'en' } })).text();
  const tagsPage = await (await fetch(`${ours.url}/page-10k.html`, { headers: { cookie, 'accept-language': 'en' } })).text();
  const banner = /<section id="sivo-cb"[\s\S]*?<\/script><\/section>/.exec(bannerPage)?.[0];
  // The settings link with its stylesheet (which carries the response's nonce).
  const link = /<style[^>]*>#sivo-settings[^<]*<\/style><a href="\/_consent\/preferences"[\s\S]*?<\/a>/.exec(bannerPage)?.[0];
  const consentMode = /<head><script nonce="[^"]*">([\s\S]*?)<\/script>/.exec(tagsPage)?.[0].slice('<head>'.length);
  const loaders = /(<script async nonce[\s\S]*?)<\/head>/.exec(tagsPage)?.[1];
  const noscript = /<noscript><iframe[\s\S]*?<\/noscript>/.exec(tagsPage)?.[0];
  if (!banner || !link || !consentMode || !loaders || !noscript) throw new Error('could not find the injected markup in the worker output');
  const reference = await startWorker(jsOptions('reference.mjs', { ORIGIN: nginx.url, COOKIE_NAME, BANNER: banner, LINK: link, CONSENT_MODE: consentMode, LOADERS: loaders, NOSCRIPT: noscript }));
  const passthrough = await startWorker(jsOptions('passthrough.mjs', { ORIGIN: nginx.url }));

  const variants = [
    { name: 'pass-through', url: passthrough.url, headers: [] },
    { name: 'JS reference, banner', url: reference.url, headers: [] },
    { name: 'JS reference, tags', url: reference.url, headers: [`Cookie: ${cookie}`] },
    { name: 'sivo-consent, banner', url: ours.url, headers: [] },
    { name: 'sivo-consent, tags', url: ours.url, headers: [`Cookie: ${cookie}`] },
  ];
  const pages = [['10 KB page', '/page-10k.html'], ['100 KB page', '/page-100k.html'], ['1 MB page', '/page-1m.html'], ['200 KB image', '/image-200k.png']];
  const selectedPages = ONLY_PAGES ? pages.filter(([, p]) => ONLY_PAGES.some((o) => p.includes(o))) : pages;
  const results = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CONCURRENCY) {
      for (const [pageName, p] of selectedPages) {
        for (const v of variants) {
          const key = `${pageName}|${c}|${v.name}`;
          log(`round ${round + 1}/${ROUNDS} c=${c} ${pageName} ${v.name}`);
          (results[key] ??= []).push(await wrk(v.url + p, c, v.headers));
        }
      }
    }
  }

  // Streaming: the origin stalls half-way through a 100 KB page.
  const stallMs = QUICK ? 500 : 2000;
  const stalling = await startStallingOrigin(fs.readFileSync(path.join(fixtures, 'page-100k.html'), 'utf8'), stallMs);
  const oursStall = await startWorker(oursOptions(stalling.url));
  const stall = await firstByteAndEnd(`${oursStall.url}/page`);
  await oursStall.mf.dispose();
  stalling.stop();

  const wasm = fs.readFileSync(path.join(BUILD, 'index_bg.wasm'));
  let upload = 'n/a';
  try {
    const dry = execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--env', 'production', '--outdir', path.join(OUT, 'dry-run')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    upload = /Total Upload:\s*([^\n]+)/.exec(dry)?.[1]?.trim() ?? 'n/a';
  } catch (e) {
    log('wrangler deploy --dry-run failed', e.message);
  }

  for (const w of [ours, reference, passthrough]) await w.mf.dispose();
  nginx.stop();

  // ---------- report ----------
  const rows = [];
  const problems = [];
  for (const c of CONCURRENCY) {
    for (const [pageName] of selectedPages) {
      const med = (name) => {
        const runs = results[`${pageName}|${c}|${name}`];
        return { rps: median(runs.map((r) => r.rps)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)), errors: runs.reduce((a, r) => a + r.errors, 0) };
      };
      const base = med('pass-through');
      for (const v of variants) {
        const m = med(v.name);
        if (!(m.rps > 0) || Number.isNaN(m.p50) || m.errors > 0) problems.push(`${pageName} c=${c} ${v.name}: ${JSON.stringify(m)}`);
        const refName = v.name.startsWith('sivo-consent') ? v.name.replace('sivo-consent', 'JS reference') : null;
        const ref = refName ? med(refName) : null;
        rows.push(`| ${pageName} | ${c} | ${v.name} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${(m.rps / base.rps).toFixed(2)} × | ${ref ? `${(m.rps / ref.rps).toFixed(2)} ×` : ''} |`);
      }
    }
  }
  const cpus = os.cpus();
  const report = `# Benchmarks

${QUICK ? 'Quick mode (one short round: a smoke test, not a measurement).' : 'Full run.'} Produced by \`node bench/run.mjs${QUICK ? ' --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)}.

Machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}, workerd from wrangler's Miniflare.
Method: three workers in workerd (each its own Miniflare, no \`wrangler dev\` proxy) in front of one nginx on loopback;
\`wrk -t2 -c<N> -d${DURATION} --latency\`, \`Accept-Encoding: identity\`; ${ROUNDS} interleaved round(s), medians shown.
"banner" is a visitor with no decision (banner + settings link injected, origin Google tags stripped);
"tags" is a visitor with a valid consent cookie for everything (Consent Mode, GA4, GTM, noscript, link).
The image case passes through untouched in every worker.

## Throughput and latency

| page | conc. | worker | req/s | p50 ms | p99 ms | ÷ pass-through | ÷ JS reference |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

## Size, start-up, streaming

| figure | value |
|---|---|
| wasm, raw | ${kb(wasm.length)} |
| wasm, gzipped | ${kb(gz(wasm))} |
| upload (\`wrangler deploy --dry-run\`) | ${upload} |
| cold start to first response, pass-through worker | ${cold['pass-through'].toFixed(0)} ms |
| cold start to first response, sivo-consent | ${cold['sivo-consent'].toFixed(0)} ms |
| banner HTML+CSS+JS, raw | ${banner.length} B |
| banner HTML+CSS+JS, gzipped | ${gz(banner)} B |
| settings link, raw | ${link.length} B |
| Consent Mode + tags + noscript, gzipped | ${gz(consentMode + loaders + noscript)} B |
| origin stalls ${stallMs} ms half-way through a 100 KB page: time to first byte | ${stall.ttfb.toFixed(0)} ms |
| same, time to last byte | ${stall.total.toFixed(0)} ms |
| KV operations per page view | 0 (pages verify the signed cookie; see tests/workerd/consent.test.mjs) |
${problems.length ? `\n## Problems\n\n${problems.map((p) => `- ${p}`).join('\n')}\n` : ''}`;
  const partial = Boolean(ONLY_PAGES || flag('duration') || flag('rounds'));
  const target = QUICK || partial ? path.join(OUT, partial ? 'partial.md' : 'quick.md') : path.join(ROOT, 'BENCHMARKS.md');
  if (QUICK || partial || !fs.existsSync(path.join(ROOT, 'BENCHMARKS.md'))) {
    fs.writeFileSync(target, report);
  } else {
    // Keep the hand-written analysis below the marker; replace the measured part above it.
    const old = fs.readFileSync(target, 'utf8');
    const marker = '<!-- analysis -->';
    fs.writeFileSync(target, report + (old.includes(marker) ? `\n${old.slice(old.indexOf(marker))}` : ''));
  }
  console.log(report);
  log(`written to ${path.relative(ROOT, target)}`);
  if (problems.length) {
    log('some cases produced no valid numbers:', problems);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
