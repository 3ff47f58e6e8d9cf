/**
 * Reads a record file's committed records in bounded chunks with read(2), decoded through the schema the file
 * stores: export needs no program, no mapping and no more memory than one chunk, whatever the file's size.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { fromSchema, type AggregateSchema } from '../layout/schema.js';
import { memmapError } from '../errors.js';
import { headerError } from '../records/errors.js';
import { decodeHeader, FIXED_HEADER_SIZE, isProblem, OFFSET, type Header } from '../records/format.js';

/** An open record file, read-only: its header, its schema and a way to read records in chunks. */
export interface RecordChunks {
  header: Header;
  schema: AggregateSchema;
  /** Committed records when the file was opened: what the export covers, even if a writer appends meanwhile. */
  count: number;
  /** Decodes records [from, from + length) (length > 0, within count). */
  read(from: number, length: number): unknown[];
  close(): void;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, bytes, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return bytes.subarray(0, done);
}

/** Opens `path` for reading and checks its header (a coded error, the file untouched, if it is not a record file). */
export function openRecordChunks(path: string): RecordChunks {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const fixed = readAt(fd, 0, FIXED_HEADER_SIZE);
    let decoded = decodeHeader(fixed, size);
    // The fixed part says how long the whole header is; read it all and decode again.
    if (isProblem(decoded) && decoded.field === 'size' && fixed.length === FIXED_HEADER_SIZE) {
      const headerSize = fixed.readUInt32LE(OFFSET.headerSize);
      if (headerSize <= size) decoded = decodeHeader(readAt(fd, 0, headerSize), size);
    }
    if (isProblem(decoded)) throw headerError(decoded, path);
    const header = decoded;
    const record = fromSchema(header.schema);
    return {
      header,
      schema: JSON.parse(header.schema) as AggregateSchema,
      count: header.count,
      read(from, length) {
        const bytes = readAt(fd, header.headerSize + from * header.recordSize, length * header.recordSize);
        // Committed records never shrink under a reader unless another program cut the file.
        if (bytes.length < length * header.recordSize)
          throw memmapError(
            'ERR_RECORD_FILE_CHANGED',
            `record file '${path}' was cut short while it was being read (record ${from + Math.floor(bytes.length / header.recordSize)} is gone): export it again`,
            { path },
          );
        const records: unknown[] = new Array(length);
        for (let i = 0; i < length; i++) records[i] = record.read(bytes, i * header.recordSize);
        return records;
      },
      close() {
        closeSync(fd);
      },
    };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
