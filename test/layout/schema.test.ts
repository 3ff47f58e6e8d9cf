import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  array,
  bool,
  bytes,
  char,
  float32,
  float64,
  fromSchema,
  int8,
  int32,
  int64,
  schemaHash,
  struct,
  toSchema,
  uint16,
  union,
} from '../../src/layout/index.js';
import { hostEndian } from '../../src/layout/field.js';

const Student = struct({ name: char(4), age: int32 });
const Rich = struct(
  {
    id: int64,
    flag: bool,
    score: float32,
    raw: bytes(3),
    grid: array(array(uint16, 2), 3),
    pos: struct({ x: float64, y: float64 }, { endian: 'little' }),
    u: union({ a: int32, b: char(6) }, { align: 8 }),
  },
  { packed: true, endian: 'big' },
);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'no error';
}

describe('schema JSON and hash', () => {
  it('round-trips through JSON with the same layout and hash', () => {
    for (const type of [Student, Rich]) {
      const json = JSON.stringify(type);
      const back = fromSchema(json);
      expect(back.size).toBe(type.size);
      expect(back.align).toBe(type.align);
      expect(back.fields.map((f) => f.offset)).toEqual(type.fields.map((f) => f.offset));
      expect(back.hash).toBe(type.hash);
      expect(toSchema(back)).toEqual(type.toJSON());
      expect(fromSchema(type.toJSON()).hash).toBe(type.hash);
      const buf = Buffer.alloc(type.size);
      const data = type === Student ? { name: 'ann', age: 3 } : Rich.read(Buffer.alloc(Rich.size));
      if (type === Rich) (data as { u: unknown }).u = { b: 'abc' };
      back.write(buf, 0, data);
      expect(type.read(buf)).toEqual(back.read(buf));
    }
  });

  it('has a stable hash that changes with the layout', () => {
    expect(Student.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Student.hash).toBe(schemaHash(struct({ name: char(4), age: int32 })));
    // Pinned: a change here means files written by earlier versions no longer match their stored hash.
    expect(Student.toJSON()).toEqual({
      kind: 'struct',
      endian: 'little',
      packed: false,
      requestedAlign: null,
      size: 8,
      align: 4,
      fields: [
        { name: 'name', offset: 0, type: { kind: 'char', length: 4 } },
        { name: 'age', offset: 4, type: 'int32' },
      ],
    });
    expect(Student.hash).toBe('30a40cebfcdd1965cefdbe2f09f86296e7143b619e984adfd3846b2826a33538');
    const others = [
      struct({ name: char(4), age: int32 }, { packed: true }),
      struct({ name: char(4), age: int32 }, { endian: 'big' }),
      struct({ name: char(5), age: int32 }),
      struct({ nom: char(4), age: int32 }),
      struct({ name: char(4), age: int32 }, { align: 16 }),
      union({ name: char(4), age: int32 }),
    ];
    for (const other of others) expect(other.hash).not.toBe(Student.hash);
  });

  it('rejects bad schemas and layouts that differ on this machine', () => {
    const tampered = { ...Student.toJSON(), size: 12 };
    expect(code(() => fromSchema(tampered))).toBe('ERR_LAYOUT_MISMATCH');
    const moved = Student.toJSON();
    moved.fields[1]!.offset = 5;
    expect(code(() => fromSchema(moved))).toBe('ERR_LAYOUT_MISMATCH');
    expect(code(() => fromSchema(JSON.stringify('int32')))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => fromSchema({ ...Student.toJSON(), kind: 'class' } as never))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => fromSchema({ ...Student.toJSON(), fields: 'x' } as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(
      code(() => fromSchema({ ...Student.toJSON(), fields: [{ name: 'a', offset: 0, type: 'int33' }] } as never)),
    ).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => fromSchema(null as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(code(() => fromSchema('{not json'))).toBe('ERR_INVALID_ARG_VALUE');
  });
});

describe('C declaration', () => {
  it('prints the seeds record', () => {
    expect(Student.toC('student')).toBe(`#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct student {
  char name[4];
  int32_t age;
};
_Static_assert(sizeof(struct student) == 8, "sizeof(struct student)");
_Static_assert(_Alignof(struct student) == 4, "_Alignof(struct student)");
_Static_assert(offsetof(struct student, name) == 0, "offsetof(struct student, name)");
_Static_assert(offsetof(struct student, age) == 4, "offsetof(struct student, age)");
`);
    expect(Rich.toC('rich', { includes: false, staticAsserts: false })).toContain(
      'struct __attribute__((packed, scalar_storage_order("big-endian"))) rich {',
    );
  });

  it('rejects names that are not C identifiers, or are keywords', () => {
    for (const name of ['1x', 'a-b', '', 'int', 'struct', 'bool'])
      expect(code(() => Student.toC(name))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => struct({ int: int32 }).toC('ok'))).toBe('ERR_INVALID_ARG_VALUE');
  });
});

const dir = mkdtempSync(join(tmpdir(), 'memmap-layout-numpy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasNumpy = (() => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasNumpy)('numpy dtype (checked with numpy itself)', () => {
  it('gives numpy the same itemsize and offsets, and numpy reads what Node wrote', () => {
    const Row = struct(
      {
        name: char(4),
        age: int32,
        big: int64,
        grid: array(array(uint16, 2), 3),
        pos: struct({ x: float64 }),
        ok: bool,
      },
      { endian: 'big' },
    );
    const rows = Row.array(Buffer.alloc(Row.size * 2));
    rows.set(1, {
      name: 'zoe',
      age: -7,
      big: 2n ** 40n,
      grid: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      pos: { x: 0.25 },
      ok: true,
    });
    const path = join(dir, 'rows.bin');
    writeFileSync(path, new Uint8Array(rows.byteLength).fill(0));
    const buf = Buffer.alloc(rows.byteLength);
    Row.array(buf).set(1, rows.get(1));
    writeFileSync(path, buf);
    const script = `
import numpy as np, json, sys
dt = np.dtype(${Row.toDtype()})
a = np.fromfile(sys.argv[1], dtype=dt)
r = a[1]
print(json.dumps({'itemsize': dt.itemsize, 'offsets': [dt.fields[n][1] for n in dt.names],
  'name': r['name'].decode(), 'age': int(r['age']), 'big': str(int(r['big'])), 'grid': r['grid'].tolist(),
  'x': float(r['pos']['x']), 'ok': bool(r['ok'])}))`;
    const out: unknown = JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
    expect(out).toEqual({
      itemsize: Row.size,
      offsets: Row.fields.map((f) => f.offset),
      name: 'zoe',
      age: -7,
      big: String(2n ** 40n),
      grid: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      x: 0.25,
      ok: true,
    });
  });

  it('describes unions and bytes', () => {
    const U = struct({ u: union({ a: int32, b: char(6) }), raw: bytes(3) });
    const out = execFileSync(
      'python3',
      ['-c', `import numpy as np; d = np.dtype(${U.toDtype()}); print(d.itemsize, d['u'].itemsize, d['raw'].shape)`],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe(`${U.size} 8 (3,)`);
  });
});

describe('fromSchema keeps inherited byte orders implicit', () => {
  it('a host-order record rebuilt from its schema prints no byte-order attribute, and keeps its hash', () => {
    const Inner = struct({ x: int32 });
    const Host = struct({ a: int32, inner: Inner });
    const rebuilt = fromSchema(Host.toJSON());
    expect(rebuilt.toC('host')).not.toContain('scalar_storage_order');
    expect(rebuilt.toC('host')).toBe(Host.toC('host'));
    expect(rebuilt.hash).toBe(Host.hash);
  });

  it('a foreign-order record keeps its attribute, and a nested record of the host order inside it keeps its own', () => {
    const foreign = hostEndian === 'little' ? 'big' : 'little';
    const Native = struct({ x: int32 }, { endian: hostEndian });
    const Foreign = struct({ a: int32, inner: Native }, { endian: foreign });
    const rebuilt = fromSchema(Foreign.toJSON());
    expect(rebuilt.toC('f')).toContain(`scalar_storage_order("${foreign}-endian")`);
    expect(rebuilt.hash).toBe(Foreign.hash);
    const bytes = Buffer.alloc(rebuilt.size);
    Foreign.write(bytes, 0, { a: 1, inner: { x: 2 } });
    expect(rebuilt.read(bytes, 0)).toEqual({ a: 1, inner: { x: 2 } });
  });
});

describe('padding of records with large members', () => {
  it('is zeroed on write around a large bytes field', () => {
    const Big = struct({ tag: int8, blob: bytes(1 << 20), n: int32, last: int8 });
    const buffer = Buffer.alloc(Big.size, 0xff);
    Big.write(buffer, 0, { tag: 1, blob: new Uint8Array(1 << 20), n: 7, last: 2 });
    const covered = new Uint8Array(Big.size);
    for (const field of Big.fields) covered.fill(1, field.offset, field.offset + field.size);
    for (let i = 0; i < Big.size; i++) if (!covered[i]) expect(buffer[i]).toBe(0);
    expect(Big.read(buffer, 0).n).toBe(7);
  });
});
