/**
 * A record description as JSON: `Student.toJSON()` (or `toSchema`) gives a plain object with every member, its type
 * and offset, and the record's size, alignment and byte order. `fromSchema` (schema-from.ts) reads it back.
 */
import type { ArrayType } from './array.js';
import { endianOf, hostEndian, type Aggregate, type AnyFieldType, type Endian } from './field.js';
import type { ScalarKind } from './scalar.js';

/** The JSON form of a field type: a scalar's name, or an object for the others. */
export type FieldSchema =
  | ScalarKind
  | {
      /** A `char(length)` field. */
      kind: 'char';
      /** Bytes in the field. */
      length: number;
    }
  | {
      /** A `bytes(length)` field. */
      kind: 'bytes';
      /** Bytes in the field. */
      length: number;
    }
  | {
      /** An `array(element, length)` field. */
      kind: 'array';
      /** The element type. */
      element: FieldSchema;
      /** Number of elements. */
      length: number;
    }
  | AggregateSchema;

/** The JSON form of a struct or union. */
export interface AggregateSchema {
  /** A struct or a union. */
  kind: 'struct' | 'union';
  /** The byte order of its multi-byte members (resolved: the host's when none was named). */
  endian: Endian;
  /** Whether it is packed (`__attribute__((packed))`). */
  packed: boolean;
  /** The `align` option, or null. */
  requestedAlign: number | null;
  /** sizeof, as computed when the schema was made. */
  size: number;
  /** _Alignof, as computed when the schema was made. */
  align: number;
  /** Members in declaration order. */
  fields: {
    /** The member's name. */
    name: string;
    /** Its byte offset in the record. */
    offset: number;
    /** Its field type. */
    type: FieldSchema;
  }[];
}

/** The JSON description of a struct or union. */
export function toSchema(type: Aggregate): AggregateSchema {
  return aggregateSchema(type, type.endian ?? hostEndian);
}

function aggregateSchema(type: Aggregate, endian: Endian): AggregateSchema {
  const record = type as Aggregate & { packed?: boolean; requestedAlign?: number };
  return {
    kind: type.kind,
    endian,
    packed: record.packed === true,
    requestedAlign: record.requestedAlign ?? null,
    size: type.size,
    align: type.align,
    fields: type.fields.map((f) => ({ name: f.name, offset: f.offset, type: fieldSchema(f.type, endian) })),
  };
}

function fieldSchema(type: AnyFieldType, endian: Endian): FieldSchema {
  switch (type.kind) {
    case 'char':
    case 'bytes':
      return { kind: type.kind, length: type.size };
    case 'array':
      return {
        kind: 'array',
        element: fieldSchema((type as ArrayType).element, endian),
        length: (type as ArrayType).length,
      };
    case 'struct':
    case 'union':
      return aggregateSchema(type as Aggregate, endianOf(type, endian));
    default:
      return type.kind as ScalarKind;
  }
}
