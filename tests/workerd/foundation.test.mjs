// The worker as a whole, in workerd, in front of a real origin on loopback: proxying,
// streaming rewrite, pass-through, errors, health and logs (issue 2).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, PAGE, IMAGE } from '../support/origin.mjs';
import { startWorker } from '../support/worker.mjs';
import { signedCookie } from '../support/consent.mjs';

const LINK = 'href="/_consent/preferences"';
let origin;
let worker;

before(async () => {
  origin = await startOrigin();
  worker = await startWorker({ origin: origin.url });
});
after(async () => {
  await worker?.close();
  await origin?.close();
});

function count(haystack, needle) {
  return haystack.split(needle).length - 1;
}

test('an HTML page is proxied with the settings link injected once, before </body>', async () => {
  // A visitor who has decided: no banner, so the link is the only change.
  const res = await worker.fetch('/page', { headers: { 'accept-language': 'en-GB,en;q=0.9', cookie: signedCookie({ analytics: false, marketing: false }) } });
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.equal(count(html, LINK), 1);
  assert.match(html, /<p>Contenido<\/p>(?:<style[^>]*>[^<]*<\/style>)?<a href="\/_consent\/preferences"[^>]*>Cookie settings<\/a><\/body><\/html>$/);
  // Consent Mode's defaults first in <head> (nothing is granted), then the page as it came.
  const withoutConsentMode = html.replace(/<script nonce="[^"]+">window\.dataLayer[^<]*<\/script>/, '');
  assert.ok(withoutConsentMode.startsWith(PAGE.slice(0, PAGE.indexOf('</body>'))), 'the origin page is otherwise untouched');
  assert.equal(res.headers.get('x-origin'), 'fixture', "the origin's own headers are kept");
  assert.match(res.headers.get('set-cookie'), /origin_session=s3ss10n/);
  assert.equal(res.headers.get('content-length'), null, 'a rewritten page drops Content-Length');
  assert.equal(res.headers.get('etag'), null, 'and its validators');
  assert.equal(res.headers.get('last-modified'), null);
  assert.equal(res.headers.get('cache-control'), 'private, no-cache');
  assert.match(res.headers.get('vary'), /Cookie/);
});

test('the link speaks Spanish to a Spanish browser', async () => {
  const html = await (await worker.fetch('/page', { headers: { 'accept-language': 'es-ES,es;q=0.9,en;q=0.5' } })).text();
  assert.match(html, /lang="es"[^>]*>Configuración de cookies<\/a>/);
});

test('the request reaches the origin with its method, path, query, headers and body', async () => {
  const res = await worker.fetch('/echo?campaign=nov&x=1', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-custom': 'yes' },
    body: 'name=Ana&company=Acme',
  });
  assert.equal(res.status, 200);
  const seen = await res.json();
  assert.deepEqual([seen.method, seen.url, seen.body], ['POST', '/echo?campaign=nov&x=1', 'name=Ana&company=Acme']);
  assert.equal(seen.headers['x-custom'], 'yes');
});

test('the origin gets the path and query the visitor asked for, however the URL is written', async () => {
  // The entry builds the origin's URL from the request URL's tail where it is exactly the
  // path and query, and asks Rust otherwise (a bare "?", which the origin URL drops).
  const cases = [
    ['/echo?', '/echo'],
    ['/echo/se%C3%B1or?q=caf%C3%A9&x', '/echo/se%C3%B1or?q=caf%C3%A9&x'],
    ['/echo/señor?q=café', '/echo/se%C3%B1or?q=caf%C3%A9'],
    ['/echo/a//b/../c?', '/echo/a//c'],
    ['/echo?a=1?b=2', '/echo?a=1?b=2'],
  ];
  for (const [asked, reached] of cases) {
    const before = origin.requests.length;
    const res = await worker.fetch(asked);
    await res.arrayBuffer();
    assert.deepEqual(origin.requests.slice(before).map((r) => r.url), [reached], asked);
  }
});

test('non-HTML passes through byte for byte with its headers', async () => {
  const res = await worker.fetch('/image.png');
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), IMAGE);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.equal(res.headers.get('content-length'), String(IMAGE.length));
  assert.equal(res.headers.get('etag'), '"img-1"');
  assert.equal(res.headers.get('cache-control'), 'public, max-age=86400');
});

