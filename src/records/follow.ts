/**
 * Followers: readers that wait for a writer's commits in another process (or this one) without polling, by
 * sleeping in futex(FUTEX_WAIT) on the header's commit word (./commit-word.ts, docs/format.md "Commit word").
 *
 * - `waitFor(length)` blocks the thread until the committed count reaches `length`; `waitForAsync` does it on the
 *   libuv thread pool, cancellable with an AbortSignal.
 * - `follow()` yields every committed record in order, forever, until the file is closed or the signal aborts;
 *   `followBatches()` yields, per wake-up, the newly committed records as a StructArray over the mapping.
 * - `followFile(path, layout)` first waits (fs.watch on the directory, with a timeout) for the file to be created.
 *
 * A follower maps the header's first bytes a second time, read-write and shared, because setting the WAITERS bit
 * is a write; a reader in mode 'r' has a private, read-only mapping. Without write permission on the file, on a
 * version 1 file (no commit word) or on a big-endian host, followers fall back to re-reading the header every
 * `pollMs` (documented, and visible as `db.followsByCommitWord === false`).
 *
 * Outcomes: a truncation by the writer (or a file restarted with 'w+') below what a follower already yielded
 * throws ERR_RECORD_FILE_TRUNCATED from the iteration (the records it yielded were taken back; `follow({ from })`
 * again from `error.length` to go on). A writer that dies (nobody holds the writer's flock) ends the iteration
 * with `{ writerGone: 'end' }`, after every committed record was yielded; by default ('wait') the follower keeps
 * waiting for a new writer.
 */
// node:fs here: /proc/locks (kernel state) and fs.watch of a directory; the file's own calls are in file-io.ts.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { deviceAndInode, fileIdentity } from '../file-io.js';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  invalidArgType,
  invalidArgValue,
  memmapError,
  validateInteger,
  validateObject,
  abortError,
  type CodedError,
} from '../errors.js';
import type { AnyFieldType, Infer } from '../layout/field.js';
import type { StructArray } from '../layout/struct-array.js';
import { guardedBytes } from '../mapping-faces.js';
import { MappedFile } from '../mapped-file.js';
import { native } from '../native.js';
import { timeoutMs as checkTimeout } from '../shared/wait.js';
import { armWaiters, commitWordView, loadCommitWord, loadTruncations } from './commit-word.js';
import { closedError } from './errors.js';
import type { RecordMapping } from './record-mapping.js';

/** Options of `waitFor`. */
export interface WaitForOptions {
  /** Give up after this many ms with ERR_RECORD_FILE_WAIT_TIMEOUT (default: wait for ever). */
  timeoutMs?: number;
}

/** Options of `waitForAsync`. */
export interface WaitForAsyncOptions extends WaitForOptions {
  /** Abort the wait: the promise rejects with an AbortError (code ABORT_ERR). */
  signal?: AbortSignal;
}

/** Options of `follow` and `followBatches`. */
export interface FollowOptions {
  /** The index of the first record to yield (default 0: every committed record). */
  from?: number;
  /** Ends the iteration (with an AbortError, code ABORT_ERR) when aborted. */
  signal?: AbortSignal;
  /**
   * When no process holds the writer's lock: 'wait' (default) keeps waiting for a new writer; 'end' ends the
   * iteration once every committed record was yielded. Shared writers (`shared: true`) hold the lock only inside
   * withLock(): follow them with 'wait'.
   */
  writerGone?: 'wait' | 'end';
  /**
   * How often an idle follower wakes on its own to re-read the header and, with writerGone 'end', look for the
   * writer (default 1000 ms). It bounds the delay a writer that does not advance the commit word can cause.
   */
  recheckMs?: number;
  /** Re-read interval when the commit word cannot be used (version 1 file, no write permission): default 10 ms. */
  pollMs?: number;
}

/** Options of `followFile`: those of `follow`, and how long to wait for the file to be created. */
export interface FollowFileOptions extends FollowOptions {
  /** Wait at most this many ms for the file to exist (and hold a header): ERR_RECORD_FILE_WAIT_TIMEOUT. */
  createTimeoutMs?: number;
}

