/**
 * Attacks on the array windows of lazy-bounds.test.ts from outside its list: patched getters and globals that the
 * window code must not consult, index values of every type, and buffers that change size under an array. Every
 * array lies inside a bigger buffer whose bytes outside the array hold a pattern that must stay as it was.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { array, bytes, int32, struct } from '../../src/layout/index.js';
import { codeOf, thrown } from '../helpers/thrown.js';

const Rec = struct({ a: int32, b: int32 });
const Holder = struct({ items: array(Rec, 2), tail: bytes(16) });

/** A buffer of `size` bytes, byte i holding (i * 7 + 3) & 0xff: a copy of one part over another shows. */
function patterned(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 7 + 3) & 0xff);
}

/** Every byte of `bytes` outside [start, end) still holds the pattern. */
function expectOutsideIntact(bytes: Uint8Array, start: number, end: number): void {
  const expected = patterned(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    if (i >= start && i < end) continue;
    if (bytes[i] !== expected[i]) expect.fail(`byte ${i} outside the array [${start}, ${end}) changed`);
  }
}

/** Restores every property patched with `patch` after each test. */
const restores: (() => void)[] = [];
function patch(target: object, name: string, descriptor: PropertyDescriptor): void {
  const saved = Object.getOwnPropertyDescriptor(target, name);
  restores.push(() => {
    if (saved === undefined) Reflect.deleteProperty(target, name);
    else Object.defineProperty(target, name, saved);
  });
  Object.defineProperty(target, name, { ...descriptor, configurable: true });
}
afterEach(() => {
  for (const restore of restores.splice(0).reverse()) restore();
});

describe('fill copies inside the window whatever DataView.prototype says', () => {
  it('a lying byteOffset or buffer getter moves no copy outside the array', () => {
    const bytes = patterned(96);
    const records = Rec.array(bytes, { offset: 32, length: 4 });
    patch(DataView.prototype, 'byteOffset', { get: () => 0 });
    patch(DataView.prototype, 'buffer', { get: () => new ArrayBuffer(4096) });
    records.fill({ a: 1, b: 2 });
    expect(records.byteOffset).toBe(32);
    for (const restore of restores.splice(0).reverse()) restore();
    expect(records.toArray()).toEqual(Array.from({ length: 4 }, () => ({ a: 1, b: 2 })));
    expectOutsideIntact(bytes, 32, 64);
  });
});

describe('a new window is never wider than asked, whatever the globals say', () => {
  // The window of a subarray or an array member is cut from its parent's DataView. A buffer that only looks detached
  // (its byteLength getter says 0, and Uint8Array throws) must not get the whole parent DataView as its window.
  function looksDetached(): void {
    patch(ArrayBuffer.prototype, 'byteLength', { get: () => 0 });
    patch(globalThis, 'Uint8Array', {
      value: function Uint8Array() {
        throw new TypeError('patched');
      },
      writable: true,
    });
  }
  function restore(): void {
    for (const undo of restores.splice(0).reverse()) undo();
  }

  it('subarray() of an array', () => {
    const bytes = patterned(Rec.size * 8);
    const records = Rec.array(bytes);
    looksDetached();
    const sub = records.subarray(6, 7);
    restore();
    expect(sub.byteOffset).toBe(6 * Rec.size);
    expect(sub.get(0)).toEqual(records.get(6));
    const past = sub.cursor().at(1);
    expect(codeOf(() => past.a)).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => (past.b = 0))).toBe('ERR_OUT_OF_RANGE');
    expectOutsideIntact(bytes, 0, 0);
  });

  it('an array member of a record', () => {
    const bytes = patterned(Holder.size * 2);
    const holders = Holder.array(bytes);
    const holder = holders.at(1);
    looksDetached();
    const items = holder.items;
    restore();
    expect(items.byteOffset).toBe(Holder.size + Holder.offsetOf('items'));
    expect(items.toArray()).toEqual(holders.get(1).items);
    const past = items.cursor().at(2);
    expect(codeOf(() => past.a)).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => (past.a = 0))).toBe('ERR_OUT_OF_RANGE');
    expectOutsideIntact(bytes, 0, 0);
  });
});

