/**
 * The file-system side of memmap, in one place: open a regular file (never blocking on a FIFO), read its size,
 * reserve space for it, truncate it, read and write it exactly, and build a new file beside an old one and move it
 * into place. MappedFile, RecordFile, the CLI and the mmap-io compat entry all go through these functions, so a
 * full disk, a directory or a FIFO get the same coded error wherever they are met.
 *
 * The rule for file syscalls: every one made on a file memmap opens, creates, reserves, truncates, reads, writes,
 * syncs or renames (a record file, a mapped file, an export's output, their temporary files) is made here, through
 * `node:fs`, so every failure carries a code and the path; the addon (native/) makes only what `node:fs` lacks
 * (posix_fallocate, flock) and the syscalls on memory (mmap and its family). Outside this module, by design:
 * - writes to the process's own stdout and stderr (cli.ts, records/exit-commit.ts): no file of memmap's;
 * - `fs.watch` of a directory (records/follow.ts, waiting for a file to be created): it opens no file;
 * - reading kernel state (/proc/locks in records/follow.ts, /proc/<tid>/stat in shared/mutex.ts) and memmap's own
 *   package.json (cli.ts `--version`);
 * - the addon's flock(2) for the writer's lock (records/writer-lock.ts).
 * - compat/mmap-io.ts fstat()s the descriptor its caller passes (a descriptor memmap did not open).
 *
 * Every error is Node-shaped (`code`, `errno`, `syscall`, `path`; see errors.ts), and every function that fails
 * leaves the file as it found it, unless its doc says otherwise.
 */
