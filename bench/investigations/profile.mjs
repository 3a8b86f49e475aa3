#!/usr/bin/env node
// A V8 CPU profile of workerd under load: where a request's time goes in sivo-consent and in
// the full JavaScript reference (bench/reference-full.mjs), case by case.
//
//   node bench/investigations/profile.mjs                         sivo-consent (build/) and the JS full reference,
//                                                  cases banner, tags, image; 5 s of load each
//   node bench/investigations/profile.mjs --build=/tmp/build-before          sivo-consent from another build
//   node bench/investigations/profile.mjs --workers=ours --cases=banner      a part of it
//   node bench/investigations/profile.mjs --duration=10 --interval=200 --connections=16
//   node bench/investigations/profile.mjs --build=/tmp/build-after --tag=after   outputs named profile-after.md,
//                                                  profile-after-<worker>-<case>.cpuprofile (not overwriting)
//
// Cases: "banner", the 10 KB page with no cookie (banner injected, origin tags stripped);
// "tags", the 10 KB page with a valid consent cookie for everything; "image", the 200 KB
// image (passed through).
//
// How: each worker runs in its own workerd (Miniflare) with the inspector on a loopback port;
// http://127.0.0.1:PORT/json lists the isolates, the user worker's is "core:user:". Over its
// WebSocket (Chrome DevTools Protocol): Profiler.enable, Profiler.setSamplingInterval,
// then, after one second of warm-up load, Profiler.start, wrk for --duration seconds,
// Profiler.stop. Writes bench/out/profile-<worker>-<case>.cpuprofile (open it in Chrome
// DevTools' Performance panel or speedscope) and bench/out/profile.md (with --tag=T:
// profile-T-….cpuprofile, profile-T.md): per case and worker
// the top 25 functions by self time (self %, total %: share of samples with the function
// anywhere on the stack) and the samples grouped by kind:
//   wasm code             frames in the worker's wasm (names from the wasm's name section;
//                         `wasm-function[N]` frames are mapped through it, Rust symbols demangled)
//   wasm-bindgen glue     JavaScript of the build (index.js, worker/shim.mjs: the __wbg_* imports,
//                         closures' trampolines, string passing)
//   native / runtime      "(program)" (native code with no JavaScript on the stack: the runtime's
//                         HTMLRewriter (lol-html), streams, HTTP), "(garbage collector)", and
//                         built-ins or API methods with no script URL
//   (idle)                the isolate's thread waiting: not work, shown apart
//   our JS                bench/*.mjs (the references' code)
// Percentages are of all samples, and of busy samples (all but idle).
// Only the user worker's isolate is profiled: Miniflare's entry worker, which forwards every
// request to it, runs in another isolate of the same process and is not in the profile.
// The machine has 2 cores shared by wrk, nginx and workerd: compare shares, not absolute rates.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT, buildLayout, consentCookie, extractTemplates, fixturesDir, flag, freePort, fullReferenceOptions, log, makePages,
  oursOptions, sleep, startNginx, startWorker,
} from '../common.mjs';
import { functionNames } from '../wasm-sections.mjs';

const BUILD = path.resolve(flag('build') ?? path.join(ROOT, 'build'));
const WORKERS = (flag('workers') ?? 'ours,full').split(',');
const CASES = (flag('cases') ?? 'banner,tags,image').split(',');
const DURATION_S = Number(flag('duration') ?? 5);
const INTERVAL_US = Number(flag('interval') ?? 100);
const CONNECTIONS = Number(flag('connections') ?? 16);
const TAG = flag('tag') ? `-${flag('tag')}` : '';
const TOP = 25;
const shown = (dir) => (path.relative(ROOT, dir).startsWith('..') ? dir : path.relative(ROOT, dir) || dir);
const OUT = path.join(ROOT, 'bench', 'out');
fs.mkdirSync(OUT, { recursive: true });

