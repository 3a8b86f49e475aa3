// The banner, the decision endpoint (and what it refuses: cross-site posts, bad return pages,
// too many decisions from one network), the signed consent cookie and the encrypted proof
// records, in workerd with real local KV.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consentCookie, consentSetCookie, openRecord, allKeys, recordsOf, signedCookie, postForm } from '../support/consent.mjs';
import { fetchIdentity, useSite } from '../support/site.mjs';
import { startWorker, RECORD_KEY } from '../support/worker.mjs';
import { COOKIE_NAME, LEGACY_COOKIE_NAME } from '../../scripts/lib/consent-cookie.mjs';
import { keyId } from '../../scripts/lib/records.mjs';

const BANNER = 'data-consent-banner';
const site = useSite();

async function page(headers = {}, path = '/page') {
  const res = await site.worker.fetch(path, { headers });
  assert.equal(res.status, 200);
  return res.text();
}

async function state(cookie) {
  return (await site.worker.fetch('/_consent/state', { headers: cookie ? { cookie } : {} })).json();
}

test('a visitor with no decision gets the banner inside the page, first in <body>', async () => {
  const html = await page({ 'accept-language': 'en' }, '/page?plan=growth');
  assert.equal(html.split(BANNER).length - 1, 1);
  assert.match(html, /<body><section id="sivo-cb" data-consent-banner aria-labelledby="sivo-cb-title"/);
  assert.match(html, /<form method="post" action="\/_consent">/);
  assert.match(html, /name="return_to" value="\/page\?plan=growth"/);
  for (const action of ['accept_all', 'reject_all', 'save']) assert.match(html, new RegExp(`name="action" value="${action}"`));
  assert.match(html, /<input type="checkbox" name="analytics">/);
  assert.match(html, /<input type="checkbox" name="marketing">/);
  assert.doesNotMatch(html, /name="(analytics|marketing)"[^>]*checked/);
  assert.match(html, />Reject all</);
  assert.match(html, /href="\/_consent\/preferences"/, 'and the settings link');
});

test('the banner speaks Spanish to a Spanish browser', async () => {
  const html = await page({ 'accept-language': 'es-ES,es;q=0.9' });
  assert.match(html, /lang="es"/);
  assert.match(html, />Rechazar todo</);
  assert.match(html, />Aceptar todo</);
});

