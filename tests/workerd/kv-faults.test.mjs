// Workers KV failing under the built worker, in workerd: the worker's CONSENT_KV is a wrapper
// over the real local namespace whose put, get, list or delete rejects on command
// (startWorker({ kvFaults: true })). What the visitor gets, what the log says and what is left in
// the real store underneath are checked for each fault. The rules themselves are also tested
// natively over MemoryStore (crates/consent-core); this is the same over the real binding path.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from '../support/origin.mjs';
import { startWorker } from '../support/worker.mjs';
import { consentCookie, allKeys, recordsOf, postForm } from '../support/consent.mjs';
import { COOKIE_NAME } from '../../scripts/lib/consent-cookie.mjs';

const BANNER = 'data-consent-banner';
const HTML = 'text/html,application/xhtml+xml,*/*;q=0.8';
// No log line holds a consent id (README, "Logs"): it names a visitor's records.
const NO_CONSENT_ID = /(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])/;
let origin;
let worker;

before(async () => {
  origin = await startOrigin();
  worker = await startWorker({ origin: origin.url, kvFaults: true });
});
after(async () => {
  await worker?.close();
  await origin?.close();
});
beforeEach(async () => {
  await worker.kvFaults({});
});

/** The keys in the real store, by kind. */
async function counts() {
  const keys = await allKeys(worker.kv());
  const by = (prefix) => keys.filter((k) => k.name.startsWith(prefix)).map((k) => k.name);
  return { rec: by('rec:'), day: by('day:'), erasure: by('erasure:') };
}

/** The request log lines printed since `mark` (a jsonLogs() length). */
function requestLogsSince(mark) {
  return worker.jsonLogs().slice(mark).filter((l) => l.msg === 'request');
}

async function stateOf(cookie) {
  return (await worker.fetch('/_consent/state', { headers: { cookie } })).json();
}

/** A visitor with two records under one id: an acceptance, then a refusal. */
async function visitorWithTwoRecords() {
  const first = await postForm(worker, { action: 'accept_all' });
  assert.equal(first.status, 303);
  const second = await postForm(worker, { action: 'reject_all' }, { cookie: consentCookie(first) });
  assert.equal(second.status, 303);
  const cookie = consentCookie(second);
  const { id } = await stateOf(cookie);
  assert.equal((await recordsOf(worker.kv(), id)).length, 2);
  return { cookie, id };
}

const erase = (cookie) => worker.fetch('/_consent/records', { method: 'DELETE', headers: { cookie, 'sec-fetch-site': 'same-origin' } });

function assertConsentCookieKept(res) {
  const touched = res.headers.getSetCookie().filter((c) => c.startsWith(`${COOKIE_NAME}=`));
  assert.deepEqual(touched, [], 'the visitor keeps the cookie that names their records, so they can retry');
}

test('the wrapper is transparent when healed: a decision writes its two keys through it', async () => {
  const before = await counts();
  const res = await postForm(worker, { action: 'accept_all' });
  assert.equal(res.status, 303);
  const after = await counts();
  assert.equal(after.rec.length, before.rec.length + 1);
  assert.equal(after.day.length, before.day.length + 1);
  const { calls } = await worker.kvFaults();
  assert.equal(calls.put, 2, 'both writes went through the wrapper, none around it');
});

