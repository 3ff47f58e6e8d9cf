/**
 * Accessor generation: for each (type, byte order) one set of functions is compiled with `new Function`, once, so
 * that reading a field is one inlined `dv.getInt32(o + 4, true)` and writing one is a cheap check plus
 * `dv.setInt32(...)`. Live views are a generated class per struct whose instances hold only (DataView, offset), with
 * getters and setters on the prototype. Measured on Node 20 this reaches hand-written DataView code (bench/layout).
 */
import type { ArrayType } from './array.js';
import { readBytes, viewBytes, writeBytes } from './bytes.js';
import { readChar, writeChar } from './char.js';
import {
  badArray,
  badBigInt,
  badBoolean,
  badInteger,
  badNumber,
  badObject,
  badUnion,
  INT64_MAX,
  INT64_MIN,
  UINT64_MAX,
} from './checks.js';
import type { AnyFieldType, Endian } from './field.js';
import type { ScalarKind } from './scalar.js';
import { accessError } from './source.js';
import { StructArray } from './struct-array.js';

/** The compiled accessors of one field type in one byte order. */
export interface Codec {
  /** Reads a plain value (a copy) at absolute offset `o`. */
  read(dv: DataView, o: number): unknown;
  /** Checks and writes `value` at `o`; `path` names it in errors ('' for a view setter's own field). */
  write(dv: DataView, o: number, value: unknown, path: string): void;
  /**
   * A live view at `o` for structs, unions and arrays; the value itself for scalars and strings. Unlike read and
   * write it reports a detached buffer itself (ERR_DETACHED_BUFFER), so callers need no try/catch around it.
   */
  view(dv: DataView, o: number): unknown;
}

/** What codegen needs to know of a struct or union (StructType satisfies it). */
export interface Aggregate extends AnyFieldType {
  readonly kind: 'struct' | 'union';
  readonly fields: readonly { readonly name: string; readonly type: AnyFieldType; readonly offset: number }[];
  /** The byte order named in the options, or undefined to inherit the enclosing one. */
  readonly endian: Endian | undefined;
}

const cache = new WeakMap<AnyFieldType, { little?: Codec; big?: Codec }>();

/** The accessors of `type` when its multi-byte fields are stored in `endian` order (compiled once, then cached). */
export function codecOf(type: AnyFieldType, endian: Endian): Codec {
  let entry = cache.get(type);
  if (entry === undefined) cache.set(type, (entry = {}));
  let codec = entry[endian];
  if (codec === undefined) {
    codec = compile(type, endian);
    entry[endian] = codec;
  }
  return codec;
}

/** The byte order a member is stored in: a nested struct's own option, else the enclosing struct's. */
export function endianOf(type: AnyFieldType, inherited: Endian): Endian {
  return (type.kind === 'struct' || type.kind === 'union') && (type as Aggregate).endian !== undefined
    ? (type as Aggregate).endian!
    : inherited;
}

const getters: Record<ScalarKind, string> = {
  int8: 'getInt8',
  uint8: 'getUint8',
  int16: 'getInt16',
  uint16: 'getUint16',
  int32: 'getInt32',
  uint32: 'getUint32',
  int64: 'getBigInt64',
  uint64: 'getBigUint64',
  float32: 'getFloat32',
  float64: 'getFloat64',
  bool: 'getUint8',
};

/** A `(x ... ) !== x` test that is true when x is not an integer of the kind (and not a number at all). */
const integerTests: Partial<Record<ScalarKind, string>> = {
  int8: '((x << 24) >> 24) !== x',
  uint8: '(x & 0xff) !== x',
  int16: '((x << 16) >> 16) !== x',
  uint16: '(x & 0xffff) !== x',
  int32: '(x | 0) !== x',
  uint32: '(x >>> 0) !== x',
};

/** Names the compiled code uses, bound as parameters of `new Function`. */
const runtime = {
  readChar,
  writeChar,
  readBytes,
  writeBytes,
  viewBytes,
  badInteger,
  badBigInt,
  badNumber,
  badBoolean,
  badObject,
  badArray,
  badUnion,
  accessError,
  zeroBytes,
  INT64_MIN,
  INT64_MAX,
  UINT64_MAX,
};

function zeroBytes(dv: DataView, o: number, length: number): void {
  for (let i = 0; i < length; i++) dv.setUint8(o + i, 0);
}

/** Collects the codecs a generated function calls, as `deps[k]`. */
class Dependencies {
  readonly list: Codec[] = [];
  add(codec: Codec): string {
    let index = this.list.indexOf(codec);
    if (index === -1) index = this.list.push(codec) - 1;
    return `deps[${index}]`;
  }
}

function isScalarKind(kind: string): kind is ScalarKind {
  return Object.prototype.hasOwnProperty.call(getters, kind);
}

