/**
 * `char(n)`: a fixed array of n bytes holding a string, as C's `char name[n]`. Strings are stored as UTF-8 and
 * NUL-padded; a read stops at the first NUL, and a field filled to the last byte with no NUL is valid. A string
 * whose UTF-8 form is longer than n bytes is a RangeError, never silently truncated.
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { fieldPath } from './checks.js';
import { bytesIn } from './bytes.js';
import { checkLength, type FieldType } from './field.js';

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
  const bytes = bytesIn(dv, offset, length);
  const end = bytes.indexOf(0);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

/**
 * Checks `value` for a `char[length]` field without writing anything: returns the string itself when it is ASCII
 * and fits (the common case, written byte by byte), else its UTF-8 bytes. Throws for anything that does not fit.
 */
export function charInput(value: unknown, length: number, path: string, key: string | number): string | Uint8Array {
  if (typeof value !== 'string') throw invalidArgType(fieldPath(path, key), 'of type string', value);
  const chars = value.length;
  // UTF-8 never takes fewer bytes than UTF-16 code units, so a string with more units than bytes cannot fit.
  if (chars <= length) {
    let i = 0;
    while (i < chars && (value.charCodeAt(i) - 1) >>> 0 < 0x7f) i++;
    if (i === chars) return value; // all ASCII (1..127): one byte per character
  }
  if (value.includes('\0'))
    throw invalidArgValue(
      fieldPath(path, key),
      value,
      'must not contain a NUL character (C strings end at the first NUL)',
    );
  const encoded = encoder.encode(value);
  if (encoded.length > length)
    throw outOfRange(
      fieldPath(path, key),
      `a string of at most ${length} bytes in UTF-8 (char[${length}])`,
      `${encoded.length} bytes`,
    );
  return encoded;
}

/**
 * Writes what `charInput` returned, NUL-padded to `length` bytes at `offset`, all or nothing: the string is written
 * from its last byte down, so the first store is the one that meets the end of `dv` (a RangeError, nothing written)
 * if the field does not lie wholly inside it; the bytes form goes through bytesIn, which checks first.
 */
export function storeChar(dv: DataView, offset: number, length: number, input: string | Uint8Array): void {
  if (typeof input === 'string') {
    const chars = input.length;
    for (let i = length - 1; i >= chars; i--) dv.setUint8(offset + i, 0);
    for (let i = chars - 1; i >= 0; i--) dv.setUint8(offset + i, input.charCodeAt(i));
    return;
  }
  const target = bytesIn(dv, offset, length);
  target.set(input);
  target.fill(0, input.length);
}
