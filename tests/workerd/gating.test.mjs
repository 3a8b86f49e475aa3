// Analytics gating in workerd against a loopback origin whose pages carry their own Google
// tags, cookies, Link headers and CSP: what is stripped, injected, extended and expired in each
// consent state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, fixtureRoute } from '../support/origin.mjs';
import { readFixture } from '../support/fixtures.mjs';
import { startWorker } from '../support/worker.mjs';
import { signedCookie, postForm } from '../support/consent.mjs';
import { fetchIdentity } from '../support/site.mjs';
import { COOKIE_NAME } from '../../scripts/lib/consent-cookie.mjs';

const GOOGLE = /googletagmanager\.com|google-analytics\.com|doubleclick\.net/i;
// The pages are the golden rewrite fixtures' (tests/fixtures/rewrite/<name>/).
const CSP = readFixture('bare').headers['content-security-policy'];

let origin;
let worker;

before(async () => {
  origin = await startOrigin({
    '/tagged': fixtureRoute('tagged'),
    '/bare': fixtureRoute('bare'),
    '/bare-no-csp': fixtureRoute('bare-no-csp'),
    '/pixel.gif': (req, res) => {
      res.writeHead(200, { 'content-type': 'image/gif', 'set-cookie': ['_gid=GA1.1.2; Path=/', 'keep_me=1; Path=/'] });
      res.end(Buffer.from('GIF89a'));
    },
    '/no-body': fixtureRoute('no-body'),
    '/unclosed': fixtureRoute('unclosed'),
    // A 5 MB page written block by block (with back-pressure), an ads pixel at its very end.
    '/huge': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      const block = `<section><h2>Block</h2><p>${'Texto de relleno '.repeat(200)}</p></section>`;
      let sent = 0;
      res.write('<!doctype html><html><head><title>Huge</title></head><body>');
      const pump = () => {
        while (sent < 5 * 1024 * 1024) {
          sent += block.length;
          if (!res.write(block)) return res.once('drain', pump);
        }
        res.end('<img src="https://ad.doubleclick.net/p.gif"><p>THE END</p></body></html>');
      };
      pump();
    },
    // An inline tag split across two network writes: the host name straddles the chunks.
    '/split': fixtureRoute('split'),
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
  });
  worker = await startWorker({ origin: origin.url, vars: { GA4_MEASUREMENT_ID: 'G-TEST123', GTM_CONTAINER_ID: 'GTM-TEST45' } });
});
after(async () => {
  await worker?.close();
  await origin?.close();
});

const as = (choices) => (choices === undefined ? {} : { cookie: signedCookie(choices) });
async function get(path, headers = {}) {
  const res = await fetchIdentity(worker, path, headers);
  return { res, html: await res.text() };
}
const setCookieNames = (res) => res.headers.getSetCookie().map((c) => c.split('=')[0]);

for (const [label, headers] of [['no decision', as()], ['a refusal', as({ analytics: false, marketing: false })], ['a forged cookie', { cookie: `${COOKIE_NAME}=forged.value` }]]) {
  test(`with ${label}, no Google reference and no analytics cookie reaches the browser`, async () => {
    const { res, html } = await get('/tagged', headers);
    assert.equal(res.status, 200);
    assert.doesNotMatch(html, GOOGLE, html);
    assert.match(html, /<h1>Page with its own tags<\/h1>/);
    assert.match(html, /<p>End of page<\/p>/, 'the page keeps its end');
    assert.match(html, /the origin's own harmless script/, 'other inline scripts stay');
    assert.deepEqual(setCookieNames(res).filter((n) => n !== COOKIE_NAME), ['origin_session']);
    assert.doesNotMatch(res.headers.get('content-security-policy'), /google/);
  });
}

test('before any decision the banner carries the response nonce, which the CSP allows', async () => {
  const { res, html } = await get('/tagged');
  const nonce = /<script nonce="([^"]+)">/.exec(html)?.[1];
  assert.ok(nonce, 'the banner script has a nonce');
  assert.match(html, new RegExp(`<style nonce="${nonce.replace(/[+/=]/g, '\\$&')}">`));
  const csp = res.headers.get('content-security-policy');
  assert.ok(csp.includes(`script-src 'self' 'nonce-${nonce}'`), csp);
  assert.ok(csp.includes(`style-src 'self' 'nonce-${nonce}'`), csp);
  const again = /<script nonce="([^"]+)">/.exec((await get('/tagged')).html)[1];
  assert.notEqual(again, nonce, 'a new nonce per response');
  const seen = new Set([nonce, again]);
  for (let i = 0; i < 40; i++) {
    const n = /<script nonce="([^"]+)">/.exec((await get('/tagged')).html)[1];
    assert.ok(!seen.has(n), `nonce ${n} repeated after ${seen.size} responses`);
    seen.add(n);
  }
});

