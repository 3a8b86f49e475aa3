// The marketing dashboard in Chromium against wrangler dev on the demo site (README, "For
// marketing: the consent dashboard"): with Access unset and the demo origin it opens as the
// development identity. After 60 days of demo traffic (scripts/demo-traffic.mjs --days 60:
// 59 days of history written into the local D1, today sent through the worker): the page at
// 1280×800 and 390×844 in English and Spanish, screenshots (test-artifacts/), axe, the big
// numbers and the banner's figures with the change from the previous period, every chart's
// title, axes, legend and table, no sideways scroll on a phone, print, and the downloads.
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
const DAYS = 60;
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
  const sent = await run(process.execPath, [path.join(ROOT, 'scripts/demo-traffic.mjs'), '--days', String(DAYS), '--persist-to', persistTo, `--url=${server.url}`, `--visitors=${VISITORS}`], { cwd: ROOT });
  traffic = sent.stdout.trim();
  // Wait until the counts have landed in D1.
  for (let i = 0; i < 100; i++) {
    const stats = await (await fetch(`${server.url}${ADMIN}/stats.json`)).json();
    const todays = stats.by_day.at(-1);
    if (todays.page_views.total > 0 && todays.decisions.total > 0) break;
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

test('demo traffic: 60 days worth reading, today counted by the worker', async (t) => {
  t.diagnostic(traffic);
  const stats = await (await fetch(`${server.url}${ADMIN}/stats.json?from=${daysAgo(DAYS - 1)}&to=${today()}`)).json();
  t.diagnostic(`page views ${JSON.stringify(stats.page_views)}, decisions ${JSON.stringify(stats.decisions)}, coverage ${JSON.stringify(stats.coverage)}, banner ${JSON.stringify(stats.banner)}`);
  assert.equal(stats.by_day.length, DAYS);
  assert.ok(stats.by_day.every((d) => d.page_views.total > 0 && d.decisions.total > 0), 'every day has traffic');
  const todays = stats.by_day.at(-1);
  assert.ok(todays.page_views.total >= VISITORS, `today's page views were sent through the worker: ${todays.page_views.total}`);
  assert.ok(stats.by_country.length >= 5, `several countries: ${stats.by_country.map((c) => c.country)}`);
  assert.deepEqual(stats.by_device.map((d) => d.device).sort(), ['desktop', 'mobile', 'tablet']);
  assert.deepEqual(stats.by_language.map((d) => d.language).sort(), ['en', 'es']);
  // A weekly rhythm: weekends quieter than weekdays (history only: today is the worker's).
  const past = stats.by_day.slice(0, -1);
  const mean = (days) => days.reduce((s, d) => s + d.page_views.total, 0) / days.length;
  const weekend = past.filter((d) => [0, 6].includes(new Date(`${d.date}T00:00:00Z`).getUTCDay()));
  const weekdays = past.filter((d) => ![0, 6].includes(new Date(`${d.date}T00:00:00Z`).getUTCDay()));
  assert.ok(mean(weekend) < 0.8 * mean(weekdays), `weekends ${mean(weekend).toFixed(0)} against weekdays ${mean(weekdays).toFixed(0)}`);
  // A dip in the accept rate after the policy change (20 days ago), recovering.
  const change = traffic.match(/policy change on (\d{4}-\d{2}-\d{2})/)?.[1];
  assert.ok(change, traffic);
  const at = past.findIndex((d) => d.date === change);
  const accept = (days) => days.reduce((s, d) => s + d.decisions.accept_all, 0) / days.reduce((s, d) => s + d.banner.decisions, 0);
  const [before, after] = [accept(past.slice(at - 7, at)), accept(past.slice(at, at + 4))];
  t.diagnostic(`accept rate the week before the change ${before.toFixed(3)}, its first days ${after.toFixed(3)}`);
  assert.ok(after < before - 0.08, 'the dip shows');
  // The default view compares with the 30 days before, which hold history too.
  const defaults = await (await fetch(`${server.url}${ADMIN}/stats.json`)).json();
  assert.equal(defaults.by_day.length, 30);
  assert.ok(defaults.previous.page_views.total > 0 && defaults.previous.banner.accept_rate !== null);
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

        const bigNumbers = await page.locator('.big p').evaluateAll((ps) => ps.map((p) => [p.querySelector('span').textContent, p.querySelector('strong').textContent, p.querySelector('small')?.textContent ?? '']));
        t.diagnostic(`big numbers: ${JSON.stringify(bigNumbers)}`);
        assert.equal(bigNumbers.length, 8, 'page views, decisions, both coverages; impressions, interaction, no choice, accept rate');
        const views = Number(bigNumbers[0][1]);
        assert.ok(views > 0, `non-zero page views: ${bigNumbers[0][1]}`);
        assert.ok(Number(bigNumbers[1][1]) > 0, 'non-zero decisions');
        for (const i of [2, 3, 5, 6, 7]) {
          assert.match(bigNumbers[i][1], /^\d+ %$/);
          // The change from the previous period, in words with an arrow, not colour alone.
          assert.match(bigNumbers[i][2], lang === 'en' ? /^(▲ up|▼ down) \d+\.\d points from \d+ %$|^= unchanged/ : /^(▲ sube|▼ baja) \d+,\d puntos desde \d+ %$|^= sin cambios/, bigNumbers[i][2]);
        }
        assert.match(await page.locator('#reference').innerText(), /Didomi.*77[.,]6 %/);

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
        assert.equal(charts.length, 4, 'coverage per day, consent per day, opt-in and methods');
        for (const c of charts) {
          assert.ok(c.heading && c.title === c.heading, `a chart titled like its heading: ${JSON.stringify(c)}`);
          assert.equal(c.role, 'img');
          assert.ok(c.labelled.every(Boolean) && c.labelled.length === 2, `aria-labelledby names its title and description: ${JSON.stringify(c.labelled)}`);
          assert.ok(c.summary, 'a table fallback');
          assert.ok(c.rows >= 2, `the table has a header and rows: ${c.rows}`);
          assert.ok(c.width <= viewport.width, `the chart fits: ${c.width}`);
        }
        // The line charts' axes, legends, reference line and point titles.
        for (const id of ['per-day', 'consent-per-day']) {
          const svg = page.locator(`section[aria-labelledby="${id}-title"] svg`);
          const texts = await svg.locator('text').allTextContents();
          for (const tick of ['0 %', '50 %', '100 %']) assert.ok(texts.includes(tick), `${id}: the axis says ${tick}: ${texts}`);
          const month = lang === 'en' ? /^\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)$/ : /^\d{1,2} (ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic)$/;
          assert.ok(texts.filter((x) => month.test(x)).length >= 3, `${id}: dates in the page's language: ${texts}`);
          assert.ok(await svg.locator('g.legend').count() >= 2, `${id}: a legend`);
          assert.ok((await svg.locator('circle > title').count()) >= 30, `${id}: a title per point`);
        }
        assert.match((await page.locator('section[aria-labelledby="consent-per-day-title"] svg text').allTextContents()).join(' '), /Didomi 2024/);
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
        // In print: the charts still fit the page.
        await page.emulateMedia({ media: 'print' });
        const printed = await page.locator('main svg').evaluateAll((svgs) => svgs.map((svg) => svg.getBoundingClientRect().width));
        assert.ok(printed.every((w) => w > 200 && w <= viewport.width), `printed chart widths ${printed}`);
        await screenshot(page, `dashboard-${width}-${lang}-print`, { fullPage: true });
        await page.emulateMedia({ media: 'screen' });

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
