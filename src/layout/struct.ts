/**
 * `struct({...}, options)` and `union({...}, options)`: a C record described once, with the size, alignment and
 * member offsets the host C compiler gives it, its TypeScript types inferred from the description, and fast
 * generated accessors to read, write and view it over any bytes.
 */
import { invalidArgType, invalidArgValue, memmapError, outOfRange, validateObject } from '../errors.js';
import { toCDeclaration, type CDeclarationOptions } from './c-declaration.js';
import { compiled, type Compiled } from './codegen.js';
import { toDtype } from './dtype.js';
import type { AnyFieldType, Endian, FieldType, Infer, InferInput, InferView, TypeSlot } from './field.js';
import { checkFieldType, checkSize, hostEndian } from './field.js';
import type { CharType } from './char.js';
import type { ScalarType } from './scalar.js';
import { schemaHash } from './schema-hash.js';
import { toSchema, type AggregateSchema } from './schema-to.js';
import { detachedBuffer, isDetached, locate, locatedError, locatedView, windowOf, type ByteSource } from './source.js';
import { internal, type StructArray } from './struct-array.js';

/** The members of a struct or union: field name -> field type, in declaration order. */
export type Shape = { readonly [name: string]: AnyFieldType };

/** Options of a struct or union, each the C attribute of the same name. */
export interface StructOptions {
  /** `__attribute__((packed))`: no padding, every member at alignment 1 (the struct's alignment is 1). */
  packed?: boolean;
  /** `__attribute__((aligned(n)))`: raises the alignment (and so the size) to a power of two n; never lowers it. */
  align?: number;
  /**
   * Byte order of every multi-byte member, nested records included unless they name their own (GCC's
   * `scalar_storage_order`). Default: inherited from the enclosing record, or the host order at the top.
   */
  endian?: Endian;
}

/** One member of a struct: its name, type, byte offset and size. */
export interface Field<T extends AnyFieldType = AnyFieldType> {
  /** The member's name in the description (a C identifier). */
  readonly name: string;
  /** The member's field type. */
  readonly type: T;
  /** Byte offset from the start of the record (`offsetof`). */
  readonly offset: number;
  /** The member's size in bytes (`sizeof`). */
  readonly size: number;
}

/** Flattens an intersection into one object type, so editors show `{ name: string; age: number }`. */
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The plain object a read gives: `{ name: string; age: number }`. */
export type RecordOf<S extends Shape> = { -readonly [K in keyof S]: Infer<S[K]> };

/** The object a struct write accepts: every member, each in its input type. */
export type RecordInput<S extends Shape> = { -readonly [K in keyof S]: InferInput<S[K]> };

/** The object a union write accepts: exactly one member. */
export type UnionInput<S extends Shape> = {
  [K in keyof S]: { [P in K]: InferInput<S[K]> } & { [P in Exclude<keyof S, K>]?: undefined };
}[keyof S];

/** Member types a live view can assign (the others are live views themselves, changed through their members). */
type Assignable = ScalarType | CharType;

/** A live record: getters and setters over the bytes, nested records and arrays as live views, and `toJSON()`. */
export type RecordView<S extends Shape> = Simplify<
  { -readonly [K in keyof S as S[K] extends Assignable ? K : never]: InferView<S[K]> } & {
    readonly [K in keyof S as S[K] extends Assignable ? never : K]: InferView<S[K]>;
  }
> & {
  /** A plain copy of the record. */
  toJSON(): RecordOf<S>;
};

/** Where an array of records lies in its source: a byte offset (default 0) and a record count. */
export interface ArrayOptions {
  /** Byte offset of the first record in the source (default 0). */
  offset?: number;
  /**
   * Number of records. Default: all that fit after `offset`, which must then be an exact multiple of the record
   * size (a trailing partial record is a RangeError unless `length` is given).
   */
  length?: number;
}

/**
 * Member names a record cannot have. A live view is an object with a getter per member: a member named like a
 * property every object has (`toString`, `valueOf`, `constructor`, `__proto__`, ...) would break `String(view)`,
 * `view + ''`, `instanceof` or the plain objects a read returns; `toJSON` is the view's own copy method.
 */
const reservedNames = new Set([...Object.getOwnPropertyNames(Object.prototype), 'toJSON', 'prototype']);
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A C struct or union type: layout, inferred types, and accessors over bytes. */
export class StructType<
  S extends Shape = Shape,
  K extends 'struct' | 'union' = 'struct' | 'union',
