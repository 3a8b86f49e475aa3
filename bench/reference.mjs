// Baseline 2: what a competent team would write in JavaScript: the runtime's HTMLRewriter
// injecting the same bytes as sivo-consent (banner and link, or Consent Mode, tags and
// link), taken from sivo-consent's own output by the benchmark. It does not verify the
// cookie's signature nor strip origin tags: it only injects, which favours it.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const res = await fetch(env.ORIGIN + url.pathname + url.search, request);
    if (!(res.headers.get('content-type') || '').startsWith('text/html')) return res;
    const consented = (request.headers.get('cookie') || '').includes('sivo_consent=');
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
