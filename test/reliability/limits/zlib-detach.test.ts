/**
 * The one known way to end the process through the safe API, and why memmap does not cure it (README, "What is not
 * guaranteed"). Node's zlib keeps its input Buffer between passes and, before each pass, checks that the input still
 * has the length it had. A Buffer whose ArrayBuffer was detached has length 0: Node 20 then aborts
 * (`CHECK(IsWithinBounds)` in node_zlib.cc); Node 22 and later throw `RangeError [ERR_OUT_OF_RANGE]: input buffer is
 * out of bounds` from inside zlib's callback, where no caller can catch it, so the process ends with exit code 1
 * unless an 'uncaughtException' handler takes it. That is Node's behaviour for *any* detach: plain
 * `structuredClone(buf.buffer, { transfer })` does it without memmap, as the first test shows.
 *
 * `close()`, `resize()` and `refresh()` detach every view they hand out, so that a stale view reads as empty and a
 * layout view throws `ERR_DETACHED_BUFFER` instead of reading fabricated zeros. Closing under a zlib call with
 * passes of input left therefore ends the same way; so does a one-shot `zlib.gzip(view)` racing `close()` once its
 * pool thread has produced a first chunk. Not detaching would trade that for zeros read and writes lost, silently,
 * through every stale view, which breaks "nothing lost". The pool thread itself never faults: it works on the
 * retired range (anonymous memory), which lifecycle-consumers.test.ts proves. The advice: close in the callback, or
 * hand zlib a copy. If a Node release changes what it does, these tests fail and the README changes.
 */
import { describe, expect, it } from 'vitest';
import { runScript, type ChildResult } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir();
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/** How Node ends a process whose zlib input was detached between passes (see above). */
function expectZlibRefusedDetachedInput(result: ChildResult): void {
  if (NODE_MAJOR === 20) {
    expect(result.signal).toBe('SIGABRT');
    expect(result.stderr).toMatch(/node_zlib\.cc[\s\S]*IsWithinBounds/);
  } else {
    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/input buffer is out of bounds[\s\S]*ERR_OUT_OF_RANGE/);
  }
}

describe('zlib over a buffer that is detached while it still has passes to run', () => {
  it('ends Node itself, without memmap: structuredClone transfers the input away mid-gzip', async () => {
    const result = await runScript(
      tmp,
      'plain-node',
      `import zlib from 'node:zlib';
       import { randomFillSync } from 'node:crypto';
       const input = randomFillSync(Buffer.alloc(4 << 20)); // incompressible: many passes
       zlib.gzip(input, () => console.log('gzip finished'));
       structuredClone(input.buffer, { transfer: [input.buffer] });`,
    );
    expectZlibRefusedDetachedInput(result);
    expect(result.stdout).not.toContain('gzip finished');
  }, 60_000);

  it('ends the process the same way when close() detaches a mapped view between two passes of a gzip stream', async () => {
    const result = await runScript(
      tmp,
      'mapped-close',
      `import zlib from 'node:zlib';
       import { randomFillSync } from 'node:crypto';
       import { MappedFile } from __SRC__;
       const file = MappedFile.open(process.argv[2], { mode: 'w+', size: 4 << 20 });
       randomFillSync(file.buffer);
       const gzip = zlib.createGzip();
       gzip.once('data', () => file.close()); // after the first pass, with many to go
       gzip.on('data', () => {});
       gzip.on('end', () => console.log('gzip finished'));
       gzip.end(file.buffer);`,
      [tmp('mapped-close.bin')],
    );
    expectZlibRefusedDetachedInput(result);
    expect(result.stdout).not.toContain('gzip finished');
  }, 60_000);

  it('does not end it when zlib is given a copy, or the mapping is closed in the callback (the README advice)', async () => {
    const result = await runScript(
      tmp,
      'mapped-advice',
      `import zlib from 'node:zlib';
       import { randomFillSync } from 'node:crypto';
       import { MappedFile } from __SRC__;
       const file = MappedFile.open(process.argv[2], { mode: 'w+', size: 4 << 20 });
       randomFillSync(file.buffer);
       const expected = zlib.gunzipSync(zlib.gzipSync(file.buffer)).equals(file.buffer);
       const copy = Buffer.from(file.buffer); // Buffer.from(buffer) copies
       zlib.gzip(file.buffer, (error, compressed) => {
         const same = !error && zlib.gunzipSync(compressed).equals(file.buffer);
         file.close();
         zlib.gzip(copy, (error2, compressed2) => {
           console.log(JSON.stringify({ expected, same, copy: !error2 && zlib.gunzipSync(compressed2).equals(copy) }));
         });
       });`,
      [tmp('mapped-advice.bin')],
    );
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.trim())).toEqual({ expected: true, same: true, copy: true });
  }, 60_000);
});
