#!/usr/bin/env node
// What sivo-consent's own code costs per request, measured by amplification: a call repeated
// a hundred extra times per request costs a hundred times its share, far above the noise of a
// whole request (±5 % run to run on this machine, more than the calls themselves). For each
// part, a copy of the build's entry (build/index.js) repeats it 100 more times per request;
// the workerd process's CPU time per request (all its threads, from /proc) of the copy, less
// the unchanged build's, over 100, is the part's cost.
//
//   node bench/cost.mjs [--build=DIR] [--rounds=3] [--duration=4s] [--flags=a,b]
//   writes bench/out/cost.md (bench/out/cost-flags-….md with --flags)
//   node bench/cost.mjs --quick   one short round (bench/out/cost-quick.md), in the test command so
//                                 that the entry's calls it patches cannot drift unnoticed
//
// The parts:
// - "decide": the request's facts into wasm (pageFor: the URL, the cookie's HMAC, the
//   language), Page.prepare for an HTML response, and every getter the rewriter reads (the
//   header edits, Consent Mode, the tags, the banner, the link), then free: every decision
//   sivo-consent makes in Rust for a page.
// - "finish": Page.finish, the log line built in Rust and the page view counted, with
//   console.log replaced by a no-op for the repeats (the one real line is still written).
// - "console.log": the log line written 100 more times from JavaScript: the runtime's cost of a
//   log call, which every worker that logs pays.
// - "timer": the origin's head timeout, a timer armed and cleared 100 more times (setTimeout,
//   clearTimeout), with the compatibility flags of wrangler.toml (--flags= to run without them,
//   --flags=a,b with others).
// Each is measured on a 10 KB page with no decision (banner) and with consent (tags). The cost
// of the rest (fetch, the timer, the rewriter's parsing and edits) is the runtime's, shared
// with the JavaScript reference; bench/profile.mjs shows it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { compatibilityFlags } from '../tests/support/runtime-config.mjs';
import {
  ROOT, buildLayout, consentCookie, cpuSeconds, fixturesDir, flag, log, makePages, median, oursOptions, startNginx, startWorker, workerdPids,
} from './common.mjs';

const BUILD = path.resolve(flag('build') ?? path.join(ROOT, 'build'));
const QUICK = process.argv.includes('--quick');
const ROUNDS = Number(flag('rounds') ?? (QUICK ? 1 : 3));
const DURATION = flag('duration') ?? (QUICK ? '1s' : '4s');
const REPEAT = 100;
const FLAGS = flag('flags') === undefined ? null : flag('flags').split(',').filter(Boolean);
const OUT = path.join(ROOT, 'bench', 'out');

const DECIDE = /const page = wasm\.pageFor\(env, Date\.now\(\), (\w+), facts\);\n/;
const FINISH = /( *)page\.finish\(response\.status, Date\.now\(\), env, ctx\);\n/;

// The entry with one part repeated: the bundled entry's text, patched at its calls.
function variant(code, part) {
  const need = (re) => {
    if (!re.test(code)) throw new Error(`${path.join(BUILD, 'index.js')}: the entry no longer has ${re} (bench/cost.mjs patches it)`);
  };
  if (part === 'decide') {
    need(DECIDE);
    return code.replace(DECIDE, (line, h) => `for (let i = 0; i < ${REPEAT}; i++) {
    const p = wasm.pageFor(env, Date.now(), ${h}, facts);
    if (p.prepare(200, 'text/html; charset=utf-8\\n\\n\\n\\n', undefined) === 2) {
      p.headerEdits(); p.choices(); p.strip(); p.consentMode(); p.loaders(); p.noscript(); p.banner(); p.link();
    }
    p.free();
  }
  ${line}`);
  }
  need(FINISH);
  if (part === 'finish') {
    return code.replace(FINISH, (line, indent) => `${indent}{ const real = console.log; console.log = () => {};
${indent}  try { for (let i = 0; i < ${REPEAT}; i++) page.finish(response.status, Date.now(), env, ctx); } finally { console.log = real; } }
${line}`);
  }
  if (part === 'timer') {
    return code.replace(FINISH, (line, indent) => `${indent}for (let i = 0; i < ${REPEAT}; i++) clearTimeout(setTimeout(() => {}, ORIGIN_TIMEOUT_MS));
${line}`);
  }
  // console.log: the real line, then the same line again from JavaScript.
  return code.replace(FINISH, (line, indent) => `${indent}{ const real = console.log; let last = '';
${indent}  console.log = (l) => { last = l; real(l); };
${indent}  try { page.finish(response.status, Date.now(), env, ctx); } finally { console.log = real; }
${indent}  for (let i = 0; i < ${REPEAT}; i++) console.log(last); }
`);
}

