// The site's pages through the worker, in workerd, in front of a real origin on loopback:
// what reaches the origin, what the visitor gets back (rewritten HTML, pass-through of
// everything else, the origin's status codes and encodings) and that pages stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { PAGE, IMAGE } from '../support/origin.mjs';
import { signedCookie } from '../support/consent.mjs';
import { count, useSite } from '../support/site.mjs';

const LINK = 'href="/_consent/preferences"';
const GOOGLE = /googletagmanager\.com|google-analytics\.com|doubleclick\.net/i;
const BROWSER_ENCODINGS = 'gzip, deflate, br, zstd';
const site = useSite({
  routes: {
    '/zstd': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'zstd' });
      res.end(Buffer.from('not really zstd: the worker cannot read it either way'));
    },
    '/charset-page': (req, res) => {
      // No charset in the header: the browser finds it in the first 1024 bytes or not at all.
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><html lang="es"><head><meta name="viewport" content="width=device-width"><meta charset="utf-8"><title>Año</title></head><body><p>Año nuevo</p></body></html>');
    },
    '/gzip-page': (req, res) => {
      const body = zlib.gzipSync('<html><head><script src="https://www.googletagmanager.com/gtag/js?id=G-Z"></script></head><body><p>gz</p></body></html>');
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
      res.end(body);
    },
  },
});

test('an HTML page is proxied with the settings link injected once, before </body>', async () => {
  // A visitor who has decided: no banner, so the link is the only change.
  const res = await site.worker.fetch('/page', { headers: { 'accept-language': 'en-GB,en;q=0.9', cookie: signedCookie({ analytics: false, marketing: false }) } });
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.equal(count(html, LINK), 1);
  assert.match(html, /<p>Contenido<\/p><a href="\/_consent\/preferences"[^>]*>Cookie settings<\/a><\/body><\/html>$/);
  // Consent Mode's defaults first in <head> (nothing is granted), the link's stylesheet (with
  // the same nonce) last in it, so the page's own <meta charset> stays near the start.
  const nonce = /<script nonce="([^"]+)">window\.dataLayer/.exec(html)?.[1];
  const head = html.match(/^<!doctype html><html><head>(<script nonce="[^"]+">window\.dataLayer[^<]*<\/script>)<title>Fixture<\/title>(<style nonce="([^"]+)">#sivo-settings\{[^<]*<\/style>)<\/head>/);
  assert.ok(head, html.slice(0, 400));
  assert.equal(head[3], nonce, "the stylesheet carries the response's nonce");
  const added = html.replace(head[1], '').replace(head[2], '');
  assert.ok(added.startsWith(PAGE.slice(0, PAGE.indexOf('</body>'))), 'the origin page is otherwise untouched');
  assert.equal(res.headers.get('x-origin'), 'fixture', "the origin's own headers are kept");
  assert.match(res.headers.get('set-cookie'), /origin_session=s3ss10n/);
  assert.equal(res.headers.get('content-length'), null, 'a rewritten page drops Content-Length');
  assert.equal(res.headers.get('etag'), null, 'and its validators');
  assert.equal(res.headers.get('last-modified'), null);
  assert.equal(res.headers.get('cache-control'), 'private, no-cache');
  assert.match(res.headers.get('vary'), /Cookie/);
});

test("the page's <meta charset> stays within the first 1024 bytes, where a browser looks for it", async () => {
  // Undecided: Consent Mode, the banner's and the link's stylesheets and the banner all go in.
  const html = await (await site.worker.fetch('/charset-page')).text();
  assert.match(html, /data-consent-banner/);
  assert.match(html, /<style nonce=/);
  const at = Buffer.byteLength(html.slice(0, html.indexOf('<meta charset="utf-8">')));
  assert.ok(at >= 0 && at + '<meta charset="utf-8">'.length <= 1024, `<meta charset> ends at byte ${at + 22}`);
});

test('the link speaks Spanish to a Spanish browser', async () => {
  const html = await (await site.worker.fetch('/page', { headers: { 'accept-language': 'es-ES,es;q=0.9,en;q=0.5' } })).text();
  assert.match(html, /lang="es"[^>]*>Configuración de cookies<\/a>/);
});

test('the request reaches the origin with its method, path, query, headers and body', async () => {
  const res = await site.worker.fetch('/echo?campaign=nov&x=1', {
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
    const before = site.origin.requests.length;
    const res = await site.worker.fetch(asked);
    await res.arrayBuffer();
    assert.deepEqual(site.origin.requests.slice(before).map((r) => r.url), [reached], asked);
  }
});

test('non-HTML passes through byte for byte with its headers', async () => {
  const res = await site.worker.fetch('/image.png');
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), IMAGE);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.equal(res.headers.get('content-length'), String(IMAGE.length));
  assert.equal(res.headers.get('etag'), '"img-1"');
  assert.equal(res.headers.get('cache-control'), 'public, max-age=86400');
});

