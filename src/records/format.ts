/**
 * The on-disk format of a record file, version 2 (docs/format.md is the reference; keep the two in step). Version 1
 * files (no commit word) are still read and written; new files are version 2.
 *
 * ```
 * offset size  field          meaning (every header integer is little-endian)
 *      0    8  magic          the bytes "MMRECORD"
 *      8    4  version        2 (or 1: a file without the commit word)
 *     12    4  header_size    bytes before the first record: a multiple of max(record_align, 64)
 *     16    4  record_size    bytes per record (sizeof the C struct)
 *     20    4  record_align   the record's alignment (_Alignof the C struct)
 *     24    8  count          records committed: every one of them was written before count was
 *     32    8  capacity       records the file has room for (a shorter file has room for what it holds)
 *     40    4  flags          bit 0: the records are big-endian; bits 1-31 are zero in version 1
 *     44    4  schema_length  bytes of the schema text
 *     48   32  schema_hash    SHA-256 of "memmap-layout-1\n" + the schema text (the struct's `hash`)
 *     80    n  schema         the record's layout as JSON (UTF-8), NUL-padded
 *  hs-8    4  commit         version 2: the commit word (./commit-word.ts); hs = header_size
 *  hs-4    4  truncations    version 2: how many times a writer lowered count
 * ```
 *
 * `count` and `capacity` are 8-byte aligned, so a single 8-byte store writes each of them whole.
 */
import { schemaTextHash } from '../layout/schema-hash.js';

/** The first eight bytes of every record file. */
export const MAGIC = Buffer.from('MMRECORD', 'latin1');
/** The format version this code writes (it reads this one and OLDEST_FORMAT_VERSION). */
export const FORMAT_VERSION = 2;
/** The oldest format version this code reads (and keeps writing as it is): version 1, without the commit word. */
export const OLDEST_FORMAT_VERSION = 1;
/** Version 2: the last bytes of the header hold the commit word and the truncation count. */
export const COMMIT_TAIL_SIZE = 8;
/** Bytes of the fixed part of the header, before the schema text. */
export const FIXED_HEADER_SIZE = 80;
/** header_size is a multiple of this (and of the record's alignment). */
export const HEADER_ALIGN = 64;
/** The largest schema text a header may hold: a sanity bound that keeps a corrupt length from being trusted. */
export const MAX_SCHEMA_LENGTH = 1 << 20;

/** Byte offsets of the header fields. */
export const OFFSET = {
  magic: 0,
  version: 8,
  headerSize: 12,
  recordSize: 16,
  recordAlign: 20,
  count: 24,
  capacity: 32,
  flags: 40,
  schemaLength: 44,
  schemaHash: 48,
  schema: 80,
} as const;

/** flags bit 0: the records' multi-byte fields are big-endian. */
export const FLAG_BIG_ENDIAN = 1;
/** Every flag bit version 1 defines. */
export const KNOWN_FLAGS = FLAG_BIG_ENDIAN;

/** A decoded header. */
export interface Header {
  version: number;
  headerSize: number;
  recordSize: number;
  recordAlign: number;
  count: number;
  capacity: number;
  flags: number;
  schema: string;
  /** The stored SHA-256 of the schema, as 64 hex digits. */
  schemaHash: string;
  /** Byte offset of the commit word (version 2: header_size - 8), or undefined (version 1 has none). */
  commitOffset: number | undefined;
}

/** SHA-256 of the layout's hash prefix and the schema text, as 64 hex digits: the struct's own `hash`. */
export function schemaHash(schema: string): string {
  return schemaTextHash(schema);
}

/** header_size for a schema and record alignment (version 2: room for the commit tail after the schema). */
export function headerSizeFor(schema: string, recordAlign: number): number {
  const unit = Math.max(HEADER_ALIGN, recordAlign);
  const used = FIXED_HEADER_SIZE + Buffer.byteLength(schema, 'utf8') + COMMIT_TAIL_SIZE;
  return Math.ceil(used / unit) * unit;
}

