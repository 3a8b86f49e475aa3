#!/usr/bin/env node
// The benchmark: sivo-consent against a pass-through worker and two JavaScript HTMLRewriter
// references, side by side, in workerd (Miniflare, no wrangler dev proxy), in front of one
// nginx origin on loopback, driven by wrk. Rounds are interleaved so that drift in the
// machine hits every worker alike; the figures are medians of the rounds.
//
//   node bench/run.mjs            full run (about 15 minutes), writes BENCHMARKS.md
//   node bench/run.mjs --quick    one short round of every case, writes bench/out/quick.md
//   node bench/run.mjs --pages=10k,image --duration=3s --rounds=2   a partial run (bench/out/partial.md)
//   node bench/run.mjs --build=/tmp/build-after      sivo-consent from another build directory
//                                                    (scripts/build.sh is then not run)
//   node bench/run.mjs --compare=/tmp/build-before   a fifth worker, that build's sivo-consent,
//                                                    in the same interleaved rounds (before/after)
//   node bench/run.mjs --cold=9   cold starts per worker (default 5; the median is reported)
//   node bench/run.mjs --rounds=5 a full run with more rounds (BENCHMARKS.md's: about 27 minutes)
//
// The workers: "pass-through" (bench/passthrough.mjs); "pass-through + log line"
// (bench/passthrough-logged.mjs: the floor for a worker that logs each request); "JS simple reference"
// (bench/reference.mjs: only injects fixed markup); "JS full reference"
// (bench/reference-full.mjs: sivo-consent's whole job on the benchmark's pages in plain JS:
// cookie HMAC, nonce, stripping, injection, header checks, log line); sivo-consent.
// Before measuring, the full reference's output is checked against sivo-consent's, answer for
// answer, on the benchmark's own pages in both states (the pages and states it measures, and
// only those: the reference implements nothing else): byte-identical once nonces are replaced
// by a placeholder, or the first difference is reported (and the run fails).
//
// Nothing here asserts a timing; --quick only checks that every case produced numbers.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  ROOT, buildLayout, compareAnswers, consentCookie, extractTemplates, fixturesDir, flag, fullReferenceOptions, median,
  jsOptions, log, makePages, oursOptions, simpleReferenceOptions, startNginx, startWorker,
} from './common.mjs';
import { stripCustomSections } from './wasm-sections.mjs';

const QUICK = process.argv.includes('--quick');
const ROUNDS = Number(flag('rounds') ?? (QUICK ? 1 : 3));
const DURATION = flag('duration') ?? (QUICK ? '1s' : '5s');
const ONLY_PAGES = flag('pages')?.split(',');
const CONCURRENCY = QUICK ? [16] : [16, 64];
const COLD_STARTS = Math.max(5, Number(flag('cold') ?? 5));
const OUT = path.join(ROOT, 'bench', 'out');
const BUILD = path.resolve(flag('build') ?? path.join(ROOT, 'build'));
const COMPARE = flag('compare') ? path.resolve(flag('compare')) : null;
const OURS = 'sivo-consent';
const PASS_LOGGED = 'pass-through + log line';
const PASS_BOUND = 'pass-through with the same bindings';
const THEIRS = COMPARE ? `sivo-consent (${path.basename(COMPARE)}'s build)` : null;
fs.mkdirSync(OUT, { recursive: true });

