#!/usr/bin/env node
// Shows the proof records of one consent id, decrypted: what was chosen, when, how, under
// which policy and banner. Reads KV through wrangler (local state by default, --remote for
// the deployed namespace) and decrypts with RECORD_ENCRYPTION_KEY from the environment, and
// with RECORD_ENCRYPTION_KEY_PREVIOUS too for records sealed before a key rotation. A record
// that opens under neither is listed with its date and why, and the exit status is 1.
//
//   RECORD_ENCRYPTION_KEY=... [RECORD_ENCRYPTION_KEY_PREVIOUS=...] node scripts/prove-consent.mjs <consent-id> [--remote] [--env production]
import { execFileSync } from 'node:child_process';
import { keyId, openRecord } from './lib/records.mjs';

const [id, ...flags] = process.argv.slice(2);
if (!/^[0-9a-f]{32}$/.test(id ?? '')) {
  console.error('usage: RECORD_ENCRYPTION_KEY=<base64> [RECORD_ENCRYPTION_KEY_PREVIOUS=<base64>] node scripts/prove-consent.mjs <32-hex consent id> [--remote] [--env production]');
  process.exit(2);
}
const key = process.env.RECORD_ENCRYPTION_KEY || (flags.includes('--remote') ? '' : Buffer.from('sivo-consent dev record key 32by').toString('base64'));
if (!key) {
  console.error('set RECORD_ENCRYPTION_KEY (the secret the worker encrypts with)');
  process.exit(2);
}
const keys = [key, process.env.RECORD_ENCRYPTION_KEY_PREVIOUS].filter(Boolean);
for (const k of keys) {
  if (Buffer.from(k, 'base64').length !== 32) {
    console.error(`a record key must be 32 bytes in base64 (key ${keyId(k)} is not)`);
    process.exit(2);
  }
}
const where = flags.includes('--remote') ? ['--remote'] : ['--local'];
const envIndex = flags.indexOf('--env');
if (envIndex >= 0) where.push('--env', flags[envIndex + 1]);
const wrangler = (...args) => execFileSync('npx', ['wrangler', 'kv', ...args, '--binding', 'CONSENT_KV', ...where], { encoding: 'utf8' });

const listed = JSON.parse(wrangler('key', 'list', '--prefix', `rec:${id}:`));
if (listed.length === 0) {
  console.log(`no records for ${id} (never given, erased, or expired)`);
  process.exit(1);
}
let unreadable = 0;
for (const k of listed) {
  const stored = wrangler('key', 'get', k.name, '--text');
  try {
    console.log(JSON.stringify({ key: k.name, kv_expiration: k.expiration, record: openRecord(stored, k.name, keys) }, null, 2));
  } catch (e) {
    unreadable += 1;
    const at = Number(k.name.split(':').at(-1).split('-')[0]);
    console.log(JSON.stringify({ key: k.name, kv_expiration: k.expiration, unreadable: true, at: Number.isFinite(at) ? new Date(at).toISOString() : null, error: e.message }, null, 2));
  }
}
if (unreadable > 0) {
  console.error(`${unreadable} of ${listed.length} records did not open under the key(s) given (${keys.map(keyId).join(', ')})`);
  process.exit(1);
}
