/**
 * `char(n)`: a fixed array of n bytes holding a string, as C's `char name[n]`. Strings are stored as UTF-8 and
 * NUL-padded; a read stops at the first NUL, and a field filled to the last byte with no NUL is valid. A string
 * whose UTF-8 form is longer than n bytes is a RangeError, never silently truncated.
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { fieldPath } from './checks.js';
import type { FieldType } from './field.js';

/** A `char name[length]` field type, read as a string. */
export interface CharType extends FieldType<string, string, string> {
  readonly kind: 'char';
  /** The number of bytes, NUL padding included. */
  readonly length: number;
}

/** `char name[length]`: a NUL-padded string of at most `length` UTF-8 bytes. */
export function char(length: number): CharType {
  checkLength(length, 'length');
  return Object.freeze({ kind: 'char' as const, size: length, align: 1, length });
}

/** Checks the element count of a fixed-size type: an integer from 1 (C has no zero-length arrays). */
export function checkLength(length: unknown, name: string): asserts length is number {
  if (typeof length !== 'number') throw invalidArgType(name, 'of type number', length);
  if (!Number.isInteger(length) || length < 1 || length > 0x7fffffff)
    throw outOfRange(name, 'an integer >= 1 && <= 2147483647', length);
}

const decoder = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** Reads a NUL-terminated (or full) string of at most `length` bytes at `offset`. */
export function readChar(dv: DataView, offset: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) {
    const byte = dv.getUint8(offset + i);
    if (byte === 0) return text;
    // ASCII is the common case and needs no decoder; anything else is decoded as UTF-8 from here on.
    if (byte >= 0x80) return text + decodeFrom(dv, offset + i, length - i);
    text += String.fromCharCode(byte);
  }
  return text;
}

function decodeFrom(dv: DataView, offset: number, length: number): string {
  const bytes = new Uint8Array(dv.buffer, dv.byteOffset + offset, length);
  const end = bytes.indexOf(0);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

/** Writes `value` NUL-padded into `length` bytes at `offset`; `path` and `key` name the field in errors. */
export function writeChar(
  dv: DataView,
  offset: number,
  length: number,
  value: unknown,
  path: string,
  key: string | number,
): void {
  if (typeof value !== 'string') throw invalidArgType(fieldPath(path, key), 'of type string', value);
  const chars = value.length;
  // UTF-8 never takes fewer bytes than UTF-16 code units, so a string with more units than bytes cannot fit.
  if (chars <= length) {
    // Check first, write after: a rejected string leaves the field as it was.
    let i = 0;
    while (i < chars && (value.charCodeAt(i) - 1) >>> 0 < 0x7f) i++;
    if (i === chars) {
      // All ASCII (1..127): one byte per character; NUL-pad the rest.
      for (i = 0; i < chars; i++) dv.setUint8(offset + i, value.charCodeAt(i));
      for (; i < length; i++) dv.setUint8(offset + i, 0);
      return;
    }
  }
  // Not ASCII (or too long): encode, check, then write the whole field again.
  if (value.includes('\0'))
    throw invalidArgValue(fieldPath(path, key), value, 'must not contain a NUL character (C strings end at the first NUL)');
  const encoded = encoder.encode(value);
  if (encoded.length > length)
    throw outOfRange(fieldPath(path, key), `a string of at most ${length} bytes in UTF-8 (char[${length}])`, `${encoded.length} bytes`);
  const target = new Uint8Array(dv.buffer, dv.byteOffset + offset, length);
  target.set(encoded);
  target.fill(0, encoded.length);
}
