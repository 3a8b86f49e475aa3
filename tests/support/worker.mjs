// Runs the built worker (build/index.js + build/index_bg.wasm) in workerd through Miniflare,
// with real local KV persisted to a temporary directory.
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SIGNING_KEY = 'test-signing-key-0123456789-abcdefghijklmnop';
export const RECORD_KEY = Buffer.alloc(32, 7).toString('base64');

/**
 * Starts the worker. `vars` override the configuration; by default the origin is `origin`
 * and both secrets are set, as in production.
 */
export async function startWorker({ origin, vars = {}, kvDir, kv = true, d1 = true, cf = { country: 'ES' }, ratelimits } = {}) {
  const build = path.join(ROOT, 'build');
  if (!fs.existsSync(path.join(build, 'index_bg.wasm'))) {
    throw new Error('build/ is missing: run scripts/build.sh (scripts/test.sh does)');
  }
  const logs = [];
  const persist = kvDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-kv-'));
  const mf = new Miniflare({
    ...convertV4MiniflareOptions({
      modules: [
        { type: 'ESModule', path: path.join(build, 'index.js') },
        { type: 'CompiledWasm', path: path.join(build, 'index_bg.wasm') },
      ],
      modulesRoot: build,
      compatibilityDate: '2026-11-01',
      kvNamespaces: kv ? { CONSENT_KV: 'consent-kv' } : {},
      kvPersist: persist,
      d1Databases: d1 ? { CONSENT_DB: 'consent-db' } : {},
      cf,
      // The decisions' rate limiter, as wrangler.toml declares it, when a test wants one.
      ...(ratelimits ? { ratelimits: Object.fromEntries(Object.entries(ratelimits).map(([name, o]) => [name, { namespace_id: '1001', ...o }])) } : {}),
      bindings: {
        ORIGIN_URL: origin ?? '',
        GA4_MEASUREMENT_ID: '',
        GTM_CONTAINER_ID: '',
        POLICY_VERSION: '1',
        CONSENT_MAX_AGE_DAYS: '365',
        RECORD_RETENTION_DAYS: '1460',
        STATS_FLUSH_SECONDS: '0',
        CONSENT_SIGNING_KEY: SIGNING_KEY,
        RECORD_ENCRYPTION_KEY: RECORD_KEY,
        ...vars,
      },
      handleStructuredLogs: (log) => logs.push(log),
    }),
    // Miniflare 5 keeps local storage under resourcePersistencePath (v4's kvPersist is not
    // carried over by the conversion): one directory, so a second worker sees the first's KV.
    resourcePersistencePath: persist,
  });
  await mf.ready;
  const kvNamespace = kv ? await mf.getKVNamespace('CONSENT_KV') : undefined;
  const db = d1 ? await mf.getD1Database('CONSENT_DB') : undefined;
  if (db) await applyMigrations(db);
  return {
    mf,
    logs,
    kvDir: persist,
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
    /** The worker's D1 database (migrations applied), as the worker sees it. */
    db() {
      return db;
    },
    /** The worker's KV namespace, as the worker sees it. */
    kv() {
      return kvNamespace;
    },
    async close() {
      await mf.dispose();
    },
  };
}

/**
 * Applies migrations/*.sql in order, as `wrangler d1 migrations apply` does: each file's
 * statements end with a semicolon at the end of a line (a trigger's inner statements do not).
 */
export async function applyMigrations(db) {
  const dir = path.join(ROOT, 'migrations');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    const sql = fs.readFileSync(path.join(dir, file), 'utf8').replace(/^\s*--.*$/gm, '');
    const statements = sql.split(/;\s*$/m).map((s) => s.trim()).filter(Boolean);
    try {
      await db.batch(statements.map((s) => db.prepare(s)));
    } catch (e) {
      // A second worker on the same storage directory finds them applied.
      if (!/already exists/.test(String(e?.message ?? e))) throw e;
    }
  }
}
