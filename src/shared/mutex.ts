/**
 * Mutex: a robust lock in 4 bytes of shared memory (a file mapping or a System V segment), for any number of
 * processes, which a C program can also take (include/memmap/mutex.h speaks the same protocol).
 *
 * The word (a 32-bit integer, 4-byte aligned, zero = unlocked, so fresh zero-filled memory is an unlocked mutex):
 *
 * | bits  | meaning                                                              |
 * |-------|----------------------------------------------------------------------|
 * | 0-29  | the owner's thread id (gettid; the process id for a main thread), 0 when unlocked |
 * | 30    | OWNER_DIED: never written by memmap; the kernel writes it for a robust futex whose owner died |
 * | 31    | WAITERS: some thread may be asleep in futex(FUTEX_WAIT) on the word  |
 *
 * The same split as the kernel's robust futexes (FUTEX_TID_MASK, FUTEX_OWNER_DIED, FUTEX_WAITERS). Any word whose
 * owner bits are 0 is unlocked, whatever its flag bits say (another process, a C peer or the kernel may leave
 * 0x40000000 or 0x80000000 behind): it is taken with one compare-exchange from exactly that word, and reported as
 * 'owner-died' when OWNER_DIED was set. Lock: compare-exchange 0 ->
 * tid. Contended: set WAITERS and futex-wait on the word; a thread that has waited takes the lock as
 * tid | WAITERS (it cannot know whether others still wait). Unlock: exchange to 0, and if WAITERS was set,
 * futex-wake one waiter. Robustness: waits are bounded slices; after a slice with no wake-up, the waiter checks
 * whether the owner still exists (kill(tid, 0), and /proc/<tid>/stat for a zombie). If it does not, the waiter
 * takes the lock over with one compare-exchange from the dead owner's word, and is told 'owner-died': the data the
 * lock protects may be half-updated.
 *
 * Why not a pthread robust mutex in the shared bytes: a pthread mutex belongs to a thread, and lockAsync must not
 * block the event loop, so it would have to lock from a libuv pool thread and unlock from the JavaScript thread
 * (EPERM for a robust mutex), and the kernel's robust list that frees it at death is per thread. Here every
 * compare-exchange is made by the JavaScript thread; the pool thread only sleeps in futex(FUTEX_WAIT). See
 * docs/shared.md.
 *
 * Limits: owners are thread ids, so all processes must share one PID namespace; a dead owner whose id the kernel
 * has already given to a new thread is taken for alive (ids are reused only after pid_max, 4194304 by default,
 * new ones).
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { fromNative, memmapError, validateObject } from '../errors.js';
import { native } from '../native.js';
import { AtomicInt32, cellLength, unmappedError, int32CellOf, type Bytes } from './atomics.js';
import { timeoutMs } from './wait.js';

/** How a lock was acquired: 'owner-died' when the previous owner died holding it (the data may be inconsistent). */
export type LockResult = 'acquired' | 'owner-died';

/** Options of `lock` and `lockAsync`. */
export interface LockOptions {
  /** Give up after this many milliseconds with ERR_MUTEX_TIMEOUT. Default: wait for ever. */
  timeout?: number;
}

const OWNER_MASK = 0x3fffffff;
const OWNER_DIED = 0x40000000;
const WAITERS = 0x80000000 | 0;
/** Compare-exchanges one attempt makes on a free word with flag bits before it reports the word as contended. */
const FREE_WORD_RETRIES = 16;
/** How long a waiter sleeps before it checks whether the owner is still alive. */
const LIVENESS_SLICE_MS = 100;

/** This thread's id: the owner value this thread writes. */
const TID: number = native.gettid();
if (TID > OWNER_MASK) throw new Error(`memmap: thread id ${TID} does not fit in the Mutex word (max ${OWNER_MASK})`);

const ESRCH = osConstants.errno.ESRCH;

