/**
 * RecordFile: a persistent array of fixed-size records in a mapped file (docs/format.md), read and written at
 * memory speed through a MAP_SHARED mapping, flushed to disk when the program says so.
 *
 * | mode  | file                                   | writes | lock                                         |
 * |-------|----------------------------------------|--------|----------------------------------------------|
 * | 'a+'  | opened, or created when missing/empty  | yes    | flock LOCK_EX while open (unless `shared`)   |
 * | 'r+'  | opened; must exist and be a record file| yes    | flock LOCK_EX while open (unless `shared`)   |
 * | 'w+'  | created, or emptied and started again  | yes    | flock LOCK_EX while open (unless `shared`)   |
 * | 'r'   | opened read-only (private mapping)     | no     | none: readers never block a writer           |
 *
 * Committed and written records. The header's `count` is the number of committed records: it is advanced only by
 * a flush, after the records it covers were written back with msync(MS_SYNC). `length` in the writing process
 * counts every record pushed; a reader in another process sees `length` = the committed count as of its last
 * `refresh()`. So after a process crash (SIGKILL, OOM kill, an uncaught error) the file opens with exactly the
 * records of the last completed flush, or more recent ones, all with the values that were written. After a power
 * loss or kernel crash, the records and count of every completed flush are on the device (MS_SYNC waited for
 * them); anything after the last completed flush may be lost, and a record overwritten in place with set() since
 * then may be torn.
 */
import { closeSync, constants as fsConstants, fdatasync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  invalidArgType,
  invalidArgValue,
  memmapError,
  outOfRange,
  systemError,
  validateBoolean,
  validateInteger,
  validateObject,
} from '../errors.js';
import type { AnyFieldType, Infer, InferInput, InferView } from '../layout/field.js';
import { MAX_MAPPING_LENGTH, MappedFile } from '../mapped-file.js';
import { native } from '../native.js';
import { closedError, headerError, lockedError, notLockedError, readOnlyError } from './errors.js';
import {
  decodeHeader,
  encodeHeader,
  FIXED_HEADER_SIZE,
  FLAG_BIG_ENDIAN,
  isProblem,
  OFFSET,
  schemaHash,
  type Header,
} from './format.js';
import { isBigEndian, schemaText, validateLayout, type RecordArray, type RecordLayout } from './layout-adapter.js';
// Followers (issue 14): the commit word and the waits live in their own modules; RecordFile only delegates.
import type { StructArray } from '../layout/struct-array.js';
import { advanceCommitWord, commitWordView } from './commit-word.js';
import {
  followBatches,
  followRecords,
  releaseFollowers,
  usesCommitWord,
  waitForCommit,
  waitForCommitAsync,
  type FollowOptions,
  type FollowTarget,
  type WaitForAsyncOptions,
  type WaitForOptions,
} from './follow.js';

/** How a record file is opened: see the table in this module's doc. */
export type RecordFileMode = 'r' | 'r+' | 'w+' | 'a+';

/**
 * When records are flushed (msync MS_SYNC, then the committed count):
 * - `'close'` (default) and `'manual'`: only when the program calls `flush()`/`flushAsync()`, and at `close()`.
 *   The two behave the same; `'manual'` says that the program commits at points of its choosing.
 * - `{ everyWrites: N }`: also after every N writes (a push of k values counts k, a set counts 1), synchronously.
 * - `{ intervalMs: T }`: also every T ms while there is something to flush, with `flushAsync()` from a timer that
 *   does not keep the process alive. A failed background flush is thrown by the next `flush()` or `close()`.
 */
export type FlushPolicy =
  | 'manual'
  | 'close'
  | {
      /** Flush after this many writes (>= 1). */
      everyWrites: number;
    }
  | {
      /** Flush every this many milliseconds while something is unflushed (>= 1). */
      intervalMs: number;
    };

/** Options of `RecordFile.open`. */
export interface RecordFileOptions {
  /** 'a+' (default), 'r+', 'w+' or 'r': see the module's table. */
  mode?: RecordFileMode;
  /** Records a new file has room for before it first grows (default 1024). Ignored when the file exists. */
  initialCapacity?: number;
  /** The flush policy (default 'close'). */
  flush?: FlushPolicy;
  /**
   * Cooperative writing by several processes (default false). No lock is held while the file is open; instead
   * every writer writes inside `withLock()`, which takes flock LOCK_EX, refreshes, runs the callback and flushes.
   * Writes outside it throw ERR_RECORD_FILE_NOT_LOCKED. Every writer of the file must open it with `shared: true`.
   */
  shared?: boolean;
  /** How long `withLock()` waits for the lock before it throws ERR_RECORD_FILE_LOCKED (default 10000 ms). */
  lockTimeoutMs?: number;
  /** Grow the file sparse (ftruncate) instead of reserving its blocks (posix_fallocate). Default false. */
  sparse?: boolean;
  /** Permission bits of a file this call creates (default 0o644). */
  fileMode?: number;
}

