// A real HTTP origin on loopback for the workerd tests: fixture pages with the headers,
// encodings, status codes and timing a production origin produces.
import http from 'node:http';
import zlib from 'node:zlib';
import { fixtureCases, readFixture } from './fixtures.mjs';

export const PAGE = '<!doctype html><html><head><title>Fixture</title></head><body><h1>Hola</h1><p>Contenido</p></body></html>';
export const IMAGE = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));

/** The time between two network writes of a fixture page split by `<!--sivo:chunk-->`. */
export const CHUNK_DELAY_MS = 150;

/**
 * A handler serving fixture case `name` (`dir`/<name>/, tests/fixtures/rewrite by default) with
 * its status and headers, each chunk of the page its own network write, CHUNK_DELAY_MS apart;
 * with `"compress": "gzip"` in origin.json, the whole page gzip-compressed in one write.
 */
export function fixtureRoute(name) {
  const { status, headers, chunks, compress } = readFixture(name);
  return (req, res) => {
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return res.end();
    if (compress === 'gzip') return res.end(zlib.gzipSync(chunks.join('')));
    if (compress !== undefined) throw new Error(`fixture ${name}: unknown "compress": ${compress}`);
    const rest = [...chunks];
    const next = () => {
      const chunk = rest.shift();
      if (rest.length === 0) return res.end(chunk);
      res.write(chunk);
      setTimeout(next, CHUNK_DELAY_MS);
    };
    next();
  };
}

/** Every fixture case of tests/fixtures/rewrite, each at `${prefix}<case>`. */
export function fixtureRoutes(prefix = '/fixture/') {
  return Object.fromEntries(fixtureCases().map((name) => [`${prefix}${name}`, fixtureRoute(name)]));
}

/** Starts the origin; `routes` may add or override handlers by path. */
export async function startOrigin(routes = {}) {
  const requests = [];
  const gates = new Map();
  const handlers = {
    '/page': (req, res) => {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(PAGE),
        etag: '"page-v1"',
        'last-modified': 'Wed, 25 Nov 2026 10:00:00 GMT',
        'set-cookie': 'origin_session=s3ss10n; Path=/; HttpOnly',
        'x-origin': 'fixture',
      });
      res.end(req.method === 'HEAD' ? undefined : PAGE);
    },
    // PAGE gzip-compressed, labelled `?label=` (default `gzip`).
    '/gzip': (req, res) => {
      const body = zlib.gzipSync(PAGE);
      const label = new URL(req.url, 'http://origin').searchParams.get('label') ?? 'gzip';
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': label, 'content-length': body.length });
      res.end(body);
    },
    '/latin1': (req, res) => {
      const body = Buffer.from('<html><head><meta charset="iso-8859-1"></head><body><p>Canción año</p></body></html>', 'latin1');
      res.writeHead(200, { 'content-type': 'text/html; charset=iso-8859-1', 'content-length': body.length });
      res.end(body);
    },
    '/image.png': (req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': IMAGE.length, etag: '"img-1"', 'cache-control': 'public, max-age=86400' });
      res.end(req.method === 'HEAD' ? undefined : IMAGE);
    },
    '/conditional': (req, res) => {
      if (req.headers['if-none-match'] === '"v7"') {
        res.writeHead(304, { etag: '"v7"' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'text/html', etag: '"v7"' });
      res.end(PAGE);
    },
    '/range': (req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range || '');
      if (!m) {
        res.writeHead(200, { 'content-type': 'text/html', 'accept-ranges': 'bytes' });
        return res.end(PAGE);
      }
      const [start, end] = [Number(m[1]), Number(m[2])];
      const slice = Buffer.from(PAGE).subarray(start, end + 1);
      res.writeHead(206, { 'content-type': 'text/html', 'content-range': `bytes ${start}-${end}/${Buffer.byteLength(PAGE)}`, 'content-length': slice.length });
      res.end(slice);
    },
    '/missing': (req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body><h1>No existe</h1></body></html>');
    },
    '/redirect': (req, res) => {
      res.writeHead(302, { location: '/page', 'content-type': 'text/html' });
      res.end('<html><body>Moved</body></html>');
    },
    '/echo': (req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
      });
    },
    // Sends the head and first half of a page, then waits for the test to open the gate.
    '/stalled': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.write('<!doctype html><html><head><title>Stalled</title></head><body><p>first half</p>');
      waitGate('stalled').then(() => res.end('<p>second half</p></body></html>'));
    },
  };
  Object.assign(handlers, routes);
  function waitGate(name) {
    return new Promise((resolve) => gates.set(name, resolve));
  }
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
    const path = req.url.split('?')[0];
    const handler = handlers[path];
    if (!handler) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('no fixture');
    }
    handler(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    requests,
    open(name) {
      gates.get(name)?.();
    },
    async close() {
      for (const open of gates.values()) open();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
