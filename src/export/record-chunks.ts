/**
 * Reads a record file's committed records in bounded chunks with read(2), decoded through the schema the file
 * stores: export needs no program, no mapping and no more memory than one chunk, whatever the file's size. The
 * file is opened and its header checked as `memmap inspect` does (records/opening.ts, records/header-io.ts).
 */
import { memmapError } from '../errors.js';
import { closeFile, readAt } from '../file-io.js';
import { fromSchema, type AggregateSchema } from '../layout/schema.js';
import type { Header } from '../records/format.js';
import { readHeader } from '../records/header-io.js';
import { openForReading } from '../records/opening.js';

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

/** Opens `path` for reading and checks its header (a coded error, the file untouched, if it is not a record file). */
export function openRecordChunks(path: string): RecordChunks {
  const { fd, size } = openForReading(path);
  try {
    const header = readHeader(fd, size, path, 'reader');
    const record = fromSchema(header.schema);
    return {
      header,
      schema: JSON.parse(header.schema) as AggregateSchema,
      count: header.count,
      read(from, length) {
        const bytes = readAt(fd, header.headerSize + from * header.recordSize, length * header.recordSize, path);
        // Committed records never shrink under a reader unless another program cut the file.
        if (bytes.length < length * header.recordSize)
          throw memmapError(
            'ERR_RECORD_FILE_CHANGED',
            `record file '${path}' was cut short while it was being read (record ` +
              `${from + Math.floor(bytes.length / header.recordSize)} is gone): export it again`,
            { path },
          );
        const records: unknown[] = new Array(length);
        for (let i = 0; i < length; i++) records[i] = record.read(bytes, i * header.recordSize);
        return records;
      },
      close() {
        closeFile(fd);
      },
    };
  } catch (error) {
    closeFile(fd);
    throw error;
  }
}
