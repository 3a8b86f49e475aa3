#!/usr/bin/env node
// Sends realistic demo traffic to a running worker (scripts/dev.sh) so the dashboard at
// /_consent/admin has something to show: a few hundred page views and decisions, in a mix of
// languages, devices and choices, as browsers would send them (the local runtime reports one
// country for every request, so the country table has one row locally).
//   node scripts/demo-traffic.mjs [--url http://127.0.0.1:8787] [--visitors 300]
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const base = (args.url || process.env.DEMO_URL || 'http://127.0.0.1:8787').replace(/\/$/, '');
const visitors = Number(args.visitors || 300);

const AGENTS = {
  mobile: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
  tablet: 'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15',
  desktop: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36',
};
const PAGES = ['/', '/pricing.html', '/contact.html', '/privacy.html', '/cookies.html'];
// A plausible spread: about half decide, most of those accept everything.
const CHOICES = [
  ['none', 45], ['accept_all', 30], ['reject_all', 15], ['save_analytics', 7], ['save_marketing', 3],
];

let seed = 20261129;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = (weighted) => {
  let r = random() * weighted.reduce((s, [, w]) => s + w, 0);
  for (const [v, w] of weighted) if ((r -= w) < 0) return v;
  return weighted[0][0];
};

async function visit(i) {
  const device = pick([['mobile', 55], ['desktop', 38], ['tablet', 7]]);
  const lang = pick([['es-ES,es;q=0.9', 70], ['en-GB,en;q=0.9', 30]]);
  const gpc = random() < 0.05;
  const headers = { 'user-agent': AGENTS[device], 'accept-language': lang, 'cf-connecting-ip': `198.51.${i % 250}.${(i * 7) % 250}`, ...(gpc ? { 'sec-gpc': '1' } : {}) };
  let cookie = '';
  const views = 1 + Math.floor(random() * 4);
  const choice = pick(CHOICES);
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
