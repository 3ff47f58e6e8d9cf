/**
 * The scalar field types: C's fixed-width integers (<stdint.h>), float, double and _Bool. Each has its natural
 * alignment (its size), as on x86-64 and aarch64 Linux; the compiler-oracle test checks that on this machine.
 */
import type { FieldType } from './field.js';

/** The name of a scalar kind. */
export type ScalarKind =
  'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64' | 'bool';

/** A scalar field type: its kind, C size and alignment, and the C and numpy names it prints as. */
export interface ScalarType<K extends ScalarKind = ScalarKind, T = unknown> extends FieldType<T, T, T> {
  readonly kind: K;
  /** The C type name (from <stdint.h> or <stdbool.h>). */
  readonly cType: string;
}

function scalar<K extends ScalarKind, T>(kind: K, size: number, cType: string): ScalarType<K, T> {
  return Object.freeze({ kind, size, align: size, cType });
}

/** `int8_t`: a signed 8-bit integer, read as a number. */
export const int8: ScalarType<'int8', number> = scalar('int8', 1, 'int8_t');
/** `uint8_t`: an unsigned 8-bit integer, read as a number. */
export const uint8: ScalarType<'uint8', number> = scalar('uint8', 1, 'uint8_t');
/** `int16_t`: a signed 16-bit integer, read as a number. */
export const int16: ScalarType<'int16', number> = scalar('int16', 2, 'int16_t');
/** `uint16_t`: an unsigned 16-bit integer, read as a number. */
export const uint16: ScalarType<'uint16', number> = scalar('uint16', 2, 'uint16_t');
/** `int32_t`: a signed 32-bit integer, read as a number. */
export const int32: ScalarType<'int32', number> = scalar('int32', 4, 'int32_t');
/** `uint32_t`: an unsigned 32-bit integer, read as a number. */
export const uint32: ScalarType<'uint32', number> = scalar('uint32', 4, 'uint32_t');
/** `int64_t`: a signed 64-bit integer, read as a bigint. */
export const int64: ScalarType<'int64', bigint> = scalar('int64', 8, 'int64_t');
/** `uint64_t`: an unsigned 64-bit integer, read as a bigint. */
export const uint64: ScalarType<'uint64', bigint> = scalar('uint64', 8, 'uint64_t');
/** `float`: an IEEE 754 single, read as a number (writes round to the nearest float). */
export const float32: ScalarType<'float32', number> = scalar('float32', 4, 'float');
/** `double`: an IEEE 754 double, read as a number. */
export const float64: ScalarType<'float64', number> = scalar('float64', 8, 'double');
/** `_Bool` (`bool` in <stdbool.h>): one byte, any nonzero byte reads as true; writes 0 or 1. */
export const bool: ScalarType<'bool', boolean> = scalar('bool', 1, 'bool');

/** Every scalar type by kind. */
export const scalars: Readonly<Record<ScalarKind, ScalarType>> = Object.freeze({
  int8,
  uint8,
  int16,
  uint16,
  int32,
  uint32,
  int64,
  uint64,
  float32,
  float64,
  bool,
});

/** Whether a field type is a scalar. */
export function isScalar(type: FieldType): type is ScalarType {
  return Object.prototype.hasOwnProperty.call(scalars, type.kind);
}
