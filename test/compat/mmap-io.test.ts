/**
 * Differential tests: memmap/mmap-io against @riaskov/mmap-io 1.4.3 (the oracle). The same calls on both must give
 * the same bytes, the same return values and, for bad arguments, errors of the same kind; where memmap differs on
 * purpose (see the top of src/compat/mmap-io.ts) the test asserts the documented difference instead.
 *
 * The oracle is an optional install (a native addon that must build): when it cannot be loaded, the comparisons are
 * not run and one line says so; mmap-io-dropin.test.ts checks memmap/mmap-io on its own either way.
 */
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import mmap, * as named from '../../src/compat/mmap-io.ts';
import { runFile } from '../helpers/child.ts';
import { MMAP_IO_ORACLE_FROM, mmapIoOracle, type MmapIoOracle } from '../helpers/mmap-io-oracle.ts';
import { useTempDir } from '../helpers/temp.ts';
import { returned, thrown } from '../helpers/thrown.ts';

type Oracle = MmapIoOracle;
// The oracle is a benchmark peer (bench/package.json), loaded from there by test/helpers/mmap-io-oracle.ts, which
// prints one line saying why where it is absent.
const haveOracle = mmapIoOracle !== undefined;
const oracle = mmapIoOracle as Oracle; // used only inside the blocks that run when haveOracle
/** A describe block that compares with the oracle: registered only when it loaded (the line above says when not). */
const compare = (name: string, factory: () => void): void => {
  if (haveOracle) describe(name, factory);
};
const COMPAT = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/compat/mmap-io.ts');
const FACES = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/mapping-faces.ts');

const P = mmap.PAGESIZE;
const RW = mmap.PROT_READ | mmap.PROT_WRITE;
const tmp = useTempDir('memmap-compat-');
const fds: number[] = [];
afterAll(() => {
  for (const fd of fds) closeSync(fd);
});

/** A file of `size` bytes where byte i is (i * 7 + seed) & 0xff; returns its path and an fd opened `flags`. */
function fileOf(name: string, size: number, flags = 'r+', seed = 1): { path: string; fd: number; bytes: Buffer } {
  const path = tmp(name);
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + seed) & 0xff;
  writeFileSync(path, bytes);
  const fd = openSync(path, flags);
  fds.push(fd);
  return { path, fd, bytes };
}

/** Both threw for the same system call failure: the oracle's text, and the same errno with Node's shape here. */
function expectSameSystemError(
  ours: () => unknown,
  theirs: () => unknown,
  code: string,
  errno: number,
  syscall: string,
  legacy: string,
) {
  const their = thrown(theirs);
  expect(their.message).toBe(`${legacy}, ${errno}`);
  const our = thrown(ours);
  expect(our).toBeInstanceOf(Error);
  expect(our.code).toBe(code);
  expect(our.errno).toBe(-errno);
  expect(our.syscall).toBe(syscall);
  expect(our.message).toContain(`${legacy}, ${errno}`);
}

/** Both refused an argument: the oracle with a plain Error, memmap with the documented Node code (still an Error). */
function expectArgumentError(
  ours: () => unknown,
  theirs: (() => unknown) | undefined,
  code: string,
  kind: ErrorConstructor,
) {
  if (theirs) expect(thrown(theirs)).toBeInstanceOf(Error);
  const our = thrown(ours);
  expect(our).toBeInstanceOf(kind);
  expect(our).toBeInstanceOf(Error);
  expect(our.code).toBe(code);
}

/** The permissions (`rw-s`, `rw-p`) of each line of /proc/self/maps that maps `path`. */
function mappingsOf(path: string): string[] {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(path))
    .map((line) => line.split(' ')[1]!);
}

function mappedLinesOf(path: string): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(path)).length;
}

compare('exports', () => {
  it('has every constant of mmap-io with the same value, and the same PAGESIZE', () => {
    const constants = Object.keys(oracle).filter((key) => typeof oracle[key] === 'number');
    expect(constants.length).toBeGreaterThanOrEqual(14);
    for (const key of constants) expect([key, (mmap as Record<string, unknown>)[key]]).toEqual([key, oracle[key]]);
    expect(mmap.PAGESIZE).toBe(oracle.PAGESIZE);
    expect(mmap.PAGESIZE).toBeGreaterThan(0);
  });

  it('has every function of mmap-io plus unmap, as the default export and as named exports', () => {
    const functions = Object.keys(oracle).filter((key) => typeof oracle[key] === 'function');
    expect(functions.sort()).toEqual(['advise', 'incore', 'map', 'sync']);
    for (const key of [...functions, 'unmap']) {
      expect(typeof (mmap as Record<string, unknown>)[key]).toBe('function');
      expect((named as Record<string, unknown>)[key]).toBe((mmap as Record<string, unknown>)[key]);
    }
    expect(Object.isFrozen(mmap)).toBe(true);
  });

  it('exports the extra constants of this machine', () => {
    expect(mmap.MAP_ANONYMOUS).toBeGreaterThan(0);
    expect(mmap.MADV_FREE).toBeGreaterThan(0);
    expect(mmap.MAP_NORESERVE).toBeGreaterThan(0);
  });
});

