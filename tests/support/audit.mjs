// The dashboard's audit log as the tests check it, independently of the worker's code.
import crypto from 'node:crypto';
import { AUDIT_LOG_KEY } from './worker.mjs';

/** The `prev_hash` of the first entry. */
export const GENESIS = '0'.repeat(64);

/**
 * The keyed hash of an audit entry, as crates/consent-core/src/dashboard/audit.rs computes it:
 * HMAC-SHA256 under AUDIT_LOG_KEY itself (no key derived from another) of a context line, the
 * position, the count and each text field length-prefixed, the hash before it last.
 */
export function entryHash(e, key = AUDIT_LOG_KEY) {
  const parts = [Buffer.from('sivo-consent audit log v2\n')];
  const u64 = (n) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  parts.push(u64(e.seq), u64(e.count));
  for (const field of [e.at, e.who, e.role, e.action, e.target, e.ip, e.prev_hash]) {
    const bytes = Buffer.from(field, 'utf8');
    parts.push(u64(bytes.length), bytes);
  }
  return crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(Buffer.concat(parts)).digest('hex');
}
