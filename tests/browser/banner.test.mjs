// What a visitor sees and does with the banner, in Chromium against wrangler dev (issue 3).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startDevServer } from '../support/dev-server.mjs';
import { launchBrowser, screenshot } from '../support/browser.mjs';
import { COOKIE_NAME } from '../../scripts/lib/consent-cookie.mjs';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const persistTo = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-browser-kv-'));
let server;
let browser;

before(async () => {
  server = await startDevServer({ port: 8791, persistTo });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function open(options = {}, url = '/') {
  const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 800 }, ...options });
  // Cumulative layout shift, recorded from the first paint.
  await context.addInitScript(() => {
    window.__cls = 0;
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
      }).observe({ type: 'layout-shift', buffered: true });
    } catch {}
  });
  const page = await context.newPage();
  await page.goto(server.url + url);
  return { context, page };
}

const banner = (page) => page.locator('[data-consent-banner]');

test('the banner shows in English and Spanish, at desktop and 320 px, and passes axe', async () => {
  for (const [locale, width, reject, accept] of [
    ['en-GB', 1280, 'Reject all', 'Accept all'],
    ['en-GB', 320, 'Reject all', 'Accept all'],
    ['es-ES', 1280, 'Rechazar todo', 'Aceptar todo'],
    ['es-ES', 320, 'Rechazar todo', 'Aceptar todo'],
  ]) {
    const { context, page } = await open({ locale, viewport: { width, height: 720 } }, '/pricing.html');
    assert.ok(await banner(page).isVisible(), `${locale} ${width}`);
    const r = page.getByRole('button', { name: reject, exact: true });
    const a = page.getByRole('button', { name: accept, exact: true });
    assert.ok((await r.isVisible()) && (await a.isVisible()), 'both on the first layer');
    const [rb, ab] = [await r.boundingBox(), await a.boundingBox()];
    assert.ok(Math.abs(rb.width - ab.width) < 1 && Math.abs(rb.height - ab.height) < 1, `same size: ${JSON.stringify([rb, ab])}`);
    const style = (el) => el.evaluate((e) => { const s = getComputedStyle(e); return [s.backgroundColor, s.color, s.fontSize, s.fontWeight, s.borderColor].join(); });
    assert.equal(await style(r), await style(a), 'same colours and weight');
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= width, `no horizontal scroll at ${width}px (${scrollWidth})`);
    await screenshot(page, `banner-${locale.slice(0, 2)}-${width}`);
    await page.addScriptTag({ content: AXE });
    const result = await page.evaluate(() => window.axe.run(document.querySelector('[data-consent-banner]'), { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] }));
    assert.deepEqual(result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`), [], `axe ${locale} ${width}`);
    assert.equal(await page.evaluate(() => window.__cls), 0, 'the banner does not move the page');
    await context.close();
  }
});

test('Accept all with the mouse: the banner goes and does not come back', async () => {
  const { context, page } = await open();
  await page.getByRole('button', { name: 'Accept all', exact: true }).click();
  await banner(page).waitFor({ state: 'detached' });
  await page.reload();
  assert.equal(await banner(page).count(), 0);
  const state = await (await page.request.get(server.url + '/_consent/state')).json();
  assert.deepEqual([state.decided, state.analytics, state.marketing], [true, true, true]);
  const cookies = await context.cookies();
  const consent = cookies.find((c) => c.name === COOKIE_NAME);
  assert.ok(consent && consent.httpOnly && consent.sameSite === 'Lax');
  assert.equal(await page.evaluate((name) => document.cookie.includes(name), COOKIE_NAME), false, 'scripts cannot read it');
  await context.close();
});

test('Reject all with the keyboard alone', async () => {
  const { context, page } = await open({ locale: 'es-ES' });
  // The banner is first in the tab order: its cookie-policy link, then Reject.
  const reached = [];
  for (let i = 0; i < 6 && !reached.includes('Rechazar todo'); i++) {
    await page.keyboard.press('Tab');
    reached.push(await page.evaluate(() => document.activeElement?.textContent?.trim()));
  }
  assert.ok(reached.includes('Rechazar todo'), `tab order: ${reached.join(' | ')}`);
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'focus is visible');
  await page.keyboard.press('Enter');
  await banner(page).waitFor({ state: 'detached' });
  await page.reload();
  assert.equal(await banner(page).count(), 0);
  const state = await (await page.request.get(server.url + '/_consent/state')).json();
  assert.deepEqual([state.decided, state.analytics, state.marketing], [true, false, false]);
  await context.close();
});

test('Customise + Save with JavaScript off: a plain form post, back to the same page', async () => {
  const { context, page } = await open({ javaScriptEnabled: false }, '/pricing.html');
  await page.locator('[data-consent-banner] summary').click();
  const analytics = page.locator('[data-consent-banner] input[name="analytics"]');
  const marketing = page.locator('[data-consent-banner] input[name="marketing"]');
  assert.equal(await analytics.isChecked(), false);
  assert.equal(await marketing.isChecked(), false);
  await analytics.check();
  const before = page.url();
  await Promise.all([page.waitForResponse((r) => r.url() === server.url + '/_consent' && r.status() === 303), page.getByRole('button', { name: 'Save choices' }).click()]);
  await page.waitForLoadState();
  await banner(page).waitFor({ state: 'detached' });
  assert.equal(page.url(), before, 'back on the same page');
  const state = await (await page.request.get(server.url + '/_consent/state')).json();
  assert.deepEqual([state.analytics, state.marketing], [true, false]);
  await context.close();
});

test('Accept and Reject work with JavaScript off too', async () => {
  for (const name of ['Accept all', 'Reject all']) {
    const { context, page } = await open({ javaScriptEnabled: false }, '/contact.html');
    const before = page.url();
    await Promise.all([page.waitForResponse((r) => r.url() === server.url + '/_consent' && r.status() === 303), page.getByRole('button', { name, exact: true }).click()]);
    await page.waitForLoadState();
    await banner(page).waitFor({ state: 'detached' });
    assert.equal(page.url(), before, name);
    await context.close();
  }
});

test('closing nothing, scrolling or browsing on is not consent', async () => {
  const { context, page } = await open();
  await page.mouse.wheel(0, 2000);
  await page.goto(server.url + '/pricing.html');
  assert.equal(await banner(page).count(), 1, 'still asked');
  const state = await (await page.request.get(server.url + '/_consent/state')).json();
  assert.deepEqual(state, { decided: false });
  assert.deepEqual((await context.cookies()).map((c) => c.name), [], 'no cookie at all before a decision');
  await context.close();
});

test('the banner comes back when POLICY_VERSION changes', async () => {
  const { context, page } = await open();
  await page.getByRole('button', { name: 'Reject all', exact: true }).click();
  await banner(page).waitFor({ state: 'detached' });
  // Cookies are shared across ports on one host: the same browser visits a worker whose
  // policy is version 2.
  const v2 = await startDevServer({ port: 8792, persistTo, vars: { POLICY_VERSION: '2' } });
  try {
    await page.goto(v2.url + '/');
    assert.equal(await banner(page).count(), 1);
  } finally {
    await v2.close();
  }
  await context.close();
});