describe('an index of any type gets a coded error', () => {
  // `>>>` on a bigint or a Symbol throws a plain TypeError, String() of a Symbol or of an object without a prototype
  // too; an object's valueOf must not run (at() ran it twice and took its number).
  it('bigint, Symbol, objects with valueOf or without a prototype: ERR_OUT_OF_RANGE from every index taker', () => {
    const bytes = patterned(Rec.size * 4);
    const records = Rec.array(bytes);
    let valueOfCalls = 0;
    const hostile = {
      valueOf() {
        valueOfCalls++;
        return 1;
      },
    };
    for (const index of [1n, 2n ** 64n, Symbol('i'), hostile, Object.create(null) as object, [1]]) {
      const cursor = records.cursor();
      for (const call of [
        () => cursor.at(index as never),
        () => records.at(index as never),
        () => records.get(index as never),
        () => records.set(index as never, { a: 0, b: 0 }),
      ]) {
        const error = thrown(call);
        expect([typeof index, error.code]).toEqual([typeof index, 'ERR_OUT_OF_RANGE']);
        expect(error).toBeInstanceOf(RangeError);
      }
    }
    expect(valueOfCalls).toBe(0);
    expectOutsideIntact(bytes, 0, 0);
  });
});

describe('a resizable ArrayBuffer resized under an array', () => {
  type Resizable = ArrayBuffer & { resize(length: number): void };
  const resizable = (length: number, max: number): Resizable =>
    new (ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => Resizable)(length, {
      maxByteLength: max,
    });

  it('shrunk below the array: every access is ERR_OUT_OF_RANGE, not V8\'s "detached" TypeError; grown back, it works', () => {
    const buffer = resizable(Rec.size * 6, Rec.size * 12);
    const records = Rec.array(buffer, { offset: Rec.size, length: 4 });
    records.fill({ a: 7, b: 8 });
    const holders = Holder.array(buffer, { length: 1 });
    const cursor = records.cursor();
    const taken = records.at(3);
    buffer.resize(Rec.size * 2);
    const calls: [string, () => unknown][] = [
      ['view', () => taken.a],
      ['view set', () => (taken.b = 1)],
      ['toJSON', () => taken.toJSON()],
      ['cursor', () => cursor.at(0).a],
      ['cursor past the end', () => cursor.at(9).a],
      ['get', () => records.get(0)],
      ['set', () => records.set(0, { a: 1, b: 1 })],
      ['at', () => records.at(0).a],
      ['toArray', () => records.toArray()],
      ['fill', () => records.fill({ a: 1, b: 1 })],
      ['column', () => records.column('a')],
      ['for-of', () => [...records].map((view) => view.a)],
      ['forEach', () => records.forEach((view) => view.a)],
      ['subarray', () => records.subarray(1)],
      ['byteOffset', () => records.byteOffset],
      ['array member', () => holders.at(0).items],
      ['copied as a value', () => Rec.write(Buffer.alloc(Rec.size), 0, taken)],
    ];
    for (const [name, call] of calls) expect([name, codeOf(call)]).toEqual([name, 'ERR_OUT_OF_RANGE']);
    buffer.resize(Rec.size * 12);
    expect(taken.toJSON()).toEqual({ a: 0, b: 0 }); // the engine zeroes what a shrink cut off
    expect(records.get(0)).toEqual({ a: 7, b: 8 }); // record 0 was inside the shrunk buffer
    expect(codeOf(() => cursor.at(4).a)).toBe('ERR_OUT_OF_RANGE'); // grown: the window did not grow with it
  });
});

