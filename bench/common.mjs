// What bench/run.mjs and bench/investigations/ share: the fixtures, the nginx origin, the
// workers (sivo-consent from a build directory of either layout, the JavaScript
// references), the consent cookies, the markup sivo-consent injects, taken from its own
// output for the references to inject too, and the comparison of two workers' answers.
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import workerd from 'workerd';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { COOKIE_NAME, signConsentCookie } from '../scripts/lib/consent-cookie.mjs';
import { compatibilityDate, compatibilityFlags } from '../scripts/lib/runtime-config.mjs';
import { freePort } from '../scripts/lib/processes.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SIGNING_KEY = 'bench-signing-key-0123456789-abcdefghijklmnop';
export const RECORD_KEY = Buffer.alloc(32, 1).toString('base64');
export const GA4 = 'G-BENCH123';
export const GTM = 'GTM-BENCH45';
export { COOKIE_NAME, freePort };
export { cpuSeconds, rssKb, workerdPids } from '../scripts/lib/processes.mjs';

export function log(...args) {
  console.error('[bench]', ...args);
}
export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
/** `--name=value` from the command line. */
export const flag = (name) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? undefined : a.slice(name.length + 3);
};

// ---------- fixtures: realistic pages built from the demo site, and a 200 KB image ----------
export function makePages(dir) {
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
/** The median of a list of numbers (the upper one of an even count's middle two). */
export function median(xs) {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
export function fixturesDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-bench-'));
  fs.chmodSync(dir, 0o755); // nginx's workers run as an unprivileged user
  return dir;
}

// ---------- the origin: nginx on loopback ----------
export async function startNginx(root) {
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

// ---------- sivo-consent from a build directory ----------
// Two layouts: worker-build's classic one, build/index.js (the whole glue) importing
// ./index_bg.wasm (build/worker/shim.mjs only re-exports index.js); and a later one where
// build/worker/shim.mjs is the entry, importing the wasm (e.g. ../index.wasm), and
// build/index.js only re-exports the shim. The entry is chosen by reading index.js's import
// lines; the modules are the entry and every relative module it imports, transitively.
const IMPORT_RE = /(?:^|[;\s}])(?:import|export)\s*(?:[\w*{}\s,$]*?\s*from\s*)?["']([^"']+)["']/g;
function relativeImports(code) {
  return [...code.matchAll(IMPORT_RE)].map((m) => m[1]).filter((s) => s.startsWith('./') || s.startsWith('../'));
}
function onlyReexports(file, target) {
  const code = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  const specs = relativeImports(code).map((s) => path.resolve(path.dirname(file), s.split('?')[0]));
  const rest = code.replace(/(?:import|export)\s*(?:[\w*{}\s,$]*?\s*from\s*)?["'][^"']+["']\s*;?/g, '').trim();
  return specs.length > 0 && specs.every((s) => s === target) && rest === '';
}
export function buildLayout(dir) {
  const index = path.join(dir, 'index.js');
  const shim = path.join(dir, 'worker', 'shim.mjs');
  const useShim = fs.existsSync(shim) && (!fs.existsSync(index) || onlyReexports(index, shim));
  const entry = useShim ? shim : index;
  if (!fs.existsSync(entry)) throw new Error(`${dir}: no build/index.js nor build/worker/shim.mjs`);
  const modules = [];
  const seen = new Set();
  const queue = [entry];
  while (queue.length) {
    const spec = queue.shift();
    const file = spec.split('?')[0];
    if (seen.has(spec)) continue;
    seen.add(spec);
    if (!fs.existsSync(file)) throw new Error(`${path.relative(dir, entry)} imports ${path.relative(dir, spec)}, which is missing`);
    const module = { type: file.endsWith('.wasm') ? 'CompiledWasm' : 'ESModule', path: spec };
    // A specifier with a query (`./index.wasm?module`) names the module: its bytes come from the file.
    if (spec !== file) module.contents = fs.readFileSync(file);
    modules.push(module);
    if (module.type === 'ESModule') {
      for (const s of relativeImports(fs.readFileSync(file, 'utf8'))) queue.push(path.resolve(path.dirname(file), s));
    }
  }
  const wasm = modules.find((m) => m.type === 'CompiledWasm');
  if (!wasm) throw new Error(`${dir}: the entry ${path.relative(dir, entry)} imports no wasm`);
  return { dir, entry, modules, wasm: wasm.path.split('?')[0], layout: useShim ? 'worker/shim.mjs' : 'index.js' };
}
export function oursOptions(origin, buildDir = path.join(ROOT, 'build'), extra = {}) {
  const layout = buildLayout(buildDir);
  return {
    modules: layout.modules,
    modulesRoot: buildDir,
    bindings: {
      ORIGIN_URL: origin, GA4_MEASUREMENT_ID: GA4, GTM_CONTAINER_ID: GTM, POLICY_VERSION: '1',
      CONSENT_MAX_AGE_DAYS: '365', RECORD_RETENTION_DAYS: '1460', CONSENT_SIGNING_KEY: SIGNING_KEY, RECORD_ENCRYPTION_KEY: RECORD_KEY,
    },
    kvNamespaces: { CONSENT_KV: 'bench' },
    ...extra,
  };
}
export function jsOptions(file, bindings, extra = {}) {
  return { modules: [{ type: 'ESModule', path: path.join(ROOT, 'bench', file) }], bindings, ...extra };
}
/** The full JavaScript reference, with the same configuration as sivo-consent and its markup. */
export function fullReferenceOptions(origin, templates, extra = {}) {
  return jsOptions('reference-full.mjs', {
    ORIGIN_URL: origin, GA4_MEASUREMENT_ID: GA4, GTM_CONTAINER_ID: GTM, POLICY_VERSION: '1', CONSENT_SIGNING_KEY: SIGNING_KEY,
    TEMPLATES: templates,
  }, extra);
}
/** The simple reference (bench/reference.mjs): fixed markup, nonce included. */
export function simpleReferenceOptions(origin, templates) {
  const nonce = 'c2ltcGxlLXJlZmVyZW5jZQ==';
  const fill = (s) => s.replaceAll('{nonce}', nonce);
  return jsOptions('reference.mjs', {
    ORIGIN: origin, COOKIE_NAME,
    BANNER: fill(templates.banner.en).replace('{return_to}', '/'), LINK: fill(templates.link.en),
    CONSENT_MODE: fill(templates.consentMode.all), LOADERS: fill(templates.loaders.all), NOSCRIPT: templates.noscript,
  });
}
/**
 * Starts a worker in its own workerd. What it logs is dropped, as a production log pipeline
 * would take the lines off the worker, except while `w.capture` is true (from the start with
 * `keepLogs`): then the lines are kept in `w.logs`.
 *
 * `quiet` (the workers under load): workerd still formats and writes every log line, but to
 * /dev/null (bench/workerd-quiet.sh) rather than to Miniflare, which parses each line as JSON
 * in this Node process, on the same two cores as the workers it measures: a cost of the
 * harness (about 0.1 ms of CPU per request), charged to every worker that logs and not to the
 * pass-through. In production the log pipeline runs off the worker's machine time.
 */
export async function startWorker(options, { keepLogs = false, inspectorPort, quiet = false } = {}) {
  const started = performance.now();
  const logs = [];
  const w = { capture: keepLogs, logs };
  const onLog = (line) => {
    if (w.capture) logs.push(line);
  };
  const port = await freePort();
  // Miniflare reads the runtime's path from the environment when it spawns workerd (before
  // `ready` resolves); the previous value is restored once it has.
  const before = process.env.MINIFLARE_WORKERD_PATH;
  if (quiet) {
    if (keepLogs) throw new Error('startWorker: a quiet worker keeps no logs');
    process.env.SIVO_WORKERD_BIN = workerd.default ?? workerd;
    process.env.MINIFLARE_WORKERD_PATH = path.join(ROOT, 'bench', 'workerd-quiet.sh');
  }
  let url;
  let mf;
  try {
    mf = new Miniflare(convertV4MiniflareOptions({
      compatibilityDate, compatibilityFlags, host: '127.0.0.1', port,
      handleStructuredLogs: (l) => onLog(l.message),
      ...(inspectorPort ? { inspectorPort, inspectorHost: '127.0.0.1' } : {}),
      ...options,
    }));
    url = (await mf.ready).href.replace(/\/$/, '');
  } finally {
    if (before === undefined) delete process.env.MINIFLARE_WORKERD_PATH;
    else process.env.MINIFLARE_WORKERD_PATH = before;
  }
  return Object.assign(w, { mf, url, started });
}

// ---------- consent cookies ----------
export function consentCookie({ analytics = true, marketing = true, policy = '1', expiresIn = 86_400_000, key = SIGNING_KEY } = {}) {
  const now = Date.now();
  return signConsentCookie({ id: 'ab'.repeat(16), analytics, marketing, givenAt: now, expiresAt: now + expiresIn, policy }, key);
}

// ---------- the markup sivo-consent injects ----------
/**
 * Requests the fixture page from sivo-consent undecided and with consent for everything, in
 * English, and cuts out
 * what it inserted (between `<head>` and the page's head, …), the nonce turned into
 * `{nonce}` and the banner's return path into `{return_to}`: the templates the full
 * reference fills per request.
 */
export async function extractTemplates(oursUrl, pagePath, pageHtml) {
  const at = (s, needle, from = 0) => {
    const i = s.indexOf(needle, from);
    if (i < 0) throw new Error(`sivo-consent's output for ${pagePath} lacks the origin's ${JSON.stringify(needle.slice(0, 40))}…`);
    return i;
  };
  const H = pageHtml.slice(at(pageHtml, '<head>') + 6, at(pageHtml, '</head>'));
  const C = pageHtml.slice(at(pageHtml, '<body>') + 6, pageHtml.lastIndexOf('</body>'));
  const cut = async (headers) => {
    const out = await (await fetch(oursUrl + pagePath, { headers: { 'accept-encoding': 'identity', ...headers } })).text();
    const hs = at(out, '<head>') + 6;
    const h = at(out, H, hs);
    const he = at(out, '</head>', h + H.length);
    const bs = at(out, '<body>', he) + 6;
    const c = at(out, C, bs);
    const be = out.lastIndexOf('</body>');
    const parts = { headStart: out.slice(hs, h), headEnd: out.slice(h + H.length, he), bodyStart: out.slice(bs, c), bodyEnd: out.slice(c + C.length, be) };
    const nonce = /<script nonce="([^"]+)"/.exec(parts.headStart)?.[1];
    if (!nonce) throw new Error('sivo-consent injected no Consent Mode script with a nonce');
    for (const k of Object.keys(parts)) parts[k] = parts[k].replaceAll(nonce, '{nonce}');
    return parts;
  };
  const returnTo = `name="return_to" value="${pagePath.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`;
  const banner = (p) => {
    if (!p.bodyStart.includes(returnTo)) throw new Error('the banner carries no return_to field');
    return p.bodyStart.replace(returnTo, 'name="return_to" value="{return_to}"');
  };
  // The end of <head>: the worker's stylesheets, then (with consent) the tag loaders.
  const styles = (headEnd) => /^(?:<style[^>]*>[^<]*<\/style>)*/.exec(headEnd)[0];
  // English, no Global Privacy Control: the benchmark's visitors (wrk sends neither header).
  const t = { banner: {}, link: {}, consentMode: {}, styles: {}, loaders: {}, noscript: '' };
  const undecided = await cut({ 'accept-language': 'en' });
  t.banner.en = banner(undecided);
  t.link.en = undecided.bodyEnd;
  t.consentMode.none = undecided.headStart;
  t.styles.none = styles(undecided.headEnd);
  const all = await cut({ cookie: consentCookie() });
  t.consentMode.all = all.headStart;
  t.styles.all = styles(all.headEnd);
  t.loaders.all = all.headEnd.slice(t.styles.all.length);
  t.noscript = all.bodyStart;
  return t;
}

