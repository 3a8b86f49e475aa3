// The smoke test scripts/deploy.sh runs on each host after a deploy (README "Deploying"):
//   1. GET /_consent/health: "status" "ok", not the demo origin, not development, and
//      "version.commit" the commit deployed (asked again until it is live or the time is up);
//   2. GET / as a browser: the page carries the worker's Consent Mode defaults and its
//      settings link, and is not the demo site (www/index.html).
// Every request names the new version in Cloudflare-Workers-Version-Overrides, so a gradual
// deploy is tested on the version it adds, whatever share of traffic that version has.
//   node scripts/lib/deploy-smoke.mjs --commit SHA --worker NAME [--version-id ID]
//        [--timeout SECONDS] URL...
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What marks the demo site: its home page's title and description, read from www/. */
export function demoSignature(root = ROOT) {
  const html = fs.readFileSync(path.join(root, 'www', 'index.html'), 'utf8');
  return [/<title>[^<]*<\/title>/.exec(html)?.[0], /<meta name="description"[^>]*>/.exec(html)?.[0]].filter(Boolean);
}

/** The problems with one page of the site as the worker served it (none: a list that is empty). */
export function pageProblems(html, demo = demoSignature()) {
  const problems = [];
  if (!html.includes("gtag('consent','default',")) problems.push("the page has no Consent Mode defaults (gtag('consent','default',…): the worker did not rewrite it");
  const link = /<a [^>]*id="sivo-settings"[^>]*>/.exec(html)?.[0];
  if (!link || !link.includes('href="/_consent/preferences"')) problems.push('the page has no settings link to /_consent/preferences (a#sivo-settings)');
  if (demo.length && demo.every((marker) => html.includes(marker))) problems.push('the page is the demo site (www/index.html), not the origin');
  return problems;
}

/** The problems with a health answer for `commit` (none: a list that is empty). */
export function healthProblems(health, commit) {
  const problems = [];
  if (health?.version?.commit !== commit) problems.push(`version ${JSON.stringify(health?.version?.commit ?? null)} is live, not ${commit}`);
  if (health?.origin === 'demo') problems.push('health says origin "demo": the worker serves the demo site');
  if (health?.development !== false) problems.push(`health says development ${JSON.stringify(health?.development ?? null)}`);
  if (health?.status !== 'ok') {
    const listed = (health?.problems ?? []).map((p) => `${p.setting}: ${p.message ?? p.problem ?? ''}`).join('; ');
    problems.push(`health says status ${JSON.stringify(health?.status ?? null)}${listed ? ` (${listed})` : ''}`);
  }
  return problems;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Smoke-tests one base URL; resolves to its problems. */
export async function smoke(base, { commit, worker, versionId, timeoutMs = 90_000, log = () => {} }) {
  const headers = versionId && worker ? { 'cloudflare-workers-version-overrides': `${worker}="${versionId}"` } : {};
  const get = (p, accept) => fetch(new URL(p, base), { headers: { ...headers, accept }, signal: AbortSignal.timeout(15_000), redirect: 'follow' });
  const deadline = Date.now() + timeoutMs;
  let problems;
  // The new version takes a few seconds to reach every location: ask until it answers.
  for (;;) {
    try {
      const res = await get('/_consent/health', 'application/json');
      const body = await res.text();
      let health;
      try {
        health = JSON.parse(body);
      } catch {
        health = undefined;
      }
      problems = health ? healthProblems(health, commit) : [`/_consent/health answered ${res.status} without JSON: the worker is not on this host's route`];
    } catch (e) {
      problems = [`/_consent/health: ${e.cause?.message ?? e.message}`];
    }
    const waiting = problems.length === 1 && problems[0].startsWith('version ');
    if (!problems.length || !waiting || Date.now() >= deadline) break;
    log(`${base}: ${problems[0]}; asking again`);
    await sleep(Math.min(3000, Math.max(100, deadline - Date.now())));
  }
  if (problems.length) return problems;
  try {
    const res = await get('/', 'text/html');
    if (!res.ok) return [`GET / answered ${res.status}`];
    return pageProblems(await res.text());
  } catch (e) {
    return [`GET /: ${e.cause?.message ?? e.message}`];
  }
}

async function main(argv) {
  const opts = { timeoutMs: 90_000 };
  const bases = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--commit') opts.commit = argv[++i];
    else if (a === '--worker') opts.worker = argv[++i];
    else if (a === '--version-id') opts.versionId = argv[++i];
    else if (a === '--timeout') opts.timeoutMs = Number(argv[++i]) * 1000;
    else bases.push(a);
  }
  if (!opts.commit || !bases.length) throw new Error('usage: deploy-smoke.mjs --commit SHA [--worker NAME --version-id ID] [--timeout S] URL...');
  let failed = false;
  for (const base of bases) {
    const problems = await smoke(base, { ...opts, log: (m) => process.stderr.write(`${m}\n`) });
    if (problems.length) {
      failed = true;
      for (const p of problems) process.stderr.write(`smoke test failed: ${base}: ${p}\n`);
    } else {
      process.stderr.write(`smoke test passed: ${base}: health ok, ${opts.commit.slice(0, 12)} live, page gated with the settings link\n`);
    }
  }
  process.exit(failed ? 1 : 0);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`smoke test failed: ${e.message}\n`);
    process.exit(1);
  });
}
