// The offline half of scripts/deploy.sh: checks one deployed environment of a wrangler config,
// reading it the way wrangler itself does (its exported unstable_readConfig, whose warnings are
// caught here and count as problems), and prints what the script needs as shell assignments.
//   node scripts/lib/deploy-config.mjs --env production [--config wrangler.toml]
// Exit 0: the assignments on stdout, notes on stderr. Exit 1: every problem found, one a line
// on stderr, each naming the setting and where it goes.
import fs from 'node:fs';
import path from 'node:path';

/** The secrets every deployed environment must declare in `secrets.required` and have set. */
export const REQUIRED_SECRETS = ['CONSENT_SIGNING_KEY', 'RECORD_ENCRYPTION_KEY', 'AUDIT_LOG_KEY'];
/** Secrets a deployed environment may have: the previous record key while records are re-keyed. */
export const OPTIONAL_SECRETS = ['RECORD_ENCRYPTION_KEY_PREVIOUS', 'ALERT_WEBHOOK_URL'];
/** The bindings the worker uses (src/proof.rs, src/dashboard/stats.rs, src/consent.rs). */
const KV_BINDING = 'CONSENT_KV';
const D1_BINDING = 'CONSENT_DB';
const LIMITER = 'DECISION_LIMITER';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KV_ID = /^[0-9a-f]{32}$/i;
const ALL_ZERO = /^[0-]+$/;

