/**
 * Promise (issue 11, "killed the process"): detaching a System V attachment while a thread-pool thread still works on
 * its memory (crypto.randomFill writing, zlib.gzip and fs.write reading, fs.read writing) never kills the process.
 * detach() retires the attachment (native/retire.h): the kernel's attachment ends at once (nattch drops; a removed
 * segment goes at detach()), while every Buffer taken from it keeps its length over a private copy of the segment's
 * bytes (one mremap): an access after the mremap lands in that copy, never in the segment, and nothing written
 * through the stale Buffer afterwards reaches the segment. (A write this process's pool thread makes while detach()
 * is still copying may reach the segment and miss the copy: not asserted, logged; see expectKeptAndPrivate.) Each race
 * runs many rounds in a child process, which must end with code 0 and no signal. A zlib stream over incompressible
 * bytes, detached between two of its passes, still produces the segment's bytes (Node 20 aborted on the detached
 * input before faces existed).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scriptReport } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir();
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

/** Rounds per race: enough that the detach lands before, during and after the pool thread's work. */
const ROUNDS = 150;
/** Segment size: large enough that the pool thread is still busy when detach() runs (256 KiB of real memory). */
const SIZE = 256 * 1024;

type Operation = 'randomFill' | 'gzip' | 'fs.write' | 'fs.read';

interface RaceOptions {
  operation: Operation;
  /** Attach with { readOnly: true } (the copy-on-write SIGSEGV handler serves the pool thread's writes). */
  readOnly?: boolean;
  /** Segment.remove() in the same tick as detach(), before it. */
  remove?: boolean;
}

/**
 * A child script: each round makes a private segment, attaches it, starts `operation` on `attachment.buffer`,
 * detaches at once or after 0..3 event-loop turns (so the detach falls before, during or after the pool work), and
 * checks what detach() promises: the view keeps its length, nattch is 0 (or the segment is gone, once removed). Once
 * the pool work is done it compares the view with the segment as a second attachment sees it, then writes the
 * complement of every byte through the stale view: the segment must not change. Prints one JSON report.
 *
 * The data file holds a pattern (byte i is (i * 31 + 7) & 0xff, never all zeros), so what fs.read wrote is told apart
 * from a fresh segment's zeros.
 */
