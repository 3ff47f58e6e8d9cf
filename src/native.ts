/**
 * The addon's functions with TypeScript signatures, grouped by the C file that defines them. Loaded through
 * node-gyp-build: a prebuild from prebuilds/ first, then the local build/.
 *
 * The rule for syscalls: the syscalls on memory (mmap and its family, shmat, futex, the signal handlers) live in
 * native/, one C function each, with no policy; the file syscalls that `node:fs` makes well (open, fstat,
 * ftruncate, read, write, fdatasync, rename) go through `node:fs`, from src/file-io.ts only; native/file.c adds
 * just what fs lacks (posix_fallocate, flock). Checks and decisions are in TypeScript; C asserts its contract.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The numeric constants of <sys/mman.h> (native/mapping.c) and <sys/file.h> (native/file.c) on this machine. */
export interface NativeConstants {
  PROT_NONE: number;
  PROT_READ: number;
  PROT_WRITE: number;
  PROT_EXEC: number;
  MAP_SHARED: number;
  MAP_PRIVATE: number;
  MAP_ANONYMOUS: number;
  MAP_FIXED: number;
  MAP_NORESERVE: number;
  MAP_POPULATE: number;
  MAP_NONBLOCK: number;
  MS_ASYNC: number;
  MS_SYNC: number;
  MS_INVALIDATE: number;
  MADV_NORMAL: number;
  MADV_RANDOM: number;
  MADV_SEQUENTIAL: number;
  MADV_WILLNEED: number;
  MADV_DONTNEED: number;
  MADV_REMOVE: number;
  MADV_DONTFORK: number;
  MADV_DOFORK: number;
  MADV_HUGEPAGE: number;
  MADV_NOHUGEPAGE: number;
  MADV_FREE: number;
  LOCK_SH: number;
  LOCK_EX: number;
  LOCK_UN: number;
  LOCK_NB: number;
}

/**
 * The addon. Failures throw an Error with numeric `errno` and `syscall` (see errors.ts `fromNative`).
 *
 * native/mapping.c: a mapping is one external ArrayBuffer, type-tagged by the addon; the functions that take a
 * `mapping` accept only such an ArrayBuffer (C asserts the tag) and take the bounds from the addon's own record of
 * it, never from the object. Range arguments are (mapping, byte offset, byte length), already checked and rounded
 * to pages by the caller; C asserts them. A retired mapping is never passed (C asserts that too).
 */
export interface NativeAddon {
  constants: NativeConstants;

  // native/mapping.c
  /**
   * mmap(2). `offset` must be page-aligned, `length` > 0 and at most the runtime's largest ArrayBuffer (the caller
   * checks: a longer one would fail after the runtime took the finalizer). Returns one external ArrayBuffer over the
   * pages.
   */
  mmap(length: number, prot: number, flags: number, fd: number, offset: number): ArrayBuffer;
  /** The mapping's guarded face: another ArrayBuffer over the same bytes, which `retire` detaches (mapping-faces.ts). */
  alias(mapping: ArrayBuffer): ArrayBuffer;
  /**
   * Retires the mapping: detaches its guarded face `alias` (every view built on it throws). With `keep`, the public
   * face stays attached for native code still working on it, and nothing written through it can reach the file (a
   * MAP_SHARED file mapping is mapped again MAP_PRIVATE over the same addresses); without, or if that cannot be
   * done, the public face is detached too and anonymous memory replaces the range. munmap(2) runs when every face
   * is collected. Once per mapping.
   */
  retire(mapping: ArrayBuffer, alias: ArrayBuffer | undefined, keep: boolean): void;
  /** [ranges, bytes]: retired ranges kept with their public face attached, not yet released, and their anonymous bytes. */
  retired(): [number, number];
  /** msync(2) on the calling thread. */
  msync(mapping: ArrayBuffer, offset: number, length: number, flags: number): void;
  /** msync(2) on the libuv thread pool; the promise keeps the mapping's range reserved until it settles. */
  msyncAsync(mapping: ArrayBuffer, offset: number, length: number, flags: number): Promise<void>;
  /** madvise(2). */
  madvise(mapping: ArrayBuffer, offset: number, length: number, advice: number): void;
  /** mincore(2): one byte per page, bit 0 set when the page is resident. */
  mincore(mapping: ArrayBuffer, offset: number, length: number): Uint8Array;
  /** mlock(2). */
  mlock(mapping: ArrayBuffer, offset: number, length: number): void;
  /** munlock(2). */
  munlock(mapping: ArrayBuffer, offset: number, length: number): void;
  /** sysconf(_SC_PAGESIZE). */
  pageSize(): number;
  /** The mapping's base address, also once retired (diagnostics and tests). */
  address(mapping: ArrayBuffer): bigint;
  /**
   * Truncation faults the SIGBUS handler repaired in this mapping (native/sigbus.c): 0 while the file has not been
   * shrunk under an accessed page. 0 once retired.
   */
  faults(mapping: ArrayBuffer): number;
  /**
   * Pages the SIGBUS handler replaced with zero-filled memory because the kernel could not provide them although
   * the file covers them (a sparse file on a full filesystem, an I/O error). 0 once retired.
   */
  ioFaults(mapping: ArrayBuffer): number;
  /** Bytes from the mapping's start to the first page replaced with zero-filled memory (its length while none). */
  lostFrom(mapping: ArrayBuffer): number;