/** The bytes of a new header (count 0). */
export function encodeHeader(fields: {
  recordSize: number;
  recordAlign: number;
  capacity: number;
  flags: number;
  schema: string;
}): Buffer {
  const schema = Buffer.from(fields.schema, 'utf8');
  const headerSize = headerSizeFor(fields.schema, fields.recordAlign);
  const bytes = Buffer.alloc(headerSize);
  MAGIC.copy(bytes, OFFSET.magic);
  bytes.writeUInt32LE(FORMAT_VERSION, OFFSET.version);
  bytes.writeUInt32LE(headerSize, OFFSET.headerSize);
  bytes.writeUInt32LE(fields.recordSize, OFFSET.recordSize);
  bytes.writeUInt32LE(fields.recordAlign, OFFSET.recordAlign);
  bytes.writeBigUInt64LE(0n, OFFSET.count);
  bytes.writeBigUInt64LE(BigInt(fields.capacity), OFFSET.capacity);
  bytes.writeUInt32LE(fields.flags, OFFSET.flags);
  bytes.writeUInt32LE(schema.length, OFFSET.schemaLength);
  Buffer.from(schemaHash(fields.schema), 'hex').copy(bytes, OFFSET.schemaHash);
  schema.copy(bytes, OFFSET.schema);
  return bytes;
}

/** Why a header could not be decoded: which field, and the text of the problem. */
export interface HeaderProblem {
  /** 'corrupt': the file is damaged or not finished; 'mismatch': a well-formed file of another kind or version. */
  kind: 'corrupt' | 'mismatch';
  field: string;
  message: string;
  expected?: unknown;
  actual?: unknown;
}

/**
 * Decodes and checks a header from the first bytes of a file. `fileSize` is the file's size now. Returns the
 * header, or the first problem found. Checks, in order: length, magic, version, header_size, record size and
 * alignment, schema length and hash, count <= capacity, and that the file is long enough for its count. The
 * capacity returned is the header's, or less when the file is shorter than it.
 */
