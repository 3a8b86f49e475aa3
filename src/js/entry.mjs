// The worker's entry: every request is read once by wasm (`pageFor`), the site's pages are
// proxied here with every decision made in Rust by a few synchronous calls (src/entry.rs), and
// the worker's own routes (/_consent/…) are answered by the asynchronous `Page.own`. Either
// way `Page.finish` writes the one log line and makes the one statistics call.
//
// Why JavaScript holds the I/O: each `await` inside wasm goes through wasm-bindgen's
// promise/future glue, and each page's rewriter was built from wasm with a crossing per
// handler. Here the origin's fetch, its timeout and the HTMLRewriter are plain JavaScript;
// wasm is entered only to decide (BENCHMARKS.md).
//
// Every code, bit layout, field order and selector this file uses comes from wasm's
// `protocol()` (src/protocol.rs), read once when the module loads and checked: a build whose
// two halves disagree fails here, naming what is missing, not at some later request.
//
// scripts/build.sh bundles this file with worker-build's output (`./glue.js`) into
// build/index.js. What the glue exports: the Rust `#[wasm_bindgen]` functions, which
// worker-build puts on its entrypoint's prototype, and its entrypoint class itself, whose
// construction re-instantiates the wasm after a trap.
import { WorkerEntrypoint } from 'cloudflare:workers';
import Glue, { Page } from './glue.js';
import { readProtocol } from './protocol.mjs';

// The build stamp scripts/build.sh hands esbuild (`--define:SIVO_BUILD=…`): the git commit and
// the build time, which /_consent/health reports (src/health.rs reads this global).
globalThis.__sivoBuild = Object.freeze(typeof SIVO_BUILD === 'object' ? SIVO_BUILD : { commit: null, builtAt: null });
const wasm = Glue.prototype;
const HTML = { html: true };
const P = readProtocol(wasm, Page);
const SEP = P.separator;
// The configured origin's base URL, read on the first request (the isolate's configuration
// never changes).
let originBase;

class OriginFailure extends Error {
  constructor(why, detail) {
    super(detail);
    this.why = why;
  }
}

export default class Worker extends WorkerEntrypoint {
  // The Cron Trigger (wrangler.toml [triggers]): the daily summary and the alerts.
  scheduled(controller) {
    return wasm.runScheduled(this.env, controller.scheduledTime);
  }

  fetch(request) {
    return serve(request, this.env, this.ctx);
  }
}

async function serve(request, env, ctx) {
  // After a wasm trap, constructing the glue's entrypoint re-instantiates the module.
  if (globalThis.__worker_init_state?.criticalError) new Glue(ctx, env);
  try {
    return await handle(request, env, ctx);
  } catch (e) {
    noteTrap(e);
    throw e;
  }
}

// One string, one crossing: the URL, the method, the protocol's request headers and the
// country, joined by the protocol's separator, which none of them can hold.
function factsOf(request) {
  return request.url + SEP + request.method + SEP + joined(request.headers, P.requestHeaders) + SEP + (request.cf?.country ?? '');
}

// The values of `names` in `headers` (an absent one empty), joined by the separator.
function joined(headers, names) {
  let values = headers.get(names[0]) ?? '';
  for (let i = 1; i < names.length; i++) values += SEP + (headers.get(names[i]) ?? '');
  return values;
}

async function handle(request, env, ctx) {
  const page = wasm.pageFor(env, Date.now(), request.headers, factsOf(request));
  try {
    const route = page.route();
    let response;
    if (route & P.route.own) {
      response = await page.own(request, env);
    } else {
      try {
        response = await answer(page, await fromOrigin(page, route, request, env));
      } catch (e) {
        noteTrap(e);
        response = page.fail(e instanceof OriginFailure ? e.why : P.originFailure.internal, describe(e));
      }
    }
    page.finish(response.status, Date.now(), env, ctx);
    return response;
  } finally {
    page.free();
  }
}

async function fromOrigin(page, route, request, env) {
  const outbound = route & P.route.changed ? page.outbound(request) : request;
  let pending;
  try {
    switch ((route >>> P.route.originShift) & P.route.originMask) {
      case P.origin.demo:
        if (!env.ASSETS) throw new OriginFailure(P.originFailure.misconfigured, 'the ASSETS binding is missing');
        pending = env.ASSETS.fetch(outbound);
        break;
      case P.origin.route:
        pending = fetch(outbound);
        break;
      default: {
        // The request itself is the init: method, headers, body and its redirect mode.
        const offset = route >>> P.route.offsetShift;
        originBase ??= wasm.originBase(env);
        pending = fetch(offset === P.route.noOffset ? page.originUrl() : originBase + request.url.slice(offset), outbound);
      }
    }
  } catch (e) {
    throw e instanceof OriginFailure ? e : new OriginFailure(P.originFailure.unreachable, describe(e));
  }
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new OriginFailure(P.originFailure.timeout, 'timed out')), P.originTimeoutMs);
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (e) {
    throw e instanceof OriginFailure ? e : new OriginFailure(P.originFailure.unreachable, describe(e));
  } finally {
    clearTimeout(timer);
  }
}