// ---------- the Chrome DevTools Protocol over the inspector's WebSocket ----------
async function connect(inspectorPort, targetId) {
  let targets = [];
  for (let i = 0; i < 50 && !targets.some((t) => t.id === targetId); i++) {
    try {
      targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
    } catch {}
    if (!targets.some((t) => t.id === targetId)) await sleep(100);
  }
  const target = targets.find((t) => t.id === targetId);
  if (!target) throw new Error(`no inspector target ${targetId} (found: ${targets.map((t) => t.id).join(', ')})`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot connect to ${target.webSocketDebuggerUrl}`)), { once: true });
  });
  let nextId = 1;
  const pending = new Map();
  ws.addEventListener('message', (event) => {
    const msg = JSON.parse(typeof event.data === 'string' ? event.data : Buffer.from(event.data).toString('utf8'));
    const p = msg.id !== undefined && pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
    else p.resolve(msg.result);
  });
  return {
    send(method, params = {}) {
      const id = nextId++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => pending.set(id, { resolve, reject, method }));
    },
    close: () => ws.close(),
  };
}

async function wrk(url, seconds, headers = []) {
  const args = ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '-H', 'Accept-Encoding: identity'];
  for (const h of headers) args.push('-H', h);
  const { stdout } = await promisify(execFile)('wrk', [...args, url], { encoding: 'utf8' });
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
}

// ---------- reading a profile ----------
// Legacy Rust symbols (`_ZN4core3fmt5write17h0123456789abcdefE`): the path, without the hash.
function demangle(name) {
  const m = /^_?_ZN(.*)E$/.exec(name);
  if (!m) return name;
  const parts = [];
  let s = m[1];
  while (s.length) {
    const len = /^(\d+)/.exec(s);
    if (!len) return name;
    const n = Number(len[1]);
    parts.push(s.slice(len[1].length, len[1].length + n));
    s = s.slice(len[1].length + n);
  }
  if (/^h[0-9a-f]{16}$/.test(parts.at(-1))) parts.pop();
  const unescape = (p) => p
    .replace(/\$LT\$/g, '<').replace(/\$GT\$/g, '>').replace(/\$RF\$/g, '&').replace(/\$BP\$/g, '*').replace(/\$LP\$/g, '(')
    .replace(/\$RP\$/g, ')').replace(/\$C\$/g, ',').replace(/\$SP\$/g, '@').replace(/\$u([0-9a-f]+)\$/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/\.\./g, '::').replace(/^_\$/, '$');
  return parts.map(unescape).join('::');
}

// A symbol as the name section gives it, without the hash and crate disambiguators.
const tidy = (name) => name.replace(/\[[0-9a-f]{16}\]/g, '').replace(/::h[0-9a-f]{16}$/, '');

function classify(frame, glueUrls) {
  const { functionName: fn, url } = frame;
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)' || fn === '(garbage collector)' || fn === '(root)') return 'native';
  if (url.startsWith('wasm://') || /^wasm-function\[\d+\]$/.test(fn) || /^\$func\d+$/.test(fn)) return 'wasm';
  if (glueUrls.some((g) => url.endsWith(g))) return 'glue';
  if (/^(node-internal|cloudflare-internal|internal|workerd-internal):/.test(url) || url.startsWith('cloudflare:')) return 'runtime JS';
  if (url.includes('/bench/') || url.endsWith('.mjs')) return 'ours';
  if (!url) return 'native';
  return 'other JS';
}
const CATEGORY_NAMES = {
  wasm: 'wasm code', glue: 'wasm-bindgen glue (build JS)', native: 'native / runtime', 'runtime JS': "runtime's built-in JS (node-internal:…)",
  idle: '(idle)', ours: 'our JS (bench/*.mjs)', 'other JS': 'other JS',
};
// console.log: an anonymous native frame under the worker's log call (wasm-bindgen's
// __wbg_log_*/__wbg_error_*/__wbg_warn_* import, or the reference's logLine).
// Frames of the binding layer, skipped when looking for the worker's own code that calls.
// (`<core::panic::unwind_safe::AssertUnwindSafe<F> as Future>::poll` is not one: it is the
// worker's `#[event(fetch)]` future, with read_visit, proxy::serve… inlined into it by LTO.)
const BINDING = /^(<?(js_sys|web_sys|wasm_bindgen|wasm_bindgen_futures|worker|worker_sys)::|<alloc::|core::ptr::drop_in_place)/;
const LOG_CALLERS = /^(__wbg_(log|error|warn)_[0-9a-f]+|logLine)$/;

// What a glue function does: the start of its body in the build's JavaScript (minified).
function glueSnippet(name, glueCode) {
  for (const code of glueCode) {
    const esc = name.replace(/[$]/g, '\\$&');
    const m = new RegExp(`(?:[{,]${esc}:function|function ${esc})\\(([^)]*)\\)\\{`).exec(code);
    if (m) {
      let body = code.slice(m.index + m[0].length, m.index + m[0].length + 120);
      const end = /\}(?=,__wb|function |var |let |const |\}\})/.exec(body);
      body = end ? `${body.slice(0, end.index)} }` : `${body}…`;
      return `(${m[1]}) { ${body}`;
    }
  }
  return '';
}