// ANSI colour codes, which wrangler's warnings carry.
// eslint-disable-next-line no-control-regex
const stripAnsi = (s) => s.replace(/\u001b\[[0-9;]*m/g, '');

/**
 * Reads `configPath` for `env` with wrangler's own reader and checks it for a deploy.
 * Returns `{ problems, notes, facts }`; `facts` only when there is no problem.
 */
export async function checkConfig(configPath, env) {
  const problems = [];
  const notes = [];
  const where = (table) => `[env.${env}${table ? `.${table}` : ''}]`;
  let text;
  try {
    text = fs.readFileSync(configPath, 'utf8');
  } catch (e) {
    return { problems: [`cannot read ${configPath}: ${e.message}`], notes };
  }
  // 1. No placeholder anywhere: an id to be replaced by hand is a deploy waiting to fail.
  text.split('\n').forEach((line, i) => {
    const m = /REPLACE_WITH_[A-Z0-9_]*/.exec(line);
    if (m) problems.push(`placeholder ${m[0]} at ${path.basename(configPath)}:${i + 1}: remove the id (scripts/deploy.sh finds the resource by name) or put the real one`);
  });

  const { unstable_readConfig: readConfig, experimental_readRawConfig: readRawConfig } = await import('wrangler');
  // 2. The environment exists: wrangler would otherwise deploy the top level (the demo set-up).
  let raw;
  try {
    raw = readRawConfig({ config: configPath }).rawConfig;
  } catch (e) {
    return { problems: [...problems, `wrangler cannot parse ${configPath}: ${stripAnsi(e.message)}`], notes };
  }
  const deployed = Object.keys(raw.env ?? {});
  if (!deployed.includes(env)) {
    return { problems: [...problems, `no environment "${env}" in ${path.basename(configPath)} (it has: ${deployed.join(', ') || 'none'})`], notes };
  }

  // 3. wrangler's own reading, every warning it prints counted as a problem.
  const said = [];
  const saved = { warn: console.warn, error: console.error, log: console.log, info: console.info };
  for (const k of Object.keys(saved)) console[k] = (...a) => said.push([k, stripAnsi(a.join(' '))]);
  let config;
  try {
    config = readConfig({ config: configPath, env }, { hideWarnings: false });
  } catch (e) {
    problems.push(`wrangler rejects the configuration: ${stripAnsi(e.message)}`);
  } finally {
    Object.assign(console, saved);
  }
  for (const [k, msg] of said) {
    if (k === 'warn' || k === 'error') problems.push(`wrangler warns: ${msg.replace(/\s+/g, ' ').trim()}`);
  }
  if (!config) return { problems, notes };

  // 4. Never on workers.dev or preview URLs: only on the site's own routes.
  if (config.workers_dev !== false) problems.push(`${where()} workers_dev must be false: the worker would also answer on workers.dev`);
  if (config.preview_urls === true) problems.push(`${where()} preview_urls must be false: each version would answer on its own workers.dev URL`);
  const hosts = [];
  for (const r of config.routes ?? []) {
    const pattern = typeof r === 'string' ? r : r.pattern;
    const m = /^([a-z0-9.-]+)\/\*$/i.exec(pattern ?? '');
    if (!m) problems.push(`${where()} route "${pattern}" is not "host/*": every page of a host must go through the worker`);
    else if (typeof r === 'string' || !(r.zone_name || r.zone_id)) problems.push(`${where()} route "${pattern}" names no zone_name`);
    else hosts.push(m[1]);
  }
  if (hosts.length === 0 && (config.routes ?? []).length === 0) problems.push(`${where()} has no routes: the worker would serve no host`);

  // 5. The bindings, named rather than numbered: no placeholder or all-zero id; D1 in the EU.
  const kv = (config.kv_namespaces ?? []).find((b) => b.binding === KV_BINDING);
  if (!kv) problems.push(`${where()} kv_namespaces has no binding ${KV_BINDING}: proof records could not be stored`);
  else if (kv.id !== undefined && (!KV_ID.test(kv.id) || ALL_ZERO.test(kv.id))) {
    problems.push(`${where()} ${KV_BINDING} id "${kv.id}" is not a real namespace id: remove it (wrangler keeps the bound namespace) or put the real one`);
  }
  const d1 = (config.d1_databases ?? []).find((b) => b.binding === D1_BINDING);
  if (!d1) problems.push(`${where()} d1_databases has no binding ${D1_BINDING}: no statistics, no audit log`);
  else {
    if (!d1.database_name) problems.push(`${where().slice(0, -1)}.d1_databases] ${D1_BINDING} has no database_name`);
    if (d1.database_id !== undefined && (!UUID.test(d1.database_id) || ALL_ZERO.test(d1.database_id))) {
      problems.push(`${where().slice(0, -1)}.d1_databases] ${D1_BINDING} database_id "${d1.database_id}" is not a real database id: remove it (found by database_name) or put the real one`);
    }
    if (d1.jurisdiction !== 'eu') problems.push(`${where().slice(0, -1)}.d1_databases] ${D1_BINDING} needs jurisdiction = "eu": consent data stays in the EU`);
  }
  if (!(config.ratelimits ?? []).some((r) => r.name === LIMITER)) problems.push(`${where().slice(0, -1)}.ratelimits] has no ${LIMITER}: decisions would not be limited`);

  // 6. Every required secret declared, so that wrangler refuses to deploy without it.
  const required = config.secrets?.required ?? [];
  for (const name of REQUIRED_SECRETS) {
    if (!required.includes(name)) problems.push(`secret ${name} is not declared: add it to required in ${where('secrets')}`);
  }

  // 7. Every var set: vars are not inherited, so one left out runs on the worker's default.
  //    Every var named in [vars] or in any deployed environment must be named here too.
  const known = new Set([...Object.keys(raw.vars ?? {}), ...Object.values(raw.env).flatMap((e) => Object.keys(e?.vars ?? {})), 'ORIGIN_URL']);
  const vars = config.vars ?? {};
  for (const name of known) {
    if (!(name in vars)) problems.push(`var ${name} is not set in ${where('vars')} (vars are not inherited from [vars])`);
  }
  const origin = vars.ORIGIN_URL;
  if (origin !== undefined && !(origin === 'route' || /^https:\/\/[^\s/]+(\/.*)?$/.test(String(origin)))) {
    problems.push(`var ORIGIN_URL in ${where('vars')} must be "route" or an https:// URL, not ${JSON.stringify(origin)}: a deployed worker never serves the demo site`);
  }
  if (!vars.ACCESS_TEAM_DOMAIN || !vars.ACCESS_AUD) notes.push(`the dashboard stays closed (503) until ACCESS_TEAM_DOMAIN and ACCESS_AUD are set in ${where('vars')}`);
  if (!vars.GA4_MEASUREMENT_ID && !vars.GTM_CONTAINER_ID) notes.push(`no GA4 or GTM tag: GA4_MEASUREMENT_ID and GTM_CONTAINER_ID are empty in ${where('vars')}`);

  // 8. The platform's logs keep no more than the worker's own lines.
  const obs = config.observability ?? {};
  if (obs.enabled || obs.logs?.enabled) {
    if (obs.logs?.invocation_logs !== false) problems.push(`${where('observability.logs')} invocation_logs must be false: the invocation log records every request's URL and metadata`);
    if (obs.redact_query_string !== true) problems.push(`${where('observability')} redact_query_string must be true: query strings would reach the logs`);
  }
  if (obs.traces?.enabled) problems.push(`${where('observability.traces')} enabled must be false: traces record every request`);

  if (problems.length) return { problems, notes };
  return {
    problems,
    notes,
    facts: {
      worker: config.name,
      hosts,
      d1_name: d1.database_name,
      d1_jurisdiction: d1.jurisdiction,
      kv_title: `${config.name}-${KV_BINDING.toLowerCase().replaceAll('_', '-')}`,
      kv_id: kv.id ?? '',
      required_secrets: REQUIRED_SECRETS,
      optional_secrets: OPTIONAL_SECRETS.filter((s) => !required.includes(s)),
    },
  };
}

const shellQuote = (v) => `'${String(v).replaceAll("'", `'\\''`)}'`;

async function main(argv) {
  let env;
  let configPath = 'wrangler.toml';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--env') env = argv[++i];
    else if (argv[i] === '--config') configPath = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!env) throw new Error('--env is required');
  const { problems, notes, facts } = await checkConfig(configPath, env);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  if (problems.length) {
    for (const p of problems) process.stderr.write(`problem: ${p}\n`);
    process.exit(1);
  }
  for (const [k, v] of Object.entries(facts)) {
    process.stdout.write(`cfg_${k}=${Array.isArray(v) ? `(${v.map(shellQuote).join(' ')})` : shellQuote(v)}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`problem: ${e.message}\n`);
    process.exit(1);
  });
}
