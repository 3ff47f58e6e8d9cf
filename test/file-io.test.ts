/**
 * file-io.ts: the one home of memmap's file-system side. Real files, a real FIFO, a real device, real symlinks.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  abandonOutput,
  closeFile,
  createFile,
  deviceAndInode,
  fileIdentity,
  fileSize,
  finishOutput,
  openFile,
  pathIdentity,
  readAt,
  reserveSpace,
  startOutput,
  syncDataAsync,
  writeAll,
  writeAt,
} from '../src/file-io.js';
import { int32, MappedFile, RecordFile, struct } from '../src/index.js';
import { native } from '../src/native.js';
import { SRC_INDEX, startNode } from './helpers/child.js';
import { useTempDir } from './helpers/temp.js';
import { caught as caughtAll } from './helpers/thrown.js';

/** What `call` threw, as code, syscall and path (errno is left out: these tests name the code). */
const caught = (call: () => unknown): Record<string, unknown> => caughtAll(call, ['code', 'syscall', 'path']);

const tmp = useTempDir();

describe('openFile', () => {
  it('refuses a FIFO at once (never waits for a writer), with a code and the path, for every access', () => {
    const fifo = tmp('fifo');
    execFileSync('mkfifo', [fifo]);
    for (const access of ['read', 'write', 'create'] as const)
      expect(caught(() => openFile(fifo, access))).toEqual({
        threw: true,
        code: 'ERR_NOT_REGULAR_FILE',
        syscall: undefined,
        path: fifo,
      });
    // and through the public API, every mode
    for (const mode of ['r', 'r+', 'c', 'w+'] as const)
      expect(caught(() => MappedFile.open(fifo, { mode, size: mode === 'w+' ? 10 : undefined }))).toMatchObject({
        code: 'ERR_NOT_REGULAR_FILE',
        path: fifo,
      });
    expect(lstatSync(fifo).isFIFO()).toBe(true); // 'w+' did not replace it
  });

  it('EISDIR with the path for a directory, ERR_NOT_REGULAR_FILE for a device', () => {
    const dir = tmp('dir');
    mkdirSync(dir);
    expect(caught(() => openFile(dir, 'read'))).toEqual({ threw: true, code: 'EISDIR', syscall: 'open', path: dir });
    expect(caught(() => openFile(dir, 'write'))).toEqual({ threw: true, code: 'EISDIR', syscall: 'open', path: dir });
    expect(caught(() => openFile('/dev/null', 'read'))).toMatchObject({
      code: 'ERR_NOT_REGULAR_FILE',
      path: '/dev/null',
    });
    expect(caught(() => MappedFile.open('/dev/zero', { mode: 'r', length: 4096 }))).toMatchObject({
      code: 'ERR_NOT_REGULAR_FILE',
    });
  });

  it('ENOENT with syscall and path for a missing file', () => {
    expect(caught(() => openFile(tmp('missing'), 'read'))).toEqual({
      threw: true,
      code: 'ENOENT',
      syscall: 'open',
      path: tmp('missing'),
    });
  });
});

describe('createFile', () => {
  it('replaces an existing file only once the new one is complete; it keeps the old permission bits', () => {
    const path = tmp('replace.bin');
    writeFileSync(path, 'old contents');
    chmodSync(path, 0o600);
    const fd = createFile(path, { size: 100, fill: (f) => writeAt(f, Buffer.from('new'), 0, path) });
    closeFile(fd);
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(100);
    expect(bytes.subarray(0, 3).toString()).toBe('new');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(tmp('')).filter((name) => name.includes('.memmap-'))).toEqual([]);
  });

  it('a failing fill leaves the existing file as it was and no temporary file behind', () => {
    const path = tmp('keep.bin');
    writeFileSync(path, 'keep me');
    const failure = new Error('fill failed');
    expect(() =>
      createFile(path, {
        size: 50,
        fill: () => {
          throw failure;
        },
      }),
    ).toThrow(failure);
    expect(readFileSync(path, 'utf8')).toBe('keep me');
    expect(readdirSync(tmp('')).filter((name) => name.includes('.memmap-'))).toEqual([]);
  });

  it("'exclusive' never replaces: EEXIST, the existing file untouched; creates when nothing has the name", () => {
    const path = tmp('exclusive.bin');
    writeFileSync(path, 'first');
    expect(caught(() => createFile(path, { size: 10, existing: 'exclusive' }))).toMatchObject({ code: 'EEXIST', path });
    expect(readFileSync(path, 'utf8')).toBe('first');
    const fresh = tmp('exclusive-new.bin');
    closeFile(createFile(fresh, { size: 10, existing: 'exclusive' }));
    expect(statSync(fresh).size).toBe(10);
    expect(readdirSync(tmp('')).filter((name) => name.includes('.memmap-'))).toEqual([]);
  });

  it('follows a symbolic link: the file it names is replaced, the link stays', () => {
    const real = tmp('real.bin');
    const link = tmp('link.bin');
    writeFileSync(real, 'x');
    symlinkSync(real, link);
    closeFile(createFile(link, { size: 20 }));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(real);
    expect(statSync(real).size).toBe(20);
  });

  it('refuses a directory at the path with EISDIR, leaving it', () => {
    const dir = tmp('a-dir');
    mkdirSync(dir);
    expect(caught(() => createFile(dir, { size: 10 }))).toMatchObject({ code: 'EISDIR', path: dir });
    expect(statSync(dir).isDirectory()).toBe(true);
  });
});