/** An expression reading `type` at offset expression `o`. */
function readExpression(type: AnyFieldType, o: string, endian: Endian, deps: Dependencies): string {
  const little = endian === 'little';
  if (isScalarKind(type.kind)) {
    const call = `dv.${getters[type.kind]}(${o}${type.size > 1 ? `, ${little}` : ''})`;
    return type.kind === 'bool' ? `(${call} !== 0)` : call;
  }
  if (type.kind === 'char') return `readChar(dv, ${o}, ${type.size})`;
  if (type.kind === 'bytes') return `readBytes(dv, ${o}, ${type.size})`;
  return `${deps.add(codecOf(type, endianOf(type, endian)))}.read(dv, ${o})`;
}

/** Statements checking the value in `x` and writing it at `o`; `path` and `key` are expressions naming it. */
function writeStatements(
  type: AnyFieldType,
  o: string,
  path: string,
  key: string,
  endian: Endian,
  deps: Dependencies,
): string {
  const little = endian === 'little';
  const kind = type.kind;
  if (isScalarKind(kind)) {
    const setter = getters[kind].replace('get', 'set');
    const order = type.size > 1 ? `, ${little}` : '';
    const integerTest = integerTests[kind];
    if (integerTest !== undefined)
      return `if (${integerTest}) throw badInteger(x, ${path}, ${key}, '${kind}'); dv.${setter}(${o}, x${order});`;
    if (kind === 'int64')
      return `if (typeof x !== 'bigint' || x < INT64_MIN || x > INT64_MAX) throw badBigInt(x, ${path}, ${key}, 'int64'); dv.${setter}(${o}, x${order});`;
    if (kind === 'uint64')
      return `if (typeof x !== 'bigint' || x < 0n || x > UINT64_MAX) throw badBigInt(x, ${path}, ${key}, 'uint64'); dv.${setter}(${o}, x${order});`;
    if (kind === 'bool')
      return `if (typeof x !== 'boolean') throw badBoolean(x, ${path}, ${key}); dv.setUint8(${o}, x ? 1 : 0);`;
    return `if (typeof x !== 'number') throw badNumber(x, ${path}, ${key}); dv.${setter}(${o}, x${order});`;
  }
  if (kind === 'char') return `writeChar(dv, ${o}, ${type.size}, x, ${path}, ${key});`;
  if (kind === 'bytes') return `writeBytes(dv, ${o}, ${type.size}, x, ${path}, ${key});`;
  const child = deps.add(codecOf(type, endianOf(type, endian)));
  const childPath =
    key.startsWith("'") || key.startsWith('"')
      ? `(${path} === '' ? ${key} : ${path} + '.' + ${key})`
      : `${path} + '[' + ${key} + ']'`;
  return `${child}.write(dv, ${o}, x, ${childPath});`;
}

/** Padding bytes of an aggregate (between and after fields), as [start, length] runs. */
function paddingRuns(type: Aggregate): [number, number][] {
  // Over the fields' intervals, not byte by byte: a bytes(2 ** 30) member must not cost 2 ** 30 steps.
  const spans = type.fields.map((f) => [f.offset, f.offset + f.type.size] as const).sort((a, b) => a[0] - b[0]);
  const runs: [number, number][] = [];
  let covered = 0;
  for (const [start, end] of spans) {
    if (start > covered) runs.push([covered, start - covered]);
    covered = Math.max(covered, end);
  }
  if (covered < type.size) runs.push([covered, type.size - covered]);
  return runs;
}

function zeroStatements(start: string, length: number): string {
  if (length <= 8) {
    let code = '';
    for (let i = 0; i < length; i++) code += `dv.setUint8(${start} + ${i}, 0); `;
    return code;
  }
  return `zeroBytes(dv, ${start}, ${length}); `;
}

function compile(type: AnyFieldType, endian: Endian): Codec {
  if (type.kind === 'struct' || type.kind === 'union') return compileAggregate(type as Aggregate, endian);
  if (type.kind === 'array') return compileArray(type as ArrayType, endian);
  const deps = new Dependencies();
  const read = build<Codec['read']>(deps, `return function read(dv, o) { return ${readExpression(type, 'o', endian, deps)}; }`);
  const write = build<Codec['write']>(
    deps,
    `return function write(dv, o, x, path) { ${writeStatements(type, 'o', "''", 'path', endian, deps)} }`,
  );
  const view = build<Codec['view']>(
    deps,
    `return function view(dv, o) { try { return ${type.kind === 'bytes' ? `viewBytes(dv, o, ${type.size})` : 'read(dv, o)'}; } catch (e) { throw accessError(dv, e); } }`,
    { read },
  );
  return { read, write, view };
}