// ---------- comparing two workers' answers ----------
/** The response's nonce replaced by `{NONCE}` wherever it appears. */
export function withoutNonce(text, nonce) {
  return nonce ? text.replaceAll(nonce, '{NONCE}') : text;
}
export function nonceOf(body, headers) {
  return /nonce="([A-Za-z0-9+/=]+)"/.exec(body)?.[1] ?? /'nonce-([A-Za-z0-9+/=]+)'/.exec(headers.get('content-security-policy') ?? '')?.[1];
}
/** Where two strings first differ, with some context, or null when they are equal. */
export function firstDifference(a, b) {
  if (a === b) return null;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const show = (s) => JSON.stringify(s.slice(Math.max(0, i - 60), i + 80));
  return `at ${i} of ${a.length}/${b.length}: ${show(a)} vs ${show(b)}`;
}

// ---------- the output check: sivo-consent and the full reference, answer for answer ----------
/** Two workers' answers to one request, nonces replaced, or the first difference. */
export async function compareAnswers(a, b, pathname, headers) {
  const get = async (w) => {
    const before = w.logs.length;
    const r = await fetch(w.url + pathname, { headers: { 'accept-encoding': 'identity', ...headers } });
    const body = await r.text();
    const nonce = nonceOf(body, r.headers);
    const head = ['content-type', 'cache-control', 'vary', 'content-security-policy', 'content-security-policy-report-only', 'link', 'etag', 'last-modified', 'content-length']
      .map((h) => `${h}: ${r.headers.get(h)}`)
      .concat(r.headers.getSetCookie().map((c) => `set-cookie: ${c}`));
    // The log line arrives through workerd's pipe, a moment after the response.
    for (let i = 0; i < 100 && !w.logs.slice(before).some((l) => l.includes('"msg":"request"')); i++) await sleep(10);
    const line = w.logs.slice(before).find((l) => l.includes('"msg":"request"')) ?? '(no log line)';
    const maskedLine = line
      .replace(/"ts":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{0,2}[1-9])?Z)"/, '"ts":"<rfc3339>"')
      .replace(/"ms":\d+/, '"ms":<n>');
    return { status: String(r.status), head: withoutNonce(head.join('\n'), nonce), body: withoutNonce(body, nonce), log: maskedLine };
  };
  const [x, y] = [await get(a), await get(b)];
  for (const part of ['status', 'head', 'body', 'log']) {
    const d = firstDifference(x[part], y[part]);
    if (d) return `${part} differs ${d}`;
  }
  return null;
}
