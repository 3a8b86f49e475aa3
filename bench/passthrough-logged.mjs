// Baseline 1b: the pass-through plus the one thing the contract asks of every request, its
// JSON log line (the same fields as the other workers write). What a worker that forwards and
// logs cannot beat; sivo-consent's non-HTML answers are also reported against it.
function truncateIp(ip) {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip.replace(/\.\d+$/, '.0');
  if (ip.includes(':')) return `${ip.split(':').slice(0, 3).join(':')}::`;
  return null;
}

export default {
  async fetch(request, env) {
    const started = Date.now();
    const url = new URL(request.url);
    const response = await fetch(env.ORIGIN + url.pathname + url.search, request);
    console.log(JSON.stringify({
      ts: new Date(started).toISOString(), level: 'info', msg: 'request', method: request.method, path: url.pathname,
      status: response.status, ip: truncateIp(request.headers.get('cf-connecting-ip') || ''), consent: 'undecided',
      country: request.cf?.country, ms: Date.now() - started,
    }));
    return response;
  },
};