compare('map', () => {
  it('maps a real file MAP_SHARED: the same bytes, and writes through one are read through the other', () => {
    const { path, fd, bytes } = fileOf('shared.bin', 4 * P);
    const ours = mmap.map(4 * P, RW, mmap.MAP_SHARED, fd);
    const theirs = oracle.map(4 * P, RW, oracle.MAP_SHARED as number, fd);
    expect(Buffer.isBuffer(ours)).toBe(true);
    expect(ours.length).toBe(theirs.length);
    expect(ours.equals(bytes)).toBe(true);
    expect(theirs.equals(ours)).toBe(true);

    ours.write('written by memmap', 100);
    expect(theirs.toString('utf8', 100, 117)).toBe('written by memmap');
    theirs.write('written by mmap-io', 3 * P + 5);
    expect(ours.toString('utf8', 3 * P + 5, 3 * P + 23)).toBe('written by mmap-io');

    mmap.sync(ours, true);
    const onDisk = readFileSync(path);
    expect(onDisk.toString('utf8', 100, 117)).toBe('written by memmap');
    expect(onDisk.equals(theirs)).toBe(true);
    mmap.unmap(ours);
  });

  it('maps from a page-aligned offset to the same bytes', () => {
    const { fd, bytes } = fileOf('offset.bin', 8 * P, 'r+', 9);
    const ours = mmap.map(3 * P, RW, mmap.MAP_SHARED, fd, 2 * P);
    const theirs = oracle.map(3 * P, RW, oracle.MAP_SHARED as number, fd, 2 * P);
    expect(ours.equals(theirs)).toBe(true);
    expect(ours.equals(bytes.subarray(2 * P, 5 * P))).toBe(true);
    // offset null or undefined means 0, in both
    expect(mmap.map(P, RW, mmap.MAP_SHARED, fd, undefined).equals(oracle.map(P, RW, 1, fd, undefined))).toBe(true);
    expect(mmap.map(P, RW, mmap.MAP_SHARED, fd, null as unknown as number).equals(bytes.subarray(0, P))).toBe(true);
  });

  it('maps with advice, and anonymous memory with fd -1', () => {
    const { fd, bytes } = fileOf('advised.bin', 2 * P);
    const ours = mmap.map(2 * P, RW, mmap.MAP_SHARED, fd, 0, mmap.MADV_SEQUENTIAL);
    const theirs = oracle.map(2 * P, RW, 1, fd, 0, oracle.MADV_SEQUENTIAL as number);
    expect(ours.equals(bytes)).toBe(true);
    expect(theirs.equals(bytes)).toBe(true);
    const anonymous = mmap.map(3 * P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1);
    const theirAnonymous = oracle.map(3 * P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1);
    expect(anonymous.equals(theirAnonymous)).toBe(true);
    expect(anonymous.every((byte) => byte === 0)).toBe(true);
    mmap.unmap(anonymous);
  });

  it('a read-only mapping (PROT_READ, MAP_SHARED) reads the file and follows it; a stray write stays private (a deliberate difference)', () => {
    const { path, bytes } = fileOf('readonly.bin', 2 * P);
    const fd = openSync(path, 'r');
    fds.push(fd);
    const ours = mmap.map(2 * P, mmap.PROT_READ, mmap.MAP_SHARED, fd);
    const theirs = oracle.map(2 * P, oracle.PROT_READ as number, oracle.MAP_SHARED as number, fd);
    expect(ours.equals(theirs)).toBe(true);
    // Another writer changes page 1 of the file: both mappings see it (the page was never written here).
    const writer = openSync(path, 'r+');
    writeSync(writer, Buffer.from('from another writer'), 0, 19, P + 10);
    closeSync(writer);
    expect(ours.toString('utf8', P + 10, P + 29)).toBe('from another writer');
    expect(theirs.toString('utf8', P + 10, P + 29)).toBe('from another writer');
    // Writing into ours changes only this process's copy (in mmap-io: SIGSEGV, see the child test below).
    ours[0] = bytes[0]! ^ 0xff;
    expect(ours[0]).toBe(bytes[0]! ^ 0xff);
    expect(readFileSync(path)[0]).toBe(bytes[0]);
    expect(theirs[0]).toBe(bytes[0]);
  });

  it('offsets and sizes past int32 are exact, where mmap-io wraps them (a deliberate difference)', () => {
    const path = tmp('sparse-5g.bin');
    const fd = openSync(path, 'w+');
    fds.push(fd);
    const high = 2 ** 32; // 4 GiB: ToInt32 makes it 0
    ftruncateSync(fd, high + 2 * P);
    writeSync(fd, Buffer.from('at 4 GiB'), 0, 8, high);
    writeSync(fd, Buffer.from('at zero'), 0, 7, 0);

    const ours = mmap.map(P, RW, mmap.MAP_SHARED, fd, high);
    expect(ours.toString('utf8', 0, 8)).toBe('at 4 GiB');
    const theirs = oracle.map(P, RW, 1, fd, high);
    expect(theirs.toString('utf8', 0, 7)).toBe('at zero'); // mmap-io silently mapped offset 0
    mmap.unmap(ours);

    const big = 2 ** 31 + P; // > INT32_MAX: mmap-io turns it into a negative int, then a huge size_t
    const large = mmap.map(big, RW, mmap.MAP_SHARED, fd);
    expect(large.length).toBe(big);
    large[big - 1] = 0x5a;
    const check = Buffer.alloc(1);
    readSync(fd, check, 0, 1, big - 1);
    expect(check[0]).toBe(0x5a);
    mmap.unmap(large);
    expect(thrown(() => oracle.map(big, RW, 1, fd)).message).toBe('mmap failed, 12');
  });

  it('an madvise failure unmaps the fresh mapping; mmap-io leaks it (a deliberate difference)', () => {
    // MADV_FREE applies to private anonymous memory only: on a shared file mapping madvise says EINVAL.
    const ourFile = fileOf('leak-ours.bin', 2 * P);
    const theirFile = fileOf('leak-theirs.bin', 2 * P);
    expectSameSystemError(
      () => mmap.map(2 * P, RW, mmap.MAP_SHARED, ourFile.fd, 0, mmap.MADV_FREE),
      () => oracle.map(2 * P, RW, 1, theirFile.fd, 0, mmap.MADV_FREE),
      'EINVAL',
      22,
      'madvise',
      'madvise() failed',
    );
    expect(mappedLinesOf(ourFile.path)).toBe(0);
    expect(mappedLinesOf(theirFile.path)).toBe(1);
  });

  describe('rejects bad arguments', () => {
    const { fd } = fileOf('args.bin', 4 * P);

    it('non-numbers for size, protection, flags, fd: ERR_INVALID_ARG_TYPE (mmap-io: Error)', () => {
      const cases: Array<unknown[]> = [
        ['1', RW, 1, fd],
        [P, '3', 1, fd],
        [P, RW, '1', fd],
        [P, RW, 1, 'x'],
        [undefined, RW, 1, fd],
      ];
      for (const args of cases)
        expectArgumentError(
          () => (mmap.map as (...a: unknown[]) => unknown)(...args),
          () => (oracle.map as (...a: unknown[]) => unknown)(...args),
          'ERR_INVALID_ARG_TYPE',
          TypeError,
        );
    });

    it('non-numbers for offset and advise: ERR_INVALID_ARG_TYPE (mmap-io converts them to 0)', () => {
      expectArgumentError(
        () => mmap.map(P, RW, 1, fd, 'x' as unknown as number),
        undefined,
        'ERR_INVALID_ARG_TYPE',
        TypeError,
      );
      expect(oracle.map(P, RW, 1, fd, 'x' as unknown as number).length).toBe(P);
      expectArgumentError(
        () => mmap.map(P, RW, 1, fd, 0, '2' as unknown as number),
        undefined,
        'ERR_INVALID_ARG_TYPE',
        TypeError,
      );
    });

    it('negative, fractional and too large sizes and offsets: ERR_OUT_OF_RANGE (mmap-io: ToInt32)', () => {
      expectArgumentError(
        () => mmap.map(-1, RW, 1, fd),
        () => oracle.map(-1, RW, 1, fd),
        'ERR_OUT_OF_RANGE',
        RangeError,
      );
      expectArgumentError(() => mmap.map(1.5, RW, 1, fd), undefined, 'ERR_OUT_OF_RANGE', RangeError);
      expect(oracle.map(1.5, RW, 1, fd).length).toBe(1); // truncated
      expectArgumentError(() => mmap.map(2 ** 33, RW, 1, fd), undefined, 'ERR_OUT_OF_RANGE', RangeError);
      expectArgumentError(() => mmap.map(P, RW, 1, fd, -P), undefined, 'ERR_OUT_OF_RANGE', RangeError);
      expectArgumentError(() => mmap.map(P, RW, 1, fd, 2 ** 53), undefined, 'ERR_OUT_OF_RANGE', RangeError);
      expectArgumentError(() => mmap.map(P, -1, 1, fd), undefined, 'ERR_OUT_OF_RANGE', RangeError);
      expectArgumentError(() => mmap.map(P, RW, -1, fd), undefined, 'ERR_OUT_OF_RANGE', RangeError);
      expectArgumentError(() => mmap.map(P, RW, 1, 2 ** 31), undefined, 'ERR_OUT_OF_RANGE', RangeError);
      expectArgumentError(() => mmap.map(P, RW, 1, fd, 0, -4), undefined, 'ERR_OUT_OF_RANGE', RangeError);
    });

    it('size 0, an unaligned offset and flags without MAP_SHARED/MAP_PRIVATE: EINVAL, as the kernel says in mmap-io', () => {
      expectSameSystemError(
        () => mmap.map(0, RW, 1, fd),
        () => oracle.map(0, RW, 1, fd),
        'EINVAL',
        22,
        'mmap',
        'mmap failed',
      );
      expectSameSystemError(
        () => mmap.map(P, RW, 1, fd, 1),
        () => oracle.map(P, RW, 1, fd, 1),
        'EINVAL',
        22,
        'mmap',
        'mmap failed',
      );
      expectSameSystemError(
        () => mmap.map(P, RW, 0, fd),
        () => oracle.map(P, RW, 0, fd),
        'EINVAL',
        22,
        'mmap',
        'mmap failed',
      );
    });

    it('bad file descriptors: EBADF; a shared writable map of a read-only fd: EACCES', () => {
      expectSameSystemError(
        () => mmap.map(P, RW, 1, -1),
        () => oracle.map(P, RW, 1, -1),
        'EBADF',
        9,
        'mmap',
        'mmap failed',
      );
      const closed = openSync(tmp('args.bin'), 'r');
      closeSync(closed);
      const bad = thrown(() => mmap.map(P, RW, 1, closed));
      expect([bad.code, bad.errno, bad.syscall]).toEqual(['EBADF', -9, 'fstat']); // checked before mmap
      expect(bad.message).toContain('mmap failed, 9');
      expect(thrown(() => oracle.map(P, RW, 1, closed)).message).toBe('mmap failed, 9');
      const readOnly = openSync(tmp('args.bin'), 'r');
      fds.push(readOnly);
      expectSameSystemError(
        () => mmap.map(P, RW, 1, readOnly),
        () => oracle.map(P, RW, 1, readOnly),
        'EACCES',
        13,
        'mmap',
        'mmap failed',
      );
    });

    it('PROT_NONE, MAP_FIXED and unknown advice: ERR_INVALID_ARG_VALUE (mmap-io maps them: a crash waiting to happen)', () => {
      expectArgumentError(() => mmap.map(P, mmap.PROT_NONE, 1, fd), undefined, 'ERR_INVALID_ARG_VALUE', TypeError);
      expectArgumentError(() => mmap.map(P, RW, 1 | 0x10, fd), undefined, 'ERR_INVALID_ARG_VALUE', TypeError);
      expectArgumentError(
        () => mmap.map(P, RW, 1, fd, 0, 100 /* MADV_HWPOISON */),
        undefined,
        'ERR_INVALID_ARG_VALUE',
        TypeError,
      );
      expectArgumentError(() => mmap.map(P, RW, 1, fd, 0, 9999), undefined, 'ERR_INVALID_ARG_VALUE', TypeError);
      expect(thrown(() => oracle.map(P, RW, 1, fd, 0, 9999)).message).toBe('madvise() failed, 22');
    });

    it('a mapping past the end of a regular file: ERR_OUT_OF_RANGE (its pages would raise SIGBUS)', () => {
      expectArgumentError(() => mmap.map(5 * P, RW, 1, fd), undefined, 'ERR_OUT_OF_RANGE', RangeError);
      expectArgumentError(() => mmap.map(P, RW, 1, fd, 4 * P), undefined, 'ERR_OUT_OF_RANGE', RangeError);
      expectArgumentError(() => mmap.map(2 * P, RW, 1, fd, 3 * P), undefined, 'ERR_OUT_OF_RANGE', RangeError);
      expect(mmap.map(P, RW, 1, fd, 3 * P).length).toBe(P); // the last page exactly is fine
      expect(fstatSync(fd).size).toBe(4 * P); // and nothing grew the file
    });
  });
});

