/**
 * read/write/view remember the last source they located (its DataView and window): alternating sources, windows of
 * one ArrayBuffer at different offsets, and a source detached after it was remembered must all behave as uncached.
 */
import { describe, expect, it } from 'vitest';
import { int32, struct } from '../../src/layout/index.js';

const Pair = struct({ a: int32, b: int32 });

function detach(buffer: ArrayBuffer): void {
  structuredClone(buffer, { transfer: [buffer] });
}

describe('the located-source cache', () => {
  it('alternating sources and windows of one buffer each read their own bytes', () => {
    const whole = Buffer.alloc(64);
    const first = whole.subarray(0, 32);
    const second = whole.subarray(8, 40);
    const other = Buffer.alloc(16);
    Pair.write(first, 0, { a: 1, b: 2 });
    Pair.write(second, 8, { a: 3, b: 4 });
    Pair.write(other, 0, { a: 5, b: 6 });
    for (let round = 0; round < 3; round++) {
      expect(Pair.read(first, 0)).toEqual({ a: 1, b: 2 });
      expect(Pair.read(second, 8)).toEqual({ a: 3, b: 4 });
      expect(Pair.read(other, 0)).toEqual({ a: 5, b: 6 });
      expect(Pair.read(whole, 16)).toEqual({ a: 3, b: 4 });
      expect(Pair.read(whole.buffer, whole.byteOffset)).toEqual({ a: 1, b: 2 });
    }
  });

  it('bounds are those of each source, not of the one located before', () => {
    const big = Buffer.alloc(64);
    const small = Buffer.alloc(8);
    Pair.read(big, 56);
    expect(() => Pair.read(small, 8)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    Pair.read(small, 0);
    expect(() => Pair.read(small, 1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Pair.read(big, 1.5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('a source detached after it was located throws ERR_DETACHED_BUFFER on read, write and view', () => {
    const buffer = new ArrayBuffer(16);
    const bytes = new Uint8Array(buffer);
    Pair.write(bytes, 0, { a: 1, b: 2 });
    expect(Pair.read(bytes, 0)).toEqual({ a: 1, b: 2 }); // now remembered
    detach(buffer);
    for (const call of [
      () => Pair.read(bytes, 0),
      () => Pair.write(bytes, 0, { a: 1, b: 2 }),
      () => Pair.view(bytes, 0),
    ])
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_DETACHED_BUFFER' }));
  });
});
