/**
 * The seeded two-process fuzzer (fuzz/fuzz.mts) at CI size: a few seeds of 40,000 operations each. Reproduce a
 * failure, or run it larger, with
 *   MEMMAP_FUZZ_SEEDS=7 MEMMAP_FUZZ_OPS=1000000 npx vitest run test/reliability/fuzz.test.ts
 * or directly: node --import tsx test/reliability/fuzz/fuzz.mts SEED OPS DIR
 */
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp.js';
import { report, startNode } from './helpers.js';

const tmp = useTempDir();
const OPS = Number(process.env.MEMMAP_FUZZ_OPS ?? 40_000);
const SEEDS = (process.env.MEMMAP_FUZZ_SEEDS ?? '1,2,3').split(',').map(Number);
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
    it(`seed ${seed}, ${OPS} operations: no crash, no hang, only the predicted coded errors, the file equals the model`, async () => {
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
    }, TIMEOUT + 10_000);
  }
});
