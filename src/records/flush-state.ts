/**
 * What the next flush of a record file must write back, and the state of its background flushing: the records
 * written since the last flush, the records that live views handed out may still write, the range an async flush
 * is writing now, the mapping's generation, the interval timer and the error a background flush left behind.
 * RecordFile owns one; it does the msync calls and the header, this object only keeps the books.
 */

/** A half-open range of record indexes [lo, hi); empty when lo >= hi. */
export interface RecordRange {
  lo: number;
  hi: number;
}

/** The flush books of one record file. */
export class FlushState {
  /** Records written since the last flush. */
  lo = Infinity;
  hi = 0;
  /**
   * Records reachable through `at()` views handed out since the mapping was last made: a view stays live across
   * flushes, so every flush writes these back too (msync of clean pages costs next to nothing: the kernel skips
   * them by the page cache's dirty tags). A remap detaches the views; what they wrote joins the written range.
   */
  viewLo = Infinity;
  viewHi = 0;
  /** Records an async flush is writing back now: a sync flush (or close) must not commit them without doing so. */
  flyingLo = Infinity;
  flyingHi = 0;
  /** Writes since the last flush (the everyWrites policy). */
  writes = 0;
  /** Lowest length since the current flushAsync took its snapshot (records below it were not replaced). */
  lowWater = Infinity;
  /** Bumped by every remap: an async msync that spans one wrote (or failed on) the old mapping. */
  generation = 0;
  /** The header page holds a change not yet written back. */
  headerDirty = false;
  /** The chain of flushAsync calls, while one runs. */
  flushing: Promise<void> | undefined;
  /** The first failure of a background (timer) flush, thrown by the next flush() or close(). */
  backgroundError: Error | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** Record `index` was written. */
  written(index: number): void {
    if (index < this.lo) this.lo = index;
    if (index >= this.hi) this.hi = index + 1;
  }

  /** Records [from, to) were written. */
  writtenRange(from: number, to: number): void {
    if (to <= from) return;
    if (from < this.lo) this.lo = from;
    if (to > this.hi) this.hi = to;
  }

  /** A live view of record `index` was handed out. */
  viewed(index: number): void {
    if (index < this.viewLo) this.viewLo = index;
    if (index >= this.viewHi) this.viewHi = index + 1;
  }

  /** The mapping was made again: the views are detached, and what they wrote is still to be written back. */
  remapped(): void {
    this.generation++;
    this.writtenRange(this.viewLo, this.viewHi);
    this.viewLo = Infinity;
    this.viewHi = 0;
  }

  /** The array was shortened to `length` records: nothing past it is written back. */
  cut(length: number): void {
    if (this.hi > length) this.hi = length;
    if (this.lowWater > length) this.lowWater = length;
  }

  /**
   * The range a flush writes back, below `length`: written, viewed and in flight. Forgets the written range (the
   * caller restores it with `unwritten` if the write-back fails).
   */
  take(length: number): RecordRange {
    const lo = Math.min(this.lo, this.viewLo, this.flyingLo);
    const hi = Math.min(Math.max(this.hi, this.viewHi, this.flyingHi), length);
    this.lo = Infinity;
    this.hi = 0;
    this.writes = 0;
    return { lo, hi };
  }

  /** A write-back of `range` failed: keep it for the next flush. */
  unwritten(range: RecordRange, length: number): void {
    this.writtenRange(range.lo, Math.min(range.hi, length));
  }

  /**
   * Whether a flush has anything to do besides the committed count: records written, records that live views may
   * have written (their writes are not seen, so a background flush covers them as flush() does: msync of pages
   * that stayed clean costs next to nothing), or the header.
   */
  get pending(): boolean {
    return this.hi > this.lo || this.viewHi > this.viewLo || this.headerDirty;
  }

  /** Calls `tick` every `intervalMs` without keeping the process alive. */
  startTimer(intervalMs: number, tick: () => void): void {
    this.#timer = setInterval(tick, intervalMs);
    this.#timer.unref();
  }

  stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Throws (once) the error a background flush left. */
  throwBackgroundError(): void {
    if (this.backgroundError === undefined) return;
    const error = this.backgroundError;
    this.backgroundError = undefined;
    throw error;
  }
}
