import { describe, expect, it } from 'vitest';
import { native, PAGE_SIZE } from '../src/native.js';
import { runFile } from './helpers/child.js';
import { useTempDir } from './helpers/temp.js';

const tmp = useTempDir();
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

describe('the addon', () => {
  it('reports the page size and the constants of <sys/mman.h>', () => {
    expect(PAGE_SIZE).toBeGreaterThanOrEqual(4096);
    expect(PAGE_SIZE & (PAGE_SIZE - 1)).toBe(0);
    expect(native.constants).toMatchObject({ PROT_READ: 1, PROT_WRITE: 2, MAP_SHARED: 1, MAP_PRIVATE: 2, MS_ASYNC: 1 });
  });

  it('throws errno and syscall from a failed syscall', () => {
    const { PROT_READ, MAP_SHARED } = native.constants;
    let error: { errno?: number; syscall?: string } = {};
    try {
      native.mmap(4096, PROT_READ, MAP_SHARED, 12345, 0);
    } catch (caught) {
      error = caught as typeof error;
    }
    expect(error).toMatchObject({ errno: 9, syscall: 'mmap' }); // EBADF
  });

  it('unmaps a closed mapping exactly once: a GC after close never unmaps a newer mapping at the same address', async () => {
    const result = await runFile(fixture('gc-unmap-once.mts'), [], { nodeArgs: ['--expose-gc'] });
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { reused: number; wasMapped: boolean; unmappedByGc: boolean };
    expect(report.reused).toBeGreaterThan(0); // the kernel did hand the freed address out again
    expect(report.wasMapped).toBe(true);
    expect(report.unmappedByGc).toBe(true);
  });

  it('reads and writes through views of a closed or resized mapping without crashing the process', async () => {
    const result = await runFile(fixture('detached-access.mts'), [tmp('detached.bin')]);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ caught: 4, reads: [null, null, null, null, 0, 0] });
  });
});