/** What a follower uses of a RecordFile (RecordFile builds it over its private state). */
export interface FollowTarget<S extends AnyFieldType> {
  /** The RecordFile: the key followers share their header mapping under. */
  readonly owner: object;
  readonly path: string;
  readonly dataOffset: number;
  /** The RecordFile's descriptor (to find the file's inode). */
  readonly fd: number;
  readonly closed: boolean;
  /** RecordFile.refresh(): picks up growth and truncation. */
  refresh(): number;
  /** The header's committed count. */
  committed(): number;
  /** A copy of record `index`. */
  get(index: number): Infer<S>;
  /** A StructArray over records [from, to) of the current mapping. */
  records(from: number, to: number): StructArray<S>;
}

/** The FollowTarget of a record file, over its mapping (./record-mapping.ts). */
export function followTargetOf<S extends AnyFieldType>(
  file: {
    readonly path: string;
    readonly dataOffset: number;
    readonly committedLength: number;
    refresh(): number;
    get(index: number): Infer<S>;
  },
  mapping: RecordMapping,
): FollowTarget<S> {
  return {
    owner: file,
    path: file.path,
    dataOffset: file.dataOffset,
    get fd() {
      return mapping.fd;
    },
    get closed() {
      return mapping.closed;
    },
    refresh: () => file.refresh(),
    committed: () => file.committedLength,
    get: (index) => file.get(index),
    records: (from, to) => (mapping.records as unknown as StructArray<S>).subarray(from, to),
  };
}

/** `target.closed`, as a call: TypeScript would keep a property's earlier answer across a wait, where it changes. */
function isClosed(target: FollowTarget<AnyFieldType>): boolean {
  return target.closed;
}

/** The default idle re-read interval. */
const DEFAULT_RECHECK_MS = 1000;
const DEFAULT_POLL_MS = 10;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * The header's commit word, mapped read-write and shared by this process for waiting (one per RecordFile, shared
 * by its followers), or a poller when the word cannot be used.
 */
class CommitWatch {
  /** The second mapping of the header (undefined: poll). */
  #file: MappedFile | undefined;
  #word: Int32Array | undefined;
  /** Pending async waits, woken (notified) on close so that they end at once. */
  readonly #pending = new Set<() => void>();

