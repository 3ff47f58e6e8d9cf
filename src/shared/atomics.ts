/**
 * Atomic 32-bit and 64-bit integers in any bytes: a MappedFile's buffer, a System V attachment, or a Buffer.
 *
 * JavaScript's Atomics work on an Int32Array or BigInt64Array over any ArrayBuffer, not only a
 * SharedArrayBuffer, and V8 compiles them to the processor's locked instructions (lock xadd, lock cmpxchg, xchg
 * on x86-64; ldaxr/stlxr or LSE atomics on arm64). Those are atomic with respect to every CPU, so they are atomic
 * between processes that map the same pages: test/shared/atomics.test.ts proves it with 8 processes. 64-bit
 * operations need 8-byte alignment, which every mapping gives (pages are aligned) as long as the offset is a
 * multiple of 8; on the 64-bit platforms Node 20 supports, aligned 8-byte atomics are single instructions.
 *
 * What they do not give: waiting. Atomics.wait needs a SharedArrayBuffer and only wakes threads of this process;
 * `wait`/`notify` in ./wait.ts use the futex system call instead.
 */
import { types } from 'node:util';
import { invalidArgType, memmapError, outOfRange, validateInteger, type CodedError } from '../errors.js';
import {
  arrayBufferByteLength,
  dataViewBuffer,
  dataViewByteLength,
  dataViewByteOffset,
  typedArrayBuffer,
  typedArrayByteLength,
  typedArrayByteOffset,
  typedArrayLength,
} from '../intrinsics.js';
import { guardedFace } from '../mapping-faces.js';

/** Bytes an atomic can live in: a Buffer or other view (its window), or a whole ArrayBuffer. */
export type Bytes = ArrayBufferView | ArrayBuffer;

const { isArrayBuffer, isDataView, isTypedArray } = types;

/**
 * @internal Elements in `cell`, as the engine knows them (0 once its memory is unmapped), whatever the view or
 * its prototype say: the check that guards every native call on a cell.
 */
export function cellLength(cell: Int32Array): number {
  return typedArrayLength(cell);
}

/** The ArrayBuffer under `bytes` and the absolute byte offset of `byteOffset` in it, checked for size and alignment. */
export function locateWord(
  bytes: Bytes,
  byteOffset: number,
  size: number,
  name = 'byteOffset',
): { buffer: ArrayBuffer; offset: number } {
  let buffer: ArrayBufferLike;
  let start: number;
  let length: number;
  // Read through the engine's own getters: a view whose byteOffset or byteLength getters lie gets no say.
  if (isArrayBuffer(bytes)) {
    buffer = bytes;
    start = 0;
    length = arrayBufferByteLength(bytes);
  } else if (isTypedArray(bytes)) {
    buffer = typedArrayBuffer(bytes);
    start = typedArrayByteOffset(bytes);
    length = typedArrayByteLength(bytes);
  } else if (isDataView(bytes)) {
    buffer = dataViewBuffer(bytes);
    start = dataViewByteOffset(bytes);
    length = dataViewByteLength(bytes);
  } else {
    throw invalidArgType('bytes', 'an instance of Buffer, TypedArray, DataView or ArrayBuffer', bytes);
  }
  if (!isArrayBuffer(buffer))
    throw invalidArgType('bytes', 'a view of an ArrayBuffer (a SharedArrayBuffer works with Atomics directly)', bytes);
  // Atomics work on a mapping's guarded face, which closing the mapping detaches (mapping-faces.ts): detached, it
  // is shorter than the view of the public face (which stays), or both are empty.
  buffer = guardedFace(buffer);
  const bufferLength = arrayBufferByteLength(buffer);
  if (bufferLength < start + length || (bufferLength === 0 && length === 0)) throw unmappedError();
  validateInteger(byteOffset, name, 0, Math.max(0, length - size));
  if (length < size) throw outOfRange(name, `such that ${size} bytes fit (the bytes are ${length} long)`, byteOffset);
  const offset = start + byteOffset;
  if (offset % size !== 0)
    throw outOfRange(
      name,
      `a multiple of ${size} from the start of the mapping (the bytes start at ${start}): ` +
        'atomics need natural alignment',
      byteOffset,
    );
  return { buffer, offset };
}

/** The memory under an atomic was unmapped (the file closed, or the segment detached). */
export function unmappedError(): CodedError {
  return memmapError(
    'ERR_MAPPING_CLOSED',
    'the memory under this atomic is unmapped (its MappedFile was closed or its attachment detached): map it again',
  );
}

function int32Of(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff)
    throw outOfRange(name, '>= -2147483648 && <= 4294967295 (a 32-bit integer)', value);
  return value;
}