describe('a source that lies about its window is taken as it is', () => {
  // Struct.array / read / write / view take the window of a typed array or DataView from the engine, not from the
  // object: an own property, a patched prototype getter or a patched ArrayBuffer.isView must not widen it.
  it('own byteOffset / byteLength / buffer properties on a typed array or a DataView', () => {
    const bytes = patterned(96);
    const elsewhere = patterned(4096);
    for (const source of [new Uint8Array(bytes.buffer, 32, 16), new DataView(bytes.buffer, 32, 16)]) {
      Object.defineProperty(source, 'byteOffset', { value: 0 });
      Object.defineProperty(source, 'byteLength', { value: 96 });
      Object.defineProperty(source, 'buffer', { value: elsewhere.buffer });
      const records = Rec.array(source);
      expect(records.length).toBe(2);
      expect(records.byteOffset).toBe(32);
      records.fill({ a: 1, b: 2 });
      Rec.write(source, 8, { a: 3, b: 4 });
      expect(codeOf(() => Rec.write(source, 16, { a: 3, b: 4 }))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => Rec.read(source, 16))).toBe('ERR_OUT_OF_RANGE');
      expect(codeOf(() => Rec.view(source, 16))).toBe('ERR_OUT_OF_RANGE');
      expect(Rec.read(source, 8)).toEqual({ a: 3, b: 4 });
      expect(Rec.view(source, 0).toJSON()).toEqual({ a: 1, b: 2 });
      expectOutsideIntact(bytes, 32, 48);
      expectOutsideIntact(elsewhere, 0, 0);
    }
  });

  it('patched prototype getters of typed arrays and DataView, and a patched ArrayBuffer.isView', () => {
    const bytes = patterned(96);
    const typedPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
    const sources = [new Uint8Array(bytes.buffer, 32, 16), new DataView(bytes.buffer, 32, 16)];
    for (const prototype of [typedPrototype, DataView.prototype]) {
      patch(prototype, 'byteOffset', { get: () => 0 });
      patch(prototype, 'byteLength', { get: () => 96 });
    }
    patch(ArrayBuffer, 'isView', { value: () => true, writable: true });
    for (const source of sources) {
      const records = Rec.array(source);
      expect(records.length).toBe(2);
      records.fill({ a: 5, b: 6 });
      expect(codeOf(() => Rec.write(source, 16, { a: 3, b: 4 }))).toBe('ERR_OUT_OF_RANGE');
    }
    // Not a view, whatever isView says: refused with a code, not V8's TypeError from a DataView constructor.
    expect(codeOf(() => Rec.array({ buffer: bytes.buffer, byteOffset: 0, byteLength: 96 }))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    for (const undo of restores.splice(0).reverse()) undo();
    expectOutsideIntact(bytes, 32, 48);
  });
});

describe('read, write and view of a source over a resizable ArrayBuffer that shrank', () => {
  it("a record past the new end is ERR_OUT_OF_RANGE naming the offset, not V8's RangeError; grown, it reads", () => {
    type Resizable = ArrayBuffer & { resize(length: number): void };
    const buffer = new (ArrayBuffer as unknown as new (length: number, options: object) => Resizable)(64, {
      maxByteLength: 128,
    });
    const tracking = new Uint8Array(buffer, 8);
    for (const source of [buffer, tracking]) {
      buffer.resize(64);
      Rec.write(source, 40, { a: 1, b: 2 }); // located while long
      buffer.resize(16);
      for (const call of [
        () => Rec.read(source, 40),
        () => Rec.write(source, 40, { a: 3, b: 4 }),
        () => Rec.view(source, 40),
      ]) {
        const error = thrown(call);
        expect(error.code).toBe('ERR_OUT_OF_RANGE');
        expect(error.message).toContain('"offset"');
      }
      buffer.resize(64);
      expect(Rec.read(source, 40)).toEqual({ a: 0, b: 0 }); // what the shrink cut off is zero
    }
  });
});

