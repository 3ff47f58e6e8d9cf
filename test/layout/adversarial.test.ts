/**
 * The layout's promises under attack: a rejected write changes no byte (set, write, fill, a union, nested records,
 * arrays, RecordFile push), whatever the value's getters do; every bad value gets a coded error, bigints and
 * Symbols and objects with a valueOf included; a detached source is ERR_DETACHED_BUFFER even before its first
 * read; hostile schemas, member names and sizes are refused with a code; internal constructors refuse users.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MappedFile } from '../../src/mapped-file.js';
import { RecordFile } from '../../src/records/index.js';
import {
  array,
  bool,
  bytes,
  char,
  float64,
  fromSchema,
  int16,
  int32,
  int64,
  int8,
  struct,
  StructArray,
  StructType,
  uint16,
  uint32,
  uint8,
  union,
} from '../../src/layout/index.js';
import { outcome } from '../helpers/thrown.js';

const Student = struct({ name: char(4), age: int32 });
const Nested = struct({ id: int32, inner: struct({ x: int16, y: int16 }), list: array(int32, 3), tag: char(4) });
const Either = union({ n: int32, s: char(8), p: struct({ a: int32, b: int32 }) });

const code = outcome;

const dir = mkdtempSync(join(tmpdir(), 'memmap-layout-adversarial-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a rejected write changes no byte', () => {
  it('set, write and fill of a struct whose LAST member is bad leave the record as it was', () => {
    const buf = Buffer.alloc(16);
    const students = Student.array(buf);
    students.set(0, { name: 'ann', age: 30 });
    students.set(1, { name: 'bob', age: 40 });
    const before = Buffer.from(buf);
    expect(code(() => students.set(0, { name: 'mallory', age: 1.5 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => students.set(0, { name: 'eve', age: 1.5 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => Student.write(buf, 0, { name: 'eve', age: 2 ** 31 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => students.fill({ name: 'eve', age: 'x' as never }))).toBe('ERR_INVALID_ARG_TYPE');
    expect(buf).toEqual(before);
    expect(students.get(0)).toEqual({ name: 'ann', age: 30 });
  });

  it('a struct with nested records and arrays: a bad value anywhere writes nothing', () => {
    const buf = Buffer.alloc(Nested.size);
    const good = { id: 1, inner: { x: 2, y: 3 }, list: [4, 5, 6], tag: 'ok' };
    Nested.write(buf, 0, good);
    const before = Buffer.from(buf);
    const bad = [
      { ...good, tag: 'too long' },
      { ...good, list: [7, 8, 2 ** 40] },
      { ...good, list: [7, 8] },
      { ...good, inner: { x: 9, y: 1e6 } },
      { ...good, id: 5, inner: null },
    ];
    for (const value of bad) expect(code(() => Nested.write(buf, 0, value as never))).toMatch(/^ERR_/);
    expect(buf).toEqual(before);
    expect(Nested.read(buf)).toEqual(good);
  });

  it('a union: a bad member or two members write nothing', () => {
    const buf = Buffer.alloc(Either.size);
    Either.write(buf, 0, { s: 'keep' });
    const before = Buffer.from(buf);
    expect(code(() => Either.write(buf, 0, { s: 'far too long' }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => Either.write(buf, 0, { p: { a: 1, b: 1.5 } }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => Either.write(buf, 0, { n: 1, s: 'x' } as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(buf).toEqual(before);
  });

  it('reads every member once, before writing: a getter that rewrites the record or lies the second time loses', () => {
    for (const Type of [Student, struct({ name: char(4), age: int32, inner: struct({ z: int32 }) })]) {
      const buf = Buffer.alloc(Type.size);
      const records = Type.array(buf);
      let reads = 0;
      const hostile = {
        name: 'bob',
        get age() {
          reads++;
          // Re-entrant: a write of the same record from inside the outer write.
          records.set(0, { name: 'eve', age: 666, inner: { z: 6 } } as never);
          return reads === 1 ? 7 : 1.5;
        },
        inner: { z: 1 },
      };
      records.set(0, hostile);
      expect(reads).toBe(1);
      expect(records.get(0)).toMatchObject({ name: 'bob', age: 7 });
    }
  });

  it('a getter that detaches the buffer mid-write gives ERR_DETACHED_BUFFER', () => {
    const ab = new ArrayBuffer(Student.size * 2);
    const students = Student.array(ab);
    const value = {
      name: 'bob',
      get age() {
        structuredClone(ab, { transfer: [ab] });
        return 1;
      },
    };
    expect(code(() => students.set(1, value))).toBe('ERR_DETACHED_BUFFER');
  });

  it('RecordFile push of a rejected value writes nothing and does not count it', () => {
    const path = join(dir, 'push.db');
    const db = RecordFile.open(path, Student, { mode: 'w+' });
    try {
      db.push({ name: 'ann', age: 30 });
      expect(code(() => db.push({ name: 'mallory', age: 1.5 }))).toBe('ERR_OUT_OF_RANGE');
      expect(code(() => db.set(0, { name: 'mallory', age: 1.5 }))).toBe('ERR_OUT_OF_RANGE');
      expect(db.length).toBe(1);
      expect(db.get(0)).toEqual({ name: 'ann', age: 30 });
    } finally {
      db.close();
    }
  });
});

describe('every bad value is coded', () => {
  const Ints = struct({ a: int8, b: uint8, c: int16, d: uint16, e: int32, f: uint32 });
  const good = { a: 1, b: 1, c: 1, d: 1, e: 1, f: 1 };

  it('a bigint, a Symbol or an object with a valueOf in an int8..uint32 field is ERR_INVALID_ARG_TYPE; valueOf never runs', () => {
    const buf = Buffer.alloc(Ints.size);
    const view = Ints.view(buf);
    let calls = 0;
    const sneaky = { valueOf: () => (calls++, 1) };
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f'] as const) {
      for (const bad of [1n, Symbol('x'), sneaky]) {
        expect(code(() => Ints.write(buf, 0, { ...good, [key]: bad }))).toBe('ERR_INVALID_ARG_TYPE');
        expect(code(() => ((view as Record<string, unknown>)[key] = bad))).toBe('ERR_INVALID_ARG_TYPE');
      }
    }
    expect(calls).toBe(0);
    expect(buf.every((b) => b === 0)).toBe(true);
  });

  it('other kinds: Symbols and wrong types are coded too', () => {
    const All = struct({ f: float64, g: bool, h: int64, s: char(4), r: bytes(2) });
    const buf = Buffer.alloc(All.size);
    const base = { f: 1, g: true, h: 1n, s: 'a', r: new Uint8Array(2) };
    for (const [key, bad] of [
      ['f', Symbol('x')],
      ['g', 1],
      ['h', 1],
      ['s', Symbol('x')],
      ['r', [1, 2]],
      ['r', Object.create(Uint8Array.prototype) as unknown],
    ] as const)
      expect(code(() => All.write(buf, 0, { ...base, [key]: bad }))).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('a Uint8Array subclass that lies about its length is checked by its real length', () => {
    const WithBytes = struct({ r: bytes(2) });
    class Liar extends Uint8Array {
      override get length(): number {
        return 2;
      }
    }
    const buf = Buffer.alloc(2);
    expect(code(() => WithBytes.write(buf, 0, { r: new Liar(64) }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => WithBytes.write(buf, 0, { r: new Liar(1) }))).toBe('ERR_OUT_OF_RANGE');
  });

  it('an array given a length of its own is checked by its real length: coded errors, nothing written past it', () => {
    // Before, get/set/toArray/fill read the length through the property: an own `length` of 1000 on an array of 2
    // made set(5) and get(5) throw the engine's bare RangeError, and at(-1) count from the lie.
    const buf = Buffer.alloc(3 * Student.size, 0xee);
    const students = Student.array(buf.subarray(0, 2 * Student.size));
    students.set(1, { name: 'last', age: 7 });
    Object.defineProperty(students, 'length', { value: 1000 });
    expect(code(() => students.set(5, { name: 'x', age: 1 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => students.get(5))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => students.at(5))).toBe('ERR_OUT_OF_RANGE');
    expect(students.at(-1).name).toBe('last');
    expect(students.toArray()).toHaveLength(2);
    expect(students.column('age')).toHaveLength(2);
    expect(students.byteLength).toBe(2 * Student.size);
    students.fill({ name: 'f', age: 2 }, 0, 1000); // an end past the length is clamped to the real one
    expect([...students].map((s) => s.age)).toEqual([2, 2]);
    let seen = 0;
    students.forEach(() => seen++);
    expect(seen).toBe(2);
    expect(code(() => students.cursor().at(2).age)).toBe('ERR_OUT_OF_RANGE');
    expect([...buf.subarray(2 * Student.size)]).toEqual(new Array<number>(Student.size).fill(0xee));
  });

  it('read, write, view and array of a buffer detached before it was ever read are ERR_DETACHED_BUFFER', () => {
    const Fresh = struct({ v: uint32 });
    const file = MappedFile.open(join(dir, 'fresh.bin'), { mode: 'w+', size: 64 });
    const buffer = file.buffer;
    file.close();
    expect(code(() => Fresh.read(buffer))).toBe('ERR_DETACHED_BUFFER');
    expect(code(() => Fresh.write(buffer, 0, { v: 1 }))).toBe('ERR_DETACHED_BUFFER');
    expect(code(() => Fresh.view(buffer))).toBe('ERR_DETACHED_BUFFER');
    expect(code(() => Fresh.array(buffer))).toBe('ERR_DETACHED_BUFFER');
    const ab = new ArrayBuffer(8);
    structuredClone(ab, { transfer: [ab] });
    expect(code(() => Fresh.read(ab))).toBe('ERR_DETACHED_BUFFER');
  });

  it('a forEach callback that is not a function, a cursor index out of range', () => {
    const students = Student.array(Buffer.alloc(16));
    expect(code(() => students.forEach(1 as never))).toBe('ERR_INVALID_ARG_TYPE');
    const cursor = students.cursor();
    for (const index of [-1, 1.5, NaN, '0']) expect(code(() => cursor.at(index as never))).toBe('ERR_OUT_OF_RANGE');
    // an integer index past the end is found at the view's first access (see test/layout/lazy-bounds.test.ts)
    expect(code(() => cursor.at(2).age)).toBe('ERR_OUT_OF_RANGE');
  });
  it('an index whose valueOf throws: refused as not a number, its valueOf never called', () => {
    const students = Student.array(Buffer.alloc(16));
    const hostile = new Error('hostile valueOf');
    const index = {
      valueOf(): number {
        throw hostile;
      },
    } as unknown as number;
    const cursor = students.cursor();
    const calls = [
      () => students.get(index),
      () => students.set(index, { name: 'a', age: 1 }),
      () => students.at(index),
      () => cursor.at(index),
    ];
    for (const call of calls) expect(code(call)).toBe('ERR_OUT_OF_RANGE');
    // A value checked for a field goes through the same guard: a wrong value still gets its coded error.
    expect(code(() => students.set(0, { name: 'a', age: 2 ** 31 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => (students.at(0).age = 'x' as never))).toBe('ERR_INVALID_ARG_TYPE');
  });
});

describe('hostile descriptions', () => {
  it('fromSchema keeps a member named __proto__ (then refuses it with a code), and refuses repeats and junk', () => {
    const schema = Student.toJSON();
    const proto = JSON.parse(JSON.stringify(schema).replace('"name":"name"', '"name":"__proto__"')) as typeof schema;
    expect(code(() => fromSchema(proto))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => fromSchema(JSON.stringify(proto)))).toBe('ERR_INVALID_ARG_VALUE');
    const twice = { ...schema, fields: [schema.fields[0]!, { ...schema.fields[1]!, name: 'name' }] };
    expect(code(() => fromSchema(twice))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => fromSchema({ ...schema, fields: [null] } as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(code(() => fromSchema({ ...schema, fields: [{ name: 7, offset: 0, type: 'int32' }] } as never))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(code(() => fromSchema({ ...schema, endian: 'middle' } as never))).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('member names every object has (toString, valueOf, constructor, __proto__, ...) are refused with a code', () => {
    const names = ['toString', 'valueOf', 'constructor', 'hasOwnProperty', 'isPrototypeOf', 'toLocaleString', 'toJSON'];
    for (const name of names) expect(code(() => struct({ [name]: int32 }))).toBe('ERR_INVALID_ARG_VALUE');
    const proto = Object.defineProperty({}, '__proto__', { value: int32, enumerable: true });
    expect(code(() => struct(proto))).toBe('ERR_INVALID_ARG_VALUE');
    // A record whose members are ordinary names still prints and converts like any object.
    const view = Student.view(Buffer.alloc(8));
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the default conversion is what is tested
    expect(String(view)).toBe('[object Object]');
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the default conversion is what is tested
    expect(String(Student.read(Buffer.alloc(8)))).toBe('[object Object]');
  });

  it('sizes past 2^53 are ERR_OUT_OF_RANGE, for arrays and for structs', () => {
    const big = array(bytes(2 ** 31 - 1), 2 ** 21); // ~4.5e15 bytes: still exact
    expect(big.size).toBe((2 ** 31 - 1) * 2 ** 21);
    expect(code(() => array(array(bytes(2 ** 31 - 1), 2 ** 31 - 1), 2 ** 31 - 1))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => struct({ a: big, b: big, c: big }))).toBe('ERR_OUT_OF_RANGE');
  });

  it('internal constructors refuse users; instanceof still works', () => {
    const students = Student.array(Buffer.alloc(8));
    expect(students).toBeInstanceOf(StructArray);
    expect(Student).toBeInstanceOf(StructType);
    const Ctor = StructArray as unknown as new (...args: unknown[]) => unknown;
    expect(
      code(() => new Ctor(Symbol('memmap layout internal'), Student, new DataView(new ArrayBuffer(8)), 0, 1)),
    ).toBe('ERR_ILLEGAL_CONSTRUCTOR');
    const Generated = students.constructor as new (...args: unknown[]) => unknown;
    expect(code(() => new Generated(undefined, new DataView(new ArrayBuffer(8)), 0, 1000))).toBe(
      'ERR_ILLEGAL_CONSTRUCTOR',
    );
    const TypeCtor = StructType as unknown as new (...args: unknown[]) => unknown;
    expect(code(() => new TypeCtor('struct', { a: int32 }))).toBe('ERR_ILLEGAL_CONSTRUCTOR');
    // The generated view, cursor and iterator classes are reachable through `constructor`: they refuse too.
    const dv = new DataView(new ArrayBuffer(8));
    for (const made of [students.at(0), students.cursor(), students[Symbol.iterator]()]) {
      const Made = (made as object).constructor as new (...args: unknown[]) => unknown;
      expect(code(() => new Made(undefined, dv, 0, 1))).toBe('ERR_ILLEGAL_CONSTRUCTOR');
    }
  });
});