const MODES: readonly RecordFileMode[] = ['r', 'r+', 'w+', 'a+'];
const DEFAULT_CAPACITY = 1024;
const fdatasyncAsync = promisify(fdatasync);
/** Atomics on the header's 8-byte fields need host order = the format's little-endian order. */
const HOST_LITTLE_ENDIAN = endianness() === 'LE';
const COUNT_INDEX = OFFSET.count / 8;
const CAPACITY_INDEX = OFFSET.capacity / 8;

/**
 * A persistent record array. Open with `RecordFile.open(path, Struct, options)`; release with `close()` (or
 * `using`).
 */
export class RecordFile<S extends AnyFieldType = AnyFieldType> implements Disposable, Iterable<Infer<S>> {
  /** The path given to `open`. */
  readonly path: string;
  /** The mode the file was opened with. */
  readonly mode: RecordFileMode;
  /** The record's layout. */
  readonly layout: S;
  /** Bytes per record. */
  readonly recordSize: number;
  /** Byte offset of record 0 in the file (the header's header_size). */
  readonly dataOffset: number;
  /** The schema text stored in the header (JSON). */
  readonly schema: string;

  readonly #codec: RecordLayout;
  readonly #writable: boolean;
  readonly #shared: boolean;
  /** Writes allowed now: a writer, and for a shared writer only inside withLock(). */
  #canWrite: boolean;
  readonly #lockTimeoutMs: number;
  readonly #policy: FlushPolicy;
  readonly #everyWrites: number;
  #fd: number;
  #file: MappedFile | undefined;
  #dv!: DataView;
  /** The layout's StructArray over the `capacity` record slots: every record access goes through it. */
  #records!: RecordArray;
  #header64: BigUint64Array | undefined;
  #length: number;
  #capacity: number;
  /** Dirty record range [lo, hi): everything written since the last flush. Empty when lo >= hi. */
  #dirtyLo = Infinity;
  #dirtyHi = 0;
  /** The header page holds a change (a lowered count) not yet written back. */
  #headerDirty = false;
  #writesSinceFlush = 0;
  /** Lowest length since the current flushAsync took its snapshot (records below it were not replaced). */
  #lowWater = Infinity;
  /** Bumped by every remap: an async flush that spans one must not trust its msync of the old mapping. */
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #backgroundError: unknown;
  /** Byte offset of the header's commit word (version 2), and the writer's view of it (./commit-word.ts). */
  readonly #commitOffset: number | undefined;
  #commitWord: Int32Array | undefined;

  private constructor(init: {
    path: string;
    mode: RecordFileMode;
    layout: S;
    codec: RecordLayout;
    header: Header;
    fd: number;
    file: MappedFile;
    shared: boolean;
    lockTimeoutMs: number;
    policy: FlushPolicy;
    created: boolean;
  }) {
    this.path = init.path;
    this.mode = init.mode;
    this.layout = init.layout;
    this.#codec = init.codec;
    this.recordSize = init.header.recordSize;
    this.dataOffset = init.header.headerSize;
    this.schema = init.header.schema;
    this.#writable = init.mode !== 'r';
    this.#shared = init.shared;
    this.#canWrite = this.#writable && !init.shared;
    this.#lockTimeoutMs = init.lockTimeoutMs;
    this.#fd = init.fd;
    this.#file = init.file;
    this.#policy = init.policy;
    this.#everyWrites =
      typeof init.policy === 'object' && 'everyWrites' in init.policy ? init.policy.everyWrites : Infinity;
    this.#length = init.header.count;
    this.#capacity = init.header.capacity;
    this.#headerDirty = init.created;
    this.#commitOffset = init.header.commitOffset;
    this.#remapped();
    if (this.#writable && typeof init.policy === 'object' && 'intervalMs' in init.policy) {
      this.#timer = setInterval(() => this.#tick(), init.policy.intervalMs);
      this.#timer.unref();
    }
  }

