/**
 * The mapped side of one open record file: its descriptor and MappedFile, the views over the mapping (bytes, a
 * DataView, the layout's StructArray over the `capacity` record slots), the header's count and capacity words, the
 * commit word, growth, and picking up what other programs did to the file. RecordFile owns one and keeps the
 * records' meaning (length, writes, locking); this object keeps the memory true to the file.
 */
import { endianness } from 'node:os';
import { memmapError } from '../errors.js';
import { closeFile, fileSize } from '../file-io.js';
import { guardedBytes } from '../mapping-faces.js';
import { MAX_MAPPING_LENGTH, type MappedFile } from '../mapped-file.js';
import { advanceCommitWord, commitWordView } from './commit-word.js';
import { closedError, headerError } from './errors.js';
import type { FlushState } from './flush-state.js';
import { FIXED_HEADER_SIZE, OFFSET, type Header } from './format.js';
import type { RecordArray, RecordLayout } from './layout-adapter.js';

/** Atomics on the header's 8-byte fields need host order = the format's little-endian order. */
const HOST_LITTLE_ENDIAN = endianness() === 'LE';
const COUNT_INDEX = OFFSET.count / 8;
const CAPACITY_INDEX = OFFSET.capacity / 8;

/** The mapping of one record file. */
export class RecordMapping {
  readonly path: string;
  /** Byte offset of record 0 (the header's header_size). */
  readonly dataOffset: number;
  readonly recordSize: number;
  /** Records the mapping has room for. */
  capacity: number;
  /** The whole mapping as bytes. */
  bytes!: Uint8Array;
  /** The whole mapping as a DataView. */
  dv!: DataView;
  /** The layout's StructArray over the `capacity` record slots: every record access goes through it. */
  records!: RecordArray;
  /** Where `touch` leaves what it read, so that the reads are never optimised away. */
  touched = 0;
  readonly #codec: RecordLayout;
  readonly #writable: boolean;
  /** The owner's flush books: told of every remap, and of header changes to write back. */
  readonly #books: FlushState;
  #file: MappedFile | undefined;
  #fd: number;
  #header64: BigUint64Array | undefined;
  /** Byte offset of the header's commit word (version 2), and the writer's view of it (./commit-word.ts). */
  readonly #commitOffset: number | undefined;
  #commitWord: Int32Array | undefined;

  constructor(init: {
    path: string;
    codec: RecordLayout;
    mode: string;
    header: Header;
    fd: number;
    file: MappedFile;
    books: FlushState;
  }) {
    this.path = init.path;
    this.#codec = init.codec;
    this.dataOffset = init.header.headerSize;
    this.recordSize = init.header.recordSize;
    this.capacity = init.header.capacity;
    this.#commitOffset = init.header.commitOffset;
    this.#writable = init.mode !== 'r';
    this.#books = init.books;
    this.#fd = init.fd;
    this.#file = init.file;
    this.remap();
  }

  /** The descriptor (-1 once closed). */
  get fd(): number {
    return this.#fd;
  }

  /** The MappedFile (undefined once closed), unchecked: `open()` checks it. */
  get file(): MappedFile | undefined {
    return this.#file;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#file === undefined;
  }

  /** Rebuilds the views over the mapping after it was (re)mapped or `capacity` changed. */
  remap(): void {
    // The guarded face (mapping-faces.ts): close() and growth detach it, so stale internal views throw.
    const buffer = guardedBytes(this.open().buffer);
    this.dv = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.#header64 = HOST_LITTLE_ENDIAN
      ? new BigUint64Array(buffer.buffer, buffer.byteOffset, FIXED_HEADER_SIZE / 8)
      : undefined;
    // In bounds: open() and refresh() check that the file (so the mapping) holds header + capacity records.
    this.records = this.#codec.array(buffer, { offset: this.dataOffset, length: this.capacity });
    this.#books.remapped();
    this.#commitWord = this.#writable ? commitWordView(buffer, this.#commitOffset) : undefined;
  }

  /** The mapping, after checking it is open and that no page of it was lost to a truncation by another program. */
  open(): MappedFile {
    const file = this.#file;
    if (file === undefined) throw closedError(this.path);
    file.checkIntact(); // ERR_MAPPING_TRUNCATED / ERR_MAPPING_FAULTED: one memory read while nothing has faulted
    return file;
  }

  /** Throws if a page was lost to a truncation since the last check (nothing when closed). */
  checkIntact(): void {
    this.#file?.checkIntact();
  }

  /**
   * Reads record `index`'s first and last byte (it may straddle a page) and checks the mapping: a page cut from the
   * file throws now (ERR_MAPPING_TRUNCATED).
   */
  touch(index: number): void {
    const start = this.dataOffset + index * this.recordSize;
    this.touched ^= (this.bytes[start] ?? 0) ^ (this.bytes[start + this.recordSize - 1] ?? 0);
    this.checkIntact();
  }

