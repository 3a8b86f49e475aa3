// scripts/deploy.sh and its helpers (scripts/lib/deploy-config.mjs, deploy-smoke.mjs), offline:
// the dry run on the real wrangler.toml; each configuration fault on a temporary copy of it;
// the online steps against a stub wrangler (tests/deploy/fake-wrangler.mjs) and a loopback
// HTTP server standing in for the hosts. Nothing here reaches the network.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkConfig, REQUIRED_SECRETS } from '../../scripts/lib/deploy-config.mjs';
import { smoke, pageProblems } from '../../scripts/lib/deploy-smoke.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOML = fs.readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8');
const SHA = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
const FAKE = path.join(ROOT, 'tests/deploy/fake-wrangler.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-deploy-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Where the machine allows it (root, as in CI), the dry runs run with no network at all.
const canIsolate = (() => {
  try {
    execFileSync('unshare', ['-n', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Runs scripts/deploy.sh (with `offline`, in a network namespace of its own when the machine
 * allows one); resolves to { code, out } (stdout and stderr together).
 */
function deploy(args, { env = {}, stdin = 'ignore', offline = false } = {}) {
  return new Promise((resolve) => {
    const baseEnv = { ...process.env };
    delete baseEnv.CI;
    const script = path.join(ROOT, 'scripts/deploy.sh');
    const [cmd, argv] = offline && canIsolate ? ['unshare', ['-n', script, ...args]] : [script, args];
    const child = spawn(cmd, argv, { cwd: ROOT, env: { ...baseEnv, ...env }, stdio: [stdin, 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out: out.replace(/\u001b\[[0-9;]*m/g, '') }));
  });
}

let n = 0;
/** A copy of wrangler.toml with `edit` applied, in a temporary directory; returns its path. */
function configWith(edit) {
  const text = edit(TOML);
  assert.notEqual(text, TOML, 'the edit changed nothing: the test would prove nothing');
  const dir = path.join(tmp, `config-${++n}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'wrangler.toml'), text);
  return path.join(dir, 'wrangler.toml');
}
/** Replaces `from` inside the [env.production…] tables only. */
const inProduction = (from, to) => (t) => {
  const start = t.indexOf('[env.production]');
  const end = t.indexOf('[env.staging]');
  return t.slice(0, start) + t.slice(start, end).replace(from, to) + t.slice(end);
};

test(`the dry run passes offline${canIsolate ? ' (unshare -n: no network at all)' : ''} on wrangler.toml for production and staging, bundling the worker`, async () => {
  for (const env of ['production', 'staging']) {
    const { code, out } = await deploy(['--dry-run', '--env', env], { offline: true });
    assert.equal(code, 0, out);
    assert.match(out, /Total Upload: [\d.]+ KiB/);
    assert.match(out, new RegExp(`dry run passed for ${env}`));
  }
});

test('the dry run fails, naming it, on a placeholder id', async () => {
  const config = configWith(inProduction('{ binding = "CONSENT_KV" }', '{ binding = "CONSENT_KV", id = "REPLACE_WITH_PRODUCTION_KV_NAMESPACE_ID" }'));
  const { code, out } = await deploy(['--dry-run', '--env', 'production', '--config', config]);
  assert.notEqual(code, 0);
  assert.match(out, /problem: placeholder REPLACE_WITH_PRODUCTION_KV_NAMESPACE_ID at wrangler.toml:\d+/);
  assert.doesNotMatch(out, /Total Upload/, 'it stops before bundling');
});

test('the dry run fails, naming it, on a required secret left undeclared', async () => {
  const config = configWith(inProduction('"RECORD_ENCRYPTION_KEY", "AUDIT_LOG_KEY"]', '"RECORD_ENCRYPTION_KEY"]'));
  const { code, out } = await deploy(['--dry-run', '--env', 'production', '--config', config]);
  assert.notEqual(code, 0);
  assert.match(out, /problem: secret AUDIT_LOG_KEY is not declared: add it to required in \[env.production.secrets\]/);
});

test('the dry run fails, naming it, on a production var left out', async () => {
  const config = configWith(inProduction(/ORIGIN_URL = "route".*\n/, ''));
  const { code, out } = await deploy(['--dry-run', '--env', 'production', '--config', config]);
  assert.notEqual(code, 0);
  assert.match(out, /problem: var ORIGIN_URL is not set in \[env.production.vars\]/);
});

// The other footguns, each through the checker deploy.sh runs (no set-up, no bundling).
const faults = [
  ['another var left out', inProduction(/GA4_MEASUREMENT_ID = "".*\n/, ''), /var GA4_MEASUREMENT_ID is not set in \[env.production.vars\]/],
  ['ORIGIN_URL empty', inProduction(/ORIGIN_URL = "route"/, 'ORIGIN_URL = ""'), /ORIGIN_URL in \[env.production.vars\] must be "route" or an https:\/\/ URL, not ""/],
  ['ORIGIN_URL the demo', inProduction(/ORIGIN_URL = "route"/, 'ORIGIN_URL = "demo"'), /ORIGIN_URL .* not "demo"/],
  ['a placeholder D1 id', inProduction('database_name = "sivo-consent-production"', 'database_name = "sivo-consent-production"\ndatabase_id = "REPLACE_WITH_PRODUCTION_D1_DATABASE_ID"'), /placeholder REPLACE_WITH_PRODUCTION_D1_DATABASE_ID/],
  ['the local all-zero KV id', inProduction('{ binding = "CONSENT_KV" }', '{ binding = "CONSENT_KV", id = "00000000000000000000000000000000" }'), /CONSENT_KV id "0+" is not a real namespace id/],
  ['D1 outside the EU', inProduction('jurisdiction = "eu"\n', ''), /CONSENT_DB needs jurisdiction = "eu"/],
  ['invocation logs on', inProduction('invocation_logs = false', 'invocation_logs = true'), /invocation_logs must be false/],
  ['query strings kept', inProduction('redact_query_string = true', 'redact_query_string = false'), /redact_query_string must be true/],
  ['on workers.dev', inProduction(/workers_dev = false/, 'workers_dev = true'), /workers_dev must be false/],
  ['no route', inProduction(/routes = \[[^\]]*\]\n/, ''), /has no routes/],
  ['a wrangler warning', inProduction('[env.production.observability]\n', '[env.production.observability]\nsampling = 1\n'), /wrangler warns: .*Unexpected fields found in observability field: "sampling"/],
  ['no secrets table', inProduction(/\[env.production.secrets\]\nrequired = \[[^\]]*\]\n/, ''), /secret CONSENT_SIGNING_KEY is not declared/],
];
for (const [name, edit, expected] of faults) {
  test(`the configuration check fails on ${name}`, async () => {
    const { problems, facts } = await checkConfig(configWith(edit), 'production');
    assert.equal(facts, undefined);
    assert.ok(problems.some((p) => expected.test(p)), problems.join('\n'));
  });
}

test('the configuration check passes on wrangler.toml and names hosts, D1, KV and secrets', async () => {
  const { problems, facts } = await checkConfig(path.join(ROOT, 'wrangler.toml'), 'production');
  assert.deepEqual(problems, []);
  assert.deepEqual(facts.hosts, ['sivocenter.com', 'www.sivocenter.com']);
  assert.equal(facts.worker, 'sivo-consent-production');
  assert.equal(facts.d1_name, 'sivo-consent-production');
  assert.equal(facts.kv_title, 'sivo-consent-production-consent-kv');
  assert.deepEqual(facts.required_secrets, REQUIRED_SECRETS);
  const staging = await checkConfig(path.join(ROOT, 'wrangler.toml'), 'staging');
  assert.deepEqual(staging.problems, []);
  assert.deepEqual(staging.facts.hosts, ['staging.sivocenter.com']);
  assert.notEqual(staging.facts.d1_name, facts.d1_name, 'staging has its own database');
  const unknown = await checkConfig(path.join(ROOT, 'wrangler.toml'), 'prod');
  assert.match(unknown.problems.join('\n'), /no environment "prod"/);
});

// ---- the online steps, against the stub wrangler and a loopback host ----

const demoIndex = fs.readFileSync(path.join(ROOT, 'www/index.html'), 'utf8');
const gate = `<script nonce="N">window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag('consent','default',{ad_storage:'denied'});</script>`;
const link = '<a href="/_consent/preferences" id="sivo-settings" data-consent-settings lang="en">Cookie settings</a>';
const gated = (html) => html.replace('<head>', `<head>${gate}`).replace('</body>', `${link}</body>`);
const originPage = gated('<!doctype html><html><head><title>SIVO</title></head><body><h1>The real site</h1></body></html>');

/** The host the smoke test reaches: what it serves is set per test; requests are recorded. */
const host = { health: {}, page: originPage, requests: [] };
let server;
let base;
before(async () => {
  server = http.createServer((req, res) => {
    host.requests.push({ url: req.url, override: req.headers['cloudflare-workers-version-overrides'] ?? null });
    if (req.url === '/_consent/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(host.health));
    } else {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(host.page);
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => server?.close());

const healthy = (commit = SHA) => ({ status: 'ok', origin: 'route', development: false, problems: [], version: { commit } });
const NEW = '11111111-2222-4333-8444-555555555555';
const OLD = '99999999-8888-4777-8666-555555555555';

/** A stub wrangler for one run: `scenario` is what it answers; returns its recorded calls. */
function stub(scenario) {
  const dir = fs.mkdtempSync(path.join(tmp, 'wrangler-'));
  fs.writeFileSync(path.join(dir, 'scenario.json'), JSON.stringify({ worker: 'sivo-consent-production', newVersion: NEW, ...scenario }));
  return {
    env: { SIVO_WRANGLER: FAKE, FAKE_WRANGLER_DIR: dir, SIVO_SMOKE_TIMEOUT: '2' },
    calls() {
      const file = path.join(dir, 'calls.jsonl');
      return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];
    },
  };
}
const everything = {
  secrets: [...REQUIRED_SECRETS],
  d1: [{ uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', name: 'sivo-consent-production', jurisdiction: 'eu' }],
  kv: [{ id: 'ffffffffffffffffffffffffffffffff', title: 'sivo-consent-production-consent-kv' }],
  deployment: { id: 'd1', versions: [{ version_id: OLD, percentage: 100 }] },
  versionTags: { [OLD]: 'abcdef123456' },
};
const online = (extra = []) => ['--env', 'production', '--allow-dirty', '--yes', '--smoke-url', base, ...extra];
const verb = (c) => c.args.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');

test('online: migrations before the upload, the upload named by the commit, a gradual deploy beside the live version, then the smoke test', async () => {
  host.health = healthy();
  host.page = originPage;
  host.requests = [];
  const w = stub(everything);
  const { code, out } = await deploy(online(['--percentage', '10']), { env: w.env });
  assert.equal(code, 0, out);
  const calls = w.calls();
  assert.deepEqual(calls.map(verb), ['secret list', 'd1 list', 'kv namespace', 'd1 migrations', 'deployments status', 'versions view', 'versions upload', 'versions deploy']);
  for (const c of calls) assert.deepEqual(c.args.slice(-4), ['--env', 'production', '--config', 'wrangler.toml'], c.args.join(' '));
  const migrate = calls.find((c) => verb(c) === 'd1 migrations');
  assert.deepEqual(migrate.args.slice(0, 5), ['d1', 'migrations', 'apply', 'CONSENT_DB', '--remote']);
  const upload = calls.find((c) => verb(c) === 'versions upload');
  assert.equal(upload.args[upload.args.indexOf('--message') + 1], SHA);
  assert.equal(upload.args[upload.args.indexOf('--tag') + 1], SHA.slice(0, 12));
  assert.equal(upload.sivoVersion, SHA, 'the build compiles the commit in');
  const deployed = calls.find((c) => verb(c) === 'versions deploy');
  assert.deepEqual(deployed.args.slice(2, 4), [`${NEW}@10`, `${OLD}@90`]);
  assert.ok(deployed.args.includes('--yes'));
  // The smoke test asked the new version itself, on health and a page.
  assert.deepEqual(host.requests.map((r) => r.url), ['/_consent/health', '/']);
  for (const r of host.requests) assert.equal(r.override, `sivo-consent-production="${NEW}"`);
  assert.match(out, /smoke test passed/);
  assert.match(out, new RegExp(`scripts/wrangler.sh rollback ${OLD} --env production`));
});

test("online: a person's run keeps wrangler interactive (CI unset), a CI run keeps it unattended", async () => {
  host.health = healthy();
  host.page = originPage;
  const person = stub(everything);
  assert.equal((await deploy(online(), { env: person.env })).code, 0);
  for (const c of person.calls()) assert.equal(c.ci, null, `${verb(c)} saw CI=${c.ci}: every wrangler prompt would answer itself`);
  const ci = stub(everything);
  const { code, out } = await deploy(['--env', 'production', '--allow-dirty', '--smoke-url', base], { env: { ...ci.env, CI: 'true' } });
  assert.equal(code, 0, out);
  for (const c of ci.calls()) assert.equal(c.ci, 'true');
});

test('online: without a terminal, CI or --yes it asks for --yes instead of deploying', async () => {
  const w = stub(everything);
  const { code, out } = await deploy(['--env', 'production', '--allow-dirty', '--smoke-url', base], { env: w.env });
  assert.notEqual(code, 0);
  assert.match(out, /no terminal to ask on; pass --yes/);
  assert.ok(!w.calls().some((c) => verb(c) === 'versions upload'));
});

test('online: a missing secret stops the deploy with the commands that generate, store and put it', async () => {
  const w = stub({ ...everything, secrets: ['CONSENT_SIGNING_KEY', 'RECORD_ENCRYPTION_KEY'] });
  const { code, out } = await deploy(online(), { env: w.env });
  assert.notEqual(code, 0);
  assert.match(out, /required secrets are not set: AUDIT_LOG_KEY/);
  assert.match(out, /\(umask 077 && openssl rand -base64 32 > AUDIT_LOG_KEY\.production\.key\)/);
  assert.match(out, /store the content of AUDIT_LOG_KEY\.production\.key in the secret store/);
  assert.match(out, /scripts\/wrangler\.sh secret put AUDIT_LOG_KEY --env production < AUDIT_LOG_KEY\.production\.key/);
  assert.doesNotMatch(out, /openssl rand[^\n]*\|/, 'never piped straight into wrangler: no copy would be kept');
  assert.deepEqual(w.calls().map(verb), ['secret list']);
});

test('online: a Worker not created yet has no secrets, and the script says how to put them', async () => {
  const w = stub({ ...everything, workerExists: false });
  const { code, out } = await deploy(online(), { env: w.env });
  assert.notEqual(code, 0);
  assert.match(out, /required secrets are not set: CONSENT_SIGNING_KEY RECORD_ENCRYPTION_KEY AUDIT_LOG_KEY/);
});

test('online: a missing D1 database is created in the EU jurisdiction before the migrations; a first deploy goes to 100%', async () => {
  host.health = healthy();
  host.page = originPage;
  const w = stub({ ...everything, d1: [], kv: [], deployment: null });
  const { code, out } = await deploy(online(['--percentage', '5']), { env: w.env });
  assert.equal(code, 0, out);
  const calls = w.calls();
  const create = calls.find((c) => verb(c) === 'd1 create');
  assert.deepEqual(create.args.slice(0, 5), ['d1', 'create', 'sivo-consent-production', '--jurisdiction', 'eu']);
  assert.ok(calls.indexOf(create) < calls.findIndex((c) => verb(c) === 'd1 migrations'));
  assert.match(out, /KV namespace sivo-consent-production-consent-kv: none yet; wrangler creates it/);
  assert.deepEqual(calls.find((c) => verb(c) === 'versions deploy').args.slice(2, 3), [`${NEW}@100`]);
});

test('online: a D1 database outside the EU stops the deploy', async () => {
  const w = stub({ ...everything, d1: [{ uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', name: 'sivo-consent-production', jurisdiction: 'us' }] });
  const { code, out } = await deploy(online(), { env: w.env });
  assert.notEqual(code, 0);
  assert.match(out, /is in jurisdiction "us", not eu/);
  assert.ok(!w.calls().some((c) => verb(c) === 'd1 migrations'));
});

test('online: a failed migration uploads nothing', async () => {
  const w = stub({ ...everything, failMigrations: true });
  const { code, out } = await deploy(online(), { env: w.env });
  assert.notEqual(code, 0);
  assert.match(out, /the D1 migrations failed: nothing was uploaded or deployed/);
  assert.ok(!w.calls().some((c) => verb(c).startsWith('versions')));
});

test('online: the smoke test fails when the host serves the demo site, and prints the rollback', async () => {
  host.health = healthy();
  host.page = gated(demoIndex);
  const w = stub(everything);
  const { code, out } = await deploy(online(), { env: w.env });
  assert.notEqual(code, 0);
  assert.match(out, /smoke test failed: .*the page is the demo site/);
  assert.match(out, new RegExp(`Roll back: scripts/wrangler.sh rollback ${OLD} --env production`));
});

test('online: the smoke test fails when another version is live', async () => {
  host.health = healthy('0000000000000000000000000000000000000000');
  host.page = originPage;
  const w = stub(everything);
  const { code, out } = await deploy(online(), { env: w.env });
  assert.notEqual(code, 0);
  assert.match(out, new RegExp(`smoke test failed: .*version "0{40}" is live, not ${SHA}`));
});

test('the smoke test: health degraded, the demo origin, an ungated page each fail it', async () => {
  host.page = originPage;
  host.health = { ...healthy(), status: 'degraded', problems: [{ setting: 'AUDIT_LOG_KEY', message: 'missing', severity: 'error' }] };
  assert.match((await smoke(base, { commit: SHA, timeoutMs: 0 })).join('\n'), /status "degraded" \(AUDIT_LOG_KEY: missing\)/);
  host.health = { ...healthy(), origin: 'demo', development: true };
  assert.match((await smoke(base, { commit: SHA, timeoutMs: 0 })).join('\n'), /origin "demo"/);
  host.health = healthy();
  host.page = '<!doctype html><html><head><title>SIVO</title></head><body>no worker</body></html>';
  const problems = await smoke(base, { commit: SHA, timeoutMs: 0 });
  assert.match(problems.join('\n'), /no Consent Mode defaults/);
  assert.match(problems.join('\n'), /no settings link/);
  host.page = originPage;
  assert.deepEqual(await smoke(base, { commit: SHA, timeoutMs: 0 }), []);
  // The demo's own footer links to the preferences page: only the worker's link counts.
  assert.match(pageProblems(demoIndex.replace('<head>', `<head>${gate}`)).join('\n'), /no settings link/);
});

test('scripts/wrangler.sh runs the pinned wrangler, whatever Node the system has', () => {
  const out = execFileSync(path.join(ROOT, 'scripts/wrangler.sh'), ['--version'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: '/usr/bin:/bin' } });
  const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).devDependencies.wrangler;
  assert.match(out, new RegExp(pinned.replaceAll('.', '\\.')));
});
