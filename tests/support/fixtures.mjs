// The origin pages of the golden rewrite fixtures, tests/fixtures/rewrite/<case>/, and of the
// hostile pages of tests/browser/leaks.test.mjs, tests/fixtures/leaks/<case>/ (no expected
// outputs: a sibling folder the golden test does not read):
//   origin.html   the page; a `<!--sivo:chunk-->` marker splits it into separate network writes
//   origin.json   optional: { "status": 200, "headers": { "content-type": "...", "set-cookie": [...] },
//                 "compress": "gzip" }
//                 A header set to null is not sent at all (e.g. `"content-type": null`: no
//                 Content-Type); "compress": "gzip" sends the page gzip-compressed, in one write,
//                 whatever Content-Encoding the headers name (e.g. "x-gzip" or "GZIP").
// The expected outputs next to them are read and written by tests/workerd/rewrite-fixtures.test.mjs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/rewrite');
/** The hostile pages of tests/browser/leaks.test.mjs: same layout, no expected outputs. */
export const LEAK_FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/leaks');
/** Where the origin ends one network write and starts the next; never sent itself. */
export const CHUNK_MARKER = '<!--sivo:chunk-->';
const DEFAULT_HEADERS = { 'content-type': 'text/html; charset=utf-8' };

/** The names of the fixture cases: every directory under `dir` (tests/fixtures/rewrite), sorted. */
export function fixtureCases(dir = FIXTURES) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/**
 * The page of case `name` (a folder of `fixtures`, tests/fixtures/rewrite by default) as the
 * origin serves it: `status`, `headers` (lower-case names; `set-cookie` may be an array; a
 * header null in origin.json left out), `html` (the whole body, without chunk markers),
 * `chunks` (the body's network writes, in order) and `compress` ("gzip" or undefined).
 */
export function readFixture(name, fixtures = FIXTURES) {
  const dir = path.join(fixtures, name);
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
  return { status: meta.status ?? 200, headers, html: chunks.join(''), chunks, compress: meta.compress };
}
