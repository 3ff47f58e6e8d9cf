/**
 * The argument checks of RecordFile's record methods (an index, slice bounds, an iterable of values): coded errors
 * in Node's shape, thrown before anything is read or written.
 */
import { invalidArgType, outOfRange } from '../errors.js';

/** ERR_INVALID_ARG_TYPE for an index that is not a number, else ERR_OUT_OF_RANGE (records are [0, length)). */
export function indexError(name: string, index: unknown, length: number): Error {
  if (typeof index !== 'number') return invalidArgType(name, 'of type number', index);
  const wanted = length === 0 ? 'an index into records, but there are none' : `an integer >= 0 && < ${String(length)}`;
  return outOfRange(name, wanted, index);
}

/** A slice bound: a number (not NaN), truncated, negative counting from the end, clamped to [0, length]. */
export function sliceBound(value: unknown, name: string, length: number): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw invalidArgType(name, 'of type number', value);
  const i = Math.trunc(value);
  return i < 0 ? Math.max(0, length + i) : Math.min(i, length);
}

/** Whether `values` can be iterated (has a Symbol.iterator method). */
export function isIterable(values: unknown): values is Iterable<unknown> {
  return (
    values !== null &&
    values !== undefined &&
    typeof (values as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}
