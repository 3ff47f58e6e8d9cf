/**
 * How RecordFile.open gets its one descriptor: opened without ever blocking (O_NONBLOCK: a FIFO would block a
 * plain open for ever), checked to be a regular file, locked for a writer, checked to still be the file the path
 * names (flock locks the file, and another writer may have renamed a new one over the name meanwhile), and, when
 * the mode says so, built anew beside the path and renamed into place (creation.ts). Nothing here reads or writes
 * a record; nothing here changes a file that exists, except replacing a whole empty file or one opened with 'w+'.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, statSync, type Stats } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { systemError } from '../errors.js';
import { createNew, createReplacing, type Creation } from './creation.js';
import { changedError, notRegularError } from './errors.js';
import { WriterLock } from './writer-lock.js';

/** The modes of RecordFile.open. */
export type OpeningMode = 'r' | 'r+' | 'w+' | 'a+';

/** An open record file's descriptor, before its header is read. */
export interface Opened {
  fd: number;
  /** The file's size as opened. */
  size: number;
  /** The writer's lock on `fd`; held for a writer (taken even for a shared writer: it releases it after opening). */
  lock: WriterLock | undefined;
  /** The file was built by this call (its header says count 0). */
  created: boolean;
}

/** How many times the path may lead to another file between open and lock before open gives up. */
const ATTEMPTS = 16;

/** Opens `path` as `mode` says; `creation` is asked for only when a file is built. */
export function openRecordFd(
  path: string,
  mode: OpeningMode,
  options: { shared: boolean; lockTimeoutMs: number; creation: () => Creation },
): Opened {
  if (mode === 'r') return { ...openForReading(path), lock: undefined, created: false };
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
    } catch (error) {
      const { code, errno } = error as { code?: string; errno?: number };
      if (code !== 'ENOENT' || mode === 'r+') throw typeof errno === 'number' ? systemError(errno, 'open', path) : error;
      const created = createNew(path, options.creation());
      if (created === undefined) continue; // another process named its file first: open that one
      return { fd: created, size: fstatSync(created).size, lock: new WriterLock(created, path), created: true };
    }
    try {
      regularSize(fd, path);
      const lock = new WriterLock(fd, path);
      // Lock before reading anything: a writer that is refused has not looked at, let alone changed, the file.
      if (options.shared) lock.takeWithin(options.lockTimeoutMs);
      else lock.take();
      const held = fstatSync(fd); // after the lock: a writer that held it may have grown the file
      if (!sameFile(held, path)) {
        closeSync(fd);
        continue;
      }
      // An empty file holds nothing to lose; 'w+' asks to replace. Either is built beside and renamed over it.
      if (mode === 'w+' || (mode === 'a+' && held.size === 0)) {
        const created = createReplacing(path, options.creation());
        closeSync(fd);
        return { fd: created, size: fstatSync(created).size, lock: new WriterLock(created, path), created: true };
      }
      return { fd, size: held.size, lock, created: false };
    } catch (error) {
      try {
        closeSync(fd);
      } catch {
        // closed above, before a retry that then failed
      }
      throw error;
    }
  }
  throw changedError(path);
}

/**
 * Opens a regular file read-only without ever blocking: EISDIR for a directory, ERR_RECORD_FILE_NOT_REGULAR for
 * a FIFO, socket or device (all with `path`). For RecordFile's mode 'r' and `memmap inspect`.
 */
export function openForReading(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    const { errno } = error as { errno?: number };
    throw typeof errno === 'number' ? systemError(errno, 'open', path) : error;
  }
  try {
    return { fd, size: regularSize(fd, path) };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** The size of the regular file open on `fd`; EISDIR for a directory, ERR_RECORD_FILE_NOT_REGULAR for the rest. */
function regularSize(fd: number, path: string): number {
  const stats = fstatSync(fd);
  if (stats.isFile()) return stats.size;
  if (stats.isDirectory()) throw systemError(osConstants.errno.EISDIR, 'open', path);
  const type = stats.isFIFO()
    ? 'FIFO (named pipe)'
    : stats.isSocket()
      ? 'socket'
      : stats.isCharacterDevice()
        ? 'character device'
        : stats.isBlockDevice()
          ? 'block device'
          : 'special file';
  throw notRegularError(path, type);
}

/** Whether `path` still names the file whose stats are `held`. */
function sameFile(held: Stats, path: string): boolean {
  try {
    const named = statSync(path);
    return named.ino === held.ino && named.dev === held.dev;
  } catch {
    return false; // removed or renamed away: open again
  }
}
