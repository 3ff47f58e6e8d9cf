/**
 * `char(n)`: a fixed array of n bytes holding a string, as C's `char name[n]`. Strings are stored as UTF-8 and
 * NUL-padded; a read stops at the first NUL, and a field filled to the last byte with no NUL is valid. A string
 * whose UTF-8 form is longer than n bytes is a RangeError, never silently truncated.
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../errors.js';
import { checkWellFormed } from '../utf16.js';
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
  // After the size check: a string that fits has at most `length` code units to look at.
  checkWellFormed(value, fieldPath(path, key));
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

/** Up to this many bytes a char field is read, checked and written by code unrolled for its length (see below). */
export const SHORT_CHAR = 8;

function checkShort(length: number): void {
  if (!Number.isInteger(length) || length < 1 || length > SHORT_CHAR)
    throw new Error(`unreachable: char(${length}) is not short`);
}

/**
 * The source of `readChar<length>(dv, o)` for a char[length] field, length <= SHORT_CHAR, which codegen.ts compiles
 * into each record type that has one: it reads the bytes one by one up to the first NUL and makes the string in one
 * `fromCharCode` call of all of them, where readChar appends a character per byte (measured, one char[4] and an
 * int32 read into objects, 1e6 records: 16.4 -> 9.7 ms on Node 20, 21.3 -> 15.6 ms on Node 24). A byte of 0x80 or
 * more (UTF-8) hands the field to readChar. Same results and errors as readChar.
 */
export function shortCharReader(length: number): string {
  checkShort(length);
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
  return [`function readChar${length}(dv, o) {`, ...reads, `  return ${text(length)};`, `}`].join('\n');
}

/**
 * Statements checking `x` for a char[length] field, length <= SHORT_CHAR, as charInput does, and leaving what to
 * store: `ready` is the string itself when it is ASCII (1..127) and fits, its characters already packed into the
 * words `ready_lo` (the first four, little-endian) and `ready_hi` (the next four); anything else goes to charInput,
 * which throws its coded error or returns the UTF-8 bytes (then `ready` is a Uint8Array). One pass over the string
 * checks and packs: measured against charInput's check followed by a packing loop at the store, a checked set of
 * { char[4], int32 } went from 0.59x to 0.76x of hand-written code on Node 24 and from 0.45x to 0.63x on Node 20.
 * No `throw` here (see codegen.ts: guard): a failure is a call of charInput.
 */
export function shortCharCheck(length: number, x: string, ready: string, path: string, key: string): string {
  checkShort(length);
  const pack = (word: string, from: number, to: string): string =>
    `for (let j = ${from}; j < ${to}; j++) { const c = ${x}.charCodeAt(j); ` +
    `bad |= (c - 1) >>> 0 >= 0x7f ? 1 : 0; ${word} |= c << (8 * ${from === 0 ? 'j' : `(j - ${from})`}); }`;
  const lines = [
    `let ${ready} = ${x}, ${ready}_lo = 0${length > 4 ? `, ${ready}_hi = 0` : ''};`,
    `{ let bad = typeof ${x} !== 'string' || ${x}.length > ${length} ? 1 : 0;`,
    length > 4
      ? `  if (bad === 0) { const m = ${x}.length; ${pack(`${ready}_lo`, 0, '(m < 4 ? m : 4)')}\n` +
        `      ${pack(`${ready}_hi`, 4, 'm')} }`
      : `  if (bad === 0) ${pack(`${ready}_lo`, 0, `${x}.length`)}`,
    `  if (bad !== 0) ${ready} = charInput(${x}, ${length}, ${path}, ${key}); }`,
  ];
  return lines.join('\n    ');
}

/**
 * The statement storing what shortCharCheck left in `ready` at offset expression `o`: the packed words in 32-, 16-
 * and 8-bit stores, the one at the field's end first, so that the first store is the one that meets the end of `dv`
 * (nothing written); the bytes form (UTF-8) goes to storeChar. The bytes are those storeChar writes, NUL padding
 * included (the words hold zeros past the string).
 */
export function shortCharStore(length: number, o: string, ready: string): string {
  checkShort(length);
  const stores: string[] = [];
  let at = length;
  for (const width of [1, 2, 4]) {
    if (width < 4 && (at & width) === 0) continue;
    const count = width < 4 ? 1 : at / 4;
    for (let k = 0; k < count; k++) {
      at -= width;
      const word = at >= 4 ? `${ready}_hi` : `${ready}_lo`;
      const shift = 8 * (at % 4);
      const mask = width === 4 ? '' : ` & 0x${'ff'.repeat(width)}`;
      const value = shift === 0 ? `${word}${mask}` : `(${word} >>> ${shift})${mask}`;
      const setter = width === 1 ? 'setUint8' : width === 2 ? 'setUint16' : 'setUint32';
      stores.push(`dv.${setter}(${o}${at === 0 ? '' : ` + ${at}`}, ${value}${width > 1 ? ', true' : ''});`);
    }
  }
  return `if (typeof ${ready} === 'string') { ${stores.join(' ')} } else storeChar(dv, ${o}, ${length}, ${ready});`;
}
