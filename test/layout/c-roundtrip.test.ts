/**
 * Round trip with C through a file: a C program compiled here writes records with known values, Node maps the
 * file and reads every field through the layout; Node writes the records, the C program checks every field. For
 * the host layout, packed, aligned and big-endian (GCC scalar_storage_order) variants of a record holding every
 * field type. toC's default output (with its _Static_asserts) is what the C program includes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MappedFile } from '../../src/mapped-file.js';
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
  type Infer,
  type StructOptions,
} from '../../src/layout/index.js';

function everything(options: StructOptions) {
  return struct(
    {
      i8: int8,
      u8: uint8,
      i16: int16,
      u16: uint16,
      i32: int32,
      u32: uint32,
      i64: int64,
      u64: uint64,
      f32: float32,
      f64: float64,
      flag: bool,
      name: char(6),
      raw: bytes(3),
      scores: array(int16, 3),
      pos: struct({ x: float64, y: int8 }),
      pts: array(struct({ a: uint8, b: int32 }), 2),
      u: union({ i: int32, f: float32 }),
      grid: array(array(uint16, 2), 2),
    },
    options,
  );
}

const variants = {
  host: everything({}),
  packed: everything({ packed: true }),
  aligned: everything({ align: 32 }),
  big: everything({ endian: 'big' }),
};
type Everything = Infer<(typeof variants)['host']>;
const COUNT = 3;
const names = ['', 'h\u00e9llo', 'xyz'];

/** -x without a -0 (C has no -0 integers; toEqual tells -0 from 0). */
const negate = (x: number) => (x === 0 ? 0 : -x);

/** The values of record k, the same formula C uses. */
function valuesOf(k: number): Everything {
  const i = 0x3fc00000 + k;
  return {
    i8: -128 + k,
    u8: 255 - k,
    i16: -32768 + k,
    u16: 65535 - k,
    i32: -2147483648 + k,
    u32: 4294967295 - k,
    i64: -(2n ** 63n) + BigInt(k),
    u64: 2n ** 64n - 1n - BigInt(k),
    f32: 1.5 + k,
    f64: -0.1 * (k + 1),
    flag: k % 2 === 0,
    name: names[k]!,
    raw: new Uint8Array([k, k + 1, 255]),
    scores: [negate(k), k * 100, 32767],
    pos: { x: k * 0.25, y: negate(k) },
    pts: [
      { a: k, b: negate(k * 1000) },
      { a: 200, b: 123456789 },
    ],
    u: { i, f: new Float32Array(new Int32Array([i]).buffer)[0]! },
    grid: [
      [k, 1],
      [2, 65535],
    ],
  };
}

/** C statements assigning (or, with `check`, comparing) every field of r[k]. */
function cStatements(k: number, check: boolean): string {
  const v = valuesOf(k);
  const lines: string[] = [];
  const scalar = (member: string, literal: string) =>
    lines.push(
      check ? `if (r[${k}].${member} != ${literal}) bad("${member}", ${k});` : `r[${k}].${member} = ${literal};`,
    );
  const raw = (member: string, bytesOf: Uint8Array) => {
    const literal = `"${[...bytesOf].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}"`;
    lines.push(
      check
        ? `if (memcmp(r[${k}].${member}, ${literal}, ${bytesOf.length}) != 0) bad("${member}", ${k});`
        : `memcpy(r[${k}].${member}, ${literal}, ${bytesOf.length});`,
    );
  };
  const double = (x: number) => x.toPrecision(17);
  scalar('i8', `${v.i8}`);
  scalar('u8', `${v.u8}`);
  scalar('i16', `${v.i16}`);
  scalar('u16', `${v.u16}`);
  scalar('i32', `(int32_t)(${v.i32}LL)`);
  scalar('u32', `${v.u32}U`);
  scalar('i64', `(INT64_MIN + ${k})`);
  scalar('u64', `(UINT64_MAX - ${k})`);
  scalar('f32', `${double(v.f32)}f`);
  scalar('f64', `(-0.1 * ${k + 1})`);
  scalar('flag', v.flag ? 'true' : 'false');
  const name = new Uint8Array(6);
  name.set(new TextEncoder().encode(v.name));
  raw('name', name);
  raw('raw', v.raw);
  v.scores.forEach((s, j) => scalar(`scores[${j}]`, `${s}`));
  scalar('pos.x', double(v.pos.x));
  scalar('pos.y', `${v.pos.y}`);
  v.pts.forEach((p, j) => {
    scalar(`pts[${j}].a`, `${p.a}`);
    scalar(`pts[${j}].b`, `${p.b}`);
  });
  scalar('u.i', `${v.u.i}`);
  v.grid.forEach((row, a) => row.forEach((x, b) => scalar(`grid[${a}][${b}]`, `${x}`)));
  return lines.map((line) => `    ${line}`).join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'memmap-layout-rt-'));
