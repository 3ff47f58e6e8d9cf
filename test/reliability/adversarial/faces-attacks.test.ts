/**
 * Attacks on the faces design (src/mapping-faces.ts, native/retire.h) through the public API and the hostile
 * programs a user could write: what must hold once a mapping is retired (close, resize, refresh, growth, detach,
 * unmap) while something still works on its bytes. Each test here either broke the implementation once (the fix is in
 * the commit that added it) or is the strongest form of an attack that held.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MappedFile, RecordFile, int32, struct } from '../../../src/index.js';
import { Channel } from '../../../src/shared/index.js';
import { runScript } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';
import { codeOf } from '../../helpers/thrown.js';

const tmp = useTempDir();
const Row = struct({ a: int32 });

describe('the writer lock of a RecordFile', () => {
  it('is released at close even while another mapping of the same file stays open in this process', () => {
    // The SIGBUS registry keeps one descriptor per mapped file, shared by every mapping of it. It was a duplicate of
    // the first mapper's descriptor: the writer's, whose open file description holds flock LOCK_EX. A reader (or any
    // MappedFile of the same path) opened after the writer then kept the writer's lock alive after close().
    for (const other of ['reader', 'mapped-r', 'mapped-r+', 'mapped-c'] as const) {
      const path = tmp(`lock-${other}.db`);
      const writer = RecordFile.open(path, Row, { mode: 'w+' });
      writer.push({ a: 1 });
      const held =
        other === 'reader'
          ? RecordFile.open(path, Row, { mode: 'r' })
          : MappedFile.open(path, { mode: other === 'mapped-r' ? 'r' : other === 'mapped-r+' ? 'r+' : 'c' });
      writer.close();
      let second: RecordFile<typeof Row> | undefined;
      const code = codeOf(() => (second = RecordFile.open(path, Row, { mode: 'r+' })));
      expect({ other, code }).toEqual({ other, code: undefined });
      expect(second?.get(0)).toEqual({ a: 1 });
      second?.close();
      held.close();
    }
  });
});

describe('a stale Buffer after close', () => {
  it('never writes the file, whatever mode mapped it (writes made before close stay)', () => {
    for (const mode of ['r+', 'w+', 'c', 'r'] as const) {
      const path = tmp(`stale-${mode}.bin`);
      writeFileSync(path, Buffer.alloc(8192, 1));
      const file = MappedFile.open(path, mode === 'w+' ? { mode, size: 8192 } : { mode });
      const stale = file.buffer;
      stale[0] = 2; // before close: reaches the file in 'r+' and 'w+'
      file.close();
      stale.fill(3, 1);
      const expected = Buffer.alloc(8192, mode === 'w+' ? 0 : 1);
      if (mode === 'r+' || mode === 'w+') expected[0] = 2;
      expect({ mode, same: readFileSync(path).equals(expected) }).toEqual({ mode, same: true });
      expect(stale[0]).toBe(2); // the stale face keeps what this process wrote
    }
  });
});

describe('a kept range of a file truncated after close', () => {
  it('survives a reader striding through it one page in two (each fault must not cost a memory map)', async () => {
    // The SIGBUS handler repaired a fault in a retired range one page at a time: every other page read split the
    // range into one memory map per page, until mmap failed at vm.max_map_count (65,530) and the fault killed the
    // process. 300 MiB sparse: 38,400 faults, 76,800 maps the old way.
    const result = await runScript(
      tmp,
      'stride-after-close',
      `import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
       import { MappedFile } from __SRC__;
       const path = process.argv[2];
       const SIZE = 300 << 20;
       const fd = openSync(path, 'w+');
       ftruncateSync(fd, SIZE);
       writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 0);
       closeSync(fd);
       const file = MappedFile.open(path, { mode: 'r+' });
       const stale = file.buffer;
       file.close();
       const cut = openSync(path, 'r+');
       ftruncateSync(cut, 4096);
       closeSync(cut);
       let sum = 0;
       for (let at = 2 * 4096; at < SIZE; at += 8192) sum += stale[at];
       for (let at = 4096; at < SIZE; at += 8192 * 16) sum += stale[at];
       stale[SIZE - 1] = 7; // the zeros take private writes
       const maps = readFileSync('/proc/self/maps', 'utf8').split('\\n').length;
       console.log(JSON.stringify({ first: stale[0], sum, last: stale[SIZE - 1], length: stale.length, fewMaps: maps < 5000 }));`,
      [tmp('stride.bin')],
    );
    expect(result.stderr).toBe('');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(result.stdout.trim())).toEqual({
      first: 0x5a,
      sum: 0,
      last: 7,
      length: 300 << 20,
      fewMaps: true,
    });
  }, 60_000);
});

describe('a Channel closed while a receive is on its way', () => {
  it('rejects receiveAsync and receiveManyAsync with ERR_MAPPING_CLOSED, and ends for-await cleanly', async () => {
    // The frame was taken before an await, then read after it: close() in between left the control words detached
    // and the read threw a bare TypeError ("Cannot perform Atomics.load on a detached ArrayBuffer"), which also
    // escaped `for await (const message of channel)` instead of ending it.
    const path = tmp('closing.channel');
    const producer = Channel.open(path, { create: true, capacity: 1 << 12 });
    const outcome = async (promise: Promise<unknown>): Promise<unknown> =>
      promise.then(
        () => 'resolved',
        (error: unknown) => (error as { code?: string }).code ?? String(error),
      );
    const single = Channel.open(path);
    producer.send('one');
    const one = single.receiveAsync();
    single.close();
    const many = Channel.open(path);
    producer.send('two');
    const two = many.receiveManyAsync(4);
    many.close();
    const loop = Channel.open(path);
    producer.send('three');
    const seen: string[] = [];
    const iterated = (async () => {
      for await (const message of loop) seen.push(message.toString());
      return 'ended';
    })();
    loop.close();
    expect({
      receiveAsync: await outcome(one),
      receiveManyAsync: await outcome(two),
      forAwait: await outcome(iterated),
    }).toEqual({ receiveAsync: 'ERR_MAPPING_CLOSED', receiveManyAsync: 'ERR_MAPPING_CLOSED', forAwait: 'resolved' });
    expect(seen).toEqual([]);
    producer.close();
  });
});

describe('attacks that held (kept as regressions)', () => {
  it('thread-pool writers racing close(), truncation and System V detach: no crash, nothing reaches the file or segment after', async () => {
    const result = await runScript(
      tmp,
      'pool-race',
      `import { randomFill } from 'node:crypto';
       import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
       import { MappedFile, Segment } from __SRC__;
       const fill = (view, at, length) => new Promise((resolve, reject) => randomFill(view, at, length, (e) => (e ? reject(e) : resolve())));
       const SIZE = 2 << 20;
       const path = process.argv[2];
       const outcome = { fileChangedAfterClose: 0, segmentChangedAfterDetach: 0, rounds: 0 };
       for (let round = 0; round < 24; round++) {
         writeFileSync(path, Buffer.alloc(SIZE, 1));
         const file = MappedFile.open(path, { mode: 'r+' });
         const stale = file.buffer;
         let stop = false;
         const writers = [];
         for (let t = 0; t < 8; t++) writers.push((async () => { while (!stop) await fill(stale, (t * SIZE) / 8, SIZE / 8); })());
         await new Promise((resolve) => setTimeout(resolve, 2));
         if (round % 3 === 0) truncateSync(path, (round % 5) * 4096); // live pages cut under the writers
         file.close();
         const atClose = readFileSync(path);
         if (round % 2 === 0) truncateSync(path, 0); // and the kept range cut under them too
         await new Promise((resolve) => setTimeout(resolve, 5));
         stop = true;
         await Promise.all(writers);
         if (round % 2 === 1 && !readFileSync(path).equals(atClose)) outcome.fileChangedAfterClose++;

         const segment = Segment.private(SIZE);
         const other = segment.attach();
         const attachment = segment.attach({ readOnly: round % 2 === 0 }); // read-only: writes copy pages (SIGSEGV)
         const view = attachment.buffer;
         stop = false;
         const segmentWriters = [];
         for (let t = 0; t < 8; t++) segmentWriters.push((async () => { while (!stop) await fill(view, (t * SIZE) / 8, SIZE / 8); })());
         await new Promise((resolve) => setTimeout(resolve, 2));
         attachment.detach();
         const atDetach = Buffer.from(other.buffer);
         await new Promise((resolve) => setTimeout(resolve, 5));
         stop = true;
         await Promise.all(segmentWriters);
         if (!Buffer.from(other.buffer).equals(atDetach)) outcome.segmentChangedAfterDetach++;
         other.detach();
         segment.remove();
         outcome.rounds++;
       }
       console.log(JSON.stringify(outcome));`,
      [tmp('pool-race.bin')],
      { env: { UV_THREADPOOL_SIZE: '16' } },
    );
    expect(result.stderr).toBe('');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(result.stdout.trim())).toEqual({
      fileChangedAfterClose: 0,
      segmentChangedAfterDetach: 0,
      rounds: 24,
    });
  }, 120_000);
});
