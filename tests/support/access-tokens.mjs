// Cloudflare Access for the dashboard tests: application tokens signed with the committed
// test-only RSA keys (tests/fixtures/access, see its README.txt), and a loopback server
// standing in for the team's `<ACCESS_TEAM_DOMAIN>/cdn-cgi/access/certs`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ROOT } from './worker.mjs';

export const ACCESS_FIXTURES = path.join(ROOT, 'tests/fixtures/access');
export const CERTS_PATH = '/cdn-cgi/access/certs';
export const TEST_AUD = 'test-aud';

const read = (name) => fs.readFileSync(path.join(ACCESS_FIXTURES, name), 'utf8');

/** The PKCS#8 PEM of test key `n` (1 or 2), kid `test-key-<n>`. */
export const privateKeyPem = (n) => read(`key-${n}.private.pem`);
/** The public JWK of test key `n`, as the certs endpoint lists it. */
export const publicJwk = (n) => JSON.parse(read(`key-${n}.public.jwk.json`));
/** The body of jwks-<n>.json: key 1 (before a rotation) or keys 1 and 2 (after it). */
export const jwksBody = (n) => read(`jwks-${n}.json`);

/** base64url without padding, of a Buffer, a string or (as JSON) an object. */
export function b64url(value) {
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  return buf.toString('base64url');
}

/** `header.payload` signed RS256 with test key `key` (1 or 2): a compact JWS. */
export function signRs256(header, payload, key = 1) {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const signature = crypto.createSign('RSA-SHA256').update(input).sign(privateKeyPem(key));
  return `${input}.${b64url(signature)}`;
}

/** `header.payload` with an HMAC-SHA256 signature keyed by `secret` (the HS256 confusion attack). */
export function signHs256(header, payload, secret) {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${b64url(crypto.createHmac('sha256', secret).update(input).digest())}`;
}

/** The claims Access puts in an application token, valid now for an hour. */
export function accessClaims({ teamDomain, aud = [TEST_AUD], email, now = Math.floor(Date.now() / 1000), ...rest }) {
  return {
    iss: teamDomain,
    aud,
    email,
    iat: now,
    nbf: now,
    exp: now + 3600,
    sub: crypto.createHash('sha256').update(String(email)).digest('hex').slice(0, 32),
    type: 'app',
    ...rest,
  };
}

/**
 * An Access application token for `email`, RS256, signed with test key `key` and naming
 * `kid` (default `test-key-<key>`). `claims` and `header` override or add members.
 */
export function accessToken({ teamDomain, email, key = 1, kid = `test-key-${key}`, claims = {}, header = {} }) {
  return signRs256({ alg: 'RS256', kid, typ: 'JWT', ...header }, accessClaims({ teamDomain, email, ...claims }), key);
}

/**
 * A loopback stand-in for the team domain: serves jwks-<n>.json at CERTS_PATH (`serve(n)`
 * switches, `fail(status)` makes it answer an error) and counts the requests for it.
 */
export async function startCertsServer({ jwks = 1 } = {}) {
  let body = jwksBody(jwks);
  let failStatus = 0;
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, at: Date.now() });
    if (req.url.split('?')[0] !== CERTS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not here');
    }
    if (failStatus) {
      res.writeHead(failStatus, { 'content-type': 'text/plain' });
      return res.end('certs unavailable');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    /** The team domain: `http://127.0.0.1:<port>`. */
    url,
    requests,
    /** How many times the certs were asked for. */
    get fetches() {
      return requests.filter((r) => r.url.split('?')[0] === CERTS_PATH).length;
    },
    /** Serves jwks-<n>.json from now on. */
    serve(n) {
      body = jwksBody(n);
      failStatus = 0;
    },
    /** Answers `status` (0: heal) from now on. */
    fail(status) {
      failStatus = status;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