function compileArray(type: ArrayType, endian: Endian): Codec {
  const deps = new Dependencies();
  const element = type.element;
  const stride = element.size;
  const n = type.length;
  const read = build<Codec['read']>(
    deps,
    `return function read(dv, o) {
      const out = new Array(${n});
      for (let i = 0; i < ${n}; i++) out[i] = ${readExpression(element, `o + i * ${stride}`, endian, deps)};
      return out;
    }`,
  );
  const write = build<Codec['write']>(
    deps,
    `return function write(dv, o, v, path) {
      if ((!Array.isArray(v) && !ArrayBuffer.isView(v)) || v.length !== ${n}) throw badArray(v, path, ${n});
      for (let i = 0; i < ${n}; i++) { const x = v[i]; ${writeStatements(element, `o + i * ${stride}`, 'path', 'i', endian, deps)} }
    }`,
  );
  const elementEndian = endianOf(element, endian);
  const view = (dv: DataView, o: number) => new StructArray(element, dv, o, n, elementEndian);
  return { read, write, view };
}

function compileAggregate(type: Aggregate, endian: Endian): Codec {
  const deps = new Dependencies();
  const fields = type.fields;
  const readProps = fields
    .map((f) => `${f.name}: ${readExpression(f.type, `o + ${f.offset}`, endian, deps)}`)
    .join(',\n');
  const read = build<Codec['read']>(deps, `return function read(dv, o) { return {\n${readProps}\n}; }`);

  let writeBody = `if (typeof v !== 'object' || v === null) throw badObject(v, path);\nlet x;\n`;
  if (type.kind === 'struct') {
    for (const f of fields)
      writeBody += `x = v.${f.name}; ${writeStatements(f.type, `o + ${f.offset}`, 'path', `'${f.name}'`, endian, deps)}\n`;
    for (const [start, length] of paddingRuns(type)) writeBody += zeroStatements(`o + ${start}`, length);
  } else {
    // A union write sets exactly one member and zeroes the bytes after it, so the record's bytes are determined.
    const names = JSON.stringify(fields.map((f) => f.name));
    writeBody += `let count = 0, which = -1;\n`;
    fields.forEach((f, i) => (writeBody += `if (v.${f.name} !== undefined) { count++; which = ${i}; }\n`));
    writeBody += `if (count !== 1) throw badUnion(v, path, ${names});\nswitch (which) {\n`;
    fields.forEach((f, i) => {
      writeBody += `case ${i}: x = v.${f.name}; ${writeStatements(f.type, 'o', 'path', `'${f.name}'`, endian, deps)} `;
      if (f.type.size < type.size) writeBody += zeroStatements(`o + ${f.type.size}`, type.size - f.type.size);
      writeBody += 'break;\n';
    });
    writeBody += '}\n';
  }
  const write = build<Codec['write']>(deps, `return function write(dv, o, v, path) {\n${writeBody}}`);

  // The live view class: accessors on the prototype, instances hold only the DataView and the offset. A DataView
  // over a detached buffer throws a plain TypeError in V8; the catch turns it into ERR_DETACHED_BUFFER (try/catch
  // costs nothing while nothing throws).
  let members = '';
  for (const f of fields) {
    const at = `this.#o + ${f.offset}`;
    const kind = f.type.kind;
    let getter: string;
    if (kind === 'bytes') getter = `viewBytes(dv, ${at}, ${f.type.size})`;
    else if (kind === 'struct' || kind === 'union' || kind === 'array')
      getter = `${deps.add(codecOf(f.type, endianOf(f.type, endian)))}.view(dv, ${at})`;
    else getter = readExpression(f.type, at, endian, deps);
    members += `get ${f.name}() { const dv = this.#dv; try { return ${getter}; } catch (e) { throw accessError(dv, e); } }\n`;
    if (isScalarKind(kind) || kind === 'char')
      members += `set ${f.name}(x) { const dv = this.#dv; try { ${writeStatements(f.type, at, "''", `'${f.name}'`, endian, deps)} } catch (e) { throw accessError(dv, e); } }\n`;
  }
  const View = build<new (dv: DataView, o: number) => object>(
    deps,
    `const read = readRecord;
    return class Record {
      #dv; #o;
      constructor(dv, o) { this.#dv = dv; this.#o = o; }
      ${members}
      toJSON() { const dv = this.#dv; try { return read(dv, this.#o); } catch (e) { throw accessError(dv, e); } }
      [Symbol.for('nodejs.util.inspect.custom')]() {
        try { return this.toJSON(); } catch { return '[detached record]'; }
      }
    };`,
    { readRecord: read },
  );
  return { read, write, view: (dv, o) => new View(dv, o) };
}

function build<T>(deps: Dependencies, body: string, extra: Record<string, unknown> = {}): T {
  const names = ['deps', ...Object.keys(runtime), ...Object.keys(extra)];
  const values = [deps.list, ...Object.values(runtime), ...Object.values(extra)];
  // The source is made only from field names checked to be C identifiers, numbers and fixed text.
  return new Function(...names, `'use strict';\n${body}`)(...values) as T;
}