test('Accept all: 303 back to the page, a signed cookie, one encrypted record, no banner after', async () => {
  const res = await postForm(site.worker, { action: 'accept_all', return_to: '/page?plan=growth' }, {
    'cf-connecting-ip': '203.0.113.77',
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0',
    'accept-language': 'es',
  });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/page?plan=growth');
  const setCookie = consentSetCookie(res);
  for (const attr of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/', 'Max-Age=31536000']) assert.ok(setCookie.includes(attr), attr);
  const cookie = consentCookie(res);

  const s = await state(cookie);
  assert.equal(s.decided, true);
  assert.deepEqual([s.analytics, s.marketing, s.policy_version], [true, true, '1']);
  assert.match(s.id, /^[0-9a-f]{32}$/);
  assert.equal(Date.parse(s.expires_at) - Date.parse(s.given_at), 365 * 86_400_000);

  const records = await recordsOf(site.worker.kv(), s.id);
  assert.equal(records.length, 1);
  const { key, record } = records[0];
  assert.equal(record.id, s.id);
  assert.deepEqual(record.choices, { analytics: true, marketing: true });
  assert.equal(record.method, 'accept_all');
  assert.equal(record.policy_version, '1');
  assert.match(record.banner_sha256, /^[0-9a-f]{64}$/);
  assert.equal(record.lang, 'es');
  assert.equal(record.country, 'ES');
  assert.equal(record.path, '/page');
  assert.equal(record.ip_truncated, '203.0.113.0');
  assert.equal(record.user_agent, 'Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0');
  assert.equal(record.at, s.given_at);
  assert.equal(record.expires_at_ms - record.at_ms, 1460 * 86_400_000, 'retention sealed in');
  assert.equal(key.expiration, Math.floor(record.expires_at_ms / 1000), 'and set as the KV expiration');
  assert.equal(key.metadata, undefined, 'nothing readable beside the id');

  const raw = await site.worker.kv().get(key.name);
  assert.ok(!raw.includes('203.0.113') && !raw.includes('TestBrowser'), 'KV holds no readable personal data');
  assert.ok(raw.startsWith(`v2.${keyId(RECORD_KEY)}.`), 'sealed naming its key (never the key itself)');
  assert.ok(!raw.includes(RECORD_KEY) && !raw.includes(Buffer.from(RECORD_KEY, 'base64').toString('hex')));
  const day = await allKeys(site.worker.kv(), `day:${record.at.slice(0, 10)}:`);
  assert.ok(day.some((k) => k.metadata?.method === 'accept_all' && k.expiration === key.expiration), 'a day index entry');
  const reference = key.name.split(':').pop();
  assert.ok(day.every((k) => !k.name.includes(s.id) && !k.name.includes(reference)), 'that names no visitor and shares nothing with the record key');
  assert.deepEqual(Object.keys(day[0].metadata).sort(), ['analytics', 'country', 'day', 'marketing', 'method', 'policy_version']);

  const after = await page({ cookie });
  assert.ok(!after.includes(BANNER), 'the banner does not come back');
  assert.ok(after.includes('href="/_consent/preferences"'));
});

test('Reject all is recorded too, and the banner stays away', async () => {
  const res = await postForm(site.worker, { action: 'reject_all', return_to: '/page' });
  assert.equal(res.status, 303);
  const setCookie = consentSetCookie(res);
  assert.match(setCookie, /Max-Age=31536000/, 'a refusal stands as long as a consent would');
  const cookie = consentCookie(res);
  const s = await state(cookie);
  assert.deepEqual([s.decided, s.analytics, s.marketing], [true, false, false]);
  const [{ record }] = await recordsOf(site.worker.kv(), s.id);
  assert.deepEqual([record.method, record.choices.analytics, record.choices.marketing], ['reject_all', false, false]);
  assert.ok(!(await page({ cookie })).includes(BANNER));
});

test('Customise + Save grants only what was ticked', async () => {
  const res = await postForm(site.worker, { action: 'save', analytics: 'on', return_to: '/' });
  const s = await state(consentCookie(res));
  assert.deepEqual([s.analytics, s.marketing], [true, false]);
  const [{ record }] = await recordsOf(site.worker.kv(), s.id);
  assert.equal(record.method, 'save');
});

test('JSON decisions answer 200 with the state', async () => {
  const res = await site.worker.fetch('/_consent', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify({ analytics: false, marketing: true }),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual([body.decided, body.analytics, body.marketing], [true, false, true]);
  assert.deepEqual(await state(consentCookie(res)), body);
  const [{ record }] = await recordsOf(site.worker.kv(), body.id);
  assert.equal(record.method, 'api');
});

test('a change of mind is a new record under the same id; the first is never rewritten', async () => {
  const first = await postForm(site.worker, { action: 'accept_all', return_to: '/' });
  const cookieA = consentCookie(first);
  const { id } = await state(cookieA);
  const [{ key: firstKey }] = await recordsOf(site.worker.kv(), id);
  const before = await site.worker.kv().get(firstKey.name);
  await new Promise((r) => setTimeout(r, 5));
  const second = await postForm(site.worker, { action: 'reject_all', return_to: '/' }, { cookie: cookieA });
  const s = await state(consentCookie(second));
  assert.equal(s.id, id);
  assert.equal(s.analytics, false);
  const records = await recordsOf(site.worker.kv(), id);
  assert.deepEqual(records.map((r) => r.record.method), ['accept_all', 'reject_all']);
  assert.equal(await site.worker.kv().get(firstKey.name), before, 'the first record is unchanged');
});

test('malformed, oversized and cross-site requests are refused and write nothing', async () => {
  const keysBefore = (await allKeys(site.worker.kv())).length;
  const cases = [
    [{ action: 'accept' }, 400],
    [{ action: 'save', analytics: 'yes' }, 400],
    [{ action: 'accept_all', admin: '1' }, 400],
    [{}, 400],
  ];
  for (const [fields, status] of cases) {
    const res = await postForm(site.worker, fields);
    assert.equal(res.status, status, JSON.stringify(fields));
    assert.equal(typeof (await res.json()).error, 'string');
    assert.equal(consentCookie(res), undefined);
  }
  const json = (body, headers = {}) => site.worker.fetch('/_consent', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  for (const body of ['{}', '{"analytics":"yes","marketing":false}', '{"analytics":true,"marketing":false,"x":1}', 'not json']) {
    assert.equal((await json(body)).status, 400, body);
  }
  const plain = await site.worker.fetch('/_consent', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'action=accept_all' });
  assert.equal(plain.status, 400);
  assert.equal((await plain.json()).error, 'unsupported_media_type');

  // A server that refuses a body stops reading it, and may close the connection while the
  // client is still writing (EPIPE): that is the refusal working, so retry until the client
  // manages to read the answer.
  const refusedBody = async (makeBody, headers = {}) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await site.worker.fetch('/_consent', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: makeBody(), duplex: 'half' });
      } catch (e) {
        if (attempt === 9) throw e;
      }
    }
  };
  const big = 'action=accept_all&return_to=/' + 'a'.repeat(5000);
  assert.equal((await refusedBody(() => big)).status, 413);
  const chunked = () => new ReadableStream({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('a'.repeat(1000)));
      c.close();
    },
  });
  assert.equal((await refusedBody(chunked)).status, 413, 'a chunked body with no length is cut off too');

  const evil = await postForm(site.worker, { action: 'accept_all' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
  assert.equal(evil.status, 403);
  const sameSite = await postForm(site.worker, { action: 'accept_all' }, { 'sec-fetch-site': 'same-site' });
  assert.equal(sameSite.status, 403);
  assert.equal(consentCookie(evil), undefined);

  const get = await site.worker.fetch('/_consent');
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  assert.equal((await allKeys(site.worker.kv())).length, keysBefore, 'nothing written');
});

