/** Bulk operations on a RecordFile: pushMany over any iterable, columns as typed arrays, toArray. */
import { describe, expect, it } from 'vitest';
import {
  bool,
  bytes,
  char,
  float32,
  float64,
  int16,
  int64,
  int8,
  RecordFile,
  struct,
  uint16,
  uint32,
  uint64,
  uint8,
} from '../../src/index.js';
import { useTempDir } from '../helpers/temp.js';
import { Student, studentAt } from './fixtures/student.mts';

const tmp = useTempDir('memmap-bulk-');
let counter = 0;
const fresh = () => tmp(`bulk-${counter++}.db`);

describe('pushMany', () => {
  it('takes 1,000,000 values from an array and from a generator (push(...array) of that many overflows the stack)', () => {
    using db = RecordFile.open(fresh(), Student, { flush: 'manual' });
    const values = Array.from({ length: 1_000_000 }, (_, i) => studentAt(i));
    expect(() => db.push(...values)).toThrow(RangeError); // the spread itself, at the call site
    expect(db.length).toBe(0);
    expect(db.pushMany(values)).toBe(1_000_000);
    expect(
      db.pushMany(
        (function* () {
          for (let i = 1_000_000; i < 2_000_000; i++) yield studentAt(i);
        })(),
      ),
    ).toBe(2_000_000);
    db.flush();
    expect(db.committedLength).toBe(2_000_000);
    for (const i of [0, 999_999, 1_000_000, 1_999_999]) expect(db.get(i)).toEqual(studentAt(i));
  });

  it('a bad value stops it: the values before it are appended, it and the rest are not', () => {
    using db = RecordFile.open(fresh(), Student);
    const values = [studentAt(0), studentAt(1), { name: 'bad', age: 1.5 }, studentAt(3)];
    expect(() => db.pushMany(values)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(db.toArray()).toEqual([studentAt(0), studentAt(1)]);
  });

  it('not an iterable: ERR_INVALID_ARG_TYPE, nothing appended; a read-only file: ERR_RECORD_FILE_READ_ONLY', () => {
    const path = fresh();
    using db = RecordFile.open(path, Student);
    for (const bad of [undefined, null, 5, { length: 1, 0: studentAt(0) }])
      expect(() => db.pushMany(bad as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(db.length).toBe(0);
    using reader = RecordFile.open(path, Student, { mode: 'r' });
    expect(() => reader.pushMany([studentAt(0)])).toThrow(
      expect.objectContaining({ code: 'ERR_RECORD_FILE_READ_ONLY' }),
    );
  });

  it('counts toward everyWrites like push', () => {
    const path = fresh();
    using db = RecordFile.open(path, Student, { flush: { everyWrites: 10 } });
    db.pushMany(Array.from({ length: 25 }, (_, i) => studentAt(i)));
    expect(db.committedLength).toBe(25);
  });
});

describe('column, columns, toArray', () => {
  const All = struct({
    i8: int8,
    u8: uint8,
    i16: int16,
    u16: uint16,
    u32: uint32,
    i64: int64,
    u64: uint64,
    f32: float32,
    f64: float64,
    flag: bool,
    name: char(4),
    raw: bytes(2),
  });
  const valueAt = (i: number) => ({
    i8: 0 - i || 0,
    u8: i,
    i16: -300 * i || 0,
    u16: 300 * i,
    u32: 70000 * i,
    i64: -BigInt(i) * 10n ** 12n,
    u64: BigInt(i) * 10n ** 15n,
    f32: i / 4,
    f64: i / 3,
    flag: i % 2 === 1,
    name: `n${i}`,
    raw: Uint8Array.of(i, 255 - i),
  });

  it('each scalar field as its typed array (a copy), other fields as arrays of values', () => {
    using db = RecordFile.open(fresh(), All);
    db.pushMany(Array.from({ length: 5 }, (_, i) => valueAt(i)));
    const expectColumn = (name: keyof ReturnType<typeof valueAt>, Kind: unknown) => {
      const column = db.column(name);
      if (Kind !== Array) expect(column).toBeInstanceOf(Kind);
      else expect(Array.isArray(column)).toBe(true);
      const want = Array.from({ length: 5 }, (_, i) => valueAt(i)[name]);
      expect(Array.from(column as ArrayLike<unknown>)).toEqual(name === 'flag' ? want.map(Number) : want);
    };
    expectColumn('i8', Int8Array);
    expectColumn('u8', Uint8Array);
    expectColumn('i16', Int16Array);
    expectColumn('u16', Uint16Array);
    expectColumn('u32', Uint32Array);
    expectColumn('i64', BigInt64Array);
    expectColumn('u64', BigUint64Array);
    expectColumn('f32', Float32Array);
    expectColumn('f64', Float64Array);
    expectColumn('flag', Uint8Array);
    expectColumn('name', Array);
    expectColumn('raw', Array);
    const ages = db.column('u8') as Uint8Array;
    ages[0] = 99; // a copy: the file does not change
    expect(db.get(0).u8).toBe(0);
    expect(Object.keys(db.columns())).toEqual(All.fields.map((f) => f.name));
    expect(db.toArray()).toEqual(Array.from({ length: 5 }, (_, i) => valueAt(i)));
  });

  it('big-endian records decode right; an unknown field name is ERR_INVALID_ARG_VALUE; a closed file is ERR_RECORD_FILE_CLOSED', () => {
    const Big = struct({ a: int16, b: float64 }, { endian: 'big' });
    const db = RecordFile.open(fresh(), Big);
    db.push({ a: -2, b: 1.5 }, { a: 300, b: -0.25 });
    expect(Array.from(db.column('a'))).toEqual([-2, 300]);
    expect(Array.from(db.column('b'))).toEqual([1.5, -0.25]);
    expect(() => db.column('nope' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => db.column(5 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    db.close();
    expect(() => db.column('a')).toThrow(expect.objectContaining({ code: 'ERR_RECORD_FILE_CLOSED' }));
    expect(() => db.toArray()).toThrow(expect.objectContaining({ code: 'ERR_RECORD_FILE_CLOSED' }));
  });
});
