/**
 * Errors in Node's shape (see Node's lib/internal/errors.js): a stable `code`, and for system errors `errno`,
 * `syscall` and `path`. The code is the stable API; messages may change and say what to do.
 */
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import type { MemmapErrorCode } from './error-codes.js';

/** An error from a failed system call: the same shape as the errors Node's `fs` module throws. */
export interface SystemError extends Error {
  /** The errno name, e.g. 'ENOENT': the stable part to test. */
  code: string;
  /** The negative errno number, as in Node's fs errors. */
  errno: number;
  /** The system call that failed, e.g. 'open', 'mmap', 'msync'. */
  syscall: string;
  /** The file involved, when there is one. */
  path?: string;
}

/** An argument or state error with one of Node's `ERR_*` codes, or one of memmap's own. */
export interface CodedError extends Error {
  /** 'ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_MAPPING_CLOSED', ...: the stable part to test. */
  code: string;
}

/** What to tell the user for common errno values: the hint that follows the kernel's text. */
const HINTS: Record<string, string> = {
  ENOENT: 'check the path, or open with mode "w+" to create the file',
  EACCES: 'check the permissions of the file (or open it read-only with mode "r")',
  EPERM: 'the operation is not permitted for this process (check permissions and resource limits)',
  EISDIR: 'the path names a directory; give the path of a regular file',
  EINVAL: 'an argument was rejected by the kernel (check offsets, sizes and flags)',
  ENOMEM: 'the address space or a memory limit is exhausted (map a smaller window, or raise the limit)',
  ENOSPC: 'the filesystem is full: free space or choose a smaller size',
  EFBIG: 'the file would exceed the size limit (ulimit -f or the filesystem maximum)',
  EAGAIN: 'the resource is busy or a limit was reached: retry later or raise the limit (e.g. ulimit -l for mlock)',
  EWOULDBLOCK: 'another process holds the lock: retry later',
  EEXIST: 'it already exists: open it instead of creating it, or remove it first',
  EIDRM: 'it was removed: create it again',
  EBADF: 'the file descriptor is closed or was opened with the wrong access mode',
  ENODEV: 'this file cannot be memory-mapped (is it a pipe or a special file?)',
  EOPNOTSUPP: 'the filesystem does not support this operation',
};

/** Builds a Node-style system error: `CODE: kernel text, syscall 'path' (what to do)`. */
export function systemError(errno: number, syscall: string, path?: string, description?: string): SystemError {
  const code = errnoName(errno);
  const where = path === undefined ? syscall : `${syscall} '${path}'`;
  const hint = HINTS[code];
  const error = new Error(
    `${code}: ${describeErrno(errno) ?? description ?? 'system error'}, ${where}${hint ? ` (${hint})` : ''}`,
  ) as SystemError;
  error.code = code;
  error.errno = -Math.abs(errno);
  error.syscall = syscall;
  if (path !== undefined) error.path = path;
  Error.captureStackTrace(error, systemError);
  return error;
}

function errnoName(errno: number): string {
  // libuv's table first (the names fs uses); the OS table for the rest (EIDRM and other System V errors).
  const number = Math.abs(errno);
  return getSystemErrorMap().get(-number)?.[0] ?? OS_ERRNO_NAMES.get(number) ?? 'UNKNOWN';
}

const OS_ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, value]) => [value, name]));

/** libuv's text for an errno: the same words Node's fs errors use. */
function describeErrno(errno: number): string | undefined {
  return getSystemErrorMap().get(-Math.abs(errno))?.[1];
}

/** The addon throws `{ errno, syscall }`; this turns such an error into a Node-style one, and rethrows others. */
export function fromNative(error: unknown, path?: string): Error {
  if (error instanceof Error && typeof (error as Partial<SystemError>).errno === 'number') {
    const native = error as SystemError;
    // The addon's message is "<syscall> failed: <strerror text>": the text is kept for errors libuv cannot name.
    const text = /failed: (.*)$/.exec(native.message)?.[1]?.toLowerCase();
    return systemError(native.errno, native.syscall, path, text);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Runs a native call and converts its error to Node's shape, naming `path`. */
export function callNative<T>(path: string | undefined, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw fromNative(error, path);
  }
}

/** As `callNative`, for a call whose error is a result: returns it in Node's shape, or undefined when it succeeded. */
export function tryNative(path: string | undefined, call: () => void): Error | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    return fromNative(error, path);
  }
}