function raceScript({ operation, readOnly = false, remove = false }: RaceOptions, file: string): string {
  return `import { randomFill } from 'node:crypto';
import { closeSync, openSync, read, write, writeSync } from 'node:fs';
import { gunzipSync, gzip } from 'node:zlib';
import { Segment } from ${JSON.stringify(`${SRC}/sysv/index.ts`)};

const SIZE = ${SIZE};
const operation = ${JSON.stringify(operation)};
const pattern = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) pattern[i] = (i * 31 + 7) & 0xff;
const fd = openSync(${JSON.stringify(file)}, 'w+');
writeSync(fd, pattern, 0, SIZE, 0);
const started = (buffer) => new Promise((done) => {
  const finished = (error, result) => done({ outcome: error ? error.code ?? error.name : 'ok', result });
  switch (operation) {
    // A fresh segment is zeros: gzip's output fits one chunk, so zlib reads the input in one pass. The several-pass
    // case is the zlib test below.
    case 'gzip': gzip(buffer, finished); break;
    case 'randomFill': randomFill(buffer, finished); break;
    case 'fs.write': write(fd, buffer, 0, buffer.length, 0, finished); break;
    case 'fs.read': read(fd, buffer, 0, buffer.length, 0, finished); break;
  }
});
const turns = (count) => new Promise((done) => {
  const next = (left) => (left === 0 ? done() : setImmediate(() => next(left - 1)));
  next(count);
});
const count = (predicate) => { let n = 0; for (let i = 0; i < SIZE; i++) if (predicate(i)) n++; return n; };

const report = {
  rounds: 0, outcomes: {}, viewLengths: new Set(), nattch: new Set(), gone: 0,
  // Bytes the finished operation left wrong: in the view, or (where the view lost them, below) in the segment too.
  viewWrong: 0,
  // Bytes that hold different nonzero values in the view and in the segment: no order of the writes explains them.
  segmentForeign: 0,
  // Bytes the pool thread wrote into the segment while detach() copied it, after their page was copied: the segment
  // has them, the kept view has the old zeros (the window between the copy and the mremap, native/retire.c). On a
  // read-only attachment: zeros left in the view by writes into private pages that the copy then replaced.
  lostToSegment: 0, roundsWithLoss: 0,
  // Nonzero bytes in the segment of a read-only attachment (its writes are private copies, never the segment's).
  readOnlyLeaked: 0,
  // Bytes of the segment changed by writing through the stale view, and bytes of the view that did not take them.
  staleReached: 0, staleNotTaken: 0,
  // Rounds where randomFill's output is in neither the view nor the segment (it went nowhere).
  randomMissing: 0,
  gzipWrong: 0,
};
for (let round = 0; round < ${ROUNDS}; round++) {
  const segment = Segment.private(SIZE);
  const attachment = segment.attach({ readOnly: ${readOnly} });
  const view = attachment.buffer;
  const pending = started(view);
  await turns(round % 4);
  if (${remove}) segment.remove();
  attachment.detach();
  report.viewLengths.add(view.length);
  try {
    report.nattch.add(segment.stat().nattch);
  } catch (error) {
    if (!${remove}) throw error;
    report.gone++; // removed and no longer attached: the kernel destroyed it at detach()
  }
  const { outcome, result } = await pending;
  report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
  // The segment as any other process sees it once the work is done (gone once removed: then zeros stand in).
  const again = ${remove} ? undefined : segment.attach();
  const seen = again?.buffer ?? Buffer.alloc(SIZE);
  // Where the detach fell, the view holds what the operation left: readers left the zeros (gzip's output is of
  // zeros); fs.read put the file there, randomFill random bytes (about 1 in 256 of them zero). A byte written in
  // the copy window is in the segment instead (a removed segment cannot be asked: its view may only be short of it).
  const lost = (i) => view[i] === 0 && seen[i] !== 0;
  if (operation === 'gzip' && !gunzipSync(result).equals(Buffer.alloc(SIZE))) report.gzipWrong++;
  if (operation === 'gzip' || operation === 'fs.write') report.viewWrong += count((i) => view[i] !== 0);
  if (operation === 'fs.read')
    report.viewWrong += count((i) => view[i] !== pattern[i] && !(view[i] === 0 && (${remove} || seen[i] === pattern[i])));
  // A read-only attachment's writes are private pages, which the copy replaces: written in the window, they are
  // lost outright (counted below as lost, not as missing).
  const missing = operation === 'randomFill' && !${remove} && count((i) => view[i] === 0 && seen[i] === 0) > SIZE / 64;
  if (missing && !${readOnly}) report.randomMissing++;
  if (${readOnly}) report.readOnlyLeaked += count((i) => seen[i] !== 0);
  report.segmentForeign += count((i) => seen[i] !== 0 && view[i] !== 0 && seen[i] !== view[i]);
  const lostBytes = ${readOnly} ? (missing ? count((i) => view[i] === 0) : 0) : count(lost);
  report.lostToSegment += lostBytes;
  if (lostBytes > 0) report.roundsWithLoss++;
  if (again !== undefined) {
    const before = Buffer.from(seen);
    for (let i = 0; i < SIZE; i++) view[i] = ~before[i] & 0xff;
    report.staleReached += count((i) => seen[i] !== before[i]);
    report.staleNotTaken += count((i) => view[i] !== (~before[i] & 0xff));
    again.detach();
    segment.remove();
  }
  report.rounds++;
  if (round % 16 === 0) globalThis.gc?.(); // the finalizers run mid-test too: the range is released under load
}
closeSync(fd);
console.log(JSON.stringify({ ...report, viewLengths: [...report.viewLengths], nattch: [...report.nattch] }));
`;
}

interface RaceReport {
  rounds: number;
  outcomes: Record<string, number>;
  viewLengths: number[];
  nattch: number[];
  gone: number;
  viewWrong: number;
  segmentForeign: number;
  readOnlyLeaked: number;
  staleReached: number;
  staleNotTaken: number;
  lostToSegment: number;
  roundsWithLoss: number;
  randomMissing: number;
  gzipWrong: number;
}

