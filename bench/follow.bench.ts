/**
 * Followers against polling (issue 14): two tables in `npm run bench`, or the full report standalone:
 * `node --import tsx bench/follow.bench.ts [samples]`.
 *
 * 1. Latency: this process writes one record at a time (push + flush, a random 2-6 ms apart so that no follower
 *    can fall into step with the writer) and notes process.hrtime (CLOCK_MONOTONIC, one clock for every process
 *    on the machine) when flush() is called and when it returns. A follower child notes the same clock when it
 *    holds each record. Three followers: db.follow() (asleep on the commit word), a reader polling refresh() every
 *    1 ms, and fs.watch on the file (inotify; refresh() on each event). Reported: median and p99 latency from
 *    flush() returning, and from flush() being called. The commit word wakes followers when the count is stored,
 *    before flush() writes the header page back, so a follower may hold the record before flush() returns
 *    (a negative latency from the return).
 * 2. Idle CPU: each follower's process CPU time (process.cpuUsage) over 1 s with no records coming.
 * Goals: median latency >= 10x lower than the 1 ms poll; idle CPU >= 10x lower than the 1 ms poll.
 * Files live in /dev/shm when it exists (msync cost would otherwise dominate), removed at the end.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { float64, RecordFile, struct, uint64 } from '../src/index.ts';
import type { BenchTable, Measurement } from './harness.ts';

const Sample = struct({ seq: uint64, value: float64 });
type Way = 'follow' | 'poll' | 'watch';
const WAYS: Way[] = ['follow', 'poll', 'watch'];
const now = (): bigint => process.hrtime.bigint();

/** The follower child: follows `path` the given way, noting when it holds each record; prints them as JSON. */
async function child(path: string, way: Way, count: number, idleMs: number): Promise<void> {
  const db = RecordFile.open(path, Sample, { mode: 'r' });
  const held: string[] = [];
  let seen = db.length;
  const take = (n: number): void => {
    const t = now();
    for (; seen < n; seen++) held.push(t.toString());
  };
  const controller = new AbortController();
  let stop: () => void;
  if (way === 'follow') {
    void (async () => {
      try {
        const batches = db.followBatches({ from: seen, signal: controller.signal });
        for await (const batch of batches) take(seen + batch.length);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ABORT_ERR') throw error;
      }
    })();
    stop = () => controller.abort();
  } else if (way === 'poll') {
    const timer = setInterval(() => take(db.refresh()), 1);
    stop = () => clearInterval(timer);
  } else {
    const watcher = watch(path, () => take(db.refresh()));
    stop = () => watcher.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 1000)); // settle: module loading, JIT, the first wait
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, idleMs));
  const idle = process.cpuUsage(before);
  process.stdout.write(`ready\n`);
  // fs.watch may never fire: inotify reports write(2) calls, and a writer's stores through a shared mapping and
  // its msync are not write(2) calls. Give up a while after the writer must have finished.
  const deadline = Date.now() + count * 10 + 3000;
  while (seen < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  stop();
  db.close();
  process.stdout.write(JSON.stringify({ idleCpuUs: idle.user + idle.system, held }) + '\n');
}

interface Result {
  way: Way;
  fromReturn: number[];
  fromCall: number[];
  idleCpuUs: number;
}

async function measureWay(dir: string, way: Way, samples: number): Promise<Result> {
  const path = join(dir, `${way}.db`);
  using db = RecordFile.open(path, Sample, { mode: 'w+', initialCapacity: 1024, flush: 'manual' });
  const self = fileURLToPath(import.meta.url);
  const follower = spawn(process.execPath, ['--import', 'tsx', self, 'child', path, way, String(samples), '1000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  follower.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const closed = new Promise<void>((resolve) => follower.on('close', () => resolve()));
  while (!out.includes('ready\n')) await new Promise((resolve) => setTimeout(resolve, 10));
  const called: bigint[] = [];
  const returned: bigint[] = [];
  for (let i = 0; i < samples; i++) {
    await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 4));
    db.push({ seq: BigInt(i), value: i });
    called.push(now());
    db.flush();
    returned.push(now());
  }
  await closed;
  const report = out.slice(out.indexOf('ready\n') + 6);
  const { idleCpuUs, held } = JSON.parse(report) as { idleCpuUs: number; held: string[] };
  const micros = (a: bigint, b: bigint): number => Number(a - b) / 1000;
  return {
    way,
    fromReturn: held.map((t, i) => micros(BigInt(t), returned[i]!)),
    fromCall: held.map((t, i) => micros(BigInt(t), called[i]!)),
    idleCpuUs,
  };
}

