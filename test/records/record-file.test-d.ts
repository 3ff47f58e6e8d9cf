import { describe, expectTypeOf, it } from 'vitest';
import { char, int32, int64, RecordFile, struct, type Column, type FlushPolicy, type Infer } from '../../src/index.js';

const Student = struct({ name: char(4), age: int32, id: int64 });
type Student = Infer<typeof Student>;

describe('RecordFile types', () => {
  it('infers the record type from the struct', () => {
    const db = RecordFile.open('x.db', Student);
    expectTypeOf(db).toEqualTypeOf<RecordFile<typeof Student>>();
    expectTypeOf(db.get(0)).toEqualTypeOf<Student>();
    expectTypeOf(db.get(0)).toEqualTypeOf<{ name: string; age: number; id: bigint }>();
    expectTypeOf(db.pop()).toEqualTypeOf<Student | undefined>();
    expectTypeOf(db.slice()).toEqualTypeOf<Student[]>();
    expectTypeOf(db.find((s) => s.age > 1)).toEqualTypeOf<Student | undefined>();
    expectTypeOf([...db]).toEqualTypeOf<Student[]>();
    expectTypeOf<ReturnType<typeof db.push>>().toEqualTypeOf<number>();
    expectTypeOf(db.withLock((file) => file.length)).toEqualTypeOf<number>();
    expectTypeOf(db.flushAsync()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(db.toArray()).toEqualTypeOf<Student[]>();
    expectTypeOf<Parameters<typeof db.pushMany>[0]>().toEqualTypeOf<
      Iterable<{ name: string; age: number; id: bigint }>
    >();
    expectTypeOf(db.column('age')).toEqualTypeOf<Column>();
    expectTypeOf(db.columns()).toEqualTypeOf<Record<'name' | 'age' | 'id', Column>>();
    // @ts-expect-error not a field of the record
    db.column('nope');
  });

  it('live views have writable typed fields', () => {
    const db = RecordFile.open('x.db', Student);
    const view = db.at(0);
    expectTypeOf(view.age).toEqualTypeOf<number>();
    view.age += 1;
    view.id = 5n;
    // @ts-expect-error id is an int64: a bigint
    view.id = 5;
  });

  it('rejects wrong values and options at compile time', () => {
    const db = RecordFile.open('x.db', Student);
    // @ts-expect-error a record needs every field
    db.push({ name: 'a', age: 1 });
    // @ts-expect-error age is a number
    db.set(0, { name: 'a', age: '1', id: 1n });
    // @ts-expect-error 'rw' is not a mode
    RecordFile.open('x.db', Student, { mode: 'rw' });
    // @ts-expect-error not a flush policy
    RecordFile.open('x.db', Student, { flush: { every: 3 } });
    expectTypeOf<'manual'>().toExtend<FlushPolicy>();
    expectTypeOf<{ intervalMs: number }>().toExtend<FlushPolicy>();
  });
});