async function race(options: RaceOptions): Promise<RaceReport> {
  const access = options.readOnly ? 'ro' : 'rw';
  const name = `race-${options.operation.replace('.', '-')}-${access}-${options.remove ? 'rm' : 'keep'}`;
  const report = await scriptReport(tmp, name, raceScript(options, tmp(`${name}.data`)), [], {
    nodeArgs: ['--expose-gc'],
  });
  const lines = report.split('\n');
  return JSON.parse(lines[lines.length - 1]!) as RaceReport;
}

/** What every race must report, whatever the operation: the view kept, its bytes right, the segment untouched. */
function expectKeptAndPrivate(report: RaceReport, operation: Operation): void {
  expect(report.rounds).toBe(ROUNDS);
  expect(report.viewLengths).toEqual([SIZE]);
  // The pool work itself completes (it ran on memory that stayed mapped); no error reached the callback.
  expect(report.outcomes).toEqual({ ok: ROUNDS });
  expect(report.viewWrong).toBe(0);
  expect(report.gzipWrong).toBe(0);
  expect(report.randomMissing).toBe(0);
  expect(report.segmentForeign).toBe(0);
  expect(report.readOnlyLeaked).toBe(0);
  expect(report.staleReached).toBe(0);
  expect(report.staleNotTaken).toBe(0);
  if (operation === 'gzip' || operation === 'fs.write')
    expect(report.lostToSegment).toBe(0); // readers write nothing
  else if (report.roundsWithLoss > 0)
    // Not a promise, a known limit (see the report to the maintainers): the copy is not atomic for a writer in
    // this process, so a write that lands between memcpy and mremap reaches the segment and misses the kept view.
    console.log(
      `sysv-async: ${operation} wrote ${report.lostToSegment} bytes during detach()'s copy, in ` +
        `${report.roundsWithLoss} of ${ROUNDS} rounds, that the kept view does not hold`,
    );
}

