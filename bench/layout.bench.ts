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
import { measure, measureTogether, type BenchTable, type Case, type Measurement } from './harness.ts';

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
/**
 * CPU time, fastest of 15 rounds: the layout rows are CPU-bound in this process (see MeasureOptions.cpu). The rows
 * of one table are timed in turns (see measureTogether), the hand-written baselines among them.
 */
const rounds = { runs: 15, warmup: 2 };
const opts = { cpu: true };
/**
 * The same for the loops over live views (field and iterate tables), without a gc() before each run: they allocate
 * nothing, and on Node 24 a full collection threw their optimized code away (see MeasureOptions.gc), so each run
 * measured V8's re-optimization instead of the loop as a program's hot loop runs.
 */
const steady = { cpu: true, gc: false };
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

/** Hand-written read of a char[4]: its bytes up to the first NUL, made into a string in one call. */
function readNameAtOnce(dv: DataView, o: number): string {
  const b0 = dv.getUint8(o);
  if (b0 === 0) return '';
  const b1 = dv.getUint8(o + 1);
  if (b1 === 0) return String.fromCharCode(b0);
  const b2 = dv.getUint8(o + 2);
  if (b2 === 0) return String.fromCharCode(b0, b1);
  const b3 = dv.getUint8(o + 3);
  return b3 === 0 ? String.fromCharCode(b0, b1, b2) : String.fromCharCode(b0, b1, b2, b3);
}

/** Hand-written write of a char[4] (the caller's names are ASCII and fit: no check, as one would write it). */
function writeName(dv: DataView, offset: number, name: string): void {
  for (let i = 0; i < 4; i++) dv.setUint8(offset + i, i < name.length ? name.charCodeAt(i) : 0);
}

/** The same, the characters packed into one little-endian 32-bit store (the rest of the word stays 0: the padding). */
function writeNamePacked(dv: DataView, offset: number, name: string): void {
  let word = 0;
  for (let i = 0; i < name.length; i++) word |= name.charCodeAt(i) << (8 * i);
  dv.setUint32(offset, word, true);
}

/**
 * A checked write of one Student, by hand: what memmap's generated `set` checks, for this struct only, in the
 * fastest form found (the name checked and packed in one pass, then both stores).
 */
function checkedWrite(dv: DataView, offset: number, value: unknown): void {
  if (typeof value !== 'object' || value === null) throw new TypeError('not an object');
  const { name, age } = value as { name: unknown; age: unknown };
  if (typeof name !== 'string' || name.length > 4) throw new TypeError('name: not a string of 4 characters');
  let word = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c - 1) >>> 0 >= 0x7f) throw new RangeError('name: not ASCII');
    word |= c << (8 * i);
  }
  if (typeof age !== 'number' || (age | 0) !== age) throw new RangeError('age: not an int32');
  dv.setUint32(offset, word, true);
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

/**
 * The same shapes with the index check memmap must make (an integer in [0, length), or a thrown error), written the
 * usual way (`if (...) throw`): what a checked `at(i)`, cursor and `set(i, v)` cost in plain JS. memmap's index
 * checks are required by its guarantees, so these are the bounds its checked rows are to be read against; the
 * unchecked rows above show what the check itself costs.
 */
