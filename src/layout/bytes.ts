/**
 * `bytes(n)`: n raw bytes, as C's `uint8_t data[n]`, read as a Uint8Array. A read gives a copy; a live view gives
 * a Uint8Array over the record's own bytes (no copy). A write takes exactly n bytes.
 */
import { invalidArgType, outOfRange } from '../errors.js';
import { fieldPath } from './checks.js';
import { dataViewBuffer, dataViewByteLength, dataViewByteOffset, typedArrayLength } from '../intrinsics.js';
import { publicFace } from '../mapping-faces.js';
import { checkLength, type FieldType } from './field.js';

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

/**
 * A Uint8Array over `length` bytes at `offset` of `dv`, refused with the RangeError a DataView access would throw when
 * they do not lie wholly inside `dv`. Why: a Uint8Array is made over `dv.buffer`, which goes on past `dv`, and an
 * array's DataView is exactly its window (see arrayClassSource in codegen.ts), whose bounds check is the only index
 * check of `cursor.at(i)`: every access made otherwise than through `dv` must check `dv`'s bounds itself, or a record
 * past the array's end would show (or take) the bytes after it. A detached `dv` throws V8's TypeError here. The
 * engine's own getters are read (a patched DataView.prototype.byteLength cannot widen the window).
 */
export function bytesIn(dv: DataView, offset: number, length: number): Uint8Array {
  return new Uint8Array(dataViewBuffer(dv), startIn(dv, offset, length), length);
}

/** Where `length` bytes at `offset` of `dv` start in its buffer, once checked to lie inside `dv` (see bytesIn). */
function startIn(dv: DataView, offset: number, length: number): number {
  if (!(offset >= 0 && offset + length <= dataViewByteLength(dv)))
    throw new RangeError('Offset is outside the bounds of the DataView');
  return dataViewByteOffset(dv) + offset;
}

/** A copy of `length` bytes at `offset`. */
export function readBytes(dv: DataView, offset: number, length: number): Uint8Array {
  return bytesIn(dv, offset, length).slice();
}

/**
 * A live Uint8Array over `length` bytes at `offset`, handed to the program: over a mapping it is built on the public
 * face (mapping-faces.ts), which closing the mapping never detaches, so native code still working on it (zlib over
 * a record's bytes while a push grows the file) cannot end the process.
 */
export function viewBytes(dv: DataView, offset: number, length: number): Uint8Array {
  const start = startIn(dv, offset, length);
  return new Uint8Array(publicFace(dataViewBuffer(dv)), start, length);
}

/** Checks `value` for a `bytes(length)` field without writing: a Uint8Array (or Buffer) of exactly `length` bytes. */
export function bytesInput(value: unknown, length: number, path: string, key: string | number): Uint8Array {
  const name = fieldPath(path, key);
  let actual = -1;
  try {
    // The engine's own length (a subclass may override \`length\` and lie); it throws for an object that only
    // borrowed Uint8Array.prototype without being a typed array.
    if (value instanceof Uint8Array) actual = typedArrayLength(value);
  } catch {
    // not a typed array at all
  }
  if (actual === -1) throw invalidArgType(name, 'an instance of Uint8Array or Buffer', value);
  if (actual !== length) throw outOfRange(`${name}.length`, `${length} (bytes(${length}))`, actual);
  return value as Uint8Array;
}

/** Copies what `bytesInput` returned to `offset`. */
export function storeBytes(dv: DataView, offset: number, length: number, value: Uint8Array): void {
  bytesIn(dv, offset, length).set(value);
}
