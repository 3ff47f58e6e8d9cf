/**
 * Flushing a record file: msync(MS_SYNC) of the records the flush books (flush-state.ts) say may be dirty, then
 * the committed count and the header page; the same on the thread pool (`flushAsync`), chained so that concurrent
 * calls run one after another; and the interval policy's background timer. RecordFile owns one Flusher and tells it,
 * through `FlushHost`, how many records it holds and whether it may write now.
 */
import { syncDataAsync } from '../file-io.js';
import { closedError } from './errors.js';
import { FlushState, type RecordRange } from './flush-state.js';
import type { FlushPolicy } from './options.js';
import type { RecordMapping } from './record-mapping.js';

/** What a Flusher asks of its RecordFile, at the moment it asks. */
export interface FlushHost {
  /** Records the writer holds (pushed, committed or not). */
  length(): number;
  /** Whether this process may write the file now (a writer; a shared writer only inside withLock()). */
  canWrite(): boolean;
}

/** The flushing of one record file. */
export class Flusher {
  /** What the next flush writes back (see flush-state.ts). */
  readonly books = new FlushState();
  #mapping!: RecordMapping;
  readonly #host: FlushHost;
  readonly #everyWrites: number;
  readonly #intervalMs: number | undefined;

  constructor(host: FlushHost, policy: FlushPolicy) {
    this.#host = host;
    this.#everyWrites = typeof policy === 'object' && 'everyWrites' in policy ? policy.everyWrites : Infinity;
    this.#intervalMs = typeof policy === 'object' && 'intervalMs' in policy ? policy.intervalMs : undefined;
  }

  /** Whether the `everyWrites` policy asks for a flush now. */
  get due(): boolean {
    return this.books.writes >= this.#everyWrites;
  }

  /** The mapping this flusher writes back: set once, right after the mapping is made (it needs `books`). */
  set mapping(mapping: RecordMapping) {
    this.#mapping = mapping;
  }

  /**
   * Writes back what changed since the last flush and commits it: msync(MS_SYNC) of the records written since the
   * last flush, those live `at()` views may have written, and any an unfinished flushAsync() is writing; then the
   * header's count is advanced to `length` and the header page is written back.
   */
  flush(): void {
    const mapping = this.#mapping;
    const file = mapping.open();
    this.books.throwBackgroundError();
    const host = this.#host;
    if (!host.canWrite()) return;
    const range = this.books.take(host.length());
    try {
      if (range.hi > range.lo) file.flush(this.#byteRange(range));
    } catch (error) {
      this.books.unwritten(range, host.length());
      throw error;
    }
    mapping.commit(host.length());
    mapping.flushHeader(file);
  }

  #byteRange(range: RecordRange): { offset: number; length: number } {
    const { dataOffset, recordSize } = this.#mapping;
    return { offset: dataOffset + range.lo * recordSize, length: (range.hi - range.lo) * recordSize };
  }

  /** As `flush()`, with the msync calls on the libuv thread pool; concurrent calls run one after another. */
  flushAsync(): Promise<void> {
    if (this.#mapping.closed) return Promise.reject(closedError(this.#mapping.path));
    const books = this.books;
    const previous = books.flushing ?? Promise.resolve();
    const run = previous.then(() => this.#flushAsync());
    const settled = run.catch(() => undefined);
    books.flushing = settled;
    void settled.then(() => {
      if (books.flushing === settled) books.flushing = undefined;
    });
    return run;
  }

  async #flushAsync(): Promise<void> {
    const mapping = this.#mapping;
    // A call, not a property: TypeScript would keep its answer across the awaits below, where close() may run.
    const closed = (): boolean => mapping.closed;
    // Closed since flushAsync() was called: close() flushed everything.
    const file = mapping.file;
    if (file === undefined) return;
    const books = this.books;
    books.throwBackgroundError();
    if (!this.#host.canWrite()) return;
    const target = this.#host.length();
    const range = books.take(target);
    const generation = books.generation;
    books.lowWater = target;
    books.flyingLo = range.lo;
    books.flyingHi = range.hi;
    try {
      if (range.hi > range.lo) {
        try {
          await file.flushAsync(this.#byteRange(range));
        } catch (error) {
          // The mapping was made again (a growth) or closed while msync ran on the old one: that msync may fail
          // (ENOMEM) or have missed pages. The pages are the file's: fdatasync below writes them back.
          if (!closed() && generation === books.generation) throw error;
        }
      }
      if (closed()) return; // closed meanwhile: close() flushed the range in flight too
      if (generation !== books.generation) await syncDataAsync(mapping.fd, mapping.path);
      if (closed()) return;
      mapping.commit(Math.min(target, books.lowWater));
      await mapping.flushHeaderAsync(file);
    } catch (error) {
      // Not written: keep the range dirty for the next flush.
      if (closed()) return;
      books.unwritten(range, this.#host.length());
      throw error;
    } finally {
      books.lowWater = Infinity;
      books.flyingLo = Infinity;
      books.flyingHi = 0;
    }
  }

  /** The `intervalMs` policy (a writer's): a background flushAsync() every `intervalMs` while something is unflushed. */
  startTimer(): void {
    if (this.#intervalMs === undefined) return;
    this.books.startTimer(this.#intervalMs, () => {
      this.#tick();
    });
  }

  stopTimer(): void {
    this.books.stopTimer();
  }

  #tick(): void {
    if (this.#mapping.closed || this.books.flushing !== undefined) return;
    if (!this.books.pending && this.#host.length() <= this.#mapping.committed()) return;
    this.flushAsync().catch((error: unknown) => {
      this.books.backgroundError ??= error instanceof Error ? error : new Error(String(error));
    });
  }
}
