// The origin pages of the golden rewrite fixtures, tests/fixtures/rewrite/<case>/:
//   origin.html   the page; a `<!--sivo:chunk-->` marker splits it into separate network writes
//   origin.json   optional: { "status": 200, "headers": { "content-type": "...", "set-cookie": [...] },
//                 "compress": "gzip", "leak": true }
//                 A header set to null is not sent at all (e.g. `"content-type": null`: no
//                 Content-Type); "compress": "gzip" sends the page gzip-compressed, in one write,
//                 whatever Content-Encoding the headers name (e.g. "x-gzip" or "GZIP"); "leak":
//                 true marks a page that, ungated, makes a browser request Google: the hostile
//                 pages tests/browser/leaks.test.mjs opens in Chromium.
// The expected outputs next to them are read and written by tests/workerd/rewrite-fixtures.test.mjs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/rewrite');
/** Where the origin ends one network write and starts the next; never sent itself. */
export const CHUNK_MARKER = '<!--sivo:chunk-->';
const DEFAULT_HEADERS = { 'content-type': 'text/html; charset=utf-8' };

/** The names of the fixture cases: every directory under tests/fixtures/rewrite, sorted. */
export function fixtureCases() {
  return fs
    .readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/**
 * The page of case `name` as the origin serves it: `status`, `headers` (lower-case names;
 * `set-cookie` may be an array; a header null in origin.json left out), `html` (the whole body,
 * without chunk markers), `chunks` (the body's network writes, in order), `compress` ("gzip"
 * or undefined) and `leak` (true for a hostile page).
 */
export function readFixture(name) {
  const dir = path.join(FIXTURES, name);
  const page = path.join(dir, 'origin.html');
  if (!fs.existsSync(page)) throw new Error(`fixture ${name}: ${path.relative(process.cwd(), page)} is missing`);
  const source = fs.readFileSync(page, 'utf8');
  const metaFile = path.join(dir, 'origin.json');
  const meta = fs.existsSync(metaFile) ? JSON.parse(fs.readFileSync(metaFile, 'utf8')) : {};
  const headers = { ...DEFAULT_HEADERS };
  for (const [k, v] of Object.entries(meta.headers ?? {})) {
    if (v === null) delete headers[k.toLowerCase()];
    else headers[k.toLowerCase()] = v;
  }
  const chunks = source.split(CHUNK_MARKER);
  return { status: meta.status ?? 200, headers, html: chunks.join(''), chunks, compress: meta.compress, leak: meta.leak === true };
}
