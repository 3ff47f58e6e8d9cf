/**
 * `RecordFile.column()`: one field of every record copied into a typed array (Int32Array for int32, BigInt64Array
 * for int64, ...), read straight from the mapped bytes at the field's offset in each record; a field with no typed
 * array of its own (char, bytes, array, struct) is copied as an array of values.
 */
import { invalidArgType, invalidArgValue } from '../errors.js';
import type { Field } from '../layout/struct.js';
import type { RecordLayout } from './layout-adapter.js';

/** What `column()` copies a field into: a typed array for a scalar field, an array of values for the rest. */
export type Column =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array
  | unknown[];

/** A typed array per scalar kind, and how to read one value of it. */
const TYPED_COLUMNS: Record<
  string,
  {
    array: new (length: number) => ArrayLike<unknown> & { [i: number]: unknown };
    read: (dv: DataView, at: number, little: boolean) => unknown;
  }
> = {
  int8: { array: Int8Array, read: (dv, at) => dv.getInt8(at) },
  uint8: { array: Uint8Array, read: (dv, at) => dv.getUint8(at) },
  bool: { array: Uint8Array, read: (dv, at) => dv.getUint8(at) },
  int16: { array: Int16Array, read: (dv, at, little) => dv.getInt16(at, little) },
  uint16: { array: Uint16Array, read: (dv, at, little) => dv.getUint16(at, little) },
  int32: { array: Int32Array, read: (dv, at, little) => dv.getInt32(at, little) },
  uint32: { array: Uint32Array, read: (dv, at, little) => dv.getUint32(at, little) },
  int64: { array: BigInt64Array, read: (dv, at, little) => dv.getBigInt64(at, little) },
  uint64: { array: BigUint64Array, read: (dv, at, little) => dv.getBigUint64(at, little) },
  float32: { array: Float32Array, read: (dv, at, little) => dv.getFloat32(at, little) },
  float64: { array: Float64Array, read: (dv, at, little) => dv.getFloat64(at, little) },
};

/** Where the records are in `dv`. */
export interface RecordSpan {
  offset: number;
  recordSize: number;
  length: number;
}

/**
 * Copies field `field` of `span.length` records. `read(i)` gives the field's value of record i for a field without
 * a typed array. The caller checks afterwards that no page read was one memmap's SIGBUS handler replaced.
 */
export function copyColumn(
  dv: DataView,
  span: RecordSpan,
  field: Field,
  options: { littleEndian: boolean; read: (index: number) => unknown },
): Column {
  const Typed = TYPED_COLUMNS[field.type.kind];
  if (Typed === undefined) {
    const out: unknown[] = new Array(span.length);
    for (let i = 0; i < span.length; i++) out[i] = options.read(i);
    return out;
  }
  const out = new Typed.array(span.length);
  let at = span.offset + field.offset;
  for (let i = 0; i < span.length; i++, at += span.recordSize) out[i] = Typed.read(dv, at, options.littleEndian);
  return out as Column;
}

/** The record's fields (none for a layout without them). */
export function fieldsOf(codec: RecordLayout): readonly Field[] {
  return (codec as RecordLayout & { fields?: readonly Field[] }).fields ?? [];
}

/** The field called `name`: ERR_INVALID_ARG_TYPE unless a string, ERR_INVALID_ARG_VALUE unless a field's name. */
export function fieldNamed(codec: RecordLayout, name: unknown): Field {
  if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
  const field = fieldsOf(codec).find((f) => f.name === name);
  if (field === undefined) throw invalidArgValue('name', name, 'must name a field of the record');
  return field;
}
