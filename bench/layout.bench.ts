/**
 * Layout benchmarks: 1e6 `struct student { char name[4]; int32_t age; }` records in one Buffer, each operation
 * timed against the fastest hand-written code for the same bytes (DataView at fixed offsets, the 4-byte name
 * decoded byte by byte with String.fromCharCode: no TextDecoder, no Buffer.write).
 *
 * Real programs use several record types, and a call site shared by several types goes megamorphic in V8. So every
 * memmap row here runs with THREE record types alive, each warmed up through the same API (get, set, at, forEach,
 * for-of, cursor, toArray, read, write) before anything is measured. The same rows measured in a fresh process where
 * Student is the only record type are printed beside them as "(1 type: upper bound)": what the JIT gives when every
 * call site sees one type, never the figure to quote.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  char,
  float64,
  int32,
  int64,
  struct,
  uint16,
  uint8,
  type StructArray,
  type AnyFieldType,
} from '../src/layout/index.ts';
import { measure, type BenchTable, type Measurement } from './harness.ts';

/** The part of restructure's API used here (it ships no types). */
interface Restructure {
  Struct: new (fields: Record<string, unknown>) => RestructureType;
  Array: new (type: RestructureType, length: number) => RestructureType;
  String: new (length: number, encoding?: string) => unknown;
  int32le: unknown;
}
interface RestructureType {
  fromBuffer(buffer: Uint8Array): unknown;
  toBuffer(value: unknown): Uint8Array;
}

const N = 1_000_000;
const Student = struct({ name: char(4), age: int32 });
type Student = typeof Student.infer;
/** CPU time, fastest of 15: the layout rows are CPU-bound in this process (see MeasureOptions.cpu). */
const opts = { runs: 15, warmup: 2, cpu: true };
/**
 * The same for the loops over live views (field and iterate tables), without a gc() before each run: they allocate
 * nothing, and on Node 24 a full collection threw their optimized code away (see MeasureOptions.gc), so each run
 * measured V8's re-optimization instead of the loop as a program's hot loop runs.
 */
const steady = { ...opts, gc: false };
const slow = { runs: 1, warmup: 1 };
const SINGLE = process.env.MEMMAP_BENCH_SINGLE_TYPE === '1';

/** Hand-written read of a char[4]: byte by byte, stopping at the first NUL. */
function readName(dv: DataView, offset: number): string {
  let text = '';
  for (let i = 0; i < 4; i++) {
    const byte = dv.getUint8(offset + i);
    if (byte === 0) break;
    text += String.fromCharCode(byte);
  }
  return text;
}

/** Hand-written write of a char[4] (the caller's names are ASCII and fit: no check, as one would write it). */
function writeName(dv: DataView, offset: number, name: string): void {
  for (let i = 0; i < 4; i++) dv.setUint8(offset + i, i < name.length ? name.charCodeAt(i) : 0);
}

/** A checked write of one Student, by hand: what memmap's generated `set` checks, for this struct only. */
function checkedWrite(dv: DataView, offset: number, value: unknown): void {
  if (typeof value !== 'object' || value === null) throw new TypeError('not an object');
  const { name, age } = value as { name: unknown; age: unknown };
  if (typeof name !== 'string' || name.length > 4) throw new TypeError('name: not a string of 4 characters');
  for (let i = 0; i < name.length; i++)
    if ((name.charCodeAt(i) - 1) >>> 0 >= 0x7f) throw new RangeError('name: not ASCII');
  if (typeof age !== 'number' || (age | 0) !== age) throw new RangeError('age: not an int32');
  writeName(dv, offset, name);
  dv.setInt32(offset + 4, age, true);
}

/**
 * The shapes of code memmap's iteration rows run, written by hand with no memmap in them: one object moved along the
 * records with a getter (a cursor), a new such object per record (`at(i)`), a callback loop (`forEach`) and an
 * iterator (`for...of`). Each is used by one call site and one callback, so V8 sees them at their best: they are
 * the bound V8 sets for each shape, against which memmap's rows are to be read.
 */
class PlainRecord {
  dv: DataView;
  o: number;
  constructor(dv: DataView, o: number) {
    this.dv = dv;
    this.o = o;
  }
  get age(): number {
    return this.dv.getInt32(this.o + 4, true);
  }
}

function plainForEach(dv: DataView, n: number, callback: (record: PlainRecord) => void): void {
  const record = new PlainRecord(dv, 0);
  for (let i = 0; i < n; i++) {
    record.o = i * 8;
    callback(record);
  }
}

