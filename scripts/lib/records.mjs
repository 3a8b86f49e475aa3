// Opening a proof record as the worker stored it in KV: AES-256-GCM, stored as
// `v2.<key id>.<base64(nonce 12 B || ciphertext || tag 16 B)>`, where the key id names the
// record key it was sealed under (crates/consent-core/src/proof/record.rs, `KeyId`) and
// `v2.<key id>.<KV key>` is the additional data; records sealed before key ids are the bare
// base64 with the KV key alone as additional data. Used by scripts/prove-consent.mjs (the
// operator's tool); the tests and the load test read records with it too.
import crypto from 'node:crypto';

/** The id of a base64 record key: the first 8 bytes of SHA-256 over a label and the key, in hex. */
export function keyId(key) {
  return crypto.createHash('sha256').update('sivo-consent record key id\n').update(Buffer.from(key, 'base64')).digest().subarray(0, 8).toString('hex');
}

function decrypt(body, aad, key) {
  const bytes = Buffer.from(body, 'base64');
  const nonce = bytes.subarray(0, 12);
  const tag = bytes.subarray(bytes.length - 16);
  const ciphertext = bytes.subarray(12, bytes.length - 16);
  const decipher = crypto.createDecipheriv('aes-256-gcm', Buffer.from(key, 'base64'), nonce);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(tag);
  return JSON.parse(Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8'));
}

/**
 * Decrypts a stored record value read from `kvKey` with `keys`: one base64 record key, or
 * several (the current key and the previous one). A record naming its key is opened with the
 * key of that id, and throws naming it when none of `keys` is; an older record is tried under
 * each key in turn.
 */
export function openRecord(stored, kvKey, keys) {
  const given = (Array.isArray(keys) ? keys : [keys]).filter(Boolean);
  const named = /^v2\.([0-9a-f]{16})\.(.*)$/s.exec(stored.trim());
  if (named) {
    const [, id, body] = named;
    const key = given.find((k) => keyId(k) === id);
    if (!key) throw new Error(`sealed under record key ${id}, which is none of the keys given (${given.map(keyId).join(', ')})`);
    return decrypt(body, `v2.${id}.${kvKey}`, key);
  }
  let failure = new Error('no record key given');
  for (const key of given) {
    try {
      return decrypt(stored.trim(), kvKey, key);
    } catch (e) {
      failure = e;
    }
  }
  throw failure;
}
