/**
 * record-encoder.ts's direct path: a struct of scalars, strings and bytes is checked whole, then the file says where
 * (checking again what the value's getters changed), then it is stored straight into the mapping. Every attack here
 * runs in a getter of the value, between the first check and the store: the file's bytes are compared before and
 * after, so a byte written where it should not be fails the test.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytes, char, float64, int32, RecordFile, struct, uint16 } from '../../src/index.js';
import { generatedSource } from '../../src/layout/codegen.js';
import { useTempDir } from '../helpers/temp.js';

const tmp = useTempDir('memmap-place-');
const Student = struct({ name: char(4), age: int32 });
const Blob = struct({ id: uint16, data: bytes(6), score: float64 });
const BigEndian = struct({ a: uint16, b: int32, c: float64 }, { endian: 'big' });

type Student = { name: string; age: number };

/** A resizable ArrayBuffer (ES2024; the project's lib is older). */
interface Resizable extends ArrayBuffer {
  resize(length: number): void;
}
const ResizableBuffer = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => Resizable;

/** The error's code, or 'none' when `call` returns. */
function codeOf(call: () => unknown): unknown {
  try {
    call();
    return 'none';
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
}

/** A student whose `age` getter runs `attack` first (once). */
function hostile(name: string, age: number, attack: () => void): Student {
  return {
    name,
    get age() {
      attack();
      return age;
    },
  };
}

/** Opens a new file with `count` students and flushes it (so the bytes on disk are stable until a write). */
function studentsFile(name: string, count: number, initialCapacity = 4): RecordFile<typeof Student> {
  const db = RecordFile.open(tmp(name), Student, { mode: 'w+', flush: 'manual', initialCapacity });
  for (let i = 0; i < count; i++) db.push({ name: `s${i}`, age: i });
  db.flush();
  return db;
}

describe('RecordFile set/push without a scratch copy', () => {
  it('the generated place() asks for the slot only after every member was read and checked, then only stores', () => {
    const source = generatedSource(Blob);
    const place = source.slice(source.indexOf('function place('), source.indexOf('return true;'));
    const slot = place.indexOf('target.slot(arg)');
    expect(slot).toBeGreaterThan(0);
    for (const check of [
      'v.id',
      'v.data',
      'v.score',
      'badInteger(',
      'bytesInput(',
      'badNumber(',
      'bytesLengthAgain(',
      '.set(r1)',
    ])
      expect(place.lastIndexOf(check), check).toBeLessThan(slot);
    // After the slot: stores into `dv` only (no getter, no call into code that could run the user's).
    const after = place.slice(slot);
    expect(after).not.toMatch(/\bv\./);
    expect(after).toContain('storeBytes(dv, o + 2, 6, held1)');
    // No place() where members are records or arrays: those go through the scratch record.
    expect(generatedSource(struct({ at: Blob }))).not.toContain('function place(');
  });

  it('stores every member type in the declared byte order, padding zeroed, through set and push', () => {
    const db = RecordFile.open(tmp('order.db'), BigEndian, { mode: 'w+', flush: 'manual' });
    try {
      db.push({ a: 0x0102, b: -2, c: 1.5 });
      db.set(0, { a: 0x0304, b: 7, c: -0.25 });
      db.push({ a: 0xfffe, b: 2 ** 31 - 1, c: 3 });
      expect(db.toArray()).toEqual([
        { a: 0x0304, b: 7, c: -0.25 },
        { a: 0xfffe, b: 2 ** 31 - 1, c: 3 },
      ]);
      const bytesOf = readFileSync(db.path).subarray(db.dataOffset, db.dataOffset + BigEndian.size);
      expect([...bytesOf.subarray(0, 8)]).toEqual([3, 4, 0, 0, 0, 0, 0, 7]); // a, 2 padding bytes, b big-endian
      expect(bytesOf.readDoubleBE(8)).toBe(-0.25);
    } finally {
      db.close();
    }
  });

  it('a getter that closes the file: ERR_RECORD_FILE_CLOSED, no record written, push and set', () => {
    for (const operation of ['push', 'set'] as const) {
      const db = studentsFile(`close-${operation}.db`, 2);
      const before = readFileSync(db.path);
      const value = hostile('zz', 99, () => {
        db.close();
      });
      const call = operation === 'push' ? () => db.push(value) : () => db.set(1, value);
      expect(codeOf(call)).toBe('ERR_RECORD_FILE_CLOSED');
      expect(readFileSync(db.path).equals(before)).toBe(true);
      const again = RecordFile.open(db.path, Student, { mode: 'r' });
      expect(again.toArray()).toEqual([
        { name: 's0', age: 0 },
        { name: 's1', age: 1 },
      ]);
      again.close();
    }
  });

  it('a getter that pushes to the file (re-entrant push): both records, the inner one first', () => {
    // Capacity 2: the inner push fills it, so the outer one grows the file after its value was checked.
    const db = studentsFile('reentrant.db', 1, 2);
    try {
      const inner = { name: 'in', age: 5 };
      expect(db.push(hostile('out', 6, () => db.push(inner)))).toBe(3);
      expect(db.toArray()).toEqual([{ name: 's0', age: 0 }, inner, { name: 'out', age: 6 }]);
      expect(db.capacity).toBeGreaterThanOrEqual(3);
    } finally {
      db.close();
    }
  });

  it('a re-entrant set of the same record: the outer value is stored last, whole', () => {
    const db = studentsFile('reentrant-set.db', 2);
    try {
      db.set(
        0,
        hostile('out', 1, () => {
          db.set(0, { name: 'innr', age: 2 });
        }),
      );
      expect(db.get(0)).toEqual({ name: 'out', age: 1 });
      expect(db.get(1)).toEqual({ name: 's1', age: 1 });
    } finally {
      db.close();
    }
  });

  it('a getter that truncates the file: push lands at the new end; set past the new end throws, writes nothing', () => {
    const db = studentsFile('truncate.db', 3);
    try {
      expect(db.push(hostile('p', 7, () => db.truncate(1)))).toBe(2);
      expect(db.toArray()).toEqual([
        { name: 's0', age: 0 },
        { name: 'p', age: 7 },
      ]);
      db.flush();
      const before = readFileSync(db.path);
      expect(
        codeOf(() =>
          db.set(
            1,
            hostile('x', 8, () => db.truncate(1)),
          ),
        ),
      ).toBe('ERR_OUT_OF_RANGE');
      expect(db.length).toBe(1);
      // Slot 1 (now past the end) still holds 'p', 7: the rejected set wrote nothing there.
      const after = readFileSync(db.path);
      const slot1 = (file: Buffer) => file.subarray(db.dataOffset + 8, db.dataOffset + 16);
      expect(slot1(after).equals(slot1(before))).toBe(true);
      expect(after.subarray(db.dataOffset).equals(before.subarray(db.dataOffset))).toBe(true);
    } finally {
      db.close();
    }
  });

  it('a getter that grows the file (the mapping is made again) during set: the record goes to the new mapping', () => {
    const db = studentsFile('grow.db', 2, 2);
    try {
      const many = Array.from({ length: 100 }, (_, i) => ({ name: 'm', age: i }));
      db.set(
        1,
        hostile('g', 42, () => {
          db.pushMany(many);
        }),
      );
      expect(db.length).toBe(102);
      expect(db.get(0)).toEqual({ name: 's0', age: 0 });
      expect(db.get(1)).toEqual({ name: 'g', age: 42 });
      expect(db.slice(2)).toEqual(many);
      db.flush();
      const reader = RecordFile.open(db.path, Student, { mode: 'r' });
      expect(reader.get(1)).toEqual({ name: 'g', age: 42 });
      reader.close();
    } finally {
      db.close();
    }
  });

  it('a member rejected after a getter ran leaves the record and the file untouched', () => {
    const db = studentsFile('rejected.db', 2);
    try {
      const before = readFileSync(db.path);
      let ran = 0;
      const bad = {
        get name() {
          ran++;
          return 'ok';
        },
        age: 2 ** 31, // not an int32
      };
      expect(codeOf(() => db.set(1, bad as never))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => db.push(bad as never))).toBe('ERR_OUT_OF_RANGE');
      const badName = { name: 'much too long', age: 1 };
      expect(codeOf(() => db.push(badName))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => db.set(0, { name: 'a', age: '1' } as never))).toBe('ERR_INVALID_ARG_TYPE');
      expect(codeOf(() => db.push(null as never))).toBe('ERR_INVALID_ARG_TYPE');
      expect(ran).toBe(2);
      expect(db.length).toBe(2);
      expect(readFileSync(db.path).equals(before)).toBe(true);
    } finally {
      db.close();
    }
  });

  it('a getter that throws: its error, nothing written', () => {
    const db = studentsFile('throws.db', 1);
    try {
      const before = readFileSync(db.path);
      const boom = new Error('boom');
      const value = hostile('t', 1, () => {
        throw boom;
      });
      expect(() => db.push(value)).toThrow(boom);
      expect(() => db.set(0, value)).toThrow(boom);
      expect(db.length).toBe(1);
      expect(readFileSync(db.path).equals(before)).toBe(true);
    } finally {
      db.close();
    }
  });

  it('bytes members: a lying Uint8Array subclass and a detached array are rejected, nothing written', () => {
    const db = RecordFile.open(tmp('bytes.db'), Blob, { mode: 'w+', flush: 'manual' });
    try {
      const data = Uint8Array.of(1, 2, 3, 4, 5, 6);
      db.push({ id: 1, data, score: 0.5 });
      db.flush();
      const before = readFileSync(db.path);
      class Liar extends Uint8Array {
        override get length(): number {
          return 6;
        }
      }
      const liar = new Liar(2);
      expect(liar.length).toBe(6);
      expect(codeOf(() => db.push({ id: 2, data: liar, score: 1 }))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => db.set(0, { id: 2, data: liar, score: 1 }))).toBe('ERR_OUT_OF_RANGE');
      const detached = new Uint8Array(6);
      structuredClone(detached.buffer, { transfer: [detached.buffer] });
      expect(codeOf(() => db.push({ id: 3, data: detached, score: 1 }))).toBe('ERR_OUT_OF_RANGE');
      // An object that borrowed Uint8Array's prototype without being one.
      const fake = Object.create(Uint8Array.prototype) as Uint8Array;
      expect(codeOf(() => db.push({ id: 4, data: fake, score: 1 }))).toBe('ERR_INVALID_ARG_TYPE');
      // Detached by a later member's getter, after the bytes member was read but before it is stored.
      const late = Uint8Array.of(9, 9, 9, 9, 9, 9);
      const detaching = {
        id: 5,
        data: late,
        get score() {
          structuredClone(late.buffer, { transfer: [late.buffer] });
          return 1;
        },
      };
      expect(codeOf(() => db.push(detaching))).toBe('ERR_OUT_OF_RANGE');
      expect(db.length).toBe(1);
      expect(readFileSync(db.path).equals(before)).toBe(true);
      expect(db.get(0)).toEqual({ id: 1, data, score: 0.5 });
    } finally {
      db.close();
    }
  });

  it('a bytes member that views the file itself survives the growth that retires its mapping', () => {
    // Capacity 1, full: the push grows the file, which maps it again and retires the mapping `db.at(0).data` views
    // after it was checked. The bytes were taken before: the new record holds them. The bytes view itself is handed
    // out on the mapping's public face: kept at its length over the file's bytes, private from then on.
    const db = RecordFile.open(tmp('self-bytes.db'), Blob, { mode: 'w+', flush: 'manual', initialCapacity: 1 });
    try {
      db.push({ id: 1, data: Uint8Array.of(1, 2, 3, 4, 5, 6), score: 2 });
      const record = db.at(0);
      const live = record.data;
      expect(db.push({ id: 2, data: live, score: 3 })).toBe(2);
      // Kept, not detached: its length and bytes, while the record view it came from throws (the guarded face).
      expect(live.length).toBe(6);
      expect([...live]).toEqual([1, 2, 3, 4, 5, 6]);
      expect(codeOf(() => record.id)).toBe('ERR_DETACHED_BUFFER');
      expect(codeOf(() => record.data)).toBe('ERR_DETACHED_BUFFER');
      expect(db.get(1)).toEqual({ id: 2, data: Uint8Array.of(1, 2, 3, 4, 5, 6), score: 3 });
      // A write through it reaches neither record 0 nor record 1, in the mapping or in the file.
      live.fill(0xee);
      expect([...live]).toEqual([0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);
      expect(db.get(0)).toEqual({ id: 1, data: Uint8Array.of(1, 2, 3, 4, 5, 6), score: 2 });
      expect(db.get(1).data).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6));
      db.flush();
      expect(readFileSync(db.path).includes(Buffer.alloc(6, 0xee))).toBe(false);
      // set from the same file's own bytes (no growth) and from bytes that overlap the target record.
      db.set(0, { id: 7, data: db.at(1).data, score: 4 });
      db.set(1, { id: 8, data: db.at(1).data.slice().reverse(), score: 5 });
      db.set(1, { id: 9, data: db.at(1).data, score: 6 });
      expect(db.toArray()).toEqual([
        { id: 7, data: Uint8Array.of(1, 2, 3, 4, 5, 6), score: 4 },
        { id: 9, data: Uint8Array.of(6, 5, 4, 3, 2, 1), score: 6 },
      ]);
    } finally {
      db.close();
    }
  });

  it("a bytes member resized or detached by a later member's check: ERR_OUT_OF_RANGE, no stale held byte", () => {
    // The second member's `instanceof Uint8Array` walks a prototype chain holding a Proxy, whose trap runs after
    // the first member was checked and before it is copied into the type's held buffer. Another file of the same
    // type stored its bytes there first: a shorter copy would put them into this file.
    const Pair = struct({ a: bytes(4), b: bytes(2) });
    const other = RecordFile.open(tmp('pair-other.db'), Pair, { mode: 'w+', flush: 'manual' });
    const db = RecordFile.open(tmp('pair.db'), Pair, { mode: 'w+', flush: 'manual' });
    try {
      other.push({ a: Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd), b: new Uint8Array(2) });
      db.push({ a: Uint8Array.of(1, 1, 1, 1), b: Uint8Array.of(1, 1) });
      db.flush();
      const before = readFileSync(db.path);
      /** A valid `b` whose type check runs `attack`. */
      const trapped = (attack: () => void): Uint8Array => {
        const b = new Uint8Array(2);
        const trap = new Proxy(Uint8Array.prototype, {
          getPrototypeOf() {
            attack();
            return Uint8Array.prototype;
          },
        });
        Object.setPrototypeOf(b, trap);
        return b;
      };
      const resizable = () => {
        const buffer = new ResizableBuffer(4, { maxByteLength: 8 });
        const a = new Uint8Array(buffer); // tracks the buffer's length
        a.set([2, 3, 4, 5]);
        return { buffer, a };
      };
      for (const shrinkTo of [1, 0]) {
        const { buffer, a } = resizable();
        expect(codeOf(() => db.push({ a, b: trapped(() => buffer.resize(shrinkTo)) }))).toBe('ERR_OUT_OF_RANGE');
        const again = resizable();
        expect(codeOf(() => db.set(0, { a: again.a, b: trapped(() => again.buffer.resize(shrinkTo)) }))).toBe(
          'ERR_OUT_OF_RANGE',
        );
      }
      const grown = resizable();
      expect(codeOf(() => db.push({ a: grown.a, b: trapped(() => grown.buffer.resize(8)) }))).toBe('ERR_OUT_OF_RANGE');
      const under = new ResizableBuffer(4, { maxByteLength: 8 });
      const fixed = new Uint8Array(under, 0, 4); // out of bounds once the buffer shrinks
      expect(codeOf(() => db.push({ a: fixed, b: trapped(() => under.resize(2)) }))).toBe('ERR_OUT_OF_RANGE');
      const moved = Uint8Array.of(6, 7, 8, 9);
      const detach = () => structuredClone(moved.buffer, { transfer: [moved.buffer] });
      expect(codeOf(() => db.push({ a: moved, b: trapped(detach) }))).toBe('ERR_OUT_OF_RANGE');
      expect(db.length).toBe(1);
      expect(readFileSync(db.path).equals(before)).toBe(true);
      // And a trap that changes nothing: the value is stored whole.
      db.push({ a: Uint8Array.of(4, 3, 2, 1), b: trapped(() => undefined) });
      expect(db.get(1)).toEqual({ a: Uint8Array.of(4, 3, 2, 1), b: new Uint8Array(2) });
    } finally {
      db.close();
      other.close();
    }
  });

  it('a live view of the same type, from this file (growing it) or another: copied byte for byte', () => {
    const db = studentsFile('views.db', 1, 1);
    const other = studentsFile('views-other.db', 1);
    try {
      other.set(0, { name: 'oth', age: -1 });
      expect(db.push(db.at(0) as never)).toBe(2); // grows: the view is detached after its bytes were taken
      expect(db.push(other.at(0) as never)).toBe(3);
      db.set(0, db.at(2));
      db.set(1, db.at(1));
      expect(db.toArray()).toEqual([
        { name: 'oth', age: -1 },
        { name: 's0', age: 0 },
        { name: 'oth', age: -1 },
      ]);
      // A view detached before the write is rejected with a coded error, and nothing is written.
      const stale = db.at(0);
      db.pushMany(Array.from({ length: 10 }, () => ({ name: 'f', age: 0 }))); // grows: `stale` is detached
      db.flush();
      const before = readFileSync(db.path);
      expect(codeOf(() => db.push(stale as never))).toBe('ERR_DETACHED_BUFFER');
      expect(codeOf(() => db.set(0, stale as never))).toBe('ERR_DETACHED_BUFFER');
      expect(readFileSync(db.path).equals(before)).toBe(true);
    } finally {
      db.close();
      other.close();
    }
  });

  it('Proxy values: every member read once, a trap that closes or pushes is caught like a getter', () => {
    const db = studentsFile('proxy.db', 1, 1);
    try {
      const reads: string[] = [];
      const counted = new Proxy(
        { name: 'px', age: 3 },
        {
          get(target, key, receiver) {
            reads.push(String(key));
            return Reflect.get(target, key, receiver) as unknown;
          },
        },
      );
      db.push(counted);
      db.set(0, counted);
      // Members read once each; the only other read is of the mark on views' prototypes (a symbol), before them.
      expect(reads.filter((key) => key !== 'Symbol(memmap view)')).toEqual(['name', 'age', 'name', 'age']);
      expect(reads.length).toBeLessThanOrEqual(6);
      // A trap that pushes (growing the file) while the outer push is being checked.
      const pushing = new Proxy(
        { name: 'po', age: 4 },
        {
          get(target, key, receiver) {
            if (key === 'age') db.push({ name: 'pi', age: 5 });
            return Reflect.get(target, key, receiver) as unknown;
          },
        },
      );
      db.push(pushing);
      expect(db.slice(1)).toEqual([
        { name: 'px', age: 3 },
        { name: 'pi', age: 5 },
        { name: 'po', age: 4 },
      ]);
      db.flush();
      const before = readFileSync(db.path);
      const closing = new Proxy(
        { name: 'pc', age: 6 },
        {
          get(target, key, receiver) {
            if (key === 'age') db.close();
            return Reflect.get(target, key, receiver) as unknown;
          },
        },
      );
      expect(codeOf(() => db.push(closing))).toBe('ERR_RECORD_FILE_CLOSED');
      expect(readFileSync(db.path).equals(before)).toBe(true);
    } finally {
      db.close();
    }
  });

  it('a getter that makes the file read-only to this writer (withLock on a shared file ends): no write', () => {
    const path = tmp('shared.db');
    RecordFile.open(path, Student, { mode: 'w+' }).close();
    const db = RecordFile.open(path, Student, { mode: 'r+', shared: true });
    try {
      let escaped: Student | undefined;
      db.withLock(() => {
        db.push({ name: 'a', age: 1 });
        escaped = hostile('b', 2, () => undefined);
      });
      const before = readFileSync(path);
      // Outside withLock: the check before the value is read refuses, and the getter never runs.
      expect(codeOf(() => db.push(escaped!))).toBe('ERR_RECORD_FILE_NOT_LOCKED');
      expect(readFileSync(path).equals(before)).toBe(true);
    } finally {
      db.close();
    }
  });

  it('many records through push and set, read back by a fresh reader', () => {
    const db = RecordFile.open(tmp('many.db'), Blob, { mode: 'w+', flush: 'manual', initialCapacity: 1 });
    try {
      const value = (i: number) => ({
        id: i & 0xffff,
        data: Uint8Array.from({ length: 6 }, (_, k) => i + k),
        score: i / 2,
      });
      for (let i = 0; i < 5000; i++) db.push(value(i));
      for (let i = 0; i < 5000; i += 7) db.set(i, value(i + 1));
      db.flush();
      const reader = RecordFile.open(db.path, Blob, { mode: 'r' });
      for (let i = 0; i < 5000; i++) expect(reader.get(i)).toEqual(value(i % 7 === 0 ? i + 1 : i));
      reader.close();
    } finally {
      db.close();
    }
  });
});
