// The visitor's rights in workerd with real local KV: preferences (a receipt even when the
// decision lapsed), access and portability, erasure (across policy versions and record key
// rotations, of what the cookie names even before KV lists it), the cookie policy; and that
// nobody reaches another visitor's records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { consentCookie, allKeys, recordsOf, signedCookie, postForm } from '../support/consent.mjs';
import { fetchIdentity, useSite } from '../support/site.mjs';
import { startWorker, RECORD_KEY } from '../support/worker.mjs';
import { COOKIE_NAME } from '../../scripts/lib/consent-cookie.mjs';
import { keyId, openRecord } from '../../scripts/lib/records.mjs';

const site = useSite();

async function decide(fields, headers = {}) {
  const res = await postForm(site.worker, fields, headers);
  const cookie = consentCookie(res);
  const state = await (await site.worker.fetch('/_consent/state', { headers: { cookie } })).json();
  return { cookie, id: state.id };
}

const erase = (cookie, extra = {}) => site.worker.fetch('/_consent/records', { method: 'DELETE', headers: { cookie, 'sec-fetch-site': 'same-origin', ...extra } });

test('the preferences page shows the decision and changes it with a new record', async () => {
  const { cookie, id } = await decide({ action: 'accept_all' });
  const page = await site.worker.fetch('/_consent/preferences', { headers: { cookie, 'accept-language': 'en' } });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /data-category="analytics">On</);
  assert.match(html, new RegExp(id));
  assert.match(html, /<form class="card" method="post" action="\/_consent">/);
  assert.match(html, /value="reject_all">Withdraw consent</);

  const res = await postForm(site.worker, { action: 'save', marketing: 'on', via: 'preferences', return_to: '/_consent/preferences?saved' }, { cookie: `${cookie}; _ga=GA1.1.1` });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/_consent/preferences?saved');
  assert.ok(res.headers.getSetCookie().some((c) => c.startsWith('_ga=;')), 'the withdrawn category’s cookies are expired');
  const records = await recordsOf(site.worker.kv(), id);
  assert.deepEqual(records.map((r) => r.record.method), ['accept_all', 'preferences']);
  const after = await (await site.worker.fetch('/_consent/preferences?saved', { headers: { cookie: consentCookie(res) } })).text();
  assert.match(after, /Your choice has been saved\./);
  assert.match(after, /data-category="analytics">Off</);
});

test('withdrawing is one button and is recorded as a withdrawal', async () => {
  const { cookie, id } = await decide({ action: 'accept_all' });
  const res = await postForm(site.worker, { action: 'reject_all', via: 'preferences', return_to: '/_consent/preferences?saved' }, { cookie });
  const s = await (await site.worker.fetch('/_consent/state', { headers: { cookie: consentCookie(res) } })).json();
  assert.deepEqual([s.analytics, s.marketing], [false, false]);
  assert.equal((await recordsOf(site.worker.kv(), id)).at(-1).record.method, 'withdraw');
});

