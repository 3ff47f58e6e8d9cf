/**
 * Reading a record file's header from an open file and checking it against the struct a program gives: the one
 * copy that RecordFile and `memmap inspect` share. Problems are thrown as ERR_RECORD_FILE_CORRUPT /
 * ERR_RECORD_FILE_MISMATCH, worded for who met them (a reader is never advised to erase anything).
 */
import { readAt } from '../file-io.js';
import { headerError, type HeaderReader } from './errors.js';
import {
  decodeHeader,
  FIXED_HEADER_SIZE,
  FLAG_BIG_ENDIAN,
  isProblem,
  OFFSET,
  schemaHash,
  type Header,
} from './format.js';

/** Reads and decodes the header of a file of `size` bytes, or throws ERR_RECORD_FILE_CORRUPT / _MISMATCH. */
export function readHeader(fd: number, size: number, path: string, who: HeaderReader): Header {
  const fixed = readAt(fd, 0, Math.min(size, FIXED_HEADER_SIZE), path);
  let result = decodeHeader(fixed, size);
  if (isProblem(result) && result.field === 'size' && fixed.length === FIXED_HEADER_SIZE) {
    // The fixed part is fine; read the whole header (schema included) and decode again.
    const headerSize = fixed.readUInt32LE(OFFSET.headerSize);
    if (headerSize <= size) result = decodeHeader(readAt(fd, 0, headerSize, path), size);
  }
  if (isProblem(result)) throw headerError(result, path, who);
  return result;
}

/** What a program asks of a file: its record size, schema text and flags. */
export interface WantedHeader {
  recordSize: number;
  schema: string;
  flags: number;
}

/** Compares a decoded header with the layout the program gave: record size, then schema hash, then flags. */
export function checkHeader(header: Header, wanted: WantedHeader, path: string, who: HeaderReader): void {
  if (header.recordSize !== wanted.recordSize)
    throw headerError(
      {
        kind: 'mismatch',
        field: 'recordSize',
        message: `its records are ${header.recordSize} bytes, the struct given is ${wanted.recordSize} bytes`,
        expected: wanted.recordSize,
        actual: header.recordSize,
      },
      path,
      who,
    );
  const hash = schemaHash(wanted.schema);
  if (header.schemaHash !== hash)
    throw headerError(
      {
        kind: 'mismatch',
        field: 'schemaHash',
        message:
          `its records were written with another struct (schema hash ${header.schemaHash.slice(0, 16)}..., the ` +
          `struct given has ${hash.slice(0, 16)}...); the file's schema is ${header.schema}`,
        expected: hash,
        actual: header.schemaHash,
      },
      path,
      who,
    );
  if (header.flags !== wanted.flags)
    throw headerError(
      {
        kind: 'mismatch',
        field: 'flags',
        message: `its records are ${header.flags & FLAG_BIG_ENDIAN ? 'big' : 'little'}-endian, the struct given is not`,
        expected: wanted.flags,
        actual: header.flags,
      },
      path,
      who,
    );
}