// What the visitor gets for the origin's response, as Page.prepare decides from the headers
// that matter: the response as it came, with header changes, rewritten, or refused; for a
// response without a type, as Page.sniffed decides from the body's first bytes. A gzip body
// under a label the runtime does not decode (`x-gzip`, `GZIP`) is decoded here first.
async function answer(page, origin) {
  const h = origin.headers;
  let what = page.prepare(origin.status, joined(h, P.responseHeaders), h.has('set-cookie') ? h.getSetCookie() : undefined);
  if (what === P.prepared.asIs) return origin;
  if (what === P.prepared.refused) return page.refusal();
  let body = origin.body;
  if (what & P.body.gunzip) {
    what ^= P.body.gunzip;
    body = body?.pipeThrough(new DecompressionStream('gzip')) ?? null;
  }
  if (what === P.prepared.sniff) {
    ({ what, body } = await sniff(page, body));
    if (what === P.prepared.refused) return page.refusal();
  }
  const headers = new Headers(h);
  const edits = page.headerEdits().split(SEP);
  for (let i = 0; i + 2 < edits.length; i += 3) headers[edits[i]](edits[i + 1], edits[i + 2]);
  const response = new Response(body, { status: origin.status, statusText: origin.statusText, headers });
  return what === P.prepared.rewrite ? rewrite(response, page) : response;
}