function analyse(profile, wasmNames, glueUrls) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Samples per node (hitCount is not always filled in: count the samples).
  const hits = new Map();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const nameOf = (node) => {
    const cf = node.callFrame;
    let fn = cf.functionName;
    const idx = /^wasm-function\[(\d+)\]$/.exec(fn)?.[1] ?? /^\$func(\d+)$/.exec(fn)?.[1];
    if (idx !== undefined && wasmNames.has(Number(idx))) fn = wasmNames.get(Number(idx));
    if (cf.url.startsWith('wasm://') || idx !== undefined) fn = tidy(demangle(fn.replace(/^\$/, '')));
    if (!fn && !cf.url) {
      // A native function with no name (console.log is one): named after its caller.
      const up = nodes.get(parent.get(node.id))?.callFrame;
      const caller = up ? up.functionName || '(anonymous)' : '?';
      return LOG_CALLERS.test(caller) ? `(native: console.log) ← ${caller}` : `(anonymous native) ← ${tidy(caller)}`;
    }
    return fn || '(anonymous)';
  };
  const where = (cf) => {
    if (cf.url.startsWith('wasm://')) return `wasm +0x${cf.columnNumber.toString(16)}`;
    if (!cf.url) return '';
    return `${cf.url.replace(/^.*\/(bench|build)\//, '$1/').replace(/^file:\/\//, '')}:${cf.lineNumber + 1}`;
  };
  const fns = new Map();
  const keyOf = (node) => {
    const cf = node.callFrame;
    const cat = classify(cf, glueUrls);
    // Wasm frames by function (their column is the offset of the call inside it); JS by position.
    const name = nameOf(node);
    const key = cat === 'wasm' ? `wasm|${name}` : `${name}|${cf.url}|${cf.lineNumber}|${cf.columnNumber}`;
    if (!fns.has(key)) fns.set(key, { name, where: cat === 'wasm' ? 'wasm' : where(cf), cat, self: 0, total: 0, callers: new Map() });
    return key;
  };
  const keys = new Map(profile.nodes.map((n) => [n.id, keyOf(n)]));
  const categories = {};
  // Busy time from the profile's own clock (the sampling interval is only a request).
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    if (nodes.get(id).callFrame.functionName !== '(idle)') busyUs += profile.timeDeltas[i] ?? 0;
  });
  const logKeys = new Set([...fns.keys()].filter((k) => k.startsWith('(native: console.log)')));
  let logSamples = 0;
  const trampoline = (id) => /^(wasm-to-js|js-to-wasm)/.test(nodes.get(id)?.callFrame.functionName ?? '');
  for (const [id, n] of hits) {
    const f = fns.get(keys.get(id));
    f.self += n;
    // Who calls it (the wasm-to-js and js-to-wasm trampolines skipped), and when that is a
    // binding (js_sys::Reflect::get…), the first caller above it that is not.
    const callerAbove = (from) => {
      let up = parent.get(from);
      while (up !== undefined && trampoline(up)) up = parent.get(up);
      return up;
    };
    let up = callerAbove(id);
    let caller = up === undefined ? '(none)' : fns.get(keys.get(up)).name;
    if (up !== undefined && BINDING.test(caller)) {
      let app = up;
      for (let i = 0; i < 8 && app !== undefined && BINDING.test(fns.get(keys.get(app)).name); i++) app = callerAbove(app);
      if (app !== undefined) caller = `${caller} ← ${fns.get(keys.get(app)).name}`;
    }
    f.callers.set(caller, (f.callers.get(caller) ?? 0) + n);
    categories[f.cat] = (categories[f.cat] ?? 0) + n;
    // Total: every distinct function on the stack gets the sample once.
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = keys.get(at);
      if (seen.has(k)) continue;
      seen.add(k);
      fns.get(k).total += n;
    }
    if ([...seen].some((k) => logKeys.has(k))) logSamples += n;
  }
  const idle = categories.idle ?? 0;
  return { total, busy: total - idle, busyUs, logSamples, fns: [...fns.values()].sort((a, b) => b.self - a.self), categories };
}

