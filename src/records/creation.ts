/**
 * A new record file is built whole under a temporary name beside its path (blocks reserved, header written, data
 * on the device, writer's lock taken) and only then given its name: file-io.ts `createFile`, with link(2) when the
 * name must be new and rename(2) when it replaces a file. So a file under a record file's name is either a whole
 * record file or not memmap's, and nothing that is not memmap's is ever started again.
 */
import { createFile, fileIdentity, syncData, writeAt } from '../file-io.js';
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

/**
 * Builds the file and renames it over `path`, which the caller has open on `held` and locked. Where the directory
 * is not writable, file-io builds it in place, on the very file `held` names: the caller's lock covers it then.
 */
export function createReplacing(path: string, creation: Creation, held: number): number {
  return build(path, creation, 'replace', held);
}

function build(path: string, creation: Creation, existing: 'exclusive' | 'replace', held?: number): number {
  return createFile(path, {
    size: creation.size,
    fileMode: creation.fileMode,
    sparse: creation.sparse,
    existing,
    keepLock: true, // the builder's lock on the new file is the writer's lock
    fill: (fd) => {
      // Nobody else can know a temporary name: never refused there. In place, this process holds the lock on `held`.
      if (held === undefined || !sameFile(fd, held, path)) new WriterLock(fd, path).take();
      writeAt(fd, creation.header, 0, path);
      // On the device before it has the name: after a power loss the name leads to a whole header or to nothing.
      syncData(fd, path);
    },
  });
}

/** Whether two descriptors are open on the same file. */
export function sameFile(a: number, b: number, path: string): boolean {
  const x = fileIdentity(a, path);
  const y = fileIdentity(b, path);
  return x.ino === y.ino && x.dev === y.dev;
}
