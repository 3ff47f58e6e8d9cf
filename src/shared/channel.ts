/**
 * Channel: a bounded ring of variable-length messages in a mapped file, shared by any processes that open the
 * same path (under /dev/shm for memory only, on disk to survive a restart). Many producers, many consumers; each
 * message goes to exactly one consumer (a work queue), or to none if that consumer dies holding it.
 *
 * The protocol (docs/channel.md, byte by byte; include/memmap/channel.h speaks it in C):
 * - Frames sit back to back in the ring: a state word, a length word, the payload rounded up to 8 bytes. The word
 *   after the last frame (the tail) is FREE (0), always: whoever claims the tail zeroes the word after its frame
 *   before it publishes the frame's length, and a claim needs room for that word too.
 * - A producer claims the tail with one compare-exchange FREE -> CLAIMED|tid, writes the next FREE word and the
 *   length, stores WRITING|tid (from here other producers can step over it and claim the next tail), copies the
 *   payload, and stores COMMITTED last. Consumers never read a payload before they see COMMITTED, so a message is
 *   visible only when complete.
 * - A consumer takes the first COMMITTED frame, in ring order, with one compare-exchange COMMITTED -> READING|tid,
 *   copies it, stores CONSUMED, then moves the released cursor over every done frame at its front. Producers reuse
 *   only bytes before released + capacity. A consumer never steps over a CLAIMED or WRITING frame, so messages are
 *   taken in the order their frames were claimed: per-producer FIFO, and one total order for all consumers.
 * - Waiting: a consumer increments the not-empty waiter count, reads the not-empty sequence, looks once more,
 *   and futex-waits on the sequence; a producer that commits bumps and wakes the sequence only when the count is
 *   not 0 (sequentially consistent Atomics make this a Dekker pair: no wake-up is lost). The same for not-full.
 *   The uncontended path makes no system call.
 * - Death: the state word names its owner's thread id. A waiter that finds the same frame in the way after a wait
 *   slice checks whether the owner lives; if not, one compare-exchange repairs it: CLAIMED -> FREE (the frame never
 *   existed), WRITING -> ABANDONED (skipped: its bytes are never exposed), READING -> CONSUMED (that message is
 *   lost: delivery is at most once). Compare-exchange from the exact word seen means two repairers cannot both act,
 *   and a live owner's next store is never overwritten by a repair it did not need.
 */
import { writeSync } from 'node:fs';
import { types } from 'node:util';
import {
  fromNative,
  invalidArgType,
  invalidArgValue,
  memmapError,
  outOfRange,
  validateBoolean,
  validateObject,
  abortError,
  type CodedError,
} from '../errors.js';
import { closeFile, createFile, fileSize, openFile, readAt, writeAt } from '../file-io.js';
import {
  dataViewBuffer,
  dataViewByteLength,
  dataViewByteOffset,
  typedArrayBuffer,
  typedArrayByteLength,
  typedArrayByteOffset,
} from '../intrinsics.js';
import { guardedBytes } from '../mapping-faces.js';
import { MappedFile, MAX_MAPPING_LENGTH } from '../mapped-file.js';
import { native } from '../native.js';
import { checkWellFormed } from '../utf16.js';
import { unmappedError } from './atomics.js';
import {
  ABANDONED,
  CLAIMED,
  COMMITTED,
  CONSUMED,
  corruptChannel,
  FRAME_HEADER,
  frameSize,
  FREE,
  HEADER_SIZE,
  headerProblem,
  I_CAPACITY,
  I_HEADER_SIZE,
  I_MAGIC,
  I_MAX_MESSAGE,
  I_NOT_EMPTY,
  I_NOT_EMPTY_WAITERS,
  I_NOT_FULL,
  I_NOT_FULL_WAITERS,
  I_READ,
  I_RELEASED,
  I_VERSION,
  I_WRITE,
  invalidChannel,
  KIND_MASK,
  MAGIC,
  MAX_CAPACITY,
  maxMessageOf,
  MIN_CAPACITY,
  PADDING,
  READING,
  TID_MASK,
  VERSION,
  WRITING,
} from './channel-format.js';
import { threadAlive } from './mutex.js';
import { timeoutMs } from './wait.js';

/** Options of `Channel.open`. */
export interface ChannelOpenOptions {
  /** Ring size in bytes when the channel is created: a power of two in [64, 2^30]. Default 1 MiB. */
  capacity?: number;
  /** Create the file if it does not exist (atomically: a fully written file is linked into place). Default false. */
  create?: boolean;
  /** When the ring is full: 'wait' (default) until a consumer frees space, or 'error' (ERR_CHANNEL_FULL). */
  whenFull?: 'wait' | 'error';
}

/** Options of the blocking and async calls. */
export interface ChannelWaitOptions {
  /** Give up after this many milliseconds with ERR_CHANNEL_TIMEOUT. Default: wait for ever. */
  timeout?: number;
  /** Give up when this signal aborts (AbortError, code ABORT_ERR). */
  signal?: AbortSignal;
}

/** Bytes a message can be given as: any view (its window) or a string (sent as UTF-8). */
export type MessageBytes = ArrayBufferView | string;

const TID: number = native.gettid();
const DEFAULT_CAPACITY = 1 << 20;
/** How long one futex wait lasts before a waiter looks at who is in its way (and whether they are alive). */
const SLICE_MS = 50;
/** How long a producer sleeps when another producer holds the tail (a few instructions, unless it died there). */
const BUSY_SLEEP_MS = 1;
/** Rounds of spinning before a blocked call sleeps. */
const SPINS = 64;
/** A batch is cut into parts of at most this share of the ring, so one send never needs the whole ring free. */
const BATCH_SHARE = 4;

/** Test hook: make this process stop for ever at a step of the protocol, so a test can kill it there. */
const STALL = process.env.MEMMAP_CHANNEL_TEST_STALL;

