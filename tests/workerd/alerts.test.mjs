// The daily summary and the alerts, in workerd: the worker's Cron Trigger handler run as the
// platform runs it (Miniflare's scheduled event), posting to a loopback webhook that stands
// in for Slack or Teams. What was posted, what is said once, what is retried, and nothing
// personal in a message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startOrigin } from '../support/origin.mjs';
import { startWorker } from '../support/worker.mjs';
import { postForm } from '../support/consent.mjs';

const HOUR = 3_600_000;
const DAY = 86_400_000;
let origin;

/** A webhook on loopback: keeps each JSON body; answers `status` (settable). */
async function startWebhook() {
  const posts = [];
  let status = 200;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      posts.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(body) });
      res.writeHead(status).end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/services/T000/B000/not-a-real-token`,
    posts,
    fail(code) {
      status = code;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

const dayOf = (ms) => new Date(ms).toISOString().slice(0, 10);

/** Page views and banner decisions for the seven days before `last` and `last` itself. */
async function seed(w, last, { lastCoverage, weekCoverage }) {
  const rows = [];
  for (let i = 0; i <= 7; i++) {
    const day = dayOf(last - i * DAY);
    const coverage = i === 0 ? lastCoverage : weekCoverage;
    rows.push(
      w.db().prepare("INSERT INTO page_views VALUES (?1, 'all', 'ES', 'es', 'mobile', ?2), (?1, 'rejected', 'ES', 'es', 'mobile', ?3), (?1, 'undecided', 'FR', 'en', 'desktop', 400)").bind(day, coverage * 10, (100 - coverage) * 10),
      w.db().prepare("INSERT INTO decisions VALUES (?1, 'accept_all', 1, 1, 0, 'ES', 'es', 'mobile', 150), (?1, 'reject_all', 0, 0, 0, 'ES', 'es', 'mobile', 50)").bind(day),
    );
  }
  await w.db().batch(rows);
}

before(async () => {
  origin = await startOrigin();
});
after(async () => {
  await origin?.close();
});

test('once a day a summary of the day before against the seven before it, with an alert when coverage fell; said once', async () => {
  const hook = await startWebhook();
  const w = await startWorker({ origin: origin.url, vars: { ALERT_WEBHOOK_URL: hook.url, ALERT_COVERAGE_DROP_POINTS: '10' } });
  try {
    const now = Date.parse(`${dayOf(Date.now())}T07:00:00Z`);
    const yesterday = now - DAY;
    // Coverage 60 % a day for a week (600 of 1,400 page views with analytics), then 40 %.
    await seed(w, yesterday, { lastCoverage: 40, weekCoverage: 60 });
    await w.scheduled(now);
    assert.equal(hook.posts.length, 1, JSON.stringify(hook.posts));
    const [{ method, type, body }] = hook.posts;
    assert.equal(method, 'POST');
    assert.match(type, /application\/json/);
    assert.deepEqual(Object.keys(body), ['text'], 'Slack and Teams both read {"text"}');
    const text = body.text;
    assert.match(text, new RegExp(`^sivo-consent, ${dayOf(yesterday)}: GA4 coverage 28\\.6 % \\(down -14\\.3 points against the 7 days before, 42\\.9 %\\)`), text);
    assert.match(text, /1400 page views; 200 decisions \(7-day average 200\)/);
    assert.match(text, /banner interaction rate 50\.0 %/, '200 banner decisions for 400 impressions');
    assert.match(text, /ALERT: GA4 coverage fell from 42\.9 % to 28\.6 %/);
    assert.doesNotMatch(text, /[0-9a-f]{32}|@|\d+\.\d+\.\d+\.\d+/, 'nothing personal');

    await w.scheduled(now + HOUR);
    assert.equal(hook.posts.length, 1, 'the summary goes once a day');
    assert.ok(!JSON.stringify(w.logs).includes('not-a-real-token'), 'the webhook URL is a secret, never logged');
  } finally {
    await w.close();
    await hook.close();
  }
});

test('a webhook that does not answer is logged and the message retried on the next run', async () => {
  const hook = await startWebhook();
  const w = await startWorker({ origin: origin.url, vars: { ALERT_WEBHOOK_URL: hook.url } });
  try {
    const now = Date.now();
    await seed(w, now - DAY, { lastCoverage: 60, weekCoverage: 60 });
    hook.fail(500);
    await w.scheduled(now);
    assert.equal(hook.posts.length, 1, 'tried');
    assert.ok(w.jsonLogs().some((l) => l.level === 'error' && /alert webhook unreachable; retried next run/.test(l.msg) && /500/.test(l.detail)), 'logged');
    hook.fail(200);
    await w.scheduled(now + HOUR);
    assert.equal(hook.posts.length, 2, 'retried');
    assert.match(hook.posts[1].body.text, /GA4 coverage 42\.9 % \(unchanged \+0\.0 points/);
    assert.doesNotMatch(hook.posts[1].body.text, /ALERT/, 'no fall, no alert');
    await w.scheduled(now + 2 * HOUR);
    assert.equal(hook.posts.length, 2, 'then said');
  } finally {
    await w.close();
    await hook.close();
  }
});

test('a webhook that never answers is given up after 10 s, and one with nobody listening at once; neither logs the URL, both are retried', async () => {
  // Takes the connection and never answers.
  const hanging = http.createServer(() => {});
  await new Promise((r) => hanging.listen(0, '127.0.0.1', r));
  // A port nobody listens on: taken, then freed.
  const closed = http.createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = closed.address().port;
  await new Promise((r) => closed.close(r));
  const token = 'not-a-real-token';
  for (const [name, url] of [['hanging', `http://127.0.0.1:${hanging.address().port}/services/T000/B000/${token}`], ['closed', `http://127.0.0.1:${closedPort}/services/T000/B000/${token}`]]) {
    const w = await startWorker({ origin: origin.url, vars: { ALERT_WEBHOOK_URL: url } });
    try {
      const now = Date.now();
      await seed(w, now - DAY, { lastCoverage: 60, weekCoverage: 60 });
      const started = Date.now();
      await w.scheduled(now);
      const took = Date.now() - started;
      const failed = w.jsonLogs().filter((l) => l.level === 'error' && /alert webhook unreachable; retried next run/.test(l.msg));
      assert.equal(failed.length, 1, `${name}: logged once: ${JSON.stringify(w.logs)}`);
      assert.ok(!JSON.stringify(w.logs).includes(token), `${name}: the webhook URL is never logged: ${JSON.stringify(failed)}`);
      if (name === 'hanging') {
        assert.ok(took >= 9_000 && took < 30_000, `given up after the timeout, not held: ${took} ms`);
        assert.match(failed[0].detail, /abort|time/i, failed[0].detail);
      }
      // Nothing was marked sent: the next run tries the summary again.
      const state = await w.kv().get('alerts:state');
      assert.ok(state === null || !JSON.parse(state).summary_day, `${name}: the summary is not marked sent: ${state}`);
    } finally {
      await w.close();
    }
  }
  hanging.closeAllConnections();
  await new Promise((r) => hanging.close(r));
});