/** Microseconds, rounded, right-aligned in `width`. */
const us = (value: number, width: number): string => value.toFixed(0).padStart(width);

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Runs the three ways one after another, in a directory of their own (in /dev/shm when there is one). */
async function measureAll(samples: number): Promise<{ results: Result[]; where: string }> {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'memmap-follow-bench-'));
  try {
    const results: Result[] = [];
    for (const way of WAYS) results.push(await measureWay(dir, way, samples));
    return { results, where: dir.startsWith('/dev/shm') ? '/dev/shm' : 'tmpdir' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The full report, standalone. */
async function main(samples: number): Promise<void> {
  const { results, where } = await measureAll(samples);
  for (const r of results)
    if (r.fromCall.length < samples)
      console.log(`${r.way}: held ${r.fromCall.length} of ${samples} records (the rest never came)`);
  const poll = results.find((r) => r.way === 'poll')!;
  const pollMedian = quantile(poll.fromCall, 0.5);
  console.log(`follow.bench: ${samples} records, one per flush, files in ${where}`);
  console.log('way     latency from flush() return: median  p99 | from flush() call: median  p99 | idle CPU, 1 s');
  for (const r of results) {
    const row = [
      r.way.padEnd(7),
      `${us(quantile(r.fromReturn, 0.5), 27)} µs ${us(quantile(r.fromReturn, 0.99), 5)} µs`,
      `${us(quantile(r.fromCall, 0.5), 24)} µs ${us(quantile(r.fromCall, 0.99), 5)} µs`,
      `${(r.idleCpuUs / 1000).toFixed(2).padStart(12)} ms`,
    ];
    console.log(row.join(' |'));
  }
  const follow = results.find((r) => r.way === 'follow')!;
  const followMedian = quantile(follow.fromCall, 0.5);
  console.log(
    `follow vs 1 ms poll: median latency (from flush() call) ${(pollMedian / followMedian).toFixed(1)}x lower ` +
      `(goal >= 10x); median from flush() return ${us(quantile(follow.fromReturn, 0.5), 0)} µs ` +
      `vs ${us(quantile(poll.fromReturn, 0.5), 0)} µs; ` +
      `idle CPU ${(poll.idleCpuUs / Math.max(1, follow.idleCpuUs)).toFixed(1)}x lower (goal >= 10x)`,
  );
}

const NAMES: Record<Way, string> = {
  follow: 'db.follow() (woken by the commit word)',
  poll: 'refresh() poll every 1 ms',
  watch: 'fs.watch + refresh()',
};

/** The two tables of `npm run bench`: median latency from the flush() call, and an idle follower's CPU. */
export default async function (): Promise<BenchTable[]> {
  const samples = 300;
  const { results, where } = await measureAll(samples);
  const latency: Measurement[] = [];
  const idle: Measurement[] = [];
  const missing: string[] = [];
  for (const r of results) {
    if (r.fromCall.length > 0) latency.push({ name: NAMES[r.way], ms: quantile(r.fromCall, 0.5) / 1000 });
    if (r.fromCall.length < samples) missing.push(`${r.way} held ${r.fromCall.length} of ${samples}`);
    idle.push({ name: NAMES[r.way], ms: Math.max(1, r.idleCpuUs) / 1000 });
  }
  const note =
    `${samples} records pushed and flushed one at a time, 2-6 ms apart, files in ${where}; latency from the ` +
    `writer's flush() call to the follower holding the record (median).` +
    (missing.length > 0 ? ` Never came: ${missing.join(', ')} (inotify does not see stores through a mapping).` : '');
  return [
    { title: 'Follow a record file: latency (ms)', baseline: NAMES.poll, rows: latency, note },
    { title: 'Follow a record file: CPU of an idle follower over 1 s (ms)', baseline: NAMES.poll, rows: idle },
  ];
}

// Run as a script (not imported by bench/index.ts): the child of measureWay, or the full report.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === 'child') {
    const [, , , path, way, count, idleMs] = process.argv;
    await child(path!, way as Way, Number(count), Number(idleMs));
  } else {
    await main(Number(process.argv[2] ?? 300));
  }
}