function bigint64Of(value: unknown, name: string): bigint {
  if (typeof value !== 'bigint') throw invalidArgType(name, 'of type bigint', value);
  if (value < -(2n ** 63n) || value >= 2n ** 64n)
    throw outOfRange(name, '>= -(2n ** 63n) && < 2n ** 64n (a 64-bit integer)', value);
  return value;
}

/**
 * @internal The one-element view of an AtomicInt32, read from its private field: what wait/notify and Mutex hand
 * to the addon. Not the `cell` property, which a caller can shadow on the instance with a view that lies.
 */
export let int32CellOf: (atomic: AtomicInt32) => Int32Array;

/** A signed 32-bit integer at `byteOffset` of `bytes` (4-byte aligned), read and written atomically. */
export class AtomicInt32 {
  readonly #cell: Int32Array;

  static {
    int32CellOf = (atomic) => atomic.#cell;
  }

  constructor(bytes: Bytes, byteOffset = 0) {
    const { buffer, offset } = locateWord(bytes, byteOffset, 4);
    this.#cell = new Int32Array(buffer, offset, 1);
  }

  /** @internal The one-element view the operations use (length 0 once the memory is unmapped). */
  get cell(): Int32Array {
    return this.#cell;
  }

  #live(): Int32Array {
    // No native call follows: a lying length at worst lets Atomics throw its own TypeError on a detached view.
    if (this.#cell.length === 0) throw unmappedError();
    return this.#cell;
  }

  /** Atomics.load. */
  load(): number {
    return Atomics.load(this.#live(), 0);
  }

  /** Atomics.store; returns `value`. */
  store(value: number): number {
    return Atomics.store(this.#live(), 0, int32Of(value, 'value'));
  }

  /** Adds `value` (wrapping at 32 bits) and returns the value before. */
  add(value: number): number {
    return Atomics.add(this.#live(), 0, int32Of(value, 'value'));
  }

  /** Subtracts `value` and returns the value before. */
  sub(value: number): number {
    return Atomics.sub(this.#live(), 0, int32Of(value, 'value'));
  }

  /** Stores `value` and returns the value before. */
  exchange(value: number): number {
    return Atomics.exchange(this.#live(), 0, int32Of(value, 'value'));
  }

  /** Stores `replacement` if the value is `expected`; returns the value before (equal to `expected` on success). */
  compareExchange(expected: number, replacement: number): number {
    return Atomics.compareExchange(this.#live(), 0, int32Of(expected, 'expected'), int32Of(replacement, 'replacement'));
  }

  /** Bitwise and; returns the value before. */
  and(value: number): number {
    return Atomics.and(this.#live(), 0, int32Of(value, 'value'));
  }

  /** Bitwise or; returns the value before. */
  or(value: number): number {
    return Atomics.or(this.#live(), 0, int32Of(value, 'value'));
  }

  /** Bitwise xor; returns the value before. */
  xor(value: number): number {
    return Atomics.xor(this.#live(), 0, int32Of(value, 'value'));
  }
}

/** A signed 64-bit integer (as bigint) at `byteOffset` of `bytes` (8-byte aligned), read and written atomically. */
export class AtomicBigInt64 {
  readonly #cell: BigInt64Array;

  constructor(bytes: Bytes, byteOffset = 0) {
    const { buffer, offset } = locateWord(bytes, byteOffset, 8);
    this.#cell = new BigInt64Array(buffer, offset, 1);
  }

  #live(): BigInt64Array {
    if (this.#cell.length === 0) throw unmappedError();
    return this.#cell;
  }

  /** Reads the value (a sequentially consistent load). */
  load(): bigint {
    return Atomics.load(this.#live(), 0);
  }

  /** Writes `value` and returns it. */
  store(value: bigint): bigint {
    return Atomics.store(this.#live(), 0, bigint64Of(value, 'value'));
  }

  /** Adds `value` (wrapping at 64 bits); returns the value before. */
  add(value: bigint): bigint {
    return Atomics.add(this.#live(), 0, bigint64Of(value, 'value'));
  }

  /** Subtracts `value` (wrapping at 64 bits); returns the value before. */
  sub(value: bigint): bigint {
    return Atomics.sub(this.#live(), 0, bigint64Of(value, 'value'));
  }

  /** Writes `value`; returns the value before. */
  exchange(value: bigint): bigint {
    return Atomics.exchange(this.#live(), 0, bigint64Of(value, 'value'));
  }

  /** Writes `replacement` if the value is `expected`; returns the value before (equal to `expected` on success). */
  compareExchange(expected: bigint, replacement: bigint): bigint {
    const [before, after] = [bigint64Of(expected, 'expected'), bigint64Of(replacement, 'replacement')];
    return Atomics.compareExchange(this.#live(), 0, before, after);
  }
}