compare('advise', () => {
  const { fd } = fileOf('advise.bin', 4 * P);
  const ours = mmap.map(4 * P, RW, mmap.MAP_SHARED, fd);
  const theirs = oracle.map(4 * P, RW, 1, fd);

  it('advises the whole buffer or a range, returning undefined like mmap-io', () => {
    for (const advice of [
      mmap.MADV_RANDOM,
      mmap.MADV_SEQUENTIAL,
      mmap.MADV_WILLNEED,
      mmap.MADV_NORMAL,
      mmap.MADV_DONTNEED,
    ]) {
      expect(returned(() => mmap.advise(ours, advice))).toBe(returned(() => oracle.advise(theirs, advice)));
      expect(returned(() => mmap.advise(ours, P, 2 * P, advice))).toBe(
        returned(() => oracle.advise(theirs, P, 2 * P, advice)),
      );
    }
    expect(returned(() => mmap.advise(ours, P, 0, mmap.MADV_RANDOM))).toBeUndefined();
    expect(returned(() => mmap.advise(ours.subarray(P), mmap.MADV_RANDOM))).toBeUndefined(); // a page-aligned view
    expect(ours.equals(theirs)).toBe(true); // MADV_DONTNEED on a shared file mapping keeps the data
  });

  it('the extra advice values work', () => {
    for (const advice of [mmap.MADV_HUGEPAGE, mmap.MADV_NOHUGEPAGE, mmap.MADV_DONTFORK, mmap.MADV_DOFORK]) {
      try {
        mmap.advise(ours, advice);
      } catch (error) {
        expect((error as { code?: string }).code).toBe('EINVAL'); // a kernel without transparent huge pages
      }
    }
  });

  it('an unaligned start: EINVAL, as in mmap-io', () => {
    expectSameSystemError(
      () => mmap.advise(ours, 1, P, mmap.MADV_RANDOM),
      () => oracle.advise(theirs, 1, P, mmap.MADV_RANDOM),
      'EINVAL',
      22,
      'madvise',
      'madvise() failed',
    );
  });

  it('1 or 3 arguments: ERR_MISSING_ARGS; 5: ERR_TOO_MANY_ARGS (mmap-io: Error)', () => {
    const call =
      (target: { advise: unknown }, ...args: unknown[]) =>
      () =>
        (target.advise as (...a: unknown[]) => unknown)(...args);
    expectArgumentError(call(mmap, ours), call(oracle, theirs), 'ERR_MISSING_ARGS', TypeError);
    expectArgumentError(call(mmap, ours, 0, P), call(oracle, theirs, 0, P), 'ERR_MISSING_ARGS', TypeError);
    expectArgumentError(call(mmap, ours, 0, P, 1, 1), call(oracle, theirs, 0, P, 1, 1), 'ERR_TOO_MANY_ARGS', TypeError);
  });

  it('not a buffer, or a non-number: ERR_INVALID_ARG_TYPE', () => {
    expectArgumentError(
      () => mmap.advise(5 as unknown as Buffer, 1),
      () => oracle.advise(5, 1),
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    );
    expectArgumentError(
      () => mmap.advise(ours, 'x' as unknown as number),
      () => oracle.advise(theirs, 'x'),
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    );
    expectArgumentError(
      () => mmap.advise(ours, 'x' as unknown as number, P, 1),
      undefined,
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    );
    expectArgumentError(
      () => mmap.advise(ours, 0, null as unknown as number, 1),
      undefined,
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    );
    expectArgumentError(
      () => mmap.advise(ours, 0, P, undefined as unknown as number),
      undefined,
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    );
    // a plain object: mmap-io aborts the process in node::Buffer::Data, so it is not called here
    expectArgumentError(() => mmap.advise({} as Buffer, 1), undefined, 'ERR_INVALID_ARG_TYPE', TypeError);
  });

  it('a Buffer that is not a mapping of map(): ERR_INVALID_ARG_VALUE (mmap-io would madvise the heap)', () => {
    expectArgumentError(
      () => mmap.advise(Buffer.alloc(P), mmap.MADV_DONTNEED),
      undefined,
      'ERR_INVALID_ARG_VALUE',
      TypeError,
    );
    expectArgumentError(() => mmap.advise(theirs, mmap.MADV_RANDOM), undefined, 'ERR_INVALID_ARG_VALUE', TypeError);
  });

  it('a range outside the buffer, unknown advice: ERR_OUT_OF_RANGE / ERR_INVALID_ARG_VALUE (mmap-io does not check)', () => {
    expectArgumentError(() => mmap.advise(ours, 0, 5 * P, 1), undefined, 'ERR_OUT_OF_RANGE', RangeError);
    expectArgumentError(() => mmap.advise(ours, 5 * P, 0, 1), undefined, 'ERR_OUT_OF_RANGE', RangeError);
    expectArgumentError(() => mmap.advise(ours, -P, P, 1), undefined, 'ERR_OUT_OF_RANGE', RangeError);
    expectArgumentError(() => mmap.advise(ours.subarray(0, P), 0, 2 * P, 1), undefined, 'ERR_OUT_OF_RANGE', RangeError);
    expectArgumentError(
      () => mmap.advise(ours, 100 /* MADV_HWPOISON */),
      undefined,
      'ERR_INVALID_ARG_VALUE',
      TypeError,
    );
    expectArgumentError(() => mmap.advise(ours, -1), undefined, 'ERR_OUT_OF_RANGE', RangeError);
  });
});