describe('a record built in scratch is copied from the scratch', () => {
  it('a patched DataView.prototype.buffer getter cannot put unchecked bytes in its place', () => {
    const bytes = patterned(Holder.size * 2);
    const holders = Holder.array(bytes);
    const forged = new Uint8Array(Holder.size * 4).fill(0xee);
    patch(DataView.prototype, 'buffer', { get: () => forged.buffer });
    const given = {
      items: [
        { a: 1, b: 2 },
        { a: 3, b: 4 },
      ],
      tail: new Uint8Array(16).fill(9),
    };
    holders.set(1, given);
    Holder.write(bytes, 0, given);
    for (const undo of restores.splice(0).reverse()) undo();
    expect(holders.toArray()).toEqual([given, given]);
  });
});

describe('attacks that held (kept as tests)', () => {
  it('a nested view or array member taken in range keeps working after its cursor moves out', () => {
    const bytes = patterned(Holder.size * 3);
    const holders = Holder.array(bytes, { length: 2 });
    const cursor = holders.cursor();
    const items = cursor.at(1).items;
    const first = items.at(0);
    cursor.at(2);
    expect(codeOf(() => cursor.at(2).items)).toBe('ERR_OUT_OF_RANGE');
    expect(first.toJSON()).toEqual(holders.get(1).items[0]);
    expect(items.toArray()).toEqual(holders.get(1).items);
    expect(codeOf(() => items.cursor().at(2).a)).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => items.subarray(1).cursor().at(1).a)).toBe('ERR_OUT_OF_RANGE');
    expectOutsideIntact(bytes, 0, 0);
  });

  it("an accessor borrowed from the prototype and called on a view past the end, or on another type's view", () => {
    const bytes = patterned(Rec.size * 4);
    const records = Rec.array(bytes, { length: 2 });
    const past = records.cursor().at(2);
    const prototype = Object.getPrototypeOf(records.at(0)) as object;
    const descriptor: { get?: (this: unknown) => unknown; set?: (this: unknown, value: unknown) => void } | undefined =
      Object.getOwnPropertyDescriptor(prototype, 'a');
    const { get, set } = descriptor ?? {};
    if (get === undefined || set === undefined) throw new Error('no accessor');
    expect(codeOf(() => get.call(past))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => set.call(past, 1))).toBe('ERR_OUT_OF_RANGE');
    const other = struct({ a: int32, b: int32 }).array(new Uint8Array(8)).at(0);
    expect(codeOf(() => get.call(other))).toBe('ERR_INVALID_THIS');
    expect(codeOf(() => set.call(other, 1))).toBe('ERR_INVALID_THIS');
    expectOutsideIntact(bytes, 0, 0);
  });

  it('a SharedArrayBuffer (growable, grown) and a DataView source: the window does not grow', () => {
    type Growable = SharedArrayBuffer & { grow(length: number): void };
    const Growable = SharedArrayBuffer as unknown as new (length: number, options: object) => Growable;
    const shared = new Growable(Rec.size * 2, { maxByteLength: Rec.size * 8 });
    const onShared = Rec.array(shared);
    shared.grow(Rec.size * 8);
    new Uint8Array(shared).fill(0xee);
    expect(codeOf(() => onShared.cursor().at(2).a)).toBe('ERR_OUT_OF_RANGE');
    const bytes = patterned(64);
    const onView = Rec.array(new DataView(bytes.buffer, 16, 16));
    expect(codeOf(() => onView.cursor().at(2).a)).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => (onView.cursor().at(2).b = 0))).toBe('ERR_OUT_OF_RANGE');
    expectOutsideIntact(bytes, 0, 0);
  });
});

describe('a resizable ArrayBuffer detached (transferred) under an array', () => {
  it('members, subarrays and cursors are ERR_DETACHED_BUFFER (the buffer still says it is resizable)', () => {
    type Resizable = ArrayBuffer & { resize(length: number): void };
    const Resizable = ArrayBuffer as unknown as new (length: number, options: object) => Resizable;
    const buffer = new Resizable(Holder.size * 2, { maxByteLength: 256 });
    const holders = Holder.array(buffer);
    const holder = holders.at(1);
    const items = holder.items;
    structuredClone(buffer, { transfer: [buffer] });
    expect(codeOf(() => holder.items)).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => holders.subarray(1))).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => items.subarray(1))).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => holders.cursor().at(3).items)).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => items.cursor().at(0).a)).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => holders.get(0))).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => Holder.view(buffer, 0))).toBe('ERR_DETACHED_BUFFER');
  });
});