  constructor(target: FollowTarget<AnyFieldType>) {
    let file: MappedFile | undefined;
    try {
      file = MappedFile.open(target.path, { mode: 'r+', length: target.dataOffset });
      const mine = fileIdentity(file.fd, target.path);
      const theirs = fileIdentity(target.fd, target.path);
      const version = file.buffer.readUInt32LE(8);
      if (mine.ino !== theirs.ino || mine.dev !== theirs.dev || version < 2) throw new Error('no commit word');
      this.#word = commitWordView(guardedBytes(file.buffer), target.dataOffset - 8);
      if (this.#word === undefined) throw new Error('no commit word');
      this.#file = file;
    } catch {
      // No write permission (EACCES, EROFS), a version 1 file, a replaced path: this follower polls.
      file?.close();
      this.#file = undefined;
      this.#word = undefined;
    }
  }

  /** Whether waits sleep on the commit word (false: they poll). */
  get usesWord(): boolean {
    return this.#word !== undefined && this.#word.length > 0;
  }

  /** The word's value now (0 when polling). */
  load(): number {
    return this.#word !== undefined && this.#word.length > 0 ? loadCommitWord(this.#word) : 0;
  }

  /** The truncation count now (undefined when the file has none). */
  truncations(): number | undefined {
    return this.#word !== undefined && this.#word.length > 0 ? loadTruncations(this.#word) : undefined;
  }

  /** Sleeps (blocking) until the word moves from `seen`, or `ms`. */
  waitSync(seen: number, ms: number, pollMs: number): void {
    const word = this.#word;
    if (word === undefined || word.length === 0) {
      Atomics.wait(sleeper, 0, 0, Math.min(ms, pollMs));
      return;
    }
    const armed = armWaiters(word, seen);
    if (armed === undefined) return;
    try {
      native.futexWait(word, 0, armed, Math.max(0, ms));
    } catch {
      // EFAULT after an unmap, EINTR: the caller re-reads the header either way.
    }
  }

  /** As waitSync on the thread pool; resolves early when `signal` aborts or the watch closes. */
  async waitAsync(seen: number, ms: number, pollMs: number, signal: AbortSignal | undefined): Promise<void> {
    const word = this.#word;
    if (word === undefined || word.length === 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          this.#pending.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(ms, pollMs));
        signal?.addEventListener('abort', done, { once: true });
        this.#pending.add(done);
      });
      return;
    }
    const armed = armWaiters(word, seen);
    if (armed === undefined) return;
    // An abort or close wakes the word: that wakes the pool thread asleep on it (and, spuriously, other readers
    // of the file, which re-check and sleep again), so no thread is left holding a pool slot.
    const wake = (): void => {
      if (word.length > 0) native.futexWake(word, 0, 0x7fffffff);
    };
    signal?.addEventListener('abort', wake, { once: true });
    this.#pending.add(wake);
    try {
      if (signal?.aborted) return;
      await native.futexWaitAsync(word, 0, armed, Math.max(0, ms));
    } catch {
      // The mapping was closed meanwhile (the RecordFile closed), or EINTR: the caller re-checks.
    } finally {
      signal?.removeEventListener('abort', wake);
      this.#pending.delete(wake);
    }
  }

  /** Wakes every pending wait and unmaps the header. */
  close(): void {
    for (const wake of [...this.#pending]) wake();
    this.#pending.clear();
    this.#word = undefined;
    this.#file?.close();
    this.#file = undefined;
  }
}

const watches = new WeakMap<object, CommitWatch>();

function watchOf(target: FollowTarget<AnyFieldType>): CommitWatch {
  let watch = watches.get(target.owner);
  if (watch === undefined) {
    watch = new CommitWatch(target);
    watches.set(target.owner, watch);
  }
  return watch;
}

/** Called by RecordFile.close(): wakes and ends every wait and follower of `owner`, and unmaps their header. */
export function releaseFollowers(owner: object): void {
  const watch = watches.get(owner);
  if (watch === undefined) return;
  watches.delete(owner);
  watch.close();
}

/** Whether followers of `target` sleep on the commit word (true) or poll (false: see the module's doc). */
export function usesCommitWord(target: FollowTarget<AnyFieldType>): boolean {
  if (target.closed) return false;
  return watchOf(target).usesWord;
}

/** ERR_RECORD_FILE_WAIT_TIMEOUT. */
function timeoutError(path: string, what: string, ms: number): CodedError {
  return memmapError('ERR_RECORD_FILE_WAIT_TIMEOUT', `record file '${path}': ${what} within ${ms} ms`, { path });
}

/** ERR_RECORD_FILE_TRUNCATED: the writer took back records a follower had yielded. */
export interface TruncatedError extends CodedError {
  /** The record file's path. */
  path: string;
  /** The index the follower had reached (records below it were yielded). */
  position: number;
  /** The committed count when the truncation was seen: `follow({ from: length })` goes on from there. */
  length: number;
}

function truncatedError(path: string, position: number, length: number): TruncatedError {
  const error = memmapError(
    'ERR_RECORD_FILE_TRUNCATED',
    `record file '${path}' was truncated by its writer below what this follower had read (${position} records; ` +
      `${length} now): follow it again from the index you trust`,
    { path },
  ) as TruncatedError;
  error.position = position;
  error.length = length;
  return error;
}

function signalOf(value: unknown, name: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalidArgType(name, 'an instance of AbortSignal', value);
  return value;
}

/**
 * The committed count after picking up growth and truncation, never more than the mapping holds: the header's
 * count read after refresh() may already cover a growth that refresh() did not map, so the lower of the two.
 * (refresh() returns the count it mapped for a reader, and the records pushed for a writer, >= its commits.)
 */
function committedNow<S extends AnyFieldType>(target: FollowTarget<S>): number {
  const mapped = target.refresh();
  return Math.min(mapped, target.committed());
}

/** RecordFile.waitFor: blocks until the committed count is >= `length`; returns it. */
export function waitForCommit<S extends AnyFieldType>(
  target: FollowTarget<S>,
  length: unknown,
  options: unknown = {},
): number {
  if (target.closed) throw closedError(target.path);
  const wanted = validateInteger(length, 'length', 0);
  const opts = validateObject<WaitForOptions>(options, 'options');
  const timeout = checkTimeout(opts.timeoutMs, 'options.timeoutMs');
  const deadline = timeout < 0 ? Infinity : performance.now() + timeout;
  const watch = watchOf(target);
  for (;;) {
    const seen = watch.load();
    const count = committedNow(target);
    if (count >= wanted) return count;
    const left = deadline - performance.now();
    if (left <= 0) throw timeoutError(target.path, `the committed count stayed at ${count} < ${wanted}`, timeout);
    watch.waitSync(seen, Math.min(left, DEFAULT_RECHECK_MS), DEFAULT_POLL_MS);
    if (isClosed(target)) throw closedError(target.path);
  }
}

/** RecordFile.waitForAsync: as waitForCommit without blocking the event loop, cancellable. */
export async function waitForCommitAsync<S extends AnyFieldType>(
  target: FollowTarget<S>,
  length: unknown,
  options: unknown = {},
): Promise<number> {
  if (target.closed) throw closedError(target.path);
  const wanted = validateInteger(length, 'length', 0);
  const opts = validateObject<WaitForAsyncOptions>(options, 'options');
  const timeout = checkTimeout(opts.timeoutMs, 'options.timeoutMs');
  const signal = signalOf(opts.signal, 'options.signal');
  const deadline = timeout < 0 ? Infinity : performance.now() + timeout;
  const watch = watchOf(target);
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    if (isClosed(target)) throw closedError(target.path);
    const seen = watch.load();
    const count = committedNow(target);
    if (count >= wanted) return count;
    const left = deadline - performance.now();
    if (left <= 0) throw timeoutError(target.path, `the committed count stayed at ${count} < ${wanted}`, timeout);
    await watch.waitAsync(seen, Math.min(left, DEFAULT_RECHECK_MS), DEFAULT_POLL_MS, signal);
  }
}

