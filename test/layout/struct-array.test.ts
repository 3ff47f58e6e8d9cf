import { describe, expect, it } from 'vitest';
import {
  array,
  bool,
  char,
  float32,
  float64,
  int16,
  int32,
  int64,
  int8,
  struct,
  uint16,
  uint32,
  uint64,
  uint8,
} from '../../src/layout/index.js';

const Student = struct({ name: char(4), age: int32 });

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'no error';
}

function filled(count: number) {
  const buf = Buffer.alloc(count * Student.size);
  const students = Student.array(buf);
  for (let i = 0; i < count; i++) students.set(i, { name: `s${i}`, age: i * 10 });
  return { buf, students };
}

describe('StructArray', () => {
  it('has a length, get/set copies, at live views with negative indexes', () => {
    const { buf, students } = filled(4);
    expect(students.length).toBe(4);
    expect(students.byteLength).toBe(32);
    expect(students.get(2)).toEqual({ name: 's2', age: 20 });
    students.at(-1).age += 1;
    expect(buf.readInt32LE(3 * 8 + 4)).toBe(31);
    expect(students.at(0).name).toBe('s0');
    const copy = students.get(1);
    copy.age = 1000;
    expect(students.get(1).age).toBe(10);
  });

  it('throws RangeError for out-of-range indexes', () => {
    const { students } = filled(3);
    for (const index of [-1, 3, 1.5, NaN, 2 ** 32]) expect(code(() => students.get(index))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => students.set(3, { name: '', age: 0 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => students.at(3))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => students.at(-4))).toBe('ERR_OUT_OF_RANGE');
    expect(students.at(-3).name).toBe('s0');
    expect(code(() => students.set(0, { name: 'toolong', age: 0 }))).toBe('ERR_OUT_OF_RANGE');
  });

  it('iterates live views, forEach, toArray and JSON', () => {
    const { students } = filled(3);
    const names: string[] = [];
    for (const s of students) names.push(s.name);
    expect(names).toEqual(['s0', 's1', 's2']);
    students.forEach((s, i) => (s.age = i));
    expect(students.toArray()).toEqual([
      { name: 's0', age: 0 },
      { name: 's1', age: 1 },
      { name: 's2', age: 2 },
    ]);
    expect(JSON.parse(JSON.stringify(students))).toEqual(students.toArray());
    // for-of moves one view along the records: a map function reads each step while it is valid ...
    expect(Array.from(students, (s) => s.age)).toEqual([0, 1, 2]);
    // ... while spreading keeps the same view three times, left on the last record (documented; toArray copies).
    const spread = [...students];
    expect(new Set(spread).size).toBe(1);
    expect(spread.map((s) => s.age)).toEqual([2, 2, 2]);
  });

  it('fills ranges and makes subarrays over the same bytes', () => {
    const { students } = filled(5);
    students.fill({ name: 'x', age: 7 }, 1, -1);
    expect(students.toArray().map((s) => s.age)).toEqual([0, 7, 7, 7, 40]);
    students.fill({ name: 'y', age: 9 });
    expect(students.toArray().every((s) => s.name === 'y' && s.age === 9)).toBe(true);
    const middle = students.subarray(1, 3);
    expect(middle.length).toBe(2);
    middle.set(0, { name: 'm', age: 1 });
    expect(students.get(1)).toEqual({ name: 'm', age: 1 });
    expect(middle.byteOffset).toBe(students.byteOffset + 8);
    expect(students.subarray(-2).length).toBe(2);
    expect(students.subarray(4, 2).length).toBe(0);
    expect(code(() => students.fill({ name: 'too long', age: 1 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => students.subarray('a' as never))).toBe('ERR_OUT_OF_RANGE');
  });

  it('needs an explicit length for a buffer that is not a multiple of the record size', () => {
    const buf = Buffer.alloc(20);
    expect(code(() => Student.array(buf))).toBe('ERR_OUT_OF_RANGE');
    expect(Student.array(buf, { length: 2 }).length).toBe(2);
    expect(Student.array(buf, { offset: 4 }).length).toBe(2);
    expect(Student.array(buf, { offset: 4, length: 1 }).byteOffset).toBe(buf.byteOffset + 4);
    expect(code(() => Student.array(buf, { length: 3 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => Student.array(buf, { length: -1 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => Student.array(buf, { length: '2' as never }))).toBe('ERR_INVALID_ARG_TYPE');
    expect(code(() => Student.array(buf, { offset: 21 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => Student.array(buf, { offset: -1 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => Student.array(buf, 5 as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(code(() => Student.array({} as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(Student.array(Buffer.alloc(0)).length).toBe(0);
  });

  it('copies a scalar column into a typed array, in the record byte order', () => {
    const Row = struct({
      a: int8,
      b: uint8,
      c: int16,
      d: uint16,
      e: int32,
      f: uint32,
      g: int64,
      h: uint64,
      i: float32,
      j: float64,
      k: bool,
      s: char(3),
    });
    for (const endian of ['little', 'big'] as const) {
      const R = struct(
        Row.fields.reduce((shape, f) => ({ ...shape, [f.name]: f.type }), {}) as typeof Row extends {
          '~shape'?: infer S;
        }
          ? NonNullable<S>
          : never,
        { endian },
      );
      const rows = R.array(Buffer.alloc(R.size * 3));
      for (let n = 0; n < 3; n++)
        rows.set(n, {
          a: -n,
          b: n,
          c: -300 * n,
          d: 300 * n,
          e: -1e6 * n,
          f: 3e9 - n,
          g: -BigInt(n),
          h: 2n ** 63n + BigInt(n),
          i: n + 0.5,
          j: n / 3,
          k: n === 1,
          s: 'x',
        });
      expect(rows.column('a')).toEqual(new Int8Array([0, -1, -2]));
      expect(rows.column('b')).toEqual(new Uint8Array([0, 1, 2]));
      expect(rows.column('c')).toEqual(new Int16Array([0, -300, -600]));
      expect(rows.column('d')).toEqual(new Uint16Array([0, 300, 600]));
      expect(rows.column('e')).toEqual(new Int32Array([0, -1e6, -2e6]));
      expect(rows.column('f')).toEqual(new Uint32Array([3e9, 3e9 - 1, 3e9 - 2]));
      expect(rows.column('g')).toEqual(new BigInt64Array([0n, -1n, -2n]));
      expect(rows.column('h')).toEqual(new BigUint64Array([2n ** 63n, 2n ** 63n + 1n, 2n ** 63n + 2n]));
      expect(rows.column('i')).toEqual(new Float32Array([0.5, 1.5, 2.5]));
      expect(rows.column('j')).toEqual(new Float64Array([0, 1 / 3, 2 / 3]));
      expect(rows.column('k')).toEqual(new Uint8Array([0, 1, 0]));
      expect(code(() => rows.column('s' as never))).toBe('ERR_INVALID_ARG_VALUE');
      expect(code(() => rows.column('zz' as never))).toBe('ERR_INVALID_ARG_VALUE');
      // A copy: writing it does not reach the records.
      const column = rows.column('e');
      column[0] = 5;
      expect(rows.get(0).e).toBe(0);
    }
  });

  it('works over arrays of structs nested in records', () => {
    const Class = struct({ room: uint16, pupils: array(Student, 2) });
    const buf = Buffer.alloc(Class.size);
    const view = Class.view(buf);
    view.pupils.set(1, { name: 'zoe', age: 9 });
    view.pupils.at(0).age = 8;
    expect(Class.read(buf)).toEqual({
      room: 0,
      pupils: [
        { name: '', age: 8 },
        { name: 'zoe', age: 9 },
      ],
    });
    expect(view.pupils.column('age')).toEqual(new Int32Array([8, 9]));
  });
});
