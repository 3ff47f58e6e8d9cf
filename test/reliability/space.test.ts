/**
 * Space is reserved up front (posix_fallocate): running out of it is a coded error at the call that asked for the
 * space, and the file keeps its earlier contents. Tried against two real limits: RLIMIT_FSIZE (a child under
 * `ulimit -f`, EFBIG; always) and a full filesystem (a 1 MiB tmpfs, ENOSPC; where this process may mount one).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { compileC } from '../helpers/cc.js';
import { useTempDir } from '../helpers/temp.js';
import { reliabilityFixture, report, startChild, startNode } from './helpers.js';

const tmp = useTempDir();
const SMALL = 256 * 1024;
const BIG = 4 * 1024 * 1024;

interface Report {
  path: string;
  other: string;
  resize: Record<string, unknown>;
  afterResize: Record<string, unknown>;
  reopen: Record<string, unknown>;
  afterReopen: Record<string, unknown>;
  create: Record<string, unknown>;
  sparse: Record<string, unknown>;
  ring: string;
  channel: Record<string, unknown>;
  channelLeft: string[];
}

function expectRefusedEverywhere(r: Report, code: string, errno: number, sparse: Record<string, unknown>): void {
  expect(r.resize).toEqual({ threw: true, code, errno: -errno, syscall: 'posix_fallocate', path: r.path });
  expect(r.afterResize).toEqual({
    length: SMALL,
    closed: false,
    mappingIntact: true,
    fileSize: SMALL,
    fileIntact: true,
  });
  expect(r.reopen).toEqual({ threw: true, code, errno: -errno, syscall: 'posix_fallocate', path: r.path });
  expect(r.afterReopen).toEqual({ fileSize: SMALL, fileIntact: true });
  expect(r.create).toEqual({ threw: true, code, errno: -errno, syscall: 'posix_fallocate', path: r.other });
  expect(r.sparse).toEqual(sparse);
  expect(r.channel).toEqual({ threw: true, code, errno: -errno, syscall: 'posix_fallocate', path: r.ring });
  expect(r.channelLeft).toEqual([]);
}

function canMountTmpfs(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('space is reserved when a file is created or grown', () => {
  it('past RLIMIT_FSIZE (ulimit -f): EFBIG at the call, the file untouched', async () => {
    const dir = tmp('ulimit');
    mkdirSync(dir);
    // SIGXFSZ would kill the child before the syscall could return EFBIG: ignored (inherited through exec).
    const script = `trap '' XFSZ; ulimit -f ${(2 * SMALL) / 1024}; exec "$@"`;
    const child = startChild('bash', [
      '-c',
      script,
      'bash',
      process.execPath,
      '--import',
      'tsx',
      reliabilityFixture('space.mts'),
      dir,
      String(SMALL),
      String(BIG),
    ]);
    const result = await child.result;
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    const r = report<Report>(result.stdout);
    // RLIMIT_FSIZE limits the size itself, so even a sparse file cannot be made that large
    const sparse = {
      threw: true,
      code: 'EFBIG',
      errno: -27,
      syscall: 'ftruncate',
      path: r.other.replace('other', 'sparse'),
    };
    expectRefusedEverywhere(r, 'EFBIG', 27, sparse);
  });

  it('where the filesystem cannot reserve blocks (EOPNOTSUPP), the file is made sparse and a warning says so', async () => {
    // posix_fallocate is called through the dynamic linker: a preloaded library can stand in for such a filesystem
    const shim = compileC(
      tmp,
      'no-fallocate.so',
      `#include <errno.h>
       #include <sys/types.h>
       int posix_fallocate(int fd, off_t offset, off_t length) { (void)fd; (void)offset; (void)length; return EOPNOTSUPP; }
       int posix_fallocate64(int fd, off_t offset, off_t length) { return posix_fallocate(fd, offset, length); }`,
      ['-shared', '-fPIC'],
    );
    const dir = tmp('not-reserved');
    mkdirSync(dir);
    const result = await startNode(reliabilityFixture('not-reserved.mts'), [dir], { env: { LD_PRELOAD: shim } }).result;
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    const r = report<{ size: number; blocks: number; warnings: { name: string; code?: string }[] }>(result.stdout);
    expect(r.size).toBe(2 << 20);
    expect(r.blocks).toBeLessThan(64); // sparse: at most the one page written, not 2 MiB of blocks
    expect(r.warnings).toEqual([{ name: 'Warning', code: 'MEMMAP_NOT_RESERVED' }]); // once, not per call
  });

  const mountPoint = tmp('tmpfs');
  mkdirSync(mountPoint);
  const mounted = canMountTmpfs(mountPoint);
  afterAll(() => {
    if (mounted) execFileSync('umount', [mountPoint]);
  });

  it.skipIf(!mounted)('on a full filesystem (1 MiB tmpfs): ENOSPC at the call, the file untouched', async () => {
    const result = await startNode(reliabilityFixture('space.mts'), [mountPoint, String(SMALL), String(BIG)]).result;
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    // a sparse file asks for no blocks: creating it succeeds (touching its pages later is what would fail)
    expectRefusedEverywhere(report<Report>(result.stdout), 'ENOSPC', 28, { threw: false });
  });

  const sparseMount = tmp('tmpfs-sparse');
  mkdirSync(sparseMount);
  const sparseMounted = mounted && canMountTmpfs(sparseMount);
  afterAll(() => {
    if (sparseMounted) execFileSync('umount', [sparseMount]);
  });

  it.skipIf(!sparseMounted)(
    'sparse: true on a full filesystem: the pages that get no space are replaced, not fatal; ERR_MAPPING_FAULTED',
    async () => {
      const result = await startNode(reliabilityFixture('full-sparse.mts'), [sparseMount, String(BIG)]).result;
      expect(result.stderr).toBe('');
      expect(result.signal).toBeNull(); // not killed by SIGBUS
      expect(result.code).toBe(0);
      const r = report<Record<string, unknown> & { path: string; pagesSaved: number; recordFilePieces: number }>(
        result.stdout,
      );
      expect(r).toMatchObject({
        readBack: true, // the replaced pages took the writes, in this process only
        faulted: true,
        truncated: false,
        checkIntact: { threw: true, code: 'ERR_MAPPING_FAULTED', path: r.path },
        flush: { threw: true, code: 'ERR_MAPPING_FAULTED', path: r.path },
        flushAsync: { threw: true, code: 'ERR_MAPPING_FAULTED', path: r.path },
        resize: { threw: true, code: 'ERR_MAPPING_FAULTED', path: r.path },
        fileSize: BIG, // resize changed nothing
        afterRefresh: { faulted: false, length: BIG },
        // 32 gets of record pages that cannot get space: refused before each read, no mapping per page
        recordGets: ['ERR_MAPPING_FAULTED'],
      });
      expect(r.recordFilePieces).toBeLessThanOrEqual(3); // in 33 pieces or more when get did not check before reading
      // 1 MiB of the 4 MiB found space, the rest did not (tmpfs counts its own few pages too)
      expect(r.pagesSaved).toBeGreaterThan(0);
      expect(r.pagesSaved).toBeLessThanOrEqual(256);
    },
  );
});
