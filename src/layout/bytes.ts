/**
 * `bytes(n)`: n raw bytes, as C's `uint8_t data[n]`, read as a Uint8Array. A read gives a copy; a live view gives
 * a Uint8Array over the record's own bytes (no copy). A write takes exactly n bytes.
 */
import { invalidArgType, outOfRange } from '../errors.js';
import { checkLength } from './char.js';
import { fieldPath } from './checks.js';
import type { FieldType } from './field.js';

/** A `uint8_t data[length]` field type, read as a Uint8Array. */
export interface BytesType extends FieldType<Uint8Array, Uint8Array, Uint8Array> {
  readonly kind: 'bytes';
  /** The number of bytes. */
  readonly length: number;
}

/** `uint8_t data[length]`: raw bytes, read as a Uint8Array (a copy from `read`, live from `view`). */
export function bytes(length: number): BytesType {
  checkLength(length, 'length');
  return Object.freeze({ kind: 'bytes' as const, size: length, align: 1, length });
}

/** A copy of `length` bytes at `offset`. */
export function readBytes(dv: DataView, offset: number, length: number): Uint8Array {
  return new Uint8Array(dv.buffer, dv.byteOffset + offset, length).slice();
}

/** A live Uint8Array over `length` bytes at `offset`. */
export function viewBytes(dv: DataView, offset: number, length: number): Uint8Array {
  return new Uint8Array(dv.buffer, dv.byteOffset + offset, length);
}

/** Copies exactly `length` bytes from `value` to `offset`; `path` and `key` name the field in errors. */
export function writeBytes(
  dv: DataView,
  offset: number,
  length: number,
  value: unknown,
  path: string,
  key: string | number,
): void {
  const name = fieldPath(path, key);
  if (!(value instanceof Uint8Array)) throw invalidArgType(name, 'an instance of Uint8Array or Buffer', value);
  if (value.length !== length) throw outOfRange(`${name}.length`, `${length} (bytes(${length}))`, value.length);
  new Uint8Array(dv.buffer, dv.byteOffset + offset, length).set(value);
}
