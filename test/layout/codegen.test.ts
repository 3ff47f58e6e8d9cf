/**
 * The generated access code: one StructArray subclass and one view class per record type, cursors that move one
 * view, set() from a live view, and source that stays readable (printed with MEMMAP_DEBUG_CODEGEN=1, or here).
 */
import { describe, expect, it } from 'vitest';
import { generatedSource } from '../../src/layout/codegen.js';
import { array, bytes, char, int32, struct, float64, uint8, union } from '../../src/layout/index.js';
import { outcome } from '../helpers/thrown.js';

const Student = struct({ name: char(4), age: int32 });
const Point = struct({ x: float64, y: float64 });

const code = outcome;

function filled(count: number) {
  const buf = Buffer.alloc(count * Student.size);
  const students = Student.array(buf);
  for (let i = 0; i < count; i++) students.set(i, { name: `s${i}`, age: i });
  return { buf, students };
}

describe('generated per type', () => {
  it('gives each record type its own array and view classes', () => {
    const students = Student.array(Buffer.alloc(16));
    const points = Point.array(Buffer.alloc(32));
    expect(students.constructor).not.toBe(points.constructor);
    expect(Object.getPrototypeOf(students.at(0))).not.toBe(Object.getPrototypeOf(points.at(0)));
    // Two arrays of one type share their class (so their call sites stay monomorphic).
    expect(Student.array(Buffer.alloc(8)).constructor).toBe(students.constructor);
  });

  it('gives two types with the same members their own compiled code (V8 would share one by source text)', () => {
    const A = struct({ x: int32, y: int32 });
    const B = struct({ x: int32, y: int32 });
    expect(generatedSource(A)).not.toBe(generatedSource(B));
    expect(A.array(Buffer.alloc(8)).constructor).not.toBe(B.array(Buffer.alloc(8)).constructor);
  });

  it('prints readable source: one line per member, the checks before the stores', () => {
    const source = generatedSource(Student);
    if (process.env.MEMMAP_DEBUG_CODEGEN === '1') console.log(source);
    expect(source).toContain('class View');
    expect(source).toContain('class ArrayClass extends StructArray');
    expect(source).toMatch(/get age\(\) \{\n.*\n.*o = this\.#o; return dv\.getInt32\(o \+ 4, true\)/);
    const checkAt = source.indexOf("badInteger(x1, path, 'age', 'int32')");
    const storeAt = source.indexOf('dv.setUint32(o + 0, r0_lo, true)');
    expect(checkAt).toBeGreaterThan(0);
    expect(storeAt).toBeGreaterThan(checkAt);
    expect(Math.max(...source.split('\n').map((line) => line.length))).toBeLessThanOrEqual(200);
  });
});

describe('cursors', () => {
  it('forEach and for-of move one view; at(i) views stay where they were taken', () => {
    const { students } = filled(3);
    const seen: unknown[] = [];
    const ages: number[] = [];
    students.forEach((s, i) => {
      seen.push(s);
      ages.push(s.age);
      s.age = i * 10; // writes through the moving view land on the current record
    });
    expect(new Set(seen).size).toBe(1);
    expect(ages).toEqual([0, 1, 2]);
    expect(students.toArray().map((s) => s.age)).toEqual([0, 10, 20]);
    const first = students.at(0);
    for (const s of students) {
      expect(s).not.toBe(first);
      expect(first.name).toBe('s0');
    }
    expect(Array.from(students, (s) => s.name)).toEqual(['s0', 's1', 's2']);
  });

  it('cursor() moves by hand and reads and writes the record it is on', () => {
    const { students } = filled(4);
    const cursor = students.cursor();
    expect(cursor.length).toBe(4);
    const view = cursor.at(2);
    expect(view.name).toBe('s2');
    expect(cursor.at(3)).toBe(view);
    view.age = 99;
    expect(students.get(3).age).toBe(99);
    expect(view.toJSON()).toEqual({ name: 's3', age: 99 });
  });

  it('a cursor and an iteration over a detached buffer throw ERR_DETACHED_BUFFER', () => {
    const ab = new ArrayBuffer(16);
    const students = Student.array(ab);
    const cursor = students.cursor();
    structuredClone(ab, { transfer: [ab] });
    expect(code(() => cursor.at(0).age)).toBe('ERR_DETACHED_BUFFER');
    expect(code(() => students.forEach((s) => s.age))).toBe('ERR_DETACHED_BUFFER');
    expect(code(() => [...students].map((s) => s.age))).toBe('ERR_DETACHED_BUFFER');
  });

  it('the views a cursor and an iterator move are views of their own type only, and keep every check', () => {
    // The cursor and iterator classes live inside the View class and set its private offset directly: a Proxy of the
    // moved view, or the same-shaped view of another type, must still be refused, and bounds still hold.
    const Twin = struct({ name: char(4), age: int32 });
    const { students } = filled(3);
    const twins = Twin.array(Buffer.alloc(Twin.size * 3));
    twins.set(2, { name: 'tw', age: 7 });
    const twinAge = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(twins.at(0)) as object, 'age');
    const cursor = students.cursor();
    const moved = cursor.at(1);
    const iterated = students[Symbol.iterator]().next().value as { age: number };
    for (const view of [moved, iterated]) {
      expect(code(() => new Proxy(view, {}).age)).toBe('ERR_INVALID_THIS');
      expect(code(() => twinAge?.get?.call(view))).toBe('ERR_INVALID_THIS');
      expect(code(() => twinAge?.set?.call(view, 1))).toBe('ERR_INVALID_THIS');
    }
    expect(code(() => cursor.at(3).age)).toBe('ERR_OUT_OF_RANGE'); // past the end: found at the first access
    expect(code(() => cursor.at(-1))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => cursor.at(0.5))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => (cursor.at(0).age = 2 ** 31))).toBe('ERR_OUT_OF_RANGE');
    expect(moved.age).toBe(0); // the cursor is on record 0 again, and the rejected write changed nothing
    // another type's cursor moves its own view, not this one's
    expect(twins.cursor().at(2).age).toBe(7);
    expect(moved.name).toBe('s0');
    // a union's cursor and iterator too
    const Either = union({ small: uint8, big: int32 });
    const eithers = Either.array(Buffer.alloc(Either.size * 2));
    eithers.set(1, { big: 300 });
    expect(eithers.cursor().at(1).big).toBe(300);
    expect(Array.from(eithers, (e) => e.small)).toEqual([0, 44]);
  });

  it('arrays of scalars iterate values, and their cursor gives values', () => {
    const List = struct({ list: array(int32, 3) });
    const view = List.view(Buffer.alloc(12));
    view.list.set(1, 5);
    expect([...view.list]).toEqual([0, 5, 0]);
    expect(view.list.cursor().at(1)).toBe(5);
    const values: number[] = [];
    view.list.forEach((v) => values.push(v));
    expect(values).toEqual([0, 5, 0]);
  });
});