class PlainIterator {
  readonly #record: PlainRecord;
  readonly #end: number;
  #o = 0;
  constructor(dv: DataView, n: number) {
    this.#record = new PlainRecord(dv, 0);
    this.#end = n * 8;
  }
  next(): IteratorResult<PlainRecord> {
    const o = this.#o;
    const done = o >= this.#end;
    const record = this.#record;
    if (!done) {
      this.#o = o + 8;
      record.o = o;
    }
    return { done, value: record } as IteratorResult<PlainRecord>;
  }
  [Symbol.iterator](): this {
    return this;
  }
}

let sink = 0;
function use(value: unknown): void {
  sink += value === undefined ? 0 : 1;
}

/** The two other record types a program has alive, filled and used through the same API as Student. */
function otherTypes(): {
  arrays: StructArray<AnyFieldType>[];
  types: { read(b: Buffer, o: number): unknown; write(b: Buffer, o: number, v: never): void; size: number }[];
  buffers: Buffer[];
} {
  const Point = struct({ x: float64, y: float64, id: int32 });
  const Event = struct({ at: int64, kind: uint8, code: uint16, tag: char(8) });
  const points = Buffer.alloc(N * Point.size);
  const events = Buffer.alloc(N * Event.size);
  const pointArray = Point.array(points);
  const eventArray = Event.array(events);
  for (let i = 0; i < N; i++) {
    pointArray.set(i, { x: i, y: -i, id: i });
    eventArray.set(i, { at: BigInt(i), kind: i & 0xff, code: i & 0xffff, tag: 'ev' });
  }
  return {
    arrays: [pointArray, eventArray],
    types: [Point, Event] as never,
    buffers: [points, events],
  };
}

/**
 * Runs every StructArray and struct method over every type, through one call site each, until V8 has optimized
 * them: afterwards every shared site in memmap has seen all three types (and would be megamorphic if it were shared).
 */
function warmUp(
  arrays: StructArray<AnyFieldType>[],
  types: { read(b: Buffer, o: number): unknown; write(b: Buffer, o: number, v: never): void; size: number }[],
  buffers: Buffer[],
): void {
  for (let round = 0; round < 3; round++) {
    for (let t = 0; t < arrays.length; t++) {
      const a = arrays[t]!;
      const type = types[t]!;
      const buffer = buffers[t]!;
      const n = Math.min(a.length, 200_000);
      let count = 0;
      for (let i = 0; i < n; i++) a.set(i, a.get(i));
      for (let i = 0; i < n; i++) if (a.at(i) !== undefined) count++;
      a.forEach((v) => (count += v === undefined ? 0 : 1));
      for (const v of a) count += v === undefined ? 0 : 1;
      const cursor = a.cursor();
      for (let i = 0; i < n; i++) count += cursor.at(i) === undefined ? 0 : 1;
      for (let i = 0; i < n; i++) type.write(buffer, i * type.size, type.read(buffer, i * type.size) as never);
      count += a.subarray(0, 1000).toArray().length;
      use(count);
    }
  }
}

/** The memmap rows of every table, for Student; run once with three types alive and once (child) with one. */
async function memmapRows(
  students: StructArray<typeof Student>,
  buffer: Buffer,
  inputs: Student[],
  n: number,
): Promise<Record<string, Measurement[]>> {
  return {
    get: [
      await measure(
        'StructArray.get(i)',
        () => {
          let total = 0;
          for (let i = 0; i < n; i++) {
            const s = students.get(i);
            total += s.age + s.name.length;
          }
          use(total);
        },
        opts,
      ),
      await measure(
        'Student.read(buf, offset)',
        () => {
          let total = 0;
          for (let i = 0; i < n; i++) {
            const s = Student.read(buffer, i * 8);
            total += s.age + s.name.length;
          }
          use(total);
        },
        opts,
      ),
    ],
    set: [
      await measure(
        'StructArray.set(i, v) (checked)',
        () => {
          for (let i = 0; i < n; i++) students.set(i, inputs[i]!);
        },
        opts,
      ),
      await measure(
        'Student.write(buf, offset, v) (checked)',
        () => {
          for (let i = 0; i < n; i++) Student.write(buffer, i * 8, inputs[i]!);
        },
        opts,
      ),
      await measure(
        'cursor: c.at(i).name = n; c.at(i).age = a (checked)',
        () => {
          const c = students.cursor();
          for (let i = 0; i < n; i++) {
            const v = inputs[i]!;
            const s = c.at(i);
            s.name = v.name;
            s.age = v.age;
          }
        },
        opts,
      ),
    ],
    field: [
      await measure(
        'students.at(i).age += 1',
        () => {
          for (let i = 0; i < n; i++) students.at(i).age += 1;
        },
        steady,
      ),
      await measure(
        'cursor: c.at(i).age += 1',
        () => {
          const c = students.cursor();
          for (let i = 0; i < n; i++) c.at(i).age += 1;
        },
        steady,
      ),
    ],
    iterate: [
      await measure(
        'students.at(i).age',
        () => {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += students.at(i).age;
          use(sum);
        },
        steady,
      ),
      await measure(
        'students.forEach((s) => s.age)',
        () => {
          let sum = 0;
          students.forEach((s) => (sum += s.age));
          use(sum);
        },
        steady,
      ),
      await measure(
        'for (const s of students) s.age',
        () => {
          let sum = 0;
          for (const s of students) sum += s.age;
          use(sum);
        },
        steady,
      ),
      await measure(
        'cursor: c.at(i).age',
        () => {
          let sum = 0;
          const c = students.cursor();
          for (let i = 0; i < n; i++) sum += c.at(i).age;
          use(sum);
        },
        steady,
      ),
      await measure(
        'students.column("age") (copy), summed',
        () => {
          let sum = 0;
          const ages = students.column('age');
          for (let i = 0; i < ages.length; i++) sum += ages[i]!;
          use(sum);
        },
        steady,
      ),
    ],
  };
}

