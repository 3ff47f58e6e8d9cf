/**
 * Attacks on the array windows of lazy-bounds.test.ts from outside its list: patched getters and globals that the
 * window code must not consult, index values of every type, and buffers that change size under an array. Every
 * array lies inside a bigger buffer whose bytes outside the array hold a pattern that must stay as it was.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { int32, struct } from '../../src/layout/index.js';

const Rec = struct({ a: int32, b: int32 });

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
