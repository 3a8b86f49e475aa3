// Baseline 3: sivo-consent's job on the benchmark's pages, written in plain JavaScript with
// the runtime's HTMLRewriter, the way a competent team would write it. Per request it:
//   - reads the `__Host-sivo_consent` cookie and verifies its HMAC-SHA256 with WebCrypto
//     (key imported once per isolate, `verify` per request), then its expiry and policy
//     version: undecided, rejected or all;
//   - forwards the request without the analytics/marketing cookies the visitor has not
//     allowed, asking the origin only for encodings the runtime decodes (gzip, br), with a
//     20 s timeout on the response head;
//   - makes the checks sivo-consent makes on every response (CSP, Link and Set-Cookie
//     headers, cookies to expire);
//   - for an HTML page: draws a 16-byte nonce (crypto.getRandomValues, base64), strips the
//     origin's Google tags the visitor has not allowed (every attribute value of
//     STRIP_ELEMENTS, inline scripts and noscript held until their last chunk), injects
//     Consent Mode, the tag loaders (unless the page loads its own), GTM's noscript, the
//     banner and the settings link, drops content-length and the validators, sets
//     cache-control and vary;
//   - counts the page view in the isolate (written to D1 in batches when CONSENT_DB is bound);
//   - logs the same JSON line as the worker's RequestLog (IPv4 truncated).
//
// The injected markup is not rendered here: the benchmark takes it from sivo-consent's own
// output (env.TEMPLATES, with `{nonce}` and `{return_to}` placeholders), and this worker
// fills in the per-request nonce and path. Configuration (env): ORIGIN_URL,
// GA4_MEASUREMENT_ID, GTM_CONTAINER_ID, POLICY_VERSION, CONSENT_SIGNING_KEY,
// STATS_FLUSH_SECONDS, TEMPLATES.
//
// Only what the benchmark's pages reach is implemented (bench/run.mjs checks the answers on
// those pages against sivo-consent's, byte for byte). A request or an origin answer that
// would need more (a CSP, Link or Set-Cookie header from the origin, a disallowed cookie
// from the browser, a consent for analytics or marketing only, a language other than
// English, Global Privacy Control, an IPv6 client) gets an error (`beyondTheBenchmark`),
// never a silently different answer. The worker's own routes (/_consent/*) are not served;
// an origin failure is a plain 502/504 text, not the worker's error page.

const COOKIE_NAME = '__Host-sivo_consent';
const MAC_CONTEXT = 'sivo-consent cookie\n';
const MAX_COOKIE_VALUE = 512;
const MAX_LOGGED_PATH = 512;
const ORIGIN_HEAD_TIMEOUT_MS = 20_000;
const ORIGIN_ACCEPT_ENCODING = 'gzip, br';
const DROPPED_WHEN_REWRITTEN = ['content-length', 'etag', 'last-modified', 'content-md5'];
const CSP_HEADERS = ['content-security-policy', 'content-security-policy-report-only'];

/** An input the benchmark's pages never bring: this reference does not handle it. */
function beyondTheBenchmark(what) {
  throw new Error(`the JS full reference handles only the benchmark's pages, not ${what}`);
}
const HTML = { html: true };

// gate/mod.rs and gate/elements.rs: the same elements as the worker's, which is most of what
// gating costs (the runtime's selector matching and a call per element matched).
const STRIP_ELEMENTS = 'script, link, img, iframe, frame, source, object, embed, video, audio, track, input, image, ' +
  'base, body, svg, use, feimage, [style], [background], [ping], [formaction], meta[http-equiv]';
const STRIP_STYLE = 'style';
const STRIP_INLINE = 'script:not([src]):not([type="application/json" i]):not([type="application/ld+json" i]), noscript';
const OWN_TAG_ELEMENTS = 'script[src*="googletagmanager.com/gtag/js" i], script[src*="googletagmanager.com/gtm.js" i]';
const OWN_TAG_INLINE = 'head script:not([src])';
const MAX_HELD_SCRIPT = 256 * 1024;
const MATCH_OVERLAP = 64;
const ANALYTICS_HOSTS = ['googletagmanager.com', 'google-analytics.com'];
const MARKETING_HOSTS = ['doubleclick.net', 'googleadservices.com', 'googlesyndication.com'];

