// The log line, in workerd: one JSON line per request, with the client's IP truncated and
// no query string.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useSite } from '../support/site.mjs';

const site = useSite();

test('every request logs one JSON line with a truncated IP and no query string', async () => {
  const before = site.worker.jsonLogs().length;
  await (await site.worker.fetch('/page?email=ana@example.com', { headers: { 'cf-connecting-ip': '198.51.100.77' } })).text();
  await (await site.worker.fetch('/image.png', { headers: { 'cf-connecting-ip': '2001:db8:abcd:12:1:2:3:4' } })).arrayBuffer();
  const lines = site.worker.jsonLogs().slice(before).filter((l) => l.msg === 'request');
  assert.equal(lines.length, 2);
  const [page, image] = lines;
  assert.deepEqual(
    { method: page.method, path: page.path, status: page.status, ip: page.ip, consent: page.consent, country: page.country },
    { method: 'GET', path: '/page', status: 200, ip: '198.51.100.0', consent: 'undecided', country: 'ES' },
  );
  assert.match(page.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.equal(image.ip, '2001:db8:abcd::');
  const raw = site.worker.logs.map((l) => l.message).join('\n');
  assert.ok(!raw.includes('198.51.100.77') && !raw.includes('ana@example.com') && !raw.includes(':1:2:3:4'));
});
