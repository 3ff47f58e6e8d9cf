/**
 * `cursor.at(i)` checks only that i is an integer in [0, 2^32): an index past the end of the array is found by the
 * bounds check of the array's own DataView (exactly its window) at the view's first access. So the bytes after the
 * array, which its ArrayBuffer goes on to hold, must stay out of reach of every accessor, also of those that read
 * or write otherwise than through a DataView access (Uint8Arrays over the buffer, copies, nested views and arrays).
 * Every array here lies inside a bigger buffer whose other bytes hold a canary pattern: no access to a record past
 * the end may return a canary byte or change one, and each throws a coded error.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  array,
  bool,
  bytes,
  char,
  float32,
  float64,
  int16,
  int32,
  int64,
  int8,
  struct,
  uint16,
  uint64,
  uint8,
  union,
  type StructArray,
} from '../../src/layout/index.js';
import { bytesIn, readBytes, storeBytes, viewBytes } from '../../src/layout/bytes.js';
import { readChar, storeChar } from '../../src/layout/char.js';
import { RecordFile } from '../../src/index.js';
import { codeOf, thrown } from '../helpers/thrown.js';
import { useTempDir } from '../helpers/temp.js';

const tmp = useTempDir();

const Inner = struct({ x: int16, y: uint8 });
const Either = union({ small: uint8, big: int32, pair: Inner });
/** One member of every kind. */
const Full = struct({
  i8: int8,
  u16: uint16,
  i32: int32,
  f32: float32,
  f64: float64,
  i64: int64,
  u64: uint64,
  flag: bool,
  name: char(6),
  blob: bytes(5),
  inner: Inner,
  list: array(int32, 3),
  pairs: array(Inner, 2),
  words: array(char(3), 2),
  chunks: array(bytes(2), 2),
  either: Either,
});
type FullView = ReturnType<StructArray<typeof Full>['at']>;
/** A record holding an array of Full, with bytes after it (in the same record) that hold the canary. */
const Holder = struct({ items: array(Full, 2), tail: bytes(64) });

const CANARY = 0xa5;

function value(seed: number) {
  return {
    i8: -seed,
    u16: seed * 3,
    i32: -seed * 1000,
    f32: seed + 0.5,
    f64: seed / 3,
    i64: BigInt(-seed) * 10n ** 12n,
    u64: BigInt(seed) * 10n ** 15n,
    flag: seed % 2 === 1,
    name: `n${seed}`,
    blob: new Uint8Array([seed, 1, 2, 3, 4]),
    inner: { x: -seed, y: seed },
    list: [seed, seed + 1, seed + 2],
    pairs: [
      { x: 1, y: 2 },
      { x: 3, y: seed },
    ],
    words: ['ab', `c${seed % 10}`],
    chunks: [new Uint8Array([1, 2]), new Uint8Array([3, seed])],
    either: { big: seed },
  };
}

/** A value for each setter of a Full view (scalars and char members have setters). */
const setterValues: Record<string, unknown> = {
  i8: 1,
  u16: 2,
  i32: 3,
  f32: 4,
  f64: 5,
  i64: 6n,
  u64: 7n,
  flag: true,
  name: 'zz',
};

/**
 * The arrays under attack, each inside a buffer full of canaries, and its records written with real values: Full's
 * own array at an offset of a bigger buffer, over a typed array with a byteOffset, a subarray() of such an array (the
 * records of the parent outside it hold canaries), and an array member of a Holder record (the Holder's `tail`
 * after it holds canaries).
 */
function scenarios(): { name: string; bytes: Uint8Array; records: StructArray<typeof Full> }[] {
  const size = Full.size;
  const made: { name: string; bytes: Uint8Array; records: StructArray<typeof Full> }[] = [];

  const top = new Uint8Array(size * 8).fill(CANARY);
  made.push({
    name: 'window of a bigger buffer',
    bytes: top,
    records: Full.array(top, { offset: size * 2, length: 3 }),
  });

  const backing = new ArrayBuffer(size * 6 + 24);
  const typed = new Uint8Array(backing, 24, size * 2);
  new Uint8Array(backing).fill(CANARY);
  made.push({ name: 'typed array with a byteOffset', bytes: new Uint8Array(backing), records: Full.array(typed) });

  const parentBytes = new Uint8Array(size * 9).fill(CANARY);
  const parent = Full.array(parentBytes, { offset: size, length: 6 });
  made.push({ name: 'subarray() of an array', bytes: parentBytes, records: parent.subarray(2, 4) });

  const holderBytes = new Uint8Array(Holder.size * 3).fill(CANARY);
  const holders = Holder.array(holderBytes);
  made.push({ name: 'array member of a record', bytes: holderBytes, records: holders.at(1).items });

  for (const { records } of made) for (let i = 0; i < records.length; i++) records.set(i, value(i + 1));
  return made;
}

