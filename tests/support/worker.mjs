// Runs the built worker (build/index.js + build/index_bg.wasm) in workerd through Miniflare,
// with real local KV persisted to a temporary directory.
import { compatibilityDate, compatibilityFlags } from '../../scripts/lib/runtime-config.mjs';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SIGNING_KEY = 'test-signing-key-0123456789-abcdefghijklmnop';
export const RECORD_KEY = Buffer.alloc(32, 7).toString('base64');
/** The audit log's own key (32 bytes, base64), unrelated to RECORD_KEY. */
export const AUDIT_LOG_KEY = Buffer.alloc(32, 9).toString('base64');

/** The path the KV fault wrapper answers on (only with `kvFaults`), never reaching the worker. */
export const KV_FAULTS_PATH = '/__sivo_test/kv-faults';

// With `kvFaults`, the main module is this wrapper around the built worker: it hands the worker
// a CONSENT_KV that is a plain object over the real namespace (get/getWithMetadata/put/list/
// delete, the methods the `worker` crate looks up), each of which rejects on command. The real
// namespace underneath is untouched, so `kv()` still reads what actually got written.
// POST KV_FAULTS_PATH {put, get, list, delete}: each `true` (every call fails), `{after: n}` (the
// first n calls from now succeed, then every call fails) or `false`; the answer counts the calls
// and lists the keys (a list's prefix) each method was called with.
const KV_FAULTS_WRAPPER = `
import { WorkerEntrypoint } from 'cloudflare:workers';
import Worker from './index.js';
const OPS = ['get', 'getWithMetadata', 'put', 'list', 'delete'];
let faults = {};
let calls = {};
let failed = {};
let keys = {};
function reset(spec) {
  faults = { ...spec, getWithMetadata: spec.get };
  for (const op of OPS) { calls[op] = 0; failed[op] = 0; keys[op] = []; }
}
reset({});
function failing(op, key) {
  calls[op] += 1;
  keys[op].push(String(key));
  const f = faults[op];
  const fail = f === true || (typeof f === 'object' && f !== null && calls[op] > f.after);
  if (fail) failed[op] += 1;
  return fail;
}
function wrap(kv) {
  const faulty = {};
  for (const op of OPS) {
    faulty[op] = async (...args) => {
      if (failing(op, op === 'list' ? args[0]?.prefix : args[0])) throw new Error('KV ' + op + ' failed (injected fault)');
      return kv[op](...args);
    };
  }
  return faulty;
}
export default class extends WorkerEntrypoint {
  async fetch(request) {
    if (new URL(request.url).pathname === '${KV_FAULTS_PATH}') {
      const before = { calls: { ...calls }, failed: { ...failed }, keys: structuredClone(keys) };
      if (request.method === 'POST') reset(await request.json());
      return Response.json(before);
    }
    const env = { ...this.env, CONSENT_KV: wrap(this.env.CONSENT_KV) };
    return new Worker(this.ctx, env).fetch(request);
  }
}
`;

/**
 * Starts the worker. `vars` override the configuration; by default the origin is `origin`
 * (without one, `ORIGIN_URL = "demo"`, served on a loopback host only) and the three secrets
 * are set, as in production. `kvFaults: true` puts CONSENT_KV behind a wrapper that fails its
 * calls on command (see `kvFaults()` below). `migrateUpTo` applies the migrations up to that
 * file name only (`'0'`: none).
 */