  /**
   * Opens or creates the record file at `path` for records of `layout` (a struct). Reopening checks the magic,
   * format version, record size and schema hash; a mismatch throws ERR_RECORD_FILE_MISMATCH (with `field` naming
   * what differs), a damaged or short file ERR_RECORD_FILE_CORRUPT, and neither writes a byte to the file.
   * Writers take an exclusive lock (flock LOCK_EX | LOCK_NB): ERR_RECORD_FILE_LOCKED when another process holds it.
   */
  static open<S extends AnyFieldType>(path: string | URL, layout: S, options: RecordFileOptions = {}): RecordFile<S> {
    if (typeof path !== 'string' && !(path instanceof URL))
      throw invalidArgType('path', 'of type string or an instance of URL', path);
    const codec = validateLayout(layout);
    const opts = validateObject<RecordFileOptions>(options, 'options');
    const mode = opts.mode ?? 'a+';
    if (!MODES.includes(mode)) throw invalidArgValue('options.mode', mode, "must be one of 'r', 'r+', 'w+', 'a+'");
    const policy = validatePolicy(opts.flush);
    const shared = validateBoolean(opts.shared, 'options.shared', false);
    const sparse = validateBoolean(opts.sparse, 'options.sparse', false);
    const lockTimeoutMs = validateInteger(opts.lockTimeoutMs ?? 10_000, 'options.lockTimeoutMs', 0, 2 ** 31 - 1);
    const fileMode = validateInteger(opts.fileMode ?? 0o644, 'options.fileMode', 0, 0o7777);
    const maxCapacity = Math.floor((MAX_MAPPING_LENGTH - 65536) / layout.size);
    const initialCapacity = validateInteger(opts.initialCapacity ?? Math.min(DEFAULT_CAPACITY, maxCapacity), 'options.initialCapacity', 1, maxCapacity);
    const shown = path instanceof URL ? fileURLToPath(path) : path;

    const schema = schemaText(codec);
    const flags = isBigEndian(codec) ? FLAG_BIG_ENDIAN : 0;
    const { O_RDONLY, O_RDWR, O_CREAT } = fsConstants;
    const openFlags = mode === 'r' ? O_RDONLY : mode === 'r+' ? O_RDWR : O_RDWR | O_CREAT;
    let fd: number;
    try {
      fd = openSync(shown, openFlags, fileMode);
    } catch (error) {
      const { errno, syscall } = error as { errno?: number; syscall?: string };
      throw typeof errno === 'number' ? systemError(errno, syscall ?? 'open', shown) : error;
    }
    let file: MappedFile | undefined;
    try {
      const writer = mode !== 'r';
      // Lock before reading the header: a writer that is refused has not looked at, let alone changed, the file.
      if (writer) {
        if (shared) lockWithTimeout(fd, lockTimeoutMs, shown);
        else lockOrThrow(fd, shown);
      }
      let size = fstatSync(fd).size;
      const fresh = mode === 'w+' || (mode === 'a+' && isUninitialised(fd, size));
      if (fresh) {
        initialise(fd, { recordSize: layout.size, recordAlign: layout.align, capacity: initialCapacity, flags, schema }, sparse, shown);
        size = fstatSync(fd).size;
      }
      const header = readHeader(fd, size, shown);
      checkHeader(header, { recordSize: layout.size, schema, flags }, shown);
      file = MappedFile.open(shown, { mode: writer ? 'r+' : 'r', sparse });
      const a = fstatSync(fd);
      const b = fstatSync(file.fd);
      if (a.ino !== b.ino || a.dev !== b.dev)
        throw memmapError('ERR_RECORD_FILE_CHANGED', `record file '${shown}' was replaced while it was being opened: open it again`, { path: shown });
      if (writer && shared) native.flock(fd, native.constants.LOCK_UN);
      return new RecordFile<S>({ path: shown, mode, layout, codec, header, fd, file, shared, lockTimeoutMs, policy, created: fresh });
    } catch (error) {
      file?.close();
      closeSync(fd);
      throw error;
    }
  }

