/**
 * Promises of MappedFile's lifecycle under attack, each proved in a child process that must exit 0:
 * - no crash: a mapping one page past the largest ArrayBuffer (double free before), argument getters that close,
 *   resize or refresh the mapping mid-call (addon assertions before);
 * - nothing lost: a rejected open changes no byte of the file; 'w+' past the space available keeps the existing
 *   file's size and bytes;
 * - every error coded: a FIFO, a directory, a device; flushAsync() overtaken by close()/resize()/refresh() settles
 *   with the flush's outcome (ENOMEM from an unmapped range before);
 * - no leak: 5,000 MappedFiles dropped unclosed give their descriptors back when collected;
 * - kept, not shared: a Buffer of a closed mapping keeps its length over the file mapped privately (a write through
 *   it stays in this process, a record view over it throws), until it is collected.
 */
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../src/index.js';
import { useTempDir } from '../../helpers/temp.js';
import { report, startChild, startNode } from '../helpers.js';

const tmp = useTempDir();
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

describe('MappedFile lifecycle attacks', () => {
  const dir = tmp('attacks');
  mkdirSync(dir);
  const run = startNode(fixture('lifecycle-attacks.mts'), [dir], {
    nodeArgs: ['--expose-gc'],
    timeoutMs: 170_000,
  }).result;
  const outcome = async () => {
    const result = await run;
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    return report<Record<string, Record<string, unknown>>>(result.stdout);
  };
  const refused = { threw: true, code: 'ERR_OUT_OF_RANGE' };

  it('a window one page past the largest ArrayBuffer is refused before mmap; the addon frees a failed mapping once', async () => {
    const r = (await outcome()).largest!;
    if (r.sparseMade) expect(r).toMatchObject({ window: refused, toEnd: refused });
    else expect(r.window).toBe('unreachable'); // no filesystem holds a file past this runtime's largest buffer
    expect(r).toMatchObject({ sizeKept: true, resize: refused, resizeKept: true, addonThrew: true });
  }, 180_000);

  it('a rejected open changes no byte of the file and leaves no temporary file', async () => {
    expect((await outcome()).rejectedOpen).toEqual({
      wPlus: refused,
      rPlus: refused,
      unaligned: refused,
      badAdvice: { threw: true, code: 'ERR_INVALID_ARG_VALUE' },
      intact: true,
      noTemporary: true,
    });
  }, 180_000);

  it('argument getters that close, resize or refresh mid-call: ERR_MAPPING_CLOSED or success, never an abort', async () => {
    const getters = (await outcome()).getters!;
    expect(Object.keys(getters)).toHaveLength(36);
    for (const [name, result] of Object.entries(getters)) {
      // Arguments are read before the mapping is captured: a getter that closes it makes the call see it closed.
      const closesFirst =
        name.endsWith('close') && (name.includes(' range ') || /^(flush|flushAsync|residency) /.test(name));
      expect([name, result]).toEqual([
        name,
        closesFirst ? { threw: true, code: 'ERR_MAPPING_CLOSED' } : { threw: false },
      ]);
    }
  }, 180_000);

  it('5,000 MappedFiles dropped without close() leave no descriptor open once collected', async () => {
    expect((await outcome()).forgotten).toEqual({ opened: true, leaked: 0 });
  }, 180_000);

  it('flushAsync() overtaken by close(), resize() or refresh() resolves once the flush is done', async () => {
    const done = { threw: false, reachedFile: true };
    expect((await outcome()).flushThenRetire).toEqual({ close: done, resize: done, refresh: done });
  }, 180_000);

  it('a FIFO, a directory or a device: a coded error with the path, at once; a FIFO is never replaced', async () => {
    const r = (await outcome()).special!;
    expect(r).toMatchObject({
      fifo: { threw: true, code: 'ERR_NOT_REGULAR_FILE' },
      fifoWrite: { threw: true, code: 'ERR_NOT_REGULAR_FILE' },
      directory: { threw: true, code: 'EISDIR', syscall: 'open', path: dir },
      device: { threw: true, code: 'ERR_NOT_REGULAR_FILE', path: '/dev/zero' },
      fifoKept: true,
    });
  }, 180_000);

  it('a Buffer of a closed mapping keeps its length over the file mapped privately; nothing mapped once collected', async () => {
    expect((await outcome()).views).toEqual({
      length: PAGE_SIZE,
      whileOpen: ['rw-s'],
      whileHeld: ['rw-p'], // no shared mapping of the file is left once closed
      kept: 1,
      bytesKept: true,
      lateWrite: { inView: 0xee, reachedFile: false },
      recordCode: { threw: true, code: 'ERR_DETACHED_BUFFER' },
      afterCollected: [],
      keptBefore: 0,
      keptAfter: 0, // released once collected
    });
  }, 180_000);
});

describe("'w+' over an existing file without the space for the new size", () => {
  it('past RLIMIT_FSIZE: EFBIG, and the existing file keeps its size and bytes', async () => {
    const dir = tmp('fsize');
    mkdirSync(dir);
    const small = 64 * 1024;
    const big = 4 * 1024 * 1024;
    // SIGXFSZ would kill the child before the syscall could return EFBIG: ignored (inherited through exec).
    const script = `trap '' XFSZ; ulimit -f ${(2 * small) / 1024}; exec "$@"`;
    const node = [
      process.execPath,
      '--import',
      'tsx',
      fixture('lifecycle-full-disk.mts'),
      dir,
      String(small),
      String(big),
    ];
    const result = await startChild('bash', ['-c', script, 'bash', ...node]).result;
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    const r = report<{ path: string } & Record<string, unknown>>(result.stdout);
    expect(r).toEqual({
      path: r.path,
      outcome: { threw: true, code: 'EFBIG', syscall: 'posix_fallocate', path: r.path },
      size: small,
      intact: true,
      temporaries: [],
    });
  });
});
