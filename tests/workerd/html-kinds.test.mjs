// What is HTML to the browser is gated, in workerd, in front of a loopback origin: an XHTML
// page, a page without a Content-Type (sniffed from its first bytes, which arrive in several
// network writes), a Content-Type with several values, gzip bodies under labels the runtime
// does not decode itself (`x-gzip`, `GZIP`), and a CSP that forbids what the tags need.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { PAGE, IMAGE } from '../support/origin.mjs';
import { signedCookie } from '../support/consent.mjs';
import { count, fetchIdentity, useSite } from '../support/site.mjs';

const BANNER = 'data-consent-banner';
const LINK = 'href="/_consent/preferences"';
const TAG = '<script src="https://www.googletagmanager.com/gtag/js?id=G-ORIGIN"></script>';
const XHTML = `<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head><title>XHTML</title>${TAG}</head><body><p>xhtml</p></body></html>`;
// A page without a type: its first bytes come in three writes, the doctype split across two.
const UNTYPED = ['\n  <!DOC', `TYPE html><html><head><title>Untyped</title>${TAG}</head><body><p>`, `${'untyped '.repeat(400)}</p></body></html>`];
const CSP = "default-src 'self'; img-src 'none'";

/** Writes `chunks` as separate network writes, 50 ms apart, with `headers` (no type unless given). */
function slowly(headers, chunks) {
  return (req, res) => {
    res.writeHead(200, headers);
    const rest = [...chunks];
    const next = () => {
      const chunk = rest.shift();
      if (rest.length === 0) return res.end(chunk);
      res.write(chunk);
      setTimeout(next, 50);
    };
    next();
  };
}

const site = useSite({
  routes: {
    '/xhtml': (req, res) => {
      res.writeHead(200, { 'content-type': 'application/xhtml+xml; charset=utf-8' });
      res.end(XHTML);
    },
    '/untyped': slowly({}, UNTYPED),
    '/untyped-image': slowly({}, [IMAGE.subarray(0, 1000), IMAGE.subarray(1000)]),
    '/plain-then-html': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain, text/html' });
      res.end(PAGE);
    },
    '/two-types': (req, res) => {
      res.setHeader('content-type', ['text/plain', 'text/html;charset=utf-8']);
      res.end(PAGE);
    },
    '/html-then-plain': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html, text/plain' });
      res.end(PAGE);
    },
    '/csp-img-none': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': CSP });
      res.end(PAGE);
    },
  },
  vars: { GA4_MEASUREMENT_ID: 'G-TEST123', GTM_CONTAINER_ID: 'GTM-TEST45' },
});

/** GET `path` from the worker over HTTP, as a browser would: the head and the bytes as sent. */
async function raw(path, headers) {
  const url = new URL(path, await site.worker.mf.ready);
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { host: 'sivocenter.com', ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

/** The page as an undecided visitor gets it, without compression. */
async function undecided(path) {
  const res = await fetchIdentity(site.worker, path);
  return { res, html: await res.text() };
}

test('an XHTML page is gated and served as text/html, with its charset', async () => {
  const { res, html } = await undecided('/xhtml');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(count(html, BANNER), 1, 'the banner');
  assert.equal(count(html, LINK), 1, 'the settings link');
  assert.ok(!html.includes('gtag/js?id=G-ORIGIN'), "the origin's own tag is removed");
  assert.ok(html.startsWith('<?xml version="1.0" encoding="utf-8"?>'), 'the page is otherwise as it came');
});

test('a page without a Content-Type is sniffed from its first bytes, split across writes, and gated', async () => {
  const { res, html } = await undecided('/untyped');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html');
  assert.equal(count(html, BANNER), 1, 'the banner');
  assert.ok(!html.includes('gtag/js?id=G-ORIGIN'), "the origin's own tag is removed");
  assert.ok(html.startsWith('\n  <!DOCTYPE html><html><head>'), 'the bytes read to sniff are replayed');
  assert.equal(count(html, 'untyped '), 400, 'and the rest follows them');
});

test('a body without a Content-Type that is not HTML goes as it came, bytes untouched', async () => {
  const res = await fetchIdentity(site.worker, '/untyped-image');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), null);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), IMAGE);
});

test('Content-Type: text/plain, text/html is HTML to the browser (the last type wins): gated', async () => {
  for (const path of ['/plain-then-html', '/two-types']) {
    const { res, html } = await undecided(path);
    assert.match(res.headers.get('content-type'), /^text\/html(; charset=utf-8)?$/, path);
    assert.equal(count(html, BANNER), 1, `${path}: the banner`);
  }
  const { res, html } = await undecided('/html-then-plain');
  assert.equal(res.headers.get('content-type'), 'text/html, text/plain', 'text/plain wins: not a page');
  assert.equal(html, PAGE, 'untouched');
});

for (const label of ['x-gzip', 'GZIP']) {
  test(`a gzip page labelled ${label}, which the runtime leaves encoded, is decoded and gated`, async () => {
    const plain = await fetchIdentity(site.worker, `/gzip?label=${label}`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('content-encoding'), null, 'sent decoded to a visitor who asks for no encoding');
    const html = await plain.text();
    assert.equal(count(html, BANNER), 1, 'the banner');
    assert.ok(html.includes('<p>Contenido</p>'), html.slice(0, 200));
    // On the wire, to a browser that accepts gzip: labelled gzip, and gzip indeed.
    const zipped = await raw(`/gzip?label=${label}`, { 'accept-encoding': 'gzip' });
    assert.equal(zipped.headers['content-encoding'], 'gzip', 'a label the browser and the runtime agree on');
    assert.equal(count(zlib.gunzipSync(zipped.body).toString(), BANNER), 1);
  });
}

test('a page labelled BR (which the runtime does not decode, and no stream can) is refused: 502', async () => {
  const res = await fetchIdentity(site.worker, '/gzip?label=BR');
  assert.equal(res.status, 502);
  assert.ok(!(await res.text()).includes('Contenido'));
});

test("a CSP with img-src 'none' stays 'none' with the tags injected, and says so once in the log", async () => {
  const cookie = signedCookie({ analytics: true, marketing: true });
  const before = site.worker.jsonLogs().length;
  for (let i = 0; i < 2; i++) {
    const res = await fetchIdentity(site.worker, '/csp-img-none', { cookie });
    const html = await res.text();
    assert.ok(html.includes('googletagmanager.com/gtag/js?id=G-TEST123'), 'the tags are injected');
    const csp = res.headers.get('content-security-policy');
    assert.match(csp, /(^|; )img-src 'none'(;|$)/, csp);
    assert.match(csp, /connect-src 'self' https:\/\/www\.googletagmanager\.com/, csp);
  }
  const noted = site.worker.jsonLogs().slice(before).filter((l) => /Content-Security-Policy/.test(l.msg ?? ''));
  assert.equal(noted.length, 1, 'once per isolate');
  assert.equal(noted[0].level, 'warn');
  assert.deepEqual(noted[0].directives, ['img-src']);
});
