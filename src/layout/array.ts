/**
 * `array(type, n)`: a fixed C array `T name[n]` of any field type, structs included. Reads give a JS array, a
 * live view gives a StructArray over the elements.
 */
import { invalidArgType } from '../errors.js';
import { checkLength } from './char.js';
import type { AnyFieldType, FieldType, Infer, InferInput } from './field.js';
import type { StructArray } from './struct-array.js';

/** A `T name[length]` field type. */
export interface ArrayType<T extends AnyFieldType = AnyFieldType>
  extends FieldType<Infer<T>[], readonly InferInput<T>[], StructArray<T>> {
  readonly kind: 'array';
  /** The element type. */
  readonly element: T;
  /** The number of elements. */
  readonly length: number;
}

/** `T name[length]`: a fixed array of `length` elements of `element` (any field type, structs included). */
export function array<T extends AnyFieldType>(element: T, length: number): ArrayType<T> {
  checkFieldType(element, 'element');
  checkLength(length, 'length');
  // A C array has no padding between elements: the element size is already a multiple of its alignment.
  return Object.freeze({ kind: 'array' as const, size: element.size * length, align: element.align, element, length });
}

/** Checks that `value` is a field type made by this module. */
export function checkFieldType(value: unknown, name: string): asserts value is AnyFieldType {
  if (
    value === null ||
    typeof value !== 'object' ||
    !kinds.has((value as FieldType).kind) ||
    typeof (value as FieldType).size !== 'number' ||
    typeof (value as FieldType).align !== 'number'
  ) {
    throw invalidFieldType(name, value);
  }
}

/** Every kind this module makes. */
const kinds = new Set([
  'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64', 'bool',
  'char', 'bytes', 'array', 'struct', 'union',
]);

function invalidFieldType(name: string, value: unknown): Error {
  return invalidArgType(name, 'a layout field type (int32, char(n), struct({...}), ...)', value);
}