interface CheckedFollowOptions {
  from: number;
  signal: AbortSignal | undefined;
  end: boolean;
  recheckMs: number;
  pollMs: number;
}

function checkFollowOptions(options: unknown): CheckedFollowOptions {
  const opts = validateObject<FollowOptions>(options, 'options');
  // Each option is read once: a getter cannot answer one thing to the check and another to the use.
  const from = validateInteger(opts.from ?? 0, 'options.from', 0);
  const signal = signalOf(opts.signal, 'options.signal');
  const writerGone: unknown = opts.writerGone ?? 'wait';
  if (writerGone !== 'wait' && writerGone !== 'end')
    throw invalidArgValue('options.writerGone', writerGone, "must be 'wait' or 'end'");
  const recheckMs = validateInteger(opts.recheckMs ?? DEFAULT_RECHECK_MS, 'options.recheckMs', 1, 2 ** 31 - 1);
  const pollMs = validateInteger(opts.pollMs ?? DEFAULT_POLL_MS, 'options.pollMs', 1, 2 ** 31 - 1);
  return { from, signal, end: writerGone === 'end', recheckMs, pollMs };
}

/**
 * Whether some process holds flock LOCK_EX on the file open as `fd`: the lock an exclusive writer holds while the
 * file is open. Read from /proc/locks (Linux), which never takes or disturbs the lock; undefined if unreadable.
 */