> implements FieldType<RecordOf<S>, K extends 'union' ? UnionInput<S> : RecordInput<S>, RecordView<S>> {
  /** 'struct' or 'union'. */
  readonly kind: K;
  /** `sizeof`, trailing padding included. */
  readonly size: number;
  /** `_Alignof`. */
  readonly align: number;
  /** Members in declaration order, with their offsets. */
  readonly fields: readonly Field[];
  /** Whether the record is packed. */
  readonly packed: boolean;
  /** The alignment asked for with the `align` option, if any. */
  readonly requestedAlign: number | undefined;
  /** The byte order named in the options; undefined means inherited (the host order at the top). */
  readonly endian: Endian | undefined;
  /** Types only: the TypeScript types of this record (see Infer, InferInput, InferView). */
  declare readonly '~types'?: TypeSlot<RecordOf<S>, K extends 'union' ? UnionInput<S> : RecordInput<S>, RecordView<S>>;
  /** Types only: the member types as described. */
  declare readonly '~shape'?: S;
  /** Types only (undefined at runtime): `typeof Student.infer` is the type `Infer<typeof Student>`. */
  declare readonly infer: RecordOf<S>;
  readonly #byName: Map<string, Field>;
  #hash: string | undefined;

  /** @internal Use `struct()` or `union()` (a user calling it gets ERR_ILLEGAL_CONSTRUCTOR). */
  constructor(token: typeof internal, kind: K, shape: S, options: StructOptions = {}) {
    if (token !== internal)
      throw memmapError('ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor: make a record type with struct() or union()', {
        kind: 'TypeError',
      });
    const { packed, align, endian } = checkOptions(options);
    checkShape(shape);
    const fields: Field[] = [];
    let end = 0;
    let maxAlign = 1;
    for (const [name, type] of Object.entries(shape)) {
      // A packed record places each member at alignment 1, whatever its type's alignment.
      const memberAlign = packed ? 1 : type.align;
      const offset = kind === 'union' ? 0 : alignUp(end, memberAlign);
      fields.push(Object.freeze({ name, type, offset, size: type.size }));
      end = Math.max(end, offset + type.size);
      maxAlign = Math.max(maxAlign, memberAlign);
    }
    this.kind = kind;
    this.align = Math.max(maxAlign, align ?? 1);
    this.size = checkSize(alignUp(end, this.align), 'fields');
    this.fields = Object.freeze(fields);
    this.packed = packed;
    this.requestedAlign = align;
    this.endian = endian;
    this.#byName = new Map(fields.map((f) => [f.name, f]));
    // Frozen as every other field type is: `size` is what read/write/view/array check a source against, and
    // `fields` what the accessors are compiled from. Writable, `Record.size = 1` made Record.write(source, offset)
    // store a whole record past the end of `source` (the cached private members stay assignable).
    Object.freeze(this);
  }

  /** Byte offset of member `name` (`offsetof`). */
  offsetOf(name: keyof S & string): number {
    const field = this.#byName.get(name);
    if (field === undefined) throw invalidArgValue('name', name, `must be a member of the ${this.kind}`);
    return field.offset;
  }

  /** The member called `name`, or undefined. */
  field(name: string): Field | undefined {
    return this.#byName.get(name);
  }

  /** The byte order this record is read in at the top level: its option, else the host's. */
  get byteOrder(): Endian {
    return this.endian ?? hostEndian;
  }

  /** Reads the record at byte `offset` of `source` into a plain object (a copy). */
  read(source: ByteSource, offset = 0): RecordOf<S> {
    const at = locate(source, offset, this.size);
    const dv = locatedView();
    try {
      return this.#compiled().codec.read(dv, at) as RecordOf<S>;
    } catch (error) {
      throw locatedError(dv, source, offset, this.size, error);
    }
  }

  /**
   * Writes `value` as the record at byte `offset` of `source`, padding bytes zeroed. The whole value is checked
   * before the first byte is written: a missing member or wrong type is a TypeError, an integer out of range or a
   * string longer than its char(n) a RangeError naming the member, and a rejected value leaves the bytes as they
   * were. A live view of the same record type is copied byte for byte.
   */
  write(source: ByteSource, offset: number, value: K extends 'union' ? UnionInput<S> : RecordInput<S>): void {
    const at = locate(source, offset, this.size);
    const dv = locatedView();
    try {
      this.#compiled().codec.write(dv, at, value, 'value');
    } catch (error) {
      throw locatedError(dv, source, offset, this.size, error);
    }
  }

  /** A live record at byte `offset` of `source`: getters and setters read and write the bytes, no copy. */
  view(source: ByteSource, offset = 0): RecordView<S> {
    const at = locate(source, offset, this.size);
    const dv = locatedView();
    try {
      dv.getUint8(at); // a view of a detached buffer is refused now, not at its first field access
    } catch (error) {
      throw locatedError(dv, source, offset, this.size, error);
    }
    return this.#compiled().codec.view(dv, at) as RecordView<S>;
  }

  /** A StructArray of these records over `source` (no copy): see ArrayOptions for where it lies. */
  array(source: ByteSource, options: ArrayOptions = {}): StructArray<this> {
    const window = windowOf(source, 'source');
    if (isDetached(window.buffer)) throw detachedBuffer();
    const { offset = 0, length } = validateObject<ArrayOptions>(options, 'options');
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > window.byteLength) {
      if (isDetached(window.buffer)) throw detachedBuffer();
      throw outOfRange('options.offset', `an integer >= 0 && <= ${window.byteLength}`, offset);
    }
    const available = window.byteLength - offset;
    let count: number;
    if (length === undefined) {
      if (available % this.size !== 0) {
        if (isDetached(window.buffer)) throw detachedBuffer();
        throw outOfRange(
          'source.byteLength',
          `offset + a multiple of the record size ${this.size} (or pass an explicit options.length)`,
          window.byteLength,
        );
      }
      count = available / this.size;
    } else {
      const max = Math.floor(available / this.size);
      if (typeof length !== 'number') throw invalidArgType('options.length', 'of type number', length);
      if (!Number.isInteger(length) || length < 0 || length > max) {
        if (isDetached(window.buffer)) throw detachedBuffer();
        throw outOfRange('options.length', `an integer >= 0 && <= ${max} (records that fit)`, length);
      }
      count = length;
    }
    // A DataView over exactly the records: any access outside it is a RangeError from V8, never foreign memory.
    const dv = new DataView(window.buffer, window.byteOffset + offset, count * this.size);
    return new (this.#compiled().ArrayClass)(internal, dv, 0, count) as unknown as StructArray<this>;
  }

  /**
   * The C declaration of this record as `struct name` (nested records first, named `name_member`), with
   * <stdint.h> types and, unless turned off, `_Static_assert`s of its size, alignment and offsets.
   */
  toC(name: string, options?: CDeclarationOptions): string {
    return toCDeclaration(this, name, options);
  }

  /** The numpy dtype of this record, as a Python expression for `np.dtype(...)`. */
  toDtype(): string {
    return toDtype(this);
  }

  /** A JSON description of this record (layout included), to store and rebuild with `fromSchema`. */
  toJSON(): AggregateSchema {
    return toSchema(this);
  }

  /** A stable hash (sha-256 hex) of the JSON description: equal records, equal hashes, on any run. */
  get hash(): string {
    return (this.#hash ??= schemaHash(this));
  }

  #accessors: Compiled | undefined;

  /** The compiled accessors in this record's byte order (compiled on first use, then kept). */
  #compiled(): Compiled {
    return (this.#accessors ??= compiled(this, this.byteOrder));
  }
}

/** A C struct: `struct({ name: char(4), age: int32 })`, optionally `{ packed, align, endian }`. */
export function struct<S extends Shape>(shape: S, options?: StructOptions): StructType<S, 'struct'> {
  return new StructType(internal, 'struct', shape, options);
}

/** A C union: every member at offset 0; reads give every member, writes take exactly one. */
export function union<S extends Shape>(shape: S, options?: StructOptions): StructType<S, 'union'> {
  return new StructType(internal, 'union', shape, options);
}

/** Internal (fromSchema): a struct or union of a kind known only at run time. */
export function createStructType(kind: 'struct' | 'union', shape: Shape, options: StructOptions): StructType {
  return new StructType(internal, kind, shape, options);
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

function checkOptions(options: unknown): { packed: boolean; align: number | undefined; endian: Endian | undefined } {
  const { packed = false, align, endian } = validateObject<StructOptions>(options, 'options');
  if (typeof packed !== 'boolean') throw invalidArgType('options.packed', 'of type boolean', packed);
  if (align !== undefined) {
    if (typeof align !== 'number') throw invalidArgType('options.align', 'of type number', align);
    // GCC accepts aligned(n) for powers of two up to 2^28.
    if (!Number.isInteger(align) || align < 1 || align > 2 ** 28 || (align & (align - 1)) !== 0)
      throw outOfRange('options.align', 'a power of two >= 1 && <= 268435456', align);
  }
  // The options come from JavaScript callers too: \`endian\` is checked whatever its declared type says.
  if (endian !== undefined && !['little', 'big'].includes(endian))
    throw invalidArgValue('options.endian', endian, "must be 'little' or 'big'");
  return { packed, align, endian };
}

function checkShape(shape: unknown): asserts shape is Shape {
  if (shape === null || typeof shape !== 'object' || Array.isArray(shape))
    throw invalidArgType('fields', 'an object of field types', shape);
  const names = Object.keys(shape);
  if (names.length === 0)
    throw invalidArgValue('fields', shape, 'must have at least one member (C has no empty structs)');
  for (const name of names) {
    if (!identifier.test(name))
      throw invalidArgValue('fields', name, 'must use C identifiers as member names ([A-Za-z_][A-Za-z0-9_]*)');
    if (reservedNames.has(name)) throw invalidArgValue('fields', name, 'must not use a reserved member name');
    checkFieldType((shape as Record<string, unknown>)[name], `fields.${name}`);
  }
}
