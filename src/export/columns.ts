/**
 * The columns a record exports to: one per leaf member, nested structs flattened into dotted names
 * (`pos.x`), so that every analytics engine reads them as plain columns without struct support.
 *
 * | member                          | column                                                             |
 * |---------------------------------|--------------------------------------------------------------------|
 * | int8 … int32, uint8 … uint32    | a whole number (Parquet INT32 with its width and sign annotated)   |
 * | int64, uint64                   | a 64-bit whole number (Parquet INT64, uint64 annotated UINT_64)    |
 * | float32, float64                | FLOAT / DOUBLE                                                     |
 * | bool                            | BOOLEAN                                                            |
 * | char(n)                         | a string (UTF-8), cut at the first NUL as C reads it               |
 * | bytes(n)                        | binary (Parquet BYTE_ARRAY; hex in CSV; base64 in JSON Lines)      |
 * | array(scalar or char, n)        | a list of n values (Parquet LIST; JSON text in CSV)                |
 * | struct member                   | flattened: one column per leaf, named `outer.inner`                |
 * | union, array of struct/bytes/array | JSON text (a union's members overlap: which one is live is the program's knowledge) |
 */
import type { AggregateSchema, FieldSchema } from '../layout/schema.js';

/** What a leaf column holds. */
export type ColumnKind =
  | { kind: 'int'; bits: 8 | 16 | 32; signed: boolean }
  | { kind: 'int64'; signed: boolean }
  | { kind: 'float'; bits: 32 | 64 }
  | { kind: 'bool' }
  | { kind: 'string' }
  | { kind: 'binary' }
  | { kind: 'list'; element: ColumnKind }
  | { kind: 'json' };

/** One exported column: its dotted name, the path of member names to its value in a decoded record, its kind. */
export interface Column {
  name: string;
  path: readonly string[];
  type: ColumnKind;
}

/** The exported columns of a record, in declaration order. */
export function columnsOf(schema: AggregateSchema): Column[] {
  const columns: Column[] = [];
  const visit = (record: AggregateSchema, prefix: readonly string[]): void => {
    for (const field of record.fields) {
      const path = [...prefix, field.name];
      const type = field.type;
      if (typeof type === 'object' && type.kind === 'struct') visit(type, path);
      else columns.push({ name: path.join('.'), path, type: kindOf(type) });
    }
  };
  visit(schema, []);
  return columns;
}

function kindOf(type: FieldSchema): ColumnKind {
  if (typeof type === 'string') {
    switch (type) {
      case 'int8':
      case 'int16':
      case 'int32':
        return { kind: 'int', bits: Number(type.slice(3)) as 8 | 16 | 32, signed: true };
      case 'uint8':
      case 'uint16':
      case 'uint32':
        return { kind: 'int', bits: Number(type.slice(4)) as 8 | 16 | 32, signed: false };
      case 'int64':
        return { kind: 'int64', signed: true };
      case 'uint64':
        return { kind: 'int64', signed: false };
      case 'float32':
        return { kind: 'float', bits: 32 };
      case 'float64':
        return { kind: 'float', bits: 64 };
      case 'bool':
        return { kind: 'bool' };
    }
  }
  switch (type.kind) {
    case 'char':
      return { kind: 'string' };
    case 'bytes':
      return { kind: 'binary' };
    case 'array': {
      const element = kindOf(type.element);
      const listable = element.kind !== 'binary' && element.kind !== 'json' && element.kind !== 'list';
      return listable ? { kind: 'list', element } : { kind: 'json' };
    }
    default:
      return { kind: 'json' };
  }
}

/** The value of `column` in a decoded record. */
export function valueAt(record: unknown, column: Column): unknown {
  let value = record;
  for (const name of column.path) value = (value as Record<string, unknown>)[name];
  return value;
}

/** JSON text of a decoded value: bigints as decimal strings, bytes as base64 (so the text is valid JSON). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, jsonReplacer);
}

/** The replacer behind jsonText: JSON has no bigint or byte type. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return value;
}
