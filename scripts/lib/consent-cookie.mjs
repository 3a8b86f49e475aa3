// The consent cookie as the worker signs it, for the tests and the benchmark: one place for
// its name and its format (crates/consent-core/src/consent/cookie.rs is the original).
import crypto from 'node:crypto';

/** The name of the consent cookie. */
export const COOKIE_NAME = '__Host-sivo_consent';

/** Its name before the __Host- prefix: never read, only expired. */
export const LEGACY_COOKIE_NAME = 'sivo_consent';

/**
 * The `name=value` pair of a consent cookie signed with `key`: the payload
 * `v2|id|<analytics 0/1><marketing 0/1>|given ms|expires ms|records|policy` (`records`: the
 * recent record references, comma-separated), HMAC-SHA256 over 'sivo-consent cookie\n' +
 * payload, then base64url(payload) '.' base64url(tag).
 */
export function signConsentCookie({ id, analytics, marketing, givenAt, expiresAt, policy, records = [] }, key) {
  const payload = `v2|${id}|${analytics ? 1 : 0}${marketing ? 1 : 0}|${givenAt}|${expiresAt}|${records.join(',')}|${policy}`;
  const tag = crypto.createHmac('sha256', key).update('sivo-consent cookie\n').update(payload).digest();
  return `${COOKIE_NAME}=${Buffer.from(payload).toString('base64url')}.${tag.toString('base64url')}`;
}
