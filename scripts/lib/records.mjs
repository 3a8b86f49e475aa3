// Opening a proof record as the worker stored it in KV: AES-256-GCM under
// RECORD_ENCRYPTION_KEY, the KV key as additional data, stored as base64(nonce 12 B ||
// ciphertext || tag 16 B). Used by scripts/prove-consent.mjs (the operator's tool); the
// tests and the load test read records with it too.
import crypto from 'node:crypto';

/** Decrypts a stored record value read from `kvKey` with the base64 record key `key`. */
export function openRecord(stored, kvKey, key) {
  const bytes = Buffer.from(stored, 'base64');
  const nonce = bytes.subarray(0, 12);
  const tag = bytes.subarray(bytes.length - 16);
  const ciphertext = bytes.subarray(12, bytes.length - 16);
  const decipher = crypto.createDecipheriv('aes-256-gcm', Buffer.from(key, 'base64'), nonce);
  decipher.setAAD(Buffer.from(kvKey));
  decipher.setAuthTag(tag);
  return JSON.parse(Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8'));
}
