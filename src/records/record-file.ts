/**
 * RecordFile: a persistent array of fixed-size records in a mapped file (docs/format.md), read and written at
 * memory speed through a MAP_SHARED mapping, flushed to disk when the program says so.
 *
 * | mode  | file                                   | writes | lock                                         |
 * |-------|----------------------------------------|--------|----------------------------------------------|
 * | 'a+'  | opened; created when missing or empty   | yes    | flock LOCK_EX while open (unless `shared`)   |
 * | 'r+'  | opened; must exist and be a record file| yes    | flock LOCK_EX while open (unless `shared`)   |
 * | 'w+'  | created, or replaced by a new empty one | yes    | flock LOCK_EX while open (unless `shared`)   |
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
import { invalidArgType, validateInteger } from '../errors.js';
import type { AnyFieldType, Infer, InferInput, InferView } from '../layout/field.js';
import type { StructArray } from '../layout/struct-array.js';
import { indexError, isIterable, sliceBound } from './arguments.js';
import { copyColumn, fieldNamed, fieldsOf, type Column } from './columns.js';
import { notLockedError, readOnlyError } from './errors.js';
import { forgetWriter, rememberWriter } from './exit-commit.js';
import { Flusher } from './flushing.js';
import {
  followBatches,
  followRecords,
  followTargetOf,
  releaseFollowers,
  usesCommitWord,
  waitForCommit,
  waitForCommitAsync,
  type FollowOptions,
  type FollowTarget,
  type WaitForAsyncOptions,
  type WaitForOptions,
} from './follow.js';
import { isBigEndian, type RecordLayout } from './layout-adapter.js';
import { closeOpened, openRecordFile, type OpenedRecordFile } from './opening.js';
import { validateOpen, type OpenRequest, type RecordFileMode, type RecordFileOptions } from './options.js';
import { RecordEncoder, type RecordTarget } from './record-encoder.js';
import { RecordMapping } from './record-mapping.js';
import type { WriterLock } from './writer-lock.js';

export type { FlushPolicy, RecordFileMode, RecordFileOptions } from './options.js';

/**
 * The RecordFile closed last, kept so that one object of each kind a RecordFile is made of stays alive (a closed
 * file holds no mapping and no descriptor). Why: V8 holds an object's shape (map) only weakly from its class's
 * initial one, so when every RecordFile has been collected their shapes go too, with the code optimized for them;
 * the next file gets new shapes, and after four generations each property access on push()'s path has seen more
 * shapes than V8 specializes for and stays generic (measured: 1e6 pushes to a new file, one file after another,
 * 80 ms -> 220 ms of CPU from the fourth file on, Node 20 and 24). close() drops what is large first: the scratch
 * record, and every view of the mapping (a closed mapping's address range stays reserved while one lives).
 */
const lastClosed: { file: RecordFile | undefined } = { file: undefined };

/** The `arg` of a PlaceTarget's slot() that asks for the first free slot (push), not a record's index (set). */
const APPEND = -1;

/** RecordFile's #slot, for RecordSlots (set in RecordFile's static block). */
let slotIn: (file: RecordFile, arg: number) => number;

/**
 * The PlaceTarget of one file (src/layout/codegen.ts): one object, one method, shared by every file. Not a closure
 * per file: V8 inlines a closure called from a hot loop with its context, so the optimized code would hold that one
 * file and be thrown away when the file is collected.
 */
class RecordSlots implements RecordTarget {
  dv: DataView;
  bytes: Uint8Array;
  readonly #file: RecordFile;
  constructor(file: RecordFile, mapping: RecordMapping) {
    this.#file = file;
    this.dv = mapping.dv;
    this.bytes = mapping.bytes;
  }
  slot(arg: number): number {
    return slotIn(this.#file, arg);
  }
}

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
  // Bytes per record and the offset of record 0, from the header: private, so that a property a program gives the
  // object (an own `dataOffset` of 0) cannot move where a push or set writes (over the header) or a column reads.
  readonly #recordSize: number;
  readonly #dataOffset: number;
  /** The schema text stored in the header (JSON). */
  readonly schema: string;

