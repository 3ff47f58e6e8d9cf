// A writer and two followers in other processes, one of them in C: the followers sleep until the writer commits
// (a futex on the record file's commit word, docs/format.md "Commit word"), never polling.
// - The Node follower (this file, run with `follower`) starts before the file exists: followFile() waits for it.
// - The C follower is examples/follow-reader.c, compiled here with cc; it checks every record as it comes.
// - The writer (this process) appends 10,000 samples, flushing every 100, and closes the file.
// Run: npm run example examples/follow.ts
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { float64, followFile, RecordFile, struct, uint64 } from 'memmap';

/** The record: examples/follow-sample.h declares the same struct for C. */
const Sample = struct({ seq: uint64, value: float64 });
const TOTAL = 10_000;

if (process.argv[2] === 'follower') {
  // The Node follower: every committed record, in order, until the writer has gone (nobody holds its lock).
  let count = 0;
  let sum = 0;
  for await (const sample of followFile(process.argv[3]!, Sample, { createTimeoutMs: 10_000, writerGone: 'end' })) {
    if (sample.seq !== BigInt(count)) throw new Error(`record ${count} has seq ${sample.seq}`);
    sum += sample.value;
    count++;
  }
  console.log(`Node follower: ${count} records, sum of values ${sum}`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-follow-'));
  try {
    const path = join(dir, 'samples.db');
    const examples = fileURLToPath(new URL('.', import.meta.url));
    const reader = join(dir, 'follow-reader');
    execFileSync('cc', ['-std=gnu11', '-O2', '-I', examples, '-o', reader, join(examples, 'follow-reader.c')]);

    // Listen for each child's end as soon as it starts: one that ends before we wait for it is not missed.
    const ended = (child: ReturnType<typeof spawn>) => new Promise((resolve) => child.on('close', resolve));
    // Started before the file exists: it waits for the writer to create it.
    const self = fileURLToPath(import.meta.url);
    const args = [...process.execArgv, self, 'follower', path];
    const nodeFollower = ended(spawn(process.execPath, args, { stdio: 'inherit' }));
    await new Promise((resolve) => setTimeout(resolve, 500));

    const db = RecordFile.open(path, Sample, { mode: 'w+', initialCapacity: 1024, flush: 'manual' });
    db.flush(); // the header is on disk: the C follower can open the file
    const cFollower = ended(spawn(reader, [path, String(TOTAL)], { stdio: 'inherit' }));
    for (let i = 0; i < TOTAL; i++) {
      db.push({ seq: BigInt(i), value: i * 0.5 });
      if ((i + 1) % 100 === 0) {
        db.flush(); // commits: both followers wake
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    console.log(`writer: committed ${db.committedLength} records`);
    db.close(); // releases the lock: the Node follower ends
    await Promise.all([nodeFollower, cFollower]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