describe('writes without intermediate objects', () => {
  it('set(i, view) copies a record of the same type byte for byte, overlapping included', () => {
    const { students } = filled(3);
    students.set(0, students.at(2));
    expect(students.get(0)).toEqual({ name: 's2', age: 2 });
    const other = Student.array(Buffer.alloc(8));
    other.set(0, students.at(1));
    expect(other.get(0)).toEqual({ name: 's1', age: 1 });
    Student.write(Buffer.alloc(8), 0, students.at(1));
  });

  it('a view whose buffer is detached is ERR_DETACHED_BUFFER, and writes nothing', () => {
    const ab = new ArrayBuffer(8);
    const source = Student.array(ab);
    source.set(0, { name: 'gone', age: 1 });
    const view = source.at(0);
    structuredClone(ab, { transfer: [ab] });
    const { buf, students } = filled(1);
    const before = Buffer.from(buf);
    expect(code(() => students.set(0, view))).toBe('ERR_DETACHED_BUFFER');
    expect(buf).toEqual(before);
  });

  it('toArray copies every record', () => {
    const { students } = filled(3);
    const copies = students.toArray();
    copies[0]!.age = 1000;
    expect(students.get(0).age).toBe(0);
    expect(copies.map((s) => s.name)).toEqual(['s0', 's1', 's2']);
  });

  it("a bytes member shrunk, grown or detached by a later member's check: ERR_OUT_OF_RANGE, no byte written", () => {
    // The second member's `instanceof Uint8Array` meets a Proxy in its prototype chain, whose trap runs after the
    // first member was checked: the write used to copy what was left of it over the old bytes, a torn record.
    const Pair = struct({ a: bytes(4), b: bytes(2) });
    const buf = Buffer.alloc(Pair.size * 2, 9);
    const pairs = Pair.array(buf);
    const trapped = (attack: () => void): Uint8Array => {
      const b = new Uint8Array(2);
      const getPrototypeOf = () => (attack(), Uint8Array.prototype);
      Object.setPrototypeOf(b, new Proxy(Uint8Array.prototype, { getPrototypeOf }));
      return b;
    };
    type Resizable = ArrayBuffer & { resize(length: number): void };
    const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => Resizable;
    for (const to of [0, 1, 8]) {
      const buffer = new Resizable(4, { maxByteLength: 8 });
      const a = new Uint8Array(buffer); // tracks the buffer's length
      expect(code(() => pairs.set(0, { a, b: trapped(() => buffer.resize(to)) }))).toBe('ERR_OUT_OF_RANGE');
    }
    const moved = Uint8Array.of(1, 2, 3, 4);
    const detach = () => structuredClone(moved.buffer, { transfer: [moved.buffer] });
    expect(code(() => pairs.set(0, { a: moved, b: trapped(detach) }))).toBe('ERR_OUT_OF_RANGE');
    expect([...buf]).toEqual(new Array<number>(Pair.size * 2).fill(9));
    pairs.set(1, { a: Uint8Array.of(1, 2, 3, 4), b: trapped(() => undefined) });
    expect(pairs.get(1)).toEqual({ a: Uint8Array.of(1, 2, 3, 4), b: new Uint8Array(2) });
  });
});
