/**
 * The contract every layout type keeps: a kind, a C size and alignment, and (types only) the TypeScript values it
 * reads as, accepts for writing, and shows in a live view; and the checks every kind shares.
 */
import { invalidArgType, outOfRange } from '../errors.js';

/** The phantom slot carrying a field type's TypeScript types; it never exists at runtime. */
export interface TypeSlot<TOutput, TInput, TView> {
  readonly output: TOutput;
  readonly input: TInput;
  readonly view: TView;
}

/** A field type: anything that can be a struct member, with its C size and alignment in bytes. */
export interface FieldType<TOutput = unknown, TInput = TOutput, TView = TOutput> {
  /** What the type is: 'int32', 'char', 'array', 'struct', ... */
  readonly kind: string;
  /** `sizeof` in bytes, as the host C compiler gives it. */
  readonly size: number;
  /** `_Alignof` in bytes, as the host C compiler gives it. */
  readonly align: number;
  /** Types only: `Infer`, `InferInput` and `InferView` read them; undefined at runtime. */
  readonly '~types'?: TypeSlot<TOutput, TInput, TView>;
}

/** Any field type, whatever it holds. */
export type AnyFieldType = FieldType<unknown, unknown, unknown>;

/** The value a read gives for a field type: `Infer<typeof Student>` is `{ name: string; age: number }`. */
export type Infer<T extends AnyFieldType> = NonNullable<T['~types']>['output'];

/** The value a write accepts for a field type (a union accepts one member at a time). */
export type InferInput<T extends AnyFieldType> = NonNullable<T['~types']>['input'];

/** What a live view shows for a field type: numbers and strings for scalars, live views for nested records. */
export type InferView<T extends AnyFieldType> = NonNullable<T['~types']>['view'];

/** Byte order of multi-byte fields. */
export type Endian = 'little' | 'big';

/** The byte order of this machine, used when a struct does not name one. */
export const hostEndian: Endian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'little' : 'big';

/** Every kind this module makes. */
const kinds = new Set([
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
  'bool',
  'char',
  'bytes',
  'array',
  'struct',
  'union',
]);

/** Checks that `value` is a field type made by this module. */
export function checkFieldType(value: unknown, name: string): asserts value is AnyFieldType {
  if (
    value === null ||
    typeof value !== 'object' ||
    !kinds.has((value as FieldType).kind) ||
    typeof (value as FieldType).size !== 'number' ||
    typeof (value as FieldType).align !== 'number'
  ) {
    throw invalidArgType(name, 'a layout field type (int32, char(n), struct({...}), ...)', value);
  }
}

/** Checks the element count of a fixed-size type: an integer from 1 (C has no zero-length arrays). */
export function checkLength(length: unknown, name: string): asserts length is number {
  if (typeof length !== 'number') throw invalidArgType(name, 'of type number', length);
  if (!Number.isInteger(length) || length < 1 || length > 0x7fffffff)
    throw outOfRange(name, 'an integer >= 1 && <= 2147483647', length);
}

/**
 * Checks that a computed size stays an exact integer: past 2^53 (Number.MAX_SAFE_INTEGER) a double cannot count
 * bytes, and offsets and `sizeof` would silently be wrong.
 */
export function checkSize(size: number, name: string): number {
  if (!(size <= Number.MAX_SAFE_INTEGER))
    throw outOfRange(name, `a size of at most ${Number.MAX_SAFE_INTEGER} bytes (Number.MAX_SAFE_INTEGER)`, size);
  return size;
}

/** A struct or union as the layout's tools see it (StructType satisfies it). */
export interface Aggregate extends AnyFieldType {
  /** A struct or a union. */
  readonly kind: 'struct' | 'union';
  /** Members in declaration order, with their byte offsets. */
  readonly fields: readonly {
    /** The member's name. */
    readonly name: string;
    /** Its field type. */
    readonly type: AnyFieldType;
    /** Its byte offset in the record. */
    readonly offset: number;
  }[];
  /** The byte order named in the options, or undefined to inherit the enclosing one. */
  readonly endian: Endian | undefined;
}

/** The byte order a member is stored in: a nested struct's own option, else the enclosing struct's. */
export function endianOf(type: AnyFieldType, inherited: Endian): Endian {
  return type.kind === 'struct' || type.kind === 'union' ? ((type as Aggregate).endian ?? inherited) : inherited;
}
