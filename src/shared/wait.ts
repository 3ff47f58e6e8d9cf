/**
 * wait/notify between processes on a 32-bit word of shared memory: futex(2) FUTEX_WAIT / FUTEX_WAKE without
 * FUTEX_PRIVATE_FLAG, so the kernel matches waiter and waker by the page's backing object (file or segment) and
 * offset, whatever address each process mapped it at. The same protocol as Atomics.wait/notify, across processes.
 *
 * Like every futex, a wait may end without a notify (the word changed, or a signal): re-check the condition in a
 * loop, and change the word before notifying.
 */
import { fromNative, invalidArgType, outOfRange } from '../errors.js';
import { native } from '../native.js';
import { AtomicInt32, cellLength, unmappedError, int32CellOf } from './atomics.js';

/** How a wait ended, as Atomics.wait names it. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/** What futex_wait's outcome 0, 1 and 2 (the addon's) mean. */
const RESULTS = ['ok', 'not-equal', 'timed-out'] as const satisfies readonly WaitResult[];

/**
 * The longest single futex wait `waitAsync` puts on the libuv thread pool. A wait holds a pool thread (there are
 * 4 by default, shared with fs and dns), and a thread asleep on memory that was unmapped meanwhile only wakes at
 * its timeout: slices bound both. Between slices the word is read again on the JavaScript thread.
 */
export const ASYNC_WAIT_SLICE_MS = 500;

/**
 * The longest finite timeout, in ms (2^40 ms, about 34.8 years); a longer one is no timeout. The addon turns a
 * timeout into a futex deadline in nanoseconds, a 64-bit count that a timeout of about 9.2e12 ms would overflow.
 */
export const MAX_FINITE_TIMEOUT_MS = 2 ** 40;

/**
 * Checks a timeout in ms: undefined, Infinity or more than MAX_FINITE_TIMEOUT_MS is none (-1 for the addon),
 * otherwise a number >= 0.
 */
export function timeoutMs(timeout: unknown, name = 'timeout'): number {
  if (timeout === undefined) return -1;
  if (typeof timeout !== 'number') throw invalidArgType(name, 'of type number', timeout);
  if (Number.isNaN(timeout) || timeout < 0) throw outOfRange(name, '>= 0 (milliseconds), or Infinity', timeout);
  return timeout > MAX_FINITE_TIMEOUT_MS ? -1 : timeout;
}

function expectedOf(value: unknown): number {
  if (typeof value !== 'number') throw invalidArgType('expected', 'of type number', value);
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff)
    throw outOfRange('expected', '>= -2147483648 && <= 4294967295 (a 32-bit integer)', value);
  return value | 0;
}

function cellOf(address: unknown): Int32Array {
  if (!(address instanceof AtomicInt32)) throw invalidArgType('address', 'an instance of AtomicInt32', address);
  const cell = int32CellOf(address);
  if (cellLength(cell) === 0) throw unmappedError();
  return cell;
}

/**
 * Sleeps while the word at `address` equals `expected`, until `notify` (from any process) or `timeout` ms.
 * Blocks this thread, like Atomics.wait: in the main thread, prefer `waitAsync`.
 */
export function wait(address: AtomicInt32, expected: number, timeout?: number): WaitResult {
  const cell = cellOf(address);
  const value = expectedOf(expected);
  const ms = timeoutMs(timeout);
  try {
    return RESULTS[native.futexWait(cell, 0, value, ms)];
  } catch (error) {
    throw fromNative(error);
  }
}

/**
 * As `wait`, without blocking the event loop: the futex wait runs on the libuv thread pool, in slices of at most
 * ASYNC_WAIT_SLICE_MS. Resolves 'ok' when notified (or when the word is seen changed between slices),
 * 'not-equal' if the word differs from `expected` at the start, 'timed-out' after `timeout` ms. Rejects with
 * ERR_MAPPING_CLOSED if the memory is unmapped while it waits.
 */
export async function waitAsync(address: AtomicInt32, expected: number, timeout?: number): Promise<WaitResult> {
  const cell = cellOf(address);
  const value = expectedOf(expected);
  const ms = timeoutMs(timeout);
  const deadline = ms < 0 ? Infinity : performance.now() + ms;
  for (let first = true; ; first = false) {
    if (cellLength(cell) === 0) throw unmappedError();
    if (!first && Atomics.load(cell, 0) !== value) return 'ok';
    const left = deadline - performance.now();
    if (!first && left <= 0) return 'timed-out';
    const slice = Math.max(0, Math.min(ASYNC_WAIT_SLICE_MS, left));
    let result: 0 | 1 | 2;
    try {
      result = await native.futexWaitAsync(cell, 0, value, slice);
    } catch (error) {
      if (cellLength(cell) === 0) throw unmappedError();
      throw fromNative(error);
    }
    if (result === 0) return 'ok';
    if (result === 1) return first ? 'not-equal' : 'ok';
    if (performance.now() >= deadline) return 'timed-out';
  }
}

/** Wakes up to `count` waiters (default: all) on the word at `address`, in every process; returns how many woke. */
export function notify(address: AtomicInt32, count: number = Infinity): number {
  const cell = cellOf(address);
  if (typeof count !== 'number') throw invalidArgType('count', 'of type number', count);
  if (count !== Infinity && (!Number.isInteger(count) || count < 0))
    throw outOfRange('count', 'an integer >= 0, or Infinity', count);
  try {
    return native.futexWake(cell, 0, count === Infinity || count > 0x7fffffff ? 0x7fffffff : count);
  } catch (error) {
    throw fromNative(error);
  }
}
