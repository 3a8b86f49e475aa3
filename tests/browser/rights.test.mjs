// The visitor's rights in Chromium: change and withdraw from the preferences page, with
// and without JavaScript; download their records; erase them and see the banner again (issue 5).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../support/dev-server.mjs';
import { launchBrowser, screenshot } from '../support/browser.mjs';
import { COOKIE_NAME } from '../../scripts/lib/consent-cookie.mjs';

let server;
let browser;

before(async () => {
  const persistTo = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-rights-kv-'));
  server = await startDevServer({ port: 8794, persistTo });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const banner = (page) => page.locator('[data-consent-banner]');
const state = async (page) => (await page.request.get(server.url + '/_consent/state')).json();

for (const javaScriptEnabled of [true, false]) {
  test(`change and withdraw from the preferences page (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const context = await browser.newContext({ locale: 'en-GB', javaScriptEnabled });
    const page = await context.newPage();
    await page.goto(server.url + '/');
    await page.getByRole('button', { name: 'Accept all', exact: true }).click();
    // With JavaScript the banner reloads the page; without, the form post navigates: either
    // way the banner is gone once the new page is there.
    await banner(page).waitFor({ state: 'detached' });
    await page.waitForLoadState('load');

    // From any page, the persistent link leads to the preferences page.
    await page.goto(server.url + '/pricing.html');
    await Promise.all([page.waitForURL('**/_consent/preferences'), page.locator('a[data-consent-settings]').click()]);
    assert.equal(await page.locator('[data-category="analytics"]').innerText(), 'On');

    await page.locator('input[name="marketing"]').uncheck();
    await Promise.all([page.waitForURL('**/_consent/preferences?saved'), page.getByRole('button', { name: 'Save choices' }).click()]);
    assert.match(await page.locator('[role="status"]').innerText(), /saved/);
    assert.equal(await page.locator('[data-category="marketing"]').innerText(), 'Off');
    assert.equal(await page.locator('[data-category="analytics"]').innerText(), 'On');

    await Promise.all([page.waitForURL('**/_consent/preferences?saved'), page.getByRole('button', { name: 'Withdraw consent' }).click()]);
    assert.equal(await page.locator('[data-category="analytics"]').innerText(), 'Off');
    const s = await state(page);
    assert.deepEqual([s.decided, s.analytics, s.marketing], [true, false, false]);
    await screenshot(page, `preferences-js-${javaScriptEnabled ? 'on' : 'off'}`);
    await context.close();
  });
}

test('the download holds the right records, and after erasure the banner is back', async () => {
  const context = await browser.newContext({ locale: 'es-ES', acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(server.url + '/');
  await page.getByRole('button', { name: 'Rechazar todo', exact: true }).click();
  await banner(page).waitFor({ state: 'detached' });
  const { id } = await state(page);

  await page.goto(server.url + '/_consent/preferences');
  await page.locator('input[name="analytics"]').check();
  await Promise.all([page.waitForURL('**/_consent/preferences?saved'), page.getByRole('button', { name: 'Guardar selección' }).click()]);

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Descargar mis registros de consentimiento (JSON)' }).click()]);
  assert.equal(download.suggestedFilename(), `sivo-consent-${id}.json`);
  const body = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  assert.equal(body.consent_id, id);
  assert.deepEqual(body.records.map((r) => [r.method, r.choices.analytics]), [['reject_all', false], ['preferences', true]]);
  assert.ok(body.records.every((r) => r.id === id && r.lang === 'es'));

  await Promise.all([page.waitForURL('**/_consent/preferences?erased'), page.getByRole('button', { name: 'Borrar mis registros' }).click()]);
  assert.match(await page.locator('[role="status"]').innerText(), /borrado/);
  assert.deepEqual(await state(page), { decided: false });
  assert.equal((await context.cookies()).filter((c) => c.name === COOKIE_NAME).length, 0, 'the consent cookie is gone');
  await page.goto(server.url + '/');
  assert.equal(await banner(page).count(), 1, 'the banner asks again');
  assert.equal((await page.request.get(server.url + '/_consent/records')).status(), 401);
  await context.close();
});

test('the demo site’s cookie page leads to the full cookie policy', async () => {
  const context = await browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  await page.goto(server.url + '/cookies.html');
  await Promise.all([page.waitForURL('**/_consent/cookies'), page.getByRole('link', { name: 'See the full, always up-to-date list of cookies' }).click()]);
  assert.equal(await page.locator('h1').innerText(), 'Cookie policy');
  assert.equal(await page.locator('tbody tr').count(), 12, 'every entry of the cookie inventory');
  await screenshot(page, 'cookie-policy-en');
  await context.close();
});
