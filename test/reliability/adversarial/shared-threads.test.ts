/**
 * Promise: the Mutex is a lock between threads too (owners are thread ids): worker threads of one process contend
 * with its main thread, and a worker that ends while it holds the lock is recovered as 'owner-died'. Child process.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scriptReport, SRC_INDEX } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir();
/** tsx's module hooks, which a worker thread must register itself to load TypeScript. */
const TSX_API = pathToFileURL(
  createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs'),
).href;

describe('Mutex between threads of one process (child process)', () => {
  it('3 workers and the main thread (lockAsync) count exactly; a worker ended holding the lock is recovered', async () => {
    const shared = tmp('threads.bin');
    writeFileSync(shared, Buffer.alloc(4096));
    const worker = tmp('worker.mjs');
    writeFileSync(
      worker,
      `import { register } from ${JSON.stringify(TSX_API)};
      register();
      await import(${JSON.stringify(pathToFileURL(tmp('worker-body.mts')).href)});`,
    );
    writeFileSync(
      tmp('worker-body.mts'),
      `import { workerData, parentPort } from 'node:worker_threads';
      import { MappedFile, Mutex } from ${JSON.stringify(SRC_INDEX)};
      const file = MappedFile.open(workerData.path, { mode: 'r+' });
      const mutex = new Mutex(file.buffer, 0);
      if (workerData.hold) {
        mutex.lock();
        file.buffer.writeInt32LE(1, 24);
        parentPort.postMessage(mutex.owner);
        setInterval(() => {}, 1000); // ended by terminate() while holding the lock
      } else {
        for (let i = 0; i < workerData.n; i++) {
          mutex.lock();
          file.buffer.writeInt32LE(file.buffer.readInt32LE(8) + 1, 8);
          mutex.unlock();
        }
        parentPort.postMessage('done');
      }`,
    );
    const report = await scriptReport(
      tmp,
      'threads',
      `import { Worker } from 'node:worker_threads';
      import { MappedFile, Mutex } from __SRC__;
      const [path, script] = process.argv.slice(2);
      using file = MappedFile.open(path, { mode: 'r+' });
      const mutex = new Mutex(file.buffer, 0);
      const n = 5000;
      const run = (data) => new Promise((resolve, reject) => {
        const worker = new Worker(script, { workerData: { path, ...data } });
        worker.once('message', (message) => resolve({ worker, message }));
        worker.once('error', reject);
      });
      const workers = [run({ n }), run({ n }), run({ n })];
      for (let i = 0; i < n; i++) {
        await mutex.lockAsync();
        file.buffer.writeInt32LE(file.buffer.readInt32LE(8) + 1, 8);
        mutex.unlock();
      }
      for (const { worker } of await Promise.all(workers)) await worker.terminate();
      const count = file.buffer.readInt32LE(8);
      const { worker: holder, message: holderTid } = await run({ hold: true });
      const busy = mutex.tryLock();
      await holder.terminate();
      const result = mutex.lock({ timeout: 10_000 });
      console.log(count, holderTid !== process.pid, busy, result, file.buffer.readInt32LE(24));
      mutex.unlock();`,
      [shared, worker],
      { timeoutMs: 120_000 },
    );
    expect(report).toBe('20000 true false owner-died 1');
  });
});