test('a gzip-encoded page is decoded, rewritten and served', async () => {
  const res = await worker.fetch('/gzip', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.equal(count(html, LINK), 1);
  assert.ok(html.includes('<h1>Hola</h1>'));
});

test('a page in ISO-8859-1 keeps its bytes', async () => {
  const res = await worker.fetch('/latin1');
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.ok(bytes.includes(Buffer.from('Canción año', 'latin1')), 'the latin-1 bytes survive');
  assert.equal(count(bytes.toString('latin1'), LINK), 1);
});

test('HEAD gets the head and no body', async () => {
  const res = await worker.fetch('/page', { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal((await res.arrayBuffer()).byteLength, 0);
});

test('304 Not Modified passes through', async () => {
  const res = await worker.fetch('/conditional', { headers: { 'if-none-match': '"v7"' } });
  assert.equal(res.status, 304);
  assert.equal((await res.arrayBuffer()).byteLength, 0);
});

test('a range response is passed through untouched', async () => {
  const res = await worker.fetch('/range', { headers: { range: 'bytes=0-9' } });
  assert.equal(res.status, 206);
  assert.equal(res.headers.get('content-range'), `bytes 0-9/${Buffer.byteLength(PAGE)}`);
  assert.equal(await res.text(), PAGE.slice(0, 10));
});

test('an HTML error page keeps its status and gets the link', async () => {
  const res = await worker.fetch('/missing');
  assert.equal(res.status, 404);
  assert.equal(count(await res.text(), LINK), 1);
});

test('redirects go back to the browser, not followed by the worker', async () => {
  const res = await worker.fetch('/redirect', { redirect: 'manual' });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), '/page');
});

test('the page streams: its first half arrives while the origin still holds the second', async () => {
  // identity: with gzip, the hop from workerd back to Node compresses, and zlib holds bytes
  // until it has a block, which would hide the worker's own streaming from this test.
  const res = await worker.fetch('/stalled', { headers: { 'accept-encoding': 'identity' } });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  while (!seen.includes('first half')) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the stream ended before the first half arrived');
    seen += decoder.decode(value, { stream: true });
  }
  assert.ok(!seen.includes('second half'), 'the origin has not sent it yet');
  origin.open('stalled');
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  assert.match(seen, /<p>second half<\/p>(?:<style[^>]*>[^<]*<\/style>)?<a href="\/_consent\/preferences"/);
});

test('every request logs one JSON line with a truncated IP and no query string', async () => {
  const before = worker.jsonLogs().length;
  await (await worker.fetch('/page?email=ana@example.com', { headers: { 'cf-connecting-ip': '198.51.100.77' } })).text();
  await (await worker.fetch('/image.png', { headers: { 'cf-connecting-ip': '2001:db8:abcd:12:1:2:3:4' } })).arrayBuffer();
  const lines = worker.jsonLogs().slice(before).filter((l) => l.msg === 'request');
  assert.equal(lines.length, 2);
  const [page, image] = lines;
  assert.deepEqual(
    { method: page.method, path: page.path, status: page.status, ip: page.ip, consent: page.consent, country: page.country },
    { method: 'GET', path: '/page', status: 200, ip: '198.51.100.0', consent: 'undecided', country: 'ES' },
  );
  assert.match(page.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.equal(image.ip, '2001:db8:abcd::');
  const raw = worker.logs.map((l) => l.message).join('\n');
  assert.ok(!raw.includes('198.51.100.77') && !raw.includes('ana@example.com') && !raw.includes(':1:2:3:4'));
});

test('health answers 200 with the configuration summary and no secret', async () => {
  const res = await worker.fetch('/_consent/health');
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, 'ok');
  assert.equal(body.origin, 'url');
  assert.equal(body.development, false);
  assert.deepEqual(body.problems, []);
  const text = JSON.stringify(body);
  assert.ok(!text.includes('test-signing-key') && !text.includes(origin.url));
});

test('unknown consent routes are 404 JSON, wrong methods 405 with Allow', async () => {
  const res = await worker.fetch('/_consent/nope');
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error, 'not_found');
  const post = await worker.fetch('/_consent/health', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal(origin.requests.filter((r) => r.url.startsWith('/_consent')).length, 0, 'never forwarded to the origin');
});

test('an unreachable origin gives a clear 502 page and an error log line', async () => {
  const dead = await startWorker({ origin: 'http://127.0.0.1:9' });
  try {
    const res = await dead.fetch('/', { headers: { 'accept-language': 'es' } });
    assert.equal(res.status, 502);
    assert.match(res.headers.get('content-type'), /text\/html/);
    assert.match(await res.text(), /El sitio no está disponible en este momento/);
    const line = dead.jsonLogs().find((l) => l.msg === 'request');
    assert.equal(line.level, 'error');
    assert.equal(line.status, 502);
    assert.match(line.error, /origin unreachable/);
  } finally {
    await dead.close();
  }
});

test('a deployed configuration without secrets is reported, and the site is still served', async () => {
  const prod = await startWorker({ origin: origin.url, vars: { CONSENT_SIGNING_KEY: '', RECORD_ENCRYPTION_KEY: '', CONSENT_MAX_AGE_DAYS: 'forever' } });
  try {
    const health = await (await prod.fetch('/_consent/health')).json();
    assert.equal(health.status, 'degraded');
    assert.equal(health.consent_recording, false);
    assert.deepEqual(health.problems.map((p) => p.setting).sort(), ['CONSENT_MAX_AGE_DAYS', 'CONSENT_SIGNING_KEY', 'RECORD_ENCRYPTION_KEY']);
    const page = await prod.fetch('/page');
    assert.equal(page.status, 200);
    assert.ok((await page.text()).includes(LINK));
    const config = prod.jsonLogs().filter((l) => l.msg === 'configuration');
    assert.equal(config.length, 3, 'each problem logged once per isolate');
  } finally {
    await prod.close();
  }
});
