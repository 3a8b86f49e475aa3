// The runtime configuration wrangler.toml gives the worker (its compatibility date and flags),
// read from the file, so that the tests and the benchmark run the worker as it is deployed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const toml = fs.readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8');
// The top-level keys only: everything before the first [table].
const firstTable = toml.search(/^\[/m);
const top = firstTable < 0 ? toml : toml.slice(0, firstTable);

const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(top)?.[1];
if (!date) throw new Error('wrangler.toml has no compatibility_date');
const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(top)?.[1];

export const compatibilityDate = date;
export const compatibilityFlags = flags === undefined ? [] : [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