function stallHere(step: string): void {
  if (STALL !== step) return;
  writeSync(1, `stalled ${step}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

// Results of the non-blocking steps (positions are >= 0).
const FULL = -1;
const BLOCKED = -2;

function timeoutError(ms: number, what: string): CodedError {
  return memmapError('ERR_CHANNEL_TIMEOUT', `${what} did not complete within ${ms} ms`);
}

interface Deadline {
  ms: number;
  at: number;
  signal: AbortSignal | undefined;
  /** Rounds spun so far behind a frame in progress. */
  spins: number;
}

/** A message checked for sending: bytes whose length cannot change, and that length. */
interface Outgoing {
  payload: string | Uint8Array;
  length: number;
}

interface WaitPlan {
  /** Index of the sequence word to futex-wait on. */
  seq: number;
  /** Index of the waiter count to announce the wait in, or -1 (a timed sleep nobody needs to wake). */
  waiters: number;
  ms: number;
}

function deadlineOf(options: unknown): Deadline {
  const opts = validateObject<ChannelWaitOptions>(options, 'options');
  const ms = timeoutMs(opts.timeout, 'options.timeout');
  const signal = opts.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  return { ms, at: ms < 0 ? Infinity : performance.now() + ms, signal, spins: 0 };
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && (value & (value - 1)) === 0;
}

/** A message queue between processes in a mapped file. See the module's doc for the protocol. */
export class Channel implements Disposable {
  /** The file's path. */
  readonly path: string;
  // The ring's size and largest message, read once from the header: private, so that a property a program gives the
  // object (an own `capacity` of 2^30) cannot change where frames are read and written.
  readonly #capacity: number;
  readonly #maxMessage: number;
  readonly #file: MappedFile;
  readonly #words: Int32Array;
  readonly #data: Buffer;
  readonly #mask: number;
  readonly #whenFull: 'wait' | 'error';
  /** The frame a borrowing receive handed out: released by the next receive. -1 when none. */
  #borrowed = -1;
  /** Where the last blocked step stopped, and the word it saw there (for the liveness check). */
  #stuckAt = -1;
  #stuckWord = 0;
  /** The released cursor when the last claim found the ring full. */
  #fullAt = 0;

  private constructor(path: string, file: MappedFile, whenFull: 'wait' | 'error') {
    this.path = path;
    this.#file = file;
    const buffer = file.buffer;
    this.#data = buffer;
    // The control words on the guarded face, which close() detaches (mapping-faces.ts); borrowed payloads on the
    // public one, which native code may still be reading.
    const words = guardedBytes(buffer);
    this.#words = new Int32Array(words.buffer, words.byteOffset, words.length >>> 2);
    this.#capacity = Atomics.load(this.#words, I_CAPACITY);
    this.#maxMessage = Atomics.load(this.#words, I_MAX_MESSAGE);
    this.#mask = this.#capacity - 1;
    this.#whenFull = whenFull;
  }

  /** Bytes in the ring. */
  get capacity(): number {
    return this.#capacity;
  }

  /** The largest message in bytes (capacity - 16). */
  get maxMessage(): number {
    return this.#maxMessage;
  }

  /**
   * Opens the channel at `path`; with `create: true`, creates it first if it does not exist. A file that is not a
   * version-1 channel is rejected with ERR_CHANNEL_INVALID and left untouched; an existing channel of another
   * capacity than `options.capacity` with ERR_INVALID_ARG_VALUE.
   */
  static open(path: string, options?: ChannelOpenOptions): Channel {
    if (typeof path !== 'string' || path.length === 0) throw invalidArgType('path', 'a non-empty string', path);
    const opts = validateObject<ChannelOpenOptions>(options, 'options');
    const create = validateBoolean(opts.create, 'options.create', false);
    const whenFull: unknown = opts.whenFull ?? 'wait'; // from JavaScript, anything
    if (whenFull !== 'wait' && whenFull !== 'error')
      throw invalidArgValue('options.whenFull', whenFull, "must be 'wait' or 'error'");
    const capacity = opts.capacity;
    if (capacity !== undefined) {
      if (typeof capacity !== 'number') throw invalidArgType('options.capacity', 'of type number', capacity);
      const largest = Math.min(MAX_CAPACITY, 2 ** Math.floor(Math.log2(MAX_MAPPING_LENGTH - HEADER_SIZE)));
      if (!Number.isInteger(capacity) || capacity < MIN_CAPACITY || capacity > largest || !isPowerOfTwo(capacity))
        throw outOfRange('options.capacity', `a power of two >= ${MIN_CAPACITY} && <= ${largest}`, capacity);
    }
    if (create) createIfMissing(path, capacity ?? DEFAULT_CAPACITY);
    // Through file-io: coded errors with the path, and a FIFO or directory refused instead of blocking in open(2).
    const fd = openFile(path, 'read');
    try {
      const size = fileSize(fd, path);
      const header = new Int32Array(HEADER_SIZE / 4);
      const read = size >= HEADER_SIZE ? readAt(fd, 0, HEADER_SIZE, path) : new Uint8Array(0);
      new Uint8Array(header.buffer).set(read);
      const problem = headerProblem(header, read.length < HEADER_SIZE ? Math.min(read.length, size) : size);
      if (problem !== undefined) throw invalidChannel(path, problem);
      if (capacity !== undefined && header[I_CAPACITY] !== capacity)
        throw invalidArgValue(
          'options.capacity',
          capacity,
          `differs from the existing channel's (${header[I_CAPACITY]})`,
        );
    } finally {
      closeFile(fd);
    }
    const file = MappedFile.open(path, { mode: 'r+' });
    // Checked again on the mapping: the file may have been replaced between the read and the map.
    const mapped = new Int32Array(file.buffer.buffer, file.buffer.byteOffset, HEADER_SIZE / 4);
    const problem = headerProblem(mapped, file.length);
    if (problem !== undefined) {
      file.close();
      throw invalidChannel(path, problem);
    }
    return new Channel(path, file, whenFull);
  }

  /** A channel of records of `type` (a layout struct): see TypedChannel. */
  static of<T extends RecordCodec<unknown, unknown>>(type: T): TypedChannelFactory<T> {
    return new TypedChannelFactory(type);
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#file.closed;
  }

  #live(): Int32Array {
    const words = this.#words;
    if (words.length === 0) throw unmappedError();
    return words;
  }

  // ---------------------------------------------------------------- producer side

  /**
   * Where to start looking for the tail: the write hint, unless it is not within one ring after the released
   * cursor (stale by a lap, or a hostile word), then the released cursor (always a frame boundary).
   */
  #walkStart(hint: number): number {
    const words = this.#words;
    const released = Atomics.load(words, I_RELEASED) >>> 0;
    const start = Atomics.load(words, hint) >>> 0;
    return (start - released) >>> 0 <= this.#capacity ? start : released;
  }

  /**
   * The size of the frame at `position` from its length word, or 0 if the word does not fit the ring. Walkers
   * call it before they know the frame is still current (its bytes may be reused meanwhile): they check
   * `#current` first and only then treat 0 as corruption.
   */
  #sizeAt(position: number): number {
    const offset = position & this.#mask;
    const length = Atomics.load(this.#words, (HEADER_SIZE + offset + 4) >> 2) >>> 0;
    if (length > this.#maxMessage + FRAME_HEADER) return 0;
    const size = frameSize(length);
    return offset + size > this.#capacity ? 0 : size;
  }

  /** The frame at `position`, known to be current: its size, checked against the ring (ERR_CHANNEL_CORRUPT). */
  #frameAt(position: number): number {
    const words = this.#words;
    const offset = position & this.#mask;
    const length = Atomics.load(words, (HEADER_SIZE + offset + 4) >> 2) >>> 0;
    if (length > this.#maxMessage + FRAME_HEADER)
      throw corruptChannel(`a frame at ${offset} claims ${length} bytes, more than the ring holds`);
    const size = frameSize(length);
    if (offset + size > this.#capacity)
      throw corruptChannel(`a frame at ${offset} of ${size} bytes crosses the ring's end`);
    return size;
  }

  /** True if `position` is still at or after the released cursor (its bytes have not been reused). */
  #current(position: number): boolean {
    return (position - (Atomics.load(this.#words, I_RELEASED) >>> 0)) >>> 0 <= this.#capacity;
  }

  /**
   * One attempt to claim `bytes` contiguous bytes at the tail (padding to the ring's end first if they would
   * cross it). Returns the claimed position (state CLAIMED|tid, this thread's), FULL, or BLOCKED (another
   * producer holds the tail; #stuckAt/#stuckWord say where).
   */
  #tryClaim(bytes: number): number {
    const words = this.#live();
    const capacity = this.#capacity;
    let position = this.#walkStart(I_WRITE);
    for (let steps = 0; steps <= capacity / FRAME_HEADER + 2; steps++) {
      const offset = position & this.#mask;
      const index = (HEADER_SIZE + offset) >> 2;
      const word = Atomics.load(words, index);
      const released = Atomics.load(words, I_RELEASED) >>> 0;
      const used = (position - released) >>> 0;
      if (used > capacity) {
        position = this.#walkStart(I_WRITE); // overtaken by a lap while walking: start again
        continue;
      }
      if (word === FREE) {
        const pad = offset + bytes > capacity ? capacity - offset : 0;
        if ((pad === 0 ? bytes : pad) + FRAME_HEADER > capacity - used) {
          this.#fullAt = released | 0;
          return FULL;
        }
        if (Atomics.compareExchange(words, index, FREE, CLAIMED | TID) !== FREE) continue;
        // The word may have been the same place one lap later (ABA): then released has passed `position`.
        if (!this.#current(position)) {
          Atomics.store(words, index, FREE);
          position = this.#walkStart(I_WRITE);
          continue;
        }
        if (pad === 0) return position;
        // Filler to the end of the ring; the real claim follows at offset 0.
        Atomics.store(words, HEADER_SIZE >> 2, FREE);
        Atomics.store(words, index + 1, pad - FRAME_HEADER);
        Atomics.store(words, index, PADDING);
        position = (position + pad) >>> 0;
        this.#advance(I_WRITE, position);
        // If the filler is first in line, nobody else may come to release it: the claim below may need its bytes.
        this.#release();
        continue;
      }
      if ((word & KIND_MASK) === CLAIMED) {
        this.#stuckAt = position;
        this.#stuckWord = word;
        return BLOCKED;
      }
      const size = this.#sizeAt(position);
      if (!this.#current(position)) {
        position = this.#walkStart(I_WRITE);
        continue;
      }
      if (size === 0) this.#frameAt(position); // throws ERR_CHANNEL_CORRUPT with the details
      position = (position + size) >>> 0;
    }
    throw corruptChannel('no free tail word within one ring: the frames do not chain');
  }

  /** Moves the hint at `index` forward to `position` unless it is already past it. */
  #advance(index: number, position: number): void {
    const words = this.#words;
    for (;;) {
      const seen = Atomics.load(words, index);
      if (((position - seen) | 0) <= 0) return;
      if (Atomics.compareExchange(words, index, seen, position | 0) === seen) return;
    }
  }

  /**
   * Fills the claimed region at `position` with `messages[from..to)` and commits it: the later frames are written
   * first (length, payload, WRITING), then the first frame's length goes out as WRITING (other producers may now
   * step over the region), its payload, and COMMITTED; then each later frame's COMMITTED, in order.
   */
  #fill(position: number, frames: readonly Outgoing[], from: number, to: number): void {
    const words = this.#words;
    const data = this.#data;
    const first = HEADER_SIZE + (position & this.#mask);
    const head = nth(frames, from);
    let at = first + frameSize(head.length);
    for (let i = from + 1; i < to; i++) {
      const { payload, length } = nth(frames, i);
      words[(at + 4) >> 2] = length;
      writePayload(data, at + FRAME_HEADER, payload, length);
      words[at >> 2] = WRITING | TID;
      at += frameSize(length);
    }
    const end = position + (at - first);
    Atomics.store(words, (HEADER_SIZE + (end & this.#mask)) >> 2, FREE);
    Atomics.store(words, (first + 4) >> 2, head.length);
    Atomics.store(words, first >> 2, WRITING | TID);
    stallHere('writing');
    this.#advance(I_WRITE, end >>> 0);
    writePayload(data, first + FRAME_HEADER, head.payload, head.length);
    Atomics.store(words, first >> 2, COMMITTED);
    // The rest in order: a producer killed here leaves a prefix of its batch committed and the rest WRITING,
    // which one repair abandons together (#repair), so what it sent is always a gap-free prefix.
    for (
      let i = from + 1, inner = first + frameSize(head.length);
      i < to;
      inner += frameSize(nth(frames, i++).length)
    ) {
      if (i === from + 2) stallHere('batch');
      Atomics.store(words, inner >> 2, COMMITTED);
    }
    if (Atomics.load(words, I_NOT_EMPTY_WAITERS) !== 0) this.#wake(I_NOT_EMPTY);
  }

  #wake(index: number): void {
    Atomics.add(this.#words, index, 1);
    try {
      native.futexWake(this.#words, index, 0x7fffffff);
    } catch (error) {
      throw fromNative(error);
    }
  }

  /**
   * `messages` checked before anything is written, each as bytes that cannot change length: a string, or a plain
   * Uint8Array over the bytes the engine says a view has (a view's own getters may lie, and the caller may swap
   * the array's items while an async send waits). A view detached meanwhile copies nothing; it never overflows.
   */
  #outgoing(messages: readonly unknown[]): Outgoing[] {
    const frames = new Array<Outgoing>(messages.length);
    for (let i = 0; i < frames.length; i++) {
      const message = messages[i];
      const name = frames.length === 1 ? 'message' : `messages[${i}]`;
      let payload: string | Uint8Array;
      if (typeof message === 'string') {
        checkWellFormed(message, name);
        payload = message;
      } else if (types.isTypedArray(message))
        payload = new Uint8Array(
          typedArrayBuffer(message),
          typedArrayByteOffset(message),
          typedArrayByteLength(message),
        );
      else if (types.isDataView(message))
        payload = new Uint8Array(dataViewBuffer(message), dataViewByteOffset(message), dataViewByteLength(message));
      else throw invalidArgType(name, 'a string, Buffer, TypedArray or DataView', message);
      const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      if (length > this.#maxMessage)
        throw outOfRange(`${name}.byteLength`, `<= ${this.#maxMessage} (the channel's largest message)`, length);
      frames[i] = { payload, length };
    }
    return frames;
  }

  /** Cuts frames[from..) into the largest part that fits in a share of the ring; returns its end and bytes. */
  #part(frames: readonly Outgoing[], from: number): { to: number; bytes: number } {
    let bytes = frameSize(nth(frames, from).length);
    const limit = Math.max(this.#capacity / BATCH_SHARE, bytes);
    let to = from + 1;
    while (to < frames.length) {
      const next = frameSize(nth(frames, to).length);
      if (bytes + next > limit) break;
      bytes += next;
      to++;
    }
    return { to, bytes };
  }

  /**
   * Sends one message (bytes, or a string as UTF-8), blocking this thread while the ring is full (or throwing
   * ERR_CHANNEL_FULL with `whenFull: 'error'`). ERR_OUT_OF_RANGE if it is longer than `maxMessage`.
   */
  send(message: MessageBytes, options?: ChannelWaitOptions): void {
    this.sendMany([message], options);
  }

  /** Sends every message of `messages`, in order, as few claims as possible (one per quarter of the ring). */
  sendMany(messages: readonly MessageBytes[], options?: ChannelWaitOptions): void {
    if (!Array.isArray(messages)) throw invalidArgType('messages', 'an Array', messages);
    const frames = this.#outgoing(messages);
    const deadline = deadlineOf(options);
    this.#live();
    for (let from = 0; from < frames.length;) {
      const { to, bytes } = this.#part(frames, from);
      let position = this.#tryClaim(bytes);
      while (position < 0) {
        this.#waitSync(position, deadline, 'send');
        position = this.#tryClaim(bytes);
      }
      stallHere('claimed');
      this.#fill(position, frames, from, to);
      from = to;
    }
  }

  /** As `send`, waiting on the thread pool when the ring is full: never blocks the event loop. */
  async sendAsync(message: MessageBytes, options?: ChannelWaitOptions): Promise<void> {
    return this.sendManyAsync([message], options);
  }

  /** As `sendMany`, waiting on the thread pool when the ring is full. */
  async sendManyAsync(messages: readonly MessageBytes[], options?: ChannelWaitOptions): Promise<void> {
    if (!Array.isArray(messages)) throw invalidArgType('messages', 'an Array', messages);
    const frames = this.#outgoing(messages);
    const deadline = deadlineOf(options);
    this.#live();
    for (let from = 0; from < frames.length;) {
      const { to, bytes } = this.#part(frames, from);
      let position = this.#tryClaim(bytes);
      while (position < 0) {
        await this.#waitAsync(position, deadline, 'send');
        position = this.#tryClaim(bytes);
      }
      // Copies of the messages are not taken: a caller that changes them while awaiting gets what it wrote.
      this.#fill(position, frames, from, to);
      from = to;
    }
  }

  // ---------------------------------------------------------------- consumer side

  /**
   * One attempt to take the next committed frame in ring order. Returns its position (now READING|tid, this
   * thread's), FULL when there is none (the name is shared: "nothing to do"), or BLOCKED when a CLAIMED or
   * WRITING frame is first in line (#stuckAt/#stuckWord say where).
   */
  #tryTake(): number {
    const words = this.#live();
    let position = this.#walkStart(I_READ);
    for (let steps = 0; steps <= this.#capacity / FRAME_HEADER + 2; steps++) {
      const index = (HEADER_SIZE + (position & this.#mask)) >> 2;
      const word = Atomics.load(words, index);
      if (!this.#current(position)) {
        position = this.#walkStart(I_READ);
        continue;
      }
      if (word === FREE) return FULL;
      const kind = word & KIND_MASK;
      if (kind === CLAIMED || kind === WRITING) {
        this.#stuckAt = position;
        this.#stuckWord = word;
        return BLOCKED;
      }
      const size = this.#sizeAt(position);
      if (!this.#current(position)) {
        position = this.#walkStart(I_READ);
        continue;
      }
      if (kind === 0 && (word < COMMITTED || word > ABANDONED)) throw corruptChannel(`unknown frame state ${word}`);
      if (size === 0) this.#frameAt(position); // throws ERR_CHANNEL_CORRUPT with the details
      if (word === COMMITTED) {
        if (Atomics.compareExchange(words, index, COMMITTED, READING | TID) !== COMMITTED) continue;
        if (!this.#current(position)) {
          // ABA: between the check and the exchange the frame was taken, released and its bytes reused by a
          // frame one lap later, which this thread now holds. It is a whole committed frame: deliver it, at its
          // true position (the one in [released, released + capacity) with the same place in the ring), and
          // leave the read hint alone, which must not pass the frames before it.
          const released = Atomics.load(words, I_RELEASED) >>> 0;
          return (released + ((position - released) & this.#mask)) >>> 0;
        }
        this.#advance(I_READ, (position + size) >>> 0);
        return position;
      }
      position = (position + size) >>> 0;
    }
    throw corruptChannel('no free tail word within one ring: the frames do not chain');
  }

  /** Marks the taken frame at `position` done and moves the released cursor over every done frame at the front. */
  #finish(position: number): void {
    Atomics.store(this.#words, (HEADER_SIZE + (position & this.#mask)) >> 2, CONSUMED);
    this.#release();
  }

  #release(): void {
    const words = this.#words;
    let moved = false;
    for (let attempts = 0; attempts < 64; attempts++) {
      // Measure the run of done frames at the front, then move released over all of it with one exchange: the
      // frames' states are final until released passes them, so the run stays done.
      const released = Atomics.load(words, I_RELEASED);
      let end = released;
      for (let steps = 0; steps <= this.#capacity / FRAME_HEADER; steps++) {
        const word = Atomics.load(words, (HEADER_SIZE + (end & this.#mask)) >> 2);
        if (word !== CONSUMED && word !== PADDING && word !== ABANDONED) break;
        const size = this.#sizeAt(end);
        if (size === 0) break; // reused under us (the exchange below fails), or corrupt (walkers report it)
        end = (end + size) | 0;
        if ((end - released) >>> 0 >= this.#capacity) break;
      }
      if (end === released) break;
      if (Atomics.compareExchange(words, I_RELEASED, released, end) === released) {
        moved = true;
        break;
      }
    }
    if (moved && Atomics.load(words, I_NOT_FULL_WAITERS) !== 0) this.#wake(I_NOT_FULL);
  }

  /** The payload of the frame at `position` as a view into the ring (no copy). */
  #payload(position: number): Buffer {
    const start = HEADER_SIZE + (position & this.#mask);
    const length = Atomics.load(this.#words, (start + 4) >> 2);
    return this.#data.subarray(start + FRAME_HEADER, start + FRAME_HEADER + length);
  }

  /** Releases the message a borrowing receive handed out, if any. */
  #returnBorrowed(): void {
    if (this.#borrowed >= 0 && this.#words.length !== 0) this.#finish(this.#borrowed);
    this.#borrowed = -1;
  }

  #copyOut(position: number): Buffer {
    const view = this.#payload(position);
    const copy = Buffer.allocUnsafe(view.length);
    view.copy(copy);
    stallHere('reading');
    this.#finish(position);
    return copy;
  }

  /** The next message if one is committed now, else undefined. Never waits. */
  tryReceive(): Buffer | undefined {
    this.#returnBorrowed();
    const position = this.#tryTake();
    return position < 0 ? undefined : this.#copyOut(position);
  }

  /** The next message (a copy), blocking this thread until one comes. ERR_CHANNEL_TIMEOUT, ABORT_ERR. */
  receive(options?: ChannelWaitOptions): Buffer {
    this.#returnBorrowed();
    return this.#copyOut(this.#takeSync(options));
  }

  /**
   * The next message as a view into the shared ring (no copy). It stays valid (no producer can reuse its bytes)
   * until the next receive of any form on this Channel, `release()`, or `close()`; it is read-only by contract.
   */
  receiveBorrowed(options?: ChannelWaitOptions): Buffer {
    this.#returnBorrowed();
    const position = this.#takeSync(options);
    stallHere('reading');
    this.#borrowed = position;
    return this.#payload(position);
  }

  /** Ends the borrow of the last `receiveBorrowed` now (the next receive would do it anyway). */
  release(): void {
    this.#returnBorrowed();
  }

  #takeSync(options: ChannelWaitOptions | undefined): number {
    const deadline = deadlineOf(options);
    let position = this.#tryTake();
    while (position < 0) {
      this.#waitSync(position, deadline, 'receive');
      position = this.#tryTake();
    }
    return position;
  }

  /**
   * Up to `max` messages (copies), in order: waits (blocking this thread) until at least one is committed, then
   * takes every committed one up to `max` without waiting more.
   */
  receiveMany(max: number, options?: ChannelWaitOptions): Buffer[] {
    if (typeof max !== 'number') throw invalidArgType('max', 'of type number', max);
    if (!Number.isInteger(max) || max < 1) throw outOfRange('max', 'an integer >= 1', max);
    this.#returnBorrowed();
    const first = this.#takeSync(options);
    return this.#takeMore(first, max);
  }

  /** As `receiveMany`, waiting on the thread pool. */
  async receiveManyAsync(max: number, options?: ChannelWaitOptions): Promise<Buffer[]> {
    if (typeof max !== 'number') throw invalidArgType('max', 'of type number', max);
    if (!Number.isInteger(max) || max < 1) throw outOfRange('max', 'an integer >= 1', max);
    this.#returnBorrowed();
    const first = await this.#takeAsync(options);
    this.#live(); // closed between the take and here (see receiveAsync)
    return this.#takeMore(first, max);
  }

  /** Copies out `first` and up to max - 1 more committed frames, then releases them all at once. */
  #takeMore(first: number, max: number): Buffer[] {
    const words = this.#words;
    const data = this.#data;
    const taken = [first];
    this.#takeFollowing(first, max, taken);
    // One allocation for the batch; each message is a window of it. The frames are this thread's (READING).
    let total = 0;
    for (const position of taken) total += Atomics.load(words, (HEADER_SIZE + (position & this.#mask) + 4) >> 2);
    const block = Buffer.allocUnsafe(total);
    const out: Buffer[] = [];
    let at = 0;
    for (const position of taken) {
      const start = HEADER_SIZE + (position & this.#mask);
      const length = Atomics.load(words, (start + 4) >> 2);
      data.copy(block, at, start + FRAME_HEADER, start + FRAME_HEADER + length);
      out.push(block.subarray(at, at + length));
      at += length;
    }
    stallHere('reading');
    for (const position of taken) Atomics.store(words, (HEADER_SIZE + (position & this.#mask)) >> 2, CONSUMED);
    this.#release();
    return out;
  }

  /**
   * Takes committed frames that follow `first` (which this thread took) in one walk, up to `max` in all: stops at
   * the first frame that is free, claimed or being written. The read hint moves once, at the end.
   */
  #takeFollowing(first: number, max: number, taken: number[]): void {
    const words = this.#words;
    let position = (first + this.#frameAt(first)) >>> 0;
    while (taken.length < max) {
      const index = (HEADER_SIZE + (position & this.#mask)) >> 2;
      const word = Atomics.load(words, index);
      if (word === FREE || (word & KIND_MASK) === CLAIMED || (word & KIND_MASK) === WRITING) break;
      if ((word & KIND_MASK) === 0 && (word < COMMITTED || word > ABANDONED)) break; // let #tryTake report it
      const size = this.#frameAt(position);
      // `position` follows a frame this thread holds (READING), so released cannot pass it: no lap check needed.
      if (word === COMMITTED) {
        if (Atomics.compareExchange(words, index, COMMITTED, READING | TID) !== COMMITTED) continue;
        taken.push(position);
      }
      position = (position + size) >>> 0;
    }
    this.#advance(I_READ, position);
  }

  /** As `receive`, waiting on the thread pool: never blocks the event loop. */
  async receiveAsync(options?: ChannelWaitOptions): Promise<Buffer> {
    this.#returnBorrowed();
    const position = await this.#takeAsync(options);
    // close() may have run while the taken frame was on its way here (other code runs at every await): the control
    // words are detached then, so ERR_MAPPING_CLOSED, as any call after close(), never a bare TypeError.
    this.#live();
    return this.#copyOut(position);
  }

  async #takeAsync(options: ChannelWaitOptions | undefined): Promise<number> {
    const deadline = deadlineOf(options);
    let position = this.#tryTake();
    while (position < 0) {
      await this.#waitAsync(position, deadline, 'receive');
      position = this.#tryTake();
    }
    return position;
  }

  /** Receives until the channel is closed: `for await (const message of channel)`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    while (!this.closed) {
      let message: Buffer;
      try {
        message = await this.receiveAsync();
      } catch (error) {
        if ((error as CodedError).code === 'ERR_MAPPING_CLOSED') return;
        throw error;
      }
      yield message;
    }
  }

  // ---------------------------------------------------------------- waiting

  /**
   * What a blocked step waits on: producers on not-full, consumers on not-empty (a commit wakes a consumer that
   * waits behind a WRITING frame too). A producer behind another's CLAIMED tail has nothing to wait on (the claim
   * lasts a few instructions): it spins, then sleeps BUSY_SLEEP_MS at a time. Undefined: spin (retry at once).
   */
  #waitPlan(result: number, what: 'send' | 'receive', deadline: Deadline): WaitPlan | undefined {
    const signal = deadline.signal;
    if (signal?.aborted) throw abortError(signal);
    if (what === 'send' && result === FULL && this.#whenFull === 'error')
      throw memmapError('ERR_CHANNEL_FULL', `the channel is full: no room for the message in ${this.#capacity} bytes`);
    const left = deadline.at - performance.now();
    if (left <= 0) throw timeoutError(deadline.ms, what);
    if (result === BLOCKED && deadline.spins++ < SPINS) return undefined;
    const busy = result === BLOCKED && what === 'send';
    const seq = what === 'send' ? I_NOT_FULL : I_NOT_EMPTY;
    return { seq, waiters: busy ? -1 : seq + 1, ms: Math.min(busy ? BUSY_SLEEP_MS : SLICE_MS, left) };
  }

  /**
   * Whether the waiting side can go on now, asked after the waiter count went up and the sequence was read (the
   * other half of the Dekker pair): a consumer looks for a committed frame first in line; a producer whether the
   * released cursor moved since its claim failed.
   */
  #ready(what: 'send' | 'receive'): boolean {
    if (what === 'send') return Atomics.load(this.#words, I_RELEASED) !== this.#fullAt;
    return this.#committedFirst();
  }

  /** After a wait slice that timed out: repair the frame in the way if its owner is dead. */
  #afterSlice(result: number): void {
    if (result === BLOCKED) {
      this.#repair(this.#stuckAt, this.#stuckWord);
      return;
    }
    // Full or empty: the frame at the released cursor may belong to a dead consumer or producer.
    const words = this.#words;
    const released = Atomics.load(words, I_RELEASED) >>> 0;
    this.#repair(released, Atomics.load(words, (HEADER_SIZE + (released & this.#mask)) >> 2));
  }

  /**
   * Repairs the frame at `position` if its state word is still `seen` and names a dead thread: CLAIMED -> FREE,
   * WRITING -> ABANDONED, READING -> CONSUMED. One compare-exchange from `seen`: a live owner's progress, or
   * another repairer, makes it fail harmlessly.
   */
  #repair(position: number, seen: number): void {
    const kind = seen & KIND_MASK;
    if (kind === 0 || position < 0) return;
    const owner = seen & TID_MASK;
    if (owner === TID || threadAlive(owner)) return;
    const words = this.#words;
    const index = (HEADER_SIZE + (position & this.#mask)) >> 2;
    const repaired = kind === CLAIMED ? FREE : kind === WRITING ? ABANDONED : CONSUMED;
    if (Atomics.compareExchange(words, index, seen, repaired) !== seen) return;
    if (kind === WRITING) {
      // The rest of the dead producer's batch: the frames that follow with the same word.
      let next = (position + this.#sizeAt(position)) >>> 0;
      for (let steps = 0; steps <= this.#capacity / FRAME_HEADER; steps++) {
        const at = (HEADER_SIZE + (next & this.#mask)) >> 2;
        if (Atomics.compareExchange(words, at, seen, ABANDONED) !== seen) break;
        const size = this.#sizeAt(next);
        if (size === 0) break;
        next = (next + size) >>> 0;
      }
    }
    this.#release();
    if (Atomics.load(words, I_NOT_EMPTY_WAITERS) !== 0) this.#wake(I_NOT_EMPTY);
    if (Atomics.load(words, I_NOT_FULL_WAITERS) !== 0) this.#wake(I_NOT_FULL);
  }

  /** Waits once (blocking this thread) for a step that returned `result`; the caller tries again after. */
  #waitSync(result: number, deadline: Deadline, what: 'send' | 'receive'): void {
    const plan = this.#waitPlan(result, what, deadline);
    if (plan === undefined) return;
    const words = this.#live();
    if (plan.waiters >= 0) Atomics.add(words, plan.waiters, 1);
    let outcome: number;
    try {
      const seq = Atomics.load(words, plan.seq);
      if (plan.waiters >= 0 && this.#ready(what)) return;
      outcome = native.futexWait(words, plan.seq, seq, plan.ms);
    } catch (error) {
      throw fromNative(error);
    } finally {
      if (plan.waiters >= 0 && words.length !== 0) Atomics.sub(words, plan.waiters, 1);
    }
    if (outcome === 2) this.#afterSlice(result);
  }

  /** As #waitSync, with the futex wait on the thread pool and the AbortSignal answered at once. */
  async #waitAsync(result: number, deadline: Deadline, what: 'send' | 'receive'): Promise<void> {
    deadline.spins = SPINS; // no spinning on the event loop
    const plan = this.#waitPlan(result, what, deadline);
    if (plan === undefined) return; // only a spin returns none, and spins are used up above
    const words = this.#live();
    if (plan.waiters >= 0) Atomics.add(words, plan.waiters, 1);
    let outcome: number;
    try {
      const seq = Atomics.load(words, plan.seq);
      if (plan.waiters >= 0 && this.#ready(what)) return;
      const waiting = native.futexWaitAsync(words, plan.seq, seq, plan.ms);
      const signal = deadline.signal;
      if (signal === undefined) outcome = await waiting;
      else {
        // The pool thread sleeps out its slice (at most SLICE_MS); the caller is answered at once.
        let onAbort: () => void = () => undefined;
        const aborted = new Promise<never>((_, reject) => {
          onAbort = () => reject(abortError(signal));
          signal.addEventListener('abort', onAbort, { once: true });
        });
        try {
          outcome = await Promise.race([waiting, aborted]);
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
      }
    } catch (error) {
      if (words.length === 0) throw unmappedError();
      throw fromNative(error);
    } finally {
      if (plan.waiters >= 0 && words.length !== 0) Atomics.sub(words, plan.waiters, 1);
    }
    if (words.length === 0) throw unmappedError();
    if (outcome === 2) this.#afterSlice(result);
  }

  /** True if a committed frame is first in line for consumers (without taking it). */
  #committedFirst(): boolean {
    const words = this.#words;
    let position = this.#walkStart(I_READ);
    for (let steps = 0; steps <= this.#capacity / FRAME_HEADER + 2; steps++) {
      const word = Atomics.load(words, (HEADER_SIZE + (position & this.#mask)) >> 2);
      if (!this.#current(position)) return true; // moved under us: let the caller look again properly
      if (word === COMMITTED) return true;
      if (word === FREE || (word & KIND_MASK) === CLAIMED || (word & KIND_MASK) === WRITING) return false;
      if (word < COMMITTED || word > ABANDONED) return true; // let #tryTake report it
      const size = this.#sizeAt(position);
      if (size === 0) return true;
      position = (position + size) >>> 0;
    }
    return true;
  }

  /** Unmaps the channel (the file stays). A borrowed message is released first; pending async calls reject. */
  close(): void {
    if (this.#file.closed) return;
    this.#returnBorrowed();
    this.#file.close();
  }

  /** `using` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Writes `length` bytes of `message` at `at` in the ring. */
function writePayload(data: Buffer, at: number, payload: string | Uint8Array, length: number): void {
  if (typeof payload === 'string') data.write(payload, at, length, 'utf8');
  else if (typedArrayByteLength(payload) !== 0) data.set(payload, at); // none once its buffer is detached
}

/** `items[index]`, where the caller's bounds keep `index` inside `items`. */
function nth<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new RangeError(`no item ${index} in ${items.length}`); // a bug here, not bad input
  return item;
}

/**
 * Creates the channel file unless one exists: `createFile` builds it complete (space reserved, header written)
 * under a temporary name and links it into place; link(2) never replaces, so when the file exists (or another
 * process won the race), EEXIST leaves that one to be opened, untouched.
 */
function createIfMissing(path: string, capacity: number): void {
  const header = new Int32Array(HEADER_SIZE / 4);
  header[I_VERSION] = VERSION;
  header[I_CAPACITY] = capacity;
  header[I_HEADER_SIZE] = HEADER_SIZE;
  header[I_MAX_MESSAGE] = maxMessageOf(capacity);
  header[I_MAGIC] = MAGIC;
  let fd: number;
  try {
    fd = createFile(path, {
      size: HEADER_SIZE + capacity,
      fileMode: 0o600,
      existing: 'exclusive',
      fill: (newFd) => writeAt(newFd, new Uint8Array(header.buffer), 0, path),
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') return;
    throw error;
  }
  closeFile(fd);
}

/** What `Channel.of` needs of a type: its size, and reading and writing one value at an offset (a layout struct). */
export interface RecordCodec<Value, Input> {
  /** Bytes of one record: each message is this long. */
  readonly size: number;
  /** Decodes the record at `offset` of `source`. */
  read(source: Uint8Array, offset?: number): Value;
  /** Encodes `value` at `offset` of `source`. */
  write(source: Uint8Array, offset: number, value: Input): void;
}

/** `Channel.of(type)`: opens typed channels of one record type. */
export class TypedChannelFactory<T extends RecordCodec<unknown, unknown>> {
  readonly #type: T;
  constructor(type: T) {
    const given: unknown = type; // from JavaScript, anything
    const usable = given !== null && typeof given === 'object';
    if (!usable || typeof type.read !== 'function' || typeof type.write !== 'function')
      throw invalidArgType('type', 'a layout struct (with size, read and write)', type);
    if (!Number.isInteger(type.size) || type.size < 1) throw outOfRange('type.size', 'an integer >= 1', type.size);
    this.#type = type;
  }

  /** Opens (or creates) the channel at `path` for records of this type. */
  open(path: string, options?: ChannelOpenOptions): TypedChannel<T> {
    const channel = Channel.open(path, options);
    if (this.#type.size > channel.maxMessage) {
      channel.close();
      throw outOfRange('type.size', `<= ${channel.maxMessage} (the channel's largest message)`, this.#type.size);
    }
    return new TypedChannel(channel, this.#type);
  }
}

/** The record a typed channel's codec decodes. */
export type ChannelValue<T> = T extends RecordCodec<infer V, unknown> ? V : never;
/** The value a typed channel's codec encodes. */
export type ChannelInput<T> = T extends RecordCodec<unknown, infer I> ? I : never;

/** A Channel whose messages are records of one layout struct: each message is `type.size` bytes. */
export class TypedChannel<T extends RecordCodec<unknown, unknown>> implements Disposable {
  // Private, read through a getter, as every size and target in memmap: an assigned or own `channel` cannot
  // redirect this channel's sends and receives.
  readonly #channel: Channel;
  readonly #type: T;
  readonly #scratch: Buffer;

  constructor(channel: Channel, type: T) {
    this.#channel = channel;
    this.#type = type;
    this.#scratch = Buffer.alloc(type.size);
  }

  /** The byte channel underneath. */
  get channel(): Channel {
    return this.#channel;
  }

  #encode(value: ChannelInput<T>): Buffer {
    const bytes = Buffer.alloc(this.#type.size);
    this.#type.write(bytes, 0, value);
    return bytes;
  }

  #decode(bytes: Buffer): ChannelValue<T> {
    if (bytes.length !== this.#type.size)
      throw corruptChannel(`a message of ${bytes.length} bytes on a channel of ${this.#type.size}-byte records`);
    return this.#type.read(bytes, 0) as ChannelValue<T>;
  }

  /** Sends one record. */
  send(value: ChannelInput<T>, options?: ChannelWaitOptions): void {
    this.#scratch.fill(0);
    this.#type.write(this.#scratch, 0, value);
    this.#channel.send(this.#scratch, options);
  }

  /** Sends records in order. */
  sendMany(values: readonly ChannelInput<T>[], options?: ChannelWaitOptions): void {
    const given: unknown = values; // from JavaScript, anything
    if (!Array.isArray(given)) throw invalidArgType('values', 'an Array', values);
    this.#channel.sendMany(
      values.map((value) => this.#encode(value)),
      options,
    );
  }

  /** As send, waiting on the thread pool when full. */
  sendAsync(value: ChannelInput<T>, options?: ChannelWaitOptions): Promise<void> {
    return this.#channel.sendAsync(this.#encode(value), options);
  }

  /** The next record, blocking. */
  receive(options?: ChannelWaitOptions): ChannelValue<T> {
    const value = this.#decode(this.#channel.receiveBorrowed(options));
    this.#channel.release();
    return value;
  }

  /** The next record if one is there now. */
  tryReceive(): ChannelValue<T> | undefined {
    const bytes = this.#channel.tryReceive();
    return bytes === undefined ? undefined : this.#decode(bytes);
  }

  /** The next record, waiting on the thread pool. */
  async receiveAsync(options?: ChannelWaitOptions): Promise<ChannelValue<T>> {
    return this.#decode(await this.#channel.receiveAsync(options));
  }

  /** Up to `max` records. */
  receiveMany(max: number, options?: ChannelWaitOptions): ChannelValue<T>[] {
    return this.#channel.receiveMany(max, options).map((bytes) => this.#decode(bytes));
  }

  /** Receives records until the channel is closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ChannelValue<T>, void, undefined> {
    for await (const bytes of this.#channel) yield this.#decode(bytes);
  }

  /** Closes the channel. */
  close(): void {
    this.#channel.close();
  }

  /** `using` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}
