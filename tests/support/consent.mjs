// Reading what the worker wrote, the way an operator proving a consent would: the cookie,
// the records in KV (decrypted with the record key) and the day index.
import { SIGNING_KEY, RECORD_KEY } from './worker.mjs';
import { COOKIE_NAME, signConsentCookie } from '../../scripts/lib/consent-cookie.mjs';
import { openRecord as open } from '../../scripts/lib/records.mjs';

/** The whole Set-Cookie header (attributes included) that sets the consent cookie, if any. */
export function consentSetCookie(res) {
  return res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE_NAME}=`));
}

/** The `name=value` pair of the consent cookie in a response's Set-Cookie headers. */
export function consentCookie(res) {
  return consentSetCookie(res)?.split(';')[0];
}

/** Decrypts a stored record value read from `kvKey` (scripts/lib/records.mjs), by default with the tests' key. */
export function openRecord(stored, kvKey, key = RECORD_KEY) {
  return open(stored, kvKey, key);
}

/** Every key in the namespace, with metadata and expiration. */
export async function allKeys(kv, prefix = '') {
  const keys = [];
  let cursor;
  do {
    const page = await kv.list({ prefix, cursor });
    keys.push(...page.keys);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return keys;
}

/** The records of one consent id, decrypted, oldest first. */
export async function recordsOf(kv, id) {
  const keys = await allKeys(kv, `rec:${id}:`);
  return Promise.all(keys.map(async (k) => ({ key: k, record: openRecord(await kv.get(k.name), k.name) })));
}

/** A consent cookie signed with the test key, for cookies the worker would never issue. */
export function signedCookie({ id = 'ab'.repeat(16), analytics = true, marketing = true, givenAt = Date.now(), expiresAt = Date.now() + 86_400_000, policy = '1', key = SIGNING_KEY }) {
  return signConsentCookie({ id, analytics, marketing, givenAt, expiresAt, policy }, key);
}

/** Posts a form to /_consent as the banner does, from a same-origin page. */
export function postForm(worker, fields, headers = {}) {
  return worker.fetch('/_consent', {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', origin: 'https://sivocenter.com', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}