test('the banner shown for ALERT_SILENCE_HOURS with no decision is an alert; a decision, or the banner not shown, is not', async () => {
  const hook = await startWebhook();
  const w = await startWorker({ origin: origin.url, vars: { ALERT_WEBHOOK_URL: hook.url, ALERT_SILENCE_HOURS: '6' } });
  try {
    // A page view with the banner (undecided) and a decision, as the worker counts them (a
    // browser's user agent: the test client's own is a known bot's, not a page view).
    assert.equal((await w.fetch('/page', { headers: { accept: 'text/html', 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' } })).status, 200);
    const now = Date.now();
    const activity = async () => Object.fromEntries((await w.db().prepare('SELECT kind, at FROM activity').all()).results.map((r) => [r.kind, r.at]));
    await waitFor(async () => (await activity()).banner, 'the banner page view writes its activity');
    assert.ok(Math.abs((await activity()).banner - now) < 60_000);
    await w.scheduled(now + HOUR);
    const silence = () => hook.posts.filter((p) => /nobody decided/.test(p.body.text));
    assert.equal(silence().length, 1, 'shown, never answered: silent');
    assert.match(silence()[0].body.text, /^ALERT: the banner was shown in the last 6 hours and nobody decided/);
    await w.scheduled(now + 2 * HOUR);
    assert.equal(silence().length, 1, 'said once per silent period');

    await postForm(w, { action: 'accept_all' });
    await waitFor(async () => (await activity()).decision, 'a banner decision writes its activity');
    await w.scheduled(now + 7 * HOUR);
    assert.equal(silence().length, 1, 'the banner not shown in the last 6 hours: not silence');

    // Later periods, with the times set as the worker would have written them.
    const set = (kind, at) => w.db().prepare('UPDATE activity SET at = ?2 WHERE kind = ?1').bind(kind, at).run();
    await set('banner', now + 11 * HOUR);
    await set('decision', now + 9 * HOUR);
    await w.scheduled(now + 12 * HOUR);
    assert.equal(silence().length, 1, 'a decision within the window: not silence');
    await w.scheduled(now + 16 * HOUR);
    assert.equal(silence().length, 2, 'shown at +11 h, last decision at +9 h, now +16 h: silent again');
  } finally {
    await w.close();
    await hook.close();
  }
});

test('statistics writes failing are an alert, said once per new failure, even with D1 down', async () => {
  const hook = await startWebhook();
  const w = await startWorker({ origin: origin.url, d1: false, vars: { ALERT_WEBHOOK_URL: hook.url } });
  try {
    await w.fetch('/page', { headers: { accept: 'text/html' } });
    await waitFor(async () => await w.kv().get('alerts:stats-failed-at'), 'the failure is noted in KV');
    await w.scheduled(Date.now());
    const failing = hook.posts.filter((p) => /statistics could not be written/.test(p.body.text));
    assert.equal(failing.length, 1, JSON.stringify(hook.posts));
    await w.scheduled(Date.now() + HOUR);
    assert.equal(hook.posts.filter((p) => /statistics could not be written/.test(p.body.text)).length, 1, 'once');
    assert.ok(w.jsonLogs().some((l) => l.msg === 'daily summary not computed'), 'no summary without D1, and the log says so');
  } finally {
    await w.close();
    await hook.close();
  }
});

test('no webhook: nothing is posted, the run says so, and health says alerts are off', async () => {
  const w = await startWorker({ origin: origin.url });
  try {
    await w.scheduled(Date.now());
    assert.ok(w.jsonLogs().some((l) => l.msg === 'alerts off: ALERT_WEBHOOK_URL is not set'));
    const health = await (await w.fetch('/_consent/health')).json();
    assert.match(health.alerts, /^off/);
  } finally {
    await w.close();
  }
});

async function waitFor(check, what, ms = 5000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out: ${what}`);
}