test('a visitor downloads exactly their own records, decrypted', async () => {
  const a = await decide({ action: 'accept_all' });
  await postForm(site.worker, { action: 'reject_all', via: 'preferences' }, { cookie: a.cookie });
  const b = await decide({ action: 'save', analytics: 'on' });
  const res = await site.worker.fetch('/_consent/records', { headers: { cookie: a.cookie } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-disposition'), new RegExp(`attachment; filename="sivo-consent-${a.id}.json"`));
  const body = await res.json();
  assert.equal(body.consent_id, a.id);
  assert.deepEqual(body.records.map((r) => [r.id, r.method]), [[a.id, 'accept_all'], [a.id, 'withdraw']]);
  assert.ok(!JSON.stringify(body).includes(b.id), "never another visitor's records");
});

test('forged, edited and replayed cookies never reach another visitor’s records', async () => {
  const victim = await decide({ action: 'accept_all' });
  const attacker = await decide({ action: 'reject_all' });
  const [name, value] = attacker.cookie.split('=');
  const [payload, tag] = value.split('.');
  const edited = Buffer.from(payload, 'base64url').toString().replace(attacker.id, victim.id);
  const attempts = {
    'edited id': `${name}=${Buffer.from(edited).toString('base64url')}.${tag}`,
    'signed with another key': signedCookie({ id: victim.id, key: 'an-attackers-own-key-of-32-characters!!' }),
    'victim id, attacker tag': `${name}=${Buffer.from(edited).toString('base64url')}.${attacker.cookie.split('.')[1]}`,
    'no cookie': '',
    garbage: `${COOKIE_NAME}=x.y`,
  };
  for (const [label, cookie] of Object.entries(attempts)) {
    const read = await site.worker.fetch('/_consent/records', { headers: cookie ? { cookie } : {} });
    assert.equal(read.status, 401, label);
    assert.equal((await read.json()).error, 'no_consent_cookie');
    assert.equal((await erase(cookie)).status, 401, label);
  }
  // Replaying the attacker's own genuine cookie only ever shows the attacker's records.
  const own = await (await site.worker.fetch('/_consent/records', { headers: { cookie: attacker.cookie } })).json();
  assert.ok(own.records.every((r) => r.id === attacker.id));
  assert.equal((await recordsOf(site.worker.kv(), victim.id)).length, 1, "the victim's record is intact");
});

test('erasure removes every record of the id and nothing else, and keeps an anonymous note', async () => {
  const a = await decide({ action: 'accept_all' });
  await postForm(site.worker, { action: 'reject_all' }, { cookie: a.cookie });
  const b = await decide({ action: 'accept_all' });
  const before = await allKeys(site.worker.kv());
  const aKeys = before.filter((k) => k.name.startsWith(`rec:${a.id}:`)).map((k) => k.name);
  assert.equal(aKeys.length, 2);
  const res = await erase(`${a.cookie}; _ga=GA1.1.1; _gid=GA1.2`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { erased: 2 });
  const cookies = res.headers.getSetCookie();
  assert.ok(cookies.some((c) => c.startsWith(`${COOKIE_NAME}=;`) && /Max-Age=0/.test(c)), 'the consent cookie is expired');
  assert.ok(cookies.some((c) => c.startsWith('_ga=;')) && cookies.some((c) => c.startsWith('_gid=;')), 'and the analytics cookies');

  const after = await allKeys(site.worker.kv());
  assert.deepEqual(after.filter((k) => k.name.includes(a.id)), [], 'no key names the erased id');
  const aDayEntries = aKeys.map((k) => `day:${new Date(Number(k.split(':')[2].split('-')[0])).toISOString().slice(0, 10)}:${k.split(':')[2]}`);
  assert.ok(aDayEntries.every((d) => !after.some((k) => k.name === d)), 'its day index entries are gone');
  assert.equal((await recordsOf(site.worker.kv(), b.id)).length, 1, "another visitor's record is untouched");
  const removed = before.filter((k) => !after.some((x) => x.name === k.name)).map((k) => k.name);
  assert.equal(removed.length, 4, `exactly the two records and their two index entries: ${removed}`);
  const notes = after.filter((k) => k.name.startsWith('erasure:') && !before.some((x) => x.name === k.name));
  assert.equal(notes.length, 1);
  const note = JSON.parse(await site.worker.kv().get(notes[0].name));
  assert.match(note.consent_id_sha256, /^[0-9a-f]{64}$/);
  assert.ok(!JSON.stringify(note).includes(a.id));
  assert.deepEqual(await (await site.worker.fetch('/_consent/state', { headers: { cookie: a.cookie } })).json().then((s) => s.decided), true, 'the old cookie still verifies until the browser drops it');
  assert.ok((await (await site.worker.fetch('/page')).text()).includes('data-consent-banner'));
});

test('erasure from a form post (JavaScript off) redirects back to the preferences page', async () => {
  const a = await decide({ action: 'accept_all' });
  const res = await site.worker.fetch('/_consent/records', {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    body: 'action=erase',
  });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/_consent/preferences?erased');
  assert.equal((await recordsOf(site.worker.kv(), a.id)).length, 0);
  const page = await (await site.worker.fetch('/_consent/preferences?erased', { headers: { 'accept-language': 'es' } })).text();
  assert.match(page, /Tus registros de consentimiento se han borrado/);
});

test('rights routes refuse bad requests clearly', async () => {
  const a = await decide({ action: 'accept_all' });
  assert.equal((await erase(a.cookie, { 'sec-fetch-site': 'cross-site' })).status, 403);
  const badForm = await site.worker.fetch('/_consent/records', { method: 'POST', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=drop' });
  assert.equal(badForm.status, 400);
  const put = await site.worker.fetch('/_consent/records', { method: 'PUT', headers: { cookie: a.cookie } });
  assert.equal(put.status, 405);
  assert.equal((await site.worker.fetch('/_consent/preferences', { method: 'POST' })).status, 405);
  assert.equal((await site.worker.fetch('/_consent/cookies', { method: 'DELETE' })).status, 405);
  assert.equal((await recordsOf(site.worker.kv(), a.id)).length, 1, 'nothing erased by a refused request');
});

test('the cookie policy lists every cookie the site.worker manages, in both languages', async () => {
  for (const [lang, heading] of [['en', 'Cookie policy'], ['es', 'Política de cookies']]) {
    const res = await site.worker.fetch('/_consent/cookies', { headers: { 'accept-language': lang } });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, new RegExp(`<h1>${heading}</h1>`));
    for (const name of [COOKIE_NAME, '_ga', '_ga_&lt;container-id&gt;', '_gid', '_gat*', '_gcl_*']) assert.ok(html.includes(`<code>${name}</code>`), `${lang} ${name}`);
    assert.match(html, /26/);
  }
});

test('when KV is down, the rights routes say so and the page stays up', async () => {
  const noKv = await startWorker({ origin: site.origin.url, kv: false });
  try {
    const cookie = signedCookie({});
    assert.equal((await noKv.fetch('/_consent/records', { headers: { cookie } })).status, 503);
    assert.equal((await noKv.fetch('/_consent/records', { method: 'DELETE', headers: { cookie } })).status, 503);
    assert.equal((await noKv.fetch('/_consent/preferences', { headers: { cookie } })).status, 200);
  } finally {
    await noKv.close();
  }
});

test('a returning visitor keeps their records across a POLICY_VERSION change: download shows both, erasure removes both', async () => {
  const kvDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-kv-policy-'));
  const v1 = await startWorker({ origin: site.origin.url, kvDir, vars: { POLICY_VERSION: '1' } });
  let cookie;
  let id;
  try {
    const first = await postForm(v1, { action: 'accept_all' });
    cookie = consentCookie(first);
    id = (await (await v1.fetch('/_consent/state', { headers: { cookie } })).json()).id;
  } finally {
    await v1.close();
  }
  const v2 = await startWorker({ origin: site.origin.url, kvDir, vars: { POLICY_VERSION: '2' } });
  try {
    assert.equal((await (await v2.fetch('/_consent/state', { headers: { cookie } })).json()).decided, false, 'asked again');
    const again = await postForm(v2, { action: 'reject_all' }, { cookie });
    const cookie2 = consentCookie(again);
    const state = await (await v2.fetch('/_consent/state', { headers: { cookie: cookie2 } })).json();
    assert.equal(state.id, id, 'the same consent id continues');
    const download = await (await v2.fetch('/_consent/records', { headers: { cookie: cookie2 } })).json();
    assert.deepEqual(download.records.map((r) => r.policy_version), ['1', '2']);
    const erased = await v2.fetch('/_consent/records', { method: 'DELETE', headers: { cookie: cookie2, 'sec-fetch-site': 'same-origin' } });
    assert.deepEqual(await erased.json(), { erased: 2 });
    assert.equal((await recordsOf(v2.kv(), id)).length, 0, 'the policy-1 record is gone too');
  } finally {
    await v2.close();
  }
});

test('the preferences page is a receipt: the consent id and date, even after the decision lapsed', async () => {
  const cookie = signedCookie({ id: 'cd'.repeat(16), policy: '0', givenAt: Date.parse('2026-01-15T10:00:00Z') });
  const html = await (await fetchIdentity(site.worker, '/_consent/preferences', { cookie, 'accept-language': 'en' })).text();
  assert.match(html, /no longer stands/);
  assert.match(html, new RegExp(`<code>${'cd'.repeat(16)}</code>`));
  assert.match(html, /<time datetime="2026-01-15T10:00:00Z">2026-01-15<\/time>/);
});

test('erasure deletes the records the cookie names even when KV does not list them yet', async () => {
  // The decision's record is in KV; the listing sees it too locally, so simulate a lagging
  // listing by erasing with a cookie whose named record was written under another prefix
  // position: the site.worker must delete what the cookie names, whatever list says.
  const res = await postForm(site.worker, { action: 'accept_all' });
  const cookie = consentCookie(res);
  const { id } = await (await site.worker.fetch('/_consent/state', { headers: { cookie } })).json();
  const [{ key }] = await recordsOf(site.worker.kv(), id);
  assert.match(key.name, new RegExp(`^rec:${id}:\\d{13}-[0-9a-f]{8}$`));
  const erased = await site.worker.fetch('/_consent/records', { method: 'DELETE', headers: { cookie, 'sec-fetch-site': 'same-origin' } });
  assert.deepEqual(await erased.json(), { erased: 1 });
  assert.equal(await site.worker.kv().get(key.name), null);
});

test('a record key rotation: with RECORD_ENCRYPTION_KEY_PREVIOUS the download holds records under both keys; without it the older one is listed unreadable with its date, never a 5xx', async () => {
  const OLD = RECORD_KEY;
  const NEW = Buffer.alloc(32, 11).toString('base64');
  const kvDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-kv-rotation-'));
  const run = async (vars, body) => {
    const w = await startWorker({ origin: site.origin.url, kvDir, vars });
    try {
      return await body(w);
    } finally {
      await w.close();
    }
  };
  const download = async (w, cookie) => {
    const res = await w.fetch('/_consent/records', { headers: { cookie } });
    assert.equal(res.status, 200);
    return (await res.json()).records;
  };

  // Under the old key.
  const before = await run({}, async (w) => {
    const c = consentCookie(await postForm(w, { action: 'accept_all' }));
    const s = await (await w.fetch('/_consent/state', { headers: { cookie: c } })).json();
    return { cookie: c, id: s.id, givenAt: s.given_at, keys: await allKeys(w.kv(), `rec:${s.id}:`) };
  });
  const { id, givenAt, keys: [first] } = before;
  let { cookie } = before;

  // The new key, the old one kept as the previous: the new record is sealed under the new key only.
  const rotating = { RECORD_ENCRYPTION_KEY: NEW, RECORD_ENCRYPTION_KEY_PREVIOUS: OLD };
  await run(rotating, async (w) => {
    const health = await (await w.fetch('/_consent/health')).json();
    assert.deepEqual([health.status, health.problems], ['ok', []]);
    cookie = consentCookie(await postForm(w, { action: 'reject_all' }, { cookie }));
    const raw = await Promise.all((await allKeys(w.kv(), `rec:${id}:`)).map((k) => w.kv().get(k.name)));
    assert.deepEqual(raw.map((r) => r.split('.').slice(0, 2).join('.')), [`v2.${keyId(OLD)}`, `v2.${keyId(NEW)}`], 'each record names its key');
    const records = await download(w, cookie);
    assert.deepEqual(records.map((r) => [r.id, r.method]), [[id, 'accept_all'], [id, 'reject_all']]);
    // The operator's tool opens it too, given both keys, and names the key it lacks.
    assert.equal(openRecord(raw[0], first.name, [NEW, OLD]).method, 'accept_all');
    assert.throws(() => openRecord(raw[0], first.name, NEW), new RegExp(`sealed under record key ${keyId(OLD)}`));
  });

  // The previous key gone (unset, or set but malformed: an error in health, ignored).
  for (const previous of [undefined, 'not base64!']) {
    await run({ RECORD_ENCRYPTION_KEY: NEW, ...(previous ? { RECORD_ENCRYPTION_KEY_PREVIOUS: previous } : {}) }, async (w) => {
      const health = await (await w.fetch('/_consent/health')).json();
      assert.deepEqual(health.problems.map((p) => [p.setting, p.severity]), previous ? [['RECORD_ENCRYPTION_KEY_PREVIOUS', 'error']] : []);
      const [gone, kept] = await download(w, cookie);
      assert.deepEqual(gone, {
        unreadable: true,
        key: first.name,
        at: givenAt,
        at_ms: Date.parse(givenAt),
        key_id: keyId(OLD),
        error: `sealed under record key ${keyId(OLD)}, which is no longer held`,
      });
      assert.equal(kept.method, 'reject_all');
    });
  }

  // Back with the previous key, erasure finds both records and both day index entries.
  await run(rotating, async (w) => {
    const erased = await w.fetch('/_consent/records', { method: 'DELETE', headers: { cookie, 'sec-fetch-site': 'same-origin' } });
    assert.deepEqual(await erased.json(), { erased: 2 });
    assert.deepEqual((await allKeys(w.kv())).map((k) => k.name.split(':')[0]), ['erasure'], 'no record and no day index entry left');
  });
});
