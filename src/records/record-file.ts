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
import { fdatasync } from 'node:fs';
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
import { closeFile, fileSize } from '../file-io.js';
import type { AnyFieldType, Infer, InferInput, InferView } from '../layout/field.js';
import type { Field } from '../layout/struct.js';
import { MAX_MAPPING_LENGTH, MappedFile } from '../mapped-file.js';
import { native } from '../native.js';
import type { Creation } from './creation.js';
import { copyColumn, type Column } from './columns.js';
import { closedError, headerError, notLockedError, readOnlyError } from './errors.js';
import { encodeHeader, FIXED_HEADER_SIZE, FLAG_BIG_ENDIAN, OFFSET, type Header } from './format.js';
import { checkHeader, readHeader } from './header-io.js';
import { forgetWriter, rememberWriter, warnAtExit } from './exit-commit.js';
import { FlushState, type RecordRange } from './flush-state.js';
import { openRecordFd } from './opening.js';
import type { WriterLock } from './writer-lock.js';
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
  /** The writer's lock (undefined for a reader). */
  readonly #lock: WriterLock | undefined;
  #file: MappedFile | undefined;
  #dv!: DataView;
  /** The layout's StructArray over the `capacity` record slots: every record access goes through it. */
  #records!: RecordArray;
  #header64: BigUint64Array | undefined;
  #length: number;
  #capacity: number;
  /** What the next flush writes back, and the background flushing: see flush-state.ts. */
  readonly #flush = new FlushState();
  /** The whole mapping as bytes: set() copies a checked record into it. */
  #bytes!: Uint8Array;
  /** One record's worth of scratch: set() encodes the whole value here first, so a rejected value writes nothing. */
  #scratch: DataView | undefined;
  #scratchBytes: Uint8Array | undefined;
  /** An encode into the scratch record is under way (a getter may write to this file meanwhile). */
  #encoding = false;
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
    lock: WriterLock | undefined;
    file: MappedFile;
    shared: boolean;
    lockTimeoutMs: number;
    policy: FlushPolicy;
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
    this.#lock = init.lock;
    this.#file = init.file;
    this.#policy = init.policy;
    this.#everyWrites =
      typeof init.policy === 'object' && 'everyWrites' in init.policy ? init.policy.everyWrites : Infinity;
    this.#length = init.header.count;
    this.#capacity = init.header.capacity;
    this.#commitOffset = init.header.commitOffset;
    this.#remapped();
    if (this.#writable && typeof init.policy === 'object' && 'intervalMs' in init.policy)
      this.#flush.startTimer(init.policy.intervalMs, () => this.#tick());
    if (this.#writable) rememberWriter(this, (crashed) => this.#atExit(crashed));
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
    const initialCapacity = validateInteger(
      opts.initialCapacity ?? Math.min(DEFAULT_CAPACITY, maxCapacity),
      'options.initialCapacity',
      1,
      maxCapacity,
    );
    const shown = path instanceof URL ? fileURLToPath(path) : path;

    const schema = schemaText(codec);
    const flags = isBigEndian(codec) ? FLAG_BIG_ENDIAN : 0;
    const who = mode === 'r' ? 'reader' : 'writer';
    const header = encodeHeader({
      recordSize: layout.size,
      recordAlign: layout.align,
      capacity: initialCapacity,
      flags,
      schema,
    });
    const creation = (): Creation => ({
      header,
      size: header.length + initialCapacity * layout.size,
      sparse,
      fileMode,
    });
    const opened = openRecordFd(shown, mode, { shared, lockTimeoutMs, creation });
    const { fd, lock } = opened;
    let file: MappedFile | undefined;
    try {
      const decoded = readHeader(fd, opened.size, shown, who);
      checkHeader(decoded, { recordSize: layout.size, schema, flags }, shown, who);
      // The descriptor opened, locked and checked above is the one mapped: the file is opened once.
      file = MappedFile.fromDescriptor(fd, shown, { mode: mode === 'r' ? 'r' : 'r+', sparse, ownsFd: false });
      if (lock !== undefined && shared) lock.release();
      return new RecordFile<S>({
        path: shown,
        mode,
        layout,
        codec,
        header: decoded,
        fd,
        lock,
        file,
        shared,
        lockTimeoutMs,
        policy,
      });
    } catch (error) {
      file?.close();
      closeFile(fd);
      throw error;
    }
  }

  /** Rebuilds the views over the mapping after it was (re)mapped or `#capacity` changed. */
  #remapped(): void {
    const buffer = this.#file!.buffer;
    this.#dv = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.#bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.#header64 = HOST_LITTLE_ENDIAN
      ? new BigUint64Array(buffer.buffer, buffer.byteOffset, FIXED_HEADER_SIZE / 8)
      : undefined;
    // In bounds: open() and refresh() check that the file (so the mapping) holds header + capacity records.
    this.#records = this.#codec.array(buffer, { offset: this.dataOffset, length: this.#capacity });
    this.#flush.remapped();
    this.#commitWord = this.#writable ? commitWordView(buffer, this.#commitOffset) : undefined;
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
    return this.#header64
      ? Number(Atomics.load(this.#header64, COUNT_INDEX))
      : Number(this.#dv.getBigUint64(OFFSET.count, true));
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
      throw outOfRange(
        name,
        this.#length === 0 ? 'an index into records, but there are none' : `an integer >= 0 && < ${this.#length}`,
        index,
      );
    }
  }

  /**
   * Record `index`, copied out as a plain value. If another program cut the file under it, the read that met the
   * cut throws ERR_MAPPING_TRUNCATED (the zeros memmap's SIGBUS handler put there are never returned as a record).
   */
  get(index: number): Infer<S> {
    this.#checkIndex(index);
    const value = this.#records.get(index) as Infer<S>;
    this.#file!.checkIntact();
    return value;
  }

  /**
   * Writes `value` over record `index` (< length). The whole value is encoded and checked before the first byte
   * of the file changes: a rejected value leaves the record as it was.
   */
  set(index: number, value: InferInput<S>): void {
    if (!this.#canWrite) this.#checkWritable('set a record');
    this.#checkIndex(index);
    const encoded = this.#encode(value);
    // The value's getters ran: they may have closed, shortened or grown the file. Check again, then copy.
    if (!this.#canWrite) this.#checkWritable('set a record');
    this.#checkIndex(index);
    this.#bytes.set(encoded, this.dataOffset + index * this.recordSize);
    this.#flush.written(index);
    if (++this.#flush.writes >= this.#everyWrites) this.flush();
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
    // Touch the record's first and last byte (it may straddle a page), so that a cut is found now.
    const start = this.dataOffset + index * this.recordSize;
    void (this.#bytes[start]! | this.#bytes[start + this.recordSize - 1]!);
    this.#file!.checkIntact();
    if (this.#writable) this.#flush.viewed(index);
    return this.#records.at(index) as InferView<S>;
  }

  /**
   * Appends records and returns the new length. Grows the file (doubling its capacity, its blocks reserved, then a
   * new mapping) when full. A value that does not fit the layout throws, and it and the values after it are not
   * appended; the ones before it are. For many values, `pushMany` takes any iterable without spreading it.
   */
  push(...values: InferInput<S>[]): number {
    if (values.length === 1 && this.#canWrite) {
      // The common case, one value: no iterable to check (close() clears #canWrite: a closed file takes the long way).
      this.#append(values[0]!);
      if (this.#flush.writes >= this.#everyWrites) this.flush();
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
    if (values === null || typeof (values as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function')
      throw invalidArgType('values', 'an iterable of records', values);
    this.#open();
    if (Array.isArray(values)) for (let i = 0; i < values.length; i++) this.#append(values[i] as InferInput<S>);
    else for (const value of values) this.#append(value);
    if (this.#flush.writes >= this.#everyWrites) this.flush();
    return this.#length;
  }

  /**
   * The record's bytes for `value`, checked whole by the layout's write. Into the one scratch record, or, when a
   * getter of a value being encoded writes to this file again, into a fresh one (the outer value's bytes are kept).
   */
  #encode(value: unknown): Uint8Array {
    if (this.#encoding) {
      const bytes = new Uint8Array(this.recordSize);
      this.#codec.write(new DataView(bytes.buffer), 0, value);
      return bytes;
    }
    if (this.#scratch === undefined) {
      // Made on first use: a reader never needs one (and a record may be large).
      this.#scratchBytes = new Uint8Array(this.recordSize);
      this.#scratch = new DataView(this.#scratchBytes.buffer);
    }
    this.#encoding = true;
    try {
      this.#codec.write(this.#scratch, 0, value);
    } finally {
      this.#encoding = false;
    }
    return this.#scratchBytes!;
  }

  /** Appends one value: encoded, checked, then copied into the first free slot and counted. */
  #append(value: InferInput<S>): void {
    if (this.#length === this.#capacity) this.#maxCapacity(this.#length + 1); // ERR_RECORD_FILE_FULL before reading the value
    const encoded = this.#encode(value);
    // The value's getters ran: they may have closed the file, or pushed, shortened or grown it. Check here, after.
    if (!this.#canWrite) this.#checkWritable('push records');
    this.#open();
    const at = this.#length;
    if (at === this.#capacity) this.#grow(at + 1);
    this.#bytes.set(encoded, this.dataOffset + at * this.recordSize);
    this.#length = at + 1;
    this.#flush.written(at);
    this.#flush.writes++;
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
    this.#flush.cut(newLength);
    if (this.#committed() > newLength) {
      this.#storeCommitted(newLength);
      this.#flush.headerDirty = true;
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
    this.#open();
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
    const field = (this.#codec as RecordLayout & { fields?: readonly Field[] }).fields?.find((f) => f.name === name);
    if (field === undefined) throw invalidArgValue('name', name, 'must name a field of the record');
    const out = copyColumn(
      this.#dv,
      { offset: this.dataOffset, recordSize: this.recordSize, length: this.#length },
      field,
      {
        littleEndian: !isBigEndian(this.#codec),
        read: (index) => (this.get(index) as Record<string, unknown>)[name],
      },
    );
    this.#file!.checkIntact(); // a cut met while copying: the zeros it read are not returned
    return out;
  }

  /** `column(name)` of every field, by name. */
  columns(): Record<keyof Infer<S> & string, Column> {
    this.#open();
    const fields = (this.#codec as RecordLayout & { fields?: readonly Field[] }).fields ?? [];
    const out: Record<string, Column> = Object.create(null) as Record<string, Column>;
    for (const field of fields) out[field.name] = this.column(field.name as keyof Infer<S> & string);
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

  /** The most records a mapping can hold; ERR_RECORD_FILE_FULL when that is fewer than `needed`. */
  #maxCapacity(needed: number): number {
    const maxCapacity = Math.floor((MAX_MAPPING_LENGTH - this.dataOffset) / this.recordSize);
    if (needed > maxCapacity)
      throw memmapError(
        'ERR_RECORD_FILE_FULL',
        `record file '${this.path}' cannot grow past ${maxCapacity} records (${MAX_MAPPING_LENGTH} bytes, the largest mapping Node can hold): start another file`,
        { path: this.path, kind: 'RangeError' },
      );
    return maxCapacity;
  }

  /** Doubles the capacity (at least to `needed`): grows the file first, then the header's capacity. */
  #grow(needed: number): void {
    const file = this.#open();
    const maxCapacity = this.#maxCapacity(needed);
    const capacity = Math.min(maxCapacity, Math.max(needed, this.#capacity * 2, 1));
    const bytes = this.dataOffset + capacity * this.recordSize;
    // Never shrink: the file may be longer than the header says (a growth cut short by a crash, another writer).
    file.resize(Math.max(bytes, fileSize(this.#fd, this.path)));
    this.#capacity = capacity;
    this.#remapped();
    // The file is long enough before the header says so: a crash between the two leaves slack, never a short file.
    this.#storeCapacity(capacity);
    this.#flush.headerDirty = true;
  }

  /**
   * Writes back what changed since the last flush and commits it: msync(MS_SYNC) of the records written since the
   * last flush, those live `at()` views may have written, and any an unfinished flushAsync() is writing; then the
   * header's count is advanced to `length` and the header page is written back. Costs time in proportion to the
   * dirty pages, not to the file (the kernel skips clean pages). Does nothing for a file opened with mode 'r'.
   */
  flush(): void {
    const file = this.#open();
    this.#flush.throwBackgroundError();
    if (!this.#canWrite) return;
    const range = this.#flush.take(this.#length);
    try {
      if (range.hi > range.lo) file.flush(this.#byteRange(range));
    } catch (error) {
      this.#flush.unwritten(range, this.#length);
      throw error;
    }
    this.#commit(this.#length);
    if (this.#flush.headerDirty) {
      this.#flush.headerDirty = false;
      file.flush({ offset: 0, length: FIXED_HEADER_SIZE });
    }
  }

  #byteRange(range: RecordRange): { offset: number; length: number } {
    return { offset: this.dataOffset + range.lo * this.recordSize, length: (range.hi - range.lo) * this.recordSize };
  }

  /** Advances the committed count to `count` (never lowers it: truncate() does that). */
  #commit(count: number): void {
    if (count > this.#committed()) {
      this.#storeCommitted(count);
      this.#flush.headerDirty = true;
      advanceCommitWord(this.#commitWord); // wakes followers, if any sleep (./commit-word.ts)
    }
  }

  /**
   * As `flush()`, with the msync calls on the libuv thread pool: the event loop keeps running while the disk
   * writes. Records written while it runs are left for the next flush. Concurrent calls run one after another.
   * If the file is closed before it is done, close() wrote back and committed what it was writing (close waits
   * for nothing: its own flush covers the range in flight), and the promise resolves.
   */
  flushAsync(): Promise<void> {
    if (this.#file === undefined) return Promise.reject(closedError(this.path));
    const previous = this.#flush.flushing ?? Promise.resolve();
    const run = previous.then(() => this.#flushAsync());
    const settled = run.catch(() => undefined);
    this.#flush.flushing = settled;
    void settled.then(() => {
      if (this.#flush.flushing === settled) this.#flush.flushing = undefined;
    });
    return run;
  }

  async #flushAsync(): Promise<void> {
    // Closed since flushAsync() was called: close() flushed everything.
    const file = this.#file;
    if (file === undefined) return;
    this.#flush.throwBackgroundError();
    if (!this.#canWrite) return;
    const state = this.#flush;
    const target = this.#length;
    const range = state.take(target);
    const generation = state.generation;
    state.lowWater = target;
    state.flyingLo = range.lo;
    state.flyingHi = range.hi;
    try {
      if (range.hi > range.lo) {
        try {
          await file.flushAsync(this.#byteRange(range));
        } catch (error) {
          // The mapping was made again (a growth) or closed while msync ran on the old one: that msync may fail
          // (ENOMEM) or have missed pages. The pages are the file's: fdatasync below writes them back.
          if (this.#file !== undefined && generation === state.generation) throw error;
        }
      }
      if (this.#file === undefined) return; // closed meanwhile: close() flushed the range in flight too
      if (generation !== state.generation) await fdatasyncAsync(this.#fd);
      if (this.#file === undefined) return;
      this.#commit(Math.min(target, state.lowWater));
      if (state.headerDirty) {
        state.headerDirty = false;
        await this.#file.flushAsync({ offset: 0, length: FIXED_HEADER_SIZE });
      }
    } catch (error) {
      // Not written: keep the range dirty for the next flush.
      if (this.#file === undefined) return;
      state.unwritten(range, this.#length);
      throw error;
    } finally {
      state.lowWater = Infinity;
      state.flyingLo = Infinity;
      state.flyingHi = 0;
    }
  }

  #tick(): void {
    if (this.#file === undefined || this.#flush.flushing !== undefined) return;
    if (!this.#flush.pending && this.#length <= this.#committed()) return;
    this.flushAsync().catch((error: unknown) => {
      this.#flush.backgroundError ??= error;
    });
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
      const size = fileSize(this.#fd, this.path);
      if (size < this.dataOffset + this.recordSize)
        throw headerError(
          {
            kind: 'corrupt',
            field: 'size',
            message: `the file was cut to ${size} bytes, shorter than its header and one record`,
          },
          this.path,
          this.#writable ? 'writer' : 'reader',
        );
      file.refresh();
      this.#capacity = Math.floor((file.length - this.dataOffset) / this.recordSize);
      this.#remapped();
      this.#length = Math.min(this.#length, this.#capacity);
      this.#flush.cut(this.#length);
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
        {
          kind: 'corrupt',
          field: 'count',
          message: `the header counts ${count} records but the file holds only ${this.#capacity}`,
        },
        this.path,
        this.#writable ? 'writer' : 'reader',
      );
    if (!this.#writable || this.#shared) {
      this.#length = count;
      this.#flush.cut(count);
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
    this.#lock!.takeWithin(this.#lockTimeoutMs);
    try {
      this.refresh();
      this.#canWrite = true;
      const result = fn(this);
      this.flush();
      return result;
    } finally {
      this.#canWrite = false;
      this.#lock!.release();
    }
  }

  /**
   * Flushes (writers, whatever the policy), unmaps (every view is detached) and closes the file, which releases
   * the lock. Idempotent. If the flush fails the file is still closed, and the error is thrown. A flushAsync()
   * still running is covered by this flush, and its promise resolves.
   */
  close(): void {
    const file = this.#file;
    if (file === undefined) return;
    this.#flush.stopTimer();
    forgetWriter(this);
    let failure: unknown;
    try {
      if (this.#writable && !this.#shared) this.flush();
    } catch (error) {
      failure = error;
    }
    this.#file = undefined;
    this.#canWrite = false;
    this.#header64 = undefined;
    this.#commitWord = undefined;
    releaseFollowers(this); // ends waits and follows of this file (./follow.ts)
    this.#length = 0;
    this.#capacity = 0;
    try {
      file.close();
    } finally {
      closeFile(this.#fd);
      this.#fd = -1;
    }
    if (failure !== undefined) throw failure;
  }

  /** The process is exiting with this writer open: see exit-commit.ts. */
  #atExit(crashed: boolean): void {
    if (this.#file === undefined) return;
    const uncommitted = () => this.#length - this.#committed();
    if (crashed || this.#policy === 'manual' || this.#shared) {
      let left = 0;
      try {
        left = this.#shared ? 0 : uncommitted();
      } catch {
        // a cut file: nothing to count
      }
      if (left > 0)
        warnAtExit(
          `record file '${this.path}' was not closed: ${left} record(s) pushed since its last flush are not ` +
            `committed (${crashed ? 'the process ended with an uncaught exception' : "its flush policy is 'manual'"}). ` +
            'Call close() (or flush()) before the process ends',
        );
      return;
    }
    try {
      this.close();
    } catch (error) {
      warnAtExit(`record file '${this.path}' was not closed, and committing it at exit failed: ${String(error)}`);
    }
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
