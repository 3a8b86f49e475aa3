#!/usr/bin/env node
// A/B of sivo-consent builds on one path, in the same interleaved rounds: how each step of an
// optimisation is measured before it is kept. It runs the builds as they are: it patches nothing.
//
//   node bench/investigations/ab.mjs PATH STATE ROUNDS BUILD_DIR... [--references]
//   node bench/investigations/ab.mjs /image-200k.png tags 8 /tmp/build-before build
//
// --references adds, in the same rounds, the pass-through, the pass-through + log line and the
// full JavaScript reference (its markup taken from the first build), each also as a ratio.
//
// PATH is one of the bench's fixtures (/page-10k.html, /page-100k.html, /page-1m.html,
// /image-200k.png), STATE "banner" (no cookie) or "tags" (a valid consent cookie for
// everything); each BUILD_DIR holds a scripts/build.sh output (index.js, index_bg.wasm).
//
// Every round starts each build in a new workerd (a process's speed varies by up to 6 % for
// the same code: BENCHMARKS.md, "Method"), warms it for 1 s, then loads it for 4 s
// (wrk -t2 -c16), the builds' order alternating from round to round. Reported per build: the
// median req/s, its ratio to the first build's, and the median CPU time of the workerd
// process per request (all its threads, from /proc), which moves less than req/s with what
// else the two cores are doing. The workers' log lines go to /dev/null, as in bench/run.mjs.
// The builds run with wrangler.toml's compatibility date and flags, as deployed.
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import {
  consentCookie, cpuSeconds, extractTemplates, fixturesDir, fullReferenceOptions, jsOptions, makePages, median, oursOptions,
  startNginx, startWorker, workerdPids,
} from '../common.mjs';

const run = promisify(execFile);

async function main() {
  const args = process.argv.slice(2);
  const references = args.includes('--references');
  const [page, state, rounds, ...builds] = args.filter((a) => a !== '--references');
  if (!page || !['banner', 'tags'].includes(state) || !(Number(rounds) > 0) || builds.length === 0) {
    console.error('usage: node bench/investigations/ab.mjs PATH banner|tags ROUNDS BUILD_DIR... [--references]');
    process.exit(2);
  }
  const fixtures = fixturesDir();
  makePages(fixtures);
  const nginx = await startNginx(fixtures);
  const headers = state === 'tags' ? ['-H', `Cookie: ${consentCookie()}`] : [];
  const workers = new Map(builds.map((b) => [b, () => oursOptions(nginx.url, path.resolve(b))]));
  if (references) {
    const probe = await startWorker(oursOptions(nginx.url, path.resolve(builds[0])));
    const templates = await extractTemplates(probe.url, '/page-10k.html', fs.readFileSync(path.join(fixtures, 'page-10k.html'), 'utf8'));
    await probe.mf.dispose();
    workers.set('pass-through', () => jsOptions('passthrough.mjs', { ORIGIN: nginx.url }));
    workers.set('pass-through + log line', () => jsOptions('passthrough-logged.mjs', { ORIGIN: nginx.url }));
    workers.set('JS full reference', () => fullReferenceOptions(nginx.url, templates));
  }
  const names = [...workers.keys()];
  const results = new Map(names.map((b) => [b, []]));
  try {
    for (let round = 0; round < Number(rounds); round++) {
      const order = round % 2 ? [...names].reverse() : names;
      for (const build of order) {
        const before = new Set(workerdPids());
        const worker = await startWorker(workers.get(build)(), { quiet: true });
        try {
          const pid = workerdPids().find((p) => !before.has(p));
          await run('wrk', ['-t1', '-c4', '-d1s', ...headers, worker.url + page]);
          const cpu = cpuSeconds(pid);
          const { stdout } = await run('wrk', ['-t2', '-c16', '-d4s', '-H', 'Accept-Encoding: identity', ...headers, worker.url + page], { encoding: 'utf8' });
          const requests = Number(/(\d+) requests in/.exec(stdout)[1]);
          results.get(build).push({ rps: requests / 4, cpuUs: ((cpuSeconds(pid) - cpu) * 1e6) / requests });
        } finally {
          await worker.mf.dispose();
        }
      }
    }
  } finally {
    nginx.stop();
  }
  const rate = (name) => median(results.get(name).map((r) => r.rps));
  const ratio = (name, base) => (results.has(base) ? `${(rate(name) / rate(base)).toFixed(3)} ×` : '');
  console.log(`${page}, ${state}, ${rounds} rounds`);
  console.log('| worker | req/s | ÷ first | ÷ pass-through | ÷ JS full reference | workerd CPU per request | req/s by round |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, runs] of results) {
    console.log(`| ${name} | ${Math.round(rate(name))} | ${ratio(name, names[0])} | ${ratio(name, 'pass-through')} | ${ratio(name, 'JS full reference')} | ${Math.round(median(runs.map((r) => r.cpuUs)))} µs | ${runs.map((r) => Math.round(r.rps)).join(' ')} |`);
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
