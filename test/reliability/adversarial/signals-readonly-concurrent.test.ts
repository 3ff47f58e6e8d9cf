/**
 * Promise defended: a write through a read-only System V attachment never crashes and is never lost from this
 * process's copy, even when several threads write into the same page at once. Thread-pool jobs
 * (crypto.randomFill) write eight 512-byte slices of every page of a read-only attachment, the eight slices of a
 * page at the same time. The first write into a page faults (SIGSEGV) and the handler swaps in a private copy;
 * before the fix a second thread that faulted on the same page copied it again and swapped that in, dropping what
 * the first thread wrote meanwhile. Afterwards no 64-byte chunk may still hold the segment's zeros (random bytes
 * are never 64 zeros in a row), and the segment itself must still hold only zeros.
 */
import { describe, expect, it } from 'vitest';
import { runScript } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir();

const CHILD = `
import { randomFill } from 'node:crypto';
const { Segment } = await import(__SRC__);
const P = 4096;
const PAGES = 256;
const ROUNDS = Number(process.argv[2]);
const fill = (view, offset, size) =>
  new Promise((resolve, reject) => randomFill(view, offset, size, (error) => (error ? reject(error) : resolve())));
let zeroChunks = 0;
let segmentChanged = false;
for (let round = 0; round < ROUNDS; round++) {
  const segment = Segment.private(PAGES * P);
  const attachment = segment.attach({ readOnly: true });
  const bytes = attachment.buffer;
  const jobs = [];
  for (let page = 0; page < PAGES; page++)
    for (let slice = 0; slice < 8; slice++) jobs.push(fill(bytes, page * P + slice * 512, 512));
  await Promise.all(jobs);
  for (let chunk = 0; chunk < bytes.length; chunk += 64)
    if (bytes.subarray(chunk, chunk + 64).every((byte) => byte === 0)) zeroChunks++;
  attachment.detach();
  const check = segment.attach();
  segmentChanged ||= !check.buffer.every((byte) => byte === 0);
  check.detach();
  segment.remove();
}
console.log(JSON.stringify({ zeroChunks, segmentChanged }));
`;

describe('SIGSEGV copy-on-write handler under concurrent writes', () => {
  it('8 pool threads write into the same read-only pages at once, 256 pages x 10 rounds: nothing lost, segment untouched', async () => {
    const result = await runScript(tmp, 'readonly-concurrent', CHILD, ['10'], {
      env: { UV_THREADPOOL_SIZE: '8' },
      timeoutMs: 120_000,
    });
    expect(result.stderr).toBe('');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual({ zeroChunks: 0, segmentChanged: false });
  }, 150_000);
});