class PlainArray {
  readonly dv: DataView;
  readonly length: number;
  readonly #cursor: PlainRecord;
  constructor(dv: DataView, length: number) {
    this.dv = dv;
    this.length = length;
    this.#cursor = new PlainRecord(dv, 0);
  }
  #check(i: number): void {
    if (typeof i !== 'number' || i >>> 0 !== i || i >= this.length) throw new RangeError('index out of range');
  }
  at(i: number): PlainRecord {
    this.#check(i);
    return new PlainRecord(this.dv, i * 8);
  }
  cursorAt(i: number): PlainRecord {
    this.#check(i);
    const record = this.#cursor;
    record.o = i * 8;
    return record;
  }
  set(i: number, value: unknown): void {
    this.#check(i);
    checkedWrite(this.dv, i * 8, value);
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

type Table = 'get' | 'set' | 'field' | 'iterate';
const TABLES: Table[] = ['get', 'set', 'field', 'iterate'];

/** The memmap rows of every table, for Student; run once with three types alive and once (child) with one. */
function memmapCases(
  students: StructArray<typeof Student>,
  buffer: Buffer,
  inputs: Student[],
  n: number,
): Record<Table, Case[]> {
  return {
    get: [
      {
        name: 'StructArray.get(i)',
        fn: () => {
          let total = 0;
          for (let i = 0; i < n; i++) {
            const s = students.get(i);
            total += s.age + s.name.length;
          }
          use(total);
        },
        options: opts,
      },
      {
        name: 'Student.read(buf, offset)',
        fn: () => {
          let total = 0;
          for (let i = 0; i < n; i++) {
            const s = Student.read(buffer, i * 8);
            total += s.age + s.name.length;
          }
          use(total);
        },
        options: opts,
      },
    ],
    set: [
      {
        name: 'StructArray.set(i, v) (checked)',
        fn: () => {
          for (let i = 0; i < n; i++) students.set(i, inputs[i]!);
        },
        options: opts,
      },
      {
        name: 'Student.write(buf, offset, v) (checked)',
        fn: () => {
          for (let i = 0; i < n; i++) Student.write(buffer, i * 8, inputs[i]!);
        },
        options: opts,
      },
      {
        name: 'cursor: c.at(i).name = n; c.at(i).age = a (checked)',
        fn: () => {
          const c = students.cursor();
          for (let i = 0; i < n; i++) {
            const v = inputs[i]!;
            const s = c.at(i);
            s.name = v.name;
            s.age = v.age;
          }
        },
        options: opts,
      },
    ],
    field: [
      {
        name: 'students.at(i).age += 1',
        fn: () => {
          for (let i = 0; i < n; i++) students.at(i).age += 1;
        },
        options: steady,
      },
      {
        name: 'cursor: c.at(i).age += 1',
        fn: () => {
          const c = students.cursor();
          for (let i = 0; i < n; i++) c.at(i).age += 1;
        },
        options: steady,
      },
    ],
    iterate: [
      {
        name: 'students.at(i).age',
        fn: () => {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += students.at(i).age;
          use(sum);
        },
        options: steady,
      },
      {
        name: 'students.forEach((s) => s.age)',
        fn: () => {
          let sum = 0;
          students.forEach((s) => (sum += s.age));
          use(sum);
        },
        options: steady,
      },
      // The same callback with its accumulator a \`var\`: a \`let\` captured by a closure keeps V8's
      // uninitialized-variable check (a load, a compare, a throw) in the callback, inlined into the loop, where a
      // \`var\` has none. The difference is the callback's, not the records': the plain-JS forEach pays it too.
      {
        name: 'students.forEach((s) => s.age), var accumulator',
        fn: () => {
          // eslint-disable-next-line no-var -- the row measures exactly this (see above)
          var sum = 0;
          students.forEach((s) => {
            sum += s.age;
          });
          use(sum);
        },
        options: steady,
      },
      {
        name: 'for (const s of students) s.age',
        fn: () => {
          let sum = 0;
          for (const s of students) sum += s.age;
          use(sum);
        },
        options: steady,
      },
      {
        name: 'cursor: c.at(i).age',
        fn: () => {
          let sum = 0;
          const c = students.cursor();
          for (let i = 0; i < n; i++) sum += c.at(i).age;
          use(sum);
        },
        options: steady,
      },
      {
        name: 'students.column("age") (copy), summed',
        fn: () => {
          let sum = 0;
          const ages = students.column('age');
          for (let i = 0; i < ages.length; i++) sum += ages[i]!;
          use(sum);
        },
        options: steady,
      },
    ],
  };
}

/** The name of every table's baseline: the fastest of its hand-written forms. */
const BASELINE = 'hand-written DataView';

/**
 * The hand-written baselines, in every form worth trying: the table's baseline is the fastest of them in the run
 * (they differ by runtime: packing the name into one 32-bit store took 12 ms on Node 24 where the byte loop took 26
 * ms, and 6.4 against 6.6 ms on Node 20; one fromCharCode of the name's bytes is 1.4-1.7x faster than appending a
 * character per byte on both). The loop bound comes in as a parameter here as in memmapCases: a module-level \`const\`
 * read inside a closure keeps V8's uninitialized-variable check in the loop, which stops loop peeling for memmap's
 * inlined accessors (not for these loops, which have nothing to hoist), so a module constant would measure that.
 */
function handCases(dv: DataView, inputs: Student[], n: number): Record<Table, Case[]> {
  return {
    get: [
      {
        name: `${BASELINE}: name byte by byte (a += per character)`,
        fn: () => {
          let total = 0;
          for (let i = 0; i < n; i++) {
            const s = { name: readName(dv, i * 8), age: dv.getInt32(i * 8 + 4, true) };
            total += s.age + s.name.length;
          }
          use(total);
        },
        options: opts,
      },
      {
        name: `${BASELINE}: name in one fromCharCode of its bytes`,
        fn: () => {
          let total = 0;
          for (let i = 0; i < n; i++) {
            const s = { name: readNameAtOnce(dv, i * 8), age: dv.getInt32(i * 8 + 4, true) };
            total += s.age + s.name.length;
          }
          use(total);
        },
        options: opts,
      },
    ],
    set: [
      {
        name: `${BASELINE}: name byte by byte`,
        fn: () => {
          for (let i = 0; i < n; i++) {
            const v = inputs[i]!;
            writeName(dv, i * 8, v.name);
            dv.setInt32(i * 8 + 4, v.age, true);
          }
        },
        options: opts,
      },
      {
        name: `${BASELINE}: name packed into one 32-bit store`,
        fn: () => {
          for (let i = 0; i < n; i++) {
            const v = inputs[i]!;
            writeNamePacked(dv, i * 8, v.name);
            dv.setInt32(i * 8 + 4, v.age, true);
          }
        },
        options: opts,
      },
    ],
    field: [
      {
        name: BASELINE,
        fn: () => {
          for (let i = 0; i < n; i++) dv.setInt32(i * 8 + 4, dv.getInt32(i * 8 + 4, true) + 1, true);
        },
        options: steady,
      },
    ],
    iterate: [
      {
        name: BASELINE,
        fn: () => {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += dv.getInt32(i * 8 + 4, true);
          use(sum);
        },
        options: steady,
      },
    ],
  };
}

/** The baseline row of a table: the fastest of its hand-written forms, under the baseline's own name. */
function baselineOf(measured: Measurement[]): Measurement {
  const forms = measured.filter((row) => row.name.startsWith(BASELINE));
  return { name: BASELINE, ms: Math.min(...forms.map((row) => row.ms)) };
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

/**
 * In the child: Student only, nothing else. Times the hand-written forms and memmap's rows of each table in turns,
 * and prints them as JSON on stdout.
 */
async function singleTypeChild(): Promise<void> {
  const { buffer, students, inputs } = studentData();
  const dv = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const hand = handCases(dv, inputs, N);
  const memmap = memmapCases(students, buffer, inputs, N);
  const rows: Partial<Record<Table, Measurement[]>> = {};
  for (const table of TABLES) rows[table] = await measureTogether([...hand[table], ...memmap[table]], rounds);
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

/** The same rows in a fresh process where Student is the only record type (undefined if it cannot run). */
function singleTypeRows(): Record<Table, Measurement[]> | undefined {
  const result = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, MEMMAP_BENCH_SINGLE_TYPE: '1' },
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const line = result.stdout.trim().split('\n').pop();
  if (result.status !== 0 || !line) return undefined;
  return JSON.parse(line) as Record<Table, Measurement[]>;
}

export default async function (): Promise<BenchTable[]> {
  const { buffer, students, inputs } = studentData();
  const dv = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const others = otherTypes();
  warmUp([students, ...others.arrays], [Student, ...others.types], [buffer, ...others.buffers]);
  const objects: Student[] = students.toArray();
  const plain = new PlainArray(dv, N);
  const ages = students.column('age');

  const require = createRequire(import.meta.url);
  const r = require('restructure') as Restructure;
  const RStudent = new r.Struct({ name: new r.String(4, 'ascii'), age: r.int32le });
  const RStudents = new r.Array(RStudent, N);

  const hand = handCases(dv, inputs, N);
  const memmap = memmapCases(students, buffer, inputs, N);
  const peers: Record<Table, Case[]> = {
    get: [
      {
        name: 'JS array of objects (copy)',
        fn: () => {
          let total = 0;
          for (let i = 0; i < N; i++) {
            const o = objects[i]!;
            const s = { name: o.name, age: o.age };
            total += s.age + s.name.length;
          }
          use(total);
        },
        options: opts,
      },
    ],
    set: [
      // The checks memmap's set makes, written by hand for this one struct: each member read once, the name a
      // string of at most 4 ASCII characters (1..127), the age an int32 number; a failure throws. What V8 gives a
      // checked write at all, against which memmap's checked set is to be read (the hand-written row checks nothing).
      {
        name: 'plain JS, no memmap: the same checks, by hand (V8 bound for a checked set)',
        fn: () => {
          for (let i = 0; i < N; i++) checkedWrite(dv, i * 8, inputs[i]!);
        },
        options: opts,
      },
      {
        name: 'plain JS, no memmap: the same checks and an index check, in a set(i, v) (a checked set(i) by hand)',
        fn: () => {
          for (let i = 0; i < N; i++) plain.set(i, inputs[i]!);
        },
        options: opts,
      },
      {
        name: 'JS array of objects (assign)',
        fn: () => {
          for (let i = 0; i < N; i++) objects[i] = inputs[i]!;
        },
        options: opts,
      },
    ],
    field: [
      {
        name: 'JS array of objects',
        fn: () => {
          for (let i = 0; i < N; i++) objects[i]!.age += 1;
        },
        options: steady,
      },
    ],
    iterate: [
      {
        name: 'plain JS, no memmap: new { dv, o } object per record, .age getter (V8 bound for at(i))',
        fn: () => {
          let sum = 0;
          for (let i = 0; i < N; i++) sum += new PlainRecord(dv, i * 8).age;
          use(sum);
        },
        options: steady,
      },
      {
        name: 'plain JS, no memmap: the same with an index check, at(i) (a checked at(i) by hand)',
        fn: () => {
          let sum = 0;
          for (let i = 0; i < N; i++) sum += plain.at(i).age;
          use(sum);
        },
        options: steady,
      },
      {
        name: 'plain JS, no memmap: one { dv, o } object moved along (V8 bound for a cursor)',
        fn: () => {
          let sum = 0;
          const record = new PlainRecord(dv, 0);
          for (let i = 0; i < N; i++) {
            record.o = i * 8;
            sum += record.age;
          }
          use(sum);
        },
        options: steady,
      },
      {
        name: 'plain JS, no memmap: the same moved by an at(i) with an index check (a checked cursor by hand)',
        fn: () => {
          let sum = 0;
          for (let i = 0; i < N; i++) sum += plain.cursorAt(i).age;
          use(sum);
        },
        options: steady,
      },
      {
        name: 'plain JS, no memmap: forEach-style loop + callback (V8 bound for forEach)',
        fn: () => {
          let sum = 0;
          plainForEach(dv, N, (record) => (sum += record.age));
          use(sum);
        },
        options: steady,
      },
      {
        name: 'plain JS, no memmap: iterator object, for-of (V8 bound for for-of)',
        fn: () => {
          let sum = 0;
          for (const record of new PlainIterator(dv, N)) sum += record.age;
          use(sum);
        },
        options: steady,
      },
      // V8's own callback and iterator loops over an Int32Array of the ages: what a forEach or for-of reaches in V8
      // at all, against which memmap's forEach and for-of are to be read.
      {
        name: 'V8 builtin: Int32Array forEach((a) => sum += a)',
        fn: () => {
          let sum = 0;
          ages.forEach((a) => (sum += a));
          use(sum);
        },
        options: steady,
      },
      {
        name: 'V8 builtin: for (const a of Int32Array) sum += a',
        fn: () => {
          let sum = 0;
          for (const a of ages) sum += a;
          use(sum);
        },
        options: steady,
      },
      {
        name: 'JS array of objects, for-of',
        fn: () => {
          let sum = 0;
          for (const o of objects) sum += o.age;
          use(sum);
        },
        options: steady,
      },
    ],
  };
  // restructure takes seconds a run: one run each, by itself.
  const slowRows: Record<Table, Measurement[]> = {
    get: [await measure('restructure decode', () => use(RStudents.fromBuffer(buffer)), slow)],
    set: [await measure('restructure encode', () => use(RStudents.toBuffer(inputs)), slow)],
    field: [],
    iterate: [],
  };
  const measured: Partial<Record<Table, Measurement[]>> = {};
  for (const table of TABLES)
    measured[table] = await measureTogether([...hand[table], ...memmap[table], ...peers[table]], rounds);
  if (sink === 42) console.log('');

  const single = singleTypeRows();
  const rows = (table: Table): Measurement[] => {
    const all = measured[table]!;
    const baseline = baselineOf(all);
    // A single-type row is timed against the hand-written forms of its own process: shown here at the same ratio.
    const childRows = single?.[table];
    const scale = childRows === undefined ? 1 : baseline.ms / baselineOf(childRows).ms;
    const withBounds = all.flatMap((row) => {
      const bound = childRows?.find((s) => s.name === row.name && !s.name.startsWith(BASELINE));
      return bound ? [row, { name: `${row.name} (1 type: upper bound)`, ms: bound.ms * scale }] : [row];
    });
    const forms = withBounds.filter((row) => row.name.startsWith(BASELINE));
    // The baseline row first, then its forms (when there are several), then the rest.
    return [
      baseline,
      ...(forms.length > 1 ? forms : []),
      ...withBounds.filter((row) => !row.name.startsWith(BASELINE)),
      ...slowRows[table],
    ];
  };
  const note =
    `${N.toLocaleString('en')} records of struct { char name[4]; int32_t age; } (8 bytes) in one Buffer, with three ` +
    `record types alive and warmed up through the same API; "(1 type: upper bound)" rows ran in a process with ` +
    `Student alone (their ratio is to the hand-written code timed in that process). The rows of a table are timed ` +
    `in turns, fastest of ${rounds.runs} rounds in process CPU time (restructure: median wall time of ${slow.runs}); ` +
    `the hand-written baseline is the fastest of its forms in this run. Ratio > 1 is faster than the baseline.`;
  return [
    {
      title: 'layout: get (read every record into an object)',
      baseline: BASELINE,
      rows: rows('get'),
      note,
    },
    { title: 'layout: set (write every record from an object)', baseline: BASELINE, rows: rows('set') },
    { title: 'layout: view field (age += 1 on every record)', baseline: BASELINE, rows: rows('field') },
    {
      title: 'layout: iterate (sum of age over every record, live views)',
      baseline: BASELINE,
      rows: rows('iterate'),
    },
  ];
}

if (SINGLE) await singleTypeChild();
