/**
 * char(n): up to SHORT_CHAR bytes every record type compiles code unrolled for its length (shortCharReader,
 * shortCharCheck, shortCharStore in char.ts). It must give what C's semantics and the shared loops give, byte for
 * byte: a read stops at the first NUL and decodes UTF-8; a write stores the string NUL-padded and touches no byte
 * outside the field; a bad value gets charInput's coded error. The oracles here are TextDecoder/TextEncoder over the
 * raw bytes, and the shared readChar/storeChar/charInput.
 */
import { describe, expect, it } from 'vitest';
import { generatedSource } from '../../src/layout/codegen.js';
import { charInput, readChar, SHORT_CHAR, storeChar } from '../../src/layout/char.js';
import { char, struct, uint8 } from '../../src/layout/index.js';
import { codeOf } from '../helpers/thrown.js';

const CANARY = 0xee;
/** Bytes a field may hold: NUL, ASCII at both ends, and UTF-8 pieces (é, €, a lone continuation byte, 0xff). */
const ALPHABET = [0x00, 0x01, 0x61, 0x7f, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0x80, 0xff];
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** What C's semantics say a char field of these bytes reads as. */
function expectedText(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

/** A deterministic pseudo-random sequence (the test must fail the same way every run). */
function random(seed: number): () => number {
  let state = seed;
  return () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0), state);
}

/** Every length up to SHORT_CHAR (its own code) and two past it (the shared loops), as a field between two bytes. */
const lengths = Array.from({ length: SHORT_CHAR + 2 }, (_, i) => i + 1);
const typeOf = (n: number) => struct({ before: uint8, text: char(n), after: uint8 });