import {
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  linkSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  rmSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { fromNative, memmapError, systemError } from './errors.js';
import { native } from './native.js';

const { ENOENT, EISDIR, EOPNOTSUPP, EACCES, EPERM, EROFS, EWOULDBLOCK } = osConstants.errno;

/** How `openFile` opens: 'read' (O_RDONLY), 'write' (O_RDWR) or 'create' (O_RDWR | O_CREAT). */
export type OpenAccess = 'read' | 'write' | 'create';

/** Turns an error thrown by `node:fs` into memmap's shape, naming `path` (fs's own errors for an fd have none). */
function fsError(error: unknown, syscall: string, path: string): Error {
  const { errno, syscall: called } = (error ?? {}) as { errno?: number; syscall?: string };
  if (typeof errno === 'number') return systemError(errno, called ?? syscall, path);
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Throws unless `stats` describe a regular file: EISDIR for a directory (as fs does), ERR_NOT_REGULAR_FILE for a
 * FIFO, socket or device, which cannot be mapped as a file of a known size.
 */
function checkRegular(stats: Stats, path: string): void {
  if (stats.isFile()) return;
  if (stats.isDirectory()) throw systemError(EISDIR, 'open', path);
  const kind = stats.isFIFO()
    ? 'a FIFO'
    : stats.isSocket()
      ? 'a socket'
      : stats.isCharacterDevice()
        ? 'a character device'
        : stats.isBlockDevice()
          ? 'a block device'
          : 'not a regular file';
  throw memmapError('ERR_NOT_REGULAR_FILE', `'${path}' is ${kind}: memmap maps regular files only`, { path });
}

/**
 * Opens the regular file at `path` and returns its descriptor. O_NONBLOCK makes opening a FIFO return at once
 * (without it, open(2) of a FIFO waits for a writer for ever); the type is then checked with fstat(2), and anything
 * but a regular file is closed again and refused (see `checkRegular`). O_NONBLOCK has no effect on regular files.
 * `fileMode` is the permission of a file 'create' makes (before the umask).
 */
export function openFile(path: string, access: OpenAccess, fileMode = 0o644): number {
  const { O_RDONLY, O_RDWR, O_CREAT, O_NONBLOCK, O_CLOEXEC } = fsConstants as typeof fsConstants & {
    O_CLOEXEC?: number;
  };
  const flags =
    (access === 'read' ? O_RDONLY : access === 'write' ? O_RDWR : O_RDWR | O_CREAT) | O_NONBLOCK | (O_CLOEXEC ?? 0);
  let fd: number;
  try {
    fd = openSync(path, flags, fileMode);
  } catch (error) {
    throw fsError(error, 'open', path);
  }
  try {
    checkRegular(fstatSync(fd), path);
  } catch (error) {
    closeSync(fd);
    throw error instanceof Error && 'code' in error ? error : fsError(error, 'fstat', path);
  }
  return fd;
}

/** Throws unless `fd` is open on a regular file (see `openFile`): for a descriptor opened elsewhere. */
export function checkRegularFile(fd: number, path: string): void {
  let stats: Stats;
  try {
    stats = fstatSync(fd);
  } catch (error) {
    throw fsError(error, 'fstat', path);
  }
  checkRegular(stats, path);
}

/** close(2) of a descriptor `openFile` or `createFile` returned (the caller owns it and closes it once). */
export function closeFile(fd: number): void {
  closeSync(fd);
}

/** The file's size in bytes (fstat(2)). */
export function fileSize(fd: number, path: string): number {
  try {
    return fstatSync(fd).size;
  } catch (error) {
    throw fsError(error, 'fstat', path);
  }
}

/** The file's identity (device and inode, fstat(2)): two descriptors with equal identities name the same file. */
export function fileIdentity(fd: number, path: string): { dev: number; ino: number } {
  try {
    const { dev, ino } = fstatSync(fd);
    return { dev, ino };
  } catch (error) {
    throw fsError(error, 'fstat', path);
  }
}

/** The device and inode numbers of the file open on `fd` as bigints (fstat(2)), as /proc/locks names files. */
export function deviceAndInode(fd: number, path: string): { dev: bigint; ino: bigint } {
  try {
    const { dev, ino } = fstatSync(fd, { bigint: true });
    return { dev, ino };
  } catch (error) {
    throw fsError(error, 'fstat', path);
  }
}

/**
 * The identity of the file `path` names now (stat(2), symbolic links followed), or undefined when nothing is there
 * or it cannot be looked at: to check that a name still leads to a file held open.
 */
export function pathIdentity(path: string): { dev: number; ino: number } | undefined {
  try {
    const { dev, ino } = statSync(path);
    return { dev, ino };
  } catch {
    return undefined;
  }
}

/** Sets the file's size (ftruncate(2)): shrinking drops the bytes past `size`, growing adds a sparse hole. */
export function truncateFile(fd: number, size: number, path: string): void {
  try {
    ftruncateSync(fd, size);
  } catch (error) {
    throw fsError(error, 'ftruncate', path);
  }
}

let warnedNotReserved = false;

/** Says once per process that a file could not have its blocks reserved, and what that means. */
function warnNotReserved(path: string): void {
  if (warnedNotReserved) return;
  warnedNotReserved = true;
  process.emitWarning(
    `the filesystem of '${path}' cannot reserve blocks (posix_fallocate: EOPNOTSUPP), so memmap made the file ` +
      'sparse: if the filesystem fills up, touching a page with no block yet makes the file `faulted` ' +
      '(ERR_MAPPING_FAULTED) instead of failing this call with ENOSPC. Said once per process.',
    { code: 'MEMMAP_NOT_RESERVED' },
  );
}

/**
 * Grows the file open on `fd` from `from` to `to` bytes (`to` < `from` truncates; equal does nothing). Unless
 * `sparse`, the new blocks are reserved with posix_fallocate(3), so a full disk (ENOSPC) or RLIMIT_FSIZE (EFBIG)
 * fails here, never later as a SIGBUS on the first touch of a page; on such a failure the file is given back its
 * size `from` (glibc's emulation for filesystems without fallocate may stop half way) and the error is thrown.
 * Only a filesystem that cannot reserve blocks at all (EOPNOTSUPP) gets a sparse file, with a warning
 * (MEMMAP_NOT_RESERVED, once per process).
 */
export function reserveSpace(fd: number, from: number, to: number, options: { sparse: boolean; path: string }): void {
  const { sparse, path } = options;
  if (to <= from) {
    if (to < from) truncateFile(fd, to, path);
    return;
  }
  if (!sparse) {
    try {
      native.fallocate(fd, from, to - from);
      return;
    } catch (error) {
      if ((error as { errno?: number }).errno === EOPNOTSUPP) warnNotReserved(path);
      else {
        if (fileSize(fd, path) !== from) truncateFile(fd, from, path);
        throw fromNative(error, path);
      }
    }
  }
  truncateFile(fd, to, path);
}

/**
 * Reads up to `length` bytes at `position`, repeating short reads: returns exactly `length` bytes, or fewer only
 * when the file ends first.
 */
export function readAt(fd: number, position: number, length: number, path: string): Buffer {
  const bytes = Buffer.alloc(length);
  let done = 0;
  try {
    while (done < length) {
      const n = readSync(fd, bytes, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
  } catch (error) {
    throw fsError(error, 'read', path);
  }
  return done === length ? bytes : bytes.subarray(0, done);
}

/** Writes all of `bytes` at `position`, repeating short writes. */
export function writeAt(fd: number, bytes: Uint8Array, position: number, path: string): void {
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  } catch (error) {
    throw fsError(error, 'write', path);
  }
}

/** fdatasync(2): the file's data (and the size, if it changed) are on the device when this returns. */
export function syncData(fd: number, path: string): void {
  try {
    fdatasyncSync(fd);
  } catch (error) {
    throw fsError(error, 'fdatasync', path);
  }
}

/** As `syncData`, on the libuv thread pool. */
export function syncDataAsync(fd: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fdatasync(fd, (error) => {
      if (error) reject(fsError(error, 'fdatasync', path));
      else resolve();
    });
  });
}

/** Writes all of `bytes` at the file's current offset (as write(2) without a position), repeating short writes. */
export function writeAll(fd: number, bytes: Uint8Array, path: string): void {
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
  } catch (error) {
    throw fsError(error, 'write', path);
  }
}