function firstScenario(): ReturnType<typeof scenarios>[number] {
  const [first] = scenarios();
  if (first === undefined) throw new Error('no scenario');
  return first;
}

/** Every byte of `bytes` that is not one of `records`' bytes must still be the canary. */
function expectCanariesIntact(bytes: Uint8Array, records: StructArray<typeof Full>): void {
  const start = records.byteOffset - bytes.byteOffset;
  const end = start + records.byteLength;
  for (let i = 0; i < bytes.length; i++) {
    if (i >= start && i < end) continue;
    if (bytes[i] !== CANARY) expect.fail(`canary byte ${i} (array at [${start}, ${end})) is ${bytes[i]}`);
  }
}

/** Asserts that `view` (of a record past the end) refuses every access with a coded error and shows nothing. */
function expectNoAccess(view: FullView, index: number, length: number): void {
  for (const field of Full.fields) {
    const error = thrown(() => (view as unknown as Record<string, unknown>)[field.name]);
    expect([field.name, error.code]).toEqual([field.name, 'ERR_OUT_OF_RANGE']);
    expect(error).toBeInstanceOf(RangeError);
    // It names the index and the length.
    expect(error.message).toContain(`Received ${index}`);
    expect(error.message).toContain(`< ${length}`);
  }
  for (const [name, given] of Object.entries(setterValues)) {
    expect([name, codeOf(() => ((view as unknown as Record<string, unknown>)[name] = given))]).toEqual([
      name,
      'ERR_OUT_OF_RANGE',
    ]);
  }
  expect(codeOf(() => view.toJSON())).toBe('ERR_OUT_OF_RANGE');
  expect(codeOf(() => JSON.stringify(view))).toBe('ERR_OUT_OF_RANGE');
  expect(codeOf(() => JSON.stringify({ wrapped: [view] }))).toBe('ERR_OUT_OF_RANGE');
  expect(inspect(view)).toBe('[record out of range]');
  expect(codeOf(() => new Proxy(view, {}).i32)).toBe('ERR_INVALID_THIS');
  // Nothing leaks through the object itself: its accessors are on the prototype.
  expect(Object.keys(view)).toEqual([]);
  expect({ ...view }).toEqual({});
}

/** The same, given as the VALUE to every write that takes a view of the type: each throws before any byte changes. */
function expectRefusedAsValue(view: FullView, records: StructArray<typeof Full>): void {
  expect(codeOf(() => records.set(0, view))).toBe('ERR_OUT_OF_RANGE');
  expect(codeOf(() => records.fill(view as never))).toBe('ERR_OUT_OF_RANGE');
  const elsewhere = Buffer.alloc(Full.size * 2, CANARY);
  expect(codeOf(() => Full.write(elsewhere, Full.size, view as never))).toBe('ERR_OUT_OF_RANGE');
  expect(codeOf(() => Full.array(elsewhere).set(1, view))).toBe('ERR_OUT_OF_RANGE');
  // as a nested value: an element of an array member, in a scratch-built record
  const holder = Holder.array(Buffer.alloc(Holder.size, CANARY));
  expect(codeOf(() => holder.set(0, { items: [value(1), view], tail: new Uint8Array(64) } as never))).toBe(
    'ERR_OUT_OF_RANGE',
  );
  expect(codeOf(() => holder.at(0).items.set(1, view))).toBe('ERR_OUT_OF_RANGE');
  expect(elsewhere.every((byte) => byte === CANARY)).toBe(true);
  expect(holder.at(0).tail.every((byte) => byte === CANARY)).toBe(true);
}

