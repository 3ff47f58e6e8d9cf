/**
 * Promise defended: no access through a view can kill the process, even when many threads fault at once.
 *
 * Thread-pool threads (crypto.randomFill into views of one mapping) fault together on a file another program
 * truncated. Each fault is repaired once; a thread whose pages another thread repaired meanwhile goes on. After
 * many such rounds memmap's SIGBUS handler must still be installed, and a truncation fault in another mapping must
 * still become ERR_MAPPING_TRUNCATED: before the fix, the second thread's handler took the repaired range for a
 * foreign fault and reset SIGBUS to its default action, so that next fault killed the process.
 */
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScript, SRC_INDEX } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir();
const NATIVE = join(dirname(SRC_INDEX), 'native.ts');

const CHILD = `
import { randomFill } from 'node:crypto';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
const { MappedFile } = await import(__SRC__);
const { native, PAGE_SIZE } = await import(${JSON.stringify(NATIVE)});
const [dir, roundsText] = process.argv.slice(2);
const fill = (view) => new Promise((resolve, reject) => randomFill(view, (error) => (error ? reject(error) : resolve())));
const SIZE = 1024 * PAGE_SIZE; // 4 MiB, sparse: at most this much is ever written
const STEPS = 32;
let truncatedRounds = 0;
for (let round = 0; round < Number(roundsText); round++) {
  const path = join(dir, 'round-' + round + '.bin');
  const file = MappedFile.open(path, { mode: 'w+', size: SIZE, sparse: true });
  const buffer = file.buffer;
  // Eight threads write over the whole mapping again and again while the file is cut shorter step by step: each
  // cut makes the threads writing past the new end fault together.
  const jobs = [];
  for (let i = 0; i < 8; i++)
    jobs.push((async () => { for (let pass = 0; pass < 3; pass++) await fill(buffer.subarray(0, SIZE)); })());
  for (let step = STEPS - 1; step >= 0; step--) {
    truncateSync(path, (step * SIZE) / STEPS);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(jobs);
  if (file.truncated) truncatedRounds++;
  try { file.flush(); } catch (error) { if (error.code !== 'ERR_MAPPING_TRUNCATED') throw error; }
  file.close();
}
const handlerAfterRounds = native.sigbusHandler();
// A new truncation fault, in a mapping of another file, on the main thread.
const path = join(dir, 'after.bin');
const other = MappedFile.open(path, { mode: 'w+', size: 4 * PAGE_SIZE });
truncateSync(path, 0);
other.buffer.fill(7); // SIGBUS: repaired only if the handler is still there
let code;
try { other.flush(); } catch (error) { code = error.code; }
other.close();
console.log(JSON.stringify({ truncatedRounds, handlerAfterRounds, code }));
`;

describe('SIGBUS handler under concurrent faults (issue 11, killed #2)', () => {
  it('8 thread-pool threads write over one mapping while it is cut shorter 32 times, 40 rounds: the process lives, and a later truncation fault in another mapping is still ERR_MAPPING_TRUNCATED', async () => {
    const result = await runScript(tmp, 'concurrent', CHILD, [tmp(''), '40'], {
      env: { UV_THREADPOOL_SIZE: '8' },
      timeoutMs: 120_000,
    });
    expect(result.stderr).toBe('');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    const report: unknown = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
    expect(report).toEqual({ truncatedRounds: 40, handlerAfterRounds: true, code: 'ERR_MAPPING_TRUNCATED' });
  }, 150_000);
});
