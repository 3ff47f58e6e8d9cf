/**
 * Accessor generation. For each (field type, byte order) one piece of JavaScript is compiled with `new Function`,
 * once: its read, write and view functions, and for every element type its own StructArray subclass (get, set, at,
 * forEach, iterator, cursor, toArray); for a struct or union also its own live-view class, getters and setters on
 * the prototype, instances holding only (DataView, offset).
 *
 * Why per type: V8 inlines a call and removes the per-record view allocation only where the call site sees one
 * receiver type. One shared `at` or view class serving several record types goes megamorphic (measured 10x
 * slower). Here every call site inside memmap's code belongs to one record type, so `array.at(i).age` compiles to a
 * bounds check and one DataView read however many record types the program uses.
 *
 * Why no `throw` on the hot paths: V8 hoists the loads a loop repeats (the view's DataView, its length and data
 * pointer) only when it peels the loop, and it does not peel a loop that an inlined method can leave by a `throw`
 * or an uninitialized-variable check (a `let` or a class read from another function). So checks throw through
 * `guard`, and the code the loops reach refers to `var` bindings (measured on Node 24: a cursor loop 0.23x -> 0.57x
 * of hand-written code, `at(i).age` 0.31x -> 0.52x). Node 20's V8 reloads them in every iteration whatever the code.
 *
 * The source is kept readable: `generatedSource(type)` returns it, and MEMMAP_DEBUG_CODEGEN=1 prints each piece to
 * stderr as it is compiled.
 */
import { invalidArgType, memmapError, outOfRange } from '../errors.js';
import {
  arrayBufferByteLength,
  arrayBufferResizable,
  dataViewBuffer,
  dataViewByteLength,
  dataViewByteOffset,
  typedArrayLength,
} from '../intrinsics.js';
import type { ArrayType } from './array.js';
import { bytesIn, bytesInput, readBytes, storeBytes, viewBytes } from './bytes.js';
import {
  charInput,
  fromCharCode,
  readChar,
  SHORT_CHAR,
  shortCharCheck,
  shortCharReader,
  shortCharStore,
  storeChar,
} from './char.js';
import {
  badArray,
  badBigInt,
  badBoolean,
  badInteger,
  badNumber,
  badObject,
  badUnion,
  fieldPath,
  INT64_MAX,
  INT64_MIN,
  UINT64_MAX,
} from './checks.js';
import { endianOf, hostEndian, type Aggregate, type AnyFieldType, type Endian } from './field.js';
import type { ScalarKind } from './scalar.js';
import { accessError } from './source.js';
import { badIndex, clampPosition, internal, StructArray } from './struct-array.js';
import { CallbackLoops } from './callback-loops.js';

/** The compiled accessors of one field type in one byte order. */
export interface Codec {
  /** Reads a plain value (a copy) at absolute offset `o`. */
  read: (dv: DataView, o: number) => unknown;
  /**
   * Checks the WHOLE value, then writes it at `o`: a rejected value writes no byte. `path` names it in errors ('' for
   * a view setter's own field). A hostile getter on the value runs once, before any byte is written.
   */
  write: (dv: DataView, o: number, value: unknown, path: string) => void;
  /**
   * A live view at `o` for structs, unions and arrays; the value itself for scalars and strings. Unlike read and
   * write it reports a detached buffer itself (ERR_DETACHED_BUFFER), so callers need no try/catch around it.
   */
  view: (dv: DataView, o: number) => unknown;
}

/**
 * Where `place` stores a checked value. `slot(arg)` runs after every member of the value was read and checked (so
 * after every getter of it ran): it checks again what those getters may have changed, and throws (nothing was
 * written) or returns the byte offset of the record in `dv`, which `place` reads after it returns. One object serves
 * every call (nothing is allocated per record): `arg` is passed through (a record index, say).
 */
export interface PlaceTarget {
  dv: DataView;
  slot(arg: number): number;
}

/** See Compiled.place. */
export type Place = (value: unknown, path: string, target: PlaceTarget, arg: number) => boolean;

/** The StructArray subclass generated for one element type. */
export type ArrayClass = new (
  token: typeof internal,
  dv: DataView,
  base: number,
  length: number,
) => StructArray<AnyFieldType>;

/** Everything compiled for one (type, byte order). */
export interface Compiled {
  readonly codec: Codec;
  /** Writes at `o` without the all-or-nothing guarantee: used only to build a value in a scratch buffer. */
  readonly fill: Codec['write'];
  /**
   * For a struct of scalars, strings and bytes only: checks the whole value as `write` does, then stores it where
   * `target.slot(arg)` says, with no copy in between (see PlaceTarget). False for a live view of this type, which it
   * leaves to its caller. Undefined for any other type.
   */
  readonly place: Place | undefined;
  /** The StructArray subclass whose elements are this type. */
  readonly ArrayClass: ArrayClass;
  /**
   * For a struct or union: whether `value` is a live view of this type (a brand check: a Proxy of one, or an object
   * that only inherits the view class's prototype, is not). Undefined for any other type.
   */
  readonly isView: ((value: unknown) => boolean) | undefined;
  /** The generated JavaScript, for reading and debugging. */
  readonly source: string;
}

const cache = new WeakMap<AnyFieldType, { little?: Compiled; big?: Compiled }>();

/** The compiled accessors of `type` stored in `endian` order (compiled once, then cached). */
export function compiled(type: AnyFieldType, endian: Endian): Compiled {
  let entry = cache.get(type);
  if (entry === undefined) cache.set(type, (entry = {}));
  return (entry[endian] ??= compile(type, endian));
}