// One matcher per blocked list, built once: a case-insensitive regex of the hosts (without the
// `u` flag, `i` folds ASCII only, like the worker's to_ascii_lowercase).
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const matcher = (hosts) => ({ hosts, re: hosts.length ? new RegExp(hosts.map(escapeRe).join('|'), 'i') : null });
const BLOCKED = {
  none: matcher([...ANALYTICS_HOSTS, ...MARKETING_HOSTS]),
  all: matcher([]),
};
const OWN_TAG_RE = /googletagmanager\.com\/(?:gtm\.js|gtag\/js)/i;

// gate/cookies.rs: the analytics and marketing cookies (everything else passes).
const INVENTORY = [
  ['_ga', 'exact', 'analytics'], ['_ga_', 'prefix', 'analytics'], ['_gid', 'exact', 'analytics'],
  ['_gat', 'prefix', 'analytics'], ['_gcl_', 'prefix', 'marketing'], ['_gac_gb_', 'prefix', 'marketing'],
  ['_gac_', 'prefix', 'marketing'], ['FPID', 'exact', 'analytics'], ['FPLID', 'exact', 'analytics'],
  ['FPGCL', 'prefix', 'marketing'], ['FPAU', 'exact', 'marketing'],
];
function cookieCategory(name) {
  if (name === COOKIE_NAME) return 'necessary';
  for (const [n, how, category] of INVENTORY) if (how === 'exact' ? name === n : name.startsWith(n)) return category;
  return null;
}
function allowed(name, choices) {
  const c = cookieCategory(name);
  return c === 'analytics' ? choices.analytics : c === 'marketing' ? choices.marketing : true;
}

