/**
 * The three export formats, each a sink that takes decoded records a chunk at a time and writes them to an open
 * file descriptor, so an export holds one chunk in memory whatever the file's size.
 */
import { writeAll, type OutputFile } from '../file-io.js';
import { memmapError } from '../errors.js';
import { columnsOf, jsonReplacer, jsonText, valueAt, type Column, type ColumnKind } from './columns.js';
import type { AggregateSchema } from '../layout/schema.js';

/** Where decoded records go. */
export interface RecordSink {
  write(records: readonly unknown[]): Promise<void>;
  finish(): Promise<void>;
}

/** The key under which Parquet files carry the record's memmap schema (JSON) as file metadata. */
export const PARQUET_SCHEMA_KEY = 'memmap.schema';

/** Writes `text` whole to the output (UTF-8). */
function writeText(output: OutputFile, text: string): void {
  writeAll(output.fd, Buffer.from(text, 'utf8'), output.path);
}

/** JSON Lines: one JSON object per record, nested as the record is; int64 as decimal strings, bytes as base64. */
export function jsonLinesSink(output: OutputFile): RecordSink {
  return {
    write(records) {
      let text = '';
      for (const record of records) text += JSON.stringify(record, jsonReplacer) + '\n';
      writeText(output, text);
      return Promise.resolve();
    },
    async finish() {},
  };
}

/** A CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvText(value: unknown, type: ColumnKind): string {
  switch (type.kind) {
    case 'binary':
      return Buffer.from(value as Uint8Array).toString('hex');
    case 'list':
    case 'json':
      return jsonText(value);
    default:
      return String(value);
  }
}

/** CSV with a header row of (dotted) column names; bytes as hex, lists and JSON columns as JSON text. */
export function csvSink(output: OutputFile, schema: AggregateSchema): RecordSink {
  const columns = columnsOf(schema);
  writeText(output, columns.map((c) => csvField(c.name)).join(',') + '\n');
  return {
    write(records) {
      let text = '';
      for (const record of records)
        text += columns.map((c) => csvField(csvText(valueAt(record, c), c.type))).join(',') + '\n';
      writeText(output, text);
      return Promise.resolve();
    },
    async finish() {},
  };
}

/** A Parquet schema element (the subset of hyparquet's SchemaElement used here). */
interface SchemaElement {
  name: string;
  type?: string;
  repetition_type?: string;
  converted_type?: string;
  num_children?: number;
}

function leafElement(name: string, type: ColumnKind): SchemaElement {
  const element = (physical: string, converted?: string): SchemaElement => ({
    name,
    type: physical,
    repetition_type: 'REQUIRED',
    ...(converted === undefined ? {} : { converted_type: converted }),
  });
  switch (type.kind) {
    case 'int':
      return element('INT32', `${type.signed ? 'INT' : 'UINT'}_${type.bits}`);
    case 'int64':
      return element('INT64', type.signed ? undefined : 'UINT_64');
    case 'float':
      return element(type.bits === 32 ? 'FLOAT' : 'DOUBLE');
    case 'bool':
      return element('BOOLEAN');
    case 'binary':
      return element('BYTE_ARRAY');
    default:
      // string and json: UTF-8 text.
      return element('BYTE_ARRAY', 'UTF8');
  }
}

/** The Parquet schema: a flat root of columns; lists in the standard three-level LIST form. */
function parquetSchema(columns: readonly Column[]): SchemaElement[] {
  const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  for (const column of columns) {
    if (column.type.kind === 'list') {
      schema.push(
        { name: column.name, repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        leafElement('element', column.type.element),
      );
    } else schema.push(leafElement(column.name, column.type));
  }
  return schema;
}

/** A decoded value as the Parquet writer takes it for a column of this kind. */
function parquetValue(value: unknown, type: ColumnKind): unknown {
  switch (type.kind) {
    case 'json':
      return jsonText(value);
    default:
      return value;
  }
}

/** Loads the optional Parquet writer, or says how to install it. */
async function loadParquetWriter(): Promise<typeof import('hyparquet-writer')> {
  try {
    return await import('hyparquet-writer');
  } catch (cause) {
    const error = memmapError(
      'ERR_MEMMAP_OPTIONAL_DEPENDENCY',
      "Parquet export needs the optional package 'hyparquet-writer': install it with `npm install hyparquet-writer`",
    );
    (error as Error).cause = cause;
    throw error;
  }
}

/** Parquet, written a row group per chunk through hyparquet-writer, with the record's schema as file metadata. */
export async function parquetSink(output: OutputFile, schema: AggregateSchema): Promise<RecordSink> {
  const { ByteWriter, ParquetWriter } = await loadParquetWriter();
  const columns = columnsOf(schema);
  // Bytes go to the file a megabyte at a time; only the unwritten tail is held in memory.
  const bytes = new ByteWriter();
  const drain = (): void => {
    if (bytes.index === 0) return;
    writeAll(output.fd, new Uint8Array(bytes.buffer, 0, bytes.index), output.path);
    bytes.index = 0;
  };
  const ensure = bytes.ensure.bind(bytes);
  bytes.ensure = (size: number) => {
    if (bytes.index > 1 << 20) drain();
    ensure(size);
  };
  bytes.finish = drain;
  const writer = new ParquetWriter({
    writer: bytes,
    schema: parquetSchema(columns) as never,
    kvMetadata: [{ key: PARQUET_SCHEMA_KEY, value: JSON.stringify(schema) }],
    createdBy: 'memmap',
  });
  return {
    async write(records) {
      const columnData = columns.map((column) => ({
        name: column.name,
        data: records.map((record) => parquetValue(valueAt(record, column), column.type)),
      }));
      await writer.write({ columnData, rowGroupSize: records.length });
    },
    async finish() {
      await writer.finish();
    },
  };
}