/** The accessors of `type` when its multi-byte fields are stored in `endian` order. */
export function codecOf(type: AnyFieldType, endian: Endian): Codec {
  return compiled(type, endian).codec;
}

/** The generated JavaScript of `type` in `endian` order (the host's by default): what runs on every access. */
export function generatedSource(type: AnyFieldType, endian: Endian = endianOf(type, hostEndian)): string {
  return compiled(type, endian).source;
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

/**
 * A test that is true when `@` (the variable), already known to be a number, is not an integer of the kind. The
 * `typeof` test in front of it keeps bigints and Symbols (which these operators would throw on) and objects (whose
 * valueOf they would call) out.
 */
const integerTests: Partial<Record<ScalarKind, string>> = {
  int8: '((@ << 24) >> 24) !== @',
  uint8: '(@ & 0xff) !== @',
  int16: '((@ << 16) >> 16) !== @',
  uint16: '(@ & 0xffff) !== @',
  int32: '(@ | 0) !== @',
  uint32: '(@ >>> 0) !== @',
};

/**
 * A one-byte DataView that generated methods read at 0 when a check passes and at 1 when it fails, catching the
 * RangeError to throw their own coded error. Why: a method V8 inlines into a caller's loop (\`cursor.at(i)\`) must
 * have no \`throw\` on its path, or V8 does not peel that loop and then hoists no load out of it (measured on Node
 * 24: a cursor loop at 0.27x of hand-written code with \`if (bad) throw\`, 0.6x with this guard). In optimized code
 * the guard read compiles to a bounds check that deoptimizes, which leaves the loop as it is.
 */
const guard = new DataView(new ArrayBuffer(1));

/**
 * A mark every generated view's prototype carries (non-enumerable), read before the private brand check that tells a
 * live view from a value being written: a property an ordinary object lacks is a cached miss, where \`#dv in v\` on
 * it costs (measured on a checked set of plain objects: 15-20% of the whole set on Node 20 and 24). A mark alone
 * proves nothing (an object can borrow it): the brand check still decides.
 */
const viewMark = Symbol('memmap view');

/** The statement that throws \`error\` when \`failed\` is true, through the guard (see \`guard\`). */
function guarded(failed: string, error: string): string {
  // The test runs outside the try (a hostile valueOf's error passes through as it is), and the catch names only the
  // guard's own failure (a stack overflow inside the try passes through too).
  // Two lines: the test and the guard read, so that a long test keeps each line of the source readable.
  const read = `try { guard.getUint8(failed ? 1 : 0); } catch (e) { throw failed ? ${error} : e; }`;
  return `{ const failed = ${failed};\n    ${read} }`;
}

/** Names the compiled code uses, bound as parameters of `new Function`. */
const runtime = {
  readChar,
  fromCharCode,
  charInput,
  storeChar,
  readBytes,
  viewBytes,
  bytesInput,
  storeBytes,
  badInteger,
  badBigInt,
  badNumber,
  badBoolean,
  badObject,
  badArray,
  badUnion,
  badIndex,
  badCallback,
  illegalConstructor,
  clampPosition,
  accessError,
  viewError,
  inspectPlaceholder,
  arrayWindow,
  zeroBytes,
  viaScratch,
  copyRecord,
  bytesLengthAgain,
  guard,
  viewMark,
  StructArray,
  CallbackLoops,
  internal,
  INT64_MIN,
  INT64_MAX,
  UINT64_MAX,
};

/**
 * A checked bytes member's length, read again with the engine's own getter once every member was checked. User code
 * may run during a later member's check (`instanceof` walks a prototype chain that may hold a Proxy), and it can
 * shrink, grow or detach the buffer under a member checked before: the store would then copy fewer bytes and leave
 * the old ones (a torn record; in place(), the held buffer's previous record, maybe from another file).
 */
function bytesLengthAgain(value: Uint8Array, size: number, path: string, key: string): void {
  const length = typedArrayLength(value);
  if (length !== size) throw outOfRange(`${fieldPath(path, key)}.length`, `${size} (bytes(${size}))`, length);
}

function zeroBytes(dv: DataView, o: number, length: number): void {
  for (let i = 0; i < length; i++) dv.setUint8(o + i, 0);
}

/** A generated class (view, cursor, iterator) constructed by a user: only memmap makes them. */
function illegalConstructor(): Error {
  const message = 'Illegal constructor: views, cursors and iterators come from a StructArray';
  return memmapError('ERR_ILLEGAL_CONSTRUCTOR', message, { kind: 'TypeError' });
}

/**
 * What a live view's accessor throws: ERR_INVALID_THIS when `this` was not a view of its type (`dv` was never read:
 * a Proxy of a view, whose private fields the Proxy does not carry, or an accessor called on another object), else
 * what `accessError` makes of the DataView's error: ERR_DETACHED_BUFFER, or ERR_OUT_OF_RANGE for a view of record
 * `o / size` of an array that has fewer (a view from `cursor.at(i)` or `at(i)` past the end, see arrayClassSource).
 */
function viewError(dv: DataView | undefined, error: unknown, o: number, size: number): unknown {
  if (dv !== undefined) return accessError(dv, error, o, size);
  const message = 'a record view accessor was called on an object that is not a view of its type (a Proxy of one?)';
  return memmapError('ERR_INVALID_THIS', message, { kind: 'TypeError' });
}

/** What util.inspect shows of a view it cannot read. */
function inspectPlaceholder(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_OUT_OF_RANGE' ? '[record out of range]' : '[detached record]';
}

/**
 * The DataView of an array of `byteLength` bytes at `base` of `dv`: exactly its window, so that the engine's bounds
 * check of every access through it is the array's own length check (see arrayClassSource). Refused with the RangeError
 * of a DataView access when the window does not lie wholly inside `dv`: an array member of a record past the end of
 * its array. When `dv`'s own length throws (its buffer detached, or resizable and shrunk below `dv`'s end), `dv` is
 * returned only if its buffer holds no byte and never will (then every access through it throws, and it is no wider
 * than the window); else the error goes on (a detached resizable buffer's error too: the callers code it).
 */
function arrayWindow(dv: DataView, base: number, byteLength: number): DataView {
  const buffer = dataViewBuffer(dv);
  let length: number;
  try {
    length = dataViewByteLength(dv);
  } catch (error) {
    if (emptyForGood(buffer)) return dv;
    throw error;
  }
  if (!(base >= 0 && base + byteLength <= length)) throw new RangeError('Offset is outside the bounds of the DataView');
  return new DataView(buffer, dataViewByteOffset(dv) + base, byteLength);
}

/**
 * Whether `buffer` has no byte and can get none: detached, or empty and not resizable. Read with the engine's own
 * getters; a SharedArrayBuffer (never detached, its DataViews never out of bounds) throws here.
 */
function emptyForGood(buffer: ArrayBufferLike): boolean {
  return arrayBufferByteLength(buffer as ArrayBuffer) === 0 && arrayBufferResizable?.(buffer) !== true;
}

function badCallback(callback: unknown): Error {
  return invalidArgType('callback', 'of type function', callback);
}

/** A scratch record per codec; a re-entrant write (from a getter on the value) takes a fresh one. */
interface ScratchHolder {
  free: DataView | undefined;
}

/**
 * The all-or-nothing write of a record with nested records or arrays: built in a scratch buffer first (every getter
 * of the value runs once, every member is checked), then copied in one piece. A failure leaves `dv` untouched.
 */
function viaScratch(
  size: number,
  fill: Codec['write'],
  holder: ScratchHolder,
  dv: DataView,
  o: number,
  value: unknown,
  path: string,
): void {
  const scratch = holder.free ?? new DataView(new ArrayBuffer(size));
  holder.free = undefined;
  try {
    fill(scratch, 0, value, path);
    // The engine's getter: a patched DataView.prototype.buffer would copy bytes of its choosing, never checked.
    bytesIn(dv, o, size).set(new Uint8Array(dataViewBuffer(scratch), 0, size));
  } finally {
    holder.free = scratch;
  }
}

/**
 * Copies a record from a live view's bytes (`from` at `fromOffset`) to `dv` at `o`; overlapping is fine. Both lie
 * wholly inside their DataViews, or nothing is written: a view from `cursor.at(i)` past the end of its array is
 * ERR_OUT_OF_RANGE here (its bytes are not the array's), a detached one ERR_DETACHED_BUFFER.
 */
function copyRecord(from: DataView, fromOffset: number, dv: DataView, o: number, size: number): void {
  let source: Uint8Array;
  try {
    source = bytesIn(from, fromOffset, size);
  } catch (error) {
    throw accessError(from, error, fromOffset, size);
  }
  bytesIn(dv, o, size).set(source);
}

/**
 * The child codecs a generated piece calls. Each child's functions are bound as their own parameters (`d0_read`,
 * `d0_view`, ...), so every call site names one function.
 */
class Dependencies {
  readonly #names = new Map<Compiled, string>();
  readonly values: Record<string, unknown> = {};
  /** Functions compiled into this type's own source ahead of its body: the short char readers. */
  readonly helpers = new Map<string, string>();
  /**
   * An expression reading a char[length] field at `o`: a reader unrolled for this length and compiled into this
   * type's source up to SHORT_CHAR bytes (see shortCharReader), else the shared loop of char.ts.
   */
  readChar(length: number, o: string): string {
    if (length > SHORT_CHAR) return `readChar(dv, ${o}, ${length})`;
    const name = `readChar${length}`;
    if (!this.helpers.has(name)) this.helpers.set(name, shortCharReader(length));
    return `${name}(dv, ${o})`;
  }
  add(type: AnyFieldType, endian: Endian): string {
    const child = compiled(type, endian);
    let name = this.#names.get(child);
    if (name === undefined) {
      name = `d${this.#names.size}`;
      this.#names.set(child, name);
      this.values[`${name}_read`] = child.codec.read;
      this.values[`${name}_write`] = child.codec.write;
      this.values[`${name}_fill`] = child.fill;
      this.values[`${name}_view`] = child.codec.view;
    }
    return name;
  }
}

function isScalarKind(kind: string): kind is ScalarKind {
  return Object.prototype.hasOwnProperty.call(getters, kind);
}

/** Scalars, strings and byte arrays: a value that is checked and written in one step. */
function isLeaf(type: AnyFieldType): boolean {
  return isScalarKind(type.kind) || type.kind === 'char' || type.kind === 'bytes';
}

/** An expression reading `type` at offset expression `o` (a copy). */
function readExpression(type: AnyFieldType, o: string, endian: Endian, deps: Dependencies): string {
  if (isScalarKind(type.kind)) {
    const call = `dv.${getters[type.kind]}(${o}${type.size > 1 ? `, ${endian === 'little'}` : ''})`;
    return type.kind === 'bool' ? `(${call} !== 0)` : call;
  }
  if (type.kind === 'char') return deps.readChar(type.size, o);
  if (type.kind === 'bytes') return `readBytes(dv, ${o}, ${type.size})`;
  return `${deps.add(type, endianOf(type, endian))}_read(dv, ${o})`;
}

/** An expression for what a live view shows of `type` at `o`: the value, or a live view for the others. */
function viewExpression(type: AnyFieldType, o: string, endian: Endian, deps: Dependencies): string {
  if (type.kind === 'bytes') return `viewBytes(dv, ${o}, ${type.size})`;
  if (isLeaf(type)) return readExpression(type, o, endian, deps);
  return `${deps.add(type, endianOf(type, endian))}_view(dv, ${o})`;
}

/**
 * Statements checking the leaf value in variable `x` and leaving what to store in `ready` (the value itself for
 * scalars): they throw before anything is written. `path` and `key` are expressions naming the value in errors.
 */
function checkStatements(type: AnyFieldType, x: string, ready: string, path: string, key: string): string {
  const kind = type.kind;
  if (kind === 'char')
    return type.size <= SHORT_CHAR
      ? shortCharCheck(type.size, x, ready, path, key)
      : `const ${ready} = charInput(${x}, ${type.size}, ${path}, ${key});`;
  if (kind === 'bytes') return `const ${ready} = bytesInput(${x}, ${type.size}, ${path}, ${key});`;
  if (!isScalarKind(kind)) throw new Error(`unreachable: ${kind} is not a leaf`);
  const integerTest = integerTests[kind]?.replaceAll('@', x);
  if (integerTest !== undefined)
    return guarded(`typeof ${x} !== 'number' || ${integerTest}`, `badInteger(${x}, ${path}, ${key}, '${kind}')`);
  if (kind === 'int64')
    return guarded(
      `typeof ${x} !== 'bigint' || ${x} < INT64_MIN || ${x} > INT64_MAX`,
      `badBigInt(${x}, ${path}, ${key}, 'int64')`,
    );
  if (kind === 'uint64')
    return guarded(
      `typeof ${x} !== 'bigint' || ${x} < 0n || ${x} > UINT64_MAX`,
      `badBigInt(${x}, ${path}, ${key}, 'uint64')`,
    );
  if (kind === 'bool') return guarded(`typeof ${x} !== 'boolean'`, `badBoolean(${x}, ${path}, ${key})`);
  return guarded(`typeof ${x} !== 'number'`, `badNumber(${x}, ${path}, ${key})`);
}

/** The statement storing a checked leaf value (`ready`, from checkStatements) at `o`. */
function storeStatement(type: AnyFieldType, o: string, ready: string, endian: Endian): string {
  const kind = type.kind;
  if (kind === 'char')
    return type.size <= SHORT_CHAR
      ? shortCharStore(type.size, o, ready)
      : `storeChar(dv, ${o}, ${type.size}, ${ready});`;
  if (kind === 'bytes') return `storeBytes(dv, ${o}, ${type.size}, ${ready});`;
  if (kind === 'bool') return `dv.setUint8(${o}, ${ready} ? 1 : 0);`;
  const setter = getters[kind as ScalarKind].replace('get', 'set');
  return `dv.${setter}(${o}, ${ready}${type.size > 1 ? `, ${endian === 'little'}` : ''});`;
}

/** Checks and writes a leaf in `x`; a nested record or array is filled by its own codec (into scratch). */
function fillStatements(
  type: AnyFieldType,
  o: string,
  x: string,
  path: string,
  key: string,
  endian: Endian,
  deps: Dependencies,
): string {
  if (isLeaf(type)) {
    const ready = type.kind === 'char' || type.kind === 'bytes' ? `${x}_ready` : x;
    return `{ ${checkStatements(type, x, ready, path, key)} ${storeStatement(type, o, ready, endian)} }`;
  }
  const childPath = key.startsWith("'")
    ? `(${path} === '' ? ${key} : ${path} + '.' + ${key})`
    : `${path} + '[' + ${key} + ']'`;
  return `${deps.add(type, endianOf(type, endian))}_fill(dv, ${o}, ${x}, ${childPath});`;
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

/** One generated piece: its source, and the names it binds. */
interface Piece {
  /** Declarations of read, write, fill and view (and View/move for records), then `return { ... }`. */
  body: string;
  deps: Dependencies;
  extra: Record<string, unknown>;
  /** The body declares `place` (see placeSource). */
  placeable?: boolean;
}

/**
 * Numbers each compilation. V8 caches compiled code by source text, so two types with the same members would
 * otherwise share one compiled function and with it one record of type feedback: the sharing this module exists to
 * avoid. The number in the header comment makes every source text unique.
 */
let compilations = 0;

function compile(type: AnyFieldType, endian: Endian): Compiled {
  const piece =
    type.kind === 'struct' || type.kind === 'union'
      ? aggregatePiece(type as Aggregate, endian)
      : type.kind === 'array'
        ? arrayPiece(type as ArrayType, endian)
        : leafPiece(type, endian);
  const isRecord = type.kind === 'struct' || type.kind === 'union';
  const returned =
    'read, write, fill, view, ArrayClass' + (piece.placeable === true ? ', place' : '') + (isRecord ? ', isView' : '');
  const classes = arrayClassSource(type, isRecord);
  // A record's iterator class goes inside its View class (see ITERATOR_CLASS), any other's before the array class.
  const own = isRecord
    ? piece.body.replace(ITERATOR_CLASS, () => classes.iterator)
    : `${piece.body}\n${classes.iterator}`;
  const body = [...piece.deps.helpers.values(), own].join('\n');
  const source =
    `'use strict';\n// ${describe(type)}, ${endian}-endian, ${type.size} bytes (compilation ${++compilations})\n` +
    `${body}\n` +
    `${classes.array}\nreturn { ${returned} };\n`;
  if (typeof process !== 'undefined' && process.env.MEMMAP_DEBUG_CODEGEN === '1') process.stderr.write(`${source}\n`);
  const bound: Record<string, unknown> = { type, ENDIAN: endian, ...runtime, ...piece.deps.values, ...piece.extra };
  const names = Object.keys(bound);
  const values = Object.values(bound);
  // The source is made only from field names checked to be C identifiers, numbers and fixed text.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call -- generating code is this module's job
  const made = new Function(...names, source)(...values) as Codec &
    Pick<Compiled, 'fill' | 'place' | 'ArrayClass' | 'isView'>;
  const codec = { read: made.read, write: made.write, view: made.view };
  const { fill, place, ArrayClass, isView } = made;
  return { codec, fill, place, ArrayClass, isView, source };
}

function describe(type: AnyFieldType): string {
  if (type.kind === 'struct' || type.kind === 'union')
    return `${type.kind} { ${(type as Aggregate).fields
      .map((f) => `${describe(f.type)} ${f.name} @${f.offset}`)
      .join('; ')} }`;
  if (type.kind === 'array') return `${describe((type as ArrayType).element)}[${(type as ArrayType).length}]`;
  if (type.kind === 'char' || type.kind === 'bytes') return `${type.kind}(${type.size})`;
  return type.kind;
}

/** Scalars, char(n) and bytes(n) as elements of an array: no record view, the value itself. */
function leafPiece(type: AnyFieldType, endian: Endian): Piece {
  const deps = new Dependencies();
  const ready = type.kind === 'char' || type.kind === 'bytes' ? 'ready' : 'x';
  const body = `function read(dv, o) { return ${readExpression(type, 'o', endian, deps)}; }
function write(dv, o, x, path) {
  ${checkStatements(type, 'x', ready, "''", 'path')}
  ${storeStatement(type, 'o', ready, endian)}
}
const fill = write;
function view(dv, o) {
  try { return ${viewExpression(type, 'o', endian, deps)}; } catch (e) { throw accessError(dv, e, o, ${type.size}); }
}`;
  return { body, deps, extra: {} };
}

/** `T name[n]`: read gives a JS array, view a StructArray of the element type, write goes through scratch. */
function arrayPiece(type: ArrayType, endian: Endian): Piece {
  const deps = new Dependencies();
  const element = type.element;
  const stride = element.size;
  const n = type.length;
  const elementEndian = endianOf(element, endian);
  const elementArray = compiled(element, elementEndian).ArrayClass;
  const body = `function read(dv, o) {
  const out = new Array(${n});
  for (let i = 0; i < ${n}; i++) out[i] = ${readExpression(element, `o + i * ${stride}`, endian, deps)};
  return out;
}
function fill(dv, o, v, path) {
  if ((!Array.isArray(v) && !ArrayBuffer.isView(v)) || v.length !== ${n}) throw badArray(v, path, ${n});
  for (let i = 0; i < ${n}; i++) {
    const x = v[i];
    ${fillStatements(element, `o + i * ${stride}`, 'x', 'path', 'i', endian, deps)}
  }
}
const scratch = { free: undefined };
function write(dv, o, v, path) { viaScratch(${type.size}, fill, scratch, dv, o, v, path); }
function view(dv, o) {
  try { return new ElementArray(internal, dv, o, ${n}); } catch (e) { throw accessError(dv, e, o, ${type.size}); }
}`;
  return { body, deps, extra: { ElementArray: elementArray } };
}

/** A struct or union: read, an all-or-nothing write, and the live-view class. */
function aggregatePiece(type: Aggregate, endian: Endian): Piece {
  const deps = new Dependencies();
  let placeable = false;
  const fields = type.fields;
  const readProps = fields
    .map((f) => `    ${f.name}: ${readExpression(f.type, `o + ${f.offset}`, endian, deps)},`)
    .join('\n');
  let body = `function read(dv, o) {\n  return {\n${readProps}\n  };\n}\n`;

  const padding = paddingRuns(type)
    .map(([start, length]) => zeroStatements(`o + ${start}`, length))
    .join('');
  // Every member is read from the value once, into a local, before any byte is written.
  const fromView = `  if (isView(v)) { copyView(v, dv, o); return; }\n`;
  let check = `${fromView}  if (typeof v !== 'object' || v === null) throw badObject(v, path);\n`;
  if (type.kind === 'struct' && fields.every((f) => isLeaf(f.type))) {
    // Only scalars, strings and bytes: check every member into locals, then store them all.
    fields.forEach((f, i) => (check += `  const x${i} = v.${f.name};\n`));
    fields.forEach((f, i) => (check += `  ${checkStatements(f.type, `x${i}`, `r${i}`, 'path', `'${f.name}'`)}\n`));
    fields.forEach((f, i) => {
      if (f.type.kind === 'bytes') check += `  bytesLengthAgain(r${i}, ${f.type.size}, path, '${f.name}');\n`;
    });
    let store = '';
    fields.forEach((f, i) => {
      const ready = f.type.kind === 'char' || f.type.kind === 'bytes' ? `r${i}` : `x${i}`;
      store += `  ${storeStatement(f.type, `o + ${f.offset}`, ready, endian)}\n`;
    });
    body += `function write(dv, o, v, path) {\n${check}${store}  ${padding}\n}\nconst fill = write;\n`;
    body += placeSource(fields, check, padding, endian);
    placeable = true;
  } else if (type.kind === 'struct') {
    // Nested records or arrays: built whole in a scratch record, then copied (see viaScratch).
    let fill = `  if (typeof v !== 'object' || v === null) throw badObject(v, path);\n`;
    fields.forEach((f, i) => {
      const member = fillStatements(f.type, `o + ${f.offset}`, `x${i}`, 'path', `'${f.name}'`, endian, deps);
      fill += `  const x${i} = v.${f.name};\n  ${member}\n`;
    });
    body += `function fill(dv, o, v, path) {\n${fill}  ${padding}\n}\nconst scratch = { free: undefined };\n`;
    body += `function write(dv, o, v, path) {\n${fromView}`;
    body += `  viaScratch(${type.size}, fill, scratch, dv, o, v, path);\n}\n`;
  } else {
    // A union write sets exactly one member (each read once) and zeroes the bytes after it. A nested member's own
    // write is all-or-nothing, and the zeroing comes after it, so nothing is written when the member is rejected.
    const names = JSON.stringify(fields.map((f) => f.name));
    fields.forEach((f, i) => (check += `  const x${i} = v.${f.name};\n`));
    check += `  const count = ${fields.map((_, i) => `(x${i} !== undefined ? 1 : 0)`).join(' + ')};\n`;
    check += `  if (count !== 1) throw badUnion(v, path, ${names});\n`;
    fields.forEach((f, i) => {
      const tail = f.type.size < type.size ? zeroStatements(`o + ${f.type.size}`, type.size - f.type.size) : '';
      const write = isLeaf(f.type)
        ? fillStatements(f.type, 'o', `x${i}`, 'path', `'${f.name}'`, endian, deps)
        : `${deps.add(f.type, endianOf(f.type, endian))}_write(dv, o, x${i}, ` +
          `(path === '' ? '${f.name}' : path + '.${f.name}'));`;
      check += `  if (x${i} !== undefined) { ${write} ${tail}return; }\n`;
    });
    body += `function write(dv, o, v, path) {\n${check}}\nconst fill = write;\n`;
  }

  // The live-view class. A DataView over a detached buffer throws a plain TypeError in V8; the catch turns it into
  // ERR_DETACHED_BUFFER (try/catch costs nothing while nothing throws).
  // A nested record's view is made without touching memory: its getter first reads the member's last byte, so that
  // the view of a member outside the DataView (of a record past the end of its array) is never made.
  let members = '';
  const caught = `catch (e) { throw viewError(dv, e, o, ${type.size}); }`;
  for (const f of fields) {
    const at = `o + ${f.offset}`;
    let shown = viewExpression(f.type, at, endian, deps);
    if (f.type.kind === 'struct' || f.type.kind === 'union')
      shown = `(dv.getUint8(o + ${f.offset + f.type.size - 1}), ${shown})`;
    members += `  get ${f.name}() {\n    var dv, o;\n`;
    members += `    try { dv = this.#dv; o = this.#o; return ${shown}; } ${caught}\n  }\n`;
    if (isScalarKind(f.type.kind) || f.type.kind === 'char') {
      const ready = f.type.kind === 'char' ? 'ready' : 'x';
      members += `  set ${f.name}(x) {\n    ${checkStatements(f.type, 'x', ready, "''", `'${f.name}'`)}\n`;
      members += `    var dv, o;\n`;
      const store = storeStatement(f.type, at, ready, endian);
      members += `    try { dv = this.#dv; o = this.#o; ${store} } ${caught}\n  }\n`;
    }
  }
  body += `
// The live view: its accessors are on the prototype; an instance holds only the DataView and the offset. The
// iterator class, declared in its static block, re-points one by setting its #o; \`move\` does the same for the
// cursor and forEach's loops. Both are private to this code, so a user's view never moves. \`var\`, not
// \`let\` or a class declaration: reading a \`let\` or a class from another function keeps an uninitialized-variable
// check, whose throw inside a loop stops V8 from hoisting anything out of it (see \`guard\`).
var move, copyView, isView, Iterator;
var View = class View {
  #dv; #o;
  constructor(token, dv, o) {
    ${guarded('token !== internal', 'illegalConstructor()')}
    this.#dv = dv; this.#o = o;
  }
  static {
    ${ITERATOR_CLASS}
    move = (view, o) => { view.#o = o; };
    copyView = (view, dv, o) => copyRecord(view.#dv, view.#o, dv, o, ${type.size});
    isView = (v) => typeof v === 'object' && v !== null && v[viewMark] === true && #dv in v;
    Object.defineProperty(View.prototype, viewMark, { value: true });
  }
${members}  toJSON() { var dv, o; try { dv = this.#dv; o = this.#o; return read(dv, o); } ${caught} }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    try { return this.toJSON(); } catch (e) { return inspectPlaceholder(e); }
  }
};
function view(dv, o) { return new View(internal, dv, o); }`;
  return { body, deps, extra: {}, placeable };
}

/**
 * `place(v, path, target, arg)` of a struct whose members are all leaves: `write`'s reads and checks, word for word,
 * then `target.slot(arg)` says where to store (it may throw: then nothing was written), then only stores. Returns
 * false, touching nothing, for a live view of this type (its caller copies it). See PlaceTarget.
 *
 * Between `slot` and the last store no code but memmap's runs: a string member is a primitive (or its UTF-8 bytes,
 * fresh from charInput), and a bytes member was copied beforehand into a buffer of this type's own, since the value
 * given may be a view of the very mapping that `slot` replaces when it grows the file (the view is then detached).
 * One buffer per member suffices: a re-entrant place from a getter runs wholly before this one's copies.
 */
function placeSource(fields: Aggregate['fields'], check: string, padding: string, endian: Endian): string {
  let buffers = '';
  let copies = '';
  let stores = '';
  fields.forEach((f, i) => {
    let ready = f.type.kind === 'char' ? `r${i}` : `x${i}`;
    if (f.type.kind === 'bytes') {
      buffers += `var held${i};\n`; // made on first use: a bytes(2 ** 30) member costs nothing until then
      copies += `  (held${i} ??= new Uint8Array(${f.type.size})).set(r${i});\n`;
      ready = `held${i}`;
    }
    stores += `  ${storeStatement(f.type, `o + ${f.offset}`, ready, endian)}\n`;
  });
  const checks = check.replace('if (isView(v)) { copyView(v, dv, o); return; }', 'if (isView(v)) return false;');
  return (
    `${buffers}function place(v, path, target, arg) {\n${checks}${copies}` +
    `  const o = target.slot(arg);\n  const dv = target.dv;\n${stores}  ${padding}\n  return true;\n}\n`
  );
}

/**
 * Where a record's iterator class goes: inside its View class, so that next() sets the view's private #o itself
 * instead of calling the \`move\` closure (measured on Node 20, bench for-of with three record types alive: 2.35 ms ->
 * 2.05 ms). The cursor class stays outside with \`move\`: nested the same way, its bench row went from 1.45 ms to
 * 1.85-2.2 ms on Node 20, whether it set #o itself or called \`move\`. Node 24 measured the same either way.
 */
const ITERATOR_CLASS = '/* the iterator class */';

/**
 * forEach over this many records or more takes a loop of its own per callback (see callback-loops.ts). Below it, the
 * lookup (about 0.3 us for a new closure) would cost more than it saves, and a short forEach inlined into a hot
 * caller's loop gets the callback inlined anyway (the caller creates it). Measured, 1e6 records visited as forEach
 * calls over n records with a new closure each call: n = 8 costs 6.7 ms as it did (46 ms with the lookup), n = 256
 * 3.1 ms (5.8 ms before), n = 8192 2.0 ms (4.4 ms before), on Node 20.
 */
const FOREACH_OWN_LOOP_FROM = 256;

/**
 * The StructArray subclass and cursor class for one element type (`array`), and its iterator class (`iterator`: for
 * records it goes inside the View class, see ITERATOR_CLASS). For records, `forEach`, the iterator and the cursor
 * move one view; `at` makes a view that stays. The stride is a literal, so `i * stride` needs no load. A long forEach
 * runs a copy of its loop compiled for the callback's source text (callback-loops.ts), so that V8 inlines the callback.
 *
 * Each array has its own DataView, exactly its window (arrayWindow): record i is at i * stride in it, and the
 * engine's bounds check of every access through it, which an access pays anyway, is the array's length check. So
 * `cursor.at(i)` checks only that i is an integer in [0, 2^32): an i past the end moves the view outside the
 * DataView, and its first access throws the RangeError that viewError turns into ERR_OUT_OF_RANGE naming i and the
 * length. Why: V8 removes the integer test for a loop counter but not the compare with the length, which it cannot
 * fold into the DataView's own check (measured in the bench with three record types alive: cursor.at(i).age went from
 * 0.29-0.31x to 0.54-0.60x of hand-written code on Node 20, and from 0.52-0.65x to 0.69-0.88x on Node 24).
 * Everything that reaches a record's bytes otherwise than through a DataView access (bytesIn, the nested record
 * getters' probe, arrayWindow for an array member, copyRecord) checks against the DataView's bounds itself.
 */
function arrayClassSource(type: AnyFieldType, isRecord: boolean): { iterator: string; array: string } {
  // The typeof test first: `>>>` on a bigint or a Symbol throws a plain TypeError, and on an object runs its valueOf.
  const notAnIndex = "typeof index !== 'number' || index >>> 0 !== index";
  const stride = type.size;
  // What a step hands out: the moved view for records, else the element's value (or live bytes / array).
  const o = (index: string): string => `${index} * ${stride}`;
  const cursorValue = `return view(this.#dv, ${o('index')});`;
  const step = isRecord
    ? { setup: 'const cursor = new View(internal, dv, 0);', at: (o: string) => `(move(cursor, ${o}), cursor)` }
    : { setup: '', at: (o: string) => `view(dv, ${o})` };
  // The body of forEach's loop for many records, compiled once per callback text (see callback-loops.ts).
  const loopBody = `function loop(dv, base, length, callback) {
  ${step.setup}
  for (let i = 0; i < length; i++) callback(${step.at(`base + i * ${stride}`)}, i);
}`;
  const iterator = `${isRecord ? 'Iterator = ' : 'var Iterator = '}class Iterator {
  #dv; #offset; #end; ${isRecord ? '#view;' : ''}
  constructor(token, dv, base, length) {
    if (token !== internal) throw illegalConstructor();
    this.#dv = dv; this.#offset = base; this.#end = base + length * ${stride};
    ${isRecord ? 'this.#view = length === 0 ? undefined : new View(internal, dv, base);' : ''}
  }
  // One return of one object literal: V8's escape analysis then removes the result object from a for-of loop that
  // inlines next() (two literals meet in a phi, which it does not remove). For records the value is the view even
  // when done (the protocol ignores it then; it stays on the last record, and is undefined for an empty array): a
  // \`done ? undefined : view\` choice is a phi again. Measured with three record types alive, for-of went from
  // 0.11x to 0.18x of hand-written code on Node 20, and from 0.25x to 0.65x on Node 24.
  next() {
    const o = this.#offset;
    const done = o >= this.#end;
    ${isRecord ? 'const cursor = this.#view;' : ''}
    if (!done) { this.#offset = o + ${stride}; ${isRecord ? 'cursor.#o = o;' : ''} }
    return { done, value: ${isRecord ? 'cursor' : 'done ? undefined : view(this.#dv, o)'} };
  }
  [Symbol.iterator]() { return this; }
};`;
  const array = `
// StructArray of ${describe(type)}: every method here serves this element type only.
// forEach over ${FOREACH_OWN_LOOP_FROM} records or more runs a loop compiled for its callback's text:
var loops = new CallbackLoops(\`
${loopBody}\`, ${isRecord ? '{ View, move, internal }' : '{ view }'});
class Cursor {
  #dv; #length; ${isRecord ? '#view;' : ''}
  constructor(token, dv, length) {
    if (token !== internal) throw illegalConstructor();
    this.#dv = dv; this.#length = length;
    ${isRecord ? 'this.#view = new View(internal, dv, 0);' : ''}
  }
  get length() { return this.#length; }
  // Only the integer test: an index >= length is found by the DataView's bounds check at the first access.
  at(index) {
    ${guarded(notAnIndex, 'badIndex(index, this.#length, false)')}
    ${isRecord ? `const cursor = this.#view; move(cursor, ${o('index')}); return cursor;` : cursorValue}
  }
}
class ArrayClass extends StructArray {
  // This class's own copies of the window and the length: no property an instance is given (an own \`length\`)
  // can change what an index is checked against. (Read here rather than through the base class's getter, shared by
  // every type's arrays, they measured no faster or slower.)
  #dv; #length;
  constructor(token, dv, base, length) {
    if (token !== internal) throw illegalConstructor();
    const window = arrayWindow(dv, base, length * ${stride});
    super(token, type, window, 0, length, ENDIAN, { write });
    this.#dv = window; this.#length = length;
  }
  get(index) {
    ${guarded(`${notAnIndex} || index >= this.#length`, 'badIndex(index, this.#length, false)')}
    const dv = this.#dv;
    try { return read(dv, ${o('index')}); } catch (e) { throw accessError(dv, e); }
  }
  set(index, value) {
    ${guarded(`${notAnIndex} || index >= this.#length`, 'badIndex(index, this.#length, false)')}
    const dv = this.#dv;
    try { write(dv, ${o('index')}, value, 'value'); } catch (e) { throw accessError(dv, e); }
  }
  // Checked here, not at the view's first access as cursor.at(): measured both ways (the negative index on a slow
  // path, or chosen as now with only the integer test), at(i).age went from 0.30x to 0.6x of hand-written code on
  // Node 20 but fell from 0.57-0.60x to 0.35-0.39x on Node 24 (six runs each).
  at(index) {
    const length = this.#length;
    // The addition runs for every index (a branch never taken would leave V8 no feedback for it, and a deopt
    // exit that stops loop peeling): only the value added is chosen.
    // A bigint or a Symbol would throw a plain TypeError in the arithmetic, an object would have its valueOf run:
    // refused first, through a guard (a \`typeof\` choice in the arithmetic made a phi that halved at(i) on Node 24).
    ${guarded("typeof index !== 'number'", 'badIndex(index, length, true)')}
    const position = index + (index < 0 ? length : 0);
    ${guarded('(position >>> 0) !== position || position >= length', 'badIndex(index, length, true)')}
    return view(this.#dv, ${o('position')});
  }
  forEach(callback) {
    if (typeof callback !== 'function') throw badCallback(callback);
    const dv = this.#dv, length = this.#length;
    if (length >= ${FOREACH_OWN_LOOP_FROM}) { loops.loopFor(callback)(dv, 0, length, callback); return; }
    ${step.setup}
    for (let i = 0; i < length; i++) callback(${step.at(`i * ${stride}`)}, i);
  }
  [Symbol.iterator]() { return new Iterator(internal, this.#dv, 0, this.#length); }
  cursor() { return new Cursor(internal, this.#dv, this.#length); }
  toArray() {
    const length = this.#length, dv = this.#dv;
    const out = new Array(length);
    try {
      for (let i = 0; i < length; i++) out[i] = read(dv, ${o('i')});
    } catch (e) {
      throw accessError(dv, e);
    }
    return out;
  }
  // A new window: arrayWindow makes a DataView over exactly the records [from, to).
  subarray(start = 0, end = this.#length) {
    const from = clampPosition(start, this.#length, 'start');
    const to = Math.max(from, clampPosition(end, this.#length, 'end'));
    const dv = this.#dv;
    try { return new ArrayClass(internal, dv, from * ${stride}, to - from); } catch (e) { throw accessError(dv, e); }
  }
}
// super() calls whatever the class's prototype is at the time: a program that set it to a function of its own would
// receive \`internal\`, the token that lets only memmap construct views, cursors and arrays.
Object.preventExtensions(ArrayClass);`;
  return { iterator, array };
}
