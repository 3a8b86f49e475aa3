// The marketing dashboard in Chromium against wrangler dev on the demo site (README, "For
// marketing: the consent dashboard"): with Access unset and the demo origin it opens as the
// development identity. After some demo traffic (scripts/demo-traffic.mjs): the page at
// 1280×800 and 390×844 in English and Spanish, screenshots, axe, the big numbers, every
// chart's title and table, no sideways scroll on a phone, and the CSV and JSON downloads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { startDevServer } from '../support/dev-server.mjs';
import { launchBrowser, screenshot } from '../support/browser.mjs';
import { ROOT } from '../support/worker.mjs';
import { daysAgo, today } from '../support/days.mjs';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const PORT = 8796;
const VISITORS = 60;
const LOCALES = { en: 'en-GB', es: 'es-ES' };
const VIEWPORTS = { 1280: { width: 1280, height: 800 }, 390: { width: 390, height: 844 } };
const DEV_NOTICE = { en: /^Development mode:/, es: /^Modo de desarrollo:/ };
const ADMIN = '/_consent/admin';

let server;
let browser;
let traffic;

before(async () => {
  const started = Date.now();
  const persistTo = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-dashboard-'));
  // wrangler dev does not apply D1 migrations: do it on the same local state first.
  await run('wrangler', ['d1', 'migrations', 'apply', 'CONSENT_DB', '--local', '--persist-to', persistTo], { cwd: ROOT, env: process.env });
  // Page views written at once, not after the default 30 s in the isolate.
  server = await startDevServer({ port: PORT, persistTo, vars: { STATS_FLUSH_SECONDS: '0' } });
  const sent = await run(process.execPath, [path.join(ROOT, 'scripts/demo-traffic.mjs'), `--url=${server.url}`, `--visitors=${VISITORS}`], { cwd: ROOT });
  traffic = sent.stdout.trim();
  // Wait until the counts have landed in D1.
  for (let i = 0; i < 100; i++) {
    const stats = await (await fetch(`${server.url}${ADMIN}/stats.json`)).json();
    if (stats.page_views.total > 0 && stats.decisions.total > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launchBrowser();
  traffic += ` (set-up ${((Date.now() - started) / 1000).toFixed(1)} s)`;
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A context in `lang` at `viewport`, the dashboard open. `bypassCSP` lets axe be injected. */
async function openDashboard(lang, viewport, { bypassCSP = false } = {}) {
  const context = await browser.newContext({ locale: LOCALES[lang], viewport, deviceScaleFactor: 1, bypassCSP, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  // Chromium asks for /favicon.ico on its own; the demo site has none (404): not the page's doing.
  page.on('console', (m) => { if (m.type() === 'error' && !/favicon\.ico/.test(m.location()?.url ?? '')) problems.push(`${m.text()} ${m.location()?.url ?? ''}`); });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`); });
  const res = await page.goto(server.url + ADMIN);
  assert.equal(res.status(), 200, `${ADMIN} answered ${res.status()}`);
  return { context, page, problems };
}

test('demo traffic reached the statistics', async (t) => {
  t.diagnostic(traffic);
  const stats = await (await fetch(`${server.url}${ADMIN}/stats.json`)).json();
  t.diagnostic(`page views ${JSON.stringify(stats.page_views)}, decisions ${JSON.stringify(stats.decisions)}, coverage ${JSON.stringify(stats.coverage)}`);
  assert.ok(stats.page_views.total >= VISITORS, `at least one page view per visitor: ${stats.page_views.total}`);
  assert.ok(stats.decisions.total > 0);
  assert.equal(stats.by_day.length, 30);
  assert.equal(stats.by_day.at(-1).page_views.total, stats.page_views.total, 'all of it today');
});

for (const lang of Object.keys(LOCALES)) {
  for (const width of Object.keys(VIEWPORTS)) {
    test(`the dashboard at ${width}, ${lang}: development notice, big numbers, charts with titles and tables, axe, no sideways scroll`, async (t) => {
      const viewport = VIEWPORTS[width];
      const { context, page, problems } = await openDashboard(lang, viewport, { bypassCSP: true });
      try {
        assert.equal(await page.locator('html').getAttribute('lang'), lang);
        const notice = page.locator('main [role="note"]');
        assert.ok(await notice.isVisible(), 'the development notice shows');
        assert.match((await notice.innerText()).trim(), DEV_NOTICE[lang]);
        assert.match(await page.locator('main').innerText(), /developer@localhost/);

        const bigNumbers = await page.locator('.big p').evaluateAll((ps) => ps.map((p) => [p.querySelector('span').textContent, p.querySelector('strong').textContent]));
        t.diagnostic(`big numbers: ${JSON.stringify(bigNumbers)}`);
        assert.equal(bigNumbers.length, 4);
        const views = Number(bigNumbers[0][1]);
        assert.ok(views > 0, `non-zero page views: ${bigNumbers[0][1]}`);
        assert.ok(Number(bigNumbers[1][1]) > 0, 'non-zero decisions');
        assert.match(bigNumbers[2][1], /^\d+ %$/);

        const charts = await page.locator('main svg').evaluateAll((svgs) => svgs.map((svg) => {
          const section = svg.closest('section');
          const labelled = (svg.getAttribute('aria-labelledby') ?? '').split(' ').map((id) => document.getElementById(id)?.textContent ?? '');
          return {
            heading: section?.querySelector('h2')?.textContent ?? '',
            role: svg.getAttribute('role'),
            title: svg.querySelector('title')?.textContent ?? '',
            labelled,
            summary: section?.querySelector('details > summary')?.textContent ?? '',
            rows: section?.querySelectorAll('details table tr').length ?? 0,
            width: svg.getBoundingClientRect().width,
          };
        }));
        assert.equal(charts.length, 3, 'coverage per day, opt-in and methods');
        for (const c of charts) {
          assert.ok(c.heading && c.title === c.heading, `a chart titled like its heading: ${JSON.stringify(c)}`);
          assert.equal(c.role, 'img');
          assert.ok(c.labelled.every(Boolean) && c.labelled.length === 2, `aria-labelledby names its title and description: ${JSON.stringify(c.labelled)}`);
          assert.ok(c.summary, 'a table fallback');
          assert.ok(c.rows >= 2, `the table has a header and rows: ${c.rows}`);
          assert.ok(c.width <= viewport.width, `the chart fits: ${c.width}`);
        }
        const perDay = page.locator('section[aria-labelledby="per-day-title"] details');
        await perDay.locator('summary').click();
        assert.ok(await perDay.locator('table').isVisible(), 'the table opens');
        assert.equal(await perDay.locator('tr').count(), 31, 'a header and one row per day');
        await perDay.locator('summary').click();

        for (const key of ['country', 'language', 'device']) {
          const rows = await page.locator(`section[aria-labelledby="by-${key}"] tbody tr`).count();
          assert.ok(rows >= 1, `${key}: at least one row`);
        }

        const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth }));
        assert.ok(scrollWidth <= innerWidth, `no horizontal page scroll: scrollWidth ${scrollWidth} > ${innerWidth}`);

        // Legibility at this width, measured; asserted on a phone.
        const labelPx = await page.locator('main svg text').evaluateAll((texts) => Math.min(...texts.map((el) => {
          const svg = el.ownerSVGElement;
          return Number(el.getAttribute('font-size')) * (svg.getBoundingClientRect().width / svg.viewBox.baseVal.width);
        })));
        const brokenWords = await page.locator('main section[aria-labelledby^="by-"] table').evaluateAll((tables) => {
          const broken = [];
          for (const cell of tables.flatMap((t) => [...t.querySelectorAll('th, td')])) {
            const node = cell.firstChild;
            if (node?.nodeType !== Node.TEXT_NODE) continue;
            for (const m of node.data.matchAll(/\S+/g)) {
              const range = document.createRange();
              range.setStart(node, m.index);
              range.setEnd(node, m.index + m[0].length);
              const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
              if (lines.size > 1) broken.push(m[0]);
            }
          }
          return [...new Set(broken)];
        });
        t.diagnostic(`chart labels render at ${labelPx.toFixed(1)} px; words broken across lines in the tables: ${brokenWords.join(', ') || 'none'}`);
        if (Number(width) === 390) {
          await t.test('chart labels are at least 12 px on a phone', () => {
            assert.ok(labelPx >= 12, `${labelPx.toFixed(1)} px`);
          });
          await t.test('table headings and labels are not broken inside a word on a phone', () => {
            assert.deepEqual(brokenWords, []);
          });
        }

        await screenshot(page, `dashboard-${width}-${lang}`, { fullPage: true });

        await page.addScriptTag({ content: AXE });
        const result = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] }));
        assert.deepEqual(result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`), [], `axe ${lang} ${width}`);
        const advice = await page.evaluate(() => window.axe.run(document, { runOnly: ['best-practice'] }));
        t.diagnostic(`axe best practices (not asserted): ${advice.violations.map((v) => `${v.id} (${v.nodes.length})`).join(', ') || 'none'}`);
        assert.deepEqual(problems, [], 'no console errors');
      } finally {
        await context.close();
      }
    });
  }
}

