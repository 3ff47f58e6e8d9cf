/**
 * The errors a write raises for a bad value, each naming the field by its path (`value.items[2].age`). Generated
 * accessors test a value with one cheap comparison and call these only when it fails.
 */
import { invalidArgType, outOfRange, type CodedError } from '../errors.js';

/** The path of a member: `parent.key`, `parent[index]`, or just `key` at the top. */
export function fieldPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

const integerRanges: Record<string, readonly [number | bigint, number | bigint]> = {
  int8: [-0x80, 0x7f],
  uint8: [0, 0xff],
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** Smallest int64 value, for the generated range checks. */
export const INT64_MIN = -(2n ** 63n);
/** Largest int64 value. */
export const INT64_MAX = 2n ** 63n - 1n;
/** Largest uint64 value. */
export const UINT64_MAX = 2n ** 64n - 1n;

/** The [min, max] of an integer kind (the generated code passes only kinds in the table). */
function rangeOf(kind: string): readonly [number | bigint, number | bigint] {
  const range = integerRanges[kind];
  if (range === undefined) throw new Error(`unreachable: ${kind} is not an integer kind`);
  return range;
}

/** A number that is not an integer of `kind`: TypeError if not a number at all, else RangeError with the range. */
export function badInteger(value: unknown, path: string, key: string | number, kind: string): CodedError {
  const name = fieldPath(path, key);
  if (typeof value !== 'number') return invalidArgType(name, `of type number (${kind})`, value);
  const [min, max] = rangeOf(kind);
  return outOfRange(name, `an integer >= ${min} && <= ${max} (${kind})`, value);
}

/** A value that is not a bigint in the range of `kind` (int64 or uint64). */
export function badBigInt(value: unknown, path: string, key: string | number, kind: string): CodedError {
  const name = fieldPath(path, key);
  if (typeof value !== 'bigint') return invalidArgType(name, `of type bigint (${kind})`, value);
  const [min, max] = rangeOf(kind);
  return outOfRange(name, `>= ${min}n && <= ${max}n (${kind})`, value);
}

/** A float field given something that is not a number. */
export function badNumber(value: unknown, path: string, key: string | number): CodedError {
  return invalidArgType(fieldPath(path, key), 'of type number', value);
}

/** A bool field given something that is not a boolean. */
export function badBoolean(value: unknown, path: string, key: string | number): CodedError {
  return invalidArgType(fieldPath(path, key), 'of type boolean', value);
}

/** A struct field given something that is not an object (a missing field is `undefined`). */
export function badObject(value: unknown, path: string): CodedError {
  return invalidArgType(path === '' ? 'value' : path, 'of type object', value);
}

/** An array field given something that is not an array of exactly `length` elements. */
export function badArray(value: unknown, path: string, length: number): CodedError {
  const name = path === '' ? 'value' : path;
  if (!Array.isArray(value) && !ArrayBuffer.isView(value))
    return invalidArgType(name, `an array of ${length} elements`, value);
  return outOfRange(`${name}.length`, `${length}`, (value as ArrayLike<unknown>).length);
}

/** A union given no member or more than one: a write sets exactly one member. */
export function badUnion(value: unknown, path: string, members: readonly string[]): CodedError {
  return invalidArgType(
    path === '' ? 'value' : path,
    `an object with exactly one of the union members ${members.map((m) => `"${m}"`).join(', ')}`,
    value,
  );
}
