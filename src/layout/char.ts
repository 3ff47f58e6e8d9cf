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
/** The engine's own, bound at load: a program that patches String.fromCharCode does not change what a read returns. */
export const fromCharCode = String.fromCharCode;

/** Reads a NUL-terminated (or full) string of at most `length` bytes at `offset`. */
export function readChar(dv: DataView, offset: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) {
    const byte = dv.getUint8(offset + i);
    if (byte === 0) return text;
    // ASCII is the common case and needs no decoder; anything else is decoded as UTF-8 from here on.
    if (byte >= 0x80) return text + decodeFrom(dv, offset + i, length - i);
    text += fromCharCode(byte);
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

/** Up to this many bytes a char field has a reader and a writer of its own length, unrolled (see shortCharSource). */
export const SHORT_CHAR = 8;

/**
 * The source of two functions for a char[length] field, length <= SHORT_CHAR, that codegen.ts compiles into each
 * record type that has one: `readChar<length>(dv, o)` reads the bytes one by one up to the first NUL and makes the
 * string in one `fromCharCode` call of all of them, where readChar appends a character per byte (measured, one
 * char[4] and an int32 read into objects, 1e6 records: 16.4 -> 9.7 ms on Node 20, 21.3 -> 15.6 ms on Node 24);
 * a byte of 0x80 or more (UTF-8) hands the field to readChar. `storeChar<length>(dv, o, input)` writes an ASCII
 * string (what charInput returns when it fits) in 32-, 16- and 8-bit stores of its characters packed together, the
 * one at the field's end first, so that the first store is the one that meets the end of `dv` (nothing written); the
 * bytes form (UTF-8) goes to storeChar. Same results and errors as readChar and storeChar, byte for byte.
 */
export function shortCharSource(length: number): string {
  if (!Number.isInteger(length) || length < 1 || length > SHORT_CHAR)
    throw new Error(`unreachable: char(${length}) is not short`);
  const bytes = Array.from({ length }, (_, i) => `b${i}`);
  const text = (count: number): string => {
    if (count === 0) return "''";
    const all = bytes.slice(0, count);
    const ascii = count === 1 ? 'b0 < 0x80' : `(${all.join(' | ')}) < 0x80`;
    return `${ascii} ? fromCharCode(${all.join(', ')}) : readChar(dv, o, ${length})`;
  };
  const reads = bytes.map((b, i) => {
    const read = `const ${b} = dv.getUint8(o${i === 0 ? '' : ` + ${i}`});`;
    return `  ${read}\n  if (${b} === 0) return ${text(i)};`;
  });
  // The characters packed into 32-bit words, `lo` the first four and `hi` the next (at most SHORT_CHAR = 8): a loop
  // over the string's own length: an unrolled `i < n ? s.charCodeAt(i) : 0` per byte made a checked set 1.4x slower on Node 20.
  const words = [`  let lo = 0;\n  for (let j = 0; j < n && j < 4; j++) lo |= s.charCodeAt(j) << (8 * j);`];
  if (length > 4) words.push(`  let hi = 0;\n  for (let j = 4; j < n; j++) hi |= s.charCodeAt(j) << (8 * (j - 4));`);
  // The stores, from the field's end down: an 8-bit one, a 16-bit one and 32-bit ones, as the length needs.
  const stores: string[] = [];
  let at = length;
  for (const width of [1, 2, 4]) {
    if (width < 4 && (at & width) === 0) continue;
    const count = width < 4 ? 1 : at / 4;
    for (let k = 0; k < count; k++) {
      at -= width;
      const word = at >= 4 ? 'hi' : 'lo';
      const shift = 8 * (at % 4);
      const mask = width === 4 ? '' : ` & 0x${'ff'.repeat(width)}`;
      const value = shift === 0 ? `${word}${mask}` : `(${word} >>> ${shift})${mask}`;
      const setter = width === 1 ? 'setUint8' : width === 2 ? 'setUint16' : 'setUint32';
      stores.push(`  dv.${setter}(o${at === 0 ? '' : ` + ${at}`}, ${value}${width > 1 ? ', true' : ''});`);
    }
  }
  return [
    `function readChar${length}(dv, o) {`,
    ...reads,
    `  return ${text(length)};`,
    `}`,
    `function storeChar${length}(dv, o, s) {`,
    `  if (typeof s !== 'string') { storeChar(dv, o, ${length}, s); return; }`,
    `  const n = s.length;`,
    ...words,
    ...stores,
    `}`,
  ].join('\n');
}
