/**
 * The C compiler is the oracle: a few hundred random record descriptions (seeded, so every run is the same) are
 * printed as C with toC, compiled by `cc` into one program that prints sizeof, _Alignof and offsetof of every
 * member at every depth, and every number is compared with the layout's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  array,
  bool,
  bytes,
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
  union,
  type AnyFieldType,
  type ArrayType,
  type StructOptions,
  StructType,
} from '../../src/layout/index.js';

/** mulberry32: a small seeded generator, so the structs are the same on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const scalarTypes = [int8, uint8, int16, uint16, int32, uint32, int64, uint64, float32, float64, bool];

function randomType(next: () => number, depth: number): AnyFieldType {
  const pick = next();
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  if (depth < 3 && pick < 0.15) return randomRecord(next, depth + 1);
  if (pick < 0.25) return array(randomType(next, depth + 1), int(1, 4));
  if (pick < 0.32) return char(int(1, 9));
  if (pick < 0.37) return bytes(int(1, 9));
  return scalarTypes[int(0, scalarTypes.length - 1)]!;
}

function randomRecord(next: () => number, depth: number): StructType {
  const count = 1 + Math.floor(next() * 6);
  const shape: Record<string, AnyFieldType> = {};
  for (let i = 0; i < count; i++) shape[`f${i}`] = randomType(next, depth);
  const options: StructOptions = {};
  if (next() < 0.2) options.packed = true;
  if (next() < 0.2) options.align = 2 ** Math.floor(next() * 6);
  if (next() < 0.1) options.endian = next() < 0.5 ? 'big' : 'little';
  return next() < 0.15 ? union(shape, options) : struct(shape, options);
}

/** One number the compiler must agree on: a C expression and the layout's value for it. */
interface Check {
  expression: string;
  expected: number;
}

/** Checks for the record itself and every member at every depth (arrays: first and last element). */
function checksOf(tag: string, type: StructType): Check[] {
  const name = `${type.kind} ${tag}`;
  const checks: Check[] = [
    { expression: `sizeof(${name})`, expected: type.size },
    { expression: `_Alignof(${name})`, expected: type.align },
  ];
  const visit = (record: StructType, path: string, base: number) => {
    for (const field of record.fields) {
      const member = path === '' ? field.name : `${path}.${field.name}`;
      visitMember(field.type, member, base + field.offset);
    }
  };
  const visitMember = (type: AnyFieldType, member: string, offset: number) => {
    const typeOf = `__typeof__(((${name} *)0)->${member})`;
    checks.push({ expression: `offsetof(${name}, ${member})`, expected: offset });
    checks.push({ expression: `sizeof(${typeOf})`, expected: type.size });
    checks.push({ expression: `_Alignof(${typeOf})`, expected: type.align });
    if (type instanceof StructType) visit(type as StructType, member, offset);
    if (type.kind === 'array') {
      const { element, length } = type as ArrayType;
      visitMember(element, `${member}[0]`, offset);
      if (length > 1) visitMember(element, `${member}[${length - 1}]`, offset + (length - 1) * element.size);
    }
  };
  visit(type, '', 0);
  return checks;
}

const dir = mkdtempSync(join(tmpdir(), 'memmap-layout-abi-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('C ABI oracle (cc on this machine)', () => {
  const next = random(20240501);
  const records = Array.from({ length: 300 }, () => randomRecord(next, 0));
  const checks: Check[] = [];
  let output: number[] = [];

  beforeAll(() => {
    let source = '#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <stdio.h>\n\n';
    records.forEach((record, i) => {
      source += record.toC(`s${i}`, { includes: false, staticAsserts: false }) + '\n';
      checks.push(...checksOf(`s${i}`, record));
    });
    source += 'int main(void) {\n';
    for (const check of checks) source += `  printf("%zu\\n", (size_t)(${check.expression}));\n`;
    source += '  return 0;\n}\n';
    writeFileSync(join(dir, 'abi.c'), source);
    execFileSync('cc', [
      '-std=gnu11',
      '-O0',
      '-Wall',
      '-Werror',
      '-Wno-scalar-storage-order',
      '-Wno-packed-not-aligned',
      '-o',
      join(dir, 'abi'),
      join(dir, 'abi.c'),
    ]);
    output = execFileSync(join(dir, 'abi'), { encoding: 'utf8' }).trim().split('\n').map(Number);
  });

  it('generates a varied set of records', () => {
    const kinds = new Set<string>();
    const walk = (type: AnyFieldType) => {
      kinds.add(type.kind);
      if (type.kind === 'array') walk((type as ArrayType).element);
      if (type instanceof StructType) {
        const record = type;
        if (record.packed) kinds.add('packed');
        if (record.requestedAlign !== undefined) kinds.add('aligned');
        if (record.endian === 'big') kinds.add('big-endian');
        record.fields.forEach((f) => walk(f.type));
      }
    };
    records.forEach(walk);
    expect([...kinds].sort()).toEqual(
      [
        'aligned',
        'array',
        'big-endian',
        'bool',
        'bytes',
        'char',
        'float32',
        'float64',
        'int16',
        'int32',
        'int64',
        'int8',
        'packed',
        'struct',
        'uint16',
        'uint32',
        'uint64',
        'uint8',
        'union',
      ].sort(),
    );
    expect(checks.length).toBeGreaterThan(3000);
  });

  it('agrees with the compiler on every sizeof, _Alignof and offsetof', () => {
    expect(output.length).toBe(checks.length);
    const mismatches = checks
      .map((check, i) => ({ ...check, actual: output[i] }))
      .filter((check) => check.actual !== check.expected);
    expect(mismatches).toEqual([]);
  });
});