test('forged, edited, expired and old-policy cookies count as no decision, never as consent', async () => {
  const res = await postForm(site.worker, { action: 'reject_all' });
  const genuine = consentCookie(res);
  const [name, value] = genuine.split('=');
  const [payload, tag] = value.split('.');
  const edited = Buffer.from(payload, 'base64url').toString().replace('|00|', '|11|');
  const cases = {
    'edited payload': `${name}=${Buffer.from(edited).toString('base64url')}.${tag}`,
    'truncated': genuine.slice(0, -5),
    'garbage': `${COOKIE_NAME}=hello`,
    'wrong key': signedCookie({ key: 'another-signing-key-that-is-long-enough!' }),
    'expired': signedCookie({ givenAt: Date.now() - 10 * 86_400_000, expiresAt: Date.now() - 1000 }),
    'old policy': signedCookie({ policy: '0' }),
  };
  for (const [label, cookie] of Object.entries(cases)) {
    assert.deepEqual(await state(cookie), { decided: false }, label);
    assert.ok((await page({ cookie })).includes(BANNER), `${label}: the banner is back`);
  }
  assert.equal((await state(signedCookie({}))).decided, true, 'control: a well-signed cookie is accepted');

  // The log says why, never what the cookie held.
  const reasons = site.worker.jsonLogs().filter((l) => l.msg === 'request' && l.cookie_rejected).map((l) => l.cookie_rejected);
  for (const reason of ['bad signature', 'malformed', 'expired', 'other policy version']) assert.ok(reasons.includes(reason), `${reason} in ${reasons}`);
  const raw = site.worker.logs.map((l) => l.message).join('\n');
  assert.ok(!raw.includes(payload) && !raw.includes(tag), 'no cookie value in the logs');
});

test('changing POLICY_VERSION asks every visitor again', async () => {
  const res = await postForm(site.worker, { action: 'accept_all' });
  const cookie = consentCookie(res);
  const v2 = await startWorker({ origin: site.origin.url, vars: { POLICY_VERSION: '2' } });
  try {
    const html = await (await v2.fetch('/page', { headers: { cookie } })).text();
    assert.ok(html.includes(BANNER));
    assert.deepEqual(await (await v2.fetch('/_consent/state', { headers: { cookie } })).json(), { decided: false });
  } finally {
    await v2.close();
  }
});

test('Global Privacy Control refuses marketing, on the banner and in the record', async () => {
  const html = await page({ 'sec-gpc': '1' });
  assert.match(html, /name="marketing" disabled/);
  assert.match(html, /Global Privacy Control/);
  const res = await postForm(site.worker, { action: 'accept_all' }, { 'sec-gpc': '1' });
  const s = await state(consentCookie(res));
  assert.deepEqual([s.analytics, s.marketing], [true, false]);
  const [{ record }] = await recordsOf(site.worker.kv(), s.id);
  assert.equal(record.sec_gpc, '1');
  assert.equal(record.gpc_refused_marketing, true);
  assert.deepEqual(record.choices, { analytics: true, marketing: false });
});

