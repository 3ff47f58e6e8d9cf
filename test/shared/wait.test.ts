import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MappedFile } from '../../src/mapped-file.js';
import { AtomicInt32, notify, wait, waitAsync } from '../../src/shared/index.js';
import { useTempDir } from '../helpers/temp.js';
import { runWorker } from './helpers.js';

const tmp = useTempDir();

function sharedFile(name: string): string {
  const path = tmp(name);
  writeFileSync(path, Buffer.alloc(4096));
  return path;
}

describe('wait/notify between processes (shared futex)', () => {
  it('ping-pong between two processes, 100,000 round trips, none lost', async () => {
    const path = sharedFile('pingpong.bin');
    const [a, b] = await Promise.all([
      runWorker(path, ['pingpong', '100000', '0']),
      runWorker(path, ['pingpong', '100000', '1']),
    ]);
    expect(a, a.stderr).toMatchObject({ code: 0, signal: null });
    expect(b, b.stderr).toMatchObject({ code: 0, signal: null });
    expect(a.stdout.trim()).toBe('done 199999');
    expect(b.stdout.trim()).toBe('done 200000');
  });

  it('the same with waitAsync on both sides (10,000 round trips)', async () => {
    const path = sharedFile('pingpong-async.bin');
    const [a, b] = await Promise.all([
      runWorker(path, ['pingpong-async', '10000', '0']),
      runWorker(path, ['pingpong-async', '10000', '1']),
    ]);
    expect(a, a.stderr).toMatchObject({ code: 0 });
    expect(b, b.stderr).toMatchObject({ code: 0 });
    expect(b.stdout.trim()).toBe('done 20000');
  });

  it("'not-equal' when the word differs, 'timed-out' after the timeout, sync and async", async () => {
    using file = MappedFile.anonymous(4096);
    const word = new AtomicInt32(file.buffer, 4);
    word.store(1);
    expect(wait(word, 2, 1000)).toBe('not-equal');
    expect(wait(word, 1, 10)).toBe('timed-out');
    expect(wait(word, 1, 0)).toBe('timed-out');
    expect(await waitAsync(word, 2, 1000)).toBe('not-equal');
    expect(await waitAsync(word, 1, 10)).toBe('timed-out');
    expect(notify(word)).toBe(0);
  });

  it('waitAsync is woken by notify from this process and leaves the event loop running', async () => {
    using file = MappedFile.anonymous(4096);
    const word = new AtomicInt32(file.buffer, 0);
    const waiting = waitAsync(word, 0);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the loop runs while the pool thread sleeps
    word.store(1);
    // The waiter may not be asleep in the kernel yet: notify until it is woken (it resolves 'ok' either way).
    let woken = 0;
    const result = await Promise.race([
      waiting,
      new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 0)),
    ]);
    if (result === 'pending') woken = notify(word, 1);
    expect(await waiting).toBe('ok');
    expect(woken).toBeLessThanOrEqual(1);
  });

  it('a mapping closed while waitAsync sleeps: ERR_MAPPING_CLOSED, never a crash', async () => {
    const file = MappedFile.anonymous(4096);
    const word = new AtomicInt32(file.buffer, 0);
    const waiting = waitAsync(word, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    file.close();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_MAPPING_CLOSED' });
    expect(() => wait(word, 0, 1)).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_CLOSED' }));
    expect(() => notify(word)).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_CLOSED' }));
  });

  it('rejects bad arguments with Node codes', async () => {
    using file = MappedFile.anonymous(4096);
    const word = new AtomicInt32(file.buffer, 0);
    expect(() => wait({} as never, 0)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => wait(word, '0' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => wait(word, 2 ** 32)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => wait(word, 0, -1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => wait(word, 0, NaN)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => wait(word, 0, '1' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    await expect(waitAsync(word, 0, -5)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(() => notify(word, -1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => notify(word, 1.5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => notify(word, '1' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