test('put fails: a consent is refused with 503 and no cookie, a refusal is honoured, nothing is written', async () => {
  await worker.kvFaults({ put: true });
  const before = await counts();
  const mark = worker.jsonLogs().length;

  const page = await postForm(worker, { action: 'accept_all', return_to: '/page' }, { accept: HTML, 'accept-language': 'en' });
  assert.equal(page.status, 503);
  assert.equal(page.headers.get('retry-after'), '5');
  assert.match(page.headers.get('content-type'), /text\/html/);
  assert.match(await page.text(), /Your choice was not saved/);
  assert.equal(consentCookie(page), undefined, 'no proof, no consent');

  const json = await postForm(worker, { action: 'save', analytics: 'on' }, { 'accept-language': 'es' });
  assert.equal(json.status, 503);
  assert.equal((await json.json()).error, 'not_recorded');
  assert.equal(consentCookie(json), undefined);

  const refusal = await postForm(worker, { action: 'reject_all', return_to: '/page' });
  assert.equal(refusal.status, 303, 'refusing must never fail');
  assert.equal(refusal.headers.get('location'), '/page');
  const refused = consentCookie(refusal);
  assert.ok(refused, 'the refusal cookie is set');
  const state = await stateOf(refused);
  assert.deepEqual([state.decided, state.analytics, state.marketing], [true, false, false]);

  const lines = requestLogsSince(mark).filter((l) => l.method === 'POST');
  assert.deepEqual(lines.map((l) => [l.status, l.level]), [[503, 'error'], [503, 'error'], [303, 'error']]);
  for (const line of lines) {
    assert.match(line.error, /^decision not recorded: /, line.error);
    assert.doesNotMatch(JSON.stringify(line), NO_CONSENT_ID, 'no consent id in the log');
  }
  assert.ok(!JSON.stringify(worker.logs).includes(state.id), 'the refusal’s consent id is in no log line');

  assert.deepEqual(await counts(), before, 'nothing written, nothing half-written');
  const { failed } = await worker.kvFaults();
  assert.equal(failed.put, 3, 'each decision tried its first write once');
});

test('put fails on the day index: the record is rolled back, the consent refused, the refusal honoured', async () => {
  const before = await counts();
  const mark = worker.jsonLogs().length;
  await worker.kvFaults({ put: { after: 1 } });
  const consent = await postForm(worker, { action: 'accept_all' });
  assert.equal(consent.status, 503);
  assert.equal(consentCookie(consent), undefined);
  const { calls } = await worker.kvFaults({ put: { after: 1 } });
  assert.deepEqual([calls.put, calls.delete], [2, 1], 'record written, index refused, record deleted again');
  const refusal = await postForm(worker, { action: 'reject_all' });
  assert.equal(refusal.status, 303);
  assert.ok(consentCookie(refusal));
  const lines = requestLogsSince(mark).filter((l) => l.method === 'POST');
  assert.equal(lines.length, 2);
  for (const line of lines) {
    assert.equal(line.level, 'error');
    assert.match(line.error, /^decision not recorded: /);
    assert.doesNotMatch(JSON.stringify(line), NO_CONSENT_ID);
    assert.match(line.error, /record rolled back/);
  }
  assert.deepEqual(await counts(), before, 'no record without its index entry');
});

test('put and the rollback both fail: nothing claims success, and the log names the record left behind', async () => {
  const before = await counts();
  const mark = worker.jsonLogs().length;
  await worker.kvFaults({ put: { after: 1 }, delete: true });
  const consent = await postForm(worker, { action: 'accept_all' });
  assert.equal(consent.status, 503);
  assert.equal(consentCookie(consent), undefined);
  await worker.kvFaults({});
  const [line] = requestLogsSince(mark).filter((l) => l.method === 'POST');
  assert.equal(line.level, 'error');
  assert.match(line.error, /could not be rolled back/);
  // KV has no transactions: a record whose index write and rollback both failed stays. What
  // must hold is that the operator can find it, without the log holding a consent id: the log
  // names the key as rec:*:<reference>, and exactly one key ends in that reference.
  const after = await counts();
  const left = after.rec.filter((k) => !before.rec.includes(k));
  assert.equal(left.length, 1);
  assert.doesNotMatch(JSON.stringify(line), NO_CONSENT_ID);
  const [, reference] = /rec:\*:(\d{13}-[0-9a-f]{8})/.exec(line.error) ?? [];
  assert.ok(reference, `the log names the key by its reference: ${line.error}`);
  assert.deepEqual(after.rec.filter((k) => k.endsWith(`:${reference}`)), left);
  await worker.kv().delete(left[0]);
});

