// The worker's own routes that are not a visitor's, in workerd: health, with the
// configuration's problems, and the answers to unknown routes and methods under /_consent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from '../support/worker.mjs';
import { useSite } from '../support/site.mjs';

const LINK = 'href="/_consent/preferences"';
const site = useSite();

test('health answers 200 with the configuration summary and no secret', async () => {
  const res = await site.worker.fetch('/_consent/health');
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, 'ok');
  assert.equal(body.origin, 'url');
  assert.equal(body.development, false);
  assert.deepEqual(body.problems, []);
  const text = JSON.stringify(body);
  assert.ok(!text.includes('test-signing-key') && !text.includes(site.origin.url));
});

test('a deployed configuration without secrets is reported, and the site is still served', async () => {
  const prod = await startWorker({ origin: site.origin.url, vars: { CONSENT_SIGNING_KEY: '', RECORD_ENCRYPTION_KEY: '', CONSENT_MAX_AGE_DAYS: 'forever' } });
  try {
    const health = await (await prod.fetch('/_consent/health')).json();
    assert.equal(health.status, 'degraded');
    assert.equal(health.consent_recording, false);
    assert.deepEqual(health.problems.map((p) => p.setting).sort(), ['CONSENT_MAX_AGE_DAYS', 'CONSENT_SIGNING_KEY', 'RECORD_ENCRYPTION_KEY']);
    const page = await prod.fetch('/page');
    assert.equal(page.status, 200);
    assert.ok((await page.text()).includes(LINK));
    const config = prod.jsonLogs().filter((l) => l.msg === 'configuration');
    assert.equal(config.length, 3, 'each problem logged once per isolate');
  } finally {
    await prod.close();
  }
});

test('unknown consent routes are 404 JSON, wrong methods 405 with Allow', async () => {
  const res = await site.worker.fetch('/_consent/nope');
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error, 'not_found');
  const post = await site.worker.fetch('/_consent/health', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal(site.origin.requests.filter((r) => r.url.startsWith('/_consent')).length, 0, 'never forwarded to the origin');
});
