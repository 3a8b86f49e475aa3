// What the visitor's browser requests from Google, before and after a decision (issue 4).
// Google's hosts are stubbed with page.route: there is no internet, and every request to
// them is counted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../support/dev-server.mjs';
import { launchBrowser, screenshot } from '../support/browser.mjs';

let server;
let browser;

// What gtag.js does that matters here: it writes first-party _ga cookies.
const GTAG_STUB = `document.cookie='_ga=GA1.1.111.222; path=/; max-age=3600';document.cookie='_ga_TEST123=GS1.1.333; path=/; max-age=3600';window.__gtagLoads=(window.__gtagLoads||0)+1;`;

before(async () => {
  const persistTo = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-gating-kv-'));
  server = await startDevServer({ port: 8793, persistTo, vars: { GA4_MEASUREMENT_ID: 'G-TEST123', GTM_CONTAINER_ID: 'GTM-TEST45' } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function visitor() {
  const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 800 } });
  const google = [];
  await context.route(/googletagmanager\.com|google-analytics\.com|doubleclick\.net/, (route) => {
    google.push(route.request().url());
    const js = route.request().url().includes('/gtag/js') ? GTAG_STUB : '';
    route.fulfill({ status: 200, contentType: 'application/javascript', body: js });
  });
  const page = await context.newPage();
  return { context, page, google };
}

const analyticsCookies = async (context) => (await context.cookies()).map((c) => c.name).filter((n) => n.startsWith('_ga'));

test('before consent the browser makes no Google request and holds no _ga cookie; after Accept, gtag.js loads once, Consent Mode in order', async () => {
  const { context, page, google } = await visitor();
  for (const p of ['/', '/pricing.html', '/contact.html']) await page.goto(server.url + p);
  assert.deepEqual(google, [], 'no request to any Google host before consent');
  assert.deepEqual(await analyticsCookies(context), []);
  // Only Consent Mode's defaults, all denied: anything that slipped through would start denied.
  const before = await page.evaluate(() => window.dataLayer.map((e) => Array.from(e)));
  assert.equal(before.length, 1, JSON.stringify(before));
  assert.equal(before[0][0], 'consent');
  assert.equal(before[0][1], 'default');
  assert.ok(Object.values(before[0][2]).every((v) => v === 'denied'), JSON.stringify(before[0][2]));

  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Accept all', exact: true }).click()]);
  await page.waitForFunction(() => window.__gtagLoads === 1);
  const gtag = google.filter((u) => u.includes('/gtag/js'));
  assert.deepEqual(gtag, ['https://www.googletagmanager.com/gtag/js?id=G-TEST123'], 'gtag.js once, with our id');
  assert.equal(google.filter((u) => u.includes('/gtm.js?id=GTM-TEST45')).length, 1, 'GTM once');
  const consentCalls = await page.evaluate(() => window.dataLayer.filter((e) => e[0] === 'consent').map((e) => [e[1], e[2]]));
  assert.equal(consentCalls[0][0], 'default');
  assert.equal(consentCalls[0][1].analytics_storage, 'denied');
  assert.equal(consentCalls[1][0], 'update');
  assert.equal(consentCalls[1][1].analytics_storage, 'granted');
  assert.equal(consentCalls[1][1].ad_user_data, 'granted');
  assert.deepEqual((await analyticsCookies(context)).sort(), ['_ga', '_ga_TEST123']);
  await screenshot(page, 'gating-after-accept');
  await context.close();
});

test('after withdrawal the _ga cookies are gone and no further Google request is made', async () => {
  const { context, page, google } = await visitor();
  await page.goto(server.url + '/');
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Accept all', exact: true }).click()]);
  await page.waitForFunction(() => window.__gtagLoads === 1);
  assert.deepEqual((await analyticsCookies(context)).sort(), ['_ga', '_ga_TEST123']);

  // Withdraw as the preferences page does: a same-origin form post of reject_all.
  await Promise.all([
    page.waitForResponse((r) => r.url() === server.url + '/_consent' && r.status() === 303),
    page.evaluate(() => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = '/_consent';
      for (const [k, v] of [['action', 'reject_all'], ['via', 'preferences'], ['return_to', '/pricing.html']]) {
        const i = document.createElement('input');
        i.type = 'hidden';
        i.name = k;
        i.value = v;
        f.appendChild(i);
      }
      document.body.appendChild(f);
      f.submit();
    }),
  ]);
  await page.waitForLoadState('load');
  assert.deepEqual(await analyticsCookies(context), [], 'the browser forgot the _ga cookies');
  const before = google.length;
  await page.goto(server.url + '/');
  await page.goto(server.url + '/pricing.html');
  assert.equal(google.length, before, 'no Google request after withdrawal');
  assert.equal(await page.locator('[data-consent-banner]').count(), 0, 'and no banner: the refusal is remembered');
  await context.close();
});

test('Reject on the banner: no Google request ever', async () => {
  const { context, page, google } = await visitor();
  await page.goto(server.url + '/');
  await page.getByRole('button', { name: 'Reject all', exact: true }).click();
  await page.locator('[data-consent-banner]').waitFor({ state: 'detached' });
  await page.goto(server.url + '/pricing.html');
  assert.deepEqual(google, []);
  assert.deepEqual(await analyticsCookies(context), []);
  await context.close();
});