compare('incore', () => {
  it('counts [not resident, resident] pages like mmap-io', () => {
    const flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS;
    const ours = mmap.map(8 * P, RW, flags, -1);
    const theirs = oracle.map(8 * P, RW, flags, -1);
    expect(mmap.incore(ours)).toEqual(oracle.incore(theirs));
    expect(mmap.incore(ours)).toEqual([8, 0]);
    for (const page of [0, 2, 5]) ours[page * P] = theirs[page * P] = 1;
    expect(mmap.incore(ours)).toEqual(oracle.incore(theirs));
    expect(mmap.incore(ours)).toEqual([5, 3]);
    expect(mmap.incore(ours.subarray(2 * P, 4 * P))).toEqual(oracle.incore(theirs.subarray(2 * P, 4 * P)));
    expect(mmap.incore(ours.subarray(0, 0))).toEqual(oracle.incore(theirs.subarray(0, 0)));
    mmap.unmap(ours);
  });

  it('a file just written is all in the page cache, for both', () => {
    const { fd } = fileOf('incore.bin', 3 * P + 100);
    const ours = mmap.map(3 * P + 100, RW, mmap.MAP_SHARED, fd);
    const theirs = oracle.map(3 * P + 100, RW, 1, fd);
    expect(mmap.incore(ours)).toEqual(oracle.incore(theirs));
    expect(mmap.incore(ours)).toEqual([0, 4]);
  });

  it('an unaligned view: EINVAL, as in mmap-io', () => {
    const ours = mmap.map(2 * P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1);
    const theirs = oracle.map(2 * P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1);
    expectSameSystemError(
      () => mmap.incore(ours.subarray(1)),
      () => oracle.incore(theirs.subarray(1)),
      'EINVAL',
      22,
      'mincore',
      'mincore() failed',
    );
  });

  it('wrong argument count or types', () => {
    const ours = mmap.map(P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1);
    const theirs = oracle.map(P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1);
    const incore = mmap.incore as (...a: unknown[]) => unknown;
    expectArgumentError(
      () => incore(),
      () => oracle.incore(),
      'ERR_MISSING_ARGS',
      TypeError,
    );
    expectArgumentError(
      () => incore(ours, 1),
      () => oracle.incore(theirs, 1),
      'ERR_TOO_MANY_ARGS',
      TypeError,
    );
    expectArgumentError(
      () => incore(5),
      () => oracle.incore(5),
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    );
    expectArgumentError(() => incore(Buffer.alloc(P)), undefined, 'ERR_INVALID_ARG_VALUE', TypeError);
  });
});

