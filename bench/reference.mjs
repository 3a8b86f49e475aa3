// Baseline 2: what a competent team would write in JavaScript: the runtime's HTMLRewriter
// injecting the same bytes as sivo-consent (banner and link, or Consent Mode, tags and
// link), taken from sivo-consent's own output by the benchmark, and the same JSON log line
// per request that the contract asks for. It does not verify the cookie's signature nor
// strip origin tags: it only injects, which favours it.
function truncateIp(ip) {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip.replace(/\.\d+$/, '.0');
  if (ip.includes(':')) return `${ip.split(':').slice(0, 3).join(':')}::`;
  return null;
}

function logLine(request, url, status, consent, started) {
  console.log(JSON.stringify({
    ts: new Date(started).toISOString(), level: 'info', msg: 'request', method: request.method, path: url.pathname, status,
    ip: truncateIp(request.headers.get('cf-connecting-ip') || ''), consent, country: request.cf?.country, ms: Date.now() - started,
  }));
}

export default {
  async fetch(request, env) {
    const started = Date.now();
    const url = new URL(request.url);
    const res = await fetch(env.ORIGIN + url.pathname + url.search, request);
    const consented = (request.headers.get('cookie') || '').includes(`${env.COOKIE_NAME}=`);
    logLine(request, url, res.status, consented ? 'all' : 'undecided', started);
    if (!(res.headers.get('content-type') || '').startsWith('text/html')) return res;
    const rewriter = new HTMLRewriter().on('body', {
      element(el) {
        el.prepend(consented ? env.NOSCRIPT : env.BANNER, { html: true });
        el.append(env.LINK, { html: true });
      },
    });
    if (consented) {
      rewriter.on('head', {
        element(el) {
          el.prepend(env.CONSENT_MODE, { html: true });
          el.append(env.LOADERS, { html: true });
        },
      });
    }
    const headers = new Headers(res.headers);
    headers.delete('content-length');
    return rewriter.transform(new Response(res.body, { status: res.status, headers }));
  },
};
