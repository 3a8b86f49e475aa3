// Every page the worker renders is valid HTML (issue 12): the banner in each variant, a site
// page in each consent state, the settings link, the preferences page in each of its states,
// the cookie policy, the error pages and the dashboard, each in English and Spanish,
// validated with html-validate under the project's .htmlvalidate.json: the stock
// `html-validate:recommended` rules and element models (no element allowed where the HTML
// standard does not allow it; only the doctype's letter case is left free). One test per
// page, so a failure names it; its messages (rule, line:column, text) and the markup around
// each are printed, and the page is kept in test-artifacts/html-valid/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HtmlValidate } from 'html-validate';
import { startWorker, ROOT } from '../support/worker.mjs';
import { startOrigin } from '../support/origin.mjs';
import { signedCookie, postForm } from '../support/consent.mjs';
import { today } from '../support/days.mjs';

const CONFIG = JSON.parse(fs.readFileSync(path.join(ROOT, '.htmlvalidate.json'), 'utf8'));
const validator = new HtmlValidate(CONFIG);
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'html-valid');

/** The site's page: small, valid HTML5, so every message is about what the worker added. */
const ORIGIN_PAGE = [
  '<!DOCTYPE html>',
  '<html lang="en">',
  '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Pricing · SIVO</title></head>',
  '<body>',
  '<header><a href="/">SIVO</a></header>',
  '<main><h1>Pricing</h1><p>Plans for every contact centre.</p></main>',
  '<footer><p>© SIVO</p></footer>',
  '</body>',
  '</html>',
].join('\n');

const LANGS = { en: 'en-GB,en;q=0.9', es: 'es-ES,es;q=0.8,en;q=0.5' };
const STATES = {
  undecided: undefined,
  rejected: { analytics: false, marketing: false },
  analytics: { analytics: true, marketing: false },
  marketing: { analytics: false, marketing: true },
  all: { analytics: true, marketing: true },
};

let origin;
let worker;

before(async () => {
  origin = await startOrigin({
    '/valid': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(ORIGIN_PAGE);
    },
  });
  // With both tags configured, so the consented pages carry the markup of GA4 and GTM too.
  worker = await startWorker({ origin: origin.url, vars: { GA4_MEASUREMENT_ID: 'G-TEST123', GTM_CONTAINER_ID: 'GTM-TEST45' } });
});
after(async () => {
  await worker?.close();
  await origin?.close();
});

/** A few characters of `html` either side of [offset, offset + size), with a caret line. */
function snippet(html, offset, size = 1) {
  const start = Math.max(0, offset - 70);
  const end = Math.min(html.length, offset + Math.max(size, 1) + 70);
  const before = html.slice(start, offset).replace(/\s/g, ' ');
  const text = html.slice(offset, offset + Math.max(size, 1)).replace(/\s/g, ' ');
  const afterText = html.slice(offset + Math.max(size, 1), end).replace(/\s/g, ' ');
  const lead = start > 0 ? '…' : '';
  return `      ${lead}${before}${text}${afterText}${end < html.length ? '…' : ''}\n      ${' '.repeat(lead.length + before.length)}${'^'.repeat(Math.min(text.length, 60))}`;
}

