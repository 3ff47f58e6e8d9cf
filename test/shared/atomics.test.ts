import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MappedFile } from '../../src/mapped-file.js';
import { AtomicBigInt64, AtomicInt32 } from '../../src/shared/index.js';
import { useTempDir } from '../helpers/temp.js';
import { runWorker } from './helpers.js';

const tmp = useTempDir();

describe('atomics over a mapping', () => {
  it('8 processes x 100,000 atomic adds with no lock: the total is exact', async () => {
    const path = tmp('atomic-8.bin');
    writeFileSync(path, Buffer.alloc(4096));
    const results = await Promise.all(Array.from({ length: 8 }, () => runWorker(path, ['atomic-add', '100000'])));
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0, signal: null });
    using file = MappedFile.open(path, { mode: 'r' });
    expect(file.buffer.readInt32LE(8)).toBe(800_000);
  });

  it('load, store, add, sub, exchange, compareExchange, and/or/xor on 32 bits', () => {
    using file = MappedFile.anonymous(4096);
    const a = new AtomicInt32(file.buffer, 12);
    expect(a.store(5)).toBe(5);
    expect(a.add(3)).toBe(5);
    expect(a.sub(1)).toBe(8);
    expect(a.exchange(100)).toBe(7);
    expect(a.compareExchange(1, 2)).toBe(100); // not swapped
    expect(a.compareExchange(100, 2)).toBe(100); // swapped
    expect(a.or(0b100)).toBe(2);
    expect(a.and(0b110)).toBe(6);
    expect(a.xor(0b11)).toBe(6);
    expect(a.load()).toBe(5);
    expect(file.buffer.readInt32LE(12)).toBe(5); // the bytes, in host order
    a.store(0x7fffffff);
    a.add(1);
    expect(a.load()).toBe(-0x80000000); // wraps like C
  });

  it('64-bit atomics as bigint', () => {
    using file = MappedFile.anonymous(4096);
    const a = new AtomicBigInt64(file.buffer, 8);
    a.store(2n ** 40n);
    expect(a.add(1n)).toBe(2n ** 40n);
    expect(a.compareExchange(2n ** 40n + 1n, -1n)).toBe(2n ** 40n + 1n);
    expect(a.sub(1n)).toBe(-1n);
    expect(a.exchange(7n)).toBe(-2n);
    expect(a.load()).toBe(7n);
    expect(file.buffer.readBigInt64LE(8)).toBe(7n);
  });

  it('alignment is checked from the start of the mapping, not of the view', () => {
    using file = MappedFile.anonymous(4096);
    const view = file.buffer.subarray(2);
    expect(() => new AtomicInt32(view, 0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(new AtomicInt32(view, 2).load()).toBe(0);
    expect(() => new AtomicBigInt64(file.buffer, 4)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('rejects bad arguments with Node codes', () => {
    using file = MappedFile.anonymous(4096);
    expect(() => new AtomicInt32(file.buffer, 4096)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => new AtomicInt32(file.buffer, -4)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => new AtomicInt32(file.buffer, 1.5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => new AtomicInt32(file.buffer, '0' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => new AtomicInt32([1, 2] as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => new AtomicInt32(Buffer.alloc(2))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    const a = new AtomicInt32(file.buffer);
    expect(() => a.add(2 ** 32)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => a.store(0.5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => a.store('1' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => a.compareExchange(0, 1n as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const b = new AtomicBigInt64(file.buffer, 8);
    expect(() => b.add(1 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => b.store(2n ** 64n)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('after close: ERR_MAPPING_CLOSED, never a crash', () => {
    const file = MappedFile.anonymous(4096);
    const a = new AtomicInt32(file.buffer);
    const b = new AtomicBigInt64(file.buffer, 8);
    file.close();
    expect(() => a.add(1)).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_CLOSED' }));
    expect(() => b.load()).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_CLOSED' }));
    expect(() => new AtomicInt32(a.cell)).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_CLOSED' }));
  });
});