  // native/file.c: what node:fs lacks
  /** posix_fallocate(3). Called by src/file-io.ts only. */
  fallocate(fd: number, offset: number, length: number): void;
  /** flock(2). */
  flock(fd: number, operation: number): void;

  // native/sigbus.c
  /**
   * Two uint32 words in memory V8 owns: [0] moves each time the SIGBUS handler repairs a fault anywhere in the
   * process; [1] is 1 if the handler could not register the word (then [0] never moves). Call once per environment.
   */
  faultEpoch(): ArrayBuffer;
  /** True while memmap's SIGBUS handler is the process's SIGBUS disposition. */
  sigbusHandler(): boolean;
}

function packageRoot(): string {
  // src/native.ts in development, dist/*.js when built: the package root is one level up either way.
  return join(dirname(fileURLToPath(import.meta.url)), '..');
}

const require = createRequire(import.meta.url);
const load = require('node-gyp-build') as (dir: string) => unknown;

/** The loaded addon (one instance per process and thread). */
export const native = load(packageRoot()) as NativeAddon;

/** The page size of this machine: offsets passed to mmap are multiples of it. */
export const PAGE_SIZE: number = native.pageSize();

// --- native/sysv.c and native/sync.c (declaration merging: these add to the interfaces above) ---

/** The <sys/ipc.h>, <sys/shm.h> and <sys/sem.h> constants. */
export interface NativeConstants {
  IPC_PRIVATE: number;
  IPC_CREAT: number;
  IPC_EXCL: number;
  IPC_NOWAIT: number;
  SHM_RDONLY: number;
  SHM_DEST: number;
  SEM_UNDO: number;
}

/** shmctl(IPC_STAT) as the addon returns it; times are seconds since the epoch (0: never). */
export interface NativeSegmentStat {
  key: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  cuid: number;
  cgid: number;
  cpid: number;
  lpid: number;
  nattch: number;
  atime: number;
  dtime: number;
  ctime: number;
}

export interface NativeAddon {
  /** ftok(3): a System V key from an existing path and a project id (1..255). */
  ftok(path: string, projectId: number): number;
  /** shmget(2) -> segment id. */
  shmget(key: number, size: number, flags: number): number;
  /** shmat(2): one external ArrayBuffer of `length` bytes over the segment. */
  shmat(id: number, length: number, flags: number): ArrayBuffer;
  /**
   * shmat(2) with SHM_RDONLY behind the addon's copy-on-write SIGSEGV handler: a write through the ArrayBuffer
   * gives the page a private copy instead of killing the process (native/sysv.c).
   */
  shmatReadOnly(id: number, length: number): ArrayBuffer;
  /** The attachment's guarded face, which `shmdt` detaches (mapping-faces.ts). */
  shmAlias(attachment: ArrayBuffer): ArrayBuffer;
  /**
   * Detaches the guarded face `alias`; then, with `keep`, replaces the range by a private copy of the segment's bytes
   * (one mremap), which ends the attachment (nattch drops) while the public face stays readable until collected;
   * without (or if no copy can be made), detaches the public face too and maps anonymous memory over the range.
   */
  shmdt(attachment: ArrayBuffer, alias: ArrayBuffer | undefined, keep: boolean): void;
  /** shmctl(2) IPC_STAT. */
  shmctlStat(id: number): NativeSegmentStat;
  /** shmctl(2) IPC_SET of the owner uid, gid and the permission bits (all three, always). */
  shmctlSet(id: number, uid: number, gid: number, mode: number): void;
  /** shmctl(2) IPC_RMID. */
  shmctlRemove(id: number): void;
  /** semget(2) -> semaphore set id. */
  semget(key: number, count: number, flags: number): number;
  /** semtimedop(2) of one operation: false when it timed out or would block (EAGAIN). timeoutMs < 0: none. */
  semop(id: number, num: number, op: number, flags: number, timeoutMs: number): boolean;
  /** The same on the libuv thread pool. */
  semopAsync(id: number, num: number, op: number, flags: number, timeoutMs: number): Promise<boolean>;
  /** semctl(2) GETVAL. */
  semctlGetValue(id: number, num: number): number;
  /** semctl(2) SETVAL. */
  semctlSetValue(id: number, num: number, value: number): void;
  /** semctl(2) IPC_RMID. */
  semctlRemove(id: number): void;
  /** futex(2) FUTEX_WAIT, shared, on `view[index]`: 0 woken, 1 value differed, 2 timed out. timeoutMs < 0: none. */
  futexWait(view: Int32Array, index: number, expected: number, timeoutMs: number): 0 | 1 | 2;
  /** The same on the libuv thread pool; the promise keeps `view` alive. */
  futexWaitAsync(view: Int32Array, index: number, expected: number, timeoutMs: number): Promise<0 | 1 | 2>;
  /** futex(2) FUTEX_WAKE, shared: how many waiters were woken. */
  futexWake(view: Int32Array, index: number, count: number): number;
  /** kill(2); signal 0 only checks that the process exists. */
  kill(pid: number, signal: number): void;
  /** gettid(2): the calling thread's id. */
  gettid(): number;
}
// --- end of native/sysv.c and native/sync.c ---
