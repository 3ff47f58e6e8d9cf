/**
 * Promise: every argument of wait/notify and the Mutex gives a defined outcome or a coded error, the same one
 * whichever form (sync or async) is called; never an abort, never a wait that cannot end. Child processes.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { scriptReport, SRC_INDEX } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir();

describe('wait/notify and Mutex arguments (child processes)', () => {
  it('a finite timeout of 9.3e12 ms or more (nanoseconds past 2^63) is no timeout, not EINVAL', async () => {
    const shared = tmp('long-timeouts.bin');
    writeFileSync(shared, Buffer.alloc(4096));
    const notifier = tmp('notifier.mts');
    writeFileSync(
      notifier,
      `import { AtomicInt32, MappedFile, notify } from ${JSON.stringify(SRC_INDEX)};
      using file = MappedFile.open(process.argv[2], { mode: 'r+' });
      const word = new AtomicInt32(file.buffer, 0);
      word.store(1);
      notify(word);`,
    );
    const report = await scriptReport(
      tmp,
      'long-timeouts',
      `import { spawn } from 'node:child_process';
      import { AtomicInt32, MappedFile, Mutex, notify, wait, waitAsync } from __SRC__;
      const [path, notifier] = process.argv.slice(2);
      using file = MappedFile.open(path, { mode: 'r+' });
      const word = new AtomicInt32(file.buffer, 0);
      const out = [];
      const longs = [2 ** 40, 2 ** 40 + 1, 9.3e12, 1e13, 2 ** 63, Number.MAX_VALUE];
      // The word differs: the kernel checks the timeout before the value, so an overflowed deadline was EINVAL.
      word.store(1);
      for (const ms of longs) out.push(wait(word, 0, ms), await waitAsync(word, 0, ms));
      // The word equals: the wait sleeps until another process changes it and notifies.
      word.store(0);
      const helper = spawn(process.execPath, ['--import', 'tsx', notifier, path], { stdio: 'inherit' });
      let woken = wait(word, 0, 1e13);
      while (woken === 'ok' && word.load() === 0) woken = wait(word, 0, 1e13); // a spurious wake: wait again
      out.push(woken === 'timed-out' ? 'timed-out' : 'woken-or-changed');
      await new Promise((resolve) => helper.on('close', resolve));
      // Mutex: a held lock and a very long timeout give up only at the deadline; a free one is taken at once.
      const mutex = new Mutex(file.buffer, 8);
      out.push(mutex.lock({ timeout: 1e13 }), await mutex.lockAsync({ timeout: 1e300 }).catch((e) => e.code));
      mutex.unlock();
      console.log(out.join(' '));`,
      [shared, notifier],
      { timeoutMs: 60_000 },
    );
    expect(report.split(' ')).toEqual([
      ...Array<string>(12).fill('not-equal'),
      'woken-or-changed',
      'acquired',
      'ERR_MUTEX_DEADLOCK',
    ]);
  });

  it('lockAsync by the thread that holds the lock rejects at once with ERR_MUTEX_DEADLOCK, as lock throws', async () => {
    const report = await scriptReport(
      tmp,
      'lock-async-deadlock',
      `import { MappedFile, Mutex } from __SRC__;
      using file = MappedFile.anonymous(4096);
      const mutex = new Mutex(file.buffer, 0);
      mutex.lock();
      const codes = [];
      try { mutex.lock(); } catch (error) { codes.push(error.code); }
      for (const options of [undefined, {}, { timeout: Infinity }, { timeout: 60_000 }]) {
        codes.push(await mutex.lockAsync(options).then(() => 'acquired', (error) => error.code));
      }
      codes.push(await mutex.withLock(() => 'ran').catch((error) => error.code));
      codes.push(mutex.tryLock());
      // Its WAITERS bit set by a sleeper in another process: still this thread's lock.
      file.buffer.writeUInt32LE((file.buffer.readUInt32LE(0) | 0x80000000) >>> 0, 0);
      codes.push(await mutex.lockAsync().catch((error) => error.code));
      mutex.unlock();
      codes.push(await mutex.lockAsync());
      console.log(codes.join(' '));`,
      [],
      { timeoutMs: 20_000 }, // before the fix the first lockAsync waited for ever: the child is killed, the test fails
    );
    expect(report.split(' ')).toEqual([
      ...Array<string>(6).fill('ERR_MUTEX_DEADLOCK'),
      'false',
      'ERR_MUTEX_DEADLOCK',
      'acquired',
    ]);
  });

  it('option getters that close the mapping mid-call: ERR_MAPPING_CLOSED, never an addon assertion', async () => {
    const report = await scriptReport(
      tmp,
      'closing-getters',
      `import { AtomicInt32, MappedFile, Mutex, wait, waitAsync } from __SRC__;
      const codes = [];
      for (const form of ['lock', 'lockAsync', 'withLock']) {
        const file = MappedFile.anonymous(4096);
        file.buffer.writeUInt32LE(1, 0); // held by init (pid 1, alive): the slow path reads the options
        const mutex = new Mutex(file.buffer, 0);
        const options = { get timeout() { file.close(); return 1000; } };
        try {
          if (form === 'lock') mutex.lock(options);
          else if (form === 'lockAsync') await mutex.lockAsync(options);
          else await mutex.withLock(() => 0, options);
          codes.push('returned');
        } catch (error) { codes.push(error.code); }
      }
      const file = MappedFile.anonymous(4096);
      const word = new AtomicInt32(file.buffer, 0);
      file.close();
      for (const call of [() => wait(word, 0, 10), () => waitAsync(word, 0, 10)]) {
        try { await call(); codes.push('returned'); } catch (error) { codes.push(error.code); }
      }
      console.log(codes.join(' '));`,
    );
    expect(report.split(' ')).toEqual(Array(5).fill('ERR_MAPPING_CLOSED'));
  });
});
