// The privacy team's pages in Chromium against wrangler dev on the demo site (README, "For the
// privacy team"), as the development identity (an admin; Access unset, demo origin): the
// look-up form filled and sent, the records page, its download (the visitor's own file), the
// audit log, each at 1280×800 and 390×844 in English and Spanish, axe at 0 violations (WCAG
// 2.2 AA), no sideways scroll on a phone, screenshots kept in test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startDevServer } from '../support/dev-server.mjs';
import { launchBrowser, screenshot } from '../support/browser.mjs';
import { consentCookie } from '../support/consent.mjs';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const PORT = 8799;
const LOCALES = { en: 'en-GB', es: 'es-ES' };
const VIEWPORTS = { 1280: { width: 1280, height: 800 }, 390: { width: 390, height: 844 } };
const TITLES = {
  en: { lookup: 'Look up a visitor\'s records', records: 'Consent records', audit: 'Audit log', verified: /^Chain verified/ },
  es: { lookup: 'Consultar los registros de un visitante', records: 'Registros de consentimiento', audit: 'Registro de auditoría', verified: /^Cadena verificada/ },
};

let server;
let browser;
let cookie;
let id;
let visitorsDownload;

before(async () => {
  const persistTo = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-privacy-'));
  server = await startDevServer({ port: PORT, persistTo });
  // A visitor accepts, then changes their mind: two records under one consent id.
  const post = (body, extra = {}) => fetch(`${server.url}/_consent`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', origin: server.url, ...extra },
    body,
  });
  const first = await post('action=accept_all');
  assert.equal(first.status, 303, await first.text());
  cookie = consentCookie(first);
  assert.ok(cookie, 'a consent cookie');
  assert.equal((await post('action=save&analytics=on', { cookie })).status, 303);
  ({ id } = await (await fetch(`${server.url}/_consent/state`, { headers: { cookie } })).json());
  assert.match(id, /^[0-9a-f]{32}$/);
  visitorsDownload = await (await fetch(`${server.url}/_consent/records`, { headers: { cookie } })).text();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Axe (WCAG 2.x A/AA) on the page: no violation. */
async function assertAxe(page, what) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] }));
  assert.deepEqual(result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`), [], `axe: ${what}`);
}

/** No horizontal scroll of the whole page. */
async function assertNoSidewaysScroll(page, what) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth }));
  assert.ok(scrollWidth <= innerWidth, `${what}: scrollWidth ${scrollWidth} > ${innerWidth}`);
}

for (const lang of Object.keys(LOCALES)) {
  for (const [width, viewport] of Object.entries(VIEWPORTS)) {
    test(`the privacy pages at ${width}, ${lang}: the form sent, the records, their download, the audit log; axe, no sideways scroll, screenshots`, async () => {
      // bypassCSP only so that axe can be injected into the script-less pages.
      const context = await browser.newContext({ locale: LOCALES[lang], viewport, deviceScaleFactor: 1, bypassCSP: true, acceptDownloads: true });
      const page = await context.newPage();
      const problems = [];
      page.on('pageerror', (e) => problems.push(String(e)));
      page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`); });
      try {
        const t = TITLES[lang];
        const form = await page.goto(`${server.url}/_consent/admin/records`);
        assert.equal(form.status(), 200);
        assert.equal(await page.locator('h1').textContent(), t.lookup);
        await screenshot(page, `privacy-lookup-${width}-${lang}`, { fullPage: true });
        await assertAxe(page, `look-up form ${width} ${lang}`);

        // The admin pastes the id the visitor quoted and sends the form.
        await page.getByLabel(lang === 'en' ? /Consent id/ : /Id de consentimiento/).fill(id);
        await Promise.all([page.waitForURL(`${server.url}/_consent/admin/records`), page.locator('main form button[type=submit]').click()]);
        assert.equal(await page.locator('h1').textContent(), t.records);
        assert.equal(await page.locator('main section.card').count(), 2, 'both records');
        const text = await page.locator('main').textContent();
        assert.ok(text.includes(id) && text.includes('accept_all') && text.includes('save'), 'the records of that id');
        await assertNoSidewaysScroll(page, `records ${width} ${lang}`);
        await screenshot(page, `privacy-records-${width}-${lang}`, { fullPage: true });
        await assertAxe(page, `records ${width} ${lang}`);

        // The download: the visitor's own file, name and bytes.
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`a[href$="?download"]`).click()]);
        assert.equal(download.suggestedFilename(), `sivo-consent-${id}.json`);
        assert.equal(fs.readFileSync(await download.path(), 'utf8'), visitorsDownload);

        await page.locator('nav a[href="/_consent/admin/audit"]').first().click();
        await page.waitForURL(`${server.url}/_consent/admin/audit`);
        assert.equal(await page.locator('h1').textContent(), t.audit);
        assert.match((await page.locator('main .card strong').first().textContent()).trim(), t.verified);
        assert.ok(await page.locator('main table tbody tr').count() >= 2, 'the entries');
        assert.ok((await page.locator('main table').textContent()).includes('records_lookup'), 'the look-ups are in it');
        await assertNoSidewaysScroll(page, `audit ${width} ${lang}`);
        await screenshot(page, `privacy-audit-${width}-${lang}`, { fullPage: true });
        await assertAxe(page, `audit ${width} ${lang}`);
        assert.deepEqual(problems, [], 'no errors');
      } finally {
        await context.close();
      }
    });
  }
}