describe('reserveSpace, readAt, writeAt', () => {
  it('reserves blocks (not sparse) unless asked, truncates when shrinking', () => {
    const path = tmp('reserve.bin');
    const fd = openFile(path, 'create');
    try {
      reserveSpace(fd, 0, 1 << 20, { sparse: false, path });
      expect(fileSize(fd, path)).toBe(1 << 20);
      expect(statSync(path).blocks * 512).toBeGreaterThanOrEqual(1 << 20);
      reserveSpace(fd, 1 << 20, 4096, { sparse: false, path });
      expect(fileSize(fd, path)).toBe(4096);
      reserveSpace(fd, 4096, 8 << 20, { sparse: true, path });
      expect(statSync(path).blocks * 512).toBeLessThan(1 << 20);
    } finally {
      closeSync(fd);
    }
  });

  it('readAt returns exactly the bytes asked, or fewer only at the end of the file', () => {
    const path = tmp('read.bin');
    writeFileSync(path, Buffer.from([1, 2, 3, 4, 5]));
    const fd = openFile(path, 'read');
    try {
      expect([...readAt(fd, 1, 3, path)]).toEqual([2, 3, 4]);
      expect([...readAt(fd, 3, 10, path)]).toEqual([4, 5]);
      expect(readAt(fd, 9, 4, path).length).toBe(0);
    } finally {
      closeSync(fd);
    }
    expect(existsSync(path)).toBe(true);
  });
});

describe('the calls that moved here from records, export and the follower', () => {
  it('syncDataAsync, writeAll, deviceAndInode: coded errors that name the path', async () => {
    const path = tmp('moved.bin');
    writeFileSync(path, 'abc');
    const fd = openFile(path, 'read');
    try {
      await syncDataAsync(fd, path); // fdatasync of a read-only descriptor is allowed
      expect(caught(() => writeAll(fd, Buffer.from('x'), path))).toEqual({
        threw: true,
        code: 'EBADF',
        syscall: 'write',
        path,
      });
      const { dev, ino } = deviceAndInode(fd, path);
      expect(ino).toBe(BigInt(statSync(path).ino));
      expect(typeof dev).toBe('bigint');
    } finally {
      closeFile(fd);
    }
    await expect(syncDataAsync(fd, path)).rejects.toMatchObject({ code: 'EBADF', syscall: 'fdatasync', path });
    expect(caught(() => deviceAndInode(fd, path))).toEqual({ threw: true, code: 'EBADF', syscall: 'fstat', path });
  });

  it('pathIdentity: the file a name leads to now, or undefined', () => {
    const path = tmp('identity.bin');
    writeFileSync(path, 'x');
    const fd = openFile(path, 'read');
    try {
      expect(pathIdentity(path)).toEqual(fileIdentity(fd, path));
      expect(pathIdentity(tmp('no-such-file'))).toBeUndefined();
    } finally {
      closeFile(fd);
    }
  });

  it('an output file has its name only once finished; abandoned, it leaves nothing', () => {
    const dir = tmp('outputs');
    mkdirSync(dir);
    const out = join(dir, 'table.csv');
    const output = startOutput(out);
    writeAll(output.fd, Buffer.from('a,b\n'), out);
    expect(existsSync(out)).toBe(false);
    finishOutput(output);
    expect(readFileSync(out, 'utf8')).toBe('a,b\n');
    const second = startOutput(out);
    writeAll(second.fd, Buffer.from('half'), out);
    abandonOutput(second);
    expect(readFileSync(out, 'utf8')).toBe('a,b\n');
    expect(readdirSync(dir)).toEqual(['table.csv']);
    expect(caught(() => startOutput(join(dir, 'missing', 'x.csv')))).toMatchObject({
      threw: true,
      code: 'ENOENT',
      syscall: 'open',
      path: join(dir, 'missing', 'x.csv'),
    });
  });
});

