/**
 * A small benchmark harness: times a function, and prints rows of results as a table of ratios against a
 * baseline, with the machine they came from. Every bench/*.ts file uses it, so `npm run bench` prints one style.
 */
import { createRequire } from 'node:module';
import { cpus, arch, platform, release } from 'node:os';

/** One measured operation. */
export interface Measurement {
  name: string;
  /** Median milliseconds for one run of the operation. */
  ms: number;
}

/** A table: one group of measurements compared with its baseline (ratio = baseline.ms / row.ms, > 1 is faster). */
export interface BenchTable {
  title: string;
  baseline: string;
  rows: Measurement[];
  note?: string;
}

/** How `measure` runs and times an operation. */
export interface MeasureOptions {
  /** Timed runs (5 by default). */
  runs?: number;
  /** Untimed runs first (1 by default). */
  warmup?: number;
  /** Runs before each run, untimed. */
  setup?: () => unknown;
  /**
   * Time the process's CPU time (user + system) and keep the fastest run, instead of the median wall time: for
   * CPU-bound work in this one process, on a machine shared with other work (another job's time slices count in
   * wall time, not in this process's CPU time). Not for anything that waits on I/O or on another process.
   */
  cpu?: boolean;
  /**
   * Collect garbage (`gc()`, with --expose-gc) before each run, so no run pays for the garbage of the one before
   * (default true). False for loops measured in their steady state: on Node 24 a full collection also throws away
   * optimized code whose feedback named an object that died (a closure made per run), so every run would start
   * again in the interpreter and measure V8's re-optimization, not the loop.
   */
  gc?: boolean;
}

/** Runs `fn` `runs` times (after `warmup` untimed runs) and returns the median wall time in ms (see `cpu`). */
export async function measure(name: string, fn: () => unknown, options: MeasureOptions = {}): Promise<Measurement> {
  const runs = options.runs ?? 5;
  const warmup = options.warmup ?? 1;
  const times: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const elapsed = await timeOnce(fn, options);
    if (i >= warmup) times.push(elapsed);
  }
  return summarize(name, times, options);
}

/** One run of `fn` after its setup (and a gc() unless told not to): milliseconds of CPU or wall time. */
async function timeOnce(fn: () => unknown, options: MeasureOptions): Promise<number> {
  await options.setup?.();
  if (options.gc !== false) (globalThis as { gc?: () => void }).gc?.();
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  await fn();
  const cpu = process.cpuUsage(cpuStart);
  return options.cpu ? (cpu.user + cpu.system) / 1000 : Number(process.hrtime.bigint() - start) / 1e6;
}

/** The fastest run for CPU time, the median for wall time. */
function summarize(name: string, times: number[], options: MeasureOptions): Measurement {
  const sorted = [...times].sort((a, b) => a - b);
  return { name, ms: options.cpu ? sorted[0]! : sorted[Math.floor(sorted.length / 2)]! };
}

/** One operation for `measureTogether`: its name, the code to time and how (`runs` and `warmup` are the call's). */
export interface Case {
  name: string;
  fn: () => unknown;
  options?: Omit<MeasureOptions, 'runs' | 'warmup'>;
}

/**
 * Times several operations in turns: every warm-up of every case first, then `runs` rounds, each running every case
 * once in order. `measure` after `measure` runs one row's runs together and then the next row's, so whatever drifts
 * during a run (another tenant's load on a shared VM, the young generation V8 grows as the process allocates, which
 * makes the later rows' garbage cheaper) lands on some rows and not others: in one run the hand-written `get` loop
 * took 27.9 ms on Node 20 and 36.8 ms on Node 24 and memmap's row, measured after it, looked 0.96x and 1.27x of it,
 * where in other runs it looked 0.53x. Taken in turns, every row sees the same conditions, and the fastest of each
 * row's runs (or the median, for wall time) is compared with the others'.
 */
export async function measureTogether(
  cases: Case[],
  { runs = 5, warmup = 1 }: { runs?: number; warmup?: number } = {},
): Promise<Measurement[]> {
  const times = cases.map(() => [] as number[]);
  for (let round = 0; round < warmup + runs; round++) {
    for (let c = 0; c < cases.length; c++) {
      const { fn, options = {} } = cases[c]!;
      const elapsed = await timeOnce(fn, options);
      if (round >= warmup) times[c]!.push(elapsed);
    }
  }
  return cases.map(({ name, options = {} }, c) => summarize(name, times[c]!, options));
}

/** The machine a run came from, printed with every table and stored with the results. */
export function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu}, ${cpus().length} cores, ${platform()} ${release()} ${arch()}, Node ${process.version}`;
}

/** Prints a table: each row's time and its ratio to the baseline row. */
export function printTable(table: BenchTable): void {
  const base = table.rows.find((row) => row.name === table.baseline);
  console.log(`\n## ${table.title}`);
  console.log(`| operation | ms | vs ${table.baseline} |`);
  console.log('|---|---:|---:|');
  for (const row of table.rows) {
    const ratio = base ? base.ms / row.ms : NaN;
    console.log(`| ${row.name} | ${row.ms.toFixed(2)} | ${ratio.toFixed(2)}× |`);
  }
  if (table.note) console.log(`\n${table.note}`);
}

/**
 * A benchmark peer from bench/node_modules (installed by `npm run bench`), or undefined, with one printed line, where
 * it is not installed or does not load on this Node (@riaskov/mmap-io does not build on Node 24+): the rows that
 * need it are left out and the rest of the bench still runs.
 */
export function optionalPeer(name: string): unknown {
  try {
    return createRequire(import.meta.url)(name) as unknown;
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    console.log(`\n(${name} is not available on Node ${process.version}: ${reason}; its rows are left out)`);
    return undefined;
  }
}
