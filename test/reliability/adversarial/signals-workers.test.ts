/**
 * Promise defended: no access through a view can kill the process, with many threads mapping, faulting and
 * unmapping at once. Four worker threads and the main thread each run 150 rounds of: map a window of a file shared
 * by all of them and one of its own (the registry shares one descriptor per file between their slots), cut its own
 * file, write over both windows (the own one faults and is repaired), unmap. Every round must see its own
 * truncation and none of the shared file's; afterwards the process holds as many descriptors as before.
 */
import { describe, expect, it } from 'vitest';
import { runScript } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir();

const CHILD = `
import { readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
const { MappedFile, PAGE_SIZE } = await import(__SRC__);

async function rounds(dir, name, count) {
  let ownTruncated = 0;
  let sharedTruncated = 0;
  for (let round = 0; round < count; round++) {
    const shared = MappedFile.open(join(dir, 'shared.bin'), { mode: 'r+', offset: (round % 4) * PAGE_SIZE, length: PAGE_SIZE });
    const ownPath = join(dir, name + '.bin');
    const own = MappedFile.open(ownPath, { mode: 'w+', size: 8 * PAGE_SIZE });
    truncateSync(ownPath, (round % 8) * PAGE_SIZE);
    own.buffer.fill(round & 0xff);
    shared.buffer.fill(round & 0xff);
    if (own.truncated) ownTruncated++;
    if (shared.truncated) sharedTruncated++;
    shared.close();
    own.close();
  }
  return { ownTruncated, sharedTruncated };
}

if (isMainThread) {
  const dir = process.argv[2];
  writeFileSync(join(dir, 'shared.bin'), Buffer.alloc(4 * PAGE_SIZE));
  const fdsBefore = readdirSync('/proc/self/fd').length;
  const url = new URL(import.meta.url);
  const workers = [0, 1, 2, 3].map((i) => new Promise((resolve, reject) => {
    // A worker does not inherit tsx's loader hooks: it loads this same file through tsx's API.
    const boot = \`import('tsx/esm/api').then(({ tsImport }) => tsImport(\${JSON.stringify(url.href)}, \${JSON.stringify(url.href)}))\`;
    const worker = new Worker(boot, { eval: true, workerData: { dir, name: 'worker' + i } });
    worker.once('message', resolve);
    worker.once('error', reject);
  }));
  const results = await Promise.all([rounds(dir, 'main', 150), ...workers]);
  // The workers' own descriptors (their event loops, their module loaders) close as they exit, which takes longer on
  // a loaded machine: wait for that, up to 20 s, rather than a fixed time. A descriptor memmap kept stays open for
  // ever, and still fails the test.
  let fdsAfter = readdirSync('/proc/self/fd').length;
  for (let waited = 0; fdsAfter > fdsBefore && waited < 20_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    fdsAfter = readdirSync('/proc/self/fd').length;
  }
  console.log(JSON.stringify({ results, fdsGrew: fdsAfter > fdsBefore }));
} else {
  parentPort.postMessage(await rounds(workerData.dir, workerData.name, 150));
}
`;

describe('signal handlers and registry with worker threads', () => {
  it('5 threads map, cut, fault and unmap 150 times each: every own cut repaired, the shared file never, no fd kept', async () => {
    const result = await runScript(tmp, 'workers', CHILD, [tmp('')], { timeoutMs: 170_000 });
    expect(result.stderr).toBe('');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { results: unknown[]; fdsGrew: boolean };
    // round % 8 === 0..7 cuts to 0..7 pages of 8: every round loses at least the last page
    expect(report.results).toEqual(Array(5).fill({ ownTruncated: 150, sharedTruncated: 0 }));
    expect(report.fdsGrew).toBe(false);
  }, 180_000);
});
