/**
 * StructArray: a fixed-length array of records (or of any field type) over a window of bytes, with no copy.
 * `get` and `toArray` copy records out, `at` gives a live view, `forEach`, for-of and `cursor()` move one view
 * along the records, `set` and `fill` write through, and `column` copies one numeric field into a typed array.
 *
 * This file holds what every element type shares. The per-element hot methods (`get`, `set`, `at`, `forEach`,
 * the iterator, `cursor`, `toArray`, `subarray`) are generated for each element type by codegen.ts in a subclass,
 * so that every call site inside them sees one record type, whatever else the program uses.
 */
import { invalidArgValue, memmapError, outOfRange } from '../errors.js';
import type { AnyFieldType, Endian, Infer, InferInput, InferView } from './field.js';
import type { ScalarKind, ScalarType } from './scalar.js';
import { accessError } from './source.js';
import { bytesIn } from './bytes.js';
import { dataViewByteOffset } from '../intrinsics.js';

/** The typed array `column()` returns for each scalar kind (bool as 0/1 bytes). */
export interface ColumnArrays {
  /** The column of an `int8` field: an Int8Array. */
  int8: Int8Array;
  /** The column of an `uint8` field: an Uint8Array. */
  uint8: Uint8Array;
  /** The column of an `int16` field: an Int16Array. */
  int16: Int16Array;
  /** The column of an `uint16` field: an Uint16Array. */
  uint16: Uint16Array;
  /** The column of an `int32` field: an Int32Array. */
  int32: Int32Array;
  /** The column of an `uint32` field: an Uint32Array. */
  uint32: Uint32Array;
  /** The column of an `int64` field: an BigInt64Array. */
  int64: BigInt64Array;
  /** The column of an `uint64` field: an BigUint64Array. */
  uint64: BigUint64Array;
  /** The column of an `float32` field: an Float32Array. */
  float32: Float32Array;
  /** The column of an `float64` field: an Float64Array. */
  float64: Float64Array;
  /** The column of an `bool` field: an Uint8Array of 0 and 1. */
  bool: Uint8Array;
}

/** The fields of a record type (the struct's shape), or never for other element types. */
type ShapeOf<T> = T extends { readonly '~shape'?: infer S } ? NonNullable<S> : never;

/** The names of a record's scalar fields: the ones `column()` accepts. */
export type ColumnName<T> = {
  [K in keyof ShapeOf<T>]: ShapeOf<T>[K] extends ScalarType ? K : never;
}[keyof ShapeOf<T>] &
  string;

/** The typed array `column(name)` returns for field `name`. */
export type ColumnOf<T, K extends ColumnName<T>> =
  ShapeOf<T>[K] extends ScalarType<infer Kind> ? ColumnArrays[Kind] : never;

const columnArrays: Record<ScalarKind, { new (length: number): ArrayLike<unknown> }> = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
  bool: Uint8Array,
};

/** What a StructArray needs of its element's compiled accessors (codegen.ts makes them). */
export interface ElementCodec {
  /** Checks the whole value, then writes it at absolute offset `o`; `path` names it in errors. */
  write: (dv: DataView, o: number, value: unknown, path: string) => void;
}

/**
 * One view moved along an array by hand: `cursor.at(i)` points the same view object at record i and returns it.
 * What it returned is valid until the next `at` call moves it; keep `array.at(i)` for a view that stays put.
 */
export interface Cursor<V> {
  /** The number of records the cursor moves over. */
  readonly length: number;
  /**
   * Moves the cursor's view to record `index` and returns it. An index that is not an integer in [0, 2^32) (a
   * negative one, 1.5, NaN, a string) throws ERR_OUT_OF_RANGE here and leaves the view where it was. An integer
   * index >= length is not checked here, to keep the loop fast: the view is moved past the end, and its first access
   * (any getter, setter, toJSON, or copying it as a value) throws ERR_OUT_OF_RANGE naming the index and the length; it
   * never reads or writes the bytes after the array. For a scalar, string or bytes element, which `at` reads at once,
   * that first access is the `at` call itself.
   */
  at(index: number): V;
}

/** Proves a call comes from inside the layout module: the constructors below are not for users. */
export const internal: unique symbol = Symbol('memmap layout internal');