const program = join(dir, 'roundtrip');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  let source = '#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n';
  for (const [name, type] of Object.entries(variants)) source += type.toC(name) + '\n';
  source += `static int failures = 0;
static void bad(const char *member, int k) { fprintf(stderr, "record %d: %s differs\\n", k, member); failures++; }
#define RUN(T) \\
  if (strcmp(argv[2], #T) == 0) { \\
    struct T r[${COUNT}]; \\
    FILE *f = fopen(argv[3], write ? "wb" : "rb"); \\
    if (!f) return 2; \\
    if (write) { memset(r, 0, sizeof r); T##_fill(r); if (fwrite(r, sizeof r, 1, f) != 1) return 2; } \\
    else { if (fread(r, sizeof r, 1, f) != 1) return 2; T##_check(r); } \\
    fclose(f); \\
    return failures ? 1 : 0; \\
  }
`;
  for (const name of Object.keys(variants)) {
    source += `static void ${name}_fill(struct ${name} *r) {\n`;
    for (let k = 0; k < COUNT; k++) source += cStatements(k, false) + '\n';
    source += `}\nstatic void ${name}_check(struct ${name} *r) {\n`;
    for (let k = 0; k < COUNT; k++) source += cStatements(k, true) + '\n';
    source += '}\n';
  }
  source += `int main(int argc, char **argv) {
  if (argc != 4) return 2;
  int write = strcmp(argv[1], "write") == 0;
${Object.keys(variants)
  .map((name) => `  RUN(${name})`)
  .join('\n')}
  return 2;
}
`;
  writeFileSync(join(dir, 'roundtrip.c'), source);
  execFileSync('cc', [
    '-std=gnu11',
    '-O1',
    '-Wall',
    '-Werror',
    '-Wno-scalar-storage-order',
    '-o',
    program,
    join(dir, 'roundtrip.c'),
  ]);
});

describe.each(Object.entries(variants))('round trip with C: %s', (name, type) => {
  it('Node reads through a mapping every field C wrote', () => {
    const path = join(dir, `${name}-from-c.bin`);
    execFileSync(program, ['write', name, path]);
    expect(readFileSync(path).length).toBe(type.size * COUNT);
    const file = MappedFile.open(path, { mode: 'r' });
    try {
      const records = type.array(file.buffer);
      expect(records.length).toBe(COUNT);
      for (let k = 0; k < COUNT; k++) {
        expect(records.get(k)).toEqual(valuesOf(k));
        expect(type.read(file.buffer, k * type.size)).toEqual(valuesOf(k));
        expect(records.at(k).toJSON()).toEqual(valuesOf(k));
      }
    } finally {
      file.close();
    }
  });

  it('C checks every field Node wrote through a mapping (write and live view)', () => {
    const path = join(dir, `${name}-from-node.bin`);
    const file = MappedFile.open(path, { mode: 'w+', size: type.size * COUNT });
    try {
      const records = type.array(file.buffer);
      // A union is written one member at a time: the read form (every member) is not a write input.
      const input = (k: number) => ({ ...valuesOf(k), u: { i: valuesOf(k).u.i } });
      records.set(0, input(0));
      type.write(file.buffer, type.size, input(1));
      // Record 2 through a live view, member by member.
      records.set(2, input(0));
      const v = valuesOf(2);
      const view = records.at(2);
      view.i8 = v.i8;
      view.u8 = v.u8;
      view.i16 = v.i16;
      view.u16 = v.u16;
      view.i32 = v.i32;
      view.u32 = v.u32;
      view.i64 = v.i64;
      view.u64 = v.u64;
      view.f32 = v.f32;
      view.f64 = v.f64;
      view.flag = v.flag;
      view.name = v.name;
      view.raw.set(v.raw);
      v.scores.forEach((s, j) => view.scores.set(j, s));
      view.pos.x = v.pos.x;
      view.pos.y = v.pos.y;
      v.pts.forEach((p, j) => {
        view.pts.at(j).a = p.a;
        view.pts.at(j).b = p.b;
      });
      view.u.i = v.u.i;
      view.grid.at(0).set(0, v.grid[0]![0]!);
      file.flush();
    } finally {
      file.close();
    }
    execFileSync(program, ['check', name, path]);
  });
});
