import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MappedFile } from '../../src/mapped-file.js';
import { Mutex } from '../../src/shared/index.js';
import { useTempDir } from '../helpers/temp.js';
import { ended, runWorker, startWorker, useIpcCleanup } from './helpers.js';

const tmp = useTempDir();
const cleanup = useIpcCleanup();

function sharedFile(name: string): string {
  const path = tmp(name);
  writeFileSync(path, Buffer.alloc(4096));
  return path;
}

describe('Mutex between processes', () => {
  it('8 processes x 100,000 increments under lock/unlock: the total is exact', async () => {
    const path = sharedFile('mutex-8.bin');
    const results = await Promise.all(Array.from({ length: 8 }, () => runWorker(path, ['mutex-add', '100000'])));
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0, signal: null });
    using file = MappedFile.open(path, { mode: 'r' });
    expect(file.buffer.readInt32LE(8)).toBe(800_000);
    expect(file.buffer.readInt32LE(0)).toBe(0); // unlocked, no waiter bit left behind
  });

  it('the same with lockAsync (4 processes x 20,000, waits on the thread pool)', async () => {
    const path = sharedFile('mutex-async.bin');
    const results = await Promise.all(Array.from({ length: 4 }, () => runWorker(path, ['mutex-add-async', '20000'])));
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0, signal: null });
    using file = MappedFile.open(path, { mode: 'r' });
    expect(file.buffer.readInt32LE(8)).toBe(80_000);
  });

  it('a holder SIGKILLed in the critical section: another process gets the lock and is told the owner died', async () => {
    const path = sharedFile('mutex-kill.bin');
    const holder = cleanup.child(await startWorker(path, ['hold'], 'locked'));
    using file = MappedFile.open(path, { mode: 'r+' });
    const mutex = new Mutex(file.buffer, 0);
    expect(mutex.owner).toBe(holder.pid);
    expect(mutex.tryLock()).toBe(false);
    const taker = runWorker(path, ['take', '5000']); // lock({ timeout: 5000 }) in a third process
    holder.kill('SIGKILL');
    expect(await ended(holder)).toEqual({ code: null, signal: 'SIGKILL' });
    const result = await taker;
    expect(result, result.stderr).toMatchObject({ code: 0 });
    // The LockResult, and the scratch word the holder set half-way through its update.
    expect(result.stdout.trim()).toBe('owner-died 1');
    expect(mutex.owner).toBe(0);
  });

  it('tryLock / lock / unlock in one process; the word is the owner thread id', () => {
    using file = MappedFile.anonymous(4096);
    const mutex = new Mutex(file.buffer, 16);
    expect(mutex.tryLock()).toBe('acquired');
    expect(mutex.owner).toBe(process.pid);
    expect(file.buffer.readInt32LE(16)).toBe(process.pid);
    expect(mutex.tryLock()).toBe(false);
    mutex.unlock();
    expect(file.buffer.readInt32LE(16)).toBe(0);
    expect(mutex.lock()).toBe('acquired');
    mutex.unlock();
  });

  it('lock while this thread holds it: ERR_MUTEX_DEADLOCK instead of waiting for ever', () => {
    using file = MappedFile.anonymous(4096);
    const mutex = new Mutex(file.buffer);
    mutex.lock();
    expect(() => mutex.lock()).toThrow(expect.objectContaining({ code: 'ERR_MUTEX_DEADLOCK' }));
    mutex.unlock();
  });

  it('unlock of a mutex this thread does not hold: ERR_MUTEX_NOT_OWNER', () => {
    using file = MappedFile.anonymous(4096);
    const mutex = new Mutex(file.buffer);
    expect(() => mutex.unlock()).toThrow(expect.objectContaining({ code: 'ERR_MUTEX_NOT_OWNER' }));
    file.buffer.writeInt32LE(1, 0); // "held" by pid 1
    expect(() => mutex.unlock()).toThrow(expect.objectContaining({ code: 'ERR_MUTEX_NOT_OWNER' }));
  });

  it('lock({ timeout }) and lockAsync({ timeout }) give up with ERR_MUTEX_TIMEOUT while another process holds it', async () => {
    const path = sharedFile('mutex-timeout.bin');
    const holder = cleanup.child(await startWorker(path, ['hold'], 'locked'));
    using file = MappedFile.open(path, { mode: 'r+' });
    const mutex = new Mutex(file.buffer);
    expect(() => mutex.lock({ timeout: 50 })).toThrow(expect.objectContaining({ code: 'ERR_MUTEX_TIMEOUT' }));
    await expect(mutex.lockAsync({ timeout: 50 })).rejects.toMatchObject({ code: 'ERR_MUTEX_TIMEOUT' });
    holder.kill('SIGKILL');
    await ended(holder);
  });

  it('lockAsync does not block the event loop while it waits', async () => {
    const path = sharedFile('mutex-loop.bin');
    const holder = cleanup.child(await startWorker(path, ['hold'], 'locked'));
    using file = MappedFile.open(path, { mode: 'r+' });
    const mutex = new Mutex(file.buffer);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const locking = mutex.lockAsync();
    // The loop keeps running timers while the lock is held elsewhere...
    while (ticks < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    holder.kill('SIGKILL'); // ...and the lock comes once the holder is gone.
    expect(await locking).toBe('owner-died');
    clearInterval(timer);
    mutex.unlock();
  });

  it('a closed mapping: ERR_MAPPING_CLOSED, never a crash', () => {
    const file = MappedFile.anonymous(4096);
    const mutex = new Mutex(file.buffer);
    file.close();
    expect(() => mutex.lock()).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_CLOSED' }));
    expect(() => mutex.tryLock()).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_CLOSED' }));
    expect(() => mutex.unlock()).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_CLOSED' }));
  });

  it('rejects bad arguments with Node codes', () => {
    using file = MappedFile.anonymous(4096);
    expect(() => new Mutex(file.buffer, 2)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => new Mutex(file.buffer, 4096)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => new Mutex('x' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const mutex = new Mutex(file.buffer);
    mutex.lock();
    try {
      const other = new Mutex(file.buffer);
      expect(() => other.lock()).toThrow(expect.objectContaining({ code: 'ERR_MUTEX_DEADLOCK' }));
    } finally {
      mutex.unlock();
    }
    file.buffer.writeInt32LE(1, 0);
    expect(() => mutex.lock({ timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => mutex.lock({ timeout: '1' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => mutex.lock(5 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
