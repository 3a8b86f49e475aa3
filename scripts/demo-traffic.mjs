#!/usr/bin/env node
// Demo traffic for the dashboard at /_consent/admin of a running worker (scripts/dev.sh).
// Today: a few hundred page views and decisions, in a mix of languages, devices and choices,
// sent to the worker as browsers would send them, so the worker counts them (the local runtime
// reports one country for every request). With --days N, first the N − 1 days before today as
// the worker would have counted them (scripts/lib/demo-history.mjs: several countries, devices
// and languages, a weekly rhythm, a dip in the accept rate after a policy change), written
// straight into the local D1 with `wrangler d1 execute --local` (requests are counted on the
// day they arrive, so past days cannot be sent). Running it twice adds to the counts.
//   node scripts/demo-traffic.mjs [--days 60] [--url http://127.0.0.1:8787] [--visitors 300]
//                                [--persist-to DIR (wrangler dev's --persist-to, if it had one)]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { history, historySql } from './lib/demo-history.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const [key, value] = argv[i].replace(/^--/, '').split(/=(.*)/s);
  args[key] = value ?? (argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : 'true');
}
const base = (args.url || process.env.DEMO_URL || 'http://127.0.0.1:8787').replace(/\/$/, '');
const visitors = Number(args.visitors || 300);
const days = Number(args.days || 1);
if (!Number.isInteger(days) || days < 1 || days > 400) {
  console.error('--days: a whole number of days from 1 to 400, today included');
  process.exit(2);
}

if (days > 1) {
  const past = history({ days: days - 1 });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sivo-demo-')), 'history.sql');
  fs.writeFileSync(file, historySql(past).join('\n'));
  const wrangler = path.join(ROOT, 'node_modules/wrangler/bin/wrangler.js');
  execFileSync(process.execPath, [wrangler, 'd1', 'execute', 'CONSENT_DB', '--local', '--file', file, ...(args['persist-to'] ? ['--persist-to', args['persist-to']] : [])], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_UPDATE_NOTIFIER: '1' },
  });
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  const sum = (map) => [...map.values()].reduce((a, b) => a + b, 0);
  console.log(`wrote ${days - 1} past days to the local D1: ${sum(past.pageViews)} page views, ${sum(past.decisions)} decisions; policy change on ${past.policyChange}`);
}

const AGENTS = {
  mobile: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
  tablet: 'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15',
  desktop: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36',
};
const PAGES = ['/', '/pricing.html', '/contact.html', '/privacy.html', '/cookies.html'];
// A new visitor's answer to the banner, spread as in the history's days before the policy
// change: about six in ten decide, eight in ten of those accept everything.
const CHOICES = [
  ['none', 38], ['accept_all', 48], ['reject_all', 10], ['save_analytics', 3], ['save_marketing', 1],
];

let seed = 20261129;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = (weighted) => {
  let r = random() * weighted.reduce((s, [, w]) => s + w, 0);
  for (const [v, w] of weighted) if ((r -= w) < 0) return v;
  return weighted[0][0];
};

// Cookies of visitors who decided earlier in the run: about a third of visitors come back with
// one (their choice still in effect, no banner), as in the history (scripts/lib/demo-history.mjs),
// so today's coverage is not read as a collapse beside the past days'.
const returning = [];

async function visit(i) {
  const device = pick([['mobile', 55], ['desktop', 38], ['tablet', 7]]);
  const lang = pick([['es-ES,es;q=0.9', 70], ['en-GB,en;q=0.9', 30]]);
  const gpc = random() < 0.05;
  const headers = { 'user-agent': AGENTS[device], 'accept-language': lang, 'cf-connecting-ip': `198.51.${i % 250}.${(i * 7) % 250}`, ...(gpc ? { 'sec-gpc': '1' } : {}) };
  const back = returning.length > 0 && random() < 0.34;
  let cookie = back ? returning[Math.floor(random() * returning.length)] : '';
  const views = 1 + Math.floor(random() * 4);
  const choice = back ? 'none' : pick(CHOICES);
  for (let v = 0; v < views; v++) {
    const page = PAGES[Math.floor(random() * PAGES.length)];
    const res = await fetch(base + page, { headers: { ...headers, ...(cookie ? { cookie } : {}) } });
    await res.arrayBuffer();
    if (v === 0 && choice !== 'none') {
      const body = new URLSearchParams({ action: choice.startsWith('save') ? 'save' : choice, return_to: page });
      if (choice === 'save_analytics') body.set('analytics', 'on');
      if (choice === 'save_marketing') body.set('marketing', 'on');
      const decided = await fetch(base + '/_consent', {
        method: 'POST', redirect: 'manual', body,
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      });
      cookie = (decided.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).filter((c) => c.startsWith('__Host-sivo_consent=')).join('; ');
      if (cookie) returning.push(cookie);
    }
  }
  return views;
}

let pageViews = 0;
for (let i = 0; i < visitors; i += 10) {
  const batch = await Promise.all(Array.from({ length: Math.min(10, visitors - i) }, (_, k) => visit(i + k)));
  pageViews += batch.reduce((a, b) => a + b, 0);
}
console.log(`sent ${visitors} visitors, ${pageViews} page views; page views reach D1 within STATS_FLUSH_SECONDS. Open ${base}/_consent/admin`);
