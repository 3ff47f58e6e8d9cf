/**
 * A new record file is built whole under a temporary name beside its path (blocks reserved, header written, data
 * on the device, writer's lock taken) and only then given its name: file-io.ts `createFile`, with link(2) when the
 * name must be new and rename(2) when it replaces a file. So a file under a record file's name is either a whole
 * record file or not memmap's, and nothing that is not memmap's is ever started again.
 */
import { createFile, syncData, writeAt } from '../file-io.js';
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
 * Builds the file and links it at `path` only if nothing is there. Returns its descriptor, open read-write and
 * locked (flock LOCK_EX) before it had the name, or undefined when another file has the name (the caller opens it).
 */
export function createNew(path: string, creation: Creation): number | undefined {
  try {
    return build(path, creation, 'exclusive');
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return undefined;
    throw error;
  }
}

/** Builds the file and renames it over `path` (which the caller has checked, and locked, if it exists). */
export function createReplacing(path: string, creation: Creation): number {
  return build(path, creation, 'replace');
}

function build(path: string, creation: Creation, existing: 'exclusive' | 'replace'): number {
  return createFile(path, {
    size: creation.size,
    fileMode: creation.fileMode,
    sparse: creation.sparse,
    existing,
    fill: (fd) => {
      new WriterLock(fd, path).take(); // nobody else can know the temporary name: never refused
      writeAt(fd, creation.header, 0, path);
      // On the device before it has the name: after a power loss the name leads to a whole header or to nothing.
      syncData(fd, path);
    },
  });
}