  readonly #codec: RecordLayout;
  readonly #writable: boolean;
  readonly #shared: boolean;
  /** Writes allowed now: a writer, and for a shared writer only inside withLock(). */
  #canWrite: boolean;
  readonly #lockTimeoutMs: number;
  /** The writer's lock (undefined for a reader). */
  readonly #lock: WriterLock | undefined;
  /** The mapping, its views and the header's words: see record-mapping.ts. */
  readonly #mapping: RecordMapping;
  #length: number;
  /** What the next flush writes back, msync and commit, the interval timer: see flushing.ts. */
  readonly #flusher: Flusher;
  /** Checks a value whole before set()/push() store it: see record-encoder.ts. */
  readonly #encoder: RecordEncoder;
  /** Where set() and push() store, asked once the value is checked (its getters ran): see #slot. */
  readonly #slots: RecordSlots;
  /** What ./follow.ts uses of this file (the followers' waits are there; the methods here only delegate). */
  readonly #follow: FollowTarget<S>;

  private constructor(request: OpenRequest, layout: S, opened: OpenedRecordFile) {
    const { header } = opened;
    this.path = request.path;
    this.mode = request.mode;
    this.layout = layout;
    this.#codec = request.codec;
    this.#recordSize = header.recordSize;
    this.#dataOffset = header.headerSize;
    this.schema = header.schema;
    this.#writable = request.mode !== 'r';
    this.#shared = request.shared;
    this.#canWrite = this.#writable && !request.shared;
    this.#lockTimeoutMs = request.lockTimeoutMs;
    this.#lock = opened.lock;
    this.#length = header.count;
    this.#flusher = new Flusher({ length: () => this.#length, canWrite: () => this.#canWrite }, request.policy);
    const { fd, file } = opened;
    this.#mapping = new RecordMapping({ ...request, header, fd, file, books: this.#flusher.books });
    this.#flusher.mapping = this.#mapping;
    this.#encoder = new RecordEncoder(this.#codec, this.#recordSize);
    this.#slots = new RecordSlots(this, this.#mapping);
    this.#follow = followTargetOf(this, this.#mapping);
    if (!this.#writable) return;
    this.#flusher.startTimer();
    rememberWriter(this, {
      file: this,
      manual: request.policy === 'manual',
      shared: this.#shared,
      uncommitted: () => this.#length - this.#mapping.committed(),
    });
  }

  /**
   * Opens or creates the record file at `path` for records of `layout` (a struct). Reopening checks the magic,
   * format version, record size and schema hash; a mismatch throws ERR_RECORD_FILE_MISMATCH (with `field` naming
   * what differs), a damaged or short file ERR_RECORD_FILE_CORRUPT, and neither writes a byte to the file.
   * Writers take an exclusive lock (flock LOCK_EX | LOCK_NB): ERR_RECORD_FILE_LOCKED when another process holds it.
   */
  static open<S extends AnyFieldType>(path: string | URL, layout: S, options: RecordFileOptions = {}): RecordFile<S> {
    const request = validateOpen(path, layout, options);
    const opened = openRecordFile(request);
    try {
      return new RecordFile<S>(request, layout, opened);
    } catch (error) {
      closeOpened(opened);
      throw error;
    }
  }

  #checkWritable(operation: string): void {
    this.#mapping.open();
    if (!this.#writable) throw readOnlyError(this.path, operation);
    if (!this.#canWrite) throw notLockedError(this.path, operation);
  }

  /** Bytes per record. */
  get recordSize(): number {
    return this.#recordSize;
  }

  /** Byte offset of record 0 in the file (the header's header_size). */
  get dataOffset(): number {
    return this.#dataOffset;
  }

  /** Records in the file as this process sees it: all it pushed (a writer), or the committed count at the last refresh (a reader). */
  get length(): number {
    return this.#length;
  }

  /** Records the file has room for before it grows. */
  get capacity(): number {
    return this.#mapping.capacity;
  }

  /** The header's committed count: records a crash keeps, and what readers in other processes see. */
  get committedLength(): number {
    this.#mapping.open();
    return this.#mapping.committed();
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#mapping.closed;
  }

  #checkIndex(index: number, name = 'index'): void {
    this.#mapping.checkIntact();
    if (!(index >= 0 && index < this.#length && Number.isInteger(index))) {
      this.#mapping.open();
      throw indexError(name, index, this.#length);
    }
  }

  /**
   * Record `index`, copied out as a plain value. If another program cut the file under it, the read that met the
   * cut throws ERR_MAPPING_TRUNCATED (the zeros memmap's SIGBUS handler put there are never returned as a record).
   */
  get(index: number): Infer<S> {
    // Checked before the read as well as after: once a page has faulted, a read of another page would fault again,
    // and each repaired page costs mappings (up to vm.max_map_count, then a SIGBUS nothing can repair). Measured
    // without it: 32 gets on a full filesystem added 72 mappings (test/reliability/space.test.ts).
    this.#checkIndex(index);
    const value = this.#mapping.records.get(index) as Infer<S>;
    this.#mapping.checkIntact();
    return value;
  }

  /**
   * Writes `value` over record `index` (< length). The whole value is encoded and checked before the first byte
   * of the file changes: a rejected value leaves the record as it was.
   */
  set(index: number, value: InferInput<S>): void {
    if (!this.#canWrite) this.#checkWritable('set a record');
    this.#checkIndex(index);
    this.#encoder.place(value, this.#slots, index);
    const books = this.#flusher.books;
    books.written(index);
    books.writes++;
    if (this.#flusher.due) this.flush();
  }

  /**
   * A live view of record `index`: reading and writing its properties reads and writes the mapped bytes. Every
   * write through it, at any time, is written back by the next flush. After a growth or `close()` the view is
   * detached: using it throws ERR_DETACHED_BUFFER, it never touches unmapped memory. Take a new one with `at()`.
   * A record that another program cut from the file throws ERR_MAPPING_TRUNCATED here; a cut made after the view
   * was taken is reported by the next get(), at(), push() or flush(), not by the view.
   */
  at(index: number): InferView<S> {
    this.#checkIndex(index);
    const mapping = this.#mapping;
    mapping.touch(index); // a cut is found now, not by the view
    if (this.#writable) this.#flusher.books.viewed(index);
    return mapping.records.at(index);
  }

  /**
   * Appends records and returns the new length. Grows the file (doubling its capacity, its blocks reserved, then a
   * new mapping) when full. A value that does not fit the layout throws, and it and the values after it are not
   * appended; the ones before it are. For many values, `pushMany` takes any iterable without spreading it.
   */
  push(...values: InferInput<S>[]): number {
    if (values.length === 1 && this.#canWrite) {
      // The common case, one value: no iterable to check (close() clears #canWrite: a closed file takes the long way).
      this.#append(values[0]);
      if (this.#flusher.due) this.flush();
      return this.#length;
    }
    return this.pushMany(values);
  }

  /**
   * Appends every value of `values` (an array, a generator, any iterable: 1e6 values are fine) and returns the new
   * length. As push(): a value that does not fit throws, and the values before it are appended.
   */
  pushMany(values: Iterable<InferInput<S>>): number {
    if (!this.#canWrite) this.#checkWritable('push records');
    if (!isIterable(values)) throw invalidArgType('values', 'an iterable of records', values);
    this.#mapping.open();
    // An array by index: a patched Array.prototype[Symbol.iterator] is never called.
    if (Array.isArray(values)) for (let i = 0; i < values.length; i++) this.#append(values[i] as InferInput<S>);
    else for (const value of values) this.#append(value);
    if (this.#flusher.due) this.flush();
    return this.#length;
  }

  /** Appends one value: checked, then stored into the first free slot (see #slot) and counted. */
  #append(value: InferInput<S> | undefined): void {
    const mapping = this.#mapping;
    if (this.#length === mapping.capacity) mapping.maxCapacity(this.#length + 1); // ERR_RECORD_FILE_FULL before reading the value
    this.#encoder.place(value, this.#slots, APPEND);
    // No code but memmap's ran since #slot: the record is in slot `length`. Counted only now that it is whole.
    const at = this.#length;
    this.#length = at + 1;
    const books = this.#flusher.books;
    books.written(at);
    books.writes++;
  }

  /**
   * Where a checked value goes: record `arg` for set(), the first free slot for push() (`arg` = APPEND). The value's
   * getters ran since set() or push() checked the file: they may have closed it, or pushed, shortened or grown it,
   * so everything is checked again here (a throw leaves the file as it was), and the file grows when full.
   */
  #slot(arg: number): number {
    const mapping = this.#mapping;
    let at = arg;
    if (arg === APPEND) {
      if (!this.#canWrite) this.#checkWritable('push records');
      mapping.open();
      at = this.#length;
      if (at === mapping.capacity) mapping.grow(at + 1);
    } else {
      if (!this.#canWrite) this.#checkWritable('set a record');
      this.#checkIndex(at);
    }
    const slots = this.#slots;
    slots.dv = mapping.dv;
    slots.bytes = mapping.bytes;
    return this.#dataOffset + at * this.#recordSize;
  }

  static {
    slotIn = (file, arg) => file.#slot(arg);
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
    this.#flusher.books.cut(newLength);
    this.#mapping.uncommit(newLength); // followers learn of the truncation (./commit-word.ts)
  }

  /** Copies of records `start` to `end` (exclusive), negative indexes counting from the end, as Array#slice. */
  slice(start = 0, end = this.#length): Infer<S>[] {
    this.#mapping.open();
    const length = this.#length;
    const from = sliceBound(start, 'start', length);
    const to = sliceBound(end, 'end', length);
    const out: Infer<S>[] = [];
    for (let i = from; i < to; i++) out.push(this.get(i));
    return out;
  }

  /** Copies of every record, in order: `slice()`. */
  toArray(): Infer<S>[] {
    return this.slice();
  }

  /**
   * The values of field `name` of every record, copied into a typed array: Int32Array for an int32 field,
   * BigInt64Array for int64, Float64Array for float64, Uint8Array for bool, and so on; a plain array for a char,
   * bytes, array or struct field.
   */
  column(name: keyof Infer<S> & string): Column {
    const mapping = this.#mapping;
    mapping.open();
    const field = fieldNamed(this.#codec, name);
    const span = { offset: this.#dataOffset, recordSize: this.#recordSize, length: this.#length };
    const read = (index: number): unknown => (this.get(index) as Record<string, unknown>)[name];
    const out = copyColumn(mapping.dv, span, field, { littleEndian: !isBigEndian(this.#codec), read });
    mapping.checkIntact(); // a cut met while copying: the zeros it read are not returned
    return out;
  }

  /** `column(name)` of every field, by name. */
  columns(): Record<keyof Infer<S> & string, Column> {
    this.#mapping.open();
    const out: Record<string, Column> = Object.create(null) as Record<string, Column>;
    for (const field of fieldsOf(this.#codec)) out[field.name] = this.column(field.name as keyof Infer<S> & string);
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

  /**
   * Writes back what changed since the last flush and commits it: msync(MS_SYNC) of the records written since the
   * last flush, those live `at()` views may have written, and any an unfinished flushAsync() is writing; then the
   * header's count is advanced to `length` and the header page is written back. Costs time in proportion to the
   * dirty pages, not to the file (the kernel skips clean pages). Does nothing for a file opened with mode 'r'.
   */
  flush(): void {
    this.#flusher.flush();
  }

  /**
   * As `flush()`, with the msync calls on the libuv thread pool: the event loop keeps running while the disk
   * writes. Records written while it runs are left for the next flush. Concurrent calls run one after another.
   * If the file is closed before it is done, close() wrote back and committed what it was writing (close waits
   * for nothing: its own flush covers the range in flight), and the promise resolves.
   */
  flushAsync(): Promise<void> {
    return this.#flusher.flushAsync();
  }

  /**
   * Picks up what other processes did: the committed count and capacity in the header, and a file grown by
   * another writer (the file is mapped again; views taken before are detached). For a reader (mode 'r') and a
   * shared writer, `length` becomes the committed count. Returns `length`.
   */
  refresh(): number {
    const { count, length } = this.#mapping.refresh(this.#length, this.#canWrite);
    this.#length = length;
    if (!this.#writable || this.#shared) {
      this.#length = count;
      this.#flusher.books.cut(count);
    }
    return this.#length;
  }

  /**
   * Runs `fn` as the only writer: takes flock LOCK_EX (waiting up to `lockTimeoutMs`, then
   * ERR_RECORD_FILE_LOCKED), `refresh()`es, runs `fn(this)`, flushes and releases the lock. For files opened with
   * `shared: true`; on an exclusive writer it runs `fn` and flushes (the lock is already held).
   */
  withLock<R>(fn: (file: this) => R): R {
    this.#mapping.open();
    if (!this.#writable) throw readOnlyError(this.path, 'write under the lock');
    if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
    // An exclusive writer holds the lock already, and so does a nested call. (Every writer has a lock.)
    const lock = this.#lock;
    if (!this.#shared || this.#canWrite || lock === undefined) {
      const result = fn(this);
      this.flush();
      return result;
    }
    lock.takeWithin(this.#lockTimeoutMs);
    try {
      this.refresh();
      this.#canWrite = true;
      const result = fn(this);
      this.flush();
      return result;
    } finally {
      this.#canWrite = false;
      lock.release();
    }
  }

  /**
   * Flushes (writers, whatever the policy), unmaps (every view is detached) and closes the file, which releases
   * the lock. Idempotent. If the flush fails the file is still closed, and the error is thrown. A flushAsync()
   * still running is covered by this flush, and its promise resolves.
   */
  close(): void {
    if (this.#mapping.closed) return;
    this.#flusher.stopTimer();
    forgetWriter(this);
    let failure: Error | undefined;
    try {
      if (this.#writable && !this.#shared) this.flush();
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    this.#canWrite = false;
    this.#length = 0;
    lastClosed.file = this; // see lastClosed: so it keeps nothing large (the scratch record, the detached mapping)
    this.#encoder.release();
    try {
      this.#mapping.close();
    } finally {
      this.#slots.dv = this.#mapping.dv;
      this.#slots.bytes = this.#mapping.bytes;
      releaseFollowers(this); // ends waits and follows of this file (./follow.ts)
    }
    if (failure !== undefined) throw failure;
  }

  // --- Followers (issue 14): thin delegates to ./follow.ts ---

  /**
   * Blocks until the committed count (what a writer's flush made durable, in any process) reaches `length`, and
   * returns it. Sleeps on the header's commit word, woken by the commit. ERR_RECORD_FILE_WAIT_TIMEOUT after
   * `timeoutMs`. Blocks the thread: in the main thread, prefer `waitForAsync`.
   */
  waitFor(length: number, options?: WaitForOptions): number {
    return waitForCommit(this.#follow, length, options);
  }

  /**
   * As `waitFor`, without blocking the event loop (the futex wait runs on the libuv thread pool). Rejects with
   * ERR_RECORD_FILE_WAIT_TIMEOUT after `timeoutMs`, with an AbortError (ABORT_ERR) when `signal` aborts, and
   * with ERR_RECORD_FILE_CLOSED when the file is closed meanwhile.
   */
  waitForAsync(length: number, options?: WaitForAsyncOptions): Promise<number> {
    return waitForCommitAsync(this.#follow, length, options);
  }

  /**
   * Every committed record from `from` (default 0) on, in order, as they are committed: forever, until the file
   * is closed (the iteration ends) or the signal aborts (AbortError). A truncation below what was yielded throws
   * ERR_RECORD_FILE_TRUNCATED. See FollowOptions for a writer that dies.
   */
  follow(options?: FollowOptions): AsyncGenerator<Infer<S>, void, undefined> {
    return followRecords(this.#follow, options);
  }

  /** As `follow`, a StructArray of the newly committed records per wake-up (valid until the next step). */
  followBatches(options?: FollowOptions): AsyncGenerator<StructArray<S>, void, undefined> {
    return followBatches(this.#follow, options);
  }

  /** Whether waits sleep on the header's commit word (false: a version 1 file or no write permission; they poll). */
  get followsByCommitWord(): boolean {
    return usesCommitWord(this.#follow);
  }

  /** `using db = RecordFile.open(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}