/**
 * An output file written whole under a temporary name beside `path` (`.<name>.<pid>.<ms>.partial`, a new file) and
 * given its name by `finishOutput` only once complete, or removed by `abandonOutput`: a failed or interrupted write
 * never leaves a half file under the name. For outputs whose size is not known up front (exports); `createFile`
 * builds files of a known size.
 */
export interface OutputFile {
  /** Open write-only on the temporary file. */
  fd: number;
  /** The temporary file's path. */
  temporary: string;
  /** The name it is given. */
  path: string;
}

/** Starts an output file for `path` (see `OutputFile`). */
export function startOutput(path: string, fileMode = 0o644): OutputFile {
  const temporary = join(dirname(path), `.${basename(path)}.${String(process.pid)}.${String(Date.now())}.partial`);
  try {
    return { fd: openSync(temporary, 'wx', fileMode), temporary, path };
  } catch (error) {
    throw fsError(error, 'open', path);
  }
}

/** Closes the output file and renames it to its path (replacing what was there). */
export function finishOutput(output: OutputFile): void {
  try {
    closeSync(output.fd);
    output.fd = -1;
    renameSync(output.temporary, output.path);
  } catch (error) {
    const syscall = output.fd === -1 ? 'rename' : 'close';
    abandonOutput(output);
    throw fsError(error, syscall, output.path);
  }
}

/** Closes (if still open) and removes the output file's temporary file; never throws. */
export function abandonOutput(output: OutputFile): void {
  try {
    if (output.fd >= 0) closeSync(output.fd);
  } catch {
    // already closed
  }
  output.fd = -1;
  rmSync(output.temporary, { force: true });
}

/** Options of `createFile`. */
export interface CreateOptions {
  /** The new file's size in bytes (>= 0); its blocks are reserved unless `sparse`. */
  size: number;
  /** Permission bits of a new file (before the umask; default 0o644). A file that is replaced keeps its own. */
  fileMode?: number;
  /** Keep the file sparse instead of reserving its blocks (see `reserveSpace`). Default false. */
  sparse?: boolean;
  /**
   * 'replace' (default): an existing file at `path` is replaced, atomically, once the new file is complete.
   * 'exclusive': the new file takes the name only if nothing has it; else EEXIST, and the existing file is
   * untouched (link(2), which never replaces).
   */
  existing?: 'replace' | 'exclusive';
  /** Writes the new file's first contents (a header) before it takes its name; `fd` is open read-write. */
  fill?: (fd: number) => void;
  /**
   * Keep the flock(LOCK_EX) that the builder holds on the new file while it has a temporary name (default false:
   * released once the file has its name). RecordFile keeps it: it is the writer's lock.
   */
  keepLock?: boolean;
}