  /** Rebuilds the views over the mapping after it was (re)mapped or `#capacity` changed. */
  #remapped(): void {
    const buffer = this.#file!.buffer;
    this.#dv = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.#header64 = HOST_LITTLE_ENDIAN ? new BigUint64Array(buffer.buffer, buffer.byteOffset, FIXED_HEADER_SIZE / 8) : undefined;
    // In bounds: open() and refresh() check that the file (so the mapping) holds header + capacity records.
    this.#records = this.#codec.array(buffer, { offset: this.dataOffset, length: this.#capacity });
    this.#commitWord = this.#writable ? commitWordView(buffer, this.#commitOffset) : undefined;
    this.#generation++;
  }

  /** The mapping, after checking it is open and that no page of it was lost to a truncation by another program. */
  #open(): MappedFile {
    const file = this.#file;
    if (file === undefined) throw closedError(this.path);
    file.checkIntact(); // ERR_MAPPING_TRUNCATED / ERR_MAPPING_FAULTED: one memory read while nothing has faulted
    return file;
  }

  #checkWritable(operation: string): void {
    this.#open();
    if (!this.#writable) throw readOnlyError(this.path, operation);
    if (!this.#canWrite) throw notLockedError(this.path, operation);
  }

  /** The header's committed count, read as one 8-byte load. */
  #committed(): number {
    return this.#header64 ? Number(Atomics.load(this.#header64, COUNT_INDEX)) : Number(this.#dv.getBigUint64(OFFSET.count, true));
  }

  #storeCommitted(count: number): void {
    // One 8-byte store: a reader (or a crash) sees the old count or the new one, never a mix.
    if (this.#header64) Atomics.store(this.#header64, COUNT_INDEX, BigInt(count));
    else this.#dv.setBigUint64(OFFSET.count, BigInt(count), true);
  }

  #headerCapacity(): number {
    return this.#header64
      ? Number(Atomics.load(this.#header64, CAPACITY_INDEX))
      : Number(this.#dv.getBigUint64(OFFSET.capacity, true));
  }

  #storeCapacity(capacity: number): void {
    if (this.#header64) Atomics.store(this.#header64, CAPACITY_INDEX, BigInt(capacity));
    else this.#dv.setBigUint64(OFFSET.capacity, BigInt(capacity), true);
  }

  /** Records in the file as this process sees it: all it pushed (a writer), or the committed count at the last refresh (a reader). */
  get length(): number {
    return this.#length;
  }

  /** Records the file has room for before it grows. */
  get capacity(): number {
    return this.#capacity;
  }

  /** The header's committed count: records a crash keeps, and what readers in other processes see. */
  get committedLength(): number {
    this.#open();
    return this.#committed();
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#file === undefined;
  }

  #checkIndex(index: number, name = 'index'): void {
    this.#file?.checkIntact();
    if (!(index >= 0 && index < this.#length && Number.isInteger(index))) {
      this.#open();
      if (typeof index !== 'number') throw invalidArgType(name, 'of type number', index);
      throw outOfRange(name, this.#length === 0 ? 'an index into records, but there are none' : `an integer >= 0 && < ${this.#length}`, index);
    }
  }

  /** Record `index`, copied out as a plain value. */
  get(index: number): Infer<S> {
    this.#checkIndex(index);
    return this.#records.get(index) as Infer<S>;
  }

  /** Writes `value` over record `index` (< length). */
  set(index: number, value: InferInput<S>): void {
    if (!this.#canWrite) this.#checkWritable('set a record');
    this.#checkIndex(index);
    this.#records.set(index, value);
    if (index < this.#dirtyLo) this.#dirtyLo = index;
    if (index >= this.#dirtyHi) this.#dirtyHi = index + 1;
    if (++this.#writesSinceFlush >= this.#everyWrites) this.flush();
  }

  /**
   * A live view of record `index`: reading and writing its properties reads and writes the mapped bytes. The
   * record counts as written (it is flushed by the next flush). After a growth or `close()` the view is detached:
   * using it throws ERR_DETACHED_BUFFER, it never touches unmapped memory. Take a new one with `at()`.
   */
  at(index: number): InferView<S> {
    this.#checkIndex(index);
    if (this.#canWrite) {
      if (index < this.#dirtyLo) this.#dirtyLo = index;
      if (index >= this.#dirtyHi) this.#dirtyHi = index + 1;
    }
    return this.#records.at(index) as InferView<S>;
  }

  /**
   * Appends records and returns the new length. Grows the file (doubling its capacity: ftruncate or
   * posix_fallocate, then a new mapping) when full. A value that does not fit the layout throws, and it and the
   * values after it are not appended.
   */
  push(...values: InferInput<S>[]): number {
    const start = this.#length;
    // The common case, one value with room for it, without the loop (close() sets capacity to 0: never taken then).
    if (values.length === 1 && start < this.#capacity && this.#canWrite) {
      this.#file!.checkIntact(); // open: close() sets capacity to 0
      this.#records.set(start, values[0]); // a bad value throws here, before anything is counted
      this.#length = start + 1;
      if (start < this.#dirtyLo) this.#dirtyLo = start;
      this.#dirtyHi = start + 1; // dirtyHi <= length, so this only raises it
      if (++this.#writesSinceFlush >= this.#everyWrites) this.flush();
      return start + 1;
    }
    return this.#pushMany(values);
  }

  #pushMany(values: InferInput<S>[]): number {
    if (this.#file === undefined) throw closedError(this.path);
    if (!this.#canWrite) this.#checkWritable('push records');
    const start = this.#length;
    let n = start;
    try {
      for (let i = 0; i < values.length; i++) {
        if (n === this.#capacity) this.#grow(n + 1);
        this.#records.set(n, values[i]);
        n++;
      }
    } finally {
      this.#length = n;
      if (n > start) {
        if (start < this.#dirtyLo) this.#dirtyLo = start;
        if (n > this.#dirtyHi) this.#dirtyHi = n;
      }
    }
    this.#writesSinceFlush += n - start;
    if (this.#writesSinceFlush >= this.#everyWrites) this.flush();
    return n;
  }

  /** Removes the last record and returns it (undefined when empty). */
  pop(): Infer<S> | undefined {
    this.#checkWritable('pop a record');
    if (this.#length === 0) return undefined;
    const value = this.get(this.#length - 1);
    this.truncate(this.#length - 1);
    return value;
  }

  /**
   * Shortens the array to `newLength` records. Lowering the committed count is written to the header at once
   * (a crash then keeps at most `newLength` records); the file keeps its size and capacity.
   */
  truncate(newLength: number): void {
    this.#checkWritable('truncate');
    validateInteger(newLength, 'newLength', 0, this.#length);
    this.#length = newLength;
    if (newLength < this.#lowWater) this.#lowWater = newLength;
    if (this.#dirtyHi > newLength) this.#dirtyHi = newLength;
    if (this.#committed() > newLength) {
      this.#storeCommitted(newLength);
      this.#headerDirty = true;
      advanceCommitWord(this.#commitWord, true); // followers learn of the truncation (./commit-word.ts)
    }
  }

  /** Copies of records `start` to `end` (exclusive), negative indexes counting from the end, as Array#slice. */
  slice(start = 0, end = this.#length): Infer<S>[] {
    this.#open();
    const length = this.#length;
    const from = clampIndex(validateNumber(start, 'start'), length);
    const to = clampIndex(validateNumber(end, 'end'), length);
    const out: Infer<S>[] = [];
    for (let i = from; i < to; i++) out.push(this.get(i));
    return out;
  }

  /** The index of the first record for which `predicate` is true, or -1. Reads each record once, in order. */
  findIndex(predicate: (record: Infer<S>, index: number) => unknown): number {
    if (typeof predicate !== 'function') throw invalidArgType('predicate', 'of type function', predicate);
    for (let i = 0; i < this.#length; i++) if (predicate(this.get(i), i)) return i;
    return -1;
  }

  /** The first record for which `predicate` is true, or undefined. */
  find(predicate: (record: Infer<S>, index: number) => unknown): Infer<S> | undefined {
    const index = this.findIndex(predicate);
    return index === -1 ? undefined : this.get(index);
  }

  /** Copies of the records, in order, up to the length when each step is taken. */
  *[Symbol.iterator](): Iterator<Infer<S>> {
    for (let i = 0; i < this.#length; i++) yield this.get(i);
  }

  /** Doubles the capacity (at least to `needed`): grows the file first, then the header's capacity. */
  #grow(needed: number): void {
    const file = this.#open();
    const maxCapacity = Math.floor((MAX_MAPPING_LENGTH - this.dataOffset) / this.recordSize);
    if (needed > maxCapacity)
      throw memmapError(
        'ERR_RECORD_FILE_FULL',
        `record file '${this.path}' cannot grow past ${maxCapacity} records (${MAX_MAPPING_LENGTH} bytes, the largest mapping Node can hold): start another file`,
        { path: this.path, kind: 'RangeError' },
      );
    const capacity = Math.min(maxCapacity, Math.max(needed, this.#capacity * 2, 1));
    const bytes = this.dataOffset + capacity * this.recordSize;
    // Never shrink: the file may be longer than the header says (a growth cut short by a crash, another writer).
    file.resize(Math.max(bytes, fstatSync(this.#fd).size));
    this.#capacity = capacity;
    this.#remapped();
    // The file is long enough before the header says so: a crash between the two leaves slack, never a short file.
    this.#storeCapacity(capacity);
    this.#headerDirty = true;
  }

  /**
   * Writes back what changed since the last flush and commits it: msync(MS_SYNC) of the dirty record range, then
   * the header's count is advanced to `length` and the header page is written back. Costs time in proportion to
   * the records changed, not to the file. Does nothing for a file opened with mode 'r'.
   */
  flush(): void {
    const file = this.#open();
    this.#throwBackgroundError();
    if (!this.#canWrite) return;
    const lo = this.#dirtyLo;
    const hi = this.#dirtyHi;
    if (hi > lo) file.flush({ offset: this.dataOffset + lo * this.recordSize, length: (hi - lo) * this.recordSize });
    this.#dirtyLo = Infinity;
    this.#dirtyHi = 0;
    this.#writesSinceFlush = 0;
    this.#commit(this.#length);
    if (this.#headerDirty) {
      this.#headerDirty = false;
      file.flush({ offset: 0, length: FIXED_HEADER_SIZE });
    }
  }

  /** Advances the committed count to `count` (never lowers it: truncate() does that). */
  #commit(count: number): void {
    if (count > this.#committed()) {
      this.#storeCommitted(count);
      this.#headerDirty = true;
      advanceCommitWord(this.#commitWord); // wakes followers, if any sleep (./commit-word.ts)
    }
  }

  /**
   * As `flush()`, with the msync calls on the libuv thread pool: the event loop keeps running while the disk
   * writes. Records written while it runs are left for the next flush. Concurrent calls run one after another.
   */
  flushAsync(): Promise<void> {
    if (this.#file === undefined) return Promise.reject(closedError(this.path));
    const previous = this.#flushing ?? Promise.resolve();
    const run = previous.then(() => this.#flushAsync());
    const settled = run.catch(() => undefined);
    this.#flushing = settled;
    void settled.then(() => {
      if (this.#flushing === settled) this.#flushing = undefined;
    });
    return run;
  }

  async #flushAsync(): Promise<void> {
    // Closed since flushAsync() was called: close() flushed everything.
    const file = this.#file;
    if (file === undefined) return;
    this.#throwBackgroundError();
    if (!this.#canWrite) return;
    const lo = this.#dirtyLo;
    const hi = this.#dirtyHi;
    const target = this.#length;
    const generation = this.#generation;
    this.#dirtyLo = Infinity;
    this.#dirtyHi = 0;
    this.#writesSinceFlush = 0;
    this.#lowWater = target;
    try {
      if (hi > lo) await file.flushAsync({ offset: this.dataOffset + lo * this.recordSize, length: (hi - lo) * this.recordSize });
      if (this.#file === undefined) return; // closed meanwhile: close() flushed
      // A growth remapped the file while msync ran: write the file's dirty pages back through the descriptor.
      if (generation !== this.#generation) await fdatasyncAsync(this.#fd);
      if (this.#file === undefined) return;
      this.#commit(Math.min(target, this.#lowWater));
      if (this.#headerDirty) {
        this.#headerDirty = false;
        await this.#file.flushAsync({ offset: 0, length: FIXED_HEADER_SIZE });
      }
    } catch (error) {
      // Not written: keep the range dirty for the next flush.
      if (hi > lo) {
        this.#dirtyLo = Math.min(this.#dirtyLo, lo);
        this.#dirtyHi = Math.min(Math.max(this.#dirtyHi, hi), this.#length);
      }
      if (this.#file === undefined) return;
      throw error;
    } finally {
      this.#lowWater = Infinity;
    }
  }

  #tick(): void {
    if (this.#file === undefined || this.#flushing !== undefined) return;
    if (this.#dirtyHi <= this.#dirtyLo && this.#length <= this.#committed() && !this.#headerDirty) return;
    this.flushAsync().catch((error: unknown) => {
      this.#backgroundError ??= error;
    });
  }

  #throwBackgroundError(): void {
    if (this.#backgroundError === undefined) return;
    const error = this.#backgroundError;
    this.#backgroundError = undefined;
    throw error;
  }

  /**
   * Picks up what other processes did: the committed count and capacity in the header, and a file grown by
   * another writer (the file is mapped again; views taken before are detached). For a reader (mode 'r') and a
   * shared writer, `length` becomes the committed count. Returns `length`.
   */
  refresh(): number {
    const file = this.#file;
    if (file === undefined) throw closedError(this.path);
    if (file.truncated || file.faulted) {
      // Another program cut the file: map what is left. Records past the cut are gone, for a writer too. A file cut
      // inside its header is not remapped: it stays truncated, and every operation keeps saying so.
      const size = fstatSync(file.fd).size;
      if (size < this.dataOffset + this.recordSize)
        throw headerError(
          { kind: 'corrupt', field: 'size', message: `the file was cut to ${size} bytes, shorter than its header and one record` },
          this.path,
        );
      file.refresh();
      this.#capacity = Math.floor((file.length - this.dataOffset) / this.recordSize);
      this.#remapped();
      this.#length = Math.min(this.#length, this.#capacity);
      this.#dirtyHi = Math.min(this.#dirtyHi, this.#length);
      if (this.#lowWater > this.#length) this.#lowWater = this.#length;
      if (this.#canWrite) {
        // The writer (it holds the lock) makes the header true again: no more capacity, nor count, than is left.
        this.#storeCapacity(this.#capacity);
        if (this.#committed() > this.#capacity) this.#storeCommitted(this.#capacity);
      }
    }
    // count before capacity: a writer stores capacity before a count that needs it, so count <= capacity here.
    const count = this.#committed();
    const capacity = this.#headerCapacity();
    if (this.dataOffset + capacity * this.recordSize > file.length) {
      // Another process grew the file (it makes the file longer before it stores the capacity): map it again.
      file.refresh();
      this.#capacity = Math.min(capacity, Math.floor((file.length - this.dataOffset) / this.recordSize));
      this.#remapped();
    } else if (capacity !== this.#capacity) {
      this.#capacity = capacity;
      this.#remapped();
    }
    if (count > this.#capacity)
      throw headerError(
        { kind: 'corrupt', field: 'count', message: `the header counts ${count} records but the file holds only ${this.#capacity}` },
        this.path,
      );
    if (!this.#writable || this.#shared) {
      this.#length = count;
      this.#dirtyLo = Infinity;
      this.#dirtyHi = 0;
    }
    return this.#length;
  }

  /**
   * Runs `fn` as the only writer: takes flock LOCK_EX (waiting up to `lockTimeoutMs`, then
   * ERR_RECORD_FILE_LOCKED), `refresh()`es, runs `fn(this)`, flushes and releases the lock. For files opened with
   * `shared: true`; on an exclusive writer it runs `fn` and flushes (the lock is already held).
   */
  withLock<R>(fn: (file: this) => R): R {
    this.#open();
    if (!this.#writable) throw readOnlyError(this.path, 'write under the lock');
    if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
    // An exclusive writer holds the lock already, and so does a nested call.
    if (!this.#shared || this.#canWrite) {
      const result = fn(this);
      this.flush();
      return result;
    }
    lockWithTimeout(this.#fd, this.#lockTimeoutMs, this.path);
    try {
      this.refresh();
      this.#canWrite = true;
      const result = fn(this);
      this.flush();
      return result;
    } finally {
      this.#canWrite = false;
      native.flock(this.#fd, native.constants.LOCK_UN);
    }
  }

  /**
   * Flushes (writers, whatever the policy), unmaps (every view is detached) and closes the file, which releases
   * the lock. Idempotent. If the flush fails the file is still closed, and the error is thrown.
   */
  close(): void {
    const file = this.#file;
    if (file === undefined) return;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    let failure: unknown;
    try {
      if (this.#writable && !this.#shared) this.flush();
    } catch (error) {
      failure = error;
    }
    this.#file = undefined;
    this.#header64 = undefined;
    this.#commitWord = undefined;
    releaseFollowers(this); // ends waits and follows of this file (./follow.ts)
    this.#length = 0;
    this.#capacity = 0;
    try {
      file.close();
    } finally {
      closeSync(this.#fd);
      this.#fd = -1;
    }
    if (failure !== undefined) throw failure;
  }

  // --- Followers (issue 14): thin delegates to ./follow.ts ---

  /** What ./follow.ts uses of this file. */
  #followTarget(): FollowTarget<S> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      owner: this,
      path: this.path,
      dataOffset: this.dataOffset,
      get fd() {
        return self.#fd;
      },
      get closed() {
        return self.closed;
      },
      refresh: () => this.refresh(),
      committed: () => this.committedLength,
      get: (index) => this.get(index),
      records: (from, to) => (this.#records as unknown as StructArray<S>).subarray(from, to),
    };
  }

  /**
   * Blocks until the committed count (what a writer's flush made durable, in any process) reaches `length`, and
   * returns it. Sleeps on the header's commit word, woken by the commit. ERR_RECORD_FILE_WAIT_TIMEOUT after
   * `timeoutMs`. Blocks the thread: in the main thread, prefer `waitForAsync`.
   */
  waitFor(length: number, options?: WaitForOptions): number {
    return waitForCommit(this.#followTarget(), length, options);
  }

  /**
   * As `waitFor`, without blocking the event loop (the futex wait runs on the libuv thread pool). Rejects with
   * ERR_RECORD_FILE_WAIT_TIMEOUT after `timeoutMs`, with an AbortError (ABORT_ERR) when `signal` aborts, and
   * with ERR_RECORD_FILE_CLOSED when the file is closed meanwhile.
   */
  waitForAsync(length: number, options?: WaitForAsyncOptions): Promise<number> {
    return waitForCommitAsync(this.#followTarget(), length, options);
  }

  /**
   * Every committed record from `from` (default 0) on, in order, as they are committed: forever, until the file
   * is closed (the iteration ends) or the signal aborts (AbortError). A truncation below what was yielded throws
   * ERR_RECORD_FILE_TRUNCATED. See FollowOptions for a writer that dies.
   */
  follow(options?: FollowOptions): AsyncGenerator<Infer<S>, void, undefined> {
    return followRecords(this.#followTarget(), options);
  }

  /** As `follow`, a StructArray of the newly committed records per wake-up (valid until the next step). */
  followBatches(options?: FollowOptions): AsyncGenerator<StructArray<S>, void, undefined> {
    return followBatches(this.#followTarget(), options);
  }

  /** Whether waits sleep on the header's commit word (false: a version 1 file or no write permission; they poll). */
  get followsByCommitWord(): boolean {
    return usesCommitWord(this.#followTarget());
  }

  /** `using db = RecordFile.open(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function validatePolicy(policy: unknown): FlushPolicy {
  if (policy === undefined) return 'close';
  if (policy === 'manual' || policy === 'close') return policy;
  if (policy !== null && typeof policy === 'object' && !Array.isArray(policy)) {
    const p = policy as { everyWrites?: unknown; intervalMs?: unknown };
    if ('everyWrites' in p && !('intervalMs' in p))
      return { everyWrites: validateInteger(p.everyWrites, 'options.flush.everyWrites', 1) };
    if ('intervalMs' in p && !('everyWrites' in p))
      return { intervalMs: validateInteger(p.intervalMs, 'options.flush.intervalMs', 1, 2 ** 31 - 1) };
  }
  throw invalidArgValue('options.flush', policy, "must be 'manual', 'close', { everyWrites: N } or { intervalMs: T }");
}

function validateNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw invalidArgType(name, 'of type number', value);
  return value;
}

function clampIndex(index: number, length: number): number {
  const i = Math.trunc(index);
  return i < 0 ? Math.max(0, length + i) : Math.min(i, length);
}

const EWOULDBLOCK = 11;

/** flock(LOCK_EX | LOCK_NB), or ERR_RECORD_FILE_LOCKED. */
function lockOrThrow(fd: number, path: string): void {
  try {
    native.flock(fd, native.constants.LOCK_EX | native.constants.LOCK_NB);
  } catch (error) {
    const errno = Math.abs((error as { errno?: number }).errno ?? 0);
    if (errno === EWOULDBLOCK) throw lockedError(path, errno);
    throw systemError(errno, 'flock', path);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** flock(LOCK_EX), retried every few ms for up to `timeoutMs` (a blocking flock could wait forever). */
function lockWithTimeout(fd: number, timeoutMs: number, path: string): void {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      lockOrThrow(fd, path);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_RECORD_FILE_LOCKED' || Date.now() >= deadline) throw error;
    }
    Atomics.wait(sleeper, 0, 0, wait);
  }
}

/** An empty file, or one whose fixed header is all zeros (a creation cut short), is started afresh by 'a+'. */
function isUninitialised(fd: number, size: number): boolean {
  if (size === 0) return true;
  const head = Buffer.alloc(Math.min(size, FIXED_HEADER_SIZE));
  readSync(fd, head, 0, head.length, 0);
  return head.every((byte) => byte === 0);
}

/** Writes a new header with count 0 and sizes the file for `capacity` records. */
function initialise(
  fd: number,
  fields: { recordSize: number; recordAlign: number; capacity: number; flags: number; schema: string },
  sparse: boolean,
  path: string,
): void {
  const header = encodeHeader(fields);
  const size = header.length + fields.capacity * fields.recordSize;
  try {
    ftruncateSync(fd, 0);
    if (sparse) ftruncateSync(fd, size);
    else {
      try {
        native.fallocate(fd, 0, size);
      } catch {
        ftruncateSync(fd, size);
      }
    }
    // One write of the whole header, after the file has its size: a crash leaves zeros (started again by 'a+')
    // or a whole header, never a header whose capacity the file does not have. The first flush (or close) writes
    // it back to the device with the records.
    writeSync(fd, header, 0, header.length, 0);
  } catch (error) {
    const { errno, syscall } = error as { errno?: number; syscall?: string };
    throw typeof errno === 'number' ? systemError(errno, syscall ?? 'write', path) : error;
  }
}

/** Reads and decodes the header, or throws ERR_RECORD_FILE_CORRUPT / ERR_RECORD_FILE_MISMATCH. */
function readHeader(fd: number, size: number, path: string): Header {
  const fixed = Buffer.alloc(Math.min(size, FIXED_HEADER_SIZE));
  readSync(fd, fixed, 0, fixed.length, 0);
  let result = decodeHeader(fixed, size);
  if (isProblem(result) && result.field === 'size' && fixed.length === FIXED_HEADER_SIZE) {
    // The fixed part is fine; read the whole header (schema included) and decode again.
    const headerSize = fixed.readUInt32LE(OFFSET.headerSize);
    if (headerSize <= size) {
      const whole = Buffer.alloc(headerSize);
      readSync(fd, whole, 0, headerSize, 0);
      result = decodeHeader(whole, size);
    }
  }
  if (isProblem(result)) throw headerError(result, path);
  return result;
}

/** Compares a decoded header with the layout the program gave: record size, then schema hash, then flags. */
function checkHeader(header: Header, wanted: { recordSize: number; schema: string; flags: number }, path: string): void {
  if (header.recordSize !== wanted.recordSize)
    throw headerError(
      {
        kind: 'mismatch',
        field: 'recordSize',
        message: `its records are ${header.recordSize} bytes, the struct given is ${wanted.recordSize} bytes`,
        expected: wanted.recordSize,
        actual: header.recordSize,
      },
      path,
    );
  const hash = schemaHash(wanted.schema);
  if (header.schemaHash !== hash)
    throw headerError(
      {
        kind: 'mismatch',
        field: 'schemaHash',
        message: `its records were written with another struct (schema hash ${header.schemaHash.slice(0, 16)}..., the struct given has ${hash.slice(0, 16)}...); the file's schema is ${header.schema}`,
        expected: hash,
        actual: header.schemaHash,
      },
      path,
    );
  if (header.flags !== wanted.flags)
    throw headerError(
      {
        kind: 'mismatch',
        field: 'flags',
        message: `its records are ${header.flags & FLAG_BIG_ENDIAN ? 'big' : 'little'}-endian, the struct given is not`,
        expected: wanted.flags,
        actual: header.flags,
      },
      path,
    );
}