test('a gzip-encoded page is decoded, rewritten and served', async () => {
  const res = await site.worker.fetch('/gzip', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.equal(count(html, LINK), 1);
  assert.ok(html.includes('<h1>Hola</h1>'));
});

test('the origin is asked only for encodings the rewriter reads; HTML it cannot read is never sent ungated', async () => {
  const echoed = await (await site.worker.fetch('/echo', { headers: { 'accept-encoding': BROWSER_ENCODINGS } })).json();
  // Only what the runtime decodes for the rewriter (the worker forwards an Accept-Encoding
  // that already names only those, in whatever order, and replaces any other).
  const asked = echoed.headers['accept-encoding'].split(',').map((c) => c.split(';')[0].trim());
  assert.ok(asked.length > 0 && asked.every((c) => ['gzip', 'br', 'identity'].includes(c)), echoed.headers['accept-encoding']);
  const refused = await site.worker.fetch('/zstd', { headers: { 'accept-encoding': BROWSER_ENCODINGS } });
  assert.equal(refused.status, 502);
  assert.doesNotMatch(await refused.text(), /not really zstd/);
  const gz = await site.worker.fetch('/gzip-page', { headers: { 'accept-encoding': BROWSER_ENCODINGS } });
  const html = await gz.text();
  assert.doesNotMatch(html, GOOGLE, 'a gzip page is rewritten');
  assert.match(html, /data-consent-banner/);
});

test('a page in ISO-8859-1 keeps its bytes', async () => {
  const res = await site.worker.fetch('/latin1');
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.ok(bytes.includes(Buffer.from('Canción año', 'latin1')), 'the latin-1 bytes survive');
  assert.equal(count(bytes.toString('latin1'), LINK), 1);
});

test('HEAD gets the head and no body', async () => {
  const res = await site.worker.fetch('/page', { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal((await res.arrayBuffer()).byteLength, 0);
});

test('304 Not Modified passes through', async () => {
  const res = await site.worker.fetch('/conditional', { headers: { 'if-none-match': '"v7"' } });
  assert.equal(res.status, 304);
  assert.equal((await res.arrayBuffer()).byteLength, 0);
});

test('a range response is passed through untouched', async () => {
  const res = await site.worker.fetch('/range', { headers: { range: 'bytes=0-9' } });
  assert.equal(res.status, 206);
  assert.equal(res.headers.get('content-range'), `bytes 0-9/${Buffer.byteLength(PAGE)}`);
  assert.equal(await res.text(), PAGE.slice(0, 10));
});

test('an HTML error page keeps its status and gets the link', async () => {
  const res = await site.worker.fetch('/missing');
  assert.equal(res.status, 404);
  assert.equal(count(await res.text(), LINK), 1);
});

test('redirects go back to the browser, not followed by the worker', async () => {
  const res = await site.worker.fetch('/redirect', { redirect: 'manual' });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), '/page');
});

test('the page streams: its first half arrives while the origin still holds the second', async () => {
  // identity: with gzip, the hop from workerd back to Node compresses, and zlib holds bytes
  // until it has a block, which would hide the worker's own streaming from this test.
  const res = await site.worker.fetch('/stalled', { headers: { 'accept-encoding': 'identity' } });
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
  site.origin.open('stalled');
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  assert.match(seen, /<p>second half<\/p>(?:<style[^>]*>[^<]*<\/style>)?<a href="\/_consent\/preferences"/);
});
