#!/usr/bin/env node
// Shows the proof records of one consent id, decrypted: what was chosen, when, how, under
// which policy and banner. Reads KV through wrangler (local state by default, --remote for
// the deployed namespace) and decrypts with RECORD_ENCRYPTION_KEY from the environment.
//
//   RECORD_ENCRYPTION_KEY=... node scripts/prove-consent.mjs <consent-id> [--remote] [--env production]
import { execFileSync } from 'node:child_process';
import { openRecord } from './lib/records.mjs';

const [id, ...flags] = process.argv.slice(2);
if (!/^[0-9a-f]{32}$/.test(id ?? '')) {
  console.error('usage: RECORD_ENCRYPTION_KEY=<base64> node scripts/prove-consent.mjs <32-hex consent id> [--remote] [--env production]');
  process.exit(2);
}
const key = process.env.RECORD_ENCRYPTION_KEY || (flags.includes('--remote') ? '' : Buffer.from('sivo-consent dev record key 32by').toString('base64'));
if (!key) {
  console.error('set RECORD_ENCRYPTION_KEY (the secret the worker encrypts with)');
  process.exit(2);
}
const where = flags.includes('--remote') ? ['--remote'] : ['--local'];
const envIndex = flags.indexOf('--env');
if (envIndex >= 0) where.push('--env', flags[envIndex + 1]);
const wrangler = (...args) => execFileSync('npx', ['wrangler', 'kv', ...args, '--binding', 'CONSENT_KV', ...where], { encoding: 'utf8' });

const keys = JSON.parse(wrangler('key', 'list', '--prefix', `rec:${id}:`));
if (keys.length === 0) {
  console.log(`no records for ${id} (never given, erased, or expired)`);
  process.exit(1);
}
for (const k of keys) {
  const stored = wrangler('key', 'get', k.name, '--text');
  console.log(JSON.stringify({ key: k.name, kv_expiration: k.expiration, record: openRecord(stored, k.name, key) }, null, 2));
}