/**
 * Builds a new regular file at `path` of `options.size` bytes the safe way: under a temporary name in the same
 * directory (`.<name>.memmap-<pid>-<random>`, locked with flock while it has that name), with its space reserved
 * and `fill` written, and only then moved to `path` (rename(2), or link(2) for 'exclusive'). So a half-made file
 * never carries the real name (a crash leaves at most a temporary file, which the next creation of the same path
 * removes: see `removeAbandoned`), and an existing file keeps its size and contents until the
 * new one is complete: a full disk, RLIMIT_FSIZE or a failing `fill` leave it untouched. A symbolic link at `path`
 * is followed: the file it names is replaced, the link stays. Returns the new file's descriptor, open read-write.
 *
 * What differs from opening with O_TRUNC: the new file is a new inode. A process that has the old file open or
 * mapped keeps the old contents; hard links to the old file keep naming it; a replaced file's owner becomes this
 * process's user (its permission bits are kept).
 *
 * Where the directory is not writable (EACCES, EPERM, EROFS on the temporary file) and `existing` is 'replace', the
 * existing file is emptied in place (O_TRUNC) as a last resort, and then a full disk does leave it empty.
 */
export function createFile(path: string, options: CreateOptions): number {
  const { size, fileMode = 0o644, sparse = false, existing = 'replace', fill } = options;
  const target = resolveTarget(path);
  let existingMode: number | undefined;
  if (target.stats !== undefined) {
    checkRegular(target.stats, path);
    if (existing === 'exclusive') throw systemError(osConstants.errno.EEXIST, 'open', path);
    existingMode = target.stats.mode & 0o7777;
  }
  if (target.dangling === true) {
    if (existing === 'exclusive') throw systemError(osConstants.errno.EEXIST, 'open', path);
    return createInPlace(path, size, fileMode, sparse, fill);
  }
  removeAbandoned(target.path);
  let built: { fd: number; temporary: string } | undefined;
  for (let attempt = 0; built === undefined; attempt++) {
    if (attempt === TEMPORARY_ATTEMPTS) throw systemError(osConstants.errno.EEXIST, 'open', path);
    try {
      built = startTemporary(target.path, fileMode);
    } catch (error) {
      const errno = Math.abs((error as { errno?: number }).errno ?? 0);
      if (existing === 'replace' && (errno === EACCES || errno === EPERM || errno === EROFS))
        return createInPlace(path, size, fileMode, sparse, fill);
      throw fsError(error, 'open', path);
    }
  }
  const { fd, temporary } = built;
  // An object, not a let: TypeScript would take the catch below to see it still false.
  const state = { named: false };
  try {
    if (existingMode !== undefined) fchmodSync(fd, existingMode);
    reserveSpace(fd, 0, size, { sparse, path });
    fill?.(fd);
    try {
      if (existing === 'exclusive') {
        linkSync(temporary, target.path);
        state.named = true;
        unlinkSync(temporary);
      } else {
        renameSync(temporary, target.path);
        state.named = true;
      }
    } catch (error) {
      throw fsError(error, existing === 'exclusive' ? 'link' : 'rename', path);
    }
    // The temporary name is gone: the lock that kept cleaners off it has done its work.
    if (options.keepLock !== true) unlock(fd);
    return fd;
  } catch (error) {
    closeSync(fd);
    if (!state.named) {
      try {
        unlinkSync(temporary);
      } catch {
        // already gone: nothing to clean
      }
    }
    throw error;
  }
}

/** `path` itself, or the file a symbolic link there names, and its stats (undefined when nothing is there). */
function resolveTarget(path: string): { path: string; stats: Stats | undefined; dangling?: boolean } {
  let link: Stats;
  try {
    link = lstatSync(path);
  } catch (error) {
    if (Math.abs((error as { errno?: number }).errno ?? 0) === ENOENT) return { path, stats: undefined };
    throw fsError(error, 'lstat', path);
  }
  if (!link.isSymbolicLink()) return { path, stats: link };
  try {
    const real = realpathSync(path);
    return { path: real, stats: statSync(real) };
  } catch (error) {
    // A dangling link names a file that does not exist yet: `dangling` makes createFile create it in place, through
    // the link, as open(O_CREAT) would, instead of replacing the link itself.
    if (Math.abs((error as { errno?: number }).errno ?? 0) === ENOENT)
      return { path, stats: undefined, dangling: true };
    throw fsError(error, 'stat', path);
  }
}