describe('char(n) unrolled per length', () => {
  it('is compiled into the type for n <= SHORT_CHAR only', () => {
    for (const n of lengths) {
      const source = generatedSource(typeOf(n));
      expect([n, source.includes(`function readChar${n}(`)]).toEqual([n, n <= SHORT_CHAR]);
      // The check packs the characters into words the store writes: no storeChar call for an ASCII string.
      expect([n, source.includes(`r1_lo |= c`)]).toEqual([n, n <= SHORT_CHAR]);
    }
  });

  it('reads every byte pattern as C and UTF-8 say, through read, get, a view and a cursor', () => {
    for (const n of lengths) {
      const Type = typeOf(n);
      const next = random(n);
      const count = 400;
      const buf = Buffer.alloc(count * Type.size);
      const records = Type.array(buf);
      const fields: Uint8Array[] = [];
      for (let r = 0; r < count; r++) {
        // Patterns with the NUL at every position (or none), over ASCII and non-ASCII bytes.
        const field = Uint8Array.from({ length: n }, () => ALPHABET[next() % ALPHABET.length]!);
        if (r % 3 === 0) field.fill(0x61, 0, r % (n + 1)).fill(0, r % (n + 1));
        buf.set(field, r * Type.size + 1);
        fields.push(field);
      }
      const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const cursor = records.cursor();
      for (let r = 0; r < count; r++) {
        const want = expectedText(fields[r]!);
        const got = [
          Type.read(buf, r * Type.size).text,
          records.get(r).text,
          records.at(r).text,
          cursor.at(r).text,
          readChar(dv, r * Type.size + 1, n),
        ];
        if (got.some((text) => text !== want))
          expect.fail(`char(${n}) [${[...fields[r]!].join(',')}]: ${JSON.stringify(got)}, want ${want}`);
      }
    }
  });

  it('writes every string that fits, NUL-padded, through set, write, a view and a cursor, and nothing else', () => {
    const strings = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh', 'abcdefghi', '\x7f\x01'];
    const unicode = ['é', 'aé', '€', 'a€', 'é€', 'ab€', '€€', '𝄞', 'a𝄞', 'aé€b'];
    for (const n of lengths) {
      const Type = typeOf(n);
      const fitting = [...strings, ...unicode].filter((s) => encoder.encode(s).length <= n);
      const writers: [string, (buf: Buffer, s: string) => void][] = [
        ['set', (buf, s) => Type.array(buf.subarray(0, Type.size)).set(0, { before: 1, text: s, after: 2 })],
        ['write', (buf, s) => Type.write(buf.subarray(0, Type.size), 0, { before: 1, text: s, after: 2 })],
        ['view', (buf, s) => void (Type.array(buf.subarray(0, Type.size)).at(0).text = s)],
        ['cursor', (buf, s) => void (Type.array(buf.subarray(0, Type.size)).cursor().at(0).text = s)],
      ];
      for (const s of fitting)
        for (const [how, write] of writers) {
          // Start from a field full of a byte that is not NUL: every byte the string leaves must become 0.
          const buf = Buffer.alloc(Type.size + 4, CANARY);
          write(buf, s);
          const want = new Uint8Array(n);
          want.set(encoder.encode(s));
          const field = [...buf.subarray(1, 1 + n)];
          if (field.join() !== [...want].join()) expect.fail(`${how} char(${n}) ${JSON.stringify(s)}: ${field.join()}`);
          // The bytes after the record are untouched (the byte before and after the field are the record's own).
          expect([how, n, s, [...buf.subarray(Type.size)]]).toEqual([how, n, s, [CANARY, CANARY, CANARY, CANARY]]);
          expect(Type.read(buf.subarray(0, Type.size), 0).text).toBe(s);
          // The shared loop writes the same bytes.
          const other = Buffer.alloc(n, CANARY);
          storeChar(new DataView(other.buffer, other.byteOffset, n), 0, n, charInput(s, n, 'value', 'text'));
          expect([how, n, s, [...other]]).toEqual([how, n, s, field]);
        }
    }
  });

  it('writes nothing when the string does not fit, and nothing past the end of the array', () => {
    for (const n of lengths) {
      const Type = typeOf(n);
      const buf = Buffer.alloc(Type.size * 2, CANARY);
      const records = Type.array(buf.subarray(0, Type.size));
      const before = [...buf];
      expect(codeOf(() => records.set(0, { before: 1, text: 'x'.repeat(n + 1), after: 2 }))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => (records.at(0).text = 'é'.repeat(n)))).toBe('ERR_OUT_OF_RANGE');
      // Each refusal of charInput, met by the unrolled check at every position of the string.
      for (let at = 0; at < n; at++) {
        const nul = `${'a'.repeat(at)}\0`;
        expect([n, at, codeOf(() => records.set(0, { before: 1, text: nul, after: 2 }))]).toEqual([
          n,
          at,
          'ERR_INVALID_ARG_VALUE',
        ]);
        expect([n, at, codeOf(() => (records.at(0).text = nul))]).toEqual([n, at, 'ERR_INVALID_ARG_VALUE']);
        const tooLong = `${'a'.repeat(at)}${'é'.repeat(n)}`;
        expect([
          n,
          at,
          codeOf(() => Type.write(buf.subarray(0, Type.size), 0, { before: 1, text: tooLong, after: 2 })),
        ]).toEqual([n, at, 'ERR_OUT_OF_RANGE']);
      }
      for (const bad of [42, null, undefined, { length: 1 }, ['a'], 1n, Symbol('s')])
        expect([n, typeof bad, codeOf(() => records.set(0, { before: 1, text: bad as never, after: 2 }))]).toEqual([
          n,
          typeof bad,
          'ERR_INVALID_ARG_TYPE',
        ]);
      // A cursor past the end: found by the DataView's bounds check at the first store, which is the field's last.
      expect(codeOf(() => (records.cursor().at(1).text = 'a'))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => records.cursor().at(1).text)).toBe('ERR_OUT_OF_RANGE');
      expect([n, [...buf]]).toEqual([n, before]);
    }
  });

  it('refuses a lone surrogate (no UTF-8 form) with ERR_INVALID_ARG_VALUE, and writes a surrogate pair', () => {
    // TextEncoder would store U+FFFD (EF BF BD) in its place, and the string read back would not be the one written.
    for (const n of lengths) {
      const Type = typeOf(n);
      const buf = Buffer.alloc(Type.size, CANARY);
      const records = Type.array(buf);
      const before = [...buf];
      const lone = ['\ud800', '\udc00', 'a\ud83d', '\ude00a', '\ude00\ud83d', '\ud83d\ude00\ud800'].filter(
        (t) => encoder.encode(t).length <= n,
      );
      for (const text of lone) {
        expect([n, text, codeOf(() => records.set(0, { before: 1, text, after: 2 }))]).toEqual([
          n,
          text,
          'ERR_INVALID_ARG_VALUE',
        ]);
        expect([n, text, codeOf(() => (records.at(0).text = text))]).toEqual([n, text, 'ERR_INVALID_ARG_VALUE']);
        expect([n, text, codeOf(() => Type.write(buf, 0, { before: 1, text, after: 2 }))]).toEqual([
          n,
          text,
          'ERR_INVALID_ARG_VALUE',
        ]);
      }
      expect([n, [...buf]]).toEqual([n, before]);
      if (n >= 4) {
        records.set(0, { before: 1, text: '\ud83d\ude00', after: 2 }); // one code point, 4 bytes of UTF-8
        expect(records.get(0).text).toBe('\ud83d\ude00');
      }
    }
    expect(() => charInput('\ud800', 8, 'value', 'text')).toThrow(/lone surrogate at index 0/);
  });

  it('throws ERR_DETACHED_BUFFER over a detached buffer, reading and writing', () => {
    for (const n of lengths) {
      const Type = typeOf(n);
      const ab = new ArrayBuffer(Type.size);
      const records = Type.array(new Uint8Array(ab));
      const view = records.at(0);
      structuredClone(ab, { transfer: [ab] });
      expect([n, codeOf(() => view.text)]).toEqual([n, 'ERR_DETACHED_BUFFER']);
      expect([n, codeOf(() => (view.text = 'a'))]).toEqual([n, 'ERR_DETACHED_BUFFER']);
      expect([n, codeOf(() => records.get(0))]).toEqual([n, 'ERR_DETACHED_BUFFER']);
    }
  });
});