/** Fails with html-validate's messages and the markup around each, unless `html` is valid. */
async function assertValid(name, html) {
  const report = await validator.validateString(html, `${name}.html`);
  if (report.valid) return;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name.replace(/[^a-z0-9-]+/gi, '-')}.html`);
  fs.writeFileSync(file, html);
  const messages = report.results.flatMap((r) => r.messages);
  const lines = messages.map((m) => `  ${m.severity === 2 ? 'error' : 'warning'} ${m.ruleId} at ${m.line}:${m.column}: ${m.message}${m.selector ? ` (${m.selector})` : ''}\n${snippet(html, m.offset, m.size)}`);
  assert.fail(`${name}: ${report.errorCount} error(s), ${report.warningCount} warning(s) (page kept in ${path.relative(ROOT, file)})\n${lines.join('\n')}`);
}

/** Fetches `url` from `w`, checks it is an HTML page with `status`, and returns its text. */
async function page(w, url, { status = 200, headers = {}, init = {} } = {}) {
  const res = await w.fetch(url, { redirect: 'manual', ...init, headers: { accept: 'text/html', ...headers, ...init.headers } });
  const html = await res.text();
  assert.equal(res.status, status, `${url}: status (body: ${html.slice(0, 200)})`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/, `${url}: an HTML page`);
  return html;
}

const BANNER = /<[a-z]+[^>]*\bdata-consent-banner\b/;
const SETTINGS_LINK = /<a\b[^>]*\bdata-consent-settings\b[^>]*>[\s\S]*?<\/a>/g;
const cookieFor = (choices, extra = {}) => signedCookie({ ...choices, ...extra });

test('the origin page itself is valid (every message below is about the worker)', async () => {
  await assertValid('origin page', ORIGIN_PAGE);
});

for (const lang of Object.keys(LANGS)) {
  for (const gpc of [false, true]) {
    test(`banner, ${lang}${gpc ? ', with Sec-GPC: 1' : ''}`, async () => {
      const headers = { 'accept-language': LANGS[lang], ...(gpc ? { 'sec-gpc': '1' } : {}) };
      const html = await page(worker, '/valid', { headers });
      assert.match(html, BANNER, 'the banner is there');
      assert.match(html, new RegExp(`data-consent-banner[^>]*\\blang="${lang}"|lang="${lang}"[^>]*data-consent-banner`), `the banner is in ${lang}`);
      await assertValid(`banner-${lang}${gpc ? '-gpc' : ''}`, html);
    });
  }
}

for (const lang of Object.keys(LANGS)) {
  for (const [state, choices] of Object.entries(STATES)) {
    test(`a site page, ${state}, ${lang}`, async () => {
      const headers = { 'accept-language': LANGS[lang], ...(choices ? { cookie: cookieFor(choices) } : {}) };
      const html = await page(worker, '/valid', { headers });
      assert.equal(BANNER.test(html), state === 'undecided', 'the banner only while undecided');
      assert.equal(html.match(SETTINGS_LINK)?.length, 1, 'one settings link');
      await assertValid(`page-${state}-${lang}`, html);
    });
  }
}

for (const lang of Object.keys(LANGS)) {
  test(`the settings link on its own, ${lang}`, async () => {
    const html = await page(worker, '/valid', { headers: { 'accept-language': LANGS[lang], cookie: cookieFor(STATES.rejected) } });
    const links = html.match(SETTINGS_LINK) ?? [];
    assert.equal(links.length, 1, 'one settings link');
    assert.match(links[0], new RegExp(`\\blang="${lang}"`), `the link is in ${lang}`);
    const doc = `<!DOCTYPE html><html lang="${lang}"><head><meta charset="utf-8"><title>Link</title></head><body><main><p>Page</p></main>${links[0]}</body></html>`;
    await assertValid(`settings-link-${lang}`, doc);
  });
}

const PREFERENCES = {
  undecided: { url: '/_consent/preferences' },
  decided: { url: '/_consent/preferences', cookie: cookieFor(STATES.analytics) },
  'decided, ?saved': { url: '/_consent/preferences?saved', cookie: cookieFor(STATES.analytics) },
  '?erased': { url: '/_consent/preferences?erased' },
  'decided, with Sec-GPC: 1': { url: '/_consent/preferences', cookie: cookieFor(STATES.analytics), gpc: true },
  'a lapsed decision (policy 0)': { url: '/_consent/preferences', cookie: cookieFor(STATES.all, { policy: '0' }) },
};

for (const lang of Object.keys(LANGS)) {
  for (const [variant, { url, cookie, gpc }] of Object.entries(PREFERENCES)) {
    test(`preferences page, ${variant}, ${lang}`, async () => {
      const headers = { 'accept-language': LANGS[lang], ...(cookie ? { cookie } : {}), ...(gpc ? { 'sec-gpc': '1' } : {}) };
      const html = await page(worker, url, { headers });
      assert.match(html, new RegExp(`<html[^>]*\\blang="${lang}"`), `the page is in ${lang}`);
      await assertValid(`preferences-${variant.replace(/[^a-z0-9]+/gi, '-')}-${lang}`, html);
    });
  }
}

for (const lang of Object.keys(LANGS)) {
  test(`cookie policy, ${lang}`, async () => {
    const html = await page(worker, '/_consent/cookies', { headers: { 'accept-language': LANGS[lang] } });
    assert.match(html, new RegExp(`<html[^>]*\\blang="${lang}"`), `the page is in ${lang}`);
    assert.match(html, /<table\b/, 'the inventory table');
    await assertValid(`cookies-${lang}`, html);
  });
}

for (const lang of Object.keys(LANGS)) {
  test(`error page: not found under /_consent (404), ${lang}`, async () => {
    const html = await page(worker, '/_consent/nope', { status: 404, headers: { 'accept-language': LANGS[lang] } });
    assert.match(html, new RegExp(`<html[^>]*\\blang="${lang}"`), `the page is in ${lang}`);
    await assertValid(`error-404-${lang}`, html);
  });

  test(`error page: a method the route does not take (405), ${lang}`, async () => {
    const html = await page(worker, '/_consent/cookies', { status: 405, headers: { 'accept-language': LANGS[lang] }, init: { method: 'DELETE' } });
    assert.match(html, new RegExp(`<html[^>]*\\blang="${lang}"`), `the page is in ${lang}`);
    await assertValid(`error-405-${lang}`, html);
  });

  test(`error page: the origin unreachable (502), ${lang}`, async () => {
    const down = await startWorker({ origin: 'http://127.0.0.1:9' });
    try {
      const html = await page(down, '/valid', { status: 502, headers: { 'accept-language': LANGS[lang] } });
      assert.match(html, new RegExp(`<html[^>]*\\blang="${lang}"`), `the page is in ${lang}`);
      await assertValid(`error-502-${lang}`, html);
    } finally {
      await down.close();
    }
  });

  test(`error page: a consent not saved, KV down (503), ${lang}`, async () => {
    const noKv = await startWorker({ origin: origin.url, kv: false });
    try {
      const res = await postForm(noKv, { action: 'accept_all', return_to: '/valid' }, { accept: 'text/html', 'accept-language': LANGS[lang] });
      const html = await res.text();
      assert.equal(res.status, 503, `status (body: ${html.slice(0, 200)})`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(html, new RegExp(`<html[^>]*\\blang="${lang}"`), `the page is in ${lang}`);
      await assertValid(`error-503-${lang}`, html);
    } finally {
      await noKv.close();
    }
  });
}

// The dashboard, with data in every chart and table, in both languages: the demo origin opens
// it to the development identity (Access not configured) on a loopback host.
test('the dashboard, with data, in English and Spanish', async () => {
  const demo = await startWorker({ origin: undefined, vars: { STATS_FLUSH_SECONDS: '0' } });
  try {
    const day = today();
    await demo.db().batch([
      demo.db().prepare("INSERT INTO page_views VALUES (?1, 'all', 'ES', 'es', 'mobile', 41), (?1, 'undecided', 'FR', 'en', 'desktop', 59)").bind(day),
      demo.db().prepare("INSERT INTO decisions VALUES (?1, 'accept_all', 1, 1, 0, 'ES', 'es', 'mobile', 30), (?1, 'reject_all', 0, 0, 1, 'FR', 'en', 'desktop', 11)").bind(day),
    ]);
    for (const lang of Object.keys(LANGS)) {
      const html = await page(demo, 'http://127.0.0.1:8787/_consent/admin', { headers: { 'accept-language': LANGS[lang] } });
      assert.match(html, /<svg/, 'with its charts');
      await assertValid(`dashboard-${lang}`, html);
    }
  } finally {
    await demo.close();
  }
});

// The privacy team's pages (the look-up form, a visitor's records, the audit log), in both
// languages, as the development identity (an admin) sees them on the demo origin.
test('the privacy pages: the look-up form, the records and the audit log, in English and Spanish', async () => {
  const demo = await startWorker({ origin: undefined });
  try {
    const cookie = (await postForm(demo, { action: 'accept_all' })).headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const { id } = await (await demo.fetch('/_consent/state', { headers: { cookie } })).json();
    assert.match(id, /^[0-9a-f]{32}$/);
    const own = { 'sec-fetch-site': 'same-origin' };
    for (const lang of Object.keys(LANGS)) {
      const headers = { 'accept-language': LANGS[lang], ...own };
      const admin = 'http://127.0.0.1:8787/_consent/admin';
      const form = await page(demo, `${admin}/records`, { headers });
      assert.match(form, /<form[^>]*method="post"/);
      await assertValid(`privacy-lookup-${lang}`, form);
      const records = await page(demo, `${admin}/records/${id}`, { headers });
      assert.match(records, /accept_all/, 'with its record');
      await assertValid(`privacy-records-${lang}`, records);
      const audit = await page(demo, `${admin}/audit?limit=2`, { headers });
      assert.match(audit, /<table/, 'with its entries');
      await assertValid(`privacy-audit-${lang}`, audit);
    }
  } finally {
    await demo.close();
  }
});
