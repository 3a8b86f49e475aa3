// The privacy team's pages in workerd with real local KV and D1 (README, "For the privacy
// team"): the record look-up and the audit log as pages in English and Spanish for a browser
// (Accept: text/html) and as the same JSON as before for anything else; the look-up form and
// its POST; the records downloadable as exactly the visitor's own download; every look-up
// audited; every value escaped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from '../support/origin.mjs';
import { startWorker } from '../support/worker.mjs';
import { consentCookie, postForm } from '../support/consent.mjs';
import { accessToken, startCertsServer, TEST_AUD } from '../support/access-tokens.mjs';

const ADMIN = 'ana@sivocenter.com';
const VIEWER = 'luis@sivocenter.com';
const RECORDS = '/_consent/admin/records';
const AUDIT = '/_consent/admin/audit';

let origin;
let certs;
let worker;
let cookie;
let id;

before(async () => {
  origin = await startOrigin();
  certs = await startCertsServer();
  worker = await startWorker({
    origin: origin.url,
    vars: { ACCESS_TEAM_DOMAIN: certs.url, ACCESS_AUD: TEST_AUD, DASHBOARD_ADMINS: ADMIN, DASHBOARD_VIEWERS: '@sivocenter.com' },
  });
  cookie = consentCookie(await postForm(worker, { action: 'accept_all' }));
  assert.equal((await postForm(worker, { action: 'save', analytics: 'on' }, { cookie })).status, 303);
  ({ id } = await (await worker.fetch('/_consent/state', { headers: { cookie } })).json());
  assert.match(id, /^[0-9a-f]{32}$/);
});
after(async () => {
  await worker?.close();
  await certs?.close();
  await origin?.close();
});

const tokenFor = (email) => accessToken({ teamDomain: certs.url, email });

/** A request as the admin's browser on the site's own pages would send it. */
function ask(path, { accept = 'text/html', lang = 'en', email = ADMIN, method = 'GET', headers = {}, body } = {}) {
  return worker.fetch(path, {
    method,
    body,
    headers: {
      accept,
      'accept-language': lang,
      'sec-fetch-site': 'same-origin',
      'cf-access-jwt-assertion': tokenFor(email),
      ...headers,
    },
  });
}

const lookups = async () =>
  (await worker.db().prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'records_lookup'").first()).n;

test('the records: a page for a browser in its language, the same JSON as before for anything else', async () => {
  const json = await ask(`${RECORDS}/${id}`, { accept: 'application/json' });
  assert.match(json.headers.get('content-type'), /^application\/json/);
  const jsonText = await json.text();
  const noAccept = await ask(`${RECORDS}/${id}`, { accept: '*/*' });
  assert.equal(await noAccept.text(), jsonText, 'byte for byte the same JSON without text/html');
  const records = JSON.parse(jsonText).records;
  assert.equal(records.length, 2);
  for (const [lang, title, download] of [['en', 'Consent records', 'Download the records (JSON)'], ['es', 'Registros de consentimiento', 'Descargar los registros (JSON)']]) {
    const res = await ask(`${RECORDS}/${id}`, { lang });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'none'|default-src 'none'/, 'the strict CSP');
    const html = await res.text();
    assert.match(html, new RegExp(`<html lang="${lang}"`));
    assert.ok(html.includes(`<h1>${title}</h1>`), `${lang}: the title`);
    assert.ok(html.includes(download), `${lang}: the download`);
    assert.ok(html.includes(`href="${RECORDS}/${id}?download"`), 'the download link');
    for (const r of records) {
      assert.ok(html.includes(r.method), `${lang}: ${r.method}`);
      assert.ok(html.includes(r.banner_sha256 ?? r.method), `${lang}: the banner hash`);
    }
    assert.ok(html.includes(`href="${AUDIT}"`) && html.includes('href="/_consent/admin"'), 'links to the audit log and the dashboard');
    assert.doesNotMatch(html, /<script/);
  }
});