const pct = (n, d) => (d ? `${((100 * n) / d).toFixed(1)} %` : 'n/a');
const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
// Inside a code span: markup is shown as is; only the table's pipes and backticks need care.
const code = (s) => `\`${String(s).replace(/\|/g, '\\|').replace(/`/g, "'")}\``;
const short = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
function tables(a, glueCode) {
  const top = a.fns.filter((f) => f.name !== '(root)').slice(0, TOP).map((f, i) => {
    const [caller, n] = [...f.callers].sort((x, y) => y[1] - x[1])[0] ?? ['', 0];
    const snippet = f.cat === 'glue' ? glueSnippet(f.name, glueCode) : '';
    const where = snippet ? `${f.where}: ${code(short(snippet, 60))}` : cell(f.where);
    const called = caller ? `${code(short(caller, 110))} (${pct(n, f.self)})` : '';
    return `| ${i + 1} | ${code(short(f.name, 100))} | ${where} | ${CATEGORY_NAMES[f.cat]} | ${pct(f.self, a.total)} | ${pct(f.self, a.busy)} | ${pct(f.total, a.total)} | ${called} |`;
  });
  const groups = Object.keys(CATEGORY_NAMES).filter((c) => a.categories[c]).map((c) =>
    `| ${CATEGORY_NAMES[c]} | ${a.categories[c]} | ${pct(a.categories[c], a.total)} | ${c === 'idle' ? '' : pct(a.categories[c], a.busy)} |`);
  // The native group's parts.
  const parts = ['(program)', '(garbage collector)'].map((n) => [n, a.fns.filter((f) => f.name === n).reduce((s, f) => s + f.self, 0)]);
  const builtins = (a.categories.native ?? 0) - parts.reduce((s, [, v]) => s + v, 0);
  const nativeParts = [...parts, ['built-ins / API methods (no script URL)', builtins]].filter(([, v]) => v > 0)
    .map(([n, v]) => `| &nbsp;&nbsp;of which ${cell(n)} | ${v} | ${pct(v, a.total)} | ${pct(v, a.busy)} |`);
  const logRow = `| console.log of the request's log line (inclusive, any kind) | ${a.logSamples} | ${pct(a.logSamples, a.total)} | ${pct(a.logSamples, a.busy)} |`;
  return `| # | function | where | kind | self % | self % of busy | total % | main caller (share of its self samples) |
|---|---|---|---|---|---|---|---|
${top.join('\n')}

| kind | samples | % of all | % of busy |
|---|---|---|---|
${groups.join('\n')}
${nativeParts.join('\n')}
${logRow}
| all | ${a.total} | 100 % | |`;
}

