/**
 * Layout benchmarks: 1e6 `struct student { char name[4]; int32_t age; }` records in one Buffer, each operation
 * timed against hand-written DataView code over the same bytes (the limit), against restructure (decode/encode)
 * and against a plain JS array of objects.
 */
import { createRequire } from 'node:module';
import { char, int32, struct } from '../src/layout/index.ts';
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

/** Hand-written reads of a char[4] the way one would write them without the library. */
function readName(dv: DataView, offset: number): string {
  let text = '';
  for (let i = 0; i < 4; i++) {
    const byte = dv.getUint8(offset + i);
    if (byte === 0) break;
    text += String.fromCharCode(byte);
  }
  return text;
}

function writeName(dv: DataView, offset: number, name: string): void {
  for (let i = 0; i < 4; i++) dv.setUint8(offset + i, i < name.length ? name.charCodeAt(i) : 0);
}

export default async function (): Promise<BenchTable[]> {
  const buffer = Buffer.alloc(N * Student.size);
  const dv = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const students = Student.array(buffer);
  const names = ['ann', 'bob', 'cy', 'dora'];
  const inputs: Student[] = Array.from({ length: N }, (_, i) => ({ name: names[i & 3]!, age: i & 0x7fff }));
  students.fill({ name: 'ann', age: 1 });
  for (let i = 0; i < N; i++) students.set(i, inputs[i]!);
  const objects: Student[] = students.toArray();
  let sink = 0;
  const use = (value: unknown) => {
    sink += value === undefined ? 0 : 1;
  };
  // Ages stay small so the view-field loops (age += 1, 9 runs) never leave int32.

  const require = createRequire(import.meta.url);
  const r = require('restructure') as Restructure;
  const RStudent = new r.Struct({ name: new r.String(4, 'ascii'), age: r.int32le });
  const RStudents = new r.Array(RStudent, N);

  const opts = { runs: 7, warmup: 2 };
  const slow = { runs: 1, warmup: 1 };

  const get: Measurement[] = [
    await measure('hand-written DataView', () => {
      let total = 0;
      for (let i = 0; i < N; i++) {
        const s = { name: readName(dv, i * 8), age: dv.getInt32(i * 8 + 4, true) };
        total += s.age + s.name.length;
      }
      use(total);
    }, opts),
    await measure('StructArray.get(i)', () => {
      let total = 0;
      for (let i = 0; i < N; i++) {
        const s = students.get(i);
        total += s.age + s.name.length;
      }
      use(total);
    }, opts),
    await measure('Student.read(buf, offset)', () => {
      let total = 0;
      for (let i = 0; i < N; i++) {
        const s = Student.read(buffer, i * 8);
        total += s.age + s.name.length;
      }
      use(total);
    }, opts),
    await measure('restructure decode', () => use(RStudents.fromBuffer(buffer)), slow),
    await measure('JS array of objects (copy)', () => {
      let total = 0;
      for (let i = 0; i < N; i++) {
        const o = objects[i]!;
        const s = { name: o.name, age: o.age };
        total += s.age + s.name.length;
      }
      use(total);
    }, opts),
  ];

  const set: Measurement[] = [
    await measure('hand-written DataView', () => {
      for (let i = 0; i < N; i++) {
        const v = inputs[i]!;
        writeName(dv, i * 8, v.name);
        dv.setInt32(i * 8 + 4, v.age, true);
      }
    }, opts),
    await measure('StructArray.set(i, v)', () => {
      for (let i = 0; i < N; i++) students.set(i, inputs[i]!);
    }, opts),
    await measure('Student.write(buf, offset, v)', () => {
      for (let i = 0; i < N; i++) Student.write(buffer, i * 8, inputs[i]!);
    }, opts),
    await measure('restructure encode', () => use(RStudents.toBuffer(inputs)), slow),
    await measure('JS array of objects (assign)', () => {
      for (let i = 0; i < N; i++) objects[i] = inputs[i]!;
    }, opts),
  ];

  const field: Measurement[] = [
    await measure('hand-written DataView', () => {
      for (let i = 0; i < N; i++) dv.setInt32(i * 8 + 4, dv.getInt32(i * 8 + 4, true) + 1, true);
    }, opts),
    await measure('students.at(i).age += 1', () => {
      for (let i = 0; i < N; i++) students.at(i).age += 1;
    }, opts),
    await measure('one view per record, then .age += 1', () => {
      for (let i = 0; i < N; i++) {
        const view = Student.view(buffer, i * 8);
        view.age += 1;
      }
    }, opts),
    await measure('JS array of objects', () => {
      for (let i = 0; i < N; i++) objects[i]!.age += 1;
    }, opts),
  ];

  const one = students.at(0);
  const single: Measurement[] = [
    await measure('hand-written DataView', () => {
      for (let i = 0; i < N; i++) dv.setInt32(4, (dv.getInt32(4, true) + 1) & 0xffff, true);
    }, opts),
    await measure('live view: view.age = (view.age + 1) & 0xffff', () => {
      for (let i = 0; i < N; i++) one.age = (one.age + 1) & 0xffff;
    }, opts),
  ];

  // Each loop sums into a local and hands the total to use(): a captured accumulator would cost more than the read.
  const iterate: Measurement[] = [
    await measure('hand-written DataView', () => {
      let sum = 0;
      for (let i = 0; i < N; i++) sum += dv.getInt32(i * 8 + 4, true);
      use(sum);
    }, opts),
    await measure('students.at(i).age', () => {
      let sum = 0;
      for (let i = 0; i < N; i++) sum += students.at(i).age;
      use(sum);
    }, opts),
    await measure('students.forEach((s) => s.age)', () => {
      let sum = 0;
      students.forEach((s) => (sum += s.age));
      use(sum);
    }, opts),
    await measure('for (const s of students) s.age', () => {
      let sum = 0;
      for (const s of students) sum += s.age;
      use(sum);
    }, opts),
    await measure('students.column("age") (copy), summed', () => {
      let sum = 0;
      const ages = students.column('age');
      for (let i = 0; i < ages.length; i++) sum += ages[i]!;
      use(sum);
    }, opts),
    await measure('JS array of objects, for-of', () => {
      let sum = 0;
      for (const o of objects) sum += o.age;
      use(sum);
    }, opts),
  ];
  if (sink === 42) console.log('');

  const note = `${N.toLocaleString('en')} records of struct { char name[4]; int32_t age; } (8 bytes) in one Buffer; median of ${opts.runs} runs (restructure: ${slow.runs}). Ratio > 1 is faster than the baseline.`;
  return [
    { title: 'layout: get (read every record into an object)', baseline: 'hand-written DataView', rows: get, note },
    { title: 'layout: set (write every record from an object)', baseline: 'hand-written DataView', rows: set },
    { title: 'layout: view field (age += 1 on every record)', baseline: 'hand-written DataView', rows: field },
    {
      title: 'layout: field access on one live view (1e6 reads + writes of age)',
      baseline: 'hand-written DataView',
      rows: single,
    },
    { title: 'layout: iterate (sum of age over every record, live views)', baseline: 'hand-written DataView', rows: iterate },
  ];
}