test('pages never touch KV: with every KV call failing, pages are served, with the banner when undecided', async () => {
  const decided = consentCookie(await postForm(worker, { action: 'save', analytics: 'on' }));
  await worker.kvFaults({ put: true, get: true, list: true, delete: true });
  const mark = worker.jsonLogs().length;
  const undecided = await worker.fetch('/page', { headers: { 'accept-encoding': 'identity' } });
  assert.equal(undecided.status, 200);
  assert.ok((await undecided.text()).includes(BANNER));
  const returning = await worker.fetch('/page', { headers: { cookie: decided, 'accept-encoding': 'identity' } });
  assert.equal(returning.status, 200);
  assert.ok(!(await returning.text()).includes(BANNER));
  const image = await worker.fetch('/image.png');
  assert.equal(image.status, 200);
  await image.arrayBuffer();
  assert.equal((await worker.fetch('/_consent/state', { headers: { cookie: decided } })).status, 200);
  assert.equal((await worker.fetch('/_consent/preferences', { headers: { cookie: decided } })).status, 200);
  const { calls } = await worker.kvFaults();
  assert.deepEqual(Object.values(calls).reduce((a, b) => a + b, 0), 0, 'not one KV call');
  assert.ok(requestLogsSince(mark).every((l) => l.level === 'info'));
});

