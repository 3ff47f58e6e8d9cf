/**
 * Errors of System V calls: Node's system error shape (src/errors.ts, which names every errno, EIDRM included)
 * plus the segment's or set's `key` and `id`, with advice for System V instead of the file hints.
 */
import { memmapError, systemError, type CodedError, type SystemError } from '../errors.js';

/** An error of a System V call: Node's system error shape, plus the segment's (or set's) `key` and `id`. */
export interface SysvError extends SystemError {
  /** The IPC key the call used, when it had one. */
  key?: number;
  /** The segment's or semaphore set's id, when it had one. */
  id?: number;
}

/** What a failed call was about: the path (ftok), the key, the id. */
export interface SysvTarget {
  key?: number;
  id?: number;
  path?: string;
}

/** What to do, per errno, for System V calls (the generic file hints of errors.ts would mislead here). */
const HINTS: Record<string, string> = {
  EEXIST: 'a segment with this key already exists: open it with Segment.open(key), or remove it first',
  ENOENT: 'nothing has this key: create it first (Segment.create(key, size)), or check the key',
  EACCES: 'its mode does not let this user do that: check stat().mode and the owner, or attach with { readOnly: true }',
  EINVAL:
    'the size is out of range (SHMMIN..SHMMAX) or larger than the existing segment with this key, ' +
    'or the id no longer exists',
  EIDRM: 'it was removed: create it again',
  EPERM: 'only its owner, its creator or a privileged process may change or remove it',
  ENOSPC:
    'the system-wide limit of segments (SHMMNI) or of shared memory (SHMALL) is reached: ' +
    'remove unused segments (ipcs -m)',
  ENOMEM: 'not enough memory for the segment or its page tables',
  EFAULT: 'the address is not mapped',
};

function hex(key: number): string {
  return `0x${(key >>> 0).toString(16).padStart(8, '0')}`;
}

/** Turns the addon's `{ errno, syscall }` error into a SysvError naming `target`; rethrows anything else. */
export function sysvError(error: unknown, target: SysvTarget): Error {
  if (!(error instanceof Error) || typeof (error as Partial<SystemError>).errno !== 'number')
    return error instanceof Error ? error : new Error(String(error));
  const raw = error as SystemError;
  const result = systemError(raw.errno, raw.syscall, target.path) as SysvError;
  const where =
    target.path !== undefined
      ? `'${target.path}'`
      : target.key !== undefined
        ? `key ${hex(target.key)}`
        : `id ${target.id}`;
  const hint =
    raw.syscall === 'ftok' && result.code === 'ENOENT'
      ? 'ftok needs an existing file: check the path, or create the file first'
      : HINTS[result.code];
  const text = result.message.slice(result.code.length + 2).split(',')[0];
  result.message = `${result.code}: ${text}, ${raw.syscall} ${where}${hint ? ` (${hint})` : ''}`;
  if (target.key !== undefined) result.key = target.key;
  if (target.id !== undefined) result.id = target.id;
  Error.captureStackTrace(result, sysvError);
  return result;
}

/** Runs one native call; a failure becomes a SysvError naming `target`. */
export function sysvCall<T>(target: SysvTarget, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw sysvError(error, target);
  }
}

/** ERR_SEGMENT_DETACHED: the attachment was detached. */
export function detachedError(id: number): CodedError {
  return memmapError('ERR_SEGMENT_DETACHED', `the attachment of segment ${id} is detached: attach it again to use it`);
}

/** ERR_SEGMENT_TOO_LARGE: one ArrayBuffer of this runtime cannot hold the segment. */
export function segmentTooLargeError(id: number, size: number, limit: number): CodedError {
  return memmapError(
    'ERR_SEGMENT_TOO_LARGE',
    `segment ${id} is ${size} bytes, more than this runtime's largest ArrayBuffer (${limit} bytes): ` +
      'attach it from a runtime with a larger buffer.constants.MAX_LENGTH, or use a smaller segment',
  );
}
