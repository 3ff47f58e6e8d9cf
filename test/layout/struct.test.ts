import { describe, expect, it } from 'vitest';
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
} from '../../src/layout/index.js';
import { thrown } from '../helpers/thrown.js';

const Student = struct({ name: char(4), age: int32 });

function expectCode(fn: () => unknown, code: string, kind: ErrorConstructor = Error): Error {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(kind);
  expect(error.code).toBe(code);
  return error;
}

describe('layout of a struct', () => {
  it('lays out the seeds record like C', () => {
    expect(Student.size).toBe(8);
    expect(Student.align).toBe(4);
    expect(Student.offsetOf('name')).toBe(0);
    expect(Student.offsetOf('age')).toBe(4);
    expect(Student.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ['name', 0, 4],
      ['age', 4, 4],
    ]);
    expect(Student.fields[1]!.type).toBe(int32);
    expect(Student.kind).toBe('struct');
  });

  it('pads to alignment, packs, aligns and overlays unions', () => {
    const S = struct({ a: int8, b: int64, c: int16 });
    expect([S.size, S.align, S.offsetOf('b'), S.offsetOf('c')]).toEqual([24, 8, 8, 16]);
    const P = struct({ a: int8, b: int64, c: int16 }, { packed: true });
    expect([P.size, P.align, P.offsetOf('b'), P.offsetOf('c')]).toEqual([11, 1, 1, 9]);
    const A = struct({ a: int8 }, { align: 16 });
    expect([A.size, A.align]).toEqual([16, 16]);
    const Low = struct({ a: int64 }, { align: 2 });
    expect(Low.align).toBe(8); // aligned(n) never lowers alignment
    const PA = struct({ a: int8, b: int32 }, { packed: true, align: 4 });
    expect([PA.size, PA.align, PA.offsetOf('b')]).toEqual([8, 4, 1]);
    const U = union({ a: int8, b: float64, c: char(11) });
    expect([U.size, U.align, U.offsetOf('c')]).toEqual([16, 8, 0]);
    const N = struct({ x: int8, inner: struct({ y: int16 }), list: array(struct({ z: int32, w: int8 }), 3) });
    expect([N.size, N.offsetOf('inner'), N.offsetOf('list')]).toEqual([28, 2, 4]);
  });

  it('rejects bad descriptions with coded errors', () => {
    expectCode(() => struct({}), 'ERR_INVALID_ARG_VALUE', TypeError);
    expectCode(() => struct(null as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => struct({ '1a': int8 }), 'ERR_INVALID_ARG_VALUE', TypeError);
    expectCode(() => struct({ 'a-b': int8 }), 'ERR_INVALID_ARG_VALUE', TypeError);
    expectCode(() => struct({ toJSON: int8 }), 'ERR_INVALID_ARG_VALUE', TypeError);
    expectCode(() => struct({ a: 5 as never }), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => struct({ a: { kind: 'int33', size: 4, align: 4 } }), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => struct({ a: int8 }, null as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => struct({ a: int8 }, { packed: 'yes' as never }), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => struct({ a: int8 }, { align: 3 }), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => struct({ a: int8 }, { align: 0 }), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => struct({ a: int8 }, { align: 2 ** 29 }), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => struct({ a: int8 }, { align: '8' as never }), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => struct({ a: int8 }, { endian: 'middle' as never }), 'ERR_INVALID_ARG_VALUE', TypeError);
    expectCode(() => char(0), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => char(1.5), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => char('4' as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => bytes(-1), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => array(int32, 0), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => array({} as never, 2), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => Student.offsetOf('height' as never), 'ERR_INVALID_ARG_VALUE', TypeError);
  });
});

describe('read and write', () => {
  const Every = struct({
    a: int8,
    b: uint8,
    c: int16,
    d: uint16,
    e: int32,
    f: uint32,
    g: int64,
    h: uint64,
    i: float32,
    j: float64,
    k: bool,
    l: char(5),
    m: bytes(2),
    n: array(uint16, 2),
    o: struct({ p: int8, q: float64 }),
  });
  const value = {
    a: -128,
    b: 255,
    c: -32768,
    d: 65535,
    e: -2147483648,
    f: 4294967295,
    g: -(2n ** 63n),
    h: 2n ** 64n - 1n,
    i: 0.5,
    j: Math.PI,
    k: true,
    l: 'hello',
    m: new Uint8Array([1, 2]),
    n: [7, 8],
    o: { p: -1, q: 1e300 },
  };

  it('round-trips every type over Buffer, ArrayBuffer, Uint8Array window and DataView, honouring byteOffset', () => {
    const backing = new ArrayBuffer(Every.size * 3 + 5);
    const sources = [
      Buffer.from(backing, 5, Every.size * 2),
      new Uint8Array(backing, 3, Every.size * 2),
      new DataView(backing, 1, Every.size * 2),
      backing,
    ];
    const starts = [5, 3, 1, 0];
    for (const [n, source] of sources.entries()) {
      new Uint8Array(backing).fill(0);
      Every.write(source, Every.size, value);
      // The record went to the source's own byteOffset plus the offset given: int8 -128 is its first byte.
      expect(new Uint8Array(backing)[starts[n]! + Every.size]).toBe(0x80);
      expect(Every.read(source, Every.size)).toEqual(value);
      expect(Every.view(source, Every.size).toJSON()).toEqual(value);
    }
  });

  it('reads a pooled Buffer slice at its own offset', () => {
    const pooled = Buffer.from('xxxxabc\0\x05\0\0\0', 'latin1').subarray(4);
    expect(pooled.byteOffset).toBeGreaterThan(0);
    expect(Student.read(pooled, 0)).toEqual({ name: 'abc', age: 5 });
  });

  it('reads char(n) with C semantics and writes it NUL-padded', () => {
    const buf = Buffer.from([0x61, 0x62, 0x63, 0x64, 1, 0, 0, 0]);
    expect(Student.read(buf).name).toBe('abcd'); // a full field with no NUL
    buf[1] = 0;
    expect(Student.read(buf).name).toBe('a'); // stops at the first NUL, bytes after it ignored
    Student.write(buf, 0, { name: 'é', age: 1 });
    expect([...buf.subarray(0, 4)]).toEqual([0xc3, 0xa9, 0, 0]);
    expect(Student.read(buf).name).toBe('é');
    Student.write(buf, 0, { name: '€', age: 1 }); // 3 bytes
    expect(Student.read(buf).name).toBe('€');
  });

  it('rejects a string longer than char(n) in bytes, naming the field and its limit, and leaves the field alone', () => {
    const buf = Buffer.alloc(8);
    Student.write(buf, 0, { name: 'ok', age: 1 });
    const error = expectCode(() => Student.write(buf, 0, { name: 'abcde', age: 2 }), 'ERR_OUT_OF_RANGE', RangeError);
    expect(error.message).toContain('value.name');
    expect(error.message).toContain('4 bytes');
    expectCode(() => Student.write(buf, 0, { name: 'ab€', age: 2 }), 'ERR_OUT_OF_RANGE', RangeError); // 5 bytes
    expectCode(() => Student.write(buf, 0, { name: 'a\0b', age: 2 }), 'ERR_INVALID_ARG_VALUE', TypeError);
    expect(Student.read(buf).name).toBe('ok');
    const view = Student.view(buf);
    expect(expectCode(() => (view.name = 'abcde'), 'ERR_OUT_OF_RANGE', RangeError).message).toContain('"name"');
    expect(view.name).toBe('ok');
  });

  it('checks every value with a coded error naming the field', () => {
    const buf = Buffer.alloc(Every.size);
    const bad = (patch: Record<string, unknown>, code: string, kind: ErrorConstructor, field: string) => {
      const error = expectCode(() => Every.write(buf, 0, { ...value, ...patch }), code, kind);
      expect(error.message).toContain(field);
    };
    const range = 'ERR_OUT_OF_RANGE';
    const type = 'ERR_INVALID_ARG_TYPE';
    bad({ a: 128 }, range, RangeError, 'value.a');
    bad({ a: -129 }, range, RangeError, 'value.a');
    bad({ b: -1 }, range, RangeError, 'value.b');
    bad({ b: 256 }, range, RangeError, 'value.b');
    bad({ c: 32768 }, range, RangeError, 'value.c');
    bad({ d: 65536 }, range, RangeError, 'value.d');
    bad({ e: 2 ** 31 }, range, RangeError, 'value.e');
    bad({ e: 1.5 }, range, RangeError, 'value.e');
    bad({ e: NaN }, range, RangeError, 'value.e');
    bad({ e: Infinity }, range, RangeError, 'value.e');
    bad({ f: -1 }, range, RangeError, 'value.f');
    bad({ f: 2 ** 32 }, range, RangeError, 'value.f');
    bad({ e: '5' }, type, TypeError, 'value.e');
    bad({ e: undefined }, type, TypeError, 'value.e'); // a missing field
    bad({ g: 2n ** 63n }, range, RangeError, 'value.g');
    bad({ g: 5 }, type, TypeError, 'value.g');
    bad({ h: -1n }, range, RangeError, 'value.h');
    bad({ h: 2n ** 64n }, range, RangeError, 'value.h');
    bad({ i: '1' }, type, TypeError, 'value.i');
    bad({ j: null }, type, TypeError, 'value.j');
    bad({ k: 1 }, type, TypeError, 'value.k');
    bad({ l: 5 }, type, TypeError, 'value.l');
    bad({ m: [1, 2] }, type, TypeError, 'value.m');
    bad({ m: new Uint8Array(3) }, range, RangeError, 'value.m.length');
    bad({ n: [1] }, range, RangeError, 'value.n.length');
    bad({ n: 'ab' }, type, TypeError, 'value.n');
    bad({ n: [1, 70000] }, range, RangeError, 'value.n[1]');
    bad({ o: null }, type, TypeError, 'value.o');
    bad({ o: { p: 1 } }, type, TypeError, 'value.o.q');
    expectCode(() => Every.write(buf, 0, null as never), type, TypeError);
    const missing: Partial<typeof value> = { ...value };
    delete missing.a;
    expect(expectCode(() => Every.write(buf, 0, missing as never), type, TypeError).message).toContain('value.a');
  });

  it('checks sources and offsets', () => {
    const buf = Buffer.alloc(16);
    expectCode(() => Student.read([] as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => Student.read('abc' as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => Student.read(buf, -1), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => Student.read(buf, 1.5), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => Student.read(buf, 9), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => Student.read(buf, '0' as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => Student.write(buf, 12, { name: 'a', age: 1 }), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => Student.view(buf.subarray(0, 7)), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => Student.read(new ArrayBuffer(0)), 'ERR_OUT_OF_RANGE', RangeError);
    expect(Student.read(buf, 8)).toEqual({ name: '', age: 0 });
  });

  it('zeroes padding on write, and a union write sets one member and zeroes the rest', () => {
    const S = struct({ a: int8, b: int32 });
    const buf = Buffer.alloc(8, 0xff);
    S.write(buf, 0, { a: 1, b: 2 });
    expect([...buf]).toEqual([1, 0, 0, 0, 2, 0, 0, 0]);
    const U = union({ small: uint8, big: uint32 });
    const ubuf = Buffer.alloc(4, 0xff);
    U.write(ubuf, 0, { small: 7 });
    expect([...ubuf]).toEqual([7, 0, 0, 0]);
    expect(U.read(ubuf)).toEqual({ small: 7, big: 7 });
    expectCode(() => U.write(ubuf, 0, {} as never), 'ERR_INVALID_ARG_TYPE', TypeError);
    expectCode(() => U.write(ubuf, 0, { small: 1, big: 2 } as never), 'ERR_INVALID_ARG_TYPE', TypeError);
  });

  it('reads any nonzero byte as true, rounds float32, reads big-endian formats', () => {
    const B = struct({ flag: bool, f: float32 });
    const buf = Buffer.alloc(8);
    buf[0] = 2;
    expect(B.read(buf).flag).toBe(true);
    B.write(buf, 0, { flag: false, f: 0.1 });
    expect(buf[0]).toBe(0);
    expect(B.read(buf).f).toBe(Math.fround(0.1));
    const Big = struct(
      { a: uint16, b: int32, c: struct({ d: uint32 }), e: struct({ f: uint16 }, { endian: 'little' }) },
      { endian: 'big' },
    );
    const big = Buffer.alloc(Big.size);
    Big.write(big, 0, { a: 0x0102, b: -2, c: { d: 0x0a0b0c0d }, e: { f: 0x0102 } });
    expect([...big]).toEqual([1, 2, 0, 0, 0xff, 0xff, 0xff, 0xfe, 0x0a, 0x0b, 0x0c, 0x0d, 2, 1, 0, 0]);
    expect(Big.read(big)).toEqual({ a: 0x0102, b: -2, c: { d: 0x0a0b0c0d }, e: { f: 0x0102 } });
    expect(Big.view(big).c.d).toBe(0x0a0b0c0d);
  });
});

describe('live views', () => {
  it('reads and writes the bytes directly, no copy', () => {
    const buf = Buffer.alloc(16);
    Student.write(buf, 8, { name: 'ann', age: 20 });
    const view = Student.view(buf, 8);
    view.age += 1;
    expect(buf.readInt32LE(12)).toBe(21);
    buf.writeInt32LE(99, 12);
    expect(view.age).toBe(99);
    view.name = 'bo';
    expect(Student.read(buf, 8)).toEqual({ name: 'bo', age: 99 });
    expect(JSON.parse(JSON.stringify(view))).toEqual({ name: 'bo', age: 99 });
    expect(Object.keys(view)).toEqual([]);
  });

  it('gives nested records, arrays and bytes as live views; checks assignments', () => {
    const R = struct({
      pos: struct({ x: int16, y: int16 }),
      scores: array(uint8, 3),
      raw: bytes(2),
      tags: array(char(2), 2),
    });
    const buf = Buffer.alloc(R.size);
    const view = R.view(buf);
    view.pos.x = -5;
    view.scores.set(2, 200);
    view.raw[1] = 9;
    view.tags.set(1, 'hi');
    expect(R.read(buf)).toEqual({
      pos: { x: -5, y: 0 },
      scores: [0, 0, 200],
      raw: new Uint8Array([0, 9]),
      tags: ['', 'hi'],
    });
    expect(view.scores.at(-1)).toBe(200);
    expectCode(() => (view.pos.x = 40000), 'ERR_OUT_OF_RANGE', RangeError);
    expectCode(() => view.scores.set(0, -1), 'ERR_OUT_OF_RANGE', RangeError);
    expect(() => ((view as { pos: unknown }).pos = { x: 1, y: 2 })).toThrow(TypeError); // no setter: read-only
  });
});
