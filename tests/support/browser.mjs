// Debian's Chromium, driven by playwright-core, cut off from everything but loopback.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './worker.mjs';

export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    ],
  });
}

/**
 * Saves a screenshot of the viewport under test-artifacts/ and returns its path; `options`
 * go to Playwright's page.screenshot (e.g. `{ fullPage: true }` for the whole page).
 */
export async function screenshot(page, name, options = {}) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false, ...options });
  return file;
}