/** A function whose frames (and those of its callees) a captured stack leaves out, as in `Error.captureStackTrace`. */
export type StackStart = (...args: never[]) => unknown;

function coded<E extends Error>(error: E, code: string, stackStart: StackStart): E & CodedError {
  const result = error as E & CodedError;
  result.code = code;
  Object.defineProperty(result, 'name', { value: `${error.name} [${code}]`, configurable: true, writable: true });
  // Node's errors print as `TypeError [ERR_X]: message`; restore the plain name after the stack is built.
  Error.captureStackTrace(result, stackStart);
  // V8 formats the stack when it is first read: read it now, while the name carries the code (as Node does).
  // eslint-disable-next-line @typescript-eslint/no-meaningless-void-operator -- the read is the effect
  void result.stack;
  delete (result as { name?: string }).name;
  return result;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object';
  }
  if (typeof value === 'bigint') return `type bigint (${value}n)`;
  if (typeof value === 'string') {
    const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
    return `type string ('${shown}')`;
  }
  const primitive = value as number | boolean | symbol; // what is left prints as itself
  return `type ${typeof primitive} (${String(primitive)})`;
}

/** ERR_INVALID_ARG_TYPE (TypeError): `The "name" argument must be EXPECTED. Received ...` */
export function invalidArgType(name: string, expected: string, actual: unknown): CodedError {
  return coded(
    new TypeError(`The "${name}" argument must be ${expected}. Received ${describeValue(actual)}`),
    'ERR_INVALID_ARG_TYPE',
    invalidArgType,
  );
}

/** ERR_INVALID_ARG_VALUE (TypeError): the type is right but the value is not one of those allowed. */
export function invalidArgValue(name: string, value: unknown, reason: string): CodedError {
  return coded(
    new TypeError(`The argument '${name}' ${reason}. Received ${describeValue(value)}`),
    'ERR_INVALID_ARG_VALUE',
    invalidArgValue,
  );
}

/** ERR_OUT_OF_RANGE (RangeError): `The value of "name" is out of range. It must be RANGE. Received ...` */
export function outOfRange(name: string, range: string, actual: unknown): CodedError {
  const shown = typeof actual === 'bigint' ? `${actual}n` : String(actual);
  return coded(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown}`),
    'ERR_OUT_OF_RANGE',
    outOfRange,
  );
}

/** A state or domain error with one of memmap's own codes (ERR_MAPPING_CLOSED, ERR_MAPPING_TRUNCATED, ...). */
export function memmapError(
  code: MemmapErrorCode,
  message: string,
  extra: { path?: string; kind?: 'Error' | 'TypeError' | 'RangeError' } = {},
): CodedError & { path?: string } {
  const Kind = extra.kind === 'TypeError' ? TypeError : extra.kind === 'RangeError' ? RangeError : Error;
  const error = coded(new Kind(message), code, memmapError) as CodedError & { path?: string };
  if (extra.path !== undefined) error.path = extra.path;
  return error;
}

/** An AbortError as Node's own APIs make it: code ABORT_ERR, the signal's reason as `cause`. */
export function abortError(signal: AbortSignal): CodedError & { cause?: unknown } {
  const error = memmapError('ABORT_ERR', 'The operation was aborted') as CodedError & { cause?: unknown };
  error.name = 'AbortError';
  error.cause = signal.reason;
  return error;
}

/** Checks that `value` is an integer in [min, max]; throws ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE. */
export function validateInteger(value: unknown, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

/** Checks that `value` is a boolean (or undefined, giving `fallback`). */
export function validateBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

/** Checks that `value` is a plain options object (or undefined). */
export function validateObject<T extends object>(value: unknown, name: string): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidArgType(name, 'of type object', value);
  return value;
}