/**
 * The hand-written baselines. The loop bound comes in as a parameter here as in memmapRows: a module-level \`const\`
 * read inside a closure keeps V8's uninitialized-variable check in the loop, which stops loop peeling for memmap's
 * inlined accessors (not for these loops, which have nothing to hoist), so a module constant would measure that.
 */
async function handRows(
  dv: DataView,
  inputs: Student[],
  n: number,
): Promise<Record<'get' | 'set' | 'field' | 'iterate', Measurement>> {
  return {
    get: await measure(
      'hand-written DataView',
      () => {
        let total = 0;
        for (let i = 0; i < n; i++) {
          const s = { name: readName(dv, i * 8), age: dv.getInt32(i * 8 + 4, true) };
          total += s.age + s.name.length;
        }
        use(total);
      },
      opts,
    ),
    set: await measure(
      'hand-written DataView',
      () => {
        for (let i = 0; i < n; i++) {
          const v = inputs[i]!;
          writeName(dv, i * 8, v.name);
          dv.setInt32(i * 8 + 4, v.age, true);
        }
      },
      opts,
    ),
    field: await measure(
      'hand-written DataView',
      () => {
        for (let i = 0; i < n; i++) dv.setInt32(i * 8 + 4, dv.getInt32(i * 8 + 4, true) + 1, true);
      },
      steady,
    ),
    iterate: await measure(
      'hand-written DataView',
      () => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += dv.getInt32(i * 8 + 4, true);
        use(sum);
      },
      steady,
    ),
  };
}

function studentData(): { buffer: Buffer; students: StructArray<typeof Student>; inputs: Student[] } {
  const buffer = Buffer.alloc(N * Student.size);
  const students = Student.array(buffer);
  const names = ['ann', 'bob', 'cy', 'dora'];
  // Ages below 1024: a sum over 1e6 records stays a small integer (Smi), in the hand-written loops and in a forEach
  // callback alike. A captured accumulator that left the Smi range would allocate a heap number at every step on
  // Node 20: the cost of the closure, not of the records.
  const inputs: Student[] = Array.from({ length: N }, (_, i) => ({ name: names[i & 3]!, age: i & 0x3ff }));
  for (let i = 0; i < N; i++) students.set(i, inputs[i]!);
  return { buffer, students, inputs };
}

/** In the child: Student only, nothing else. Prints the rows as JSON on stdout. */
async function singleTypeChild(): Promise<void> {
  const { buffer, students, inputs } = studentData();
  const rows = await memmapRows(students, buffer, inputs, N);
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

/** The same rows in a fresh process where Student is the only record type (undefined if it cannot run). */
function singleTypeRows(): Record<string, Measurement[]> | undefined {
  const result = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, MEMMAP_BENCH_SINGLE_TYPE: '1' },
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const line = result.stdout.trim().split('\n').pop();
  if (result.status !== 0 || !line) return undefined;
  return JSON.parse(line) as Record<string, Measurement[]>;
}

