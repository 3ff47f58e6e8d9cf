/**
 * How RecordFile.open gets its one descriptor: opened without ever blocking and checked to be a regular file
 * (file-io.ts `openFile`), locked for a writer, checked to still be the file the path names (flock locks the
 * file, and another writer may have renamed a new one over the name meanwhile), and, when the mode says so, built
 * anew beside the path and moved into place (creation.ts). Nothing here reads or writes a record; nothing here
 * changes a file that exists, except replacing a whole empty file, or any file opened with 'w+'.
 */
import { closeFile, fileIdentity, fileSize, openFile, pathIdentity } from '../file-io.js';
import { MappedFile } from '../mapped-file.js';
import { createNew, createReplacing, sameFile, type Creation } from './creation.js';
import { changedError } from './errors.js';
import { encodeHeader, FLAG_BIG_ENDIAN, type Header } from './format.js';
import { checkHeader, readHeader } from './header-io.js';
import { isBigEndian, schemaText } from './layout-adapter.js';
import type { OpenRequest } from './options.js';
import { WriterLock } from './writer-lock.js';

/** A record file opened, locked (a writer), its header read and checked, and mapped. */
export interface OpenedRecordFile {
  fd: number;
  lock: WriterLock | undefined;
  file: MappedFile;
  header: Header;
}

/** Unmaps and closes what `openRecordFile` opened (which releases the lock). */
export function closeOpened(opened: OpenedRecordFile): void {
  try {
    opened.file.close();
  } finally {
    closeFile(opened.fd);
  }
}

/**
 * Opens (or creates) the record file `request` names, checks its header against the layout (a mismatch or damage
 * throws with nothing written) and maps the very descriptor it opened and locked: the file is opened once. A shared
 * writer's lock is released again (it is taken around each withLock()).
 */
export function openRecordFile(request: OpenRequest): OpenedRecordFile {
  const { path, codec, mode, shared, sparse, lockTimeoutMs, fileMode, initialCapacity } = request;
  const schema = schemaText(codec);
  const flags = isBigEndian(codec) ? FLAG_BIG_ENDIAN : 0;
  const who = mode === 'r' ? 'reader' : 'writer';
  // Encoded before anything is opened: a layout whose header cannot be written is refused with no file touched.
  const header = encodeHeader({
    recordSize: codec.size,
    recordAlign: codec.align,
    capacity: initialCapacity,
    flags,
    schema,
  });
  const creation = (): Creation => ({ header, size: header.length + initialCapacity * codec.size, sparse, fileMode });
  const { fd, lock, size } = openRecordFd(path, mode, { shared, lockTimeoutMs, creation });
  let file: MappedFile | undefined;
  try {
    const decoded = readHeader(fd, size, path, who);
    checkHeader(decoded, { recordSize: codec.size, schema, flags }, path, who);
    file = MappedFile.fromDescriptor(fd, path, { mode: mode === 'r' ? 'r' : 'r+', sparse, ownsFd: false });
    if (lock !== undefined && shared) lock.release();
    return { fd, lock, file, header: decoded };
  } catch (error) {
    file?.close();
    closeFile(fd);
    throw error;
  }
}

/** The modes of RecordFile.open. */
export type OpeningMode = 'r' | 'r+' | 'w+' | 'a+';

/** An open record file's descriptor, before its header is read. */
export interface Opened {
  fd: number;
  /** The file's size as opened (for a writer: once it held the lock). */
  size: number;
  /** The writer's lock on `fd`; held for a writer (a shared writer releases it after opening). */
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
      fd = openFile(path, 'write');
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT' || mode === 'r+') throw error;
      const created = createNew(path, options.creation());
      if (created === undefined) continue; // another process named its file first: open that one
      return { fd: created, size: fileSize(created, path), lock: new WriterLock(created, path), created: true };
    }
    try {
      const lock = new WriterLock(fd, path);
      // Lock before reading anything: a writer that is refused has not looked at, let alone changed, the file.
      if (options.shared) lock.takeWithin(options.lockTimeoutMs);
      else lock.take();
      if (!namesFile(path, fd)) {
        closeFile(fd);
        continue;
      }
      const size = fileSize(fd, path); // after the lock: a writer that held it may have grown the file
      // An empty file holds nothing to lose; 'w+' asks to replace. Either is built beside and renamed over it.
      if (mode === 'w+' || (mode === 'a+' && size === 0)) {
        const created = createReplacing(path, options.creation(), fd);
        if (sameFile(created, fd, path)) {
          // Built in place (the directory is not writable): keep the descriptor that holds the lock.
          closeFile(created);
          return { fd, size: fileSize(fd, path), lock, created: true };
        }
        closeFile(fd);
        return { fd: created, size: fileSize(created, path), lock: new WriterLock(created, path), created: true };
      }
      return { fd, size, lock, created: false };
    } catch (error) {
      try {
        closeFile(fd);
      } catch {
        // closed above, before a retry that then failed
      }
      throw error;
    }
  }
  throw changedError(path);
}

/**
 * Opens a regular file read-only without ever blocking: EISDIR for a directory, ERR_NOT_REGULAR_FILE for a FIFO,
 * socket or device (all with `path`). For RecordFile's mode 'r' and `memmap inspect`.
 */
export function openForReading(path: string): { fd: number; size: number } {
  const fd = openFile(path, 'read');
  try {
    return { fd, size: fileSize(fd, path) };
  } catch (error) {
    closeFile(fd);
    throw error;
  }
}

/** Whether `path` still names the file open on `fd`. */
function namesFile(path: string, fd: number): boolean {
  const held = fileIdentity(fd, path);
  const named = pathIdentity(path); // undefined when removed or renamed away: open again
  return named !== undefined && named.ino === held.ino && named.dev === held.dev;
}