// ---------- main ----------
async function main() {
  const layout = buildLayout(BUILD);
  const wasmNames = functionNames(fs.readFileSync(layout.wasm));
  log(`sivo-consent from ${BUILD} (${layout.layout} layout); ${wasmNames.size} wasm function names`);
  const glueUrls = layout.modules.filter((m) => m.type === 'ESModule').map((m) => path.relative(BUILD, m.path));
  const glueCode = layout.modules.filter((m) => m.type === 'ESModule').map((m) => fs.readFileSync(m.path, 'utf8'));
  const fixtures = fixturesDir();
  makePages(fixtures);
  const nginx = await startNginx(fixtures);
  const cookie = consentCookie();
  const cases = {
    banner: { label: '10 KB page, no cookie (banner)', path: '/page-10k.html', headers: [] },
    tags: { label: '10 KB page, valid consent cookie (tags)', path: '/page-10k.html', headers: [`Cookie: ${cookie}`] },
    image: { label: '200 KB image', path: '/image-200k.png', headers: [] },
  };
  const probe = await startWorker(oursOptions(nginx.url, BUILD));
  const templates = await extractTemplates(probe.url, '/page-10k.html', fs.readFileSync(path.join(fixtures, 'page-10k.html'), 'utf8'));
  await probe.mf.dispose();

  const workers = {
    ours: { label: `sivo-consent (${shown(BUILD)})`, options: () => oursOptions(nginx.url, BUILD) },
    full: { label: 'JS full reference', options: () => fullReferenceOptions(nginx.url, templates) },
  };
  const analyses = {};
  for (const w of WORKERS) {
    if (!workers[w]) throw new Error(`--workers: ${w} is not one of ${Object.keys(workers).join(', ')}`);
    const inspectorPort = await freePort();
    const worker = await startWorker(workers[w].options(), { inspectorPort });
    const cdp = await connect(inspectorPort, 'core:user:');
    try {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: INTERVAL_US });
      for (const c of CASES) {
        const k = cases[c];
        if (!k) throw new Error(`--cases: ${c} is not one of ${Object.keys(cases).join(', ')}`);
        log(`${workers[w].label}: ${k.label}: warm-up, then ${DURATION_S} s profiled`);
        await wrk(worker.url + k.path, 1, k.headers);
        await cdp.send('Profiler.start');
        const rps = await wrk(worker.url + k.path, DURATION_S, k.headers);
        const { profile } = await cdp.send('Profiler.stop');
        const file = path.join(OUT, `profile${TAG}-${w === 'ours' ? 'sivo-consent' : 'js-full'}-${c}.cpuprofile`);
        fs.writeFileSync(file, JSON.stringify(profile));
        analyses[`${w}|${c}`] = { ...analyse(profile, wasmNames, glueUrls), rps, file };
        log(`  ${rps} req/s, ${profile.samples.length} samples -> ${path.relative(ROOT, file)}`);
      }
      await cdp.send('Profiler.disable');
    } finally {
      cdp.close();
      await worker.mf.dispose();
    }
  }
  nginx.stop();

  // ---------- report ----------
  const sections = [];
  for (const c of CASES) {
    const here = WORKERS.filter((w) => analyses[`${w}|${c}`]);
    const kinds = Object.keys(CATEGORY_NAMES).filter((k) => here.some((w) => analyses[`${w}|${c}`].categories[k]));
    const compare = `| kind | ${here.map((w) => `${workers[w].label}: % of busy`).join(' | ')} |
|---|${here.map(() => '---|').join('')}
${kinds.filter((k) => k !== 'idle').map((k) => `| ${CATEGORY_NAMES[k]} | ${here.map((w) => pct(analyses[`${w}|${c}`].categories[k] ?? 0, analyses[`${w}|${c}`].busy)).join(' | ')} |`).join('\n')}
| console.log of the log line (inclusive) | ${here.map((w) => pct(analyses[`${w}|${c}`].logSamples, analyses[`${w}|${c}`].busy)).join(' | ')} |
| idle, % of all samples | ${here.map((w) => pct(analyses[`${w}|${c}`].categories.idle ?? 0, analyses[`${w}|${c}`].total)).join(' | ')} |
| req/s while profiled | ${here.map((w) => analyses[`${w}|${c}`].rps.toFixed(0)).join(' | ')} |
| busy CPU per request in the isolate (profiled time ÷ requests) | ${here.map((w) => `${(analyses[`${w}|${c}`].busyUs / (analyses[`${w}|${c}`].rps * DURATION_S)).toFixed(0)} µs`).join(' | ')} |`;
    sections.push(`## ${cases[c].label}\n\n${compare}\n`);
    for (const w of here) {
      const a = analyses[`${w}|${c}`];
      sections.push(`### ${workers[w].label}: ${cases[c].label}\n\n${a.rps.toFixed(0)} req/s while profiled; ${a.total} samples (${a.busy} busy); \`${path.relative(ROOT, a.file)}\`.\n\n${tables(a, glueCode)}\n`);
    }
  }
  const report = `# CPU profiles

Produced by \`node bench/investigations/profile.mjs${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)}.
sivo-consent: \`${shown(BUILD)}\` (${layout.layout} layout, wasm ${path.basename(layout.wasm)}, ${wasmNames.size} function names in its name section).
Load: \`wrk -t2 -c${CONNECTIONS} -d${DURATION_S}s\` after a 1 s warm-up; V8 sampling every ${INTERVAL_US} µs, user worker's isolate only.
"self %" is the share of samples in the function itself, "total %" the share with the function anywhere on the stack.
"% of busy" leaves out "(idle)" samples (the isolate's thread waiting). "(program)" is native code with
no JavaScript on the stack: mostly the runtime's own work (HTMLRewriter/lol-html parsing, streams, HTTP).
Caveats: once V8 optimises a JavaScript function, runtime methods it calls may get no frame of their own, so
their time shows as the caller's self time (the reference's \`rewrite\` and \`fetch\`, the glue's \`__wbg_*\`);
\`(native: console.log)\` is the anonymous native frame under the log call; in the wasm,
\`<core::panic::unwind_safe::AssertUnwindSafe<F> as Future>::poll\` is the worker's whole \`#[event(fetch)]\`
future (read_visit, proxy::serve… inlined into it by LTO), so wasm self time there is the worker's own request code.

${sections.join('\n')}`;
  fs.writeFileSync(path.join(OUT, `profile${TAG}.md`), report);
  console.log(report);
  log(`written to bench/out/profile${TAG}.md`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
