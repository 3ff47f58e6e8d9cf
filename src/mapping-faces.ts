/**
 * The two faces of every mapping and System V attachment (native/retire.h).
 *
 * Native code that was handed a view (zlib, crypto, fs, streams on the thread pool) may still be working on it when
 * the mapping is closed, and Node's zlib ends the process if its input is detached between two passes. So the
 * ArrayBuffer handed to the program (`.buffer`, bytes members, mmap-io buffers: the public face) is never detached:
 * once the mapping is retired it keeps working on memory that reaches no file (the file's bytes mapped privately,
 * or a private copy of a segment), until it is collected. What must stop at once is built on the guarded face, a
 * second ArrayBuffer over the same bytes that retirement detaches: every layout view, record array, atomic word,
 * mutex and channel, which then throw ERR_DETACHED_BUFFER (or their own closed error) instead of reading a file
 * they no longer own.
 */
import { native, PAGE_SIZE } from './native.js';

const guardedOf = new WeakMap<ArrayBufferLike, ArrayBuffer>();
const publicOf = new WeakMap<ArrayBufferLike, ArrayBuffer>();

/** Makes and records the guarded face of a live mapping (`attachment`: of a System V attachment). */
export function guardFace(mapping: ArrayBuffer, attachment = false): ArrayBuffer {
  const guarded = attachment ? native.shmAlias(mapping) : native.alias(mapping);
  guardedOf.set(mapping, guarded);
  publicOf.set(guarded, mapping);
  return guarded;
}

/**
 * How many retired ranges may be kept with their public face attached before they are released, and how many
 * bytes of anonymous memory (anonymous mappings, copies of detached segments) they may hold. A kept range costs a
 * memory map (vm.max_map_count is 65,530 by default), a slot of the SIGBUS registry (65,536), and its anonymous
 * bytes; it is released only once the engine has collected its faces, which Node does after the event loop turns,
 * never inside a synchronous loop. Past either budget a retirement detaches the public face as well (its views then
 * read as length 0) and maps anonymous memory over the range: a synchronous loop of a million opens and closes then costs nothing, and only a zlib stream with
 * passes left over a view retired past the budget still meets a detached input.
 */
export const KEPT_RANGES_BUDGET = 4096;
export const KEPT_BYTES_BUDGET = 256 * 1024 * 1024;

/** Whether a retirement that holds `heldBytes` of anonymous memory may keep its public face attached. */
export function keepPublicFace(heldBytes: number): boolean {
  const [ranges, bytes] = native.retired();
  // The addon counts whole pages.
  return ranges < KEPT_RANGES_BUDGET && bytes + Math.ceil(heldBytes / PAGE_SIZE) * PAGE_SIZE <= KEPT_BYTES_BUDGET;
}

/** The buffer internal views are built on: the guarded face of a mapping's public face, any other buffer itself. */
export function guardedFace<B extends ArrayBufferLike>(buffer: B): B {
  return (guardedOf.get(buffer) as B | undefined) ?? buffer;
}

/** The buffer views handed to the program are built on: the public face of a guarded face, any other itself. */
export function publicFace(buffer: ArrayBufferLike): ArrayBufferLike {
  return publicOf.get(buffer) ?? buffer;
}

/** `bytes` (a view of a mapping's public face) as the same window of its guarded face; any other view itself. */
export function guardedBytes(bytes: Buffer): Buffer {
  const guarded = guardedOf.get(bytes.buffer);
  return guarded === undefined ? bytes : Buffer.from(guarded, bytes.byteOffset, bytes.byteLength);
}