// ---------- wrk ----------
// Asynchronous: Node must keep draining workerd's log pipe (every request logs a line) and
// serving Miniflare's loopback while wrk runs, or workerd stalls on a full pipe.
async function wrk(url, connections, headers = [], duration = DURATION) {
  const args = ['-t2', `-c${connections}`, `-d${duration}`, '--latency', '-H', 'Accept-Encoding: identity'];
  for (const h of headers) args.push('-H', h);
  const { stdout: out } = await promisify(execFile)('wrk', [...args, url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const latency = (p) => toMs(new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out));
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors:.*timeout (\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p50: latency(50), p99: latency(99), errors };
}
function toMs(m) {
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

// ---------- helpers ----------
async function firstByteAndEnd(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first;
    http.get(url, { headers: { 'accept-encoding': 'identity', ...headers } }, (res) => {
      res.on('data', () => { first ??= performance.now() - t0; });
      res.on('end', () => resolve({ ttfb: first, total: performance.now() - t0 }));
    }).on('error', reject);
  });
}
const gz = (s) => zlib.gzipSync(Buffer.from(s), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const x = (r) => (Number.isFinite(r) ? `${r.toFixed(2)} ×` : 'n/a');

// ---------- the output check ----------
// sivo-consent and the full reference must answer alike on the pages the benchmark measures,
// or the comparison means nothing: every page, in both states, from the builds being measured.
// Only these: the reference implements what these pages reach, and nothing else.
const STATES = [['banner', () => ({})], ['tags', () => ({ cookie: consentCookie() })]];
async function outputCheck(ours, full, pages, extraBuilds) {
  const results = [];
  const workers = [ours, full, ...extraBuilds.map(([, w]) => w)];
  for (const w of workers) w.capture = true;
  try {
    for (const [pageName, p] of pages) {
      for (const [state, headers] of STATES) {
        const c = `${pageName}, ${state}`;
        results.push({ build: OURS, case: c, diff: await compareAnswers(ours, full, p, headers()) });
        for (const [name, w] of extraBuilds) results.push({ build: name, case: c, diff: await compareAnswers(w, full, p, headers()), informative: true });
      }
    }
  } finally {
    for (const w of workers) {
      w.capture = false;
      w.logs.length = 0;
    }
  }
  return results;
}

// ---------- main ----------
async function main() {
  if (flag('build') === undefined) execFileSync(path.join(ROOT, 'scripts', 'build.sh'), { stdio: 'inherit' });
  const layouts = [[OURS, buildLayout(BUILD)], ...(COMPARE ? [[THEIRS, buildLayout(COMPARE)]] : [])];
  for (const [name, l] of layouts) log(`${name}: ${path.relative(ROOT, l.entry) || l.entry} (${l.layout} layout), wasm ${path.basename(l.wasm)}`);
  const pages = [['10 KB page', '/page-10k.html', true], ['100 KB page', '/page-100k.html', true], ['1 MB page', '/page-1m.html', true], ['200 KB image', '/image-200k.png', false]];
  const selectedPages = ONLY_PAGES ? pages.filter(([, p]) => ONLY_PAGES.some((o) => p.includes(o))) : pages;
  const fixtures = fixturesDir();
  makePages(fixtures);
  const nginx = await startNginx(fixtures);
  const cookie = consentCookie();

  const ours = await startWorker(oursOptions(nginx.url, BUILD));
  // The exact bytes ours injects, with placeholders for the nonce and the return path.
  const templates = await extractTemplates(ours.url, '/page-10k.html', fs.readFileSync(path.join(fixtures, 'page-10k.html'), 'utf8'));

  // Cold start: a new workerd with the worker, until its first answer; the median of several,
  // interleaved, since one sample is noisy.
  const coldWorkers = [
    ['pass-through', () => jsOptions('passthrough.mjs', { ORIGIN: nginx.url })],
    // The same, with sivo-consent's one service binding (its KV namespace): Miniflare starts a
    // local KV simulator for it inside workerd, which a deployed worker does not pay for.
    [PASS_BOUND, () => jsOptions('passthrough.mjs', { ORIGIN: nginx.url }, { kvNamespaces: oursOptions(nginx.url, BUILD).kvNamespaces })],
    ['JS full reference', () => fullReferenceOptions(nginx.url, templates)],
    [OURS, () => oursOptions(nginx.url, BUILD)],
    ...(COMPARE ? [[THEIRS, () => oursOptions(nginx.url, COMPARE)]] : []),
  ];
  const cold = Object.fromEntries(coldWorkers.map(([n]) => [n, []]));
  for (let i = 0; i < COLD_STARTS; i++) {
    for (const [name, options] of coldWorkers) {
      const w = await startWorker(options());
      await (await fetch(`${w.url}/page-10k.html`)).text();
      cold[name].push(performance.now() - w.started);
      await w.mf.dispose();
    }
  }
  log('cold starts (ms):', JSON.stringify(Object.fromEntries(Object.entries(cold).map(([n, v]) => [n, v.map(Math.round)]))));

  // The output check, on workers whose log lines are kept (they are compared too).
  const full = await startWorker(fullReferenceOptions(nginx.url, templates));
  const theirs = COMPARE ? await startWorker(oursOptions(nginx.url, COMPARE)) : null;
  const check = await outputCheck(ours, full, selectedPages, theirs ? [[THEIRS, theirs]] : []);
  for (const r of check) if (r.diff) log(`output check: ${r.build}, ${r.case}: ${r.diff}`);
  log(`output check: ${check.filter((r) => !r.diff).length} of ${check.length} answers identical`);
  for (const w of [ours, full, theirs]) if (w) await w.mf.dispose();

  // The workers under load, started afresh for every round (a workerd process's speed varies
  // with its own JIT and memory layout by several per cent for the same code; a new process per
  // round lets the median even that out), each warmed for a second first. Their log lines are
  // written, to /dev/null (startWorker's `quiet`).
  const workers = [
    ['pass-through', () => jsOptions('passthrough.mjs', { ORIGIN: nginx.url })],
    [PASS_LOGGED, () => jsOptions('passthrough-logged.mjs', { ORIGIN: nginx.url })],
    ['JS simple reference', () => simpleReferenceOptions(nginx.url, templates)],
    ['JS full reference', () => fullReferenceOptions(nginx.url, templates)],
    [OURS, () => oursOptions(nginx.url, BUILD)],
    ...(COMPARE ? [[THEIRS, () => oursOptions(nginx.url, COMPARE)]] : []),
  ];
  const stateful = new Set(['JS simple reference', 'JS full reference', OURS, THEIRS]);
  const variants = workers.flatMap(([worker]) => (stateful.has(worker)
    ? [['banner', []], ['tags', [`Cookie: ${cookie}`]]].map(([state, headers]) => ({
      name: `${worker}, ${state}`, worker, headers, state, ...(worker === OURS || worker === THEIRS ? { ours: worker } : {}),
    }))
    : [{ name: worker, worker, headers: [] }]));
  const results = {};
  for (let round = 0; round < ROUNDS; round++) {
    const running = {};
    for (const [name, options] of workers) running[name] = await startWorker(options(), { quiet: true });
    for (const v of variants) await wrk(running[v.worker].url + selectedPages[0][1], 8, v.headers, '1s');
    for (const c of CONCURRENCY) {
      for (const [pageName, p] of selectedPages) {
        for (const v of variants) {
          const key = `${pageName}|${c}|${v.name}`;
          log(`round ${round + 1}/${ROUNDS} c=${c} ${pageName} ${v.name}`);
          (results[key] ??= []).push(await wrk(running[v.worker].url + p, c, v.headers));
        }
      }
    }
    for (const w of Object.values(running)) await w.mf.dispose();
  }

  // Streaming: the origin stalls half-way through a 100 KB page.
  const stallMs = QUICK ? 500 : 2000;
  const stalling = await startStallingOrigin(fs.readFileSync(path.join(fixtures, 'page-100k.html'), 'utf8'), stallMs);
  const oursStall = await startWorker(oursOptions(stalling.url, BUILD));
  const stall = await firstByteAndEnd(`${oursStall.url}/page`);
  await oursStall.mf.dispose();
  stalling.stop();

  const wasm = Object.fromEntries(layouts.map(([name, l]) => {
    const bytes = fs.readFileSync(l.wasm);
    const stripped = stripCustomSections(bytes);
    return [name, { raw: bytes.length, gz: gz(bytes), strippedRaw: stripped.length, strippedGz: gz(stripped), file: l.wasm }];
  }));
  let upload = 'n/a (not measured for --build)';
  if (flag('build') === undefined) {
    try {
      const dry = execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--env', 'production', '--outdir', path.join(OUT, 'dry-run')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      upload = /Total Upload:\s*([^\n]+)/.exec(dry)?.[1]?.trim() ?? 'n/a';
    } catch (e) {
      upload = 'n/a';
      log('wrangler deploy --dry-run failed', e.message);
    }
  }

  nginx.stop();

  // ---------- report ----------
  const rows = [];
  const problems = [];
  const med = (pageName, c, name) => {
    const runs = results[`${pageName}|${c}|${name}`];
    return { rps: median(runs.map((r) => r.rps)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)), errors: runs.reduce((a, r) => a + r.errors, 0) };
  };
  for (const c of CONCURRENCY) {
    for (const [pageName] of selectedPages) {
      const base = med(pageName, c, 'pass-through');
      for (const v of variants) {
        const m = med(pageName, c, v.name);
        if (!(m.rps > 0) || Number.isNaN(m.p50) || m.errors > 0) problems.push(`${pageName} c=${c} ${v.name}: ${JSON.stringify(m)}`);
        const vs = (ref) => (v.ours ? x(m.rps / med(pageName, c, `${ref}, ${v.state}`).rps) : '');
        const vsLogged = v.ours ? x(m.rps / med(pageName, c, PASS_LOGGED).rps) : '';
        rows.push(`| ${pageName} | ${c} | ${v.name} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${x(m.rps / base.rps)} | ${vsLogged} | ${vs('JS simple reference')} | ${vs('JS full reference')} |`);
      }
    }
  }

  // Against the targets, from the numbers above, for each sivo-consent build.
  const coldMedian = (name) => median(cold[name]);
  const targetRows = [];
  const html = selectedPages.filter(([, , isHtml]) => isHtml).map(([n]) => n);
  const nonHtml = selectedPages.filter(([, , isHtml]) => !isHtml).map(([n]) => n);
  const extreme = (cases, f, worst) => {
    let best = null;
    for (const cs of cases) {
      const r = f(cs);
      if (Number.isFinite(r) && (best === null || worst(r, best.r))) best = { r, cs };
    }
    return best;
  };
  const where = (cs) => `${cs.page}, c=${cs.c}, ${cs.state}`;
  for (const [name] of layouts) {
    const cases = (pageNames) => pageNames.flatMap((page) => CONCURRENCY.flatMap((c) => ['banner', 'tags'].map((state) => ({ page, c, state }))));
    const rpsVsFull = extreme(cases(html), (cs) => med(cs.page, cs.c, `${name}, ${cs.state}`).rps / med(cs.page, cs.c, `JS full reference, ${cs.state}`).rps, (a, b) => a < b);
    const rpsVsPass = extreme(cases(nonHtml), (cs) => med(cs.page, cs.c, `${name}, ${cs.state}`).rps / med(cs.page, cs.c, 'pass-through').rps, (a, b) => a < b);
    const rpsVsLogged = extreme(cases(nonHtml), (cs) => med(cs.page, cs.c, `${name}, ${cs.state}`).rps / med(cs.page, cs.c, PASS_LOGGED).rps, (a, b) => a < b);
    const loggedVsPass = extreme(cases(nonHtml).filter((cs) => cs.state === 'banner'), (cs) => med(cs.page, cs.c, PASS_LOGGED).rps / med(cs.page, cs.c, 'pass-through').rps, (a, b) => a < b);
    const p99VsFull = extreme(cases(html), (cs) => med(cs.page, cs.c, `${name}, ${cs.state}`).p99 / med(cs.page, cs.c, `JS full reference, ${cs.state}`).p99, (a, b) => a > b);
    const w = wasm[name];
    const coldRatio = coldMedian(name) / coldMedian(PASS_BOUND);
    const coldRatioBare = coldMedian(name) / coldMedian('pass-through');
    const verdict = (ok) => (ok === null ? 'n/a' : ok ? 'met' : '**missed**');
    targetRows.push(
      [name, 'HTML, every size, both states: req/s ≥ 1.0 × the JS full reference', rpsVsFull ? `min ${x(rpsVsFull.r)} (${where(rpsVsFull.cs)})` : 'not measured', verdict(rpsVsFull && rpsVsFull.r >= 1.0)],
      [name, 'Non-HTML: req/s ≥ 0.97 × pass-through', rpsVsPass ? `min ${x(rpsVsPass.r)} (${where(rpsVsPass.cs)}); the pass-through + log line itself: min ${x(loggedVsPass.r)}` : 'not measured', verdict(rpsVsPass && rpsVsPass.r >= 0.97)],
      [name, '(not a target) Non-HTML: req/s ÷ the pass-through + log line', rpsVsLogged ? `min ${x(rpsVsLogged.r)} (${where(rpsVsLogged.cs)})` : 'not measured', rpsVsLogged ? (rpsVsLogged.r >= 0.97 ? '≥ 0.97 ×' : '< 0.97 ×') : 'n/a'],
      [name, 'HTML, every size: p99 no worse than the JS full reference’s', p99VsFull ? `worst p99 ours/ref ${x(p99VsFull.r)} (${where(p99VsFull.cs)})` : 'not measured', verdict(p99VsFull && p99VsFull.r <= 1.0)],
      [name, 'Wasm ≤ 280 KB gzipped', `${kb(w.gz)} as built (${kb(w.strippedGz)} without custom sections: names, producers)`, verdict(w.gz <= 280 * 1024)],
      [name, 'Cold start within 20% of pass-through’s (with the same bindings)', `median ${coldMedian(name).toFixed(0)} ms vs ${coldMedian(PASS_BOUND).toFixed(0)} ms (${x(coldRatio)}); vs the bare pass-through’s ${coldMedian('pass-through').toFixed(0)} ms: ${x(coldRatioBare)}`, verdict(coldRatio <= 1.2)],
    );
  }

  for (const r of check) if (r.diff && !r.informative) problems.push(`output check, ${r.case}: the full reference's answer differs from ${r.build}'s: ${r.diff}`);
  const checkRows = check.map((r) => `| ${r.build} | ${r.case} | ${r.diff ? `differs ${r.diff.replace(/\|/g, '\\|')}` : 'identical'} |`);

  const cpus = os.cpus();
  const workerCount = 5 + (COMPARE ? 1 : 0);
  const report = `# Benchmarks

${QUICK ? 'Quick mode (one short round: a smoke test, not a measurement).' : 'Full run.'} Produced by \`node bench/run.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)}.

Machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}, workerd from wrangler's Miniflare.
Method: ${workerCount} workers in workerd (each its own Miniflare, no \`wrangler dev\` proxy) in front of one nginx on loopback;
\`wrk -t2 -c<N> -d${DURATION} --latency\`, \`Accept-Encoding: identity\`; ${ROUNDS} interleaved round(s), medians shown.
Every round starts each worker in a new workerd process and warms it for 1 s. The workers under load write
their log lines to /dev/null (bench/workerd-quiet.sh), not to Miniflare's parser in the benchmark's own process.
sivo-consent: ${path.relative(ROOT, BUILD).startsWith('..') ? BUILD : path.relative(ROOT, BUILD)}${COMPARE ? `; ${THEIRS}: ${COMPARE}` : ''}.
"banner" is a visitor with no decision (banner + settings link injected, origin Google tags stripped);
"tags" is a visitor with a valid consent cookie for everything (Consent Mode, GA4, GTM, noscript, link).
The image case passes through untouched in every worker.
"pass-through + log line" (bench/passthrough-logged.mjs) forwards and writes the contract's log line, nothing else;
"JS simple reference" (bench/reference.mjs) only injects fixed markup and writes the log line;
"JS full reference" (bench/reference-full.mjs) does sivo-consent's whole job in plain JavaScript
(cookie HMAC via WebCrypto, per-request nonce, stripping, injection, header checks, log line) on these pages,
and its answers on them are checked to be byte-identical to sivo-consent's (below).

## Throughput and latency

| page | conc. | worker | req/s | p50 ms | p99 ms | ÷ pass-through | ÷ pass-through + log line | ÷ JS simple | ÷ JS full |
|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

## Against the targets

| build | target | measured | verdict |
|---|---|---|---|
${targetRows.map((r) => `| ${r.join(' | ')} |`).join('\n')}

## Size, start-up, streaming

| figure | value |
|---|---|
${layouts.map(([name]) => `| wasm, raw${layouts.length > 1 ? ` (${name})` : ''} | ${kb(wasm[name].raw)} (${kb(wasm[name].strippedRaw)} without custom sections) |
| wasm, gzipped${layouts.length > 1 ? ` (${name})` : ''} | ${kb(wasm[name].gz)} (${kb(wasm[name].strippedGz)} without custom sections) |`).join('\n')}
| upload (\`wrangler deploy --dry-run\`) | ${upload} |
${coldWorkers.map(([name]) => `| cold start to first response, ${name}: median of ${COLD_STARTS} | ${coldMedian(name).toFixed(0)} ms (${Math.min(...cold[name]).toFixed(0)}–${Math.max(...cold[name]).toFixed(0)}) |`).join('\n')}
| banner HTML+CSS+JS, raw | ${templates.banner.en.length} B |
| banner HTML+CSS+JS, gzipped | ${gz(templates.banner.en)} B |
| settings link, raw | ${templates.link.en.length} B |
| Consent Mode + tags + noscript, gzipped | ${gz(templates.consentMode.all + templates.loaders.all + templates.noscript)} B |
| origin stalls ${stallMs} ms half-way through a 100 KB page: time to first byte | ${stall.ttfb.toFixed(0)} ms |
| same, time to last byte | ${stall.total.toFixed(0)} ms |
| KV operations per page view | 0 (pages verify the signed cookie; see tests/workerd/consent.test.mjs) |

## Output check: the JS full reference against sivo-consent

Each of the benchmark's pages in both states fetched from both, the response's nonce replaced by a
placeholder: status, the headers the worker touches, the body and the log line (time and duration
masked) compared byte for byte. ${check.filter((r) => !r.diff).length} of ${check.length} identical.

| build | case | result |
|---|---|---|
${checkRows.join('\n')}
${problems.length ? `\n## Problems\n\n${problems.map((p) => `- ${p}`).join('\n')}\n` : ''}`;
  // More rounds than the default is still a full run (BENCHMARKS.md); fewer, or a part, is not.
  const partial = Boolean(ONLY_PAGES || flag('duration') || ROUNDS < 3 || flag('build') || COMPARE);
  const target = QUICK || partial ? path.join(OUT, QUICK ? 'quick.md' : 'partial.md') : path.join(ROOT, 'BENCHMARKS.md');
  if (QUICK || partial || !fs.existsSync(path.join(ROOT, 'BENCHMARKS.md'))) {
    fs.writeFileSync(target, report);
  } else {
    // Keep the hand-written analysis below the marker; replace the measured part above it.
    const old = fs.readFileSync(target, 'utf8');
    const marker = '<!-- analysis -->';
    fs.writeFileSync(target, report + (old.includes(marker) ? `\n${old.slice(old.indexOf(marker))}` : ''));
  }
  console.log(report);
  log(`written to ${path.relative(ROOT, target)}`);
  if (problems.length) {
    log('problems:', problems);
    process.exit(1);
  }
}

// An origin that stalls half-way through a 100 KB page, to show streaming.
async function startStallingOrigin(html, stallMs) {
  const half = Math.floor(html.length / 2);
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.write(html.slice(0, half));
    setTimeout(() => res.end(html.slice(half)), stallMs);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => server.close() };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
