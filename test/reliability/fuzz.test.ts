/**
 * The seeded two-process fuzzers at CI size: MappedFile (fuzz/fuzz.mts), two seeds of 6,000 operations, and
 * RecordFile (fuzz/records-fuzz.mts; every flush waits for the disk), two seeds of 3,000: well under a minute.
 * The MappedFile fuzzer mixes in the attack classes of issue #11 (re-entrant argument getters, thread-pool
 * consumers racing close/resize/refresh, a cut under several faulting threads, hostile Mutex words, rejected
 * writes); every error must carry a code from the closed list (src/error-codes.ts).
 *
 * At the size (10^6 operations each, one seed; hours on a loaded machine, minutes on an idle one):
 *   MEMMAP_FUZZ_SEEDS=7 MEMMAP_FUZZ_OPS=1000000 MEMMAP_FUZZ_RECORD_OPS=1000000 npx vitest run test/reliability/fuzz.test.ts
 * Reproduce a failure by its seed, or run one fuzzer alone, with
 *   node --import tsx test/reliability/fuzz/fuzz.mts SEED OPS DIR         (records-fuzz.mts likewise)
 * MEMMAP_FUZZ_ATTACKS (default 0.08) is the share of the MappedFile fuzzer's operations that are attacks.
 * The MappedFile fuzzer runs with --expose-gc: views of retired mappings are kept (src/mapping-faces.ts) and checked
 * against the model of their pages; for the middle third of the run the budget of kept ranges is held full, so
 * retirements fall back to detaching, and the ballast is then collected so that they keep again.
 */
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp.js';
import { report, startNode } from './helpers.js';

const tmp = useTempDir();
const OPS = Number(process.env.MEMMAP_FUZZ_OPS ?? 6_000);
const SEEDS = (process.env.MEMMAP_FUZZ_SEEDS ?? '1,2').split(',').map(Number);
const RECORD_OPS = Number(process.env.MEMMAP_FUZZ_RECORD_OPS ?? 3_000);
const RECORD_SEEDS = SEEDS.slice(0, 2);
// ~1 ms per operation idle, ~3 ms with two cores shared by many processes: generous, so that a hang (not
// slowness) is what the timeout catches
const TIMEOUT = 120_000 + OPS * 10;

interface FuzzReport {
  seed: number;
  ops: number;
  counts: Record<string, number>;
  codes: Record<string, number>;
  peer: { refreshed: number; sawTruncated: number };
  ok: boolean;
}

describe('the two-process fuzzer', () => {
  for (const seed of SEEDS) {
    it(
      `seed ${seed}, ${OPS} operations: no crash, no hang, only the predicted coded errors, the file equals the model`,
      async () => {
        const fuzzer = new URL('./fuzz/fuzz.mts', import.meta.url).pathname;
        const result = await startNode(fuzzer, [String(seed), String(OPS), tmp('.')], {
          timeoutMs: TIMEOUT,
          nodeArgs: ['--expose-gc'],
        }).result;
        expect(result.stderr).toBe('');
        expect(result.signal).toBeNull();
        expect(result.code).toBe(0);
        const r = report<FuzzReport>(result.stdout);
        expect(r).toMatchObject({ seed, ops: OPS, ok: true });
        if (OPS >= 5_000) {
          // the run did exercise what it is for
          expect(r.counts.repairs).toBeGreaterThan(0); // SIGBUS repaired in this process
          expect(r.codes.ERR_MAPPING_TRUNCATED).toBeGreaterThan(0);
          expect(r.peer.sawTruncated).toBeGreaterThan(0); // and in the peer, after this process shrank the file
          expect(r.counts['peer.regrow']).toBeGreaterThan(0);
          // every attack class ran, and reached the answers it is there to provoke
          for (const attack of ['reentrant', 'consumer', 'cutUnderThreads', 'hostileWord', 'rejectedWrite'])
            expect(r.counts[attack], attack).toBeGreaterThan(0);
          for (const code of ['ERR_MAPPING_CLOSED', 'ERR_DETACHED_BUFFER', 'ERR_MUTEX_TIMEOUT', 'ERR_MUTEX_DEADLOCK'])
            expect(r.codes[code], code).toBeGreaterThan(0);
          expect(r.codes.HOSTILE).toBeGreaterThan(0); // a getter's own error came through unchanged
          // retirements kept their views, and those views were read and written against the model
          expect(r.counts.kept).toBeGreaterThan(0);
          expect(r.counts.keptRead).toBeGreaterThan(0);
          expect(r.counts.keptWrite).toBeGreaterThan(0);
          // zlib given more than one pass of a view whose mapping was retired under it finished with the file's bytes
          expect(r.counts.zlibRetiredPasses).toBeGreaterThan(0);
          // with the budget held full they fell back to detaching, checked as such; the ballast was then released
          expect(r.counts.ballast).toBe(1);
          expect(r.counts.fellBack).toBeGreaterThan(0);
          expect(r.counts.detached).toBeGreaterThan(0);
          expect(r.counts.ballastReleased).toBe(1);
        }
      },
      TIMEOUT + 10_000,
    );
  }

  const recordTimeout = 120_000 + RECORD_OPS * 20;
  for (const seed of RECORD_SEEDS) {
    it(
      `RecordFile, seed ${seed}, ${RECORD_OPS} operations: a writer, a reader and cuts by a third program`,
      async () => {
        const fuzzer = new URL('./fuzz/records-fuzz.mts', import.meta.url).pathname;
        const result = await startNode(fuzzer, [String(seed), String(RECORD_OPS), tmp('.')], {
          timeoutMs: recordTimeout,
        }).result;
        expect(result.stderr).toBe('');
        expect(result.signal).toBeNull();
        expect(result.code).toBe(0);
        const r = report<{
          seed: number;
          ops: number;
          counts: Record<string, number>;
          codes: Record<string, number>;
          ok: boolean;
        }>(result.stdout);
        expect(r).toMatchObject({ seed, ops: RECORD_OPS, ok: true });
        if (RECORD_OPS >= 3_000) {
          expect(r.counts.cut).toBeGreaterThan(0);
          expect(r.codes.ERR_MAPPING_TRUNCATED).toBeGreaterThanOrEqual(r.counts.cut!);
          expect(r.counts['peer.check']).toBeGreaterThan(0);
          expect(r.counts.rejected).toBeGreaterThan(0);
          expect(r.counts.reentrant).toBeGreaterThan(0);
        }
      },
      recordTimeout + 10_000,
    );
  }
});