test('analytics consent: Consent Mode default, then update, then GA4 and GTM, all with the nonce', async () => {
  const { res, html } = await get('/bare', as({ analytics: true, marketing: false }));
  const head = html.slice(html.indexOf('<head>'), html.indexOf('</head>'));
  assert.ok(head.startsWith('<head><script nonce='), 'Consent Mode is the first thing in <head>');
  const iDefault = head.indexOf("gtag('consent','default'");
  const iUpdate = head.indexOf("gtag('consent','update'");
  const iGa4 = head.indexOf('googletagmanager.com/gtag/js?id=G-TEST123');
  const iGtm = head.indexOf('googletagmanager.com/gtm.js?id=GTM-TEST45');
  assert.ok(iDefault >= 0 && iDefault < iUpdate && iUpdate < iGa4 && iGa4 < iGtm, JSON.stringify({ iDefault, iUpdate, iGa4, iGtm }));
  assert.match(head, /analytics_storage:'granted',ad_storage:'denied',ad_user_data:'denied',ad_personalization:'denied'/);
  assert.match(html, /<body><noscript><iframe src="https:\/\/www\.googletagmanager\.com\/ns\.html\?id=GTM-TEST45"/, 'GTM noscript right after <body>');
  const nonce = /<script nonce="([^"]+)">/.exec(html)[1];
  assert.equal(html.split(`nonce="${nonce}"`).length - 1, 5, 'consent mode, gtag.js, gtag config, GTM, the settings link\'s style');
  const csp = res.headers.get('content-security-policy');
  assert.ok(csp.includes(`'nonce-${nonce}' https://www.googletagmanager.com`), csp);
  assert.ok(csp.includes('connect-src') && csp.includes('https://*.google-analytics.com'), csp);
  assert.ok(!html.includes('data-consent-banner'));
});

test('analytics only: the origin keeps GA but loses ads pixels and _gcl cookies', async () => {
  const { res, html } = await get('/tagged', as({ analytics: true, marketing: false }));
  assert.doesNotMatch(html, /doubleclick/);
  assert.match(html, /gtag\/js\?id=G-ORIGIN1/);
  assert.deepEqual(setCookieNames(res).sort(), ['_ga', 'origin_session']);
});

test('an origin with its own snippet does not get a second copy', async () => {
  const { html } = await get('/tagged', as({ analytics: true, marketing: true }));
  assert.equal(html.split('googletagmanager.com/gtag/js').length - 1, 1, 'one gtag.js');
  assert.equal(html.split('googletagmanager.com/gtm.js').length - 1, 1, 'one gtm.js');
  assert.ok(!html.includes('G-TEST123') && !html.includes('GTM-TEST45'));
  assert.ok(html.indexOf("gtag('consent','default'") < html.indexOf('G-ORIGIN1'), 'but Consent Mode still runs first');
});

test('marketing only: GTM loads, GA4 does not, and the origin loses its GA4 tag', async () => {
  const { html } = await get('/tagged', as({ analytics: false, marketing: true }));
  assert.doesNotMatch(html, /gtag\/js|google-analytics/);
  assert.match(html, /'GTM-ORIGIN'/, "the origin's GTM snippet stays");
  const bareHtml = (await get('/bare', as({ analytics: false, marketing: true }))).html;
  assert.match(bareHtml, /gtm\.js\?id=GTM-TEST45/);
  assert.doesNotMatch(bareHtml, /G-TEST123/);
  assert.match(bareHtml, /ad_storage:'granted',ad_user_data:'granted',ad_personalization:'granted'/);
});

test('nothing configured: consent injects nothing and leaves the CSP alone', async () => {
  const plain = await startWorker({ origin: origin.url });
  try {
    const res = await plain.fetch('/bare', { headers: as({ analytics: true, marketing: true }) });
    const html = await res.text();
    assert.doesNotMatch(html, /<script/);
    assert.equal(res.headers.get('content-security-policy'), CSP);
  } finally {
    await plain.close();
  }
});