describe("an array's length and type cannot be reassigned", () => {
  it('array.length = n and array.type = ... change nothing: checks stay coded, fill stays all or nothing', () => {
    const bytes = patterned(64);
    const records = Rec.array(bytes, { offset: 16, length: 2 });
    expect(() => Object.assign(records, { length: 6 })).toThrow(TypeError); // no setter: strict code throws
    expect(() => Object.assign(records, { type: struct({ a: int32 }) })).toThrow(TypeError);
    expect(Reflect.set(records, 'length', 6)).toBe(false);
    expect(records.length).toBe(2);
    expect(records.type).toBe(Rec);
    expect(codeOf(() => records.get(3))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => records.set(3, { a: 1, b: 1 }))).toBe('ERR_OUT_OF_RANGE');
    expect(records.toArray()).toHaveLength(2);
    expect(codeOf(() => records.fill({ a: 7, b: 7 }, 0, 6))).toBeUndefined();
    expectOutsideIntact(bytes, 16, 32);
  });
});

describe('a record type cannot be changed after it is made', () => {
  it('size, fields and the other members are frozen: a smaller size cannot move a record past its source', () => {
    const Local = struct({ a: int32, b: int32 });
    const bytes = patterned(64);
    const source = bytes.subarray(16, 32);
    expect(Object.isFrozen(Local)).toBe(true);
    expect(Reflect.set(Local, 'size', 1)).toBe(false);
    expect(Reflect.set(Local, 'fields', [{ name: 'a', type: int32, offset: 100, size: 4 }])).toBe(false);
    expect(Reflect.defineProperty(Local, 'size', { value: 1 })).toBe(false);
    expect(Local.size).toBe(8);
    expect(codeOf(() => Local.write(source, 15, { a: 1, b: 2 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => Local.read(source, 15))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => Local.view(source, 15))).toBe('ERR_OUT_OF_RANGE');
    expect(Local.array(source).length).toBe(2);
    Local.write(source, 8, { a: 1, b: 2 }); // still works, and its hash and accessors are still cached
    expect(Local.hash).toBe(struct({ a: int32, b: int32 }).hash);
    expectOutsideIntact(bytes, 16, 32);
  });
});

describe("the token that only memmap's code holds", () => {
  it("cannot be caught by replacing an array class's parent: super() would hand it to the replacement", () => {
    const records = Rec.array(new Uint8Array(Rec.size * 2));
    const ArrayClass = records.constructor;
    const parent = Object.getPrototypeOf(ArrayClass) as object;
    let received: unknown;
    function Impostor(token: unknown): void {
      received = token;
    }
    expect(Reflect.setPrototypeOf(ArrayClass, Impostor)).toBe(false);
    expect(Object.getPrototypeOf(ArrayClass)).toBe(parent);
    expect(records.subarray(1).length).toBe(1);
    expect(received).toBeUndefined();
  });
});

describe('a live buffer never looks detached, whatever the globals say', () => {
  it('a view past the end stays ERR_OUT_OF_RANGE with ArrayBuffer#byteLength and Uint8Array replaced', () => {
    const records = Rec.array(new ArrayBuffer(Rec.size * 2));
    const view = records.cursor().at(2);
    patch(ArrayBuffer.prototype, 'byteLength', { get: () => 0, configurable: true });
    patch(globalThis, 'Uint8Array', {
      value: function NotBytes() {
        throw new TypeError('detached, says the patch');
      },
      configurable: true,
      writable: true,
    });
    // The code is read here: codeOf itself looks at the error with the globals the test replaced.
    expect((thrown(() => view.a) as { code?: unknown }).code).toBe('ERR_OUT_OF_RANGE');
  });
});
