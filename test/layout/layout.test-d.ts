import { describe, expectTypeOf, it } from 'vitest';
import {
  array,
  bool,
  bytes,
  char,
  float64,
  int32,
  int64,
  struct,
  uint64,
  uint8,
  union,
  type Infer,
  type InferInput,
  type Cursor,
  type RecordView,
  type StructArray,
} from '../../src/layout/index.js';

const Student = struct({ name: char(4), age: int32 });

describe('inferred types', () => {
  it('infers the seeds record', () => {
    type Student = Infer<typeof Student>;
    expectTypeOf<Student>().toEqualTypeOf<{ name: string; age: number }>();
    expectTypeOf(Student.infer).toEqualTypeOf<{ name: string; age: number }>();
    expectTypeOf(Student.read(Buffer.alloc(8))).toEqualTypeOf<{ name: string; age: number }>();
  });

  it('infers bigint, boolean, bytes, arrays and nested records', () => {
    const Rich = struct({
      id: int64,
      count: uint64,
      ok: bool,
      raw: bytes(4),
      scores: array(float64, 3),
      pos: struct({ x: int32, y: int32 }),
      pupils: array(Student, 2),
      grid: array(array(uint8, 2), 2),
    });
    expectTypeOf(Rich.size).toEqualTypeOf<number>();
    expectTypeOf<Infer<typeof Rich>>().toEqualTypeOf<{
      id: bigint;
      count: bigint;
      ok: boolean;
      raw: Uint8Array;
      scores: number[];
      pos: { x: number; y: number };
      pupils: { name: string; age: number }[];
      grid: number[][];
    }>();
  });

  it('types a union write as exactly one member', () => {
    const U = union({ a: int32, b: char(4) });
    expectTypeOf<Infer<typeof U>>().toEqualTypeOf<{ a: number; b: string }>();
    U.write(Buffer.alloc(4), 0, { a: 1 });
    U.write(Buffer.alloc(4), 0, { b: 'x' });
    // @ts-expect-error: two members at once
    U.write(Buffer.alloc(4), 0, { a: 1, b: 'x' });
    expectTypeOf<InferInput<typeof U>>().toEqualTypeOf<
      ({ a: number } & { b?: undefined }) | ({ b: string } & { a?: undefined })
    >();
  });
});

describe('compile-time errors in user code', () => {
  it('rejects a wrong field name or value type', () => {
    const buf = Buffer.alloc(8);
    // @ts-expect-error: age must be a number
    Student.write(buf, 0, { name: 'a', age: '1' });
    // @ts-expect-error: a missing field
    Student.write(buf, 0, { name: 'a' });
    // @ts-expect-error: no such field
    Student.offsetOf('height');
    const view = Student.view(buf);
    // @ts-expect-error: no such field on the view
    view.height = 1;
    // @ts-expect-error: age is a number
    view.age = 'old';
    view.age += 1;
    const Big = struct({ id: int64 });
    // @ts-expect-error: 64-bit fields take bigint
    Big.write(Buffer.alloc(8), 0, { id: 1 });
  });
});

describe('live views and arrays', () => {
  it('types views, StructArray and columns', () => {
    const Class = struct({ room: uint8, pupils: array(Student, 2), pos: struct({ x: int32 }), raw: bytes(2) });
    const view = Class.view(Buffer.alloc(Class.size));
    expectTypeOf(view.room).toEqualTypeOf<number>();
    expectTypeOf(view.pupils).toEqualTypeOf<StructArray<typeof Student>>();
    expectTypeOf(view.pupils.at(0).age).toEqualTypeOf<number>();
    expectTypeOf(view.pos.x).toEqualTypeOf<number>();
    expectTypeOf(view.raw).toEqualTypeOf<Uint8Array>();
    expectTypeOf(view.toJSON()).toEqualTypeOf<Infer<typeof Class>>();
    // @ts-expect-error: nested records are changed through their members, not replaced
    view.pos = { x: 1 };

    const students = Student.array(Buffer.alloc(16));
    expectTypeOf(students.get(0)).toEqualTypeOf<{ name: string; age: number }>();
    expectTypeOf(students.toArray()).toEqualTypeOf<{ name: string; age: number }[]>();
    expectTypeOf(students.column('age')).toEqualTypeOf<Int32Array>();
    expectTypeOf(struct({ id: int64 }).array(Buffer.alloc(8)).column('id')).toEqualTypeOf<BigInt64Array>();
    // @ts-expect-error: a char field has no numeric column
    students.column('name');
    for (const s of students) expectTypeOf(s.name).toEqualTypeOf<string>();
  });

  it('types cursors, forEach, toArray and set from a view', () => {
    const students = Student.array(Buffer.alloc(16));
    const cursor = students.cursor();
    expectTypeOf(cursor).toEqualTypeOf<Cursor<RecordView<{ name: ReturnType<typeof char>; age: typeof int32 }>>>();
    expectTypeOf(cursor.length).toEqualTypeOf<number>();
    expectTypeOf(cursor.at(0).age).toEqualTypeOf<number>();
    expectTypeOf(cursor.at(0).name).toEqualTypeOf<string>();
    cursor.at(0).age = 3;
    // @ts-expect-error: a char field takes a string
    cursor.at(0).name = 3;
    students.forEach((s, i) => {
      expectTypeOf(s.age).toEqualTypeOf<number>();
      expectTypeOf(i).toEqualTypeOf<number>();
    });
    expectTypeOf(students.toArray()).toEqualTypeOf<{ name: string; age: number }[]>();
    students.set(0, students.at(1));
    students.set(0, { name: 'a', age: 1 });
    // @ts-expect-error: a value without every member
    students.set(0, { name: 'a' });
    const list = struct({ xs: array(int32, 2) }).view(Buffer.alloc(8)).xs;
    expectTypeOf(list.cursor().at(0)).toEqualTypeOf<number>();
  });
});
