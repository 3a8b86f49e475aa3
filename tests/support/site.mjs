// The set-up most workerd test files share: a loopback origin (with extra `routes`) and the
// built worker in front of it, started before the file's tests and closed after them.
import { before, after } from 'node:test';
import { startOrigin } from './origin.mjs';
import { startWorker } from './worker.mjs';

/**
 * Starts the origin and the worker (`options` as startWorker's, the origin's URL added) before
 * the file's tests; `site.origin` and `site.worker` are set from then on.
 */
export function useSite({ routes = {}, ...options } = {}) {
  const site = {};
  before(async () => {
    site.origin = await startOrigin(routes);
    site.worker = await startWorker({ origin: site.origin.url, ...options });
  });
  after(async () => {
    await site.worker?.close();
    await site.origin?.close();
  });
  return site;
}

/** GET (or `init`) `path` on `worker` without compression, so the body is the worker's bytes as written. */
export function fetchIdentity(worker, path, headers = {}, init = {}) {
  return worker.fetch(path, { ...init, headers: { 'accept-encoding': 'identity', ...headers } });
}

/** How many times `needle` appears in `haystack`. */
export function count(haystack, needle) {
  return haystack.split(needle).length - 1;
}