test('only GA4 configured, or only GTM: consent loads just that one', async () => {
  for (const [vars, wanted, unwanted] of [
    [{ GA4_MEASUREMENT_ID: 'G-ONLY1' }, /gtag\/js\?id=G-ONLY1/, /gtm\.js|ns\.html/],
    [{ GTM_CONTAINER_ID: 'GTM-ONLY2' }, /gtm\.js\?id=GTM-ONLY2[\s\S]*<body><noscript><iframe src="https:\/\/www\.googletagmanager\.com\/ns\.html\?id=GTM-ONLY2"/, /gtag\/js/],
  ]) {
    const one = await startWorker({ origin: origin.url, vars });
    try {
      const html = await (await one.fetch('/bare', { headers: as({ analytics: true, marketing: true }) })).text();
      assert.match(html, wanted);
      assert.doesNotMatch(html, unwanted);
      assert.ok(html.indexOf("gtag('consent','default'") < html.search(wanted), 'Consent Mode first');
    } finally {
      await one.close();
    }
  }
});

test('a page without a CSP gets none invented', async () => {
  const { res } = await get('/bare-no-csp', as({ analytics: true, marketing: true }));
  assert.equal(res.headers.get('content-security-policy'), null);
});

test('an inline tag split across network chunks is still removed', async () => {
  const { html } = await get('/split');
  assert.doesNotMatch(html, GOOGLE, html);
  assert.match(html, /<p>split<\/p>/);
});

test('malformed HTML keeps its end and still gets the banner and the link', async () => {
  for (const p of ['/no-body', '/unclosed']) {
    const { html } = await get(p);
    assert.equal(html.split('data-consent-banner').length - 1, 1, `${p}: one banner`);
    assert.equal(html.split('data-consent-settings').length - 1, 1, `${p}: one link`);
    assert.doesNotMatch(html, GOOGLE, p);
  }
  // No <head>, no <body>: the stylesheets, then the banner, at the end; <head> but no </body>:
  // the stylesheets in <head>, the banner first in <body>, the link at the end.
  assert.match((await get('/no-body')).html, /<p>Just a paragraph<style nonce="[^"]+">#sivo-cb\{[^<]*<\/style><style nonce="[^"]+">#sivo-settings\{[^<]*<\/style><section id="sivo-cb"/);
  assert.match((await get('/unclosed')).html, /<head>[^]*<style nonce="[^"]+">#sivo-cb\{[^<]*<\/style>[^]*<\/head><body><section id="sivo-cb"[\s\S]*<b>bold text<a href="\/_consent\/preferences"/);
});

test('a 5 MB page streams through whole, rewritten to its end', async () => {
  const { res, html } = await get('/huge');
  assert.equal(res.status, 200);
  assert.ok(html.length > 5 * 1024 * 1024, `${html.length} bytes`);
  assert.equal(html.split('data-consent-banner').length - 1, 1);
  assert.doesNotMatch(html.slice(-2000), /doubleclick/, 'the pixel at the very end is removed');
  assert.match(html, /<p>THE END<\/p><a href="\/_consent\/preferences"[^>]*>[^<]*<\/a><\/body><\/html>$/);
});

test('analytics cookies are not forwarded to the origin without consent', async () => {
  const cookie = '_ga=GA1.1.1; _gcl_au=1.1; origin_session=abc';
  const seen = await (await worker.fetch('/echo', { headers: { cookie } })).json();
  assert.equal(seen.headers.cookie, 'origin_session=abc');
  const granted = await (await worker.fetch('/echo', { headers: { cookie: `${cookie}; ${signedCookie({ analytics: true, marketing: false })}` } })).json();
  assert.match(granted.headers.cookie, /_ga=GA1\.1\.1/);
  assert.doesNotMatch(granted.headers.cookie, /_gcl_au/);
});

test('non-HTML responses lose analytics Set-Cookie too', async () => {
  const res = await worker.fetch('/pixel.gif');
  assert.deepEqual(setCookieNames(res), ['keep_me']);
  assert.equal(Buffer.from(await res.arrayBuffer()).toString(), 'GIF89a');
});

test('refusing expires every analytics cookie the browser holds, on every domain variant', async () => {
  const res = await worker.fetch('https://www.sivocenter.com/_consent', {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'sec-fetch-site': 'same-origin',
      cookie: '_ga=GA1.1.1; _ga_TEST123=GS1; _gid=GA1.2; _gat_gtag=1; _gcl_au=1.1; origin_session=abc',
    },
    body: 'action=reject_all&return_to=%2F',
  });
  assert.equal(res.status, 303);
  const expired = res.headers.getSetCookie().filter((c) => !c.startsWith(`${COOKIE_NAME}=`));
  for (const name of ['_ga', '_ga_TEST123', '_gid', '_gat_gtag', '_gcl_au']) {
    const mine = expired.filter((c) => c.startsWith(`${name}=;`));
    assert.equal(mine.length, 3, `${name}: ${mine.join(' | ')}`);
    assert.ok(mine.every((c) => /Max-Age=0/.test(c) && /Path=\//.test(c)));
    assert.ok(mine.some((c) => !/Domain=/.test(c)), 'host-only');
    assert.ok(mine.some((c) => /Domain=www\.sivocenter\.com/.test(c)));
    assert.ok(mine.some((c) => /Domain=sivocenter\.com/.test(c)), 'the registrable domain (.sivocenter.com)');
  }
  assert.ok(!expired.some((c) => c.startsWith('origin_session=')), "the origin's own cookies are left alone");
});

test('accepting analytics but not marketing expires only the ads cookies', async () => {
  const res = await postForm(worker, { action: 'save', analytics: 'on' }, { cookie: '_ga=GA1.1.1; _gcl_au=1.1' });
  const names = setCookieNames(res);
  assert.ok(names.includes('_gcl_au') && !names.includes('_ga'), names.join());
});

test('Link headers to Google hosts are dropped without consent, on pages and on images', async () => {
  const page = await fetchIdentity(worker, '/linked');
  assert.equal(page.headers.get('link'), '</app.css>; rel=preload; as=style');
  const image = await fetchIdentity(worker, '/logo.png');
  assert.equal(image.headers.get('link'), null);
  assert.equal(Buffer.from(await image.arrayBuffer()).toString(), 'PNG');
  const granted = await fetchIdentity(worker, '/linked', { cookie: signedCookie({ analytics: true, marketing: true }) });
  assert.match(granted.headers.get('link'), /googletagmanager/, 'kept with consent');
});

test('every CSP policy is extended on its own, script-src-elem included', async () => {
  const res = await fetchIdentity(worker, '/two-csp');
  const html = await res.text();
  const nonce = /<script nonce="([^"]+)">/.exec(html)[1];
  const policies = res.headers.get('content-security-policy').split(', ');
  assert.equal(policies.length, 2, policies.join(' | '));
  assert.match(policies[0], new RegExp(`script-src 'self' 'nonce-${nonce.replace(/[+/=]/g, '\\$&')}'`));
  assert.ok(policies[1].includes(`script-src-elem 'self' https://cdn.example 'nonce-${nonce}'`), policies[1]);
});