describe('createFile: temporary files of creators that are gone', () => {
  const temporaries = (dir: string, name: string): string[] =>
    readdirSync(dir).filter((entry) => entry.startsWith(`.${name}.memmap-`));

  it('a creator killed with kill -9 mid-creation leaves its temporary file; the next creation removes it, never a live one', async () => {
    const dir = tmp('stale');
    mkdirSync(dir);
    const path = join(dir, 'data.db');
    const script = tmp('stale-creator.mts');
    // The child builds `path` and stops inside `fill` (its temporary file made, its space reserved), for ever.
    writeFileSync(
      script,
      `import { createFile } from ${JSON.stringify(resolve(SRC_INDEX, '../file-io.ts'))};
       createFile(process.argv[2], { size: 8192, fill: () => {
         console.log('building');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
       } });`,
    );
    const first = startNode(script, [path]);
    await first.waitForLine('building');
    const [building] = temporaries(dir, 'data.db');
    expect(building).toMatch(/^\.data\.db\.memmap-\d+-[0-9a-f]{12}$/);

    // A creation while that creator lives: its temporary file is kept (its creator holds the lock on it).
    closeFile(createFile(path, { size: 4096 }));
    expect(temporaries(dir, 'data.db')).toEqual([building]);
    expect(statSync(path).size).toBe(4096);

    first.process.kill('SIGKILL');
    expect((await first.result).signal).toBe('SIGKILL');
    expect(temporaries(dir, 'data.db')).toEqual([building]); // the crash left it

    // A second creator removes the first one's on its way in, and is killed the same way; then a RecordFile
    // creation of the same path removes the second one's.
    const second = startNode(script, [path]);
    await second.waitForLine('building');
    const left = temporaries(dir, 'data.db');
    expect(left).toHaveLength(1);
    expect(left).not.toContain(building);
    second.process.kill('SIGKILL');
    expect((await second.result).signal).toBe('SIGKILL');
    expect(temporaries(dir, 'data.db')).toEqual(left);
    const db = RecordFile.open(path, struct({ a: int32 }), { mode: 'w+' });
    try {
      expect(temporaries(dir, 'data.db')).toEqual([]);
      db.push({ a: 1 });
    } finally {
      db.close();
    }
    const reader = RecordFile.open(path, struct({ a: int32 }), { mode: 'r' });
    expect(reader.toArray()).toEqual([{ a: 1 }]);
    reader.close();
  });

  it('removes only abandoned regular files with the exact temporary name of this path', () => {
    const dir = tmp('stale-kinds');
    mkdirSync(dir);
    const path = join(dir, 'data.db');
    const abandoned = join(dir, '.data.db.memmap-123-0123456789ab');
    const held = join(dir, '.data.db.memmap-124-0123456789ab');
    const otherPath = join(dir, '.other.db.memmap-125-0123456789ab');
    const notOurs = join(dir, '.data.db.memmap-notes.txt');
    const link = join(dir, '.data.db.memmap-126-0123456789ab');
    const linkTarget = join(dir, 'precious');
    const linked = join(dir, '.data.db.memmap-127-0123456789ab');
    for (const file of [abandoned, held, otherPath, notOurs, linkTarget, linked]) writeFileSync(file, 'x');
    symlinkSync(linkTarget, link);
    // A second name of `linked`, as a creator killed between link(2) and unlink(2) leaves: only the temporary name goes.
    linkSync(linked, join(dir, 'kept-name'));
    // A live creator's lock, held here on another open file description.
    const holder = openFile(held, 'write');
    try {
      native.flock(holder, native.constants.LOCK_EX);
      closeFile(createFile(path, { size: 4096 }));
      expect(existsSync(abandoned)).toBe(false);
      expect(existsSync(linked)).toBe(false);
      expect(readFileSync(join(dir, 'kept-name'), 'utf8')).toBe('x');
      expect(existsSync(held)).toBe(true);
      expect(existsSync(otherPath)).toBe(true);
      expect(existsSync(notOurs)).toBe(true);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readFileSync(linkTarget, 'utf8')).toBe('x');
    } finally {
      closeFile(holder);
    }
  });

  it('the new file is left locked only when asked (keepLock, the record writer), never otherwise', () => {
    for (const keepLock of [false, true]) {
      const path = tmp(`unlocked-${String(keepLock)}.bin`);
      const created = createFile(path, { size: 4096, keepLock });
      const other = openFile(path, 'write');
      try {
        const take = () => native.flock(other, native.constants.LOCK_EX | native.constants.LOCK_NB);
        if (keepLock) expect(take).toThrow();
        else expect(take).not.toThrow();
      } finally {
        closeFile(other);
        closeFile(created);
      }
    }
  });
});