// ---------- configuration and templates, once per isolate ----------
let config = null;
function configure(env) {
  if (config) return config;
  const t = env.TEMPLATES;
  // `{nonce}` and `{return_to}` split the markup once; a request only joins the parts.
  const split = (s) => s.split('{nonce}');
  const map = (o, f) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
  config = {
    origin: env.ORIGIN_URL.replace(/\/$/, ''),
    ga4: env.GA4_MEASUREMENT_ID || null,
    gtm: env.GTM_CONTAINER_ID || null,
    policy: env.POLICY_VERSION || '1',
    flushMs: 1000 * Number(env.STATS_FLUSH_SECONDS ?? 30),
    key: env.CONSENT_SIGNING_KEY && env.CONSENT_SIGNING_KEY.length >= 32
      ? crypto.subtle.importKey('raw', new TextEncoder().encode(env.CONSENT_SIGNING_KEY), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
      : null,
    banner: t.banner.en.split('{return_to}').map(split),
    link: split(t.link.en),
    linkNoNonce: t.link.en.replace(' nonce="{nonce}"', ''),
    consentMode: map(t.consentMode, split),
    styles: map(t.styles, split),
    loaders: map(t.loaders, split),
    noscript: t.noscript,
  };
  return config;
}
const fill = (parts, nonce) => parts.join(nonce);

// ---------- the consent cookie (consent/cookie.rs) ----------
function cookieValue(header, name) {
  for (const piece of header.split(';')) {
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    if (piece.slice(0, eq).trim() === name) return piece.slice(eq + 1).trim();
  }
  return null;
}
const B64URL = /^[A-Za-z0-9_-]*$/;
const B64_INDEX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
// base64url without padding, canonical (non-zero trailing bits refused), as the worker's decoder.
function fromBase64Url(s) {
  if (!B64URL.test(s) || s.length % 4 === 1) return null;
  const rest = s.length % 4;
  if (rest && B64_INDEX.indexOf(s[s.length - 1]) & (rest === 2 ? 0x0f : 0x03)) return null;
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
const CONTEXT_BYTES = new TextEncoder().encode(MAC_CONTEXT);
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const CHOICES = { '00': [false, false], '10': [true, false], '01': [false, true], '11': [true, true] };
const DIGITS = /^\+?\d+$/;
const RECORD_REF = /^\d{13}-[0-9a-f]{8}$/;

async function readConsent(header, cfg, now) {
  const undecided = { decided: false, choices: { analytics: false, marketing: false }, rejected: null };
  const value = header && cfg.key ? cookieValue(header, COOKIE_NAME) : null;
  if (value === null) return undecided;
  const reject = (why) => ({ ...undecided, rejected: why });
  if (value.length > MAX_COOKIE_VALUE) return reject('malformed');
  const dot = value.indexOf('.');
  if (dot < 0) return reject('malformed');
  const payload = fromBase64Url(value.slice(0, dot));
  const tag = fromBase64Url(value.slice(dot + 1));
  if (!payload || !tag) return reject('malformed');
  const signed = new Uint8Array(CONTEXT_BYTES.length + payload.length);
  signed.set(CONTEXT_BYTES);
  signed.set(payload, CONTEXT_BYTES.length);
  if (!(await crypto.subtle.verify('HMAC', await cfg.key, tag, signed))) return reject('bad signature');
  let text;
  try {
    text = UTF8.decode(payload);
  } catch {
    return reject('unknown payload');
  }
  const d = parsePayload(text);
  if (!d) return reject('unknown payload');
  if (d.expiresAt <= now || d.givenAt > d.expiresAt) return reject('expired');
  if (d.policy !== cfg.policy) return reject('other policy version');
  return { decided: true, choices: d.choices, rejected: null };
}
function parsePayload(text) {
  const bar = text.indexOf('|');
  if (bar < 0) return null;
  const version = text.slice(0, bar);
  const fields = version === 'v1' ? 5 : version === 'v2' ? 6 : 0;
  if (!fields) return null;
  // splitn: the last field keeps any further '|'.
  const parts = text.slice(bar + 1).split('|');
  if (parts.length < fields) return null;
  const last = parts.slice(fields - 1).join('|');
  const [id, choices, given, expires] = parts;
  if (!/^[0-9a-f]{32}$/.test(id) || !CHOICES[choices] || !DIGITS.test(given) || !DIGITS.test(expires)) return null;
  if (version === 'v2' && parts[4] !== '') {
    const refs = parts[4].split(',');
    if (refs.length > 6 || !refs.every((r) => RECORD_REF.test(r))) return null;
  }
  const [analytics, marketing] = CHOICES[choices];
  return { choices: { analytics, marketing }, givenAt: Number(given), expiresAt: Number(expires), policy: last };
}
const label = (c) => (c.decided ? (c.choices.analytics ? (c.choices.marketing ? 'all' : 'analytics') : c.choices.marketing ? 'marketing' : 'rejected') : 'undecided');

// ---------- the page's plan (gate/mod.rs) ----------
function planFor(choices, cfg) {
  if (choices.analytics !== choices.marketing) beyondTheBenchmark('a consent for analytics or marketing only');
  const key = choices.analytics ? 'all' : 'none';
  const ga4 = choices.analytics ? cfg.ga4 : null;
  const gtm = choices.analytics || choices.marketing ? cfg.gtm : null;
  return { key, blocked: BLOCKED[key], ga4, gtm, injectsTags: Boolean(ga4 || gtm) };
}

// ---------- headers on every response (src/gate.rs allowed_header_edits) ----------
// sivo-consent edits the Link and Set-Cookie headers and expires the disallowed cookies the
// browser sent; the benchmark's origin sends neither header and its visitors no such cookie.
function checkHeaders(res, cookieNames, choices) {
  const h = res.headers;
  if (cookieNames.some((name) => !allowed(name, choices))) beyondTheBenchmark('a disallowed cookie to expire');
  if (h.has('link')) beyondTheBenchmark('a Link header');
  if (h.has('set-cookie')) beyondTheBenchmark('a Set-Cookie header');
  return res;
}

// ---------- which responses are rewritten (gate/rewrite.rs) ----------
function treatment(method, res) {
  const s = res.status;
  const renderable = !(s >= 204 && s <= 206) && ((s >= 200 && s <= 299) || (s >= 400 && s <= 599));
  if (method.toUpperCase() === 'HEAD' || !renderable) return 'pass';
  const ct = res.headers.get('content-type');
  if (!ct || ct.split(';')[0].trim().toLowerCase() !== 'text/html') return 'pass';
  const ce = (res.headers.get('content-encoding') || '').trim().toLowerCase();
  if (!['', 'identity', 'gzip', 'x-gzip', 'br'].includes(ce)) return 'refuse';
  return 'rewrite';
}

// ---------- the page's edits (html_rewriter.rs) ----------
// An inline script's text is held until its last chunk (up to MAX_HELD_SCRIPT), each chunk
// judged with the end of the text before it, so a host split across chunks is seen.
class InlineGate {
  constructor(blocked) {
    this.blocked = blocked;
    this.reset();
  }
  reset() {
    this.held = 0; this.streaming = false; this.dropping = false; this.buf = ''; this.tail = '';
  }
  text(chunk) {
    const text = chunk.text;
    const last = chunk.lastInTextNode;
    const window = this.tail + text;
    this.tail = window.slice(-MATCH_OVERLAP);
    if (!this.dropping && this.blocked.re.test(window)) this.dropping = true;
    if (this.dropping) {
      chunk.remove();
      this.buf = '';
    } else if (this.streaming) {
      // passes
    } else if (last || this.held + text.length > MAX_HELD_SCRIPT) {
      this.streaming = !last;
      if (this.held) chunk.replace(this.buf + text, HTML);
      this.buf = '';
    } else {
      this.held += text.length;
      this.buf += text;
      chunk.remove();
    }
    if (last) this.reset();
  }
}

class StripBlocked {
  constructor(blocked) {
    this.re = blocked.re;
  }
  element(el) {
    for (const [, value] of el.attributes) {
      if (this.re.test(value)) {
        el.remove();
        return;
      }
    }
  }
}

// The origin's own loader of Google's tag: then no second one is added.
class OwnTag {
  constructor() {
    this.seen = false;
    this.tail = '';
  }
  text(chunk) {
    const window = this.tail + chunk.text;
    this.tail = chunk.lastInTextNode ? '' : window.slice(-MATCH_OVERLAP);
    if (OWN_TAG_RE.test(window)) this.seen = true;
  }
}

function rewrite(res, visit, cfg) {
  const { choices, plan } = visit;
  const all = choices.analytics && choices.marketing;
  const consentMode = !all || plan.injectsTags;
  let nonce = null;
  if (consentMode) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    nonce = btoa(String.fromCharCode(...bytes));
  }
  const headers = new Headers(res.headers);
  for (const name of DROPPED_WHEN_REWRITTEN) headers.delete(name);
  headers.set('cache-control', 'private, no-cache');
  headers.append('vary', 'Cookie, Accept-Language');
  if (nonce) {
    for (const name of CSP_HEADERS) if (headers.has(name)) beyondTheBenchmark(`a ${name} header`);
  }
  const link = nonce ? fill(cfg.link, nonce) : cfg.linkNoNonce;

  const rewriter = new HTMLRewriter();
  if (plan.blocked.re) {
    const strip = new StripBlocked(plan.blocked);
    const gate = new InlineGate(plan.blocked);
    const styles = new InlineGate(plan.blocked);
    rewriter.on(STRIP_ELEMENTS, { element: (el) => strip.element(el) });
    rewriter.on(STRIP_INLINE, { text: (chunk) => gate.text(chunk) });
    rewriter.on(STRIP_STYLE, { text: (chunk) => styles.text(chunk) });
  }
  let banner = null;
  if (nonce) {
    const consentModeHtml = fill(cfg.consentMode[plan.key], nonce);
    // Consent Mode first in <head>; the worker's stylesheets and the tag loaders at its end.
    const styles = fill(cfg.styles[plan.key], nonce);
    const own = plan.injectsTags ? new OwnTag() : null;
    const loaders = own ? fill(cfg.loaders[plan.key], nonce) : '';
    rewriter.on('head', {
      element: (el) => {
        el.prepend(consentModeHtml, HTML);
        el.onEndTag((end) => end.before(styles + (own && !own.seen ? loaders : ''), HTML));
      },
    });
    if (own) {
      rewriter
        .on(OWN_TAG_ELEMENTS, { element: () => { own.seen = true; } })
        .on(OWN_TAG_INLINE, { text: (chunk) => own.text(chunk) });
      if (plan.gtm) rewriter.on('body', { element: (el) => { if (!own.seen) el.prepend(cfg.noscript, HTML); } });
    }
    if (!visit.decided) {
      const [before, after] = cfg.banner;
      banner = fill(before, nonce) + escapeHtml(visit.pathAndQuery) + fill(after, nonce);
    }
  }
  // The banner first in the body (first in the tab order), the link last; a page without
  // <body> or </body> gets them at the document's end.
  let bodySeen = false, linkDone = false;
  rewriter
    .on('body', {
      element(el) {
        bodySeen = true;
        if (banner) el.prepend(banner, HTML);
        el.onEndTag((end) => {
          linkDone = true;
          end.before(link, HTML);
        });
      },
    })
    .onDocument({
      end(end) {
        const missing = (!bodySeen && banner ? banner : '') + (linkDone ? '' : link);
        if (missing) end.append(missing, HTML);
      },
    });
  return rewriter.transform(new Response(res.body, { status: res.status, statusText: res.statusText, headers }));
}

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ESC[c]);