  /** The header's committed count, read as one 8-byte load. */
  committed(): number {
    return this.#header64
      ? Number(Atomics.load(this.#header64, COUNT_INDEX))
      : Number(this.dv.getBigUint64(OFFSET.count, true));
  }

  #storeCommitted(count: number): void {
    // One 8-byte store: a reader (or a crash) sees the old count or the new one, never a mix.
    if (this.#header64) Atomics.store(this.#header64, COUNT_INDEX, BigInt(count));
    else this.dv.setBigUint64(OFFSET.count, BigInt(count), true);
    this.#books.headerDirty = true;
  }

  #headerCapacity(): number {
    return this.#header64
      ? Number(Atomics.load(this.#header64, CAPACITY_INDEX))
      : Number(this.dv.getBigUint64(OFFSET.capacity, true));
  }

  #storeCapacity(capacity: number): void {
    if (this.#header64) Atomics.store(this.#header64, CAPACITY_INDEX, BigInt(capacity));
    else this.dv.setBigUint64(OFFSET.capacity, BigInt(capacity), true);
    this.#books.headerDirty = true;
  }

  /** Advances the committed count to `count` (never lowers it: `uncommit` does that), waking followers. */
  commit(count: number): void {
    if (count > this.committed()) {
      this.#storeCommitted(count);
      advanceCommitWord(this.#commitWord); // wakes followers, if any sleep (./commit-word.ts)
    }
  }

  /** Lowers the committed count to `count` if it is higher, telling followers of the truncation. */
  uncommit(count: number): void {
    if (this.committed() > count) {
      this.#storeCommitted(count);
      advanceCommitWord(this.#commitWord, true);
    }
  }

  /** The most records a mapping can hold; ERR_RECORD_FILE_FULL when that is fewer than `needed`. */
  maxCapacity(needed: number): number {
    const maxCapacity = Math.floor((MAX_MAPPING_LENGTH - this.dataOffset) / this.recordSize);
    if (needed > maxCapacity)
      throw memmapError(
        'ERR_RECORD_FILE_FULL',
        `record file '${this.path}' cannot grow past ${String(maxCapacity)} records (${String(MAX_MAPPING_LENGTH)} ` +
          'bytes, the largest mapping Node can hold): start another file',
        { path: this.path, kind: 'RangeError' },
      );
    return maxCapacity;
  }

  /** Doubles the capacity (at least to `needed`): grows the file first, then the header's capacity. */
  grow(needed: number): void {
    const file = this.open();
    const maxCapacity = this.maxCapacity(needed);
    const capacity = Math.min(maxCapacity, Math.max(needed, this.capacity * 2, 1));
    const bytes = this.dataOffset + capacity * this.recordSize;
    // Never shrink: the file may be longer than the header says (a growth cut short by a crash, another writer).
    file.resize(Math.max(bytes, fileSize(this.#fd, this.path)));
    this.capacity = capacity;
    this.remap();
    // The file is long enough before the header says so: a crash between the two leaves slack, never a short file.
    this.#storeCapacity(capacity);
  }

  /**
   * Picks up what other programs did to the file: a cut (the mapping is made again over what is left, and, when
   * `mayWrite`, the header is made true again), another writer's growth, and the header's count. Returns the
   * committed count, checked to fit the capacity. `length` is the owner's length, clamped here to a cut.
   */
  refresh(length: number, mayWrite: boolean): { count: number; length: number } {
    const file = this.#file;
    if (file === undefined) throw closedError(this.path);
    if (file.truncated || file.faulted) {
      // Another program cut the file: map what is left. Records past the cut are gone, for a writer too. A file cut
      // inside its header is not remapped: it stays truncated, and every operation keeps saying so.
      const size = fileSize(this.#fd, this.path);
      if (size < this.dataOffset + this.recordSize)
        throw this.#corrupt(
          'size',
          `the file was cut to ${String(size)} bytes, shorter than its header and one record`,
        );
      file.refresh();
      this.capacity = Math.floor((file.length - this.dataOffset) / this.recordSize);
      this.remap();
      length = Math.min(length, this.capacity);
      this.#books.cut(length);
      if (mayWrite) {
        // The writer (it holds the lock) makes the header true again: no more capacity, nor count, than is left.
        this.#storeCapacity(this.capacity);
        if (this.committed() > this.capacity) this.#storeCommitted(this.capacity);
      }
    }
    // count before capacity: a writer stores capacity before a count that needs it, so count <= capacity here.
    const count = this.committed();
    const capacity = this.#headerCapacity();
    if (this.dataOffset + capacity * this.recordSize > file.length) {
      // Another process grew the file (it makes the file longer before it stores the capacity): map it again.
      file.refresh();
      this.capacity = Math.min(capacity, Math.floor((file.length - this.dataOffset) / this.recordSize));
      this.remap();
    } else if (capacity !== this.capacity) {
      this.capacity = capacity;
      this.remap();
    }
    if (count > this.capacity)
      throw this.#corrupt(
        'count',
        `the header counts ${String(count)} records but the file holds only ${String(this.capacity)}`,
      );
    return { count, length };
  }

  #corrupt(field: string, message: string): Error {
    return headerError({ kind: 'corrupt', field, message }, this.path, this.#writable ? 'writer' : 'reader');
  }

  /** Writes back the header page (msync), if it holds a change. */
  flushHeader(file: MappedFile): void {
    if (!this.#books.headerDirty) return;
    this.#books.headerDirty = false;
    file.flush({ offset: 0, length: FIXED_HEADER_SIZE });
  }

  /** As `flushHeader`, on the thread pool. */
  async flushHeaderAsync(file: MappedFile): Promise<void> {
    if (!this.#books.headerDirty) return;
    this.#books.headerDirty = false;
    await file.flushAsync({ offset: 0, length: FIXED_HEADER_SIZE });
  }

  /** Unmaps (every view is detached) and closes the descriptor. Idempotent. */
  close(): void {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    this.#header64 = undefined;
    this.#commitWord = undefined;
    this.capacity = 0;
    try {
      file.close();
    } finally {
      closeFile(this.#fd);
      this.#fd = -1;
      // Views of nothing in place of the detached ones: the address range of a closed mapping stays reserved until
      // its ArrayBuffer is collected, and a closed RecordFile may stay referenced (record-file.ts's lastClosed).
      const nothing = Buffer.alloc(0);
      this.dv = new DataView(nothing.buffer, nothing.byteOffset, 0);
      this.bytes = nothing;
      this.records = this.#codec.array(nothing, { offset: 0, length: 0 });
    }
  }
}
