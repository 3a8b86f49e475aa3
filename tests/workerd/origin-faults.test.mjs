// An origin that misbehaves, in front of the built worker in workerd: connections reset half-way
// through a page or an image, a response head that never comes, a status line that is not one,
// bytes that are not HTTP, a page written one byte at a time and a body that never ends. For each,
// what the visitor gets: a clear 502/504 page in their language, or the bytes streamed as they
// came (gated as usual); never a 500, never a hang; and a log line that says what happened.
// Every request is bounded, so a hang fails the test instead of stalling CI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startOrigin, IMAGE } from '../support/origin.mjs';
import { startWorker, ROOT } from '../support/worker.mjs';

const GOOGLE = /googletagmanager\.com|google-analytics\.com|doubleclick\.net/i;
const BANNER = 'data-consent-banner';

/** A text of the visitor's language, read from crates/consent-core/src/i18n/<lang>.rs. */
function text(lang, name) {
  const source = fs.readFileSync(path.join(ROOT, 'crates/consent-core/src/i18n', `${lang}.rs`), 'utf8');
  const m = new RegExp(`\\b${name}: "([^"]+)"`).exec(source);
  assert.ok(m, `${name} in ${lang}.rs`);
  return m[1];
}

/** Resolves with `promise`, or fails after `ms` (a timer that keeps the test alive). */
function within(ms, promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A page with Google tags of every kind the worker strips, `bytes` long or a little more. */
function taggedPage(bytes, title) {
  let page = `<!doctype html><html><head><title>${title}</title>`
    + '<link rel="preconnect" href="https://www.googletagmanager.com">'
    + '<script async src="https://www.googletagmanager.com/gtag/js?id=G-FAULT1"></script>'
    + "<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;j.src='https://www.googletagmanager.com/gtm.js?id='+i;f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-FAULT1');</script>"
    + '</head><body><noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-FAULT1" height="0" width="0"></iframe></noscript><h1>Página</h1>';
  const tail = '<img src="https://www.google-analytics.com/collect?v=1&amp;t=pageview" alt=""><p id="last">Fin de la página.</p></body></html>';
  let n = 0;
  while (page.length + tail.length < bytes) page += `<p>Párrafo ${++n} del contenido, con texto de relleno para el tamaño.</p>`;
  return page + tail;
}

const RESET_HTML_HEAD = taggedPage(0, 'Reset').replace(/<img[\s\S]*$/, '');
const BYTES_PAGE = taggedPage(3 * 1024, 'Byte a byte');
/** Connections to the silent route that the worker has let go of. */
let silentClosed = 0;
let origin;
let worker;

before(async () => {
  origin = await startOrigin({
    // The head and part of a page, then the connection is reset.
    '/reset-html': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.write(`${RESET_HTML_HEAD}<p>${'antes del corte '.repeat(200)}</p>`);
      // Long enough for the worker to have passed the first part on, even on a busy machine:
      // the test is about what happens after that, not a race with it.
      setTimeout(() => req.socket.destroy(), 500);
    },
    // The head and 1,000 of an image's 4,096 bytes (Content-Length says 4,096), then a reset.
    '/reset-image.png': (req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': IMAGE.length, etag: '"img-reset"' });
      res.write(IMAGE.subarray(0, 1000));
      setTimeout(() => req.socket.destroy(), 50);
    },
    // The connection is accepted and the request read; no answer, ever.
    '/silent': (req) => {
      req.socket.on('close', () => { silentClosed += 1; });
    },
    // A status line that is not one, then the connection is closed.
    '/garbage-status': (req) => {
      req.socket.end('HTTP/1.1 abc nonsense\r\n\r\n');
    },
    // Bytes that are not HTTP at all.
    '/not-http': (req) => {
      req.socket.end(Buffer.from([0x00, 0xff, 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]));
    },
    // Closed without a byte of answer.
    '/closed': (req) => {
      req.socket.destroy();
    },
    // The same tagged page, one byte per network write, 2 ms apart.
    '/one-byte': (req, res) => {
      res.socket.setNoDelay(true);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      const bytes = Buffer.from(BYTES_PAGE);
      let i = 0;
      const next = () => {
        if (res.destroyed) return;
        if (i === bytes.length) return res.end();
        res.write(bytes.subarray(i, i + 1));
        i += 1;
        setTimeout(next, 2);
      };
      next();
    },
    // The same page in one write, to compare with.
    '/one-write': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(BYTES_PAGE);
    },
    // The head and the start of a page, then silence: the body never ends.
    '/endless': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.write('<!doctype html><html><head><title>Sin fin</title></head><body><h1>Empieza</h1><p>primer trozo</p>');
    },
  });
  worker = await startWorker({ origin: origin.url });
});
after(async () => {
  await worker?.close();
  await origin?.close();
});

