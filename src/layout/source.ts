/**
 * The bytes records are laid over: a Buffer, any typed array or DataView (its byteOffset honoured), an ArrayBuffer
 * or a SharedArrayBuffer. Over a mapping, records read through its guarded face (mapping-faces.ts), which closing
 * the mapping detaches: every access then throws ERR_DETACHED_BUFFER instead of reading a file no longer mapped.
 */
import { invalidArgType, memmapError, outOfRange, validateInteger, type CodedError } from '../errors.js';
import {
  arrayBufferByteLength,
  dataViewBuffer,
  dataViewByteLength,
  dataViewByteOffset,
  isArrayBufferView,
  sharedArrayBufferByteLength,
  typedArrayBuffer,
  typedArrayByteLength,
  typedArrayByteOffset,
  typedArrayTag,
} from '../intrinsics.js';
import { guardedFace } from '../mapping-faces.js';

/** Bytes a layout can read and write: a Buffer, typed array, DataView, ArrayBuffer or SharedArrayBuffer. */
export type ByteSource = ArrayBufferView | ArrayBufferLike;

/** The window of memory a source covers. */
export interface ByteWindow {
  buffer: ArrayBufferLike;
  byteOffset: number;
  byteLength: number;
}

/** `call(source)`, or undefined when it throws (the source is not of the kind the engine's getter takes). */
function attempt<T>(call: (source: never) => T, source: unknown): T | undefined {
  try {
    return call(source as never);
  } catch {
    return undefined;
  }
}

/**
 * The buffer, offset and length of `source`; a detached source has length 0. Read with the engine's own getters and
 * brand checks, bound at load: an own property, a patched prototype getter, ArrayBuffer.isView or Symbol.hasInstance
 * cannot widen the window, nor pass off a plain object as bytes. Only the common kinds are told apart without a
 * throw (typed arrays, DataViews, ArrayBuffers): a SharedArrayBuffer costs one caught TypeError, when it is located.
 */
export function windowOf(source: unknown, name: string): ByteWindow {
  const window = sourceWindow(source, name);
  // Records are read through a mapping's guarded face, which closing the mapping detaches (mapping-faces.ts).
  window.buffer = guardedFace(window.buffer);
  return window;
}

function sourceWindow(source: unknown, name: string): ByteWindow {
  if (typeof source === 'object' && source !== null) {
    if (typedArrayTag(source) !== undefined) {
      const typed = source as NodeJS.TypedArray; // detached: offset and length 0
      const buffer = typedArrayBuffer(typed);
      return { buffer, byteOffset: typedArrayByteOffset(typed), byteLength: typedArrayByteLength(typed) };
    }
    if (isArrayBufferView(source)) {
      const view = source as DataView; // detached (or out of bounds): the getters throw, and it covers no bytes
      const buffer = dataViewBuffer(view);
      const byteLength = attempt(dataViewByteLength, view);
      const byteOffset = attempt(dataViewByteOffset, view);
      if (byteLength === undefined || byteOffset === undefined) return { buffer, byteOffset: 0, byteLength: 0 };
      return { buffer, byteOffset, byteLength };
    }
    const ownLength = attempt(arrayBufferByteLength, source);
    if (ownLength !== undefined) return { buffer: source as ArrayBuffer, byteOffset: 0, byteLength: ownLength };
    const sharedLength =
      sharedArrayBufferByteLength === undefined ? undefined : attempt(sharedArrayBufferByteLength, source);
    if (sharedLength !== undefined)
      return { buffer: source as SharedArrayBuffer, byteOffset: 0, byteLength: sharedLength };
  }
  throw invalidArgType(name, 'an instance of Buffer, TypedArray, DataView, ArrayBuffer or SharedArrayBuffer', source);
}

/** The Uint8Array constructor as loaded (isDetached). */
const Bytes = Uint8Array;

/**
 * Whether `buffer` is detached (its mapping was closed). Node 20 has no ArrayBuffer#detached: a detached buffer has
 * length 0, and constructing a view over it throws, which tells it from an empty buffer. Only called off the hot path.
 */
export function isDetached(buffer: ArrayBufferLike): boolean {
  // The engine's getter and constructor, bound at load: a patched byteLength or a replaced global Uint8Array must
  // not make a live buffer look detached. A SharedArrayBuffer (the getter throws) is never detached.
  if (attempt(arrayBufferByteLength, buffer) !== 0) return false;
  try {
    new Bytes(buffer);
    return false;
  } catch {
    return true;
  }
}

/** ERR_DETACHED_BUFFER: the memory under a record is gone (its mapping was closed or resized). */
export function detachedBuffer(): CodedError {
  return memmapError(
    'ERR_DETACHED_BUFFER',
    'Cannot access a record through a detached buffer: its mapping was closed or resized. Map the file again and take a new view.',
    { kind: 'TypeError' },
  );
}

/**
 * Turns an error thrown by a DataView access into a coded one: ERR_DETACHED_BUFFER when the buffer is detached (V8
 * throws a plain TypeError then), and, when the caller names the record it was reaching (`o`, `size`), ERR_OUT_OF_RANGE
 * for the RangeError of a record that lies outside `dv`. That is how an index past the end of an array is reported by
 * `cursor.at(i)` and `at(i)`: their DataView is exactly the array's window, and the engine's own bounds check of the
 * first access is the length check (see arrayClassSource in codegen.ts). Other errors pass through unchanged. Called
 * only in catch blocks, off the hot path.
 */
