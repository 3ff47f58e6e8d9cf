/**
 * The API of mmap-io 1.4 (`@riaskov/mmap-io` 1.4.3, whose `map()` returns a Buffer) over memmap's addon: a program
 * written for it switches with one import line (`import mmap from 'memmap/mmap-io'`). The default export's
 * documentation, which also reaches the published `.d.ts`, says what matches, what code written for mmap-io 1.5+
 * needs, and every deliberate difference.
 */
import { fstatSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { constants as osConstants } from 'node:os';
import { types } from 'node:util';
import {
  fromNative,
  invalidArgType,
  invalidArgValue,
  memmapError,
  outOfRange,
  systemError,
  validateInteger,
  type StackStart,
  type SystemError,
} from '../errors.js';
import {
  arrayBufferByteLength,
  dataViewBuffer,
  dataViewByteLength,
  dataViewByteOffset,
  typedArrayBuffer,
  typedArrayByteLength,
  typedArrayByteOffset,
} from '../intrinsics.js';
import { guardFace, keepPublicFace } from '../mapping-faces.js';
import { native, PAGE_SIZE } from '../native.js';

const C = native.constants;
const INT32_MAX = 0x7fffffff;
const { EINVAL } = osConstants.errno;

/** Protection flags of `map` (mmap-io's type): PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC and their unions. */
export type MapProtectionFlags = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;
/** Flags of `map` (mmap-io's type): MAP_SHARED or MAP_PRIVATE, optionally | MAP_POPULATE, MAP_NONBLOCK, ... */
export type MapFlags = number;
/** Advice of `map` and `advise` (mmap-io's type names the MADV_NORMAL ... MADV_DONTNEED values). */
export type MapAdvise = number;
/**
 * What `advise`, `incore`, `sync` and `unmap` take: a Buffer `map` returned, any view of one, or its ArrayBuffer
 * (mmap-io 1.4 takes a Buffer; 1.6 also the SharedArrayBuffer its `map` returns).
 */
export type MappedBytes = Buffer | ArrayBufferView | ArrayBufferLike;

/**
 * What `map` returns: a Buffer over the mapped pages whose `valueOf()` is the mapping's ArrayBuffer, so that
 * `Buffer.from(buffer)` (how mmap-io 1.5+ code wraps its mapping) is a view of the same pages.
 */
export type MappedBuffer = Buffer & {
  /** The mapping's ArrayBuffer (what `Buffer.from` wraps). */
  valueOf(): ArrayBuffer;
};
/** A file descriptor, as fs.openSync returns. */
export type FileDescriptor = number;

/** The largest Buffer Node can make, so the largest `size` of `map`. */
const MAX_SIZE: number = bufferConstants.MAX_LENGTH;

/** The only `flags` bits `map` passes on: none of them can make an access fault (see the module's notes). */
const ALLOWED_FLAGS =
  C.MAP_SHARED | C.MAP_PRIVATE | C.MAP_ANONYMOUS | C.MAP_NORESERVE | C.MAP_POPULATE | C.MAP_NONBLOCK;

/** Advice that cannot damage memory JavaScript still uses: madvise(2) flags of the same names. */
const SAFE_ADVICE: ReadonlySet<number> = new Set([
  C.MADV_NORMAL,
  C.MADV_RANDOM,
  C.MADV_SEQUENTIAL,
  C.MADV_WILLNEED,
  C.MADV_DONTNEED,
  C.MADV_REMOVE,
  C.MADV_DONTFORK,
  C.MADV_DOFORK,
  C.MADV_HUGEPAGE,
  C.MADV_NOHUGEPAGE,
  C.MADV_FREE,
]);

/**
 * Every mapping this module made, keyed by its one ArrayBuffer (every Buffer handed out or sliced from it is a
 * view over that ArrayBuffer). A WeakMap: a mapping the program drops is unmapped by the ArrayBuffer's
 * finalizer, as in mmap-io, and leaves no entry behind.
 */
const mappings = new WeakMap<ArrayBuffer, MappingState>();

/** A mapping of this module: unmapped yet, and its guarded face (mapping-faces.ts), which `unmap` detaches. */
interface MappingState {
  unmapped: boolean;
  guarded: ArrayBuffer | undefined;
  /** Bytes of anonymous memory (0 for a file's pages): what keeping the retired range holds. */
  anonymousBytes: number;
}

/**
 * A system error in Node's shape whose message also carries mmap-io's own text (`mmap failed, 22`), so that
 * code matching mmap-io's messages keeps working.
 */
function compatSystemError(error: unknown, legacy: string, stackStart: StackStart): Error {
  const converted = fromNative(error) as Partial<SystemError> & Error;
  if (typeof converted.errno !== 'number') return converted;
  converted.message = `${converted.message} [mmap-io: ${legacy}, ${Math.abs(converted.errno)}]`;
  Error.captureStackTrace(converted, stackStart);
  return converted;
}

/** The kernel's EINVAL, for values mmap(2) would reject but the addon asserts never to receive. */
function kernelEinval(syscall: string, legacy: string, stackStart: StackStart): Error {
  return compatSystemError(Object.assign(new Error(), { errno: EINVAL, syscall }), legacy, stackStart);
}

/** Runs a native call, turning its failure into a Node-style error that keeps mmap-io's message. */
function call<T>(legacy: string, stackStart: StackStart, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw compatSystemError(error, legacy, stackStart);
  }
}