test('the page keeps to its Content-Security-Policy: no violation, no request leaving the page', async () => {
  const { context, page, problems } = await openDashboard('en', VIEWPORTS[1280]);
  try {
    const violations = await page.evaluate(() => new Promise((resolve) => {
      const seen = [];
      document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
      setTimeout(() => resolve(seen), 300);
    }));
    assert.deepEqual(violations, []);
    assert.deepEqual(problems, [], 'no console errors');
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.reload();
    assert.deepEqual(requests, [server.url + ADMIN], 'the page is all there is: no script, style or image fetched');
  } finally {
    await context.close();
  }
});

test('the CSV and JSON links download with 200, and the range form narrows the period', async () => {
  const { context, page } = await openDashboard('en', VIEWPORTS[1280]);
  try {
    const day = today();
    for (const [name, check] of [
      ['CSV', (text) => {
        const lines = text.trim().split('\n');
        assert.match(lines[0], /^date,page_views,/);
        assert.equal(lines.length, 31, 'a header and 30 days');
        assert.ok(Number(lines.at(-1).split(',')[1]) > 0, `today has page views: ${lines.at(-1)}`);
      }],
      ['JSON', (text) => {
        const stats = JSON.parse(text);
        assert.ok(stats.page_views.total > 0);
        assert.equal(stats.to, day);
      }],
    ]) {
      const link = page.getByRole('link', { name, exact: true });
      const href = await link.getAttribute('href');
      const response = page.waitForResponse((r) => r.url().includes(href.split('?')[0]));
      const download = page.waitForEvent('download');
      await link.click();
      const [res, file] = [await response, await download];
      assert.equal(res.status(), 200, `${name} answered ${res.status()}`);
      assert.match(res.headers()['content-disposition'] ?? '', /^attachment; filename="sivo-consent-stats-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.(csv|json)"$/);
      assert.match(file.suggestedFilename(), new RegExp(`^sivo-consent-stats-.*-${day}\\.${name.toLowerCase()}$`));
      check(fs.readFileSync(await file.path(), 'utf8'));
    }

    const from = daysAgo(6);
    await page.locator('input[name="from"]').fill(from);
    await page.locator('input[name="to"]').fill(day);
    await Promise.all([page.waitForURL(/from=/), page.locator('form.card button[type="submit"]').click()]);
    assert.equal(new URL(page.url()).search, `?from=${from}&to=${day}`);
    await page.locator('section[aria-labelledby="per-day-title"] summary').click();
    assert.equal(await page.locator('section[aria-labelledby="per-day-title"] table tr').count(), 8, 'a header and seven days');
    assert.match(await page.getByRole('link', { name: 'CSV', exact: true }).getAttribute('href'), new RegExp(`from=${from}&to=${day}$`));
  } finally {
    await context.close();
  }
});