// ---------- languages (i18n negotiate) ----------
function negotiate(header) {
  if (!header) return 'en';
  let best = null, bestQ = 0;
  for (const item of header.split(',').slice(0, 32)) {
    const [range, ...params] = item.split(';');
    const primary = range.trim().split('-')[0].toLowerCase();
    if (primary !== 'es' && primary !== 'en') continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    let q = 1000;
    if (qParam !== undefined) {
      const v = Number(qParam.slice(2).trim());
      if (!(v >= 0 && v <= 1) || qParam.slice(2).trim() === '') continue;
      q = Math.round(v * 1000);
    }
    if (q > 0 && (best === null || q > bestQ)) [best, bestQ] = [primary, q];
  }
  return best ?? 'en';
}

// ---------- the log line (log.rs, ip.rs) ----------
function rfc3339(ms) {
  // The worker's clock formatting: no fraction for whole seconds, trailing zeros trimmed.
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d*?)0*Z$/, (_, f) => (f ? `.${f}Z` : 'Z'));
}
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
function truncateIp(raw) {
  const m = IPV4.exec(raw.trim());
  if (!m) beyondTheBenchmark('an IPv6 client');
  return `${m[1]}.${m[2]}.${m[3]}.0`;
}
function logLine(visit, status, level, error) {
  const country = visit.country;
  const line = {
    ts: rfc3339(visit.now), level, msg: 'request', method: visit.method,
    path: visit.path.length > MAX_LOGGED_PATH ? `${visit.path.slice(0, MAX_LOGGED_PATH)}…` : visit.path, status,
    ip: visit.ip === null ? null : truncateIp(visit.ip), consent: visit.label,
  };
  if (typeof country === 'string' && /^[A-Za-z0-9]{2}$/.test(country)) line.country = country;
  line.ms = Date.now() - visit.now;
  if (error) line.error = error;
  if (visit.rejected) line.cookie_rejected = visit.rejected;
  (level === 'error' ? console.error : console.log)(JSON.stringify(line));
}