/** The last resort of `createFile` where no temporary file can be made beside the target: O_TRUNC in place. */
function createInPlace(
  path: string,
  size: number,
  fileMode: number,
  sparse: boolean,
  fill: CreateOptions['fill'],
): number {
  const fd = openFile(path, 'create', fileMode);
  try {
    truncateFile(fd, 0, path);
    reserveSpace(fd, 0, size, { sparse, path });
    fill?.(fd);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Temporary files and the creators that are gone. A creator holds flock(LOCK_EX) on its temporary file from right
 * after creating it until the name is gone (renamed or linked to its path, then unlinked), so a temporary file
 * whose lock can be taken has no live creator building it, with one exception: a creator between its open(2) and
 * its flock(2). That creator finds its lock taken, or its name gone, and abandons the name for a new one
 * (`startTemporary`); so removing such a file never breaks a live creation. The lock is the kernel's: it is released
 * when its holder dies (kill -9 included), works across containers on one kernel and on NFS (Linux emulates flock
 * there with POSIX locks), and pid reuse cannot fool it.
 */
const TEMPORARY_ATTEMPTS = 8;

/** The temporary names of `target`: `.<name>.memmap-<pid>-<12 hex digits>`, beside it. */
function temporaryPrefix(target: string): string {
  return `.${basename(target)}.memmap-`;
}
const TEMPORARY_SUFFIX = /^[0-9]+-[0-9a-f]{12}$/;

/**
 * Creates a new temporary file for `target` and takes its lock. Undefined when the lock was taken from under it
 * (a cleaner holds it, and removes the file) or the name is gone: the caller tries a new name.
 */
function startTemporary(target: string, fileMode: number): { fd: number; temporary: string } | undefined {
  const name = `${temporaryPrefix(target)}${String(process.pid)}-${randomBytes(6).toString('hex')}`;
  const temporary = join(dirname(target), name);
  const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = fsConstants;
  const fd = openSync(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, fileMode);
  try {
    native.flock(fd, native.constants.LOCK_EX | native.constants.LOCK_NB);
  } catch (error) {
    // A filesystem without flock: build unlocked (no cleaner can lock it either, so none removes it).
    if (Math.abs((error as { errno?: number }).errno ?? 0) !== EWOULDBLOCK) return { fd, temporary };
    closeSync(fd); // a cleaner took the lock between our open and flock: it removes the file
    return undefined;
  }
  if (namesDescriptor(temporary, fd)) return { fd, temporary };
  closeSync(fd); // a cleaner removed the name before we locked it
  return undefined;
}

/** flock(LOCK_UN), where the filesystem has flock. */
function unlock(fd: number): void {
  try {
    native.flock(fd, native.constants.LOCK_UN);
  } catch {
    // no flock here: nothing was locked
  }
}

/** Whether `path` (not followed) names the file open on `fd`. */
function namesDescriptor(path: string, fd: number): boolean {
  try {
    const named = lstatSync(path);
    const held = fstatSync(fd);
    return named.ino === held.ino && named.dev === held.dev;
  } catch {
    return false;
  }
}

/**
 * Removes the temporary files of `target` whose creators are gone (see above): best effort, silent (a file it
 * cannot open, lock or remove is left for a later creation).
 */
function removeAbandoned(target: string): void {
  const directory = dirname(target);
  const prefix = temporaryPrefix(target);
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return;
  }
  const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = fsConstants;
  for (const name of names) {
    if (!name.startsWith(prefix) || !TEMPORARY_SUFFIX.test(name.slice(prefix.length))) continue;
    const temporary = join(directory, name);
    let fd: number;
    try {
      fd = openSync(temporary, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
    } catch {
      continue; // a symbolic link (O_NOFOLLOW), gone, or not ours to read
    }
    try {
      if (!fstatSync(fd).isFile()) continue;
      native.flock(fd, native.constants.LOCK_EX | native.constants.LOCK_NB); // throws while its creator lives
      // Still the file we locked under that name: remove the name (a linked file keeps its other name).
      if (namesDescriptor(temporary, fd)) unlinkSync(temporary);
    } catch {
      // locked by a live creator, or already gone
    } finally {
      closeSync(fd);
    }
  }
}