async function main() {
  const layout = buildLayout(BUILD);
  if (layout.layout !== 'index.js') throw new Error(`${BUILD}: bench/cost.mjs needs the index.js layout (scripts/build.sh's)`);
  const code = fs.readFileSync(layout.entry, 'utf8');
  const parts = ['decide', 'finish', 'console.log', 'timer'];
  const dirs = { base: BUILD };
  for (const part of parts) {
    const dir = path.join(OUT, 'cost', part.replace('.', '-'));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    for (const m of layout.modules) if (m.path !== layout.entry) fs.copyFileSync(m.path.split('?')[0], path.join(dir, path.basename(m.path.split('?')[0])));
    fs.writeFileSync(path.join(dir, 'index.js'), variant(code, part));
    dirs[part] = dir;
  }
  const fixtures = fixturesDir();
  makePages(fixtures);
  const nginx = await startNginx(fixtures);
  const states = { banner: [], tags: ['-H', `Cookie: ${consentCookie()}`] };
  const samples = {};
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, dir] of Object.entries(dirs)) {
        const before = new Set(workerdPids());
        const w = await startWorker(oursOptions(nginx.url, dir, FLAGS ? { compatibilityFlags: FLAGS } : {}), { quiet: true });
        const pid = workerdPids().find((p) => !before.has(p));
        try {
          for (const [state, headers] of Object.entries(states)) {
            const url = `${w.url}/page-10k.html`;
            await promisify(execFile)('wrk', ['-t1', '-c8', '-d1s', ...headers, url]);
            const cpu = cpuSeconds(pid);
            const { stdout } = await promisify(execFile)('wrk', ['-t2', '-c16', `-d${DURATION}`, '-H', 'Accept-Encoding: identity', ...headers, url], { encoding: 'utf8' });
            const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
            if (!(requests > 0)) throw new Error(`${name}, ${state}: wrk made no request:\n${stdout}`);
            const micros = ((cpuSeconds(pid) - cpu) * 1e6) / requests;
            (samples[`${name}|${state}`] ??= []).push(micros);
            log(`round ${round + 1}/${ROUNDS} ${name} ${state}: ${requests} requests, ${micros.toFixed(0)} µs of CPU each`);
          }
        } finally {
          await w.mf.dispose();
        }
      }
    }
  } finally {
    nginx.stop();
  }
  const rows = [];
  for (const state of Object.keys(states)) {
    const base = median(samples[`base|${state}`]);
    rows.push(`| ${state} | whole request (the build as it is) | ${base.toFixed(0)} µs | 100 % |`);
    for (const part of parts) {
      const per = (median(samples[`${part}|${state}`]) - base) / REPEAT;
      rows.push(`| ${state} | ${part} | ${per.toFixed(1)} µs | ${((100 * per) / base).toFixed(1)} % |`);
    }
  }
  const report = `# What sivo-consent's own code costs per request

Produced by \`node bench/cost.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)}; build \`${path.relative(ROOT, BUILD) || BUILD}\`;
compatibility flags: ${FLAGS ? (FLAGS.join(', ') || 'none') : `wrangler.toml's (${compatibilityFlags.join(', ') || 'none'})`}.
Method: each part repeated ${REPEAT} more times per request in a copy of the entry; workerd's CPU time per
request (all threads, /proc) under \`wrk -t2 -c16 -d${DURATION}\` on the 10 KB page, less the unchanged build's, over ${REPEAT};
medians of ${ROUNDS} interleaved rounds, a new workerd for each. Log lines go to /dev/null (bench/workerd-quiet.sh).

| state | part | CPU per request | share of the whole request |
|---|---|---|---|
${rows.join('\n')}
`;
  const file = path.join(OUT, QUICK ? 'cost-quick.md' : FLAGS ? `cost-flags-${FLAGS.join('-') || 'none'}.md` : 'cost.md');
  fs.writeFileSync(file, report);
  console.log(report);
  log(`written to ${path.relative(ROOT, file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
