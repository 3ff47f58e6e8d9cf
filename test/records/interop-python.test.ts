/**
 * Python reads a record file from docs/format.md alone: examples/numpy-read-records.py (numpy) and
 * examples/ctypes-read-records.py (the standard library only), every field kind, the same output from both.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  array,
  bool,
  bytes,
  char,
  float32,
  float64,
  int16,
  int64,
  RecordFile,
  struct,
  uint8,
  uint64,
  union,
} from '../../src/index.js';
import { useTempDir } from '../helpers/temp.js';

const tmp = useTempDir('memmap-records-python-');
const numpyReader = fileURLToPath(new URL('../../examples/numpy-read-records.py', import.meta.url));
const ctypesReader = fileURLToPath(new URL('../../examples/ctypes-read-records.py', import.meta.url));
const hasPython = spawnSync('python3', ['-c', 'import ctypes, mmap'], { stdio: 'ignore' }).status === 0;
const hasNumpy = hasPython && spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
if (!hasPython) console.log('interop-python: no python3 with ctypes on this machine; the Python readers are not run');
else if (!hasNumpy) console.log('interop-python: python3 has no numpy; only the ctypes reader is run');

const Point = struct({ x: float32, y: float32 });
const Row = struct({
  id: int64,
  big: uint64,
  tag: char(6),
  ok: bool,
  small: int16,
  raw: bytes(3),
  where: Point,
  hist: array(uint8, 3),
  value: float64,
});
const rowAt = (i: number) => ({
  id: BigInt(i) * 10_000_000_000n,
  big: 2n ** 63n + BigInt(i),
  tag: `t${i}`,
  ok: i % 2 === 0,
  small: -i,
  raw: new Uint8Array([i, 0xab, 0xff]),
  where: { x: i, y: i / 2 },
  hist: [i, i + 1, 255],
  value: i + 0.25,
});
const expectedLine = (i: number) => ({
  id: i * 10_000_000_000,
  big: Number(2n ** 63n + BigInt(i)),
  tag: `t${i}`,
  ok: i % 2 === 0,
  small: 0 - i || 0, // JSON has no -0
  raw: Buffer.from([i, 0xab, 0xff]).toString('hex'),
  where: [i, i / 2],
  hist: [i, i + 1, 255],
  value: i + 0.25,
});

function rowsFile(n: number): string {
  const path = tmp(`rows-${n}-${Math.random().toString(36).slice(2)}.db`);
  const db = RecordFile.open(path, Row, { mode: 'w+' });
  for (let i = 0; i < n; i++) db.push(rowAt(i));
  db.close();
  return path;
}

function read(script: string, path: string, limit = 10): unknown[] {
  return execFileSync('python3', [script, path, String(limit)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);
}

const readers = [
  { name: 'numpy', script: numpyReader, available: hasNumpy },
  { name: 'ctypes', script: ctypesReader, available: hasPython },
];

describe.each(readers)('the $name reader', ({ script, available }) => {
  it.runIf(available)('decodes every kind of field from the schema in the header', () => {
    const lines = read(script, rowsFile(4));
    expect(lines[0]).toEqual({ count: 4, fields: Object.keys(rowAt(0)) });
    expect(lines.slice(1)).toEqual([0, 1, 2, 3].map(expectedLine));
  });

  it.runIf(available)('reads an empty record file', () => {
    expect(read(script, rowsFile(0))).toEqual([{ count: 0, fields: Object.keys(rowAt(0)) }]);
  });

  it.runIf(available)('refuses a file that is not a record file', () => {
    const path = tmp('not-records.bin');
    writeFileSync(path, Buffer.alloc(4096));
    const result = spawnSync('python3', [script, path], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/not a record file/);
  });
});

describe('the ctypes reader and the C ABI', () => {
  it.runIf(hasPython)('lays out packed records and unions as the schema says', () => {
    const Packed = struct({ a: uint8, b: int64, u: union({ i: int16, c: char(3) }) }, { packed: true });
    const path = tmp('packed.db');
    const db = RecordFile.open(path, Packed, { mode: 'w+' });
    db.push({ a: 7, b: -5n, u: { i: 0x4142 } });
    db.close();
    const [head, first] = read(ctypesReader, path);
    expect(head).toEqual({ count: 1, fields: ['a', 'b', 'u'] });
    const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    expect(first).toEqual({ a: 7, b: -5, u: [0x4142, little ? 'BA' : 'AB'] });
  });
});