const pastTheEnd = (length: number): number[] => [length, length + 1, length + 1000, 2 ** 31, 2 ** 32 - 1];

describe('a record past the end of its array, reached by cursor.at(i)', () => {
  it('throws ERR_OUT_OF_RANGE at its first access, from every accessor, and no canary is read or written', () => {
    for (const { name, bytes, records } of scenarios()) {
      const before = Uint8Array.from(bytes);
      const length = records.length;
      const cursor = records.cursor();
      for (const index of pastTheEnd(length)) {
        const view = cursor.at(index);
        expectNoAccess(view, index, length);
        expectRefusedAsValue(view, records);
      }
      // every record in range still reads, and nothing changed anywhere
      for (let i = 0; i < length; i++) expect(cursor.at(i).toJSON()).toEqual(records.get(i));
      expect([name, Buffer.from(bytes).equals(Buffer.from(before))]).toEqual([name, true]);
      expectCanariesIntact(bytes, records);
    }
  });

  it('a view moved past the end and back works again; one moved past the end never shows the last record', () => {
    for (const { records } of scenarios()) {
      const cursor = records.cursor();
      const view = cursor.at(records.length - 1);
      const last = view.toJSON();
      cursor.at(records.length);
      expect(codeOf(() => view.i32)).toBe('ERR_OUT_OF_RANGE');
      cursor.at(records.length - 1);
      expect(view.toJSON()).toEqual(last);
    }
  });

  it('non-integers, negatives and non-numbers are refused at the call, with the cursor left where it was', () => {
    const { records } = firstScenario();
    const cursor = records.cursor();
    const view = cursor.at(1);
    for (const index of [-1, -0.5, 0.5, NaN, Infinity, -Infinity, 2 ** 32, 2 ** 53, '0', null, undefined, {}]) {
      expect(codeOf(() => cursor.at(index as never))).toBe('ERR_OUT_OF_RANGE');
    }
    expect(view.i32).toBe(records.get(1).i32);
    expect(cursor.at(-0).i32).toBe(records.get(0).i32); // -0 is index 0, as Array#at has it
  });

  it('members of a record in range stay inside the record: its arrays and bytes end where the member does', () => {
    for (const { bytes, records } of scenarios()) {
      const before = Uint8Array.from(bytes);
      const view = records.cursor().at(records.length - 1);
      // an array member's cursor past its end: the bytes after it are the next member's, not the array's
      expect(codeOf(() => view.list.cursor().at(3))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => view.list.cursor().at(2 ** 31))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => view.words.cursor().at(2))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => view.chunks.cursor().at(2))).toBe('ERR_OUT_OF_RANGE');
      const pair = view.pairs.cursor().at(2);
      expectPairRefused(pair);
      expect(codeOf(() => view.pairs.at(2))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => view.list.get(3))).toBe('ERR_OUT_OF_RANGE');
      // a bytes member is a Uint8Array of exactly its length
      expect(view.blob.length).toBe(5);
      expect(view.blob[5]).toBeUndefined();
      expect(view.chunks.at(1).length).toBe(2);
      // a subarray of a member array is a window of its own
      const sub = view.pairs.subarray(0, 1);
      expectPairRefused(sub.cursor().at(1));
      expect(Buffer.from(bytes).equals(Buffer.from(before))).toBe(true);
    }
  });
});

function expectPairRefused(pair: { x: number; y: number; toJSON(): unknown }): void {
  expect(codeOf(() => pair.x)).toBe('ERR_OUT_OF_RANGE');
  expect(codeOf(() => pair.y)).toBe('ERR_OUT_OF_RANGE');
  expect(codeOf(() => (pair.x = 1))).toBe('ERR_OUT_OF_RANGE');
  expect(codeOf(() => pair.toJSON())).toBe('ERR_OUT_OF_RANGE');
}