test('list fails: the download and the erasure answer 503 and nothing claims success', async () => {
  const { cookie, id } = await visitorWithTwoRecords();
  const before = await counts();
  await worker.kvFaults({ list: true });
  const mark = worker.jsonLogs().length;

  const download = await worker.fetch('/_consent/records', { headers: { cookie } });
  assert.equal(download.status, 503);
  assert.equal(download.headers.get('content-disposition'), null, 'no (empty) file offered');
  const body = await download.json();
  assert.equal(body.error, 'unavailable');
  assert.equal(body.records, undefined);

  const erased = await erase(cookie);
  assert.equal(erased.status, 503);
  assert.equal((await erased.json()).error, 'unavailable');
  assertConsentCookieKept(erased);

  const form = await worker.fetch('/_consent/records', {
    method: 'POST', redirect: 'manual',
    headers: { cookie, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded', accept: HTML, 'accept-language': 'es' },
    body: 'action=erase',
  });
  assert.equal(form.status, 503, 'no 303 to "?erased"');
  assert.equal(form.headers.get('location'), null);
  assert.match(await form.text(), /Ahora no podemos acceder a tus registros/);
  assertConsentCookieKept(form);

  const lines = requestLogsSince(mark);
  assert.deepEqual(lines.map((l) => [l.status, l.level]), [[503, 'error'], [503, 'error'], [503, 'error']]);
  for (const line of lines) {
    assert.match(line.error, /listing a visitor's records/, line.error.slice(0, 120));
    assert.ok(!JSON.stringify(line).includes(id), `no consent id in the log: ${line.error.slice(0, 120)}`);
  }
  assert.deepEqual(await counts(), before, 'nothing erased, nothing noted as erased');
});

test('get fails: the download answers 503, never a file with records missing', async () => {
  const { cookie } = await visitorWithTwoRecords();
  await worker.kvFaults({ get: { after: 1 } });
  const download = await worker.fetch('/_consent/records', { headers: { cookie } });
  assert.equal(download.status, 503);
  assert.equal((await download.json()).error, 'unavailable');
});

test('delete fails: the erasure answers 503 `unavailable`, not 200; a retry after the fault clears erases everything', async () => {
  const { cookie, id } = await visitorWithTwoRecords();
  const before = await counts();
  await worker.kvFaults({ delete: true });
  const failed = await erase(cookie);
  assert.equal(failed.status, 503);
  assert.equal((await failed.json()).error, 'unavailable');
  assertConsentCookieKept(failed);
  assert.deepEqual(await counts(), before, 'nothing deleted, no erasure entry');

  await worker.kvFaults({});
  const retried = await erase(cookie);
  assert.equal(retried.status, 200);
  assert.deepEqual(await retried.json(), { erased: 2 });
  const after = await counts();
  assert.equal((await recordsOf(worker.kv(), id)).length, 0, 'no record of the id left');
  assert.equal(after.rec.length, before.rec.length - 2);
  assert.equal(after.day.length, before.day.length - 2, 'and their day index entries');
  assert.equal(after.erasure.length, before.erasure.length + 1, 'one erasure entry');
});

test('erasure is idempotent: erasing again, with the same cookie, answers 0 and writes nothing to KV', async () => {
  const { cookie } = await visitorWithTwoRecords();
  assert.deepEqual(await (await erase(cookie)).json(), { erased: 2 });
  const before = await counts();
  await worker.kvFaults({});
  for (let i = 0; i < 3; i++) {
    const again = await erase(cookie);
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { erased: 0 });
  }
  const { calls } = await worker.kvFaults();
  assert.deepEqual([calls.put, calls.delete], [0, 0], 'no put, no delete');
  assert.deepEqual(await counts(), before, 'no second erasure entry');
});

test('delete fails half-way through an erasure: 503, and the retry finishes it', async () => {
  const { cookie, id } = await visitorWithTwoRecords();
  const before = await counts();
  const mark = worker.jsonLogs().length;
  await worker.kvFaults({ delete: { after: 1 } });
  const failed = await erase(cookie);
  assert.equal(failed.status, 503);
  assert.equal((await failed.json()).error, 'unavailable');
  assertConsentCookieKept(failed);
  const [line] = requestLogsSince(mark);
  assert.match(line.error, /retry to finish/);
  const half = await counts();
  assert.equal(half.rec.length, before.rec.length, 'the record whose index entry went is still there');
  assert.equal(half.day.length, before.day.length - 1);

  await worker.kvFaults({});
  const retried = await erase(cookie);
  assert.equal(retried.status, 200);
  assert.deepEqual(await retried.json(), { erased: 2 });
  const after = await counts();
  assert.equal((await recordsOf(worker.kv(), id)).length, 0);
  assert.equal(after.day.length, before.day.length - 2);
  assert.equal(after.erasure.length, before.erasure.length + 1);
});

test('put fails during an erasure: the records are erased and said so; the log says the erasure entry was not kept', async () => {
  const { cookie, id } = await visitorWithTwoRecords();
  const before = await counts();
  const mark = worker.jsonLogs().length;
  await worker.kvFaults({ put: true });
  const res = await erase(cookie);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { erased: 2 });
  assert.ok(res.headers.getSetCookie().some((c) => c.startsWith(`${COOKIE_NAME}=;`) || (c.startsWith(`${COOKIE_NAME}=`) && /Max-Age=0/.test(c))), 'the consent cookie is expired');
  const after = await counts();
  assert.equal((await recordsOf(worker.kv(), id)).length, 0);
  assert.equal(after.day.length, before.day.length - 2);
  assert.equal(after.erasure.length, before.erasure.length, 'no erasure entry could be kept');
  const [line] = requestLogsSince(mark);
  assert.equal(line.level, 'error');
  assert.match(line.error, /^records erased, but the erasure entry was not kept/);
  assert.ok(!JSON.stringify(line).includes(id), 'no consent id in the log');
});

// Found by the load test (tests/load/load.mjs): the erasure entry's key was `erasure:<day>:<ms>`, so two erasures in
// the same millisecond wrote the same key and one erasure left no trace. The key now carries 8
// hex digits of the id's hash.
test('concurrent erasures each keep their own erasure entry', async () => {
  const visitors = [];
  for (let i = 0; i < 8; i++) {
    const res = await postForm(worker, { action: 'reject_all' });
    visitors.push(consentCookie(res));
  }
  const before = await counts();
  const answers = await Promise.all(visitors.map((cookie) => erase(cookie)));
  assert.deepEqual(answers.map((r) => r.status), Array(8).fill(200));
  const after = await counts();
  assert.equal(after.rec.length, before.rec.length - 8, 'every record erased');
  assert.equal(after.erasure.length, before.erasure.length + 8, `${after.erasure.length - before.erasure.length} erasure entries for 8 erasures`);
});