test('the look-up form: a page for admins only, its POST answers the records page, a bad id a 400 page, another site’s POST nothing', async () => {
  const form = await ask(RECORDS, { lang: 'es' });
  assert.equal(form.status, 200);
  const html = await form.text();
  assert.match(html, /<html lang="es"/);
  assert.match(html, new RegExp(`<form class="card" method="post" action="${RECORDS}">`));
  assert.match(html, /name="consent_id"/);
  assert.equal((await ask(RECORDS, { email: VIEWER, accept: 'application/json' })).status, 403, 'not for a viewer');

  const before = await lookups();
  const post = (body, headers = {}) => ask(RECORDS, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://sivocenter.com', ...headers },
  });
  const answered = await post(`consent_id=${id}`);
  assert.equal(answered.status, 200);
  const page = await answered.text();
  assert.ok(page.includes(id) && page.includes('accept_all'), 'the records page of that id');
  assert.equal(await lookups(), before + 1, 'audited');
  const asJson = await post(`consent_id=${id}`, { accept: 'application/json' });
  assert.deepEqual((await asJson.json()).records.length, 2, 'JSON for a program');

  const bad = await post('consent_id=not-an-id');
  assert.equal(bad.status, 400);
  assert.match(bad.headers.get('content-type'), /^text\/html/, 'a page for a browser');
  assert.match(await bad.text(), /<html/);
  const crossSite = await post(`consent_id=${id}`, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
  assert.equal(crossSite.status, 403);
  assert.equal(await lookups(), before + 2, 'only the two answered look-ups audited');
});

test('the download is exactly the visitor’s own download: body and file name', async () => {
  const visitors = await worker.fetch('/_consent/records', { headers: { cookie } });
  assert.equal(visitors.status, 200);
  const before = await lookups();
  const admins = await ask(`${RECORDS}/${id}?download`);
  assert.equal(admins.status, 200);
  assert.equal(admins.headers.get('content-disposition'), visitors.headers.get('content-disposition'));
  assert.equal(admins.headers.get('content-disposition'), `attachment; filename="sivo-consent-${id}.json"`);
  assert.match(admins.headers.get('content-type'), /^application\/json/);
  assert.equal(await admins.text(), await visitors.text(), 'the same bytes');
  assert.equal(await lookups(), before + 1, 'the download is a look-up, audited');
});

test('the audit log: a page with the verdict in words, the head, the total, older entries; the JSON as before', async () => {
  const json = await ask(`${AUDIT}?limit=2`, { accept: 'application/json' });
  const body = await json.json();
  assert.equal(body.chain, 'verified');
  assert.equal(body.entries.length, 2);
  for (const [lang, verdict, older] of [['en', 'Chain verified', 'Older entries'], ['es', 'Cadena verificada', 'Entradas anteriores']]) {
    const res = await ask(`${AUDIT}?limit=2`, { lang });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    const html = await res.text();
    assert.match(html, new RegExp(`<html lang="${lang}"`));
    assert.ok(html.includes(verdict), `${lang}: the verdict`);
    assert.match(html, /<table/);
    assert.ok(html.includes('audit_read') && html.includes(ADMIN), 'the entries: this read, by whom');
    assert.match(html, new RegExp(`href="${AUDIT}\\?before=\\d+&amp;limit=2">${older}<`), `${lang}: the older entries`);
    assert.ok(html.includes(`href="${RECORDS}"`), 'links to the look-up');
  }
});

test('who and what are shown escaped, never as markup', async () => {
  const evil = '<img src=x onerror=alert(1)>@sivocenter.com';
  // A viewer asking for an admin route: refused, and audited under its e-mail.
  assert.equal((await ask(AUDIT, { email: evil, accept: 'application/json' })).status, 403);
  const html = await (await ask(`${AUDIT}?limit=5`)).text();
  assert.doesNotMatch(html, /<img src=x/);
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;@sivocenter.com'));
});

test('what a visitor sent (user agent, page) is shown on the records page escaped, never as markup', async () => {
  const agent = 'Mozilla/5.0 <script>alert(1)</script><img src=x onerror=alert(2)>';
  const res = await postForm(worker, { action: 'accept_all', return_to: '/"><svg onload=alert(3)>' }, { 'user-agent': agent });
  const hostile = consentCookie(res);
  const { id: hostileId } = await (await worker.fetch('/_consent/state', { headers: { cookie: hostile } })).json();
  const records = JSON.parse(await (await ask(`${RECORDS}/${hostileId}`, { accept: 'application/json' })).text()).records;
  assert.ok(JSON.stringify(records).includes('<script>alert(1)</script>'), 'the record keeps what was sent');
  const html = await (await ask(`${RECORDS}/${hostileId}`)).text();
  assert.doesNotMatch(html, /<script>alert|<img src=x|<svg onload/);
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;'), 'the user agent, escaped');
});
