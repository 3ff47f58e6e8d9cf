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

  it('keeps a closed range reserved until its ArrayBuffer is collected, then unmaps it exactly once', async () => {
    const result = await runFile(fixture('gc-unmap-once.mts'), [], { nodeArgs: ['--expose-gc'] });
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, number | boolean>;
    expect(report).toMatchObject({
      collidedBeforeGc: 0, // never a new mapping over a closed one whose ArrayBuffer lives
      heldStayedMapped: true, // a detached view's range stays reserved while the view lives
      releasedAfterGc: true, // and is unmapped once it is collected
      wasMapped: true,
      unmappedByGc: true,
    });
  });

  it('reads and writes through views of a closed or resized mapping without crashing the process', async () => {
    const result = await runFile(fixture('detached-access.mts'), [tmp('detached.bin')]);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ caught: 4, reads: [null, null, null, null, 0, 0] });
  });
});