test('page views cost no KV operation: pages work without the KV binding at all', async () => {
  const noKv = await startWorker({ origin: site.origin.url, kv: false });
  try {
    for (const cookie of [undefined, signedCookie({})]) {
      const res = await noKv.fetch('/page', { headers: cookie ? { cookie } : {} });
      assert.equal(res.status, 200);
      assert.equal((await res.text()).includes(BANNER), cookie === undefined);
    }
    assert.equal((await noKv.fetch('/_consent/state', { headers: { cookie: signedCookie({}) } })).status, 200);
  } finally {
    await noKv.close();
  }
});

test('when KV fails: a consent is not granted (503, banner stays); a refusal still takes effect', async () => {
  const noKv = await startWorker({ origin: site.origin.url, kv: false });
  try {
    // A browser submitting the form without script asks for a page; the banner's fetch, JSON.
    const consent = await postForm(noKv, { action: 'accept_all', return_to: '/page' }, { 'accept-language': 'en', accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    assert.equal(consent.status, 503);
    assert.equal(consent.headers.get('retry-after'), '5');
    assert.match(await consent.text(), /Your choice was not saved[\s\S]*href="\/page">Back to the page</);
    const viaFetch = await postForm(noKv, { action: 'accept_all', return_to: '/page' }, { 'accept-language': 'es' });
    assert.equal(viaFetch.status, 503);
    assert.deepEqual(Object.keys(await viaFetch.json()), ['error', 'message']);
    assert.equal(consentCookie(viaFetch), undefined, 'no proof, no consent');
    assert.equal(consentCookie(consent), undefined, 'no proof, no consent');
    const refusal = await postForm(noKv, { action: 'reject_all', return_to: '/page' });
    assert.equal(refusal.status, 303);
    const cookie = consentCookie(refusal);
    assert.equal((await (await noKv.fetch('/_consent/state', { headers: { cookie } })).json()).analytics, false);
    const errors = noKv.jsonLogs().filter((l) => l.msg === 'request' && l.level === 'error');
    assert.equal(errors.length, 3);
    for (const line of errors) {
      assert.match(line.error, /^decision not recorded: /);
      assert.doesNotMatch(line.error, /[0-9a-f]{32}/, 'no consent id in the log');
    }
  } finally {
    await noKv.close();
  }
});

test('the log line carries the consent state, never the cookie', async () => {
  const res = await postForm(site.worker, { action: 'save', analytics: 'on' });
  const cookie = consentCookie(res);
  await (await site.worker.fetch('/page', { headers: { cookie } })).text();
  const lines = site.worker.jsonLogs().filter((l) => l.msg === 'request');
  assert.equal(lines.at(-2).consent, 'analytics');
  assert.equal(lines.at(-1).consent, 'analytics');
  const raw = site.worker.logs.map((l) => l.message).join('\n');
  assert.ok(!raw.includes(cookie.split('=')[1]), 'no cookie value in the logs');
});

test(`the consent cookie is ${COOKIE_NAME}: a sibling subdomain's ${LEGACY_COOKIE_NAME} is neither read nor continued`, async () => {
  const res = await postForm(site.worker, { action: 'accept_all' });
  const set = consentSetCookie(res);
  assert.match(set, /; HttpOnly/i);
  assert.match(set, /; Secure/i);
  assert.match(set, /; Path=\//);
  assert.doesNotMatch(set, /Domain=/i, '__Host- forbids a Domain');
  // An attacker on a sibling subdomain sets the old name for the whole domain, with a valid
  // signature copied from their own browser: it counts for nothing.
  const planted = signedCookie({ id: 'ee'.repeat(16) }).replace(`${COOKIE_NAME}=`, `${LEGACY_COOKIE_NAME}=`);
  const page = await (await fetchIdentity(site.worker, '/page', { cookie: planted })).text();
  assert.match(page, /data-consent-banner/, 'still undecided');
  const decided = await postForm(site.worker, { action: 'reject_all' }, { cookie: planted });
  const state = await (await site.worker.fetch('/_consent/state', { headers: { cookie: consentCookie(decided) } })).json();
  assert.notEqual(state.id, 'ee'.repeat(16), 'the next decision is not captured under the planted id');
  assert.ok(decided.headers.getSetCookie().some((c) => c.startsWith(`${LEGACY_COOKIE_NAME}=;`) && /Max-Age=0/.test(c)), 'the old cookie is expired');
});

test('KV holds nothing readable about a person: no metadata on the record, no id or time shared with the day index', async () => {
  const res = await postForm(site.worker, { action: 'save', analytics: 'on' });
  const { id } = await (await site.worker.fetch('/_consent/state', { headers: { cookie: consentCookie(res) } })).json();
  const [{ key }] = await recordsOf(site.worker.kv(), id);
  assert.equal(key.metadata, undefined, JSON.stringify(key));
  const reference = key.name.split(':').at(-1);
  const days = await allKeys(site.worker.kv(), 'day:');
  assert.ok(days.length > 0 && days.every((d) => !d.name.includes(reference) && !d.name.includes(id)));
  assert.ok(days.some((d) => d.metadata?.analytics === true && d.metadata?.marketing === false), 'aggregates still countable');
});

test('Origin: null from a same-origin form (Referrer-Policy: no-referrer) is this site', async () => {
  const res = await postForm(site.worker, { action: 'reject_all' }, { origin: 'null', 'sec-fetch-site': 'same-origin' });
  assert.equal(res.status, 303);
  const cross = await postForm(site.worker, { action: 'accept_all' }, { origin: 'null', 'sec-fetch-site': 'cross-site' });
  assert.equal(cross.status, 403);
});

test('a return page the site.worker will not use no longer refuses the decision: recorded, and home', async () => {
  for (const returnTo of ['https://evil.example/', '//evil.example/', '/search?q=a\\b', `/${'a'.repeat(2000)}`]) {
    const res = await postForm(site.worker, { action: 'accept_all', return_to: returnTo });
    assert.equal(res.status, 303, returnTo);
    assert.equal(res.headers.get('location'), '/', returnTo);
    assert.ok(consentCookie(res), 'decision recorded');
  }
});

test('decisions beyond the rate limit from one network get 429 with Retry-After and write nothing', async () => {
  const limited = await startWorker({ origin: site.origin.url, ratelimits: { DECISION_LIMITER: { simple: { limit: 2, period: 60 } } } });
  try {
    const from = (ip) => ({ 'cf-connecting-ip': ip });
    for (let i = 0; i < 2; i++) assert.equal((await postForm(limited, { action: 'reject_all' }, from(`198.51.100.${10 + i}`))).status, 303);
    const before = (await allKeys(limited.kv())).length;
    const over = await postForm(limited, { action: 'accept_all' }, from('198.51.100.99'));
    assert.equal(over.status, 429, 'the same /24');
    assert.equal(over.headers.get('retry-after'), '60');
    assert.equal((await over.json()).error, 'too_many_requests');
    assert.equal(consentCookie(over), undefined);
    assert.equal((await allKeys(limited.kv())).length, before, 'nothing written');
    assert.equal((await postForm(limited, { action: 'reject_all' }, from('203.0.113.5'))).status, 303, 'another network is not limited');
  } finally {
    await limited.close();
  }
});

test('a refusal or withdrawal over the rate limit is never refused: its cookie, the analytics cookies expired, no record, and the log says so', async () => {
  const limited = await startWorker({ origin: site.origin.url, ratelimits: { DECISION_LIMITER: { simple: { limit: 1, period: 60 } } } });
  try {
    const net = { 'cf-connecting-ip': '198.51.100.20' };
    assert.equal((await postForm(limited, { action: 'accept_all' }, net)).status, 303, 'within the limit');
    const before = (await allKeys(limited.kv())).length;
    const logsBefore = limited.jsonLogs().length;
    // Someone behind the same carrier NAT used the budget up; this visitor withdraws.
    const res = await postForm(limited, { action: 'reject_all' }, { ...net, cookie: '_ga=GA1.1.1.1; _gcl_au=1.1.1' });
    assert.equal(res.status, 303);
    const cookie = consentCookie(res);
    assert.ok(cookie, 'the refusing cookie is set');
    const state = await (await limited.fetch('/_consent/state', { headers: { cookie } })).json();
    assert.deepEqual([state.decided, state.analytics, state.marketing], [true, false, false]);
    const setCookies = res.headers.getSetCookie();
    assert.ok(setCookies.some((c) => /^_ga=;/.test(c) && /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)), setCookies.join('\n'));
    assert.ok(setCookies.some((c) => /^_gcl_au=;/.test(c)), 'marketing cookies too');
    assert.equal((await allKeys(limited.kv())).length, before, 'no record written over the limit');
    const line = limited.jsonLogs().slice(logsBefore).find((l) => l.msg === 'request' && l.path === '/_consent');
    assert.equal(line.consent, 'rejected');
    assert.match(line.error, /rate limit/);
    // A grant from the same network is still refused.
    assert.equal((await postForm(limited, { action: 'accept_all' }, net)).status, 429);
  } finally {
    await limited.close();
  }
});