export async function startWorker({ origin, vars = {}, kvDir, kv = true, d1 = true, cf = { country: 'ES' }, ratelimits, kvFaults = false, migrateUpTo } = {}) {
  const build = path.join(ROOT, 'build');
  if (!fs.existsSync(path.join(build, 'index_bg.wasm'))) {
    throw new Error('build/ is missing: run scripts/build.sh (scripts/test.sh does)');
  }
  const logs = [];
  const persist = kvDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-kv-'));
  const mf = new Miniflare({
    ...convertV4MiniflareOptions({
      modules: [
        ...(kvFaults ? [{ type: 'ESModule', path: path.join(build, 'kv-faults-wrapper.mjs'), contents: KV_FAULTS_WRAPPER }] : []),
        { type: 'ESModule', path: path.join(build, 'index.js') },
        { type: 'CompiledWasm', path: path.join(build, 'index_bg.wasm') },
      ],
      modulesRoot: build,
      compatibilityDate,
      compatibilityFlags,
      kvNamespaces: kv ? { CONSENT_KV: 'consent-kv' } : {},
      kvPersist: persist,
      d1Databases: d1 ? { CONSENT_DB: 'consent-db' } : {},
      cf,
      // The decisions' rate limiter, as wrangler.toml declares it, when a test wants one.
      ...(ratelimits ? { ratelimits: Object.fromEntries(Object.entries(ratelimits).map(([name, o]) => [name, { namespace_id: '1001', ...o }])) } : {}),
      bindings: {
        ORIGIN_URL: origin ?? 'demo',
        GA4_MEASUREMENT_ID: '',
        GTM_CONTAINER_ID: '',
        POLICY_VERSION: '1',
        CONSENT_MAX_AGE_DAYS: '365',
        RECORD_RETENTION_DAYS: '1460',
        STATS_FLUSH_SECONDS: '0',
        CONSENT_SIGNING_KEY: SIGNING_KEY,
        RECORD_ENCRYPTION_KEY: RECORD_KEY,
        AUDIT_LOG_KEY,
        ...vars,
      },
      handleStructuredLogs: (log) => logs.push(log),
    }),
    // Miniflare 5 keeps local storage under resourcePersistencePath (v4's kvPersist is not
    // carried over by the conversion): one directory, so a second worker sees the first's KV.
    resourcePersistencePath: persist,
  });
  // Miniflare listens on loopback (a free port): `ready` resolves to that URL.
  const listening = await mf.ready;
  const kvNamespace = kv ? await mf.getKVNamespace('CONSENT_KV') : undefined;
  const db = d1 ? await mf.getD1Database('CONSENT_DB') : undefined;
  if (db) await applyMigrations(db, { upTo: migrateUpTo });
  return {
    mf,
    logs,
    kvDir: persist,
    /**
     * The worker's HTTP address on loopback, e.g. `http://127.0.0.1:40123` (no trailing slash),
     * for a real browser to load; `fetch()` below dispatches without a socket.
     */
    url: listening.origin,
    /** Log lines the worker printed as JSON objects. */
    jsonLogs() {
      return logs.flatMap((l) => {
        try {
          return [JSON.parse(l.message)];
        } catch {
          return [];
        }
      });
    },
    fetch(url, init) {
      return mf.dispatchFetch(new URL(url, 'https://sivocenter.com').href, init);
    },
    /**
     * Runs the worker's Cron Trigger handler as the platform would at `scheduledTime` (ms;
     * default now), and resolves when it is done.
     */
    async scheduled(scheduledTime = Date.now()) {
      const worker = await mf.getWorker();
      return worker.scheduled({ scheduledTime, cron: '0 * * * *' });
    },
    /** The worker's D1 database (migrations applied), as the worker sees it. */
    db() {
      return db;
    },
    /** The worker's KV namespace, as the worker sees it (with `kvFaults`: the real one underneath). */
    kv() {
      return kvNamespace;
    },
    /**
     * With `kvFaults`: sets which KV calls fail from now on, e.g. `{ put: true }` or
     * `{ delete: { after: 1 } }` (`{}` heals), and returns the calls counted since the last
     * setting, `{ calls, failed, keys }` by method. Without an argument, only reads the counts.
     */
    async kvFaults(spec) {
      if (!kvFaults) throw new Error('start the worker with kvFaults: true');
      const res = await mf.dispatchFetch(new URL(KV_FAULTS_PATH, 'https://sivocenter.com').href, spec ? { method: 'POST', body: JSON.stringify(spec) } : {});
      return res.json();
    },
    async close() {
      await mf.dispose();
    },
  };
}

/**
 * Applies migrations/*.sql in order, as `wrangler d1 migrations apply` does: each file once
 * (recorded in `d1_migrations`, as wrangler records them), its statements ending with a
 * semicolon at the end of a line (a trigger's inner statements do not).
 */
export async function applyMigrations(db, { upTo } = {}) {
  const dir = path.join(ROOT, 'migrations');
  // wrangler's own record of what is applied, which /_consent/health reads.
  await db.prepare(D1_MIGRATIONS_TABLE).run();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    if (upTo !== undefined && file > upTo) break;
    if (await db.prepare('SELECT 1 FROM d1_migrations WHERE name = ?1').bind(file).first()) continue;
    const sql = fs.readFileSync(path.join(dir, file), 'utf8').replace(/^\s*--.*$/gm, '');
    const statements = sql.split(/;\s*$/m).map((s) => s.trim()).filter(Boolean);
    await db.batch([...statements.map((s) => db.prepare(s)), db.prepare('INSERT INTO d1_migrations (name) VALUES (?1)').bind(file)]);
  }
}

/** The table `wrangler d1 migrations apply` keeps its record in. */
const D1_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS d1_migrations(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`;