/** A fixed-length array of `T` laid over bytes: made by `Struct.array(buf)`, or by a live view's array field. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the interface below declares the methods codegen's subclass defines
export class StructArray<T extends AnyFieldType> {
  // Private, behind getters: an own data property could be reassigned (`array.length = 10`), and then get/set/fill
  // checked indexes against it, threw V8's plain RangeError at the window's end, and fill wrote part of its range.
  readonly #type: T;
  readonly #length: number;
  readonly #dv: DataView;
  readonly #base: number;
  readonly #stride: number;
  readonly #endian: Endian;
  readonly #write: ElementCodec['write'];

  /** @internal Arrays come from `Struct.array()` and live views; a user calling it gets ERR_ILLEGAL_CONSTRUCTOR. */
  constructor(
    token: typeof internal,
    type: T,
    dv: DataView,
    base: number,
    length: number,
    endian: Endian,
    codec: ElementCodec,
  ) {
    if (token !== internal)
      throw memmapError(
        'ERR_ILLEGAL_CONSTRUCTOR',
        'Illegal constructor: make a StructArray with Struct.array(source)',
        {
          kind: 'TypeError',
        },
      );
    this.#type = type;
    this.#length = length;
    this.#dv = dv;
    this.#base = base;
    this.#stride = type.size;
    this.#endian = endian;
    this.#write = codec.write;
  }

  /** The element type. */
  get type(): T {
    return this.#type;
  }

  /** The number of elements (fixed when the array is made; access after a detach throws ERR_DETACHED_BUFFER). */
  get length(): number {
    return this.#length;
  }

  /** Byte offset of element 0 in the underlying buffer. */
  get byteOffset(): number {
    try {
      return dataViewByteOffset(this.#dv) + this.#base;
    } catch (error) {
      throw accessError(this.#dv, error);
    }
  }

  /** The size of the array in bytes. */
  get byteLength(): number {
    return this.#length * this.#stride;
  }

  /** Plain copies (so JSON.stringify and console.log show the records). */
  toJSON(): Infer<T>[] {
    return this.toArray();
  }

  /**
   * Writes `value` into elements [start, end) (negative positions count from the end and are clamped, as in
   * TypedArray#fill). The value is checked and written once, then its bytes are copied.
   */
  fill(value: InferInput<T>, start = 0, end = this.#length): this {
    const from = clampPosition(start, this.#length, 'start');
    const to = clampPosition(end, this.#length, 'end');
    if (from >= to) return this;
    const dv = this.#dv;
    const stride = this.#stride;
    try {
      this.#write(dv, this.#base + from * stride, value, 'value');
      // Through bytesIn, which reads the DataView's window with the engine's own getters and refuses bytes outside it:
      // a patched DataView.prototype.byteOffset or buffer would otherwise point the copies outside the array.
      const bytes = bytesIn(dv, this.#base + from * stride, (to - from) * stride);
      // Doubling copies: each copyWithin duplicates what is already filled, log2(n) calls in all.
      for (let filled = stride; filled < bytes.length; filled *= 2)
        bytes.copyWithin(filled, 0, Math.min(filled, bytes.length - filled));
    } catch (error) {
      throw accessError(dv, error);
    }
    return this;
  }

  /**
   * A COPY of one scalar field of every record, as a typed array (Int32Array for an int32 field, BigInt64Array for
   * int64, Uint8Array of 0/1 for bool). It is a copy, not a strided view: JS typed arrays have no stride, and a
   * copy works for every offset, alignment and byte order. Writes to it do not reach the records.
   */
  column<K extends ColumnName<T>>(name: K): ColumnOf<T, K> {
    const fields = (this.type as { fields?: readonly { name: string; type: AnyFieldType; offset: number }[] }).fields;
    const field = fields?.find((f) => f.name === name);
    if (field === undefined || !Object.prototype.hasOwnProperty.call(columnArrays, field.type.kind))
      throw invalidArgValue('name', name, 'must name a scalar field of the record (int*, uint*, float*, bool)');
    const scalarKind = field.type.kind as ScalarKind;
    const out = new columnArrays[scalarKind](this.#length) as unknown as Record<number, unknown>;
    const dv = this.#dv;
    // #endian is the record's own byte order (its option, or the one it inherits); a scalar field has none of its own.
    const little = this.#endian === 'little';
    const first = this.#base + field.offset;
    const stride = this.#stride;
    const n = this.#length;
    try {
      switch (scalarKind) {
        case 'int8':
          for (let i = 0; i < n; i++) out[i] = dv.getInt8(first + i * stride);
          break;
        case 'uint8':
          for (let i = 0; i < n; i++) out[i] = dv.getUint8(first + i * stride);
          break;
        case 'bool':
          for (let i = 0; i < n; i++) out[i] = dv.getUint8(first + i * stride) === 0 ? 0 : 1;
          break;
        case 'int16':
          for (let i = 0; i < n; i++) out[i] = dv.getInt16(first + i * stride, little);
          break;
        case 'uint16':
          for (let i = 0; i < n; i++) out[i] = dv.getUint16(first + i * stride, little);
          break;
        case 'int32':
          for (let i = 0; i < n; i++) out[i] = dv.getInt32(first + i * stride, little);
          break;
        case 'uint32':
          for (let i = 0; i < n; i++) out[i] = dv.getUint32(first + i * stride, little);
          break;
        case 'int64':
          for (let i = 0; i < n; i++) out[i] = dv.getBigInt64(first + i * stride, little);
          break;
        case 'uint64':
          for (let i = 0; i < n; i++) out[i] = dv.getBigUint64(first + i * stride, little);
          break;
        case 'float32':
          for (let i = 0; i < n; i++) out[i] = dv.getFloat32(first + i * stride, little);
          break;
        case 'float64':
          for (let i = 0; i < n; i++) out[i] = dv.getFloat64(first + i * stride, little);
          break;
      }
    } catch (error) {
      throw accessError(dv, error);
    }
    return out as unknown as ColumnOf<T, K>;
  }
}

/** The generated per-element methods (see codegen.ts); declared here so that every StructArray has them. */
export interface StructArray<T extends AnyFieldType> extends Iterable<InferView<T>> {
  /** A copy of element `index` (a plain object for records). Throws RangeError outside [0, length). */
  get(index: number): Infer<T>;
  /**
   * Writes `value` into element `index`, with the same checks as `Struct.write`: the whole value is checked before
   * the first byte is written, so a rejected value leaves the element as it was. A live view of the same record
   * type is copied byte for byte.
   */
  set(index: number, value: InferInput<T> | InferView<T>): void;
  /**
   * A live view of element `index` (for records: reads and writes go to the bytes) that stays on that element; a
   * negative index counts from the end, as in Array.prototype.at. Unlike Array#at, an index out of range throws
   * RangeError.
   */
  at(index: number): InferView<T>;
  /**
   * Calls `callback` with a view of every element and its index. For records it is ONE view moved along the
   * records: valid during that call only (take `at(i)` or `get(i)` to keep one). The fastest way to visit every
   * record after `cursor()`.
   */
  forEach(callback: (element: InferView<T>, index: number) => void): void;
  /**
   * For records, ONE view moved along the records, as forEach: each value is valid until the next step, so
   * `[...array]` or `Array.from(array)` give the same view n times (use `toArray()` for copies).
   */
  [Symbol.iterator](): Iterator<InferView<T>>;
  /** A cursor: one view moved by hand with `cursor.at(i)`, for loops that pick their own order. */
  cursor(): Cursor<InferView<T>>;
  /** Copies of every element, as a plain JS array. */
  toArray(): Infer<T>[];
  /** A StructArray over elements [start, end) of this one, sharing its bytes (as TypedArray#subarray). */
  subarray(start?: number, end?: number): StructArray<T>;
}

/** ERR_OUT_OF_RANGE for an index outside the array (off the hot path: a function, so accessors stay small). */
export function badIndex(index: unknown, length: number, negative: boolean): Error {
  const range = negative ? `an integer >= ${-length} && < ${length}` : `an integer >= 0 && < ${length}`;
  // Shown without converting it: String() of a Symbol, of an object with no prototype or a hostile toString throws.
  const shown = typeof index === 'object' || typeof index === 'function' || typeof index === 'symbol';
  return outOfRange('index', range, shown && index !== null ? `type ${typeof index}` : index);
}

/** A position argument of fill/subarray: an integer, negative from the end, clamped to [0, length]. */
export function clampPosition(position: number, length: number, name: string): number {
  if (typeof position !== 'number' || Number.isNaN(position)) throw outOfRange(name, 'an integer', position);
  const integer = Math.trunc(position);
  return integer < 0 ? Math.max(0, length + integer) : Math.min(integer, length);
}
