// Lighthouse (the npm package, Node API) against a loopback URL, in Debian's Chromium launched
// by Lighthouse's own chrome-launcher, cut off from everything but loopback like browser.mjs.
import { createRequire } from 'node:module';
import lighthouse from 'lighthouse';

// chrome-launcher is Lighthouse's dependency, resolved from Lighthouse so its pinned copy is used.
const fromLighthouse = createRequire(createRequire(import.meta.url).resolve('lighthouse/package.json'));
const chromeLauncher = await import(fromLighthouse.resolve('chrome-launcher'));

export const CHROME_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
];

/**
 * Runs Lighthouse's `categories` on `url` as `formFactor` ('mobile' or 'desktop') with
 * `Accept-Language: acceptLanguage`; returns `{ scores: { id: 0..1 }, failing: { id: [audit ids] }, lhr }`.
 * Nothing here measures speed: no real throttling, short quiet windows, no full-page screenshot.
 */
export async function runLighthouse(url, { formFactor = 'mobile', acceptLanguage = 'en-GB,en;q=0.9', categories = ['accessibility', 'best-practices'] } = {}) {
  const chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROMIUM_BIN || process.env.CHROME_PATH || '/usr/bin/chromium',
    chromeFlags: CHROME_FLAGS,
    logLevel: 'silent',
  });
  try {
    const desktop = formFactor === 'desktop';
    const result = await lighthouse(url, {
      port: chrome.port,
      logLevel: 'error',
      output: 'json',
      onlyCategories: categories,
      formFactor,
      screenEmulation: desktop
        ? { mobile: false, width: 1350, height: 940, deviceScaleFactor: 1, disabled: false }
        : { mobile: true, width: 412, height: 823, deviceScaleFactor: 1.75, disabled: false },
      // 'simulate' (the default) never slows the load itself; 'provided' would force 5.25 s
      // quiet windows.
      throttlingMethod: 'simulate',
      disableFullPageScreenshot: true,
      skipAboutBlank: true,
      extraHeaders: { 'Accept-Language': acceptLanguage },
      locale: 'en-US',
    }, {
      extends: 'lighthouse:default',
      // Nothing here is timed: short quiet windows after the load instead of Lighthouse's
      // 5.25 s ones (these are settings of the config, not flags).
      settings: { pauseAfterFcpMs: 250, pauseAfterLoadMs: 250, networkQuietThresholdMs: 250, cpuQuietThresholdMs: 250 },
    });
    const { lhr } = result;
    const scores = {};
    const failing = {};
    for (const id of categories) {
      const category = lhr.categories[id];
      scores[id] = category.score;
      failing[id] = category.auditRefs
        .filter((ref) => ref.weight > 0)
        .map((ref) => lhr.audits[ref.id])
        .filter((audit) => audit.score !== null && audit.score < 1)
        .map((audit) => audit.id);
    }
    return { scores, failing, lhr };
  } finally {
    await chrome.kill();
  }
}

/** The failing items of audit `id` (selectors and snippets), one line each, for a failure message. */
export function auditDetails(lhr, id, max = 5) {
  const audit = lhr.audits[id];
  const items = audit?.details?.items ?? [];
  if (items.length === 0) return [`    ${id}: ${audit?.title ?? ''} ${audit?.displayValue ?? ''}`.trimEnd()];
  return items.slice(0, max).map((item) => {
    const node = item.node ?? item;
    return `    ${id}: ${node.selector ?? ''} ${node.snippet ?? item.description ?? item.source?.url ?? JSON.stringify(item).slice(0, 160)}`.trimEnd();
  });
}
