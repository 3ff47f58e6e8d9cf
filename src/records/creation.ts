/**
 * A new record file is built whole under a temporary name beside its path (header written, blocks reserved, data
 * on the device) and only then given its name: link(2) when the name must be new, rename(2) when it replaces a
 * file. So a file under a record file's name is either a whole record file or not memmap's, and nothing that is
 * not memmap's is ever started again. A crash while building leaves at most a hidden `.NAME.*.creating` file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, fdatasyncSync, ftruncateSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fromNative, systemError } from '../errors.js';
import { native } from '../native.js';
import { WriterLock } from './writer-lock.js';

/** How a file is built. */
export interface Creation {
  /** The header's bytes, written at offset 0. */
  header: Buffer;
  /** The whole size of the new file. */
  size: number;
  /** ftruncate instead of reserving the blocks. */
  sparse: boolean;
  /** Permission bits. */
  fileMode: number;
}

/**
 * Builds the file and links it at `path` only if nothing is there. Returns its descriptor, opened O_RDWR and
 * locked (flock LOCK_EX) before it has the name, or undefined when another file took the name first (the caller
 * opens that one).
 */
export function createNew(path: string, creation: Creation): number | undefined {
  return build(path, creation, (temporary) => {
    try {
      linkSync(temporary, path);
    } catch (error) {
      if ((error as { code?: string }).code === 'EEXIST') return false;
      throw asSystemError(error, 'link', path);
    }
    unlinkSync(temporary);
    return true;
  });
}

/** Builds the file and renames it over `path` (which the caller has checked, and locked, if it exists). */
export function createReplacing(path: string, creation: Creation): number {
  return build(path, creation, (temporary) => {
    try {
      renameSync(temporary, path);
    } catch (error) {
      throw asSystemError(error, 'rename', path);
    }
    return true;
  })!;
}

function build(path: string, creation: Creation, name: (temporary: string) => boolean): number | undefined {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(6).toString('hex')}.creating`);
  let fd: number;
  try {
    fd = openSync(temporary, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, creation.fileMode);
  } catch (error) {
    throw asSystemError(error, 'open', path);
  }
  let named = false;
  try {
    new WriterLock(fd, path).take(); // nobody else can know the temporary name: never refused
    reserve(fd, creation.size, creation.sparse, path);
    writeAll(fd, creation.header, path);
    // On the device before it has the name: after a power loss the name leads to a whole header or to nothing.
    try {
      fdatasyncSync(fd);
    } catch (error) {
      throw asSystemError(error, 'fdatasync', path);
    }
    named = name(temporary);
    if (named) return fd;
  } catch (error) {
    closeSync(fd);
    removeQuietly(temporary);
    throw error;
  }
  closeSync(fd);
  removeQuietly(temporary);
  return undefined;
}

/**
 * Gives the empty file its size: posix_fallocate reserves the blocks, so a full disk fails here with ENOSPC and
 * never as a fault on first touch. Only a filesystem that cannot reserve (EOPNOTSUPP), or `sparse`, gets ftruncate.
 */
function reserve(fd: number, size: number, sparse: boolean, path: string): void {
  if (!sparse) {
    try {
      native.fallocate(fd, 0, size);
      return;
    } catch (error) {
      if (Math.abs((error as { errno?: number }).errno ?? 0) !== osConstants.errno.EOPNOTSUPP) throw fromNative(error, path);
    }
  }
  try {
    ftruncateSync(fd, size);
  } catch (error) {
    throw asSystemError(error, 'ftruncate', path);
  }
}

function writeAll(fd: number, bytes: Buffer, path: string): void {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done, done);
    } catch (error) {
      throw asSystemError(error, 'write', path);
    }
  }
}

function removeQuietly(temporary: string): void {
  try {
    unlinkSync(temporary);
  } catch {
    // Already gone (renamed, or removed by someone else): nothing to clean.
  }
}

/** An fs error in memmap's shape, naming the record file's path (not the temporary one). */
function asSystemError(error: unknown, syscall: string, path: string): Error {
  const { errno } = error as { errno?: number };
  return typeof errno === 'number' ? systemError(errno, syscall, path) : (error as Error);
}
