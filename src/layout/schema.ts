/**
 * A record description as JSON, and back: `Student.toJSON()` (or `toSchema`) gives a plain object with every
 * member, its type, offset and the record's size, alignment and byte order; `fromSchema(json)` rebuilds the
 * record and checks the layout still comes out the same on this machine. `Student.hash` (or `schemaHash`) is a
 * sha-256 of that JSON, stable across runs and processes: a file can store it and check it on reopen.
 */
import { createHash } from 'node:crypto';
import { invalidArgType, invalidArgValue, memmapError } from '../errors.js';
import { array, type ArrayType } from './array.js';
import { bytes } from './bytes.js';
import { char } from './char.js';
import { endianOf, type Aggregate } from './codegen.js';
import { hostEndian, type AnyFieldType, type Endian } from './field.js';
import { scalars, type ScalarKind } from './scalar.js';
import { StructType, type Shape } from './struct.js';

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
export function toSchema(type: StructType<Shape>): AggregateSchema {
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
      return { kind: 'array', element: fieldSchema((type as ArrayType).element, endian), length: (type as ArrayType).length };
    case 'struct':
    case 'union':
      return aggregateSchema(type as Aggregate, endianOf(type, endian));
    default:
      return type.kind as ScalarKind;
  }
}

/** The sha-256 (hex) of the record's JSON description. */
export function schemaHash(type: StructType<Shape>): string {
  return createHash('sha256').update(`memmap-layout-1\n${JSON.stringify(toSchema(type))}`).digest('hex');
}

/**
 * Rebuilds a record from its JSON description (an object or a JSON string). Throws ERR_LAYOUT_MISMATCH if the
 * size, alignment or an offset recorded in it differs from what this machine's C ABI gives.
 */
export function fromSchema(schema: AggregateSchema | string): StructType<Shape> {
  const parsed: unknown = typeof schema === 'string' ? JSON.parse(schema) : schema;
  const type = build(parsed, 'schema');
  if (!(type instanceof StructType)) throw invalidArgValue('schema', parsed, 'must describe a struct or union');
  return type;
}

/**
 * `inherited` is the byte order the node would have without an option of its own (the host's at the top): a
 * record whose stored order equals it gets no `endian` option, so it is rebuilt as it was described (and toC
 * prints no byte-order attribute for it).
 */
function build(value: unknown, path: string, inherited: Endian = hostEndian): AnyFieldType {
  if (typeof value === 'string') {
    if (!Object.prototype.hasOwnProperty.call(scalars, value))
      throw invalidArgValue(path, value, 'must name a scalar type (int8 ... float64, bool)');
    return scalars[value as ScalarKind];
  }
  if (value === null || typeof value !== 'object') throw invalidArgType(path, 'a field schema', value);
  const node = value as Record<string, unknown>;
  switch (node.kind) {
    case 'char':
      return char(node.length as number);
    case 'bytes':
      return bytes(node.length as number);
    case 'array':
      return array(build(node.element, `${path}.element`, inherited), node.length as number);
    case 'struct':
    case 'union': {
      const record = node as unknown as AggregateSchema;
      if (!Array.isArray(record.fields)) throw invalidArgType(`${path}.fields`, 'an array', record.fields);
      const shape: Record<string, AnyFieldType> = {};
      record.fields.forEach((f, i) => (shape[f.name] = build(f.type, `${path}.fields[${i}].type`, record.endian)));
      const endian = record.endian === inherited ? undefined : record.endian;
      const options = { packed: record.packed, endian, ...(record.requestedAlign == null ? {} : { align: record.requestedAlign }) };
      const type = new StructType(record.kind, shape, options);
      const differs =
        type.size !== record.size ||
        type.align !== record.align ||
        type.fields.some((f, i) => f.offset !== record.fields[i]!.offset);
      if (differs)
        throw memmapError(
          'ERR_LAYOUT_MISMATCH',
          `The layout stored in the schema (${path}: size ${record.size}, align ${record.align}) differs from this machine's C ABI (size ${type.size}, align ${type.align}); the data was written by a different ABI.`,
        );
      return type;
    }
    default:
      throw invalidArgValue(`${path}.kind`, node.kind, "must be 'char', 'bytes', 'array', 'struct' or 'union'");
  }
}
