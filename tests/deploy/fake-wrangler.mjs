#!/usr/bin/env node
// A stand-in for wrangler in tests/deploy: records each call (its arguments and the CI and
// SIVO_VERSION it saw) in $FAKE_WRANGLER_DIR/calls.jsonl and answers from
// $FAKE_WRANGLER_DIR/scenario.json, as the real one answers the commands scripts/deploy.sh runs.
// Nothing here reaches the network.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.FAKE_WRANGLER_DIR;
const args = process.argv.slice(2);
fs.appendFileSync(path.join(dir, 'calls.jsonl'), `${JSON.stringify({ args, ci: process.env.CI ?? null, sivoVersion: process.env.SIVO_VERSION ?? null })}\n`);
const s = JSON.parse(fs.readFileSync(path.join(dir, 'scenario.json'), 'utf8'));
const cmd = args.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');
const out = (v) => process.stdout.write(`${typeof v === 'string' ? v : JSON.stringify(v, null, 2)}\n`);
const fail = (msg) => {
  process.stderr.write(`✘ [ERROR] ${msg}\n`);
  process.exit(1);
};

switch (true) {
  case cmd === 'secret list':
    if (s.workerExists === false) fail(`Worker "${s.worker}" not found.`);
    out((s.secrets ?? []).map((name) => ({ name, type: 'secret_text' })));
    break;
  case cmd === 'd1 list':
    out(s.d1 ?? []);
    break;
  case cmd === 'd1 create':
    out('✅ Successfully created DB');
    break;
  case cmd === 'kv namespace':
    out(s.kv ?? []);
    break;
  case cmd === 'd1 migrations':
    if (s.failMigrations) fail('Migration 0002 failed');
    out('✅ migrations applied');
    break;
  case cmd === 'deployments status':
    if (!s.deployment) fail(`The Worker ${s.worker} has no deployments.`);
    out(s.deployment);
    break;
  case cmd === 'versions view': {
    const id = args[2];
    out({ id, annotations: s.versionTags?.[id] ? { 'workers/tag': s.versionTags[id], 'workers/message': 'x' } : {} });
    break;
  }
  case cmd === 'versions upload':
    fs.appendFileSync(process.env.WRANGLER_OUTPUT_FILE_PATH, `${JSON.stringify({ type: 'version-upload', version: 1, version_id: s.newVersion })}\n`);
    out(`Worker Version ID: ${s.newVersion}`);
    break;
  case cmd === 'versions deploy':
    out('SUCCESS  Deployed');
    break;
  default:
    fail(`fake wrangler: no answer for ${args.join(' ')}`);
}