export function decodeHeader(bytes: Buffer, fileSize: number): Header | HeaderProblem {
  if (fileSize < FIXED_HEADER_SIZE || bytes.length < FIXED_HEADER_SIZE)
    return {
      kind: 'corrupt',
      field: 'size',
      message: `the file is ${fileSize} bytes, shorter than a record file's header (${FIXED_HEADER_SIZE} bytes)`,
      expected: FIXED_HEADER_SIZE,
      actual: fileSize,
    };
  if (!bytes.subarray(0, 8).equals(MAGIC))
    return {
      kind: 'mismatch',
      field: 'magic',
      message: `the file does not start with the record-file magic "MMRECORD" (it starts with ${bytes.subarray(0, 8).toString('hex')}): it is not a record file`,
      expected: MAGIC.toString('latin1'),
      actual: bytes.subarray(0, 8).toString('latin1'),
    };
  const version = bytes.readUInt32LE(OFFSET.version);
  if (version !== FORMAT_VERSION && version !== OLDEST_FORMAT_VERSION)
    return {
      kind: 'mismatch',
      field: 'version',
      message: `the file has format version ${version}; this memmap reads versions ${OLDEST_FORMAT_VERSION} and ${FORMAT_VERSION}`,
      expected: FORMAT_VERSION,
      actual: version,
    };
  const headerSize = bytes.readUInt32LE(OFFSET.headerSize);
  const recordSize = bytes.readUInt32LE(OFFSET.recordSize);
  const recordAlign = bytes.readUInt32LE(OFFSET.recordAlign);
  const flags = bytes.readUInt32LE(OFFSET.flags);
  const schemaLength = bytes.readUInt32LE(OFFSET.schemaLength);
  const count = bytes.readBigUInt64LE(OFFSET.count);
  const capacity = bytes.readBigUInt64LE(OFFSET.capacity);
  const corrupt = (field: string, message: string, expected?: unknown, actual?: unknown): HeaderProblem => ({
    kind: 'corrupt',
    field,
    message,
    expected,
    actual,
  });
  if (recordSize === 0) return corrupt('recordSize', 'the header gives a record size of 0', '>= 1', 0);
  if (recordAlign === 0 || (recordAlign & (recordAlign - 1)) !== 0 || recordSize % recordAlign !== 0)
    return corrupt(
      'recordAlign',
      `the header gives a record alignment of ${recordAlign} for records of ${recordSize} bytes`,
      'a power of two dividing the record size',
      recordAlign,
    );
  const tail = version >= 2 ? COMMIT_TAIL_SIZE : 0;
  if (schemaLength > MAX_SCHEMA_LENGTH || FIXED_HEADER_SIZE + schemaLength + tail > headerSize)
    return corrupt(
      'schemaLength',
      `the header gives a schema of ${schemaLength} bytes, which does not fit in its header of ${headerSize} bytes`,
      `<= ${headerSize - FIXED_HEADER_SIZE - tail}`,
      schemaLength,
    );
  if (headerSize % Math.max(HEADER_ALIGN, recordAlign) !== 0)
    return corrupt(
      'headerSize',
      `the header size ${headerSize} is not a multiple of ${Math.max(HEADER_ALIGN, recordAlign)}`,
      `a multiple of ${Math.max(HEADER_ALIGN, recordAlign)}`,
      headerSize,
    );
  if (fileSize < headerSize || bytes.length < headerSize)
    return corrupt(
      'size',
      `the file is ${fileSize} bytes, shorter than its header (${headerSize} bytes)`,
      headerSize,
      fileSize,
    );
  if ((flags & ~KNOWN_FLAGS) !== 0)
    return {
      kind: 'mismatch',
      field: 'flags',
      message: `the header has flags 0x${flags.toString(16)}, with bits this version of memmap does not know`,
      expected: `bits within 0x${KNOWN_FLAGS.toString(16)}`,
      actual: flags,
    };
  const schema = bytes.toString('utf8', OFFSET.schema, OFFSET.schema + schemaLength);
  const storedHash = bytes.toString('hex', OFFSET.schemaHash, OFFSET.schemaHash + 32);
  if (schemaHash(schema) !== storedHash)
    return corrupt(
      'schemaHash',
      'the schema stored in the header does not match its SHA-256 hash: the header is damaged',
      schemaHash(schema),
      storedHash,
    );
  if (count > capacity)
    return corrupt(
      'count',
      `the header counts ${count} records but the file has room for only ${capacity}`,
      `<= ${capacity}`,
      count,
    );
  const countNeeds = BigInt(headerSize) + count * BigInt(recordSize);
  if (BigInt(fileSize) < countNeeds)
    return corrupt(
      'count',
      `the file is ${fileSize} bytes, too short for the ${count} records its header counts (${countNeeds} bytes)`,
      countNeeds,
      fileSize,
    );
  if (capacity > BigInt(Number.MAX_SAFE_INTEGER))
    return corrupt(
      'capacity',
      `the header gives a capacity of ${capacity} records`,
      `<= ${Number.MAX_SAFE_INTEGER}`,
      capacity,
    );
  return {
    version,
    headerSize,
    recordSize,
    recordAlign,
    count: Number(count),
    // A file shorter than its capacity (a growth whose new size did not reach the disk before a power loss, while
    // the header page did) is not damaged: its capacity is what it holds.
    capacity: Math.min(Number(capacity), Math.floor((fileSize - headerSize) / recordSize)),
    flags,
    schema,
    schemaHash: storedHash,
    commitOffset: version >= 2 ? headerSize - COMMIT_TAIL_SIZE : undefined,
  };
}

/** Whether a decode result is a problem. */
export function isProblem(result: Header | HeaderProblem): result is HeaderProblem {
  return 'kind' in result;
}
