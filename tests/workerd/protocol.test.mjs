// The protocol between the JavaScript entry and wasm (src/protocol.rs, read and checked by
// src/js/protocol.mjs): a build whose halves disagree fails at load, naming what is missing;
// the real build's halves agree; and every request, page or own route, is read once and ends
// in exactly one log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useSite } from '../support/site.mjs';
import { readProtocol } from '../../src/js/protocol.mjs';
import { signedCookie } from '../support/consent.mjs';

// A stand-in for the wasm exports, shaped as the real build's protocol() answers.
function fakeWasm(edit = (p) => p) {
  const description = {
    route: { own: 1, changed: 8, originShift: 1, originMask: 3, offsetShift: 4, noOffset: 2 ** 28 - 1 },
    origin: { demo: 0, route: 1, url: 2 },
    prepared: { asIs: 0, withHeaders: 1, rewrite: 2, refused: 3, sniff: 4 },
    body: { gunzip: 128, sniffBytes: 1445 },
    originFailure: { timeout: 0, unreachable: 1, misconfigured: 2, internal: 3 },
    chunk: { hold: 0, drop: 1, pass: 2, release: 3, filter: 4 },
    inline: { actionShift: 28, stateMask: 2 ** 28 - 1, scriptStart: 0, styleStart: 2 ** 26 },
    separator: '\n',
    separatorInValue: '\t',
    requestHeaders: ['cookie'],
    responseHeaders: ['content-type'],
    selectors: { stripElements: 'script', stripInline: 'script', stripStyle: 'style', ownTagElements: 'script', ownTagInline: 'script' },
    matchOverlap: 64,
    originTimeoutMs: 20000,
  };
  const fn = () => {};
  const wasm = { pageFor: fn, originBase: fn, elementEdits: fn, inlineStep: fn, filterCss: fn, loadsTag: fn, runScheduled: fn, protocol: () => JSON.stringify(edit(description)) };
  class Page {}
  for (const m of ['route', 'own', 'originUrl', 'outbound', 'prepare', 'sniffed', 'headerEdits', 'refusal', 'fail', 'choices', 'strip', 'consentMode', 'loaders', 'noscript', 'banner', 'style', 'link', 'finish', 'free']) {
    Page.prototype[m] = fn;
  }
  return { wasm, Page };
}

test('a complete protocol is read as it is', () => {
  const { wasm, Page } = fakeWasm();
  assert.equal(readProtocol(wasm, Page).prepared.rewrite, 2);
});

test('a missing export or Page method fails at load, naming it', () => {
  const { wasm, Page } = fakeWasm();
  delete wasm.inlineStep;
  delete Page.prototype.own;
  assert.throws(() => readProtocol(wasm, Page), /disagree: missing exports: function inlineStep, Page\.own/);
});

test('a renamed, removed or retyped part of the description fails at load, naming each', () => {
  const { wasm, Page } = fakeWasm((p) => {
    delete p.prepared.rewrite;
    p.prepared.rewritten = 2;
    p.chunk.hold = '0';
    delete p.selectors.stripInline;
    p.separator = '';
    p.requestHeaders = [];
    return p;
  });
  assert.throws(
    () => readProtocol(wasm, Page),
    (e) => ['prepared.rewrite (number)', 'chunk.hold (number)', 'selectors.stripInline (string)', 'separator', 'requestHeaders']
      .every((part) => e.message.includes(part)),
  );
});

test('a description that is not JSON fails at load', () => {
  const { wasm, Page } = fakeWasm();
  wasm.protocol = () => 'not json';
  assert.throws(() => readProtocol(wasm, Page), /protocol\(\) is not JSON/);
});

const site = useSite();

test("the real build's halves agree: pages, own routes and failures are each answered with one log line", async () => {
  const cookie = signedCookie({ analytics: true, marketing: false });
  const before = site.worker.jsonLogs().length;
  const page = await site.worker.fetch('/page', { headers: { cookie } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /_consent\/preferences/);
  const state = await site.worker.fetch('/_consent/state', { headers: { cookie, 'cf-connecting-ip': '203.0.113.9' } });
  assert.equal(state.status, 200);
  const body = await state.json();
  assert.equal(body.decided, true);
  assert.equal(body.analytics, true);
  const missing = await site.worker.fetch('/_consent/nope');
  assert.equal(missing.status, 404);
  const lines = site.worker.jsonLogs().slice(before).filter((l) => l.msg === 'request');
  assert.deepEqual(lines.map((l) => [l.path, l.status]), [['/page', 200], ['/_consent/state', 200], ['/_consent/nope', 404]]);
  assert.equal(lines[1].consent, 'analytics', "the own route's line carries the consent its one reading found");
  assert.equal(lines[1].ip, '203.0.113.0');
});

test('a decision is logged once with the consent it leaves, and counted once', async () => {
  const before = site.worker.jsonLogs().length;
  const res = await site.worker.fetch('/_consent', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify({ analytics: false, marketing: false }),
  });
  assert.equal(res.status, 200);
  const lines = site.worker.jsonLogs().slice(before).filter((l) => l.msg === 'request');
  assert.equal(lines.length, 1);
  assert.equal(lines[0].consent, 'rejected');
  // Written after the response (waitUntil): wait for it, then make sure no second count follows.
  const counted = async () => (await site.worker.db().prepare('SELECT SUM(decisions) AS n FROM decisions').first()).n ?? 0;
  for (let i = 0; i < 40 && (await counted()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await counted(), 1, 'the decision is counted exactly once');
});