function optionalInteger(value: unknown, name: string, max: number): number {
  return value === undefined || value === null ? 0 : validateInteger(value, name, 0, max);
}

function validateRawAdvice(value: unknown, name: string): number {
  const advice = validateInteger(value, name, 0, INT32_MAX);
  if (!SAFE_ADVICE.has(advice))
    throw invalidArgValue(
      name,
      value,
      `must be one of the MADV_ constants of this module (${[...SAFE_ADVICE].sort((a, b) => a - b).join(', ')}): other advice can crash the process`,
    );
  return advice;
}

/** A view over a live mapping of this module, and where it starts inside the mapping. */
interface MappedView {
  mapping: ArrayBuffer;
  start: number;
  length: number;
}

/**
 * The mapping of this module under `buffer` (a view of it, or its ArrayBuffer) and its state, found through the
 * engine's record of the view, never through what the object says about itself. Throws for anything else.
 */
function mappingOf(buffer: unknown, fn: string): { mapping: ArrayBuffer; state: MappingState } {
  let mapping: ArrayBufferLike;
  if (types.isTypedArray(buffer)) mapping = typedArrayBuffer(buffer);
  else if (types.isDataView(buffer)) mapping = dataViewBuffer(buffer);
  else if (types.isAnyArrayBuffer(buffer)) mapping = buffer;
  else throw invalidArgType('buffer', 'an instance of Buffer, TypedArray, DataView or ArrayBuffer', buffer);
  if (types.isArrayBuffer(mapping)) {
    const state = mappings.get(mapping);
    if (state !== undefined) return { mapping, state };
  }
  throw invalidArgValue(
    'buffer',
    buffer,
    `must be a Buffer returned by map() (or a view of one) to be passed to ${fn}()`,
  );
}

/**
 * Where `buffer` lies in a live mapping of this module: from the engine's own record of the view (its real
 * ArrayBuffer, offset and length), never from what the object says about itself, since memory safety depends on it.
 */
function mappedView(buffer: unknown, fn: string): MappedView {
  const { mapping, state } = mappingOf(buffer, fn);
  // A length of 0 with a mapping never 0 long: detached, by unmap() or by a transfer elsewhere (structuredClone).
  // Checked before the view's offset is read: a DataView's getters throw once its buffer is detached.
  if (state.unmapped || arrayBufferByteLength(mapping) === 0)
    throw memmapError('ERR_MAPPING_CLOSED', `${fn}(): the buffer's mapping was unmapped; map the file again`);
  if (types.isTypedArray(buffer))
    return { mapping, start: typedArrayByteOffset(buffer), length: typedArrayByteLength(buffer) };
  if (types.isDataView(buffer))
    return { mapping, start: dataViewByteOffset(buffer), length: dataViewByteLength(buffer) };
  return { mapping, start: 0, length: arrayBufferByteLength(mapping) };
}

