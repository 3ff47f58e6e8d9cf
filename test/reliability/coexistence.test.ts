/**
 * memmap's SIGBUS handler coexists with Node and V8: it repairs only faults in its own mappings, leaves SIGSEGV (V8's
 * WebAssembly trap handler) alone, and hands every other SIGBUS on, so real bugs still crash loudly. Each case runs
 * in a child process; the test asserts how it ended.
 */
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp.js';
import { reliabilityFixture, report, startNode } from './helpers.js';

const tmp = useTempDir();
const dir = tmp('.');

async function run(which: string) {
  return startNode(reliabilityFixture('coexistence.mts'), [which, dir]).result;
}

describe('the SIGBUS handler next to Node and V8', () => {
  it('a WebAssembly out-of-bounds access in the same process still throws its usual error (WebAssembly.RuntimeError)', async () => {
    const result = await run('wasm');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    const r = report<{ repaired: boolean; inBounds: number; error?: { name: string; message: string } }>(result.stdout);
    expect(r.repaired).toBe(true);
    expect(r.inBounds).toBe(0);
    expect(r.error?.name).toBe('RuntimeError'); // WebAssembly.RuntimeError, V8's trap result
    expect(r.error?.message).toMatch(/out of bounds/);
  });

  it('a native SIGBUS outside any memmap mapping still kills the process with SIGBUS', async () => {
    const result = await run('foreign-sigbus');
    expect(result.stdout).toContain('faulting');
    expect(result.stdout).not.toContain('survived');
    expect(result.code).toBeNull();
    expect(result.signal).toBe('SIGBUS');
  });

  it('a native SIGSEGV still kills the process with SIGSEGV (memmap leaves SIGSEGV alone)', async () => {
    const result = await run('foreign-segv');
    expect(result.stdout).toContain('faulting');
    expect(result.stdout).not.toContain('survived');
    expect(result.signal).toBe('SIGSEGV');
  });

  it('a SIGBUS sent with kill(2) is not swallowed: the default action kills the process', async () => {
    const result = await run('kill');
    expect(result.stdout).not.toContain('survived');
    expect(result.signal).toBe('SIGBUS');
  });

  it('a SIGBUS handler installed before memmap loaded is chained to', async () => {
    const result = await run('chain');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(report(result.stdout)).toEqual({ ours: true, repaired: true, heard: 'SIGBUS' });
  });

  it('a SIGBUS handler installed after memmap loaded is put behind memmap at the next mapping, and chained to', async () => {
    const result = await run('retake');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(report(result.stdout)).toEqual([true, false, true, true, 'SIGBUS', false, true, true]);
  });
});