/** True unless the thread `tid` is gone or a zombie. Never kill(0), which would signal our own process group. */
export function threadAlive(tid: number): boolean {
  if (!Number.isInteger(tid) || tid <= 0 || tid > OWNER_MASK) return false;
  try {
    native.kill(tid, 0);
  } catch (error) {
    return -Math.abs((error as { errno?: number }).errno ?? 0) !== -ESRCH;
  }
  try {
    // /proc/<tid>/stat: "pid (comm) S ..."; comm may hold spaces and parentheses, the state follows the last ')'.
    const stat = readFileSync(`/proc/${tid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function timeoutError(timeout: number): Error {
  return memmapError('ERR_MUTEX_TIMEOUT', `the mutex was not acquired within ${timeout} ms: another process holds it`);
}

function deadlockError(): Error {
  return memmapError(
    'ERR_MUTEX_DEADLOCK',
    'this thread already holds the mutex: unlock it first (it is not recursive)',
  );
}

/** A robust, cross-process mutex in 4 bytes at `byteOffset` of `bytes` (4-byte aligned; zero bytes = unlocked). */
export class Mutex {
  /** Bytes a Mutex occupies. */
  static readonly SIZE = 4;
  /** Its required alignment. */
  static readonly ALIGNMENT = 4;

  /** The word, as an AtomicInt32 (for wait/notify or inspection). */
  readonly word: AtomicInt32;
  readonly #cell: Int32Array;

  constructor(bytes: Bytes, byteOffset = 0) {
    this.word = new AtomicInt32(bytes, byteOffset);
    this.#cell = int32CellOf(this.word);
  }

  /** The owner's thread id, or 0 when unlocked. */
  get owner(): number {
    this.#live();
    return Atomics.load(this.#cell, 0) & OWNER_MASK;
  }

  #live(): boolean {
    if (cellLength(this.#cell) === 0) throw unmappedError();
    return true;
  }

  /**
   * One attempt: 'acquired', 'owner-died' (a free word the kernel marked OWNER_DIED), or the word seen (non-zero;
   * its owner bits are non-zero unless the word kept changing under FREE_WORD_RETRIES compare-exchanges).
   */
  #attempt(base: number): LockResult | number {
    const cell = this.#cell;
    let seen = Atomics.compareExchange(cell, 0, 0, TID | base);
    for (let retry = 0; seen !== 0 && (seen & OWNER_MASK) === 0 && retry < FREE_WORD_RETRIES; retry++) {
      // No owner, only flag bits: the lock is free. Keep WAITERS (someone may sleep on the word), drop OWNER_DIED.
      const before = Atomics.compareExchange(cell, 0, seen, TID | base | (seen & WAITERS));
      if (before === seen) return seen & OWNER_DIED ? 'owner-died' : 'acquired';
      seen = before === 0 ? Atomics.compareExchange(cell, 0, 0, TID | base) : before;
    }
    return seen === 0 ? 'acquired' : seen;
  }

  /** Takes over from a dead owner if `seen` still holds. */
  #recover(seen: number): LockResult | undefined {
    const owner = seen & OWNER_MASK;
    if (owner === 0 || owner === TID || threadAlive(owner)) return undefined;
    return Atomics.compareExchange(this.#cell, 0, seen, TID | WAITERS) === seen ? 'owner-died' : undefined;
  }

  /** Takes the lock if it is free (or its owner is dead) now; false otherwise. Never blocks. */
  tryLock(): LockResult | false {
    this.#live();
    const seen = this.#attempt(0);
    if (typeof seen === 'string') return seen;
    return this.#recover(seen) ?? false;
  }

  /**
   * Takes the lock, blocking this thread until it is free (futex wait). If the owner dies holding it, returns
   * 'owner-died' within LIVENESS_SLICE_MS (100 ms) of the death. ERR_MUTEX_TIMEOUT after `timeout` ms;
   * ERR_MUTEX_DEADLOCK if this thread already holds it (it could never be released).
   */
  lock(options?: LockOptions): LockResult {
    const cell = this.#cell;
    // Fast path: one compare-exchange (a detached view has length 0 and goes to the slow path's check).
    if (cell.length !== 0 && Atomics.compareExchange(cell, 0, 0, TID) === 0) return 'acquired';
    this.#live();
    return this.#lockSlow(Atomics.load(cell, 0), options);
  }

  #lockSlow(seen: number, options: LockOptions | undefined): LockResult {
    const ms = timeoutMs(validateObject<LockOptions>(options, 'options').timeout, 'options.timeout');
    if ((seen & OWNER_MASK) === TID) throw deadlockError();
    const deadline = ms < 0 ? Infinity : performance.now() + ms;
    const cell = this.#cell;
    for (;;) {
      const step = this.#nextWait(ms, deadline);
      if (step === undefined) continue;
      if (typeof step === 'string') return step;
      let result: number;
      try {
        result = native.futexWait(cell, 0, step.expected, step.timeout);
      } catch (error) {
        throw fromNative(error);
      }
      const recovered = this.#afterWait(result);
      if (recovered !== undefined) return recovered;
    }
  }

  /**
   * One round of the slow path, shared by `lock` and `lockAsync`: takes the lock if it can (or recovers it from a
   * dead owner), else marks that a waiter sleeps and says what to wait for: the word's value and for how long.
   * Undefined when the word changed under the compare-exchange (try again at once).
   */
  #nextWait(ms: number, deadline: number): LockResult | { expected: number; timeout: number } | undefined {
    const cell = this.#cell;
    if (cellLength(cell) === 0) throw unmappedError();
    const attempt = this.#attempt(WAITERS);
    if (typeof attempt === 'string') return attempt;
    const left = deadline - performance.now();
    if (left <= 0) throw timeoutError(ms);
    const expected = attempt | WAITERS;
    if (attempt !== expected && Atomics.compareExchange(cell, 0, attempt, expected) !== attempt) return undefined;
    return { expected, timeout: Math.min(LIVENESS_SLICE_MS, left) };
  }

  /** After a futex wait that returned `result`: a timed-out slice (2) checks whether the owner died. */
  #afterWait(result: number): LockResult | undefined {
    const cell = this.#cell;
    if (result !== 2 || cellLength(cell) === 0) return undefined;
    return this.#recover(Atomics.load(cell, 0));
  }

  /**
   * As `lock`, without blocking the event loop: the futex waits run on the libuv thread pool; every
   * compare-exchange runs on this thread, so the owner is this thread. Rejects with ERR_MUTEX_TIMEOUT after
   * `timeout` ms.
   */
  async lockAsync(options?: LockOptions): Promise<LockResult> {
    this.#live();
    const first = this.#attempt(0);
    if (typeof first === 'string') return first;
    const ms = timeoutMs(validateObject<LockOptions>(options, 'options').timeout, 'options.timeout');
    if ((first & OWNER_MASK) === TID) throw deadlockError();
    const deadline = ms < 0 ? Infinity : performance.now() + ms;
    const cell = this.#cell;
    for (;;) {
      const step = this.#nextWait(ms, deadline);
      if (step === undefined) continue;
      if (typeof step === 'string') return step;
      let result: number;
      try {
        result = await native.futexWaitAsync(cell, 0, step.expected, step.timeout);
      } catch (error) {
        if (cellLength(cell) === 0) throw unmappedError();
        throw fromNative(error);
      }
      const recovered = this.#afterWait(result);
      if (recovered !== undefined) return recovered;
    }
  }

  /** Releases the lock and wakes one waiter (in any process). ERR_MUTEX_NOT_OWNER unless this thread holds it. */
  unlock(): void {
    const cell = this.#cell;
    // Fast path: held by this thread with no waiter: one compare-exchange back to 0.
    if (cell.length !== 0 && Atomics.compareExchange(cell, 0, TID, 0) === TID) return;
    if (cellLength(cell) === 0) throw unmappedError();
    const seen = Atomics.load(cell, 0);
    if ((seen & OWNER_MASK) !== TID)
      throw memmapError(
        'ERR_MUTEX_NOT_OWNER',
        seen === 0
          ? 'the mutex is not locked'
          : `the mutex is held by thread ${seen & OWNER_MASK}, not by this thread (${TID})`,
      );
    if (Atomics.exchange(cell, 0, 0) & WAITERS) native.futexWake(cell, 0, 1);
  }

  /** Runs `fn` holding the lock (taken with lockAsync) and releases it after, even if `fn` throws. */
  async withLock<T>(fn: (result: LockResult) => T | Promise<T>, options?: LockOptions): Promise<T> {
    const result = await this.lockAsync(options);
    try {
      return await fn(result);
    } finally {
      this.unlock();
    }
  }
}
