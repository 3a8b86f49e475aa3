// Golden rewrite fixtures, in the spirit of lol-html's tests/data: every case in
// tests/fixtures/rewrite/<case>/ is an origin page (origin.html, optional origin.json), served
// by the loopback origin at /fixture/<case>, fetched through the worker in each consent state
// and compared with the expected output next to it: <state>.html (the body, exact) and
// <state>.json (status, CSP, names of the cookies set). Per-response nonces read `NONCE`.
//
//   UPDATE_GOLDEN=1 node --test tests/workerd/rewrite-fixtures.test.mjs   rewrites every expected file
//
// A missing expected file is written from the actual output and the test fails, so that a
// new case's outputs are reviewed before they are committed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startOrigin, fixtureRoutes } from '../support/origin.mjs';
import { startWorker, SIGNING_KEY, ROOT } from '../support/worker.mjs';
import { signConsentCookie } from '../../scripts/lib/consent-cookie.mjs';
import { FIXTURES, fixtureCases, readFixture } from '../support/fixtures.mjs';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const DAY = 86_400_000;
// The cookie's contents never reach the page, so a date-based cookie gives stable output.
const GIVEN_AT = Math.floor(Date.now() / DAY) * DAY;
const cookie = (analytics, marketing) =>
  signConsentCookie({ id: 'f0'.repeat(16), analytics, marketing, givenAt: GIVEN_AT, expiresAt: GIVEN_AT + 180 * DAY, policy: '1' }, SIGNING_KEY);
const STATES = {
  undecided: undefined,
  rejected: cookie(false, false),
  analytics: cookie(true, false),
  marketing: cookie(false, true),
  all: cookie(true, true),
};

let origin;
let worker;
before(async () => {
  origin = await startOrigin(fixtureRoutes('/fixture/'));
  worker = await startWorker({ origin: origin.url, vars: { GA4_MEASUREMENT_ID: 'G-TEST123', GTM_CONTAINER_ID: 'GTM-TEST45' } });
});
after(async () => {
  await worker?.close();
  await origin?.close();
});

// A CSP nonce is base64 of 16 bytes.
const NONCE_IN_BODY = /\bnonce="([A-Za-z0-9+/]{22}==)"/g;
const NONCE_IN_CSP = /'nonce-([A-Za-z0-9+/]{22}==)'/g;

/**
 * Replaces every nonce of this response (in the body's nonce attributes or the CSP, and not
 * written by the origin itself) by `NONCE`, wherever it appears; a second distinct nonce, which
 * the worker should never send, would read `NONCE-2`.
 */
function normaliseNonces(body, csp, originText) {
  const found = [...body.matchAll(NONCE_IN_BODY), ...(csp ?? '').matchAll(NONCE_IN_CSP)].map((m) => m[1]);
  const nonces = [...new Set(found)].filter((n) => !originText.includes(n));
  const replace = (text) => nonces.reduce((t, n, i) => t.split(n).join(i === 0 ? 'NONCE' : `NONCE-${i + 1}`), text);
  return { body: replace(body), csp: csp === null ? null : replace(csp) };
}

const relative = (file) => path.relative(ROOT, file);

/**
 * Checks `actual` against the expected file with `check(actual, expectedText)`. Writes the file
 * when it is missing or under UPDATE_GOLDEN=1; returns a message when a missing one was written
 * without UPDATE_GOLDEN=1.
 */
function golden(file, actual, check) {
  const exists = fs.existsSync(file);
  if (UPDATE || !exists) {
    if (!exists || fs.readFileSync(file, 'utf8') !== actual) fs.writeFileSync(file, actual);
    return exists || UPDATE ? undefined : `${relative(file)} was missing and has been written from this run: review it, then commit it`;
  }
  const expected = fs.readFileSync(file, 'utf8');
  try {
    check(expected);
  } catch (e) {
    e.message = `${relative(file)} differs from the worker's output (UPDATE_GOLDEN=1 rewrites it)\n${firstDifference(expected, actual)}\n${e.message}`;
    throw e;
  }
}

/** Where two texts first differ, with a little context: pages are often one long line. */
function firstDifference(expected, actual) {
  let i = 0;
  while (i < expected.length && expected[i] === actual[i]) i++;
  const line = expected.slice(0, i).split('\n').length;
  const around = (text) => JSON.stringify(text.slice(Math.max(0, i - 60), i + 60));
  return `first difference at offset ${i} (line ${line}):\n  expected …${around(expected)}…\n  actual   …${around(actual)}…`;
}

for (const name of fixtureCases()) {
  for (const [state, consentCookie] of Object.entries(STATES)) {
    test(`rewrite fixture ${name}, ${state}`, async () => {
      const page = readFixture(name);
      const originText = page.html + JSON.stringify(page.headers);
      const headers = { 'accept-encoding': 'identity', 'accept-language': 'en' };
      if (consentCookie) headers.cookie = consentCookie;
      const res = await worker.fetch(`/fixture/${name}`, { headers });
      const { body, csp } = normaliseNonces(await res.text(), res.headers.get('content-security-policy'), originText);
      const meta = {
        status: res.status,
        'content-security-policy': csp,
        'set-cookie': res.headers.getSetCookie().map((c) => c.split('=')[0].trim()).sort(),
      };
      const dir = path.join(FIXTURES, name);
      const problems = [];
      const missing = [];
      for (const [file, actual, check] of [
        [`${state}.json`, `${JSON.stringify(meta, null, 2)}\n`, (expected) => assert.deepEqual(meta, JSON.parse(expected))],
        [`${state}.html`, body, (expected) => assert.equal(body, expected)],
      ]) {
        try {
          const written = golden(path.join(dir, file), actual, check);
          if (written) missing.push(written);
        } catch (e) {
          problems.push(e);
        }
      }
      if (problems.length === 1 && missing.length === 0) throw problems[0];
      if (problems.length || missing.length) assert.fail([...problems.map((e) => e.message), ...missing].join('\n\n'));
    });
  }
}
