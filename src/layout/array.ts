/**
 * `array(type, n)`: a fixed C array `T name[n]` of any field type, structs included. Reads give a JS array, a
 * live view gives a StructArray over the elements.
 */
import { checkFieldType, checkLength, checkSize } from './field.js';
import type { AnyFieldType, FieldType, Infer, InferInput } from './field.js';
import type { StructArray } from './struct-array.js';

/** A `T name[length]` field type. */
export interface ArrayType<T extends AnyFieldType = AnyFieldType> extends FieldType<
  Infer<T>[],
  readonly InferInput<T>[],
  StructArray<T>
> {
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
  const size = checkSize(element.size * length, 'length');
  return Object.freeze({ kind: 'array' as const, size, align: element.align, element, length });
}