// ---------- page-view statistics (stats.rs): summed in the isolate, written in batches ----------
const tally = new Map();
let lastFlush = 0;
function device(ua) {
  const u = (ua || '').toLowerCase();
  if (u.includes('ipad') || u.includes('tablet') || (u.includes('android') && !u.includes('mobile'))) return 'tablet';
  return u.includes('mobi') || u.includes('iphone') || u.includes('ipod') ? 'mobile' : 'desktop';
}
function countPageView(visit, request, env, ctx, cfg) {
  const c = typeof visit.country === 'string' && /^[A-Za-z]{2}$/.test(visit.country) ? visit.country.toUpperCase() : '--';
  const key = `${rfc3339(visit.now).slice(0, 10)}|${visit.label}|${c}|${visit.lang}|${device(request.headers.get('user-agent'))}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
  if (!lastFlush) lastFlush = visit.now;
  if (visit.now - lastFlush < cfg.flushMs || !env.CONSENT_DB) return;
  lastFlush = visit.now;
  const rows = [...tally];
  tally.clear();
  const sql = 'INSERT INTO page_views (day, consent, country, lang, device, views) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (day, consent, country, lang, device) DO UPDATE SET views = views + excluded.views';
  ctx.waitUntil(env.CONSENT_DB.batch(rows.map(([k, n]) => env.CONSENT_DB.prepare(sql).bind(...k.split('|'), n))).catch(() => {
    for (const [k, n] of rows) tally.set(k, (tally.get(k) ?? 0) + n);
  }));
}

// ---------- the request ----------
export default {
  async fetch(request, env, ctx) {
    const now = Date.now();
    const cfg = configure(env);
    const url = new URL(request.url);
    const headers = request.headers;
    const cookie = headers.get('cookie');
    const consent = await readConsent(cookie, cfg, now);
    const visit = {
      now, method: request.method, path: url.pathname, pathAndQuery: url.pathname + url.search,
      lang: negotiate(headers.get('accept-language')),
      decided: consent.decided, choices: consent.choices, rejected: consent.rejected, label: label(consent),
      ip: headers.get('cf-connecting-ip'), country: request.cf?.country,
    };
    visit.plan = planFor(visit.choices, cfg);
    if (visit.lang !== 'en') beyondTheBenchmark('a language other than English');
    if ((headers.get('sec-gpc') || '').trim() === '1') beyondTheBenchmark('Global Privacy Control');

    // The request to the origin: no disallowed cookies, only encodings the rewriter reads.
    let outbound = request;
    let cookieNames = [];
    let filtered = cookie;
    if (cookie !== null) {
      const pairs = cookie.split(';').map((p) => p.trim()).filter(Boolean);
      cookieNames = [];
      for (const p of pairs) {
        const eq = p.indexOf('=');
        if (eq > 0 && p.slice(0, eq).trim()) cookieNames.push(p.slice(0, eq).trim());
      }
      const kept = pairs.filter((p) => allowed(p.split('=')[0].trim(), visit.choices));
      filtered = kept.length ? kept.join('; ') : null;
    }
    const cookieChanges = cookie !== null && filtered !== cookie;
    if (cookieChanges || headers.get('accept-encoding') !== ORIGIN_ACCEPT_ENCODING) {
      outbound = new Request(request);
      outbound.headers.set('accept-encoding', ORIGIN_ACCEPT_ENCODING);
      if (cookieChanges) filtered === null ? outbound.headers.delete('cookie') : outbound.headers.set('cookie', filtered);
    }
    let timer;
    let res;
    try {
      res = await Promise.race([
        fetch(cfg.origin + visit.pathAndQuery, outbound),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), ORIGIN_HEAD_TIMEOUT_MS); }),
      ]);
    } catch (e) {
      const timeout = e.message === 'timeout';
      logLine(visit, timeout ? 504 : 502, 'error', timeout ? 'origin timeout' : 'origin unreachable');
      return new Response(timeout ? 'Gateway Timeout' : 'Bad Gateway', { status: timeout ? 504 : 502 });
    } finally {
      clearTimeout(timer);
    }
    res = checkHeaders(res, cookieNames, visit.choices);
    const how = treatment(visit.method, res);
    if (how === 'refuse') {
      logLine(visit, 502, 'error', 'an HTML page in an encoding the rewriter cannot read');
      return new Response('Bad Gateway', { status: 502 });
    }
    if (how === 'pass') {
      logLine(visit, res.status, 'info');
      return res;
    }
    const out = rewrite(res, visit, cfg);
    logLine(visit, out.status, 'info');
    countPageView(visit, request, env, ctx, cfg);
    return out;
  },
};