test('Consent Mode defaults, all denied, come first in <head> on a page where nothing is granted', async () => {
  for (const cookie of [undefined, signedCookie({ analytics: false, marketing: false })]) {
    const html = await (await fetchIdentity(worker, '/page', cookie ? { cookie } : {})).text();
    assert.match(html, /<head><script nonce="[^"]+">window\.dataLayer=window\.dataLayer\|\|\[\];function gtag\(\)\{dataLayer\.push\(arguments\);\}gtag\('consent','default',\{ad_storage:'denied'/);
    assert.doesNotMatch(html, /'update'/);
  }
});

test('cookies the visitor has not allowed are expired on every response, not only on a decision', async () => {
  const cookie = `_ga=GA1.1.9; _gac_UA-1=x; FPID=y; origin_session=keep; ${signedCookie({ analytics: false, marketing: false })}`;
  for (const path of ['/page', '/image.png']) {
    const res = await fetchIdentity(worker, path, { cookie });
    const expired = res.headers.getSetCookie().filter((c) => /Max-Age=0/.test(c)).map((c) => c.split('=')[0]);
    for (const name of ['_ga', '_gac_UA-1', 'FPID']) assert.ok(expired.includes(name), `${path}: ${name} in ${expired}`);
    assert.ok(!expired.includes('origin_session'));
  }
  const clean = await fetchIdentity(worker, '/image.png', { cookie: 'origin_session=keep' });
  assert.deepEqual(clean.headers.getSetCookie(), [], 'nothing to expire, nothing added');
});