describe('System V detach() racing thread-pool work on the attachment (child processes)', () => {
  for (const operation of ['randomFill', 'gzip', 'fs.write', 'fs.read'] as const) {
    it(`${operation} on a read-write attachment, detach() at once or turns later: no crash, nattch 0, the view a private copy`, async () => {
      const report = await race({ operation });
      expectKeptAndPrivate(report, operation);
      expect(report.nattch).toEqual([0]);
    });
  }

  it('randomFill on a read-only attachment (pool thread in the SIGSEGV handler) racing detach()', async () => {
    const report = await race({ operation: 'randomFill', readOnly: true });
    expectKeptAndPrivate(report, 'randomFill');
    expect(report.nattch).toEqual([0]);
  });

  for (const operation of ['randomFill', 'fs.read'] as const) {
    it(`Segment.remove() then detach() racing ${operation}: the segment goes at detach(), no crash`, async () => {
      const report = await race({ operation, remove: true });
      expectKeptAndPrivate(report, operation);
      expect(report.gone).toBe(ROUNDS); // nattch reached 0 at detach(), so IPC_RMID destroyed it there
    });
  }

  it('zlib over incompressible bytes, detached between two of its passes: the output is the segment as it was', async () => {
    // 1 MiB of random bytes deflates to about 1 MiB: with 16 KiB output chunks, some 64 passes, each re-reading the
    // input's length on Node 20 (a detached input aborted the process there). detach() runs inside a 'data' event,
    // between two passes, after 1 to 8 of them; bytesWritten then shows input was still unread.
    const report = await scriptReport(
      tmp,
      'zlib-passes',
      `import { randomFillSync } from 'node:crypto';
      import { createGzip, gunzipSync, gzip } from 'node:zlib';
      import { Segment } from ${JSON.stringify(`${SRC}/sysv/index.ts`)};
      const SIZE = 1024 * 1024;
      const out = { rounds: 0, correct: 0, unreadAtDetach: 0, passesAfter: 0, nattch: new Set(), lengths: new Set(), turnsCorrect: 0 };
      for (let round = 0; round < 16; round++) {
        const segment = Segment.private(SIZE);
        const attachment = segment.attach();
        const view = attachment.buffer;
        randomFillSync(view);
        const original = Buffer.from(view);
        const gz = createGzip({ chunkSize: 16 * 1024 });
        const chunks = [];
        let passes = 0;
        let detachedAt = -1;
        const done = new Promise((resolve, reject) => { gz.on('end', resolve); gz.on('error', reject); });
        gz.on('data', (chunk) => {
          chunks.push(chunk);
          passes++;
          if (passes === 1 + (round % 8)) {
            detachedAt = passes;
            if (gz.bytesWritten < SIZE) out.unreadAtDetach++;
            attachment.detach();
            out.nattch.add(segment.stat().nattch);
            // Another attachment writes the segment now: the copy the stream reads must not follow it.
            const other = segment.attach();
            other.buffer.fill(0x55);
            other.detach();
          }
        });
        gz.end(view);
        await done;
        if (passes > detachedAt) out.passesAfter++;
        out.lengths.add(view.length);
        if (gunzipSync(Buffer.concat(chunks)).equals(original)) out.correct++;
        segment.remove();
        out.rounds++;
      }
      // The one-call form, detached 0 to 3 turns after the call: still the original bytes.
      for (let round = 0; round < 16; round++) {
        const segment = Segment.private(SIZE);
        const attachment = segment.attach();
        const view = attachment.buffer;
        randomFillSync(view);
        const original = Buffer.from(view);
        const pending = new Promise((resolve, reject) =>
          gzip(view, (error, result) => (error ? reject(error) : resolve(result))),
        );
        for (let turn = 0; turn < round % 4; turn++) await new Promise((next) => setImmediate(next));
        attachment.detach();
        segment.remove();
        const result = await pending;
        if (gunzipSync(result).equals(original)) out.turnsCorrect++;
      }
      console.log(JSON.stringify({ ...out, nattch: [...out.nattch], lengths: [...out.lengths] }));`,
    );
    const out = JSON.parse(report) as {
      rounds: number;
      correct: number;
      unreadAtDetach: number;
      passesAfter: number;
      nattch: number[];
      lengths: number[];
      turnsCorrect: number;
    };
    expect(out.rounds).toBe(16);
    expect(out.unreadAtDetach).toBe(16); // every detach fell while input was left
    expect(out.passesAfter).toBe(16); // and passes ran after it
    expect(out.nattch).toEqual([0]);
    expect(out.lengths).toEqual([1024 * 1024]);
    expect(out.correct).toBe(16);
    expect(out.turnsCorrect).toBe(16);
  });

  it('retired ranges are released after both finalizers: 4000 attach/detach cycles reserve nothing', async () => {
    const report = await scriptReport(
      tmp,
      'release-after-gc',
      `import { readFileSync } from 'node:fs';
      import { Segment } from ${JSON.stringify(`${SRC}/sysv/index.ts`)};
      // Address space in KiB: retired ranges next to each other merge into one anonymous mapping, so count bytes.
      const addressSpaceKiB = () => Number(/VmSize:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
      const settle = async () => {
        for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((done) => setImmediate(done)); }
      };
      const segment = Segment.private(64 * 1024);
      const cycle = (rounds, readOnly) => {
        for (let i = 0; i < rounds; i++) {
          const attachment = segment.attach({ readOnly });
          attachment.buffer[0] = 1; // read-only: a private copy made by the SIGSEGV handler, dropped with the range
          attachment.detach();
        }
      };
      cycle(100, false); cycle(100, true); await settle();
      const before = addressSpaceKiB();
      cycle(2000, false); cycle(2000, true); await settle();
      console.log(JSON.stringify({ before, after: addressSpaceKiB(), nattch: segment.stat().nattch }));
      segment.remove();`,
      [],
      { nodeArgs: ['--expose-gc'] },
    );
    const { before, after, nattch } = JSON.parse(report) as {
      before: number;
      after: number;
      nattch: number;
    };
    expect(nattch).toBe(0);
    // In KiB. 4000 retired 64 KiB ranges still reserved would be 250 MiB more address space. V8's own reservations
    // move too, by up to ~66 MiB between the two readings on Node 24: half of 250 MiB still tells the two apart.
    expect(after - before).toBeLessThan(128 * 1024);
  });
});