describe('at(i), get, set and the other methods keep their eager checks', () => {
  it('at(i) past the end or before the start throws at the call', () => {
    for (const { bytes, records } of scenarios()) {
      const before = Uint8Array.from(bytes);
      const length = records.length;
      for (const index of [...pastTheEnd(length), -length - 1, 0.5, NaN]) {
        expect(codeOf(() => records.at(index))).toBe('ERR_OUT_OF_RANGE');
        expect(codeOf(() => records.get(index))).toBe('ERR_OUT_OF_RANGE');
        expect(codeOf(() => records.set(index, value(9)))).toBe('ERR_OUT_OF_RANGE');
      }
      expect(records.at(-length).toJSON()).toEqual(records.get(0));
      expect(records.toArray()).toHaveLength(length);
      expect([...records].length).toBe(length);
      let visited = 0;
      records.forEach(() => visited++);
      expect(visited).toBe(length);
      expect(records.subarray(length - 1, length + 5).length).toBe(1);
      expect(records.subarray(length + 5).length).toBe(0);
      expect(
        codeOf(
          () =>
            records
              .subarray(length + 5)
              .cursor()
              .at(0).i32,
        ),
      ).toBe('ERR_OUT_OF_RANGE');
      expect(Buffer.from(bytes).equals(Buffer.from(before))).toBe(true);
      expectCanariesIntact(bytes, records);
    }
  });

  it('an empty array: every cursor position is past the end', () => {
    const bytes = new Uint8Array(Full.size * 2).fill(CANARY);
    const empty = Full.array(bytes, { offset: Full.size, length: 0 });
    expectNoAccess(empty.cursor().at(0), 0, 0);
    expect(bytes.every((byte) => byte === CANARY)).toBe(true);
  });
});

describe('a patched DataView.prototype cannot widen a window', () => {
  it('byteLength, byteOffset and buffer getters that lie are never asked', () => {
    const { bytes, records } = firstScenario();
    const before = Uint8Array.from(bytes);
    const prototype = DataView.prototype;
    const saved = ['byteLength', 'byteOffset', 'buffer'].map(
      (name) => [name, Object.getOwnPropertyDescriptor(prototype, name)] as const,
    );
    const elsewhere = new ArrayBuffer(1 << 16);
    Object.defineProperty(prototype, 'byteLength', { get: () => 1 << 16, configurable: true });
    Object.defineProperty(prototype, 'byteOffset', { get: () => 0, configurable: true });
    Object.defineProperty(prototype, 'buffer', { get: () => elsewhere, configurable: true });
    try {
      const view = records.cursor().at(records.length);
      expectNoAccess(view, records.length, records.length);
      expectRefusedAsValue(view, records);
      const last = records.cursor().at(records.length - 1);
      expect(codeOf(() => last.list.cursor().at(3))).toBe('ERR_OUT_OF_RANGE');
      expect(last.blob).toEqual(records.get(records.length - 1).blob);
    } finally {
      for (const [name, descriptor] of saved) if (descriptor) Object.defineProperty(prototype, name, descriptor);
    }
    expect(Buffer.from(bytes).equals(Buffer.from(before))).toBe(true);
    expectCanariesIntact(bytes, records);
  });
});

describe('a record file refuses a view past the end given as the value', () => {
  it('push and set of such a view throw before anything is written', () => {
    const path = tmp('lazy.db');
    const db = RecordFile.open(path, Full, { mode: 'w+' });
    try {
      db.push(value(1));
      const { records } = firstScenario();
      const view = records.cursor().at(records.length);
      expect(codeOf(() => db.push(view as never))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => db.set(0, view as never))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => db.pushMany([value(2), view as never]))).toBe('ERR_OUT_OF_RANGE');
      expect(db.length).toBe(2); // pushMany appends the values before the rejected one
      expect(db.toArray()).toEqual([Full.read(encode(value(1))), Full.read(encode(value(2)))]);
      expect(codeOf(() => db.at(2))).toBe('ERR_OUT_OF_RANGE');
    } finally {
      db.close();
    }
  });
});

function encode(given: ReturnType<typeof value>): Buffer {
  const out = Buffer.alloc(Full.size);
  Full.write(out, 0, given);
  return out;
}