export default async function (): Promise<BenchTable[]> {
  const { buffer, students, inputs } = studentData();
  const dv = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const others = otherTypes();
  warmUp([students, ...others.arrays], [Student, ...others.types], [buffer, ...others.buffers]);
  const objects: Student[] = students.toArray();
  const ages = students.column('age');

  const require = createRequire(import.meta.url);
  const r = require('restructure') as Restructure;
  const RStudent = new r.Struct({ name: new r.String(4, 'ascii'), age: r.int32le });
  const RStudents = new r.Array(RStudent, N);

  const hand = await handRows(dv, inputs, N);
  const multi = await memmapRows(students, buffer, inputs, N);
  const peers = {
    get: [
      await measure('restructure decode', () => use(RStudents.fromBuffer(buffer)), slow),
      await measure(
        'JS array of objects (copy)',
        () => {
          let total = 0;
          for (let i = 0; i < N; i++) {
            const o = objects[i]!;
            const s = { name: o.name, age: o.age };
            total += s.age + s.name.length;
          }
          use(total);
        },
        opts,
      ),
    ],
    set: [
      // The checks memmap's set makes, written by hand for this one struct: each member read once, the name a
      // string of at most 4 ASCII characters (1..127), the age an int32 number; a failure throws. What V8 gives a
      // checked write at all, against which memmap's checked set is to be read (the hand-written row checks nothing).
      await measure(
        'plain JS, no memmap: the same checks, by hand (V8 bound for a checked set)',
        () => {
          for (let i = 0; i < N; i++) checkedWrite(dv, i * 8, inputs[i]!);
        },
        opts,
      ),
      await measure('restructure encode', () => use(RStudents.toBuffer(inputs)), slow),
      await measure(
        'JS array of objects (assign)',
        () => {
          for (let i = 0; i < N; i++) objects[i] = inputs[i]!;
        },
        opts,
      ),
    ],
    field: [
      await measure(
        'JS array of objects',
        () => {
          for (let i = 0; i < N; i++) objects[i]!.age += 1;
        },
        steady,
      ),
    ],
    iterate: [
      await measure(
        'plain JS, no memmap: new { dv, o } object per record, .age getter (V8 bound for at(i))',
        () => {
          let sum = 0;
          for (let i = 0; i < N; i++) sum += new PlainRecord(dv, i * 8).age;
          use(sum);
        },
        steady,
      ),
      await measure(
        'plain JS, no memmap: one { dv, o } object moved along (V8 bound for a cursor)',
        () => {
          let sum = 0;
          const record = new PlainRecord(dv, 0);
          for (let i = 0; i < N; i++) {
            record.o = i * 8;
            sum += record.age;
          }
          use(sum);
        },
        steady,
      ),
      await measure(
        'plain JS, no memmap: forEach-style loop + callback (V8 bound for forEach)',
        () => {
          let sum = 0;
          plainForEach(dv, N, (record) => (sum += record.age));
          use(sum);
        },
        steady,
      ),
      await measure(
        'plain JS, no memmap: iterator object, for-of (V8 bound for for-of)',
        () => {
          let sum = 0;
          for (const record of new PlainIterator(dv, N)) sum += record.age;
          use(sum);
        },
        steady,
      ),
      // V8's own callback and iterator loops over an Int32Array of the ages: what a forEach or for-of reaches in V8
      // at all, against which memmap's forEach and for-of are to be read.
      await measure(
        'V8 builtin: Int32Array forEach((a) => sum += a)',
        () => {
          let sum = 0;
          ages.forEach((a) => (sum += a));
          use(sum);
        },
        steady,
      ),
      await measure(
        'V8 builtin: for (const a of Int32Array) sum += a',
        () => {
          let sum = 0;
          for (const a of ages) sum += a;
          use(sum);
        },
        steady,
      ),
      await measure(
        'JS array of objects, for-of',
        () => {
          let sum = 0;
          for (const o of objects) sum += o.age;
          use(sum);
        },
        steady,
      ),
    ],
  };
  if (sink === 42) console.log('');

  const single = singleTypeRows();
  const rows = (key: 'get' | 'set' | 'field' | 'iterate'): Measurement[] => [
    hand[key],
    ...multi[key]!.flatMap((row) => {
      const bound = single?.[key]?.find((s) => s.name === row.name);
      return bound ? [row, { name: `${row.name} (1 type: upper bound)`, ms: bound.ms }] : [row];
    }),
    ...peers[key],
  ];
  const note =
    `${N.toLocaleString('en')} records of struct { char name[4]; int32_t age; } (8 bytes) in one Buffer, with three ` +
    `record types alive and warmed up through the same API; "(1 type: upper bound)" rows ran in a process with ` +
    `Student alone. Fastest of ${opts.runs} runs in process CPU time (restructure: median wall time of ${slow.runs}). Ratio > 1 is faster than the baseline.`;
  return [
    {
      title: 'layout: get (read every record into an object)',
      baseline: 'hand-written DataView',
      rows: rows('get'),
      note,
    },
    { title: 'layout: set (write every record from an object)', baseline: 'hand-written DataView', rows: rows('set') },
    { title: 'layout: view field (age += 1 on every record)', baseline: 'hand-written DataView', rows: rows('field') },
    {
      title: 'layout: iterate (sum of age over every record, live views)',
      baseline: 'hand-written DataView',
      rows: rows('iterate'),
    },
  ];
}

if (SINGLE) await singleTypeChild();
