/**
 * forEach loops compiled per callback text (src/layout/callback-loops.ts) and the iterator's single-literal next():
 * every kind of callable gets the right records, whatever its text says or its toString claims, the cache stays
 * bounded, and errors (a throwing callback, a detached buffer, a non-function) come out as they did.
 */
import { describe, expect, it } from 'vitest';
import { CallbackLoops, LOOPS_PER_TYPE, type Loop } from '../../src/layout/callback-loops.js';
import { generatedSource } from '../../src/layout/codegen.js';
import { array, char, float64, int32, struct } from '../../src/layout/index.js';
import { MappedFile } from '../../src/mapped-file.js';
import { scriptReport } from '../helpers/child.js';
import { useTempDir } from '../helpers/temp.js';
import { outcome } from '../helpers/thrown.js';

const tmp = useTempDir();
const Student = struct({ name: char(4), age: int32 });
/** More records than the size from which forEach takes a loop of its own (256). */
const MANY = 1000;

const code = outcome;

function filled(count: number) {
  const buf = Buffer.alloc(count * Student.size);
  const students = Student.array(buf);
  for (let i = 0; i < count; i++) students.set(i, { name: `s${i % 100}`, age: i });
  return { buf, students };
}

/** 0 + 1 + ... + (n - 1), times k. */
function sumTo(n: number, k = 1): number {
  return (k * n * (n - 1)) / 2;
}