describe('a detached buffer is still ERR_DETACHED_BUFFER, in range or past the end', () => {
  it('every access of a cursor view, a member and a value copy', () => {
    const ab = new ArrayBuffer(Full.size * 4);
    const records = Full.array(ab, { offset: Full.size, length: 2 });
    records.set(0, value(1));
    const cursor = records.cursor();
    const taken = records.at(0);
    const list = taken.list;
    structuredClone(ab, { transfer: [ab] });
    for (const view of [cursor.at(0), cursor.at(2), cursor.at(2 ** 31), taken]) {
      for (const field of Full.fields) {
        if (field.type.kind === 'array') continue; // an array member is made without an access: below
        expect([field.name, codeOf(() => (view as unknown as Record<string, unknown>)[field.name])]).toEqual([
          field.name,
          'ERR_DETACHED_BUFFER',
        ]);
      }
      // An array member of a detached record is still made (as before), and every access through it throws.
      const members = { list: view.list, pairs: view.pairs, words: view.words, chunks: view.chunks };
      for (const [name, member] of Object.entries(members) as [string, StructArray<never>][]) {
        expect(codeOf(() => member.get(0))).toBe('ERR_DETACHED_BUFFER');
        // a record element's cursor view is made without an access; a scalar's, a string's or bytes' value is read
        if (name !== 'pairs') expect(codeOf(() => member.cursor().at(0))).toBe('ERR_DETACHED_BUFFER');
        expect(codeOf(() => member.toArray())).toBe('ERR_DETACHED_BUFFER');
        expect(codeOf(() => member.byteOffset)).toBe('ERR_DETACHED_BUFFER');
      }
      expect(codeOf(() => view.pairs.cursor().at(5).x)).toBe('ERR_DETACHED_BUFFER');
      expect(codeOf(() => (view.i32 = 1))).toBe('ERR_DETACHED_BUFFER');
      expect(codeOf(() => (view.name = 'x'))).toBe('ERR_DETACHED_BUFFER');
      expect(codeOf(() => view.toJSON())).toBe('ERR_DETACHED_BUFFER');
      expect(inspect(view)).toBe('[detached record]');
      expect(codeOf(() => Full.write(Buffer.alloc(Full.size), 0, view as never))).toBe('ERR_DETACHED_BUFFER');
    }
    expect(codeOf(() => list.cursor().at(0))).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => list.cursor().at(5))).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => records.subarray(1).cursor().at(0).i32)).toBe('ERR_DETACHED_BUFFER');
  });
});

describe('the bytes helpers check the DataView they are given, not its buffer', () => {
  // A DataView whose end falls inside a field: the public API never makes one (records are wholly inside or wholly
  // outside an array's window), but every helper refuses it whole, and a refused store writes nothing.
  const backing = new Uint8Array(32).fill(CANARY);
  const dv = new DataView(backing.buffer, 8, 10); // bytes [8, 18) of the buffer

  it('reads and live views: a RangeError, never the bytes after the DataView', () => {
    expect(() => readBytes(dv, 6, 5)).toThrow(RangeError);
    expect(() => viewBytes(dv, 6, 5)).toThrow(RangeError);
    expect(() => bytesIn(dv, 10, 1)).toThrow(RangeError);
    expect(() => bytesIn(dv, -1, 1)).toThrow(RangeError);
    expect(viewBytes(dv, 5, 5).byteOffset).toBe(13);
    // a char field across the end: the bytes inside hold no NUL, so the read reaches the end and throws
    expect(() => readChar(dv, 7, 5)).toThrow(RangeError);
    backing[15] = 0xc3; // a UTF-8 lead byte: the decoder path
    expect(() => readChar(dv, 7, 5)).toThrow(RangeError);
    backing[15] = CANARY;
  });

  it('stores: a RangeError, and not one byte written, inside or after the DataView', () => {
    const before = Uint8Array.from(backing);
    expect(() => storeBytes(dv, 6, 5, new Uint8Array(5))).toThrow(RangeError);
    expect(() => storeChar(dv, 7, 5, 'ab')).toThrow(RangeError);
    expect(() => storeChar(dv, 7, 5, 'abcde')).toThrow(RangeError);
    expect(() => storeChar(dv, 7, 5, new TextEncoder().encode('é'))).toThrow(RangeError);
    expect(backing).toEqual(before);
    storeChar(dv, 5, 5, 'ab');
    expect(Array.from(backing.subarray(13, 18))).toEqual([97, 98, 0, 0, 0]);
  });
});
