/**
 * The commit word of a version 2 record file (docs/format.md, "Commit word"): 8 bytes at the end of the header,
 * at header_size - 8, that let readers in any process sleep until a writer commits, instead of polling `count`.
 *
 * ```
 * header_size - 8   uint32  commit       bits 0-30: a sequence the writer advances (wrapping) whenever count changes
 *                                        bit 31: WAITERS, set by a reader before it sleeps in FUTEX_WAIT on the word
 * header_size - 4   uint32  truncations  how many times a writer lowered count (wrapping)
 * ```
 *
 * Writer, after every store that changes `count` (a commit, or a truncation, which first adds 1 to `truncations`):
 * exchange the word for (sequence + 1) & 0x7fffffff, and only if the old value had WAITERS, futex-wake every waiter.
 * When nobody waits that is one load and one locked exchange: nothing measurable next to the msync of a commit.
 *
 * Reader: load the word, then `count`; if count is not enough, compare-exchange the word to word | WAITERS (on
 * failure start again), then FUTEX_WAIT while the word equals word | WAITERS. The writer stores `count` before it
 * exchanges the word, and the reader loads them in the opposite order, so a commit either shows in the count the
 * reader read or changes the word it sleeps on: no wake-up is lost. Waits are bounded (a reader re-reads the
 * header after each slice), so a writer that does not follow this protocol delays readers, it cannot strand them.
 * The writer clears WAITERS with each exchange; readers that still wait set it again, so a reader that died
 * asleep costs at most one needless wake-up.
 */
import { endianness } from 'node:os';
import { native } from '../native.js';

/** Bit 31: a reader may be asleep on the word. */
export const WAITERS = 0x80000000 | 0;
/** Bits 0-30: the commit sequence. */
export const SEQUENCE_MASK = 0x7fffffff;
/** Index of the truncation count in the two-word view. */
const TRUNCATIONS = 1;
/** futex(2) wakes at most INT_MAX waiters: "all". */
const ALL = 0x7fffffff;
/** The words are little-endian in the file: Atomics on them need a little-endian host. */
const HOST_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The two 32-bit words [commit, truncations] at `offset` of a mapping's bytes, or undefined when the file has no
 * commit word (version 1, `offset` undefined) or the host is big-endian (readers then poll).
 */
export function commitWordView(bytes: Buffer, offset: number | undefined): Int32Array | undefined {
  if (offset === undefined || !HOST_LITTLE_ENDIAN || offset % 4 !== 0 || offset + 8 > bytes.length) return undefined;
  if ((bytes.byteOffset + offset) % 4 !== 0) return undefined;
  return new Int32Array(bytes.buffer, bytes.byteOffset + offset, 2);
}

/**
 * The writer's step after a store that changed `count`: advance the sequence and wake the readers, if any sleep.
 * `truncated`: the store lowered `count` (readers that had read past it learn it from the truncation count).
 * Does nothing without a word (version 1 file) or after the mapping was detached.
 */
export function advanceCommitWord(word: Int32Array | undefined, truncated = false): void {
  if (word === undefined || word.length < 2) return;
  if (truncated) Atomics.add(word, TRUNCATIONS, 1);
  // Only the writer (it holds the file's lock) changes the sequence bits; readers only set WAITERS. So the
  // sequence read here is the one the exchange replaces, whatever a reader did in between.
  const sequence = Atomics.load(word, 0) & SEQUENCE_MASK;
  const before = Atomics.exchange(word, 0, (sequence + 1) & SEQUENCE_MASK);
  if ((before & WAITERS) === 0) return;
  try {
    native.futexWake(word, 0, ALL);
  } catch {
    // The commit is made; a reader that missed this wake-up sees it at the end of its wait slice.
  }
}

/** A reader's view of the word: the value it loaded and the truncation count. */
export function loadCommitWord(word: Int32Array): number {
  return Atomics.load(word, 0);
}

/** The truncation count. */
export function loadTruncations(word: Int32Array): number {
  return Atomics.load(word, TRUNCATIONS);
}

/**
 * Sets WAITERS on the word if it still holds `seen`. Returns the value to FUTEX_WAIT on, or undefined when the
 * word changed since `seen` was loaded (a commit came: read `count` again instead of sleeping).
 */
export function armWaiters(word: Int32Array, seen: number): number | undefined {
  if ((seen & WAITERS) !== 0) return seen;
  const armed = seen | WAITERS;
  return Atomics.compareExchange(word, 0, seen, armed) === seen ? armed : undefined;
}
