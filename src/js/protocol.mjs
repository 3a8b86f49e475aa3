// Reads the protocol between the entry and wasm (src/protocol.rs) once, when the entry loads,
// and checks it: every function and `Page` method the entry calls, and every name it reads,
// with its type. A build whose two halves disagree fails at load, naming what is missing,
// instead of misreading a number at some later request.

// What the entry reads of `protocol()`, by group, with the type of each value.
const NUMBERS = {
  route: ['own', 'changed', 'originShift', 'originMask', 'offsetShift', 'noOffset'],
  origin: ['demo', 'route', 'url'],
  prepared: ['asIs', 'withHeaders', 'rewrite', 'refused', 'sniff'],
  body: ['gunzip', 'sniffBytes'],
  originFailure: ['timeout', 'unreachable', 'misconfigured', 'internal'],
  chunk: ['hold', 'drop', 'pass', 'release', 'filter'],
  inline: ['actionShift', 'stateMask', 'scriptStart', 'styleStart'],
};
const STRINGS = { selectors: ['stripElements', 'stripInline', 'stripStyle', 'ownTagElements', 'ownTagInline'] };
const FUNCTIONS = ['protocol', 'pageFor', 'originBase', 'elementEdits', 'inlineStep', 'filterCss', 'loadsTag', 'runScheduled'];
const PAGE_METHODS = [
  'route', 'own', 'originUrl', 'outbound', 'prepare', 'sniffed', 'headerEdits', 'refusal', 'fail', 'choices',
  'strip', 'consentMode', 'loaders', 'noscript', 'banner', 'style', 'link', 'finish', 'free',
];

/**
 * The protocol `wasm.protocol()` describes, once checked against what the entry uses.
 * `wasm` holds the exported functions; `Page` is the exported class.
 * @throws {Error} naming every missing or mistyped part.
 */
export function readProtocol(wasm, Page) {
  const missing = [];
  for (const name of FUNCTIONS) if (typeof wasm?.[name] !== 'function') missing.push(`function ${name}`);
  for (const name of PAGE_METHODS) if (typeof Page?.prototype?.[name] !== 'function') missing.push(`Page.${name}`);
  if (missing.length) fail(`missing exports: ${missing.join(', ')}`);
  let p;
  try {
    p = JSON.parse(wasm.protocol());
  } catch (e) {
    fail(`protocol() is not JSON (${e.message})`);
  }
  const expect = (groups, type) => {
    for (const [group, names] of Object.entries(groups)) {
      for (const name of names) if (typeof p?.[group]?.[name] !== type) missing.push(`${group}.${name} (${type})`);
    }
  };
  expect(NUMBERS, 'number');
  expect(STRINGS, 'string');
  for (const key of ['matchOverlap', 'originTimeoutMs']) if (typeof p?.[key] !== 'number') missing.push(`${key} (number)`);
  for (const key of ['requestHeaders', 'responseHeaders']) {
    if (!Array.isArray(p?.[key]) || !p[key].length || !p[key].every((h) => typeof h === 'string')) missing.push(`${key} (header names)`);
  }
  for (const key of ['separator', 'separatorInValue']) {
    if (typeof p?.[key] !== 'string' || p[key].length !== 1) missing.push(`${key} (one character)`);
  }
  if (missing.length) fail(`protocol() lacks ${missing.join(', ')}`);
  return p;
}

function fail(what) {
  throw new Error(`sivo-consent: the wasm module and src/js/entry.mjs disagree: ${what} (rebuild both with scripts/build.sh)`);
}