// Reads the body's first bytes (the protocol's sniffBytes, or all of a shorter body) for
// Page.sniffed, whose answer it returns with a body that replays the chunks read, then
// streams the rest: nothing is held but those chunks.
async function sniff(page, body) {
  if (body === null) return { what: page.sniffed(new Uint8Array(0)), body };
  const reader = body.getReader();
  const chunks = [];
  let size = 0;
  let done = false;
  while (size < P.body.sniffBytes && !done) {
    const next = await reader.read();
    if (next.done) done = true;
    else {
      chunks.push(next.value);
      size += next.value.byteLength;
    }
  }
  const prefix = new Uint8Array(Math.min(size, P.body.sniffBytes));
  let at = 0;
  for (const chunk of chunks) {
    if (at === prefix.length) break;
    const part = chunk.subarray(0, prefix.length - at);
    prefix.set(part, at);
    at += part.byteLength;
  }
  const what = page.sniffed(prefix);
  const replay = new ReadableStream({
    async pull(controller) {
      if (chunks.length) return controller.enqueue(chunks.shift());
      const next = done ? { done } : await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { what, body: replay };
}

// The page's edits, placed as it streams. Every edit was decided in Rust (Page's getters);
// the handlers ask wasm about each element that can load something and each inline script.
// One handler per element name (<head>, <body>) places all of its edits: every selector
// registered is matched against every element of the page.
function rewrite(response, page) {
  const choices = page.choices();
  let rewriter = new HTMLRewriter();
  if (page.strip()) {
    const scripts = new InlineStrip(choices, P.inline.scriptStart);
    const styles = new InlineStrip(choices, P.inline.styleStart);
    rewriter = rewriter
      .on(P.selectors.stripElements, { element: (el) => judgeElement(el, choices) })
      .on(P.selectors.stripInline, { text: (chunk) => scripts.text(chunk) })
      .on(P.selectors.stripStyle, { text: (chunk) => styles.text(chunk) });
  }
  const consentMode = page.consentMode();
  const loaders = consentMode === undefined ? undefined : page.loaders();
  // The tags go in unless the origin loads its own (an element, or an inline script in <head>).
  const own = loaders === undefined ? undefined : new OwnTag();
  if (own !== undefined) {
    rewriter = rewriter
      .on(P.selectors.ownTagElements, { element: () => { own.seen = true; } })
      .on(P.selectors.ownTagInline, { text: (chunk) => own.text(chunk) });
  }
  const body = new Body(page.banner(), page.link(), own, own === undefined ? undefined : page.noscript(), page.style());
  // Consent Mode first in <head>; the worker's stylesheets and the tag loaders at its end, so a
  // <meta charset> stays within the first 1024 bytes, where the browser looks for it.
  rewriter = rewriter.on('head', {
    element: (el) => {
      if (consentMode) edit(() => el.prepend(consentMode, HTML));
      edit(() => el.onEndTag((end) => {
        const last = body.takeStyle() + (own !== undefined && !own.seen ? loaders : '');
        if (last) edit(() => end.before(last, HTML));
      }));
    },
  });
  return rewriter
    .on('body', { element: (el) => body.element(el) })
    .onDocument({ end: (end) => body.end(end) })
    .transform(response);
}

// Hands wasm the element's tag and every attribute, as the rewriter gives them (undecoded),
// and applies what it answers: `Element` methods with their arguments (`remove`,
// `removeAttribute`, `setAttribute`). A line feed inside a value becomes a tab, which the
// protocol's separator cannot be and which a URL parser, a script and CSS read alike.
function judgeElement(el, choices) {
  let facts = el.tagName;
  for (const [name, value] of el.attributes) {
    facts += SEP + name + SEP + (value.includes(SEP) ? value.replaceAll(SEP, P.separatorInValue) : value);
  }
  const edits = wasm.elementEdits(facts, choices);
  if (!edits) return;
  const calls = edits.split(SEP);
  for (let i = 0; i + 2 < calls.length; i += 3) edit(() => el[calls[i]](calls[i + 1], calls[i + 2]));
}

// The end of the text before a chunk, kept so that a host split across chunks is still seen.
class Window {
  constructor() {
    this.tail = '';
  }

  next(text) {
    const window = this.tail + text;
    this.tail = window.length > P.matchOverlap ? window.slice(window.length - P.matchOverlap) : window;
    return window;
  }
}

// Inline scripts and noscripts naming a blocked host are removed, and a stylesheet loses what
// would load from one (`filterCss`); chunks are held (as JavaScript strings) until the text's
// end, so clean text is written back unchanged. `start` is the gate's state for a text of its
// kind (the protocol's, for scripts or styles), which wasm hands back after each text's end.
class InlineStrip {
  constructor(choices, start) {
    this.choices = choices;
    this.window = new Window();
    this.gate = start;
    this.held = '';
  }

  text(chunk) {
    const text = chunk.text;
    const last = chunk.lastInTextNode;
    const answer = wasm.inlineStep(this.window.next(text), text.length, last, this.gate, this.choices);
    this.gate = answer & P.inline.stateMask;
    const action = answer >>> P.inline.actionShift;
    if (action === P.chunk.hold) {
      this.held += text;
      edit(() => chunk.remove());
    } else {
      if (action === P.chunk.drop) edit(() => chunk.remove());
      else if (action === P.chunk.release) edit(() => chunk.replace(this.held + text, HTML));
      else if (action === P.chunk.filter) edit(() => chunk.replace(wasm.filterCss(this.held + text, this.choices), HTML));
      this.held = '';
    }
    if (last) this.window.tail = '';
  }
}

class OwnTag {
  constructor() {
    this.seen = false;
    this.window = new Window();
  }

  text(chunk) {
    if (wasm.loadsTag(this.window.next(chunk.text))) this.seen = true;
    if (chunk.lastInTextNode) this.window.tail = '';
  }
}

// After <body>: GTM's noscript frame (unless the origin loads its own tag), then the banner
// before it, so the banner is first in the keyboard's tab order; the link before </body>. The
// stylesheets go at the end of <head>, or before the banner when the page has no </head>. At
// the document's end, whatever a malformed page (no <head> and no <body>, or no </body>) did not get.
// Browsers put what follows the document's end into the body, so the banner and the link
// still show.
class Body {
  constructor(banner, link, own, noscript, style) {
    this.banner = banner;
    this.link = link;
    this.own = own;
    this.noscript = noscript;
    this.style = style ?? '';
    this.bodySeen = false;
    this.linkDone = false;
  }

  // The stylesheets, once: for <head>, or for whichever of <body> and the end comes first.
  takeStyle() {
    const style = this.style;
    this.style = '';
    return style;
  }

  element(el) {
    this.bodySeen = true;
    if (this.noscript !== undefined && !this.own.seen) edit(() => el.prepend(this.noscript, HTML));
    const first = this.takeStyle() + (this.banner ?? '');
    if (first) edit(() => el.prepend(first, HTML));
    edit(() => el.onEndTag((end) => {
      this.linkDone = true;
      edit(() => end.before(this.link, HTML));
    }));
  }

  end(end) {
    let missing = '';
    if (!this.bodySeen) missing += this.takeStyle() + (this.banner ?? '');
    if (!this.linkDone) missing += this.link;
    if (missing) edit(() => end.append(missing, HTML));
  }
}

// An element method only fails when the element is already gone (removed by an earlier
// handler): nothing to do, but say so in the log rather than abort the page.
function edit(change) {
  try {
    change();
  } catch (e) {
    console.warn(JSON.stringify({ level: 'warn', msg: 'html rewrite edit skipped', error: describe(e) }));
  }
}

function describe(e) {
  return (e instanceof Error ? e.message : String(e)) || 'unknown error';
}

// A trap in wasm (a Rust panic) leaves the instance unusable: the glue's entrypoint
// re-instantiates it on the next request, as worker-build's own shim does.
function noteTrap(e) {
  if (e instanceof WebAssembly.RuntimeError && globalThis.__worker_init_state) {
    console.error(JSON.stringify({ level: 'error', msg: 'wasm trapped; re-instantiating', error: describe(e) }));
    globalThis.__worker_init_state.criticalError = true;
  }
}
