/**
 * The channel file format, version 1: the header's byte offsets, the frame states, and the checks that tell a
 * channel file from a foreign or corrupt one. docs/channel.md describes the same bytes for a C peer;
 * include/memmap/channel.h repeats these numbers and test/shared/channel-c.test.ts proves they agree.
 *
 * Every word is a 32-bit little/host-endian integer read and written with Atomics (host byte order: a channel is
 * shared between processes of one machine). Positions are byte counters that wrap at 2^32; a position's place in
 * the ring is `position & (capacity - 1)`, which stays right across the wrap because capacity is a power of two.
 */
import { memmapError, type CodedError } from '../errors.js';

/** 'MMCH' read as a little-endian 32-bit word. */
export const MAGIC = 0x48434d4d;
/** The format version this code writes and accepts. */
export const VERSION = 1;
/** Bytes before the ring: the header and its cursors, each on its own 64-byte cache line. */
export const HEADER_SIZE = 512;
/** Bytes of a frame's header: the state word and the length word. */
export const FRAME_HEADER = 8;
/** Smallest and largest ring (bytes; powers of two). */
export const MIN_CAPACITY = 64;
export const MAX_CAPACITY = 2 ** 30;

// Word indexes (byte offset / 4) of the header fields.
export const I_MAGIC = 0; // byte 0
export const I_VERSION = 1; // byte 4
export const I_CAPACITY = 2; // byte 8
export const I_HEADER_SIZE = 3; // byte 12
export const I_MAX_MESSAGE = 4; // byte 16
export const I_FLAGS = 5; // byte 20, 0 in version 1
export const I_WRITE = 16; // byte 64: producers' hint: at or before the tail
export const I_READ = 32; // byte 128: consumers' hint: at or before the first frame not yet taken
export const I_RELEASED = 48; // byte 192: every frame before it is done; its bytes may be reused
export const I_NOT_EMPTY = 64; // byte 256: futex sequence bumped when a frame is committed and someone waits
export const I_NOT_EMPTY_WAITERS = 65; // byte 260: consumers asleep (or about to sleep) on I_NOT_EMPTY
export const I_NOT_FULL = 80; // byte 320: futex sequence bumped when space is released and someone waits
export const I_NOT_FULL_WAITERS = 81; // byte 324: producers asleep (or about to sleep) on I_NOT_FULL

// Frame states (the first word of a frame). 0 is the free word at the tail: nothing written there yet.
export const FREE = 0;
export const KIND_MASK = 0xc0000000 | 0;
export const TID_MASK = 0x3fffffff;
/** A producer (tid in the low bits) owns the tail; the length is not known yet. */
export const CLAIMED = 0x40000000;
/** A producer (tid) is copying the payload; the length word is valid. */
export const WRITING = 0x80000000 | 0;
/** A consumer (tid) took the message and is copying it out (or borrows it). */
export const READING = 0xc0000000 | 0;
/** Complete: a consumer may take it. */
export const COMMITTED = 1;
/** Taken and done with. */
export const CONSUMED = 2;
/** Filler to the end of the ring, so that no frame wraps. */
export const PADDING = 3;
/** Its producer died while writing it: skipped. */
export const ABANDONED = 4;

/** Bytes a frame of `length` payload bytes takes: the header and the payload rounded up to 8. */
export function frameSize(length: number): number {
  return FRAME_HEADER + ((length + 7) & ~7);
}

/** The largest payload of a channel of `capacity` bytes: one frame plus the free word of the next tail. */
export function maxMessageOf(capacity: number): number {
  return capacity - 2 * FRAME_HEADER;
}

/** ERR_CHANNEL_INVALID: the file is not a channel this version can open (nothing was written to it). */
export function invalidChannel(path: string, why: string): CodedError {
  return memmapError('ERR_CHANNEL_INVALID', `'${path}' is not a memmap channel: ${why}; the file was not modified`, {
    path,
  });
}

/** ERR_CHANNEL_CORRUPT: a word in the shared memory breaks the protocol (a foreign writer or a bug). */
export function corruptChannel(why: string): CodedError {
  return memmapError('ERR_CHANNEL_CORRUPT', `the channel's shared memory breaks the protocol: ${why}`);
}

/**
 * Why the first HEADER_SIZE bytes of a file of `fileSize` bytes are not a version-1 channel header, or undefined
 * when they are. Only reads.
 */
export function headerProblem(words: Int32Array, fileSize: number): string | undefined {
  if (fileSize < HEADER_SIZE) return `it is ${fileSize} bytes, shorter than the ${HEADER_SIZE}-byte header`;
  if (words[I_MAGIC] !== MAGIC) return 'the magic number is not "MMCH"';
  if (words[I_VERSION] !== VERSION) return `the format version is ${words[I_VERSION]}, this code reads ${VERSION}`;
  if (words[I_HEADER_SIZE] !== HEADER_SIZE) return `the header size is ${words[I_HEADER_SIZE]}, not ${HEADER_SIZE}`;
  const capacity = Atomics.load(words, I_CAPACITY); // words holds the whole header: HEADER_SIZE / 4 of them
  if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || (capacity & (capacity - 1)) !== 0)
    return `the capacity ${capacity} is not a power of two in [${MIN_CAPACITY}, ${MAX_CAPACITY}]`;
  if (words[I_MAX_MESSAGE] !== maxMessageOf(capacity)) return 'the largest-message field disagrees with the capacity';
  if (words[I_FLAGS] !== 0) return 'unknown flags are set';
  if (fileSize !== HEADER_SIZE + capacity)
    return `it is ${fileSize} bytes, not header + capacity (${HEADER_SIZE + capacity})`;
  return undefined;
}