compare('sync', () => {
  const size = 4 * P;
  const { path, fd } = fileOf('sync.bin', size);
  const ours = mmap.map(size, RW, mmap.MAP_SHARED, fd);
  const theirs = oracle.map(size, RW, 1, fd);

  it('accepts every argument form of mmap-io and returns the same', () => {
    const forms: unknown[][] = [
      [],
      [true],
      [false],
      [true, true],
      [false, true],
      [0, size],
      [0, 0], // length 0 means the whole buffer, as in mmap-io
      [P, P],
      [0, size, true],
      [0, size, false],
      [0, size, true, true],
      [2 * P, P, true, false],
      [null, undefined, true],
    ];
    let round = 0;
    for (const form of forms) {
      round++;
      ours.writeUInt32LE(round, 2 * P + 8);
      const ourResult = (mmap.sync as (...a: unknown[]) => unknown)(ours, ...form);
      const theirResult = returned(() => oracle.sync(theirs, ...form));
      expect([form, ourResult]).toEqual([form, theirResult]);
      expect(readFileSync(path).readUInt32LE(2 * P + 8)).toBe(round); // the same page cache, synced or not
    }
  });

  it('with an offset and no length, syncs to the end of the buffer (a deliberate difference: mmap-io runs past it)', () => {
    ours.writeUInt32LE(0xfeed, 3 * P);
    expect(returned(() => mmap.sync(ours, P))).toBeUndefined();
    expect(returned(() => mmap.sync(ours, 3 * P, undefined, true))).toBeUndefined();
    expect(returned(() => mmap.sync(ours.subarray(2 * P), P, 0, true))).toBeUndefined();
    expect(readFileSync(path).readUInt32LE(3 * P)).toBe(0xfeed);
  });

  it('an unaligned start: EINVAL, as in mmap-io', () => {
    expectSameSystemError(
      () => mmap.sync(ours, 1, 10),
      () => oracle.sync(theirs, 1, 10),
      'EINVAL',
      22,
      'msync',
      'msync() failed',
    );
  });

  it('not a buffer: ERR_INVALID_ARG_TYPE (mmap-io: Error or TypeError)', () => {
    const sync = mmap.sync as (...a: unknown[]) => unknown;
    expectArgumentError(
      () => sync('x'),
      () => oracle.sync('x'),
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    );
    expectArgumentError(
      () => sync(undefined),
      () => oracle.sync(undefined),
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    );
    expectArgumentError(
      () => sync(5, 0, 10),
      () => oracle.sync(5, 0, 10),
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    );
    expectArgumentError(() => sync({}), undefined, 'ERR_INVALID_ARG_TYPE', TypeError);
  });

  it('a non-number offset or length: ERR_INVALID_ARG_TYPE (mmap-io: ToInt32)', () => {
    const sync = mmap.sync as (...a: unknown[]) => unknown;
    expectArgumentError(() => sync(ours, 'x', 10), undefined, 'ERR_INVALID_ARG_TYPE', TypeError);
    expectArgumentError(() => sync(ours, 0, 'x'), undefined, 'ERR_INVALID_ARG_TYPE', TypeError);
  });

  it('a range outside the buffer: ERR_OUT_OF_RANGE (mmap-io msyncs whatever lies there)', () => {
    expectArgumentError(() => mmap.sync(ours, 0, size + 1), undefined, 'ERR_OUT_OF_RANGE', RangeError);
    expectArgumentError(() => mmap.sync(ours, size + P, 1), undefined, 'ERR_OUT_OF_RANGE', RangeError);
    expectArgumentError(() => mmap.sync(ours, -P), undefined, 'ERR_OUT_OF_RANGE', RangeError);
    expectArgumentError(() => mmap.sync(ours, 1.5, 10), undefined, 'ERR_OUT_OF_RANGE', RangeError);
    expectArgumentError(() => mmap.sync(ours.subarray(0, P), 0, 2 * P), undefined, 'ERR_OUT_OF_RANGE', RangeError);
  });

  it('a Buffer that is not a mapping of map(): ERR_INVALID_ARG_VALUE', () => {
    expectArgumentError(() => mmap.sync(Buffer.alloc(P)), undefined, 'ERR_INVALID_ARG_VALUE', TypeError);
    expectArgumentError(() => mmap.sync(theirs), undefined, 'ERR_INVALID_ARG_VALUE', TypeError);
  });
});