describe('forEach with a loop per callback text', () => {
  it('closures of one literal capturing different variables each get their own records and state', () => {
    const a = filled(MANY).students;
    const b = filled(MANY * 2).students;
    const sums: number[] = [];
    const counters: (() => number)[] = [];
    for (const [array, scale] of [
      [a, 1],
      [b, 3],
      [a, 5],
    ] as const) {
      let sum = 0;
      array.forEach((s) => (sum += s.age * scale)); // one literal, three closures, different captures
      sums.push(sum);
      counters.push(() => sum);
    }
    expect(sums).toEqual([sumTo(MANY), sumTo(MANY * 2, 3), sumTo(MANY, 5)]);
    expect(counters.map((c) => c())).toEqual(sums);
  });

  it('passes the index, moves one view, and writes through it', () => {
    const { students } = filled(MANY);
    const seen = new Set<unknown>();
    let indexSum = 0;
    students.forEach((s, i) => {
      seen.add(s);
      indexSum += i;
      s.age = -i;
    });
    expect(seen.size).toBe(1);
    expect(indexSum).toBe(sumTo(MANY));
    expect(students.get(MANY - 1).age).toBe(-(MANY - 1));
  });

  it('takes every kind of callable: bound, class method, static, native, and Proxy', () => {
    const { students } = filled(MANY);
    class Summer {
      total = 0;
      add(s: { age: number }): void {
        this.total += s.age;
      }
      static last = -1;
      static see = (_s: unknown, i: number): void => {
        Summer.last = i;
      };
    }
    const summer = new Summer();
    students.forEach(summer.add.bind(summer));
    expect(summer.total).toBe(sumTo(MANY));
    students.forEach(Summer.see);
    expect(Summer.last).toBe(MANY - 1);

    const indexes: number[] = [];
    const push = Array.prototype.push.bind(indexes) as (s: unknown, i: number) => void;
    students.forEach((s, i) => push(i, 0)); // an arrow calling a bound native
    expect(indexes).toHaveLength(MANY * 2);
    // A native function itself (its text is "function isInteger() { [native code] }"): called, nothing breaks.
    expect(code(() => students.forEach(Number.isInteger))).toBe('no error');
    expect(code(() => students.forEach(Object.freeze))).toBe('no error'); // freezes the view: private fields move
    expect(students.get(5).age).toBe(5);

    let calls = 0;
    const proxy = new Proxy((s: { age: number }) => s.age, {
      apply(target, self, args: [{ age: number }, number]) {
        calls++;
        return Reflect.apply(target, self, args) as number;
      },
    });
    students.forEach(proxy);
    expect(calls).toBe(MANY);

    const revocable = Proxy.revocable(() => undefined, {});
    revocable.revoke();
    expect(code(() => students.forEach(revocable.proxy))).toBe('uncoded TypeError: ' + revokedMessage());
  });

  it('never consults a patched toString (own or Function.prototype), and works when it throws', () => {
    const { students } = filled(MANY);
    let consulted = 0;
    const callback = (s: { age: number }) => (total += s.age);
    let total = 0;
    Object.defineProperty(callback, 'toString', {
      value: () => {
        consulted++;
        throw new Error('hostile toString');
      },
    });
    const original = Object.getOwnPropertyDescriptor(Function.prototype, 'toString')!;
    Object.defineProperty(Function.prototype, 'toString', {
      ...original,
      value: function hostile() {
        consulted++;
        throw new Error('hostile Function.prototype.toString');
      },
    });
    try {
      students.forEach(callback);
      students.forEach((s) => (total += s.age));
    } finally {
      Object.defineProperty(Function.prototype, 'toString', original);
    }
    expect(consulted).toBe(0);
    expect(total).toBe(sumTo(MANY, 2));
  });

  it('never calls a patched Map or WeakMap method to find the loop', () => {
    const { students } = filled(MANY);
    const patched = [Map.prototype, WeakMap.prototype].flatMap((prototype) =>
      (['get', 'set', 'has'] as const).map((name) => ({
        prototype,
        name,
        original: Object.getOwnPropertyDescriptor(prototype, name)!,
      })),
    );
    let consulted = 0;
    for (const { prototype, name, original } of patched)
      Object.defineProperty(prototype, name, {
        ...original,
        value: () => {
          consulted++;
          return 'not a loop';
        },
      });
    let total = 0;
    try {
      students.forEach((s) => (total += s.age));
      students.forEach((s) => (total -= 2 * s.age));
    } finally {
      for (const { prototype, name, original } of patched) Object.defineProperty(prototype, name, original);
    }
    expect(consulted).toBe(0);
    expect(total).toBe(-sumTo(MANY));
  });

  it('a function whose text is identical to another one shares its loop and still runs its own body', () => {
    const { students } = filled(MANY);
    const results: number[] = [];
    for (const factor of [2, 7]) {
      // new Function gives two unrelated functions with the same source text (and so the same cache entry).
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- two functions with one text is the case
      const make = new Function('out', 'factor', 'let s = 0; return [(r) => { s += r.age * factor; }, () => s];') as (
        out: unknown,
        factor: number,
      ) => unknown;
      const [callback, read] = make(results, factor) as [(r: unknown) => void, () => number];
      students.forEach(callback);
      results.push(read());
    }
    expect(results).toEqual([sumTo(MANY, 2), sumTo(MANY, 7)]);
  });

  it('past LOOPS_PER_TYPE texts, further callbacks take the shared loop and stay correct', () => {
    const { students } = filled(MANY);
    const count = LOOPS_PER_TYPE + 8;
    for (let k = 0; k < count; k++) {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- many distinct callback texts
      const make = new Function('box', `return (r) => { box.sum += r.age * ${k + 1}; };`) as (box: unknown) => unknown;
      const box = { sum: 0 };
      students.forEach(make(box) as (r: unknown) => void);
      expect(box.sum).toBe(sumTo(MANY, k + 1));
    }
  });

  it('a callback that throws: the error passes unchanged, and the next forEach starts afresh', () => {
    const { students } = filled(MANY);
    const thrown = new Error('from the callback');
    let caught: unknown;
    try {
      students.forEach((s, i) => {
        if (i === 500) throw thrown;
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(thrown);
    let count = 0;
    students.forEach(() => count++);
    expect(count).toBe(MANY);
    expect(code(() => students.forEach(null as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(code(() => students.forEach({} as never))).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('re-entrant forEach from inside a callback: each has its own view', () => {
    const { students } = filled(300);
    let pairs = 0;
    let outerAges = 0;
    students.forEach((outer, i) => {
      if (i % 100 !== 0) return;
      students.forEach((inner, j) => {
        pairs++;
        expect(inner.age).toBe(j);
      });
      outerAges += outer.age; // the outer view did not move with the inner one
    });
    expect(pairs).toBe(3 * 300);
    expect(outerAges).toBe(0 + 100 + 200);
  });

  it('generator, async and class callbacks, and a Proxy whose apply throws: as with a short array', async () => {
    const outcomes = (count: number) => {
      const { students } = filled(count);
      const seen: unknown[] = [];
      const log = (what: string, call: () => unknown) => {
        try {
          seen.push([what, call()]);
        } catch (error) {
          seen.push([what, error instanceof TypeError ? 'TypeError' : (error as Error).message]);
        }
      };
      let bodies = 0;
      log('generator', () =>
        students.forEach(function* () {
          bodies++; // never runs: calling a generator function only makes a generator
          yield 1;
        }),
      );
      const pending: Promise<unknown>[] = [];
      const later = async (s: { age: number }) => {
        await Promise.resolve();
        pending.push(Promise.resolve(s.age)); // the view moved on long ago: the age is the last record's
      };
      // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the attack: an async function as callback
      log('async', () => students.forEach(later));
      class Callback {
        age(): number {
          return 0;
        }
      }
      log('class', () => students.forEach(Callback as never));
      const trap = new Proxy(() => undefined, {
        apply() {
          throw new Error('trap');
        },
      });
      log('proxy', () => students.forEach(trap));
      return { seen, bodies, pending };
    };
    const long = outcomes(MANY);
    const short = outcomes(10);
    expect(long.seen).toEqual(short.seen);
    expect(long.seen).toEqual([
      ['generator', undefined],
      ['async', undefined],
      ['class', 'TypeError'],
      ['proxy', 'trap'],
    ]);
    expect([long.bodies, short.bodies]).toEqual([0, 0]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await Promise.all(long.pending)).toEqual(new Array<number>(MANY).fill(MANY - 1));
    expect(await Promise.all(short.pending)).toEqual(new Array<number>(10).fill(9));
  });

  it('a callback that closes the mapping of a MappedFile mid-loop: every later access is ERR_DETACHED_BUFFER', () => {
    const mapped = MappedFile.anonymous(MANY * Student.size);
    const students = Student.array(mapped.buffer);
    const codes: (string | undefined)[] = [];
    students.forEach((s, i) => {
      if (i === 10) mapped.close();
      if (i >= 9 && i <= 11)
        codes.push(
          code(() => (s.age = i)),
          code(() => s.name),
        );
    });
    expect(codes).toEqual(['no error', 'no error', ...new Array<string>(4).fill('ERR_DETACHED_BUFFER')]);
  });

  it('arrays of scalars and other record types take their own loops', () => {
    const Point = struct({ x: float64, y: float64 });
    const points = Point.array(Buffer.alloc(MANY * Point.size));
    points.forEach((p, i) => (p.x = i));
    let sum = 0;
    points.forEach((p) => (sum += p.x));
    expect(sum).toBe(sumTo(MANY));
    const List = struct({ values: array(int32, MANY) });
    const list = List.view(Buffer.alloc(List.size)).values;
    for (let i = 0; i < MANY; i++) list.set(i, i);
    let total = 0;
    list.forEach((v, i) => (total += v - i));
    list.forEach((v) => (total += v));
    expect(total).toBe(sumTo(MANY));
  });

  it('generatedSource shows the forEach loop and the cache', () => {
    const source = generatedSource(Student);
    expect(source).toContain('new CallbackLoops(');
    expect(source).toMatch(/function loop\(dv, base, length, callback\) \{/);
    expect(source).toContain('loops.loopFor(callback)(dv, 0, length, callback)');
  });
});

describe('CallbackLoops', () => {
  const body = 'function loop(dv, base, length, callback) { for (let i = 0; i < length; i++) callback(base + i); }';

  it('one loop per text, the same for a reused function, the shared loop once full', () => {
    const loops = new CallbackLoops(body, {});
    const f = (x: unknown) => x;
    const first = loops.loopFor(f);
    expect(loops.loopFor(f)).toBe(first);
    expect(loops.loopFor((y: unknown) => y)).not.toBe(first); // another text
    const made: Loop[] = [];
    for (let k = 0; made.length < LOOPS_PER_TYPE + 4; k++) {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- distinct texts
      made.push(loops.loopFor(new Function(`return ${k};`)));
    }
    expect(loops.size).toBe(LOOPS_PER_TYPE);
    const overflow = made.slice(LOOPS_PER_TYPE - 2);
    expect(new Set(overflow).size).toBe(1); // all past the bound: the one shared loop
    const seen: number[] = [];
    overflow[0]!(new DataView(new ArrayBuffer(0)), 10, 3, (x) => seen.push(x as number));
    expect(seen).toEqual([10, 11, 12]);
  });
});

describe('the iterator', () => {
  it('steps through every record, then reports done with the view left on the last one', () => {
    const { students } = filled(3);
    const iterator = students[Symbol.iterator]();
    const ages: number[] = [];
    for (let step = iterator.next(); !step.done; step = iterator.next()) ages.push(step.value.age);
    expect(ages).toEqual([0, 1, 2]);
    const after = iterator.next();
    expect(after.done).toBe(true);
    expect((after.value as { age: number }).age).toBe(2);
    expect(Student.array(Buffer.alloc(0))[Symbol.iterator]().next()).toEqual({ done: true, value: undefined });
    expect(students.subarray(1, 1)[Symbol.iterator]().next()).toEqual({ done: true, value: undefined });
  });

  it('for-of with break, spread and Array.from see each record once', () => {
    const { students } = filled(MANY);
    let visited = 0;
    for (const s of students) {
      if (s.age === 10) break;
      visited++;
    }
    expect(visited).toBe(10);
    expect(Array.from(students, (s) => s.age)).toEqual(Array.from({ length: MANY }, (_, i) => i));
    expect(new Set([...students]).size).toBe(1);
  });
});

describe('a buffer detached by the callback itself', () => {
  it('the next access throws ERR_DETACHED_BUFFER, in optimized code too (in a child: a crash ends only it)', async () => {
    const report = await scriptReport(
      tmp,
      'detach-in-foreach',
      `
import { struct, char, int32 } from __SRC__;
const Student = struct({ name: char(4), age: int32 });
const out: string[] = [];
// Many rounds, so that the loop and the callback are optimized (and inlined) before the detach comes.
for (let round = 0; round < 60; round++) {
  const ab = new ArrayBuffer(20_000 * Student.size);
  const students = Student.array(ab);
  let sum = 0;
  const detachAt = round < 50 ? -1 : 15_000;
  try {
    students.forEach((s, i) => {
      if (i === detachAt) structuredClone(ab, { transfer: [ab] });
      sum += s.age;
    });
    out.push('done');
  } catch (error) {
    out.push((error as { code?: string }).code ?? 'uncoded ' + String(error));
  }
  try {
    let n = 0;
    for (const s of students) n += s.age;
    out.push(round < 50 ? 'ok' : 'iterated a detached buffer');
  } catch (error) {
    out.push((error as { code?: string }).code ?? 'uncoded ' + String(error));
  }
}
console.log(JSON.stringify([...new Set(out)]));
`,
    );
    expect(JSON.parse(report)).toEqual(['done', 'ok', 'ERR_DETACHED_BUFFER']);
  });
});

describe('what the loop cache keeps alive', () => {
  it('holds the first closure of a text until two more have run, then none (a one-off function stays held)', async () => {
    const report = await scriptReport(
      tmp,
      'retention',
      `
import { struct, int32 } from __SRC__;
const Row = struct({ v: int32 });
const rows = Row.array(new ArrayBuffer(1000 * Row.size));
const refs: WeakRef<object>[] = [];
function visit() {
  const captured = { big: new Array(1000).fill(1) };
  refs.push(new WeakRef(captured));
  let n = 0;
  rows.forEach(() => (n += captured.big.length > 0 ? 1 : 0)); // one text, a new closure each call
  return n;
}
async function alive() {
  await new Promise((resolve) => setTimeout(resolve, 0)); // WeakRefs are cleared only between jobs
  globalThis.gc!();
  return refs.map((ref) => ref.deref() !== undefined);
}
const out: boolean[][] = [];
visit();
out.push(await alive()); // the first closure is held (see callback-loops.ts)
visit();
out.push(await alive()); // still: the second closure ran while it was alive
visit();
out.push(await alive()); // the third releases it
const reused = { big: [1] };
const refReused = new WeakRef(reused);
let keep: ((row: unknown) => void) | undefined = (row) => void reused.big[0];
for (let i = 0; i < 3; i++) rows.forEach(keep);
keep = undefined;
await new Promise((resolve) => setTimeout(resolve, 0));
globalThis.gc!();
console.log(JSON.stringify({ out, reusedAlive: refReused.deref() !== undefined }));
`,
      [],
      { nodeArgs: ['--expose-gc'] },
    );
    const seen = JSON.parse(report) as { out: boolean[][]; reusedAlive: boolean };
    // Only what the cache decides is asserted: whether V8 still holds the later closures is its business.
    expect(seen.out.map((alive) => alive[0])).toEqual([true, true, false]);
    // A function used once and dropped: the first closure of its text, held until two more of that text run.
    expect(seen.reusedAlive).toBe(true);
  });
});

/** V8's message for a call of a revoked Proxy (read from V8, not written here). */
function revokedMessage(): string {
  const revocable = Proxy.revocable(() => undefined, {});
  revocable.revoke();
  try {
    (revocable.proxy as () => void)();
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}
