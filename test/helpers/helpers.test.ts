/**
 * The shared test helpers that decide whether other tests can fail: the seeded generator the fuzzers repeat runs
 * with, the fuzzers' checks, the disk guard, and the launcher's report of how a child ended.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MappedFile } from '../../src/index.js';
import { runFile, runScript } from './child.js';
import { FuzzChecks, isListedCode, Mismatch } from './fuzz-checks.js';
import { seededRandom } from './random.js';
import { MAX_TEST_RESERVATION } from './reservation-guard.mjs';
import { useTempDir } from './temp.js';

const tmp = useTempDir();

describe('seededRandom', () => {
  it('gives mulberry32: the sequence the fuzzers printed seeds for before it was shared', () => {
    // The generator the fuzzers had inline, kept here as the oracle.
    let state = 12345 >>> 0;
    const inline = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const random = seededRandom(12345);
    for (let i = 0; i < 1000; i++) expect(random.next()).toBe(inline());
  });

  it('repeats per seed, differs between seeds, and stays in its ranges', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const fromA = Array.from({ length: 100 }, () => a.int(-3, 3));
    expect(Array.from({ length: 100 }, () => b.int(-3, 3))).toEqual(fromA);
    expect(Array.from({ length: 100 }, () => c.int(-3, 3))).not.toEqual(fromA);
    expect(new Set(fromA)).toEqual(new Set([-3, -2, -1, 0, 1, 2, 3]));
    expect(a.bytes(64).every((byte) => byte >= 0 && byte <= 255)).toBe(true);
    expect(['x', 'y']).toContain(a.pick(['x', 'y']));
  });
});

describe('FuzzChecks', () => {
  it('reports the seed, the operation and the trail; counts expected codes; never swallows a Mismatch', () => {
    const checks = new FuzzChecks(99, () => 'state S', 2, ['ERR_X']);
    for (const name of ['a', 'b', 'c']) {
      checks.op++;
      checks.count(name);
    }
    const coded = Object.assign(new Error('no'), { code: 'ERR_X' });
    expect(
      checks.expectCode('ERR_X', 'call', (): number => {
        throw coded;
      }),
    ).toBeUndefined();
    expect(checks.codes).toEqual({ ERR_X: 1 });
    expect(checks.expectCode(undefined, 'call', () => 5)).toBe(5);
    expect(() => checks.expectCode('ERR_X', 'call', () => 5)).toThrow(Mismatch);
    expect(() =>
      checks.expectCode('ERR_X', 'call', () => {
        throw new Error('uncoded');
      }),
    ).toThrow(/without a code/);
    const error = (() => {
      try {
        checks.check(false, 'model differs');
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('check(false) did not throw');
    })();
    expect(error).toBeInstanceOf(Mismatch);
    expect(error.message).toMatch(/^seed 99, op 3: model differs/);
    expect(error.message).toContain('#3 c  [state S]');
    expect(error.message).not.toContain('#1 a'); // only the last two are kept
    expect(() => checks.expectCode('ERR_X', 'outer', () => checks.fail('inner'))).toThrow(/inner/);
  });

  it("takes only codes on memmap's closed list, errno names, and the fuzzer's own codes", () => {
    const checks = new FuzzChecks(5, () => '', 4, ['HOSTILE']);
    const thrown = (code: string) => Object.assign(new Error(code), { code });
    for (const code of ['ERR_MAPPING_TRUNCATED', 'ERR_OUT_OF_RANGE', 'ABORT_ERR', 'ENOMEM', 'EFAULT', 'HOSTILE'])
      expect(checks.codeOf(thrown(code), 'call')).toBe(code);
    for (const code of ['ERR_SOMETHING_NEW', 'ERR_X', 'EWHATEVER', 'toString', '__proto__'])
      expect(() => checks.codeOf(thrown(code), 'call')).toThrow(/not on memmap's closed list/);
    expect(isListedCode('ERR_MUTEX_TIMEOUT')).toBe(true);
    expect(isListedCode('constructor')).toBe(false);
  });
});

describe('the disk guard', () => {
  it('refuses a reservation over the limit in this process, with its code, and leaves sparse files alone', () => {
    const refused = (() => {
      try {
        MappedFile.open(tmp('too-big.bin'), { mode: 'w+', size: MAX_TEST_RESERVATION + 4096 }).close();
      } catch (error) {
        return error as { code?: string };
      }
      return undefined;
    })();
    expect(refused?.code).toBe('ERR_TEST_RESERVATION_LIMIT');
    using sparse = MappedFile.open(tmp('sparse.bin'), { mode: 'w+', size: MAX_TEST_RESERVATION * 4, sparse: true });
    expect(sparse.length).toBe(MAX_TEST_RESERVATION * 4);
    using small = MappedFile.open(tmp('small.bin'), { mode: 'w+', size: 1 << 20 });
    expect(small.length).toBe(1 << 20);
  });

  it('refuses it in every Node child the launcher starts too', async () => {
    const result = await runScript(
      tmp,
      'guarded-child',
      `import { MappedFile } from __SRC__;
try {
  MappedFile.open(process.argv[2], { mode: 'w+', size: ${MAX_TEST_RESERVATION + 4096} });
  console.log('reserved');
} catch (error) {
  console.log(error.code);
}`,
      [tmp('child-too-big.bin')],
    );
    expect([result.code, result.stdout.trim()]).toEqual([0, 'ERR_TEST_RESERVATION_LIMIT']);
  });

  it('the launcher reports a signal death as the signal', async () => {
    const file = tmp('killed.mts');
    writeFileSync(file, "process.kill(process.pid, 'SIGKILL');\n");
    const result = await runFile(file);
    expect([result.code, result.signal]).toEqual([null, 'SIGKILL']);
  });
});