export function writerHoldsLock(fd: number, path: string): boolean | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/locks', 'latin1');
  } catch {
    return undefined;
  }
  const { dev, ino } = deviceAndInode(fd, path);
  // glibc's major()/minor() of st_dev, as /proc/locks prints them ("%02x:%02x:%lu").
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const key = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${ino}`;
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF"; a blocked request reads "1: -> FLOCK ...".
    if (fields[1] === 'FLOCK' && fields[3] === 'WRITE' && fields[5] === key) return true;
  }
  return false;
}

/**
 * RecordFile.followBatches: per wake-up, the newly committed records as a StructArray over the mapping (valid
 * until the next step: a growth remaps, and the old views then throw ERR_DETACHED_BUFFER instead of reading
 * unmapped memory).
 */
export function followBatches<S extends AnyFieldType>(
  target: FollowTarget<S>,
  options: unknown = {},
): AsyncGenerator<StructArray<S>, void, undefined> {
  // Checked now, at the call, not at the first next(): a bad option throws where it was given.
  if (target.closed) throw closedError(target.path);
  return batches(target, checkFollowOptions(options));
}

async function* batches<S extends AnyFieldType>(
  target: FollowTarget<S>,
  { from, signal, end, recheckMs, pollMs }: CheckedFollowOptions,
): AsyncGenerator<StructArray<S>, void, undefined> {
  const watch = watchOf(target);
  let position = from;
  let truncations = watch.truncations();
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    if (target.closed) return;
    const seen = watch.load();
    const count = committedNow(target);
    const nowTruncations = watch.truncations();
    if (nowTruncations !== truncations && position > from) {
      // The writer took records back since we looked, and the count alone cannot tell how far (it may have been
      // lowered and raised again): records this follower yielded may have been replaced. Say so.
      throw truncatedError(target.path, position, count);
    }
    truncations = nowTruncations;
    if (count < position && position > from) throw truncatedError(target.path, position, count);
    if (count > position) {
      const batch = target.records(position, count);
      position = count;
      yield batch;
      continue;
    }
    if (end && writerHoldsLock(target.fd, target.path) === false) {
      // The lock is released after the writer's last store: a count read now is final.
      if (committedNow(target) <= position) return;
      continue;
    }
    await watch.waitAsync(seen, recheckMs, pollMs, signal);
  }
}

/** RecordFile.follow: every committed record from `from` on, in order, as copies. */
export function followRecords<S extends AnyFieldType>(
  target: FollowTarget<S>,
  options: unknown = {},
): AsyncGenerator<Infer<S>, void, undefined> {
  return records(followBatches(target, options));
}

async function* records<S extends AnyFieldType>(
  source: AsyncGenerator<StructArray<S>, void, undefined>,
): AsyncGenerator<Infer<S>, void, undefined> {
  for await (const batch of source) {
    for (let i = 0; i < batch.length; i++) yield batch.get(i);
  }
}

/**
 * Waits for `path` to exist and hold a record file header, then opens it with `open` (fs.watch on the directory
 * wakes the wait; it is re-tried every `recheckMs` as well). Throws ERR_RECORD_FILE_WAIT_TIMEOUT after
 * `timeout` ms (or the last open error, when the file exists but is not a record file of this layout).
 */
export async function waitForFile<F>(
  path: string | URL,
  open: (path: string) => F,
  timeout: number,
  recheckMs: number,
  signal: AbortSignal | undefined,
): Promise<F> {
  const shown = path instanceof URL ? fileURLToPath(path) : path;
  const deadline = timeout < 0 ? Infinity : performance.now() + timeout;
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(shown), { persistent: true }, () => wake?.());
  } catch {
    watcher = undefined; // a directory that cannot be watched: the re-tries below still find the file
  }
  watcher?.on('error', () => undefined);
  try {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      let last: unknown;
      try {
        return open(shown);
      } catch (error) {
        const code = (error as { code?: string }).code;
        const field = (error as { field?: string }).field;
        // Missing, or being created (sized, header not yet written): not yet. Anything else is final.
        const notYet =
          code === 'ENOENT' ||
          code === 'ERR_RECORD_FILE_CORRUPT' ||
          (code === 'ERR_RECORD_FILE_MISMATCH' && field === 'magic');
        if (!notYet) throw error;
        last = error;
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        if ((last as { code?: string }).code === 'ENOENT')
          throw timeoutError(shown, 'the file was not created', timeout);
        throw last;
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, recheckMs));
        signal?.addEventListener('abort', done, { once: true });
        wake = done;
      });
    }
  } finally {
    watcher?.close();
  }
}

/** Checks followFile's options; returns them with the creation timeout. */
export function checkFollowFileOptions(options: unknown): { follow: FollowOptions; createTimeout: number } {
  const opts = validateObject<FollowFileOptions>(options, 'options');
  const createTimeout = checkTimeout(opts.createTimeoutMs, 'options.createTimeoutMs');
  const follow: FollowOptions = {
    from: opts.from,
    signal: opts.signal,
    writerGone: opts.writerGone,
    recheckMs: opts.recheckMs,
    pollMs: opts.pollMs,
  };
  checkFollowOptions(follow);
  return { follow, createTimeout };
}
