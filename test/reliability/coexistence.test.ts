/**
 * memmap's signal handlers coexist with Node and V8: the SIGBUS handler repairs only faults in memmap's own file
 * mappings, the SIGSEGV handler (installed by the first read-only System V attachment) only writes into read-only
 * attachments; every other fault goes on to the handler before them (V8's WebAssembly trap handler, libuv's) or to
 * the default action, so real bugs in other native code still crash loudly. The foreign faults come from a small
 * addon that is not memmap (fixtures/foreign-faults.c, compiled with cc). Each case runs in a child process; the
 * test asserts how it ended.
 */
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp.js';
import { buildForeignAddon } from './fixtures/foreign-addon.js';
import { reliabilityFixture, report, startNode } from './helpers.js';

const tmp = useTempDir();
const dir = tmp('.');

const foreignAddon = buildForeignAddon(tmp);

async function run(which: string) {
  return startNode(reliabilityFixture('coexistence.mts'), [which, dir, foreignAddon]).result;
}

describe('the signal handlers next to Node, V8 and other native code', () => {
  it('with the SIGSEGV handler installed by a read-only attachment: a WebAssembly out-of-bounds load still throws, a foreign SIGSEGV still kills', async () => {
    const result = await run('segv-after-readonly');
    const lines = result.stdout.trim().split('\n');
    const r = JSON.parse(lines[0]!) as { copied: number; inBounds: number; error?: { name: string } };
    expect(r).toMatchObject({ copied: 7, inBounds: 0, error: { name: 'RuntimeError' } });
    expect(lines).toContain('faulting');
    expect(result.stdout).not.toContain('survived');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: null, signal: 'SIGSEGV' });
  });

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

  it('a native SIGSEGV still kills the process with SIGSEGV', async () => {
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
