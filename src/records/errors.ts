/**
 * The errors a record file throws, each with a stable code. The code is the API; messages say what to do.
 *
 * | code                           | when                                                                        |
 * |--------------------------------|-----------------------------------------------------------------------------|
 * | ERR_RECORD_FILE_MISMATCH       | magic, version, flags, record size or schema differ from what was asked for |
 * | ERR_RECORD_FILE_CORRUPT        | the header is damaged, or the file is too short for its header or count     |
 * | ERR_RECORD_FILE_LOCKED         | another process is writing the file (flock LOCK_EX is held)                 |
 * | ERR_RECORD_FILE_READ_ONLY      | a write to a file opened with mode 'r'                                      |
 * | ERR_RECORD_FILE_NOT_LOCKED     | a write to a file opened with `shared: true`, outside withLock()            |
 * | ERR_RECORD_FILE_CLOSED         | any use after close()                                                       |
 * | ERR_RECORD_FILE_FULL           | growing past the largest mapping Node can hold                              |
 * | ERR_RECORD_FILE_CHANGED        | the path was given to another file while this one was being opened          |
 */
import { memmapError, type CodedError } from '../errors.js';
import type { HeaderProblem } from './format.js';

/** A rejected header: `field` names what differs, `expected` and `actual` its two values. */
export interface RecordFileError extends CodedError {
  /** The stable code: ERR_RECORD_FILE_MISMATCH, ERR_RECORD_FILE_CORRUPT, ERR_RECORD_FILE_LOCKED, ... (table above). */
  code: string;
  /** The record file's path. */
  path?: string;
  /** The header field that differs or is damaged: 'magic', 'version', 'flags', 'recordSize', 'schemaHash', 'count', ... */
  field?: string;
  /** What the field should hold. */
  expected?: unknown;
  /** What the file holds. */
  actual?: unknown;
}

/**
 * Who meets a header problem: a `writer` may be told how to start the file again; a `reader` (mode 'r', the CLI)
 * is never advised to erase anything.
 */
export type HeaderReader = 'writer' | 'reader';

/** ERR_RECORD_FILE_MISMATCH or ERR_RECORD_FILE_CORRUPT for a header problem found on open. */
export function headerError(problem: HeaderProblem, path: string, who: HeaderReader = 'writer'): RecordFileError {
  const erase = who === 'writer';
  const unchanged = 'The file was not changed.';
  const advice =
    problem.kind === 'corrupt'
      ? `${unchanged} Restore it from a copy` +
        (erase ? ', or open it with mode "w+" to start it again (this erases it)' : '')
      : problem.field === 'magic'
        ? `${unchanged} Check the path` +
          (erase ? ', or open it with mode "w+" to replace it with an empty record file' : '')
        : problem.field === 'version' || problem.field === 'flags'
          ? `${unchanged} Open it with the version of memmap that wrote it`
          : `${unchanged} Open it with the struct it was written with (\`memmap inspect FILE\` prints it as C)` +
            (erase ? ', or with mode "w+" to erase it' : '');
  const code = problem.kind === 'corrupt' ? 'ERR_RECORD_FILE_CORRUPT' : 'ERR_RECORD_FILE_MISMATCH';
  const what = problem.kind === 'corrupt' ? 'is corrupt' : `does not match (${problem.field})`;
  const error = memmapError(code, `record file '${path}' ${what}: ${problem.message}. ${advice}`, {
    path,
  }) as RecordFileError;
  error.field = problem.field;
  if (problem.expected !== undefined) error.expected = problem.expected;
  if (problem.actual !== undefined) error.actual = problem.actual;
  return error;
}

/** ERR_RECORD_FILE_CHANGED: the path kept naming another file each time this one was opened and locked. */
export function changedError(path: string): RecordFileError {
  return memmapError(
    'ERR_RECORD_FILE_CHANGED',
    `record file '${path}' was replaced by another file while it was being opened, again and again: open it again`,
    { path },
  );
}

/** ERR_RECORD_FILE_LOCKED: another process holds the writer's lock. Carries errno and syscall like fs errors. */
export function lockedError(path: string, errno: number): RecordFileError {
  const error = memmapError(
    'ERR_RECORD_FILE_LOCKED',
    `record file '${path}' is being written by another process (it holds flock LOCK_EX): close it there, open it ` +
      `here with mode 'r' to read it, or open it in every writer with { shared: true } and write inside withLock()`,
    { path },
  ) as RecordFileError & { errno: number; syscall: string };
  error.errno = -Math.abs(errno);
  error.syscall = 'flock';
  return error;
}

/** ERR_RECORD_FILE_READ_ONLY. */
export function readOnlyError(path: string, operation: string): RecordFileError {
  return memmapError(
    'ERR_RECORD_FILE_READ_ONLY',
    `cannot ${operation}: record file '${path}' was opened with mode 'r'; open it with mode 'r+' or 'a+' to write`,
    { path },
  );
}

/** ERR_RECORD_FILE_NOT_LOCKED: a shared writer writes only inside withLock(). */
export function notLockedError(path: string, operation: string): RecordFileError {
  return memmapError(
    'ERR_RECORD_FILE_NOT_LOCKED',
    `cannot ${operation}: record file '${path}' was opened with { shared: true }, so it is written only inside ` +
      `withLock((file) => { ... }), which holds the lock that keeps other writers out`,
    { path },
  );
}

/** ERR_RECORD_FILE_CLOSED. */
export function closedError(path: string): RecordFileError {
  return memmapError('ERR_RECORD_FILE_CLOSED', `record file '${path}' is closed: open it again to use it`, { path });
}