describe('unmap (not in mmap-io)', () => {
  it('views keep their length over the file mapped privately: writes reach the file no more; a second unmap does nothing', () => {
    const { path, fd, bytes } = fileOf('unmap.bin', 4 * P);
    const buffer = mmap.map(4 * P, RW, mmap.MAP_SHARED, fd);
    const view = buffer.subarray(P, 2 * P);
    const floats = new Float64Array(buffer.buffer, buffer.byteOffset, 8);
    expect(mappingsOf(path)).toEqual(['rw-s']);
    buffer.write('before unmap', 2 * P); // MAP_SHARED: in the file at once
    expect(readFileSync(path).toString('utf8', 2 * P, 2 * P + 12)).toBe('before unmap');
    expect(mmap.unmap(view)).toBe(true); // any view names the mapping
    expect(buffer.length).toBe(4 * P);
    expect(view.length).toBe(P);
    expect(floats.length).toBe(8);
    // The same addresses now map the file privately (until every view is collected): the file's bytes...
    expect(mappingsOf(path)).toEqual(['rw-p']);
    const onDisk = Buffer.from(bytes);
    onDisk.write('before unmap', 2 * P);
    expect(buffer.equals(onDisk)).toBe(true);
    // ...but nothing written through a view reaches the file any more, nor another mapping of it.
    buffer.write('after unmap', 0);
    view.fill(0xab);
    floats[4] = Math.PI; // bytes 32 to 39
    expect(buffer.toString('utf8', 0, 11)).toBe('after unmap');
    expect(view.every((byte) => byte === 0xab)).toBe(true);
    expect(floats[4]).toBe(Math.PI);
    mmap.sync(mmap.map(P, RW, mmap.MAP_SHARED, fd), true); // no msync of the old views is possible: see below
    expect(readFileSync(path).equals(onDisk)).toBe(true);
    const fresh = mmap.map(4 * P, RW, mmap.MAP_SHARED, fd);
    expect(fresh.equals(onDisk)).toBe(true);
    // A page the old views never wrote still reads the file (MAP_PRIVATE); a written one keeps the private bytes.
    fresh.write('new writer', 3 * P);
    fresh.write('new writer', P);
    expect(buffer.toString('utf8', 3 * P, 3 * P + 10)).toBe('new writer');
    expect(view.every((byte) => byte === 0xab)).toBe(true);
    expect(mmap.unmap(buffer)).toBe(false); // as mmap-io 1.6: already unmapped
    expect(thrown(() => mmap.sync(buffer, true)).code).toBe('ERR_MAPPING_CLOSED');
    mmap.unmap(fresh);
  });

  it('past the budget of kept ranges, unmap detaches every view (length 0) and unmaps the pages, as before', async () => {
    // In a child: the budget counts the whole process's kept ranges, and a synchronous loop never releases them.
    const script = tmp('unmap-budget.mts');
    writeFileSync(
      script,
      `import mmap from ${JSON.stringify(COMPAT)};
import { KEPT_RANGES_BUDGET } from ${JSON.stringify(FACES)};
import { openSync, readFileSync } from 'node:fs';
const path = process.argv[2];
const fd = openSync(path, 'r+');
const lines = () => readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((line) => line.endsWith(path)).length;
const held = [];
for (let i = 0; i < KEPT_RANGES_BUDGET; i++) {
  const buffer = mmap.map(${P}, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd);
  held.push(buffer);
  mmap.unmap(buffer);
}
const keptLines = lines();
const last = mmap.map(${P}, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd);
const floats = new Float64Array(last.buffer, 0, 4);
mmap.unmap(last);
const out = { budget: KEPT_RANGES_BUDGET, keptLines, keptLength: held[0].length, length: last.length, floats: floats.length, read: last[0] ?? null };
last[0] = 77; // a write to a detached Buffer goes nowhere
out.linesAfter = lines();
console.log(JSON.stringify(out));
`,
    );
    const data = tmp('budget.bin');
    writeFileSync(data, Buffer.alloc(P, 3));
    const result = await runFile(script, [data]);
    expect(result.stderr).toBe('');
    expect([result.code, result.signal]).toEqual([0, null]);
    const out = JSON.parse(result.stdout) as Record<string, number | null>;
    expect(out).toEqual({
      budget: expect.any(Number) as number,
      keptLines: out.budget, // each kept range still maps the file (privately), one line each
      keptLength: P,
      length: 0,
      floats: 0,
      read: null,
      linesAfter: out.budget, // the last one's pages went at unmap
    });
    expect(readFileSync(data).every((byte) => byte === 3)).toBe(true);
  });

  it('after unmap, advise, incore and sync throw ERR_MAPPING_CLOSED', () => {
    const buffer = mmap.map(P, RW, mmap.MAP_SHARED | mmap.MAP_ANONYMOUS, -1);
    mmap.unmap(buffer);
    for (const call of [
      () => mmap.advise(buffer, 1),
      () => mmap.incore(buffer),
      () => mmap.sync(buffer),
      () => mmap.sync(buffer, true),
    ])
      expect(thrown(call).code).toBe('ERR_MAPPING_CLOSED');
  });

  it('a DataView of an unmapped mapping: ERR_MAPPING_CLOSED (it stays attached, the mapping is marked unmapped)', () => {
    const buffer = mmap.map(P, RW, mmap.MAP_SHARED | mmap.MAP_ANONYMOUS, -1);
    const view = new DataView(buffer.buffer, buffer.byteOffset, 16);
    mmap.unmap(buffer);
    expect(view.byteLength).toBe(16);
    for (const call of [() => mmap.advise(view, 1), () => mmap.incore(view), () => mmap.sync(view)])
      expect(thrown(call).code).toBe('ERR_MAPPING_CLOSED');
    expect(mmap.unmap(view)).toBe(false);
  });

  it('a SharedArrayBuffer, or a view of one, is no mapping of map(): ERR_INVALID_ARG_VALUE', () => {
    const shared = new SharedArrayBuffer(P);
    for (const bytes of [shared, new Uint8Array(shared), new DataView(shared)])
      for (const call of [
        () => mmap.advise(bytes, 1),
        () => mmap.incore(bytes),
        () => mmap.sync(bytes),
        () => mmap.unmap(bytes),
      ])
        expect(thrown(call).code).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('not a buffer: ERR_INVALID_ARG_TYPE; a Buffer that is not a mapping of map(): ERR_INVALID_ARG_VALUE', () => {
    expectArgumentError(() => mmap.unmap('x' as unknown as Buffer), undefined, 'ERR_INVALID_ARG_TYPE', TypeError);
    expectArgumentError(() => mmap.unmap(Buffer.alloc(10)), undefined, 'ERR_INVALID_ARG_VALUE', TypeError);
    if (!haveOracle) return;
    const theirs = oracle.map(P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1);
    expectArgumentError(() => mmap.unmap(theirs), undefined, 'ERR_INVALID_ARG_VALUE', TypeError);
    expect(theirs.length).toBe(P);
  });
});

describe('crash probes (child processes)', () => {
  it('touching a buffer after unmap does not crash: the child exits 0, nothing reaches the file, the pages go once collected', async () => {
    const data = tmp('probe.bin');
    writeFileSync(data, Buffer.alloc(4 * P, 3));
    const script = tmp('after-unmap.mts');
    writeFileSync(
      script,
      `import mmap from ${JSON.stringify(COMPAT)};
import { openSync, readFileSync, writeSync } from 'node:fs';
import { gzip, gunzipSync } from 'node:zlib';
const path = process.argv[2];
const lines = () => readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((line) => line.endsWith(path)).length;
const fd = openSync(path, 'r+');
let buffer = mmap.map(4 * ${P}, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd);
let slice = buffer.subarray(${P});
let view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
let ints = new Int32Array(buffer.buffer, 0, 16);
buffer[0] = 1;
mmap.unmap(buffer);
// Page 3 is never written here: a MAP_PRIVATE page follows the file until written.
writeSync(openSync(path, 'r+'), Buffer.from('from the file'), 0, 13, 3 * ${P});
const followed = buffer.toString('latin1', 3 * ${P}, 3 * ${P} + 13);
let caught = [];
const attempts = [
  () => (buffer[10] = 1), () => (slice[10] = 1), () => (ints[3] = 7), () => buffer.fill(9, 0, 3 * ${P}), () => buffer.write('abc'),
  () => view.setInt32(4, 1, true), () => view.getInt32(0), () => buffer.readInt32LE(0), () => buffer.toString(),
  () => mmap.sync(buffer, true), () => mmap.advise(slice, 1), () => mmap.incore(buffer), () => mmap.unmap(slice),
];
for (const [index, attempt] of attempts.entries()) {
  try { attempt(); } catch (error) { caught.push(index + ':' + error.code); }
}
const report = {
  caught, followed, lengths: [buffer.length, slice.length, ints.length], reads: [buffer[10], slice[0], ints[3], view.getInt32(4, true)],
  // zlib still compresses it (one call, several passes over 16 KiB): the bytes the buffer holds now
  zipped: gunzipSync(await new Promise((done, fail) => gzip(buffer, (error, out) => (error ? fail(error) : done(out))))).equals(buffer),
  linesKept: lines(),
};
buffer = slice = view = ints = undefined;
for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((done) => setImmediate(done)); }
report.linesCollected = lines();
console.log(JSON.stringify(report));
`,
    );
    const result = await runFile(script, [data], { nodeArgs: ['--expose-gc'] });
    expect(result.stderr).toBe('');
    expect([result.code, result.signal]).toEqual([0, null]);
    const report = JSON.parse(result.stdout) as {
      caught: string[];
      followed: string;
      lengths: number[];
      reads: number[];
      zipped: boolean;
      linesKept: number;
      linesCollected: number;
    };
    expect(report.lengths).toEqual([4 * P, 3 * P, 16]);
    expect(report.reads).toEqual([9, 9, 0x09090909, 1]); // every write after unmap stayed in the buffer
    // Only the calls that need the mapping refuse; unmap of a view of it says false.
    expect(report.caught).toEqual(['9:ERR_MAPPING_CLOSED', '10:ERR_MAPPING_CLOSED', '11:ERR_MAPPING_CLOSED']);
    expect(report.followed).toBe('from the file');
    expect(report.zipped).toBe(true);
    expect(report.linesKept).toBe(1); // mapped (privately) while a view lives...
    expect(report.linesCollected).toBe(0); // ...and unmapped once every view is collected
    // The file holds the write made before unmap and the other writer's, and none of the 9s, 'abc', 7 or 1 after.
    const expected = Buffer.alloc(4 * P, 3);
    expected[0] = 1;
    expected.write('from the file', 3 * P, 'latin1');
    expect(readFileSync(data).equals(expected)).toBe(true);
  });

  it('a write into a PROT_READ mapping: mmap-io dies of SIGSEGV, memmap does not (a deliberate difference)', async () => {
    const data = tmp('readonly-probe.bin');
    writeFileSync(data, Buffer.alloc(P, 3));
    const script = tmp('readonly-write.mts');
    writeFileSync(
      script,
      `import { createRequire } from 'node:module';
import { openSync } from 'node:fs';
const which = process.argv[3];
const mmap = which === 'memmap' ? (await import(${JSON.stringify(COMPAT)})).default
  : createRequire(${JSON.stringify(MMAP_IO_ORACLE_FROM)})('@riaskov/mmap-io');
const buffer = mmap.map(${P}, mmap.PROT_READ, mmap.MAP_SHARED, openSync(process.argv[2], 'r'));
buffer[0] = 42;
console.log(buffer[0]);
`,
    );
    const ours = await runFile(script, [data, 'memmap']);
    expect([ours.code, ours.signal, ours.stdout.trim()]).toEqual([0, null, '42']);
    if (!haveOracle) return;
    const theirs = await runFile(script, [data, 'mmap-io']);
    expect(theirs.code === 0 && theirs.signal === null).toBe(false);
    expect(readFileSync(data)[0]).toBe(3);
  });
});