export function accessError(dv: DataView, error: unknown, o?: number, size?: number): unknown {
  const buffer = dataViewBuffer(dv);
  if (isDetached(buffer)) return detachedBuffer();
  let byteLength: number;
  try {
    byteLength = dataViewByteLength(dv);
  } catch {
    // Not detached, yet no length: a resizable ArrayBuffer shrunk below the DataView's end (V8's TypeError says
    // "detached"). It may grow back, and then the DataView works again.
    return bufferShrunk(buffer);
  }
  if (o === undefined || size === undefined || !(error instanceof RangeError)) return error;
  return o >= 0 && o + size <= byteLength ? error : recordOutOfRange(o, size, byteLength);
}

/** ERR_OUT_OF_RANGE for records over a resizable ArrayBuffer that was shrunk below their end. */
function bufferShrunk(buffer: ArrayBufferLike): CodedError {
  let byteLength: number | string = 'an unknown length';
  try {
    byteLength = arrayBufferByteLength(buffer as ArrayBuffer);
  } catch {
    // a SharedArrayBuffer (which never shrinks): only its length is unknown
  }
  return outOfRange(
    'buffer.byteLength',
    'at least the end of the records (the ArrayBuffer was resized under them)',
    byteLength,
  );
}

/**
 * ERR_OUT_OF_RANGE for a record at byte `o` of an array's window of `byteLength` bytes, records of `size` bytes: its
 * index and the array's length (a record of an array is at index * size of its window).
 */
export function recordOutOfRange(o: number, size: number, byteLength: number): CodedError {
  const length = Math.floor(byteLength / size);
  return outOfRange(
    'index',
    `an integer >= 0 && < ${length} (the length of the array the record was taken from)`,
    o / size,
  );
}

const viewCache = new WeakMap<ArrayBufferLike, DataView>();

/**
 * One DataView over a whole buffer, shared by every read and write that comes with a buffer argument. A WeakMap
 * keeps the cache from holding any buffer alive (measured: a WeakRef'd last-used entry in front of it is slower).
 */
export function dataViewOf(buffer: ArrayBufferLike): DataView {
  let dv = viewCache.get(buffer);
  if (dv === undefined) {
    try {
      dv = new DataView(buffer);
    } catch (error) {
      // A buffer detached before anything read it: V8 refuses the DataView with a plain TypeError.
      throw isDetached(buffer) ? detachedBuffer() : error;
    }
    viewCache.set(buffer, dv);
  }
  return dv;
}

/**
 * Checks that `size` bytes at `offset` lie inside `window`, and returns the absolute offset in its buffer. A
 * detached source throws ERR_DETACHED_BUFFER, not a range error.
 */
export function checkedOffset(window: ByteWindow, offset: unknown, size: number, name: string): number {
  if (offset === undefined) offset = 0;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset + size > window.byteLength) {
    if (isDetached(window.buffer)) throw detachedBuffer();
    validateInteger(offset, name, 0);
    throw outOfRange(
      name,
      `>= 0 && <= ${window.byteLength - size} (a record of ${size} bytes in ${window.byteLength} bytes)`,
      offset,
    );
  }
  return window.byteOffset + offset;
}

/* The last source located, with its DataView and window. On Node 20 reading `.buffer`, `.byteOffset` or
   `.byteLength` of a Buffer costs 10-20 ns each (they are not inlined): more than a whole record read. A view never
   changes its buffer or window (only a detach empties it, and then the DataView access throws, which accessError
   turns into ERR_DETACHED_BUFFER), so a loop over one source pays for them once. It keeps one source alive until
   another is located: a closed mapping's records still throw (its guarded face is detached), and the one Buffer held
   keeps at most one closed range reserved (mapping-faces.ts). */
let lastSource: unknown;
let lastView: DataView = new DataView(new ArrayBuffer(0));
let lastBase = 0;
let lastLength = 0;

/**
 * Checks that `size` bytes at `offset` lie inside `source` and returns their absolute offset in its buffer; the
 * DataView to use is then `locatedView()`. The hot path of `read`, `write` and `view` with a buffer argument.
 */
export function locate(source: ByteSource, offset: number, size: number): number {
  if (source !== lastSource) {
    const window = windowOf(source, 'source');
    lastView = dataViewOf(window.buffer);
    lastBase = window.byteOffset;
    lastLength = window.byteLength;
    lastSource = source;
  }
  if (offset >>> 0 !== offset || offset + size > lastLength)
    return checkedOffset(windowOf(source, 'source'), offset, size, 'offset');
  return lastBase + offset;
}

/**
 * What a read, write or view located by `locate` throws for `error` from its access through `dv`: a record that lies outside `source` as it is
 * now is ERR_OUT_OF_RANGE naming `offset`. Why: `locate` keeps the length it found, and a source over a resizable
 * ArrayBuffer can be shorter now (its shared DataView then throws V8's own RangeError). The next `locate` looks again.
 * Else what accessError makes of it (ERR_DETACHED_BUFFER for a detached buffer).
 */
export function locatedError(dv: DataView, source: ByteSource, offset: number, size: number, error: unknown): unknown {
  lastSource = undefined;
  const window = windowOf(source, 'source');
  if (error instanceof RangeError && !isDetached(window.buffer)) checkedOffset(window, offset, size, 'offset');
  return accessError(dv, error);
}

/** The DataView of the source `locate` was last called with. */
export function locatedView(): DataView {
  return lastView;
}
