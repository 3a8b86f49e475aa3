// The demo site through the worker under `wrangler dev`, in a real Chromium (issue 2).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDevServer } from '../support/dev-server.mjs';
import { launchBrowser, screenshot } from '../support/browser.mjs';

let server;
let browser;

before(async () => {
  server = await startDevServer({ port: 8790 });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('the demo site loads through the worker with the cookie settings link on every page', async () => {
  const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const offsite = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(server.url)) offsite.push(req.url());
  });
  for (const path of ['/', '/pricing.html', '/contact.html', '/privacy.html', '/cookies.html']) {
    const res = await page.goto(server.url + path);
    assert.equal(res.status(), 200, path);
    const link = page.locator('a[data-consent-settings]');
    assert.equal(await link.count(), 1, path);
    assert.equal(await link.getAttribute('href'), '/_consent/preferences');
    assert.ok(await link.isVisible(), `the link is visible on ${path}`);
    assert.equal(await link.innerText(), 'Cookie settings');
  }
  await page.goto(server.url + '/');
  const image = page.locator('img[src="/images/dashboard.png"]');
  await image.scrollIntoViewIfNeeded();
  assert.ok(await image.evaluate((img) => img.complete && img.naturalWidth === 1200), 'the image arrives whole');
  await screenshot(page, 'demo-home-en-1280');
  assert.deepEqual(offsite, [], 'no request leaves the site');
  await context.close();
});

test('a Spanish browser gets the link in Spanish', async () => {
  const context = await browser.newContext({ locale: 'es-ES', viewport: { width: 320, height: 640 } });
  const page = await context.newPage();
  await page.goto(server.url + '/pricing.html');
  assert.equal(await page.locator('a[data-consent-settings]').innerText(), 'Configuración de cookies');
  await screenshot(page, 'demo-pricing-es-320');
  await context.close();
});