/** Checks `offset` and `length` against a view of `total` bytes. */
function validateRange(offset: unknown, length: unknown, total: number): { offset: number; length: number } {
  const start = validateInteger(offset, 'offset', 0, total);
  return { offset: start, length: validateInteger(length, 'length', 0, total - start) };
}

function tooManyArgs(fn: string, expected: string): Error {
  return memmapError('ERR_TOO_MANY_ARGS', `${fn}() takes ${expected} arguments`, { kind: 'TypeError' });
}

function missingArgs(...names: string[]): Error {
  const list = names.map((name) => `"${name}"`).join(' and ');
  return memmapError('ERR_MISSING_ARGS', `The ${list} argument${names.length > 1 ? 's' : ''} must be specified`, {
    kind: 'TypeError',
  });
}

/**
 * mmap(2): maps `size` bytes of `fd` from `offset` (a multiple of PAGESIZE) and returns a Buffer over them (no
 * copy). `advise` (non-zero) is applied to the whole mapping with madvise(2). The mapping lives until `unmap`
 * or until the Buffer and every view of it are garbage collected.
 */
export function map(
  size: number,
  protection: number,
  flags: MapFlags,
  fd: FileDescriptor,
  offset?: number,
  advise?: MapAdvise | null,
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- mmap-io's signature: its Windows emulation's name
  name?: Buffer,
): MappedBuffer {
  const length = validateInteger(size, 'size', 0, MAX_SIZE);
  let prot = validateInteger(protection, 'protection', 0, INT32_MAX);
  let mapFlags = validateInteger(flags, 'flags', 0, INT32_MAX);
  const descriptor = validateInteger(fd, 'fd', -0x80000000, INT32_MAX);
  const fileOffset = optionalInteger(offset, 'offset', Number.MAX_SAFE_INTEGER);
  const advice = advise === undefined || advise === null || advise === 0 ? 0 : validateRawAdvice(advise, 'advise');

  if ((prot & (C.PROT_READ | C.PROT_WRITE | C.PROT_EXEC)) === 0)
    throw invalidArgValue(
      'protection',
      protection,
      'must include PROT_READ or PROT_WRITE: any access to a PROT_NONE mapping crashes the process',
    );
  const unknownFlags = mapFlags & ~ALLOWED_FLAGS;
  if (unknownFlags !== 0)
    throw invalidArgValue(
      'flags',
      flags,
      `may only combine MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE and MAP_NONBLOCK (0x${unknownFlags.toString(16)} is not one of them): MAP_FIXED and MAP_FIXED_NOREPLACE could only replace memory in use (there is no address argument), MAP_HUGETLB raises SIGBUS when no huge page is free`,
    );
  const sharedAnonymous = C.MAP_SHARED | C.MAP_ANONYMOUS;
  if ((mapFlags & (sharedAnonymous | C.MAP_NORESERVE)) === (sharedAnonymous | C.MAP_NORESERVE))
    throw invalidArgValue(
      'flags',
      flags,
      'must not combine MAP_NORESERVE with MAP_SHARED | MAP_ANONYMOUS: such memory raises SIGBUS when it runs out',
    );
  // The kernel's own rules, checked here because the addon asserts them (mmap-io lets mmap(2) say EINVAL).
  if (length === 0) throw kernelEinval('mmap', 'mmap failed', map);
  if (fileOffset % PAGE_SIZE !== 0) throw kernelEinval('mmap', 'mmap failed', map);

  if ((prot & C.PROT_WRITE) === 0 && (mapFlags & (C.MAP_SHARED | C.MAP_PRIVATE)) !== 0) {
    // Read-only: a private writable map reads the same pages, and a stray write cannot fault.
    prot |= C.PROT_READ | C.PROT_WRITE;
    mapFlags = (mapFlags & ~(C.MAP_SHARED | C.MAP_PRIVATE)) | C.MAP_PRIVATE;
  }
  if ((mapFlags & C.MAP_ANONYMOUS) === 0 && descriptor >= 0) {
    let fileSize: number | undefined;
    try {
      const stat = fstatSync(descriptor);
      if (stat.isFile()) fileSize = stat.size;
    } catch (error) {
      const { errno, syscall } = error as { errno?: number; syscall?: string };
      if (typeof errno !== 'number') throw error;
      throw compatSystemError(systemError(errno, syscall ?? 'fstat'), 'mmap failed', map);
    }
    // The last page the file touches may be mapped whole (its tail past the end reads as zeros); pages wholly
    // past the end raise SIGBUS when touched.
    const mappableEnd = Math.ceil((fileSize ?? 0) / PAGE_SIZE) * PAGE_SIZE;
    if (fileSize !== undefined && fileOffset + length > mappableEnd)
      throw outOfRange(
        'size',
        `<= ${Math.max(0, mappableEnd - fileOffset)} (to the end of the last page the file's ${fileSize} bytes touch, past offset ${fileOffset}): whole pages past the end of a file raise SIGBUS`,
        size,
      );
  }

  const mapping = call('mmap failed', map, () => native.mmap(length, prot, mapFlags, descriptor, fileOffset));
  if (advice !== 0) {
    try {
      native.madvise(mapping, 0, length, advice);
    } catch (error) {
      const failure = compatSystemError(error, 'madvise() failed', map);
      try {
        native.retire(mapping, undefined, false); // mmap-io leaks the mapping here
      } catch {
        // munmap of a mapping just made cannot fail in practice; the madvise error is the one to report
      }
      throw failure;
    }
  }
  let guarded: ArrayBuffer | undefined;
  try {
    guarded = guardFace(mapping);
  } catch (error) {
    native.retire(mapping, undefined, false);
    throw compatSystemError(error, 'mmap failed', map);
  }
  mappings.set(mapping, {
    unmapped: false,
    guarded,
    anonymousBytes: mapFlags & C.MAP_ANONYMOUS ? length : 0,
  });
  const buffer = Buffer.from(mapping, 0, length);
  // Buffer.from(value) uses value.valueOf() when it is another object: so Buffer.from(buffer), the way mmap-io 1.5+
  // code wraps what map() returns, gives a view of these pages instead of a copy that writes would never leave.
  Object.defineProperty(buffer, 'valueOf', {
    value: () => mapping,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return buffer as MappedBuffer;
}

/**
 * madvise(2) on the whole buffer, or on `length` bytes from `offset` (relative to the buffer; the start must
 * fall on a page boundary, as the kernel requires).
 */
export function advise(buffer: MappedBytes, advise: MapAdvise): void;
export function advise(buffer: MappedBytes, offset: number, length: number, advise: MapAdvise): void;
export function advise(buffer: MappedBytes, ...rest: number[]): void {
  if (rest.length === 0) throw missingArgs('advise');
  if (rest.length === 2) throw missingArgs('advise');
  if (rest.length > 3) throw tooManyArgs('advise', '2 or 4');
  const view = mappedView(buffer, 'advise');
  let range = { offset: 0, length: view.length };
  let advice: number;
  if (rest.length === 1) {
    advice = validateRawAdvice(rest[0], 'advise');
  } else {
    range = validateRange(rest[0], rest[1], view.length);
    advice = validateRawAdvice(rest[2], 'advise');
  }
  call('madvise() failed', advise, () => native.madvise(view.mapping, view.start + range.offset, range.length, advice));
}

/** mincore(2): how many pages of the buffer are not resident and how many are, as `[notResident, resident]`. */
export function incore(buffer: MappedBytes): [number, number] {
  if (arguments.length === 0) throw missingArgs('buffer');
  if (arguments.length > 1) throw tooManyArgs('incore', '1');
  const view = mappedView(buffer, 'incore');
  const pages = Math.ceil(view.length / PAGE_SIZE);
  if (pages === 0) return [0, 0];
  const vector = call('mincore() failed', incore, () => native.mincore(view.mapping, view.start, view.length));
  let resident = 0;
  for (const page of vector) resident += page & 1; // one byte per page: as many as `pages`
  return [pages - resident, resident];
}

/**
 * msync(2). `blocking` (default false, as in mmap-io) waits for the write-back (MS_SYNC) instead of scheduling it
 * (MS_ASYNC); `invalidate` adds MS_INVALIDATE. `offset` and `length` are relative to the buffer; a `length` of 0
 * or none means to its end, and the start must fall on a page boundary.
 */
export function sync(
  buffer: MappedBytes,
  offset?: number,
  length?: number,
  blocking?: boolean,
  invalidate?: boolean,
): void;
export function sync(buffer: MappedBytes, blocking: boolean, invalidate?: boolean): void;
export function sync(buffer: MappedBytes, a?: number | boolean, b?: number | boolean, c?: boolean, d?: boolean): void {
  const view = mappedView(buffer, 'sync');
  let range: { offset: number; length: number };
  let blocking: boolean;
  let invalidate: boolean;
  // mmap-io's own argument juggling, kept exactly: `||` makes 0, null, NaN and false mean "the default".
  if (typeof a === 'boolean') {
    range = { offset: 0, length: view.length };
    blocking = a;
    invalidate = Boolean(b);
  } else {
    const offset = validateInteger(a || 0, 'offset', 0, view.length);
    // mmap-io defaults the length to buffer.length even with an offset, reaching past the buffer; here it is the rest.
    range = { offset, length: validateInteger(b || view.length - offset, 'length', 0, view.length - offset) };
    blocking = Boolean(c);
    invalidate = Boolean(d);
  }
  const flags = (blocking ? C.MS_SYNC : C.MS_ASYNC) | (invalidate ? C.MS_INVALIDATE : 0);
  call('msync() failed', sync, () => native.msync(view.mapping, view.start + range.offset, range.length, flags));
}

/**
 * Unmaps the mapping `buffer` is a view of (also given as its ArrayBuffer): every layout view over it throws from
 * now on, and the buffer keeps its length but shows the file's bytes privately (a write no longer reaches the file;
 * native code still reading it, zlib, crypto, fs, finishes correctly); the pages are unmapped when the last view is
 * collected. Returns true, or
 * false when the mapping was already unmapped (as mmap-io 1.6's `unmap`; mmap-io 1.4 has none).
 */
export function unmap(buffer: MappedBytes): boolean {
  const { mapping, state } = mappingOf(buffer, 'unmap');
  if (state.unmapped) return false;
  state.unmapped = true;
  call('munmap() failed', unmap, () => native.retire(mapping, state.guarded, keepPublicFace(state.anonymousBytes)));
  return true;
}

/** Pages may be read. */
export const PROT_READ = C.PROT_READ as 1;
/** Pages may be written. */
export const PROT_WRITE = C.PROT_WRITE as 2;
/** Pages may be executed. */
export const PROT_EXEC = C.PROT_EXEC as 4;
/** No access: refused by `map`, since any access to such a mapping would crash the process. */
export const PROT_NONE = C.PROT_NONE as 0;
/** Writes reach the file and every process mapping it. */
export const MAP_SHARED = C.MAP_SHARED as 1;
/** Copy-on-write: writes stay in this process. */
export const MAP_PRIVATE = C.MAP_PRIVATE as 2;
/** With MAP_POPULATE: do not block on reading the pages in. */
export const MAP_NONBLOCK = C.MAP_NONBLOCK as 65536;
/** Prefault the pages at map time. */
export const MAP_POPULATE = C.MAP_POPULATE as 32768;
/** Memory backed by no file (pass fd -1). Not in mmap-io. */
export const MAP_ANONYMOUS: number = C.MAP_ANONYMOUS;
/** Reserve no swap space for the mapping. Not in mmap-io. */
export const MAP_NORESERVE: number = C.MAP_NORESERVE;
/** No special treatment. */
export const MADV_NORMAL = C.MADV_NORMAL as 0;
/** Expect random access: less read-ahead. */
export const MADV_RANDOM = C.MADV_RANDOM as 1;
/** Expect sequential access: more read-ahead. */
export const MADV_SEQUENTIAL = C.MADV_SEQUENTIAL as 2;
/** Expect access soon: start reading the pages in. */
export const MADV_WILLNEED = C.MADV_WILLNEED as 3;
/** Do not expect access soon: the kernel may drop the pages (a file mapping reads them again from the file). */
export const MADV_DONTNEED = C.MADV_DONTNEED as 4;
/** Free the range and its backing store (shmem/tmpfs and some filesystems). Not in mmap-io. */
export const MADV_REMOVE: number = C.MADV_REMOVE;
/** Do not make the range available to a forked child. Not in mmap-io. */
export const MADV_DONTFORK: number = C.MADV_DONTFORK;
/** Undo MADV_DONTFORK. Not in mmap-io. */
export const MADV_DOFORK: number = C.MADV_DOFORK;
/** Use transparent huge pages for the range. Not in mmap-io. */
export const MADV_HUGEPAGE: number = C.MADV_HUGEPAGE;
/** Do not use transparent huge pages for the range. Not in mmap-io. */
export const MADV_NOHUGEPAGE: number = C.MADV_NOHUGEPAGE;
/** The kernel may free the (private anonymous) pages lazily. Not in mmap-io. */
export const MADV_FREE: number = C.MADV_FREE;
/** The page size of this machine: `offset` of `map` is a multiple of it. */
export const PAGESIZE: number = PAGE_SIZE;
/** What `offset` of `map` must be a multiple of (mmap-io 1.6's name): PAGESIZE on Linux. */
export const ALLOCATIONGRANULARITY: number = PAGE_SIZE;

/**
 * The API of mmap-io 1.4 (`@riaskov/mmap-io` 1.4.3, whose `map()` returns a Buffer) over memmap's addon, so that a
 * program written for it switches with one import line (this object is the module, as mmap-io exports it):
 *
 * ```ts
 * import mmap from 'memmap/mmap-io';          // was: import mmap from '@riaskov/mmap-io'
 * const mmap = require('memmap/mmap-io');     // was: const mmap = require('mmap-io')
 * ```
 *
 * Same functions, argument orders, defaults, return values and constants: `map(size, protection, flags, fd
 * [, offset = 0 [, advise = 0]])` returns a Buffer over the pages; `advise(buffer, advice)` and `advise(buffer,
 * offset, length, advice)`; `incore(buffer)` returns `[pages not resident, pages resident]`; `sync(buffer)`,
 * `sync(buffer, blocking [, invalidate])` and `sync(buffer, offset = 0, length = buffer.length [, blocking = false
 * [, invalidate = false]])` (mmap-io's default is MS_ASYNC, and a length of 0 means the whole buffer, as there);
 * the PROT_, MAP_ and MADV_ constants and `PAGESIZE`. Each failing system call still fails with the same errno, and
 * its message still contains mmap-io's text (`mmap failed, 22`).
 *
 * **Code written for mmap-io 1.5 and later**, where `map()` returns a SharedArrayBuffer wrapped with
 * `Buffer.from(mapping)`, works unchanged: `Buffer.from(buffer)` of a Buffer that `map()` returned is a view of
 * the same pages (not a copy), and `advise`, `incore`, `sync` and `unmap` also take the mapping's ArrayBuffer
 * (`buffer.buffer`). What cannot work the same: a typed-array constructor (`new Uint32Array(mapping)`) copies a
 * Buffer, so write `new Uint32Array(mapping.buffer, mapping.byteOffset, mapping.length / 4)`; and a Buffer is not
 * shared with workers by `postMessage` (it is copied), so share a file between threads by mapping it in each.
 *
 * **Where this module deliberately differs from mmap-io 1.4** (each difference has a test in test/compat):
 *
 * - *Node-shaped errors.* A failed system call throws an Error with `code` ('EINVAL'), `errno` (-22) and
 *   `syscall` ('mmap'), like `fs`; mmap-io puts only the errno number in the message. Argument errors are
 *   TypeError ERR_INVALID_ARG_TYPE / RangeError ERR_OUT_OF_RANGE / TypeError ERR_INVALID_ARG_VALUE /
 *   TypeError ERR_MISSING_ARGS instead of a plain Error (still `instanceof Error`). Too many arguments to `advise`
 *   or `incore` (mmap-io refuses them) is TypeError ERR_TOO_MANY_ARGS.
 * - *Exact sizes and offsets.* mmap-io converts each with ToInt32, so an offset of 4 GiB silently maps offset 0
 *   and a size of 3 GiB fails; here they are exact up to Node's largest Buffer (sizes) and 2^53 - 1 (offsets).
 *   Non-integers and negative values are ERR_OUT_OF_RANGE, not truncated.
 * - *No leak on a failed advice.* An madvise failure in `map` unmaps the fresh mapping before throwing.
 * - *`unmap(buffer)`* (mmap-io 1.6 has it; 1.4 can only wait for the garbage collector) detaches the mapping's
 *   ArrayBuffer, so the buffer and every view of it have length 0 (a stale view reads nothing and writes nowhere
 *   instead of touching freed memory), then munmaps. It returns true, or false when the mapping was already
 *   unmapped.
 * - *`Buffer.from(buffer)` is a view*, not a copy, of a Buffer `map()` returned (so that 1.5+ code works, see
 *   above). To copy the bytes, use `Buffer.copyBytesFrom(buffer)` or `Buffer.from(buffer.subarray())`.
 * - *Nothing here can crash the process:*
 *   - A mapping without PROT_WRITE is made MAP_PRIVATE with PROT_READ | PROT_WRITE. A JavaScript Buffer cannot be
 *     read-only, and in mmap-io one stray write into a PROT_READ mapping is a SIGSEGV. Here it changes only this
 *     process's copy of that page, never the file; pages not written keep following the file (Linux).
 *   - PROT_NONE (no access bit at all) is ERR_INVALID_ARG_VALUE.
 *   - `flags` may hold only MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE and MAP_NONBLOCK;
 *     any other bit is ERR_INVALID_ARG_VALUE: MAP_FIXED and MAP_FIXED_NOREPLACE (there is no address argument,
 *     so they can only clobber memory or map address 0), MAP_HUGETLB (SIGBUS on the first touch when no huge page
 *     is free), MAP_GROWSDOWN and the rest. MAP_NORESERVE with MAP_SHARED | MAP_ANONYMOUS is refused too (shared
 *     memory without reserved space raises SIGBUS when memory runs out).
 *   - A file mapping may reach to the end of the last page the file touches (`Math.ceil(size / PAGESIZE) *
 *     PAGESIZE`), not past it: whole pages past the end of a file raise SIGBUS when touched
 *     (ERR_OUT_OF_RANGE). A file that another program shrinks later does not crash either: the access past its
 *     new end gets zero-filled memory, also when the descriptor given to `map` was closed right after the call.
 *   - `advise`, `incore` and `sync` take only a Buffer (or any view, or the ArrayBuffer) over a mapping made by
 *     this module's `map`, and check `offset`/`length` against it. The range is taken from the view's real
 *     ArrayBuffer, offset and length as the engine knows them, never from properties that a subclass or the
 *     object itself may redefine. mmap-io does pointer arithmetic with unchecked numbers on any Buffer (an
 *     madvise(MADV_DONTNEED) on the JavaScript heap, or a plain object that aborts in node::Buffer::Data).
 *     Another Buffer is ERR_INVALID_ARG_VALUE; after `unmap` it is ERR_MAPPING_CLOSED.
 *   - Advice values are limited to the known-harmless ones (MADV_NORMAL ... MADV_FREE, the constants exported
 *     here); others, such as MADV_HWPOISON, are ERR_INVALID_ARG_VALUE.
 *   - A program may map at most 65,536 files' windows at once (and needs one file descriptor per mapped file,
 *     kept by memmap until the last mapping of that file goes): past that, `map` throws ENOMEM or EMFILE.
 * - *More constants:* the MADV_ values above, MAP_ANONYMOUS, MAP_NORESERVE and ALLOCATIONGRANULARITY (mmap-io
 *   1.6's name for the offset alignment, PAGESIZE here). The 7th `name` argument of `map` (used by mmap-io only on
 *   Windows) is accepted and ignored, as mmap-io does on Linux.
 * - *`sync(buffer, offset)`* syncs from `offset` to the end of the buffer; mmap-io syncs `buffer.length` bytes
 *   from `offset`, past the end of the buffer (ENOMEM, or a write-back of whatever is mapped there).
 * - *`null` optional arguments* of `map` mean their default (mmap-io converts null to 0 too). Other types are
 *   ERR_INVALID_ARG_TYPE where mmap-io would convert them with ToInt32.
 */
const mmap = Object.freeze({
  map,
  advise,
  incore,
  sync,
  unmap,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  PROT_NONE,
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_NONBLOCK,
  MAP_POPULATE,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_REMOVE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_FREE,
  PAGESIZE,
  ALLOCATIONGRANULARITY,
});

/** The type of the default export. */
export type MmapIo = typeof mmap;

export default mmap;
