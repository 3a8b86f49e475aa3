// Reading a wasm binary's sections without instantiating it: the size of its custom sections
// (a `wasm-opt --debuginfo` build carries a `name` section a release build does not), the
// binary without them, and the function names of the `name` section (for profiles whose
// frames say `wasm-function[N]`).

function reader(buf, offset) {
  let o = offset;
  return {
    get offset() {
      return o;
    },
    set offset(v) {
      o = v;
    },
    u8: () => buf[o++],
    leb() {
      let result = 0, shift = 0, byte;
      do {
        byte = buf[o++];
        result += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte & 0x80);
      return result;
    },
    name() {
      const n = this.leb();
      const s = Buffer.from(buf.buffer, buf.byteOffset + o, n).toString('utf8');
      o += n;
      return s;
    },
  };
}

/** Every section: `{ id, name (custom sections), start, end }` (`start` at the section's id byte). */
export function wasmSections(buf) {
  if (buf.readUInt32LE(0) !== 0x6d736100) throw new Error('not a wasm binary');
  const sections = [];
  const r = reader(buf, 8);
  while (r.offset < buf.length) {
    const start = r.offset;
    const id = r.u8();
    const len = r.leb();
    const body = r.offset;
    const name = id === 0 ? r.name() : null;
    sections.push({ id, name, start, body, end: body + len });
    r.offset = body + len;
  }
  return sections;
}

/** The binary without its custom sections (names, producers, target features, DWARF). */
export function stripCustomSections(buf) {
  const kept = wasmSections(buf).filter((s) => s.id !== 0).map((s) => buf.subarray(s.start, s.end));
  return Buffer.concat([buf.subarray(0, 8), ...kept]);
}

/** The number of imported functions (function indices start after them). */
function importedFunctions(buf) {
  const imports = wasmSections(buf).find((s) => s.id === 2);
  if (!imports) return 0;
  const r = reader(buf, imports.body);
  let n = 0;
  for (let count = r.leb(); count > 0; count--) {
    r.name();
    r.name();
    const kind = r.u8();
    if (kind === 0) {
      r.leb();
      n++;
    } else if (kind === 1) {
      r.u8();
      const flags = r.leb();
      r.leb();
      if (flags & 1) r.leb();
    } else if (kind === 2) {
      const flags = r.leb();
      r.leb();
      if (flags & 1) r.leb();
    } else if (kind === 3) {
      r.u8();
      r.u8();
    } else if (kind === 4) {
      r.u8();
      r.leb();
    } else throw new Error(`unknown import kind ${kind}`);
  }
  return n;
}

/**
 * The function names of the `name` section, by function index (imports included), or an
 * empty map when there is none.
 */
export function functionNames(buf) {
  const names = new Map();
  const section = wasmSections(buf).find((s) => s.id === 0 && s.name === 'name');
  if (!section) return names;
  const r = reader(buf, section.body);
  r.name();
  while (r.offset < section.end) {
    const sub = r.u8();
    const len = r.leb();
    const end = r.offset + len;
    if (sub === 1) {
      for (let count = r.leb(); count > 0; count--) {
        const index = r.leb();
        names.set(index, r.name());
      }
    }
    r.offset = end;
  }
  names.imported = importedFunctions(buf);
  return names;
}
