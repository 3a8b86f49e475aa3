// The worker's own routes that are not a visitor's, in workerd: health, with the
// configuration's problems, the schema and the build; a configuration that lost its origin,
// which must never become the demo site; and the answers to unknown routes and methods
// under /_consent.
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
  assert.deepEqual(body.degraded_because, []);
  assert.equal(body.database.schema, 'current');
  assert.match(body.version.commit, /^[0-9a-f]{40}(-dirty)?$/, 'the commit scripts/build.sh stamped');
  assert.ok(Math.abs(Date.parse(body.version.built_at) - Date.now()) < 30 * 86400e3, `a build time: ${body.version.built_at}`);
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

test('a production configuration that lost ORIGIN_URL serves no page, never the demo: 503 in the visitor\'s language, health degraded', async () => {
  for (const vars of [{ ORIGIN_URL: '' }, { ORIGIN_URL: '   ' }]) {
    const lost = await startWorker({ vars });
    try {
      for (const url of ['https://sivocenter.com/', 'https://sivocenter.com/pricing.html', 'http://127.0.0.1:8787/']) {
        const page = await lost.fetch(url, { headers: { accept: 'text/html', 'accept-language': 'es' } });
        const html = await page.text();
        assert.equal(page.status, 503, url);
        assert.match(html, /lang="es"/);
        assert.match(html, /le falta el origen/, 'says why, in Spanish');
        assert.doesNotMatch(html, /Sivo Center|data-consent-banner/, 'not the demo site');
        assert.equal(page.headers.get('cache-control'), 'no-store');
      }
      const health = await (await lost.fetch('/_consent/health')).json();
      assert.equal(health.status, 'degraded');
      assert.equal(health.origin, 'unset');
      assert.equal(health.development, false);
      assert.ok(health.problems.some((p) => p.setting === 'ORIGIN_URL' && p.severity === 'error'), JSON.stringify(health.problems));
      assert.equal(health.consent_recording, true, 'the secrets it has still record consent');
      const cookies = await lost.fetch('/_consent/cookies', { headers: { accept: 'text/html' } });
      assert.equal(cookies.status, 200, 'the worker\'s own pages still answer');
    } finally {
      await lost.close();
    }
  }
});

test('the demo site and the development keys only on a loopback host: elsewhere 503 and health degraded', async () => {
  const demo = await startWorker({ vars: { CONSENT_SIGNING_KEY: '', RECORD_ENCRYPTION_KEY: '' } });
  try {
    // On loopback the page goes to the demo site's ASSETS binding, which Miniflare here does
    // not have (tests/browser/demo-site.test.mjs serves it through wrangler dev): the answer is
    // the demo's 502 naming the binding, not the 503 of a worker with no origin.
    for (const host of ['localhost:8787', '127.0.0.1:8787', '[::1]:8787']) {
      const mark = demo.jsonLogs().length;
      const page = await demo.fetch(`http://${host}/`, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 502, host);
      const [line] = demo.jsonLogs().slice(mark).filter((l) => l.msg === 'request');
      assert.match(line.error, /ASSETS binding is missing/, `${host}: routed to the demo site`);
      const health = await (await demo.fetch(`http://${host}/_consent/health`)).json();
      assert.equal(health.status, 'ok', `${host}: ${JSON.stringify(health)}`);
      assert.equal(health.development, true);
    }
    for (const host of ['sivocenter.com', 'www.sivocenter.com', '192.168.1.20:8787', 'localhost.sivocenter.com']) {
      const page = await demo.fetch(`https://${host}/`, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 503, host);
      assert.doesNotMatch(await page.text(), /data-consent-banner/, `${host}: not the demo site`);
      const health = await (await demo.fetch(`https://${host}/_consent/health`)).json();
      assert.equal(health.status, 'degraded', host);
      assert.match(health.degraded_because.join(' '), /loopback/);
    }
  } finally {
    await demo.close();
  }
});

test('health is degraded while D1 lacks the newest migration, or D1 is missing, and ok once it is applied', async () => {
  const behind = await startWorker({ origin: site.origin.url, migrateUpTo: '0' });
  try {
    let health = await (await behind.fetch('/_consent/health')).json();
    assert.equal(health.status, 'degraded', JSON.stringify(health));
    assert.equal(health.database.schema, 'behind');
    assert.match(health.database.expected, /^\d{4}_.*\.sql$/);
    const { applyMigrations } = await import('../support/worker.mjs');
    await applyMigrations(behind.db());
    health = await (await behind.fetch('/_consent/health')).json();
    assert.equal(health.status, 'ok', JSON.stringify(health));
    assert.equal(health.database.schema, 'current');
  } finally {
    await behind.close();
  }
  const noDb = await startWorker({ origin: site.origin.url, d1: false });
  try {
    const health = await (await noDb.fetch('/_consent/health')).json();
    assert.equal(health.status, 'degraded');
    assert.equal(health.database.schema, 'unavailable');
  } finally {
    await noDb.close();
  }
});

test('a secret that is the development key is refused in a deployed configuration: health degraded, consent not recorded', async () => {
  const devSigning = 'sivo-consent development signing key - never deploy';
  const devRecord = Buffer.from('sivo-consent dev record key 32by').toString('base64');
  const w = await startWorker({ origin: site.origin.url, vars: { CONSENT_SIGNING_KEY: devSigning, RECORD_ENCRYPTION_KEY: devRecord } });
  try {
    const health = await (await w.fetch('/_consent/health')).json();
    assert.equal(health.status, 'degraded');
    assert.deepEqual(health.problems.map((p) => p.setting).sort(), ['CONSENT_SIGNING_KEY', 'RECORD_ENCRYPTION_KEY']);
    assert.ok(health.problems.every((p) => /development key/.test(p.message)));
    assert.equal(health.consent_recording, false);
  } finally {
    await w.close();
  }
});
