/**
 * The seeded two-process fuzzers at CI size: MappedFile (fuzz/fuzz.mts), a few seeds of 40,000 operations each, and
 * RecordFile (fuzz/records-fuzz.mts; slower, every flush waits for the disk), two seeds of 10,000. Reproduce a
 * failure, or run them larger, with
 *   MEMMAP_FUZZ_SEEDS=7 MEMMAP_FUZZ_OPS=1000000 MEMMAP_FUZZ_RECORD_OPS=250000 npx vitest run test/reliability/fuzz.test.ts
 * or directly: node --import tsx test/reliability/fuzz/fuzz.mts SEED OPS DIR (records-fuzz.mts likewise).
 */
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp.js';
import { report, startNode } from './helpers.js';

const tmp = useTempDir();
const OPS = Number(process.env.MEMMAP_FUZZ_OPS ?? 40_000);
const SEEDS = (process.env.MEMMAP_FUZZ_SEEDS ?? '1,2,3').split(',').map(Number);
const RECORD_OPS = Number(process.env.MEMMAP_FUZZ_RECORD_OPS ?? 10_000);
const RECORD_SEEDS = SEEDS.slice(0, 2);
// ~10 µs per operation here; generous, so that a hang (not slowness) is what the timeout catches
const TIMEOUT = 120_000 + OPS * 1;

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
        const result = await startNode(fuzzer, [String(seed), String(OPS), tmp('.')], { timeoutMs: TIMEOUT }).result;
        expect(result.stderr).toBe('');
        expect(result.signal).toBeNull();
        expect(result.code).toBe(0);
        const r = report<FuzzReport>(result.stdout);
        expect(r).toMatchObject({ seed, ops: OPS, ok: true });
        if (OPS >= 20_000) {
          // the run did exercise what it is for
          expect(r.counts.repairs).toBeGreaterThan(0); // SIGBUS repaired in this process
          expect(r.codes.ERR_MAPPING_TRUNCATED).toBeGreaterThan(0);
          expect(r.peer.sawTruncated).toBeGreaterThan(0); // and in the peer, after this process shrank the file
          expect(r.counts['peer.regrow']).toBeGreaterThan(0);
        }
      },
      TIMEOUT + 10_000,
    );
  }

  const recordTimeout = 120_000 + RECORD_OPS * 5;
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
        if (RECORD_OPS >= 10_000) {
          expect(r.counts.cut).toBeGreaterThan(0);
          expect(r.codes.ERR_MAPPING_TRUNCATED).toBeGreaterThanOrEqual(r.counts.cut!);
          expect(r.counts['peer.check']).toBeGreaterThan(0);
        }
      },
      recordTimeout + 10_000,
    );
  }
});