/** GETs `path` as a Spanish browser, bounded by `ms`. */
function get(pathname, { ms = 15_000, headers = {} } = {}) {
  return worker.fetch(pathname, {
    headers: { 'accept-encoding': 'identity', 'accept-language': 'es-ES,es;q=0.9', accept: 'text/html,*/*;q=0.8', ...headers },
    signal: AbortSignal.timeout(ms),
  });
}

/** Reads a body to its end or its failure: the bytes that came, and the error if it broke off. */
async function readAll(res, ms = 15_000) {
  const reader = res.body.getReader();
  const chunks = [];
  try {
    for (;;) {
      const { value, done } = await within(ms, reader.read(), 'reading the body');
      if (done) return { bytes: Buffer.concat(chunks), error: undefined };
      chunks.push(value);
    }
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
}

/** The request log line of the last request to `pathname`. */
function logOf(pathname) {
  const line = worker.jsonLogs().filter((l) => l.msg === 'request' && l.path === pathname).at(-1);
  assert.ok(line, `a log line for ${pathname}`);
  return line;
}

async function assertErrorPage(res, pathname, status, textName, errorPattern) {
  assert.equal(res.status, status, `${pathname}: ${status}, never a 500`);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  const html = await within(5000, res.text(), `${pathname} page`);
  assert.match(html, /<html lang="es">/);
  assert.ok(html.includes(text('es', 'origin_title')), `${pathname}: the Spanish title`);
  assert.ok(html.includes(text('es', textName)), `${pathname}: the Spanish ${textName} text`);
  assert.match(html, /Reintentar/);
  assert.match(html, /<\/html>$/, 'a complete page');
  const line = logOf(pathname);
  assert.equal(line.status, status);
  assert.equal(line.level, 'error');
  assert.match(line.error, errorPattern);
}

test('a connection reset half-way through a page: the bytes that came, gated, then a broken stream (not a clean end)', async () => {
  const res = await within(10_000, get('/reset-html'), 'the response head');
  assert.equal(res.status, 200, 'the head went out before the reset');
  const { bytes, error } = await readAll(res);
  const html = bytes.toString('utf8');
  assert.ok(error, 'the visitor’s client sees the page break off, not a complete page');
  assert.ok(html.startsWith('<!doctype html><html><head>'), html.slice(0, 80));
  assert.ok(html.includes('antes del corte'), 'what the origin sent before the reset arrived');
  assert.ok(html.includes(BANNER), 'with the banner');
  assert.doesNotMatch(html, GOOGLE, 'and without the tags the origin had already sent');
  assert.ok(!html.includes('</html>'));
  assert.equal(logOf('/reset-html').status, 200);
});

test('a connection reset half-way through an image: the bytes that came, the origin’s headers, then a broken stream', async () => {
  const res = await within(10_000, get('/reset-image.png', { headers: { accept: 'image/png,image/*' } }), 'the response head');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-length'), String(IMAGE.length), 'passed through untouched');
  assert.equal(res.headers.get('etag'), '"img-reset"');
  const { bytes, error } = await readAll(res);
  assert.ok(error, 'fewer bytes than Content-Length is an error to the client');
  assert.ok(bytes.length <= 1000);
  assert.ok(IMAGE.subarray(0, bytes.length).equals(bytes), 'a prefix of the image, unaltered');
  assert.equal(logOf('/reset-image.png').status, 200);
});

test('a status line that is not one, bytes that are not HTTP, or a closed connection: a 502 page in Spanish', async () => {
  for (const pathname of ['/garbage-status', '/not-http', '/closed']) {
    const res = await within(10_000, get(pathname), `${pathname}: the response head`);
    await assertErrorPage(res, pathname, 502, 'origin_down', /^origin unreachable: /);
  }
  const en = await within(10_000, get('/garbage-status', { headers: { 'accept-language': 'en' } }), 'the response head');
  assert.equal(en.status, 502);
  assert.ok((await en.text()).includes(text('en', 'origin_down')), 'and in English to an English browser');
  const image = await within(10_000, get('/not-http', { headers: { accept: 'image/*' } }), 'the response head');
  assert.equal(image.status, 502, 'an image from a broken origin is a 502 too');
  await image.arrayBuffer();
});

test('one byte per network write: the tags are still stripped, the banner is there, the page is complete', async () => {
  assert.ok(Buffer.byteLength(BYTES_PAGE) > 3000);
  const res = await within(10_000, get('/one-byte', { ms: 60_000 }), 'the response head');
  assert.equal(res.status, 200);
  const { bytes, error } = await readAll(res, 30_000);
  assert.equal(error, undefined);
  const html = bytes.toString('utf8');
  assert.doesNotMatch(html, GOOGLE, 'no Google host in any element or inline script');
  assert.doesNotMatch(html, /GTM-FAULT1|G-FAULT1/, 'not the loader, not the noscript frame');
  assert.equal(html.split(BANNER).length - 1, 1, 'one banner');
  assert.match(html, /<p id="last">Fin de la página\.<\/p>(?:<style[^>]*>[^<]*<\/style>)?<a href="\/_consent\/preferences"[^>]*>[^<]+<\/a><\/body><\/html>$/, 'the whole page, with the settings link');
  // And exactly what the same page gets in one piece (but for its nonce and its own path).
  const whole = await (await within(10_000, get('/one-write'), 'the response head')).text();
  const same = (s) => s.replace(/nonce="[^"]+"/g, 'nonce=""').replace(/value="\/one-(byte|write)"/, 'value="/page"');
  assert.equal(same(html), same(whole));
});

test('a body that never ends: the page starts streaming at once, never a request hung before its head', async () => {
  const controller = new AbortController();
  const started = performance.now();
  const res = await within(5000, worker.fetch('/endless', { headers: { 'accept-encoding': 'identity', 'accept-language': 'es' }, signal: controller.signal }), 'the response head');
  try {
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    let seen = '';
    while (!seen.includes('primer trozo')) {
      const { value, done } = await within(5000, reader.read(), 'the first bytes of the page');
      assert.ok(!done, 'the stream ended early');
      seen += new TextDecoder().decode(value, { stream: true });
    }
    const firstBytesMs = performance.now() - started;
    assert.ok(seen.startsWith('<!doctype html><html><head>'), seen.slice(0, 80));
    assert.ok(seen.includes(BANNER), 'the banner is in what has come so far');
    assert.ok(!seen.includes('</html>'), 'and nothing pretends the page is finished');
    assert.ok(firstBytesMs < 5000, `first bytes after ${Math.round(firstBytesMs)} ms`);
    assert.equal(logOf('/endless').status, 200, 'logged when the head went out');
    // The body stays open as long as the origin keeps it open (the head timeout bounds only the
    // head); the visitor leaving is what ends it here.
    await reader.cancel().catch(() => {});
  } finally {
    controller.abort();
  }
});

test('a response head that never comes: a 504 page in Spanish after ORIGIN_HEAD_TIMEOUT_MS (20 s, src/protocol.rs), and the origin is let go', async () => {
  const closedBefore = silentClosed;
  const started = performance.now();
  const res = await within(40_000, get('/silent', { ms: 40_000 }), 'the 504');
  const waited = performance.now() - started;
  assert.ok(waited >= 19_000 && waited < 35_000, `answered after ${Math.round(waited)} ms`);
  await assertErrorPage(res, '/silent', 504, 'origin_timeout', /^origin timed out$/);
  const deadline = Date.now() + 10_000;
  while (silentClosed === closedBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(silentClosed, closedBefore + 1, 'the origin connection was closed after the 504');
});

test('after all that, the worker still serves: a normal page is 200 with the banner; nothing was ever a 500', async () => {
  const res = await within(10_000, get('/page'), 'the response head');
  assert.equal(res.status, 200);
  assert.ok((await res.text()).includes(BANNER));
  const lines = worker.jsonLogs().filter((l) => l.msg === 'request');
  assert.ok(lines.length >= 10);
  assert.deepEqual(lines.filter((l) => l.status === 500), []);
  for (const line of lines.filter((l) => l.status >= 500)) {
    assert.equal(line.level, 'error', JSON.stringify(line));
    assert.equal(typeof line.error, 'string');
  }
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
