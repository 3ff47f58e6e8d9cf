#!/usr/bin/env node
/**
 * `memmap inspect FILE [--json] [--from N] [--limit N]`: prints a record file's header, its schema as a C
 * declaration, its count and capacity, and records as a table, decoded from the schema stored in the file (no
 * program needed). Reads the file with read(2) and never writes it. Exit codes: 0 ok, 1 a file that cannot be
 * read (the error's code is printed), 2 bad usage.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { fromSchema } from './layout/schema.js';
import { headerError } from './records/errors.js';
import { decodeHeader, FIXED_HEADER_SIZE, FLAG_BIG_ENDIAN, isProblem, OFFSET, type Header } from './records/format.js';

const USAGE = `usage: memmap inspect FILE [--json] [--from N] [--limit N]

  Prints a record file's header, its record as a C struct, count and capacity, and records as a table.
  --json       one JSON object instead of text
  --from N     first record to print (default 0)
  --limit N    how many records to print (default 10; 0 for none)
`;

class UsageError extends Error {}

interface Args {
  file: string;
  json: boolean;
  from: number;
  limit: number;
}

function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (command !== 'inspect') throw new UsageError(command === undefined ? 'no command given' : `unknown command '${command}'`);
  let file: string | undefined;
  let json = false;
  let from = 0;
  let limit = 10;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const number = (name: string): number => {
      const text = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : rest[++i];
      const value = Number(text);
      if (text === undefined || text === '' || !Number.isSafeInteger(value) || value < 0)
        throw new UsageError(`${name} needs a whole number >= 0 (got ${text === undefined ? 'nothing' : `'${text}'`})`);
      return value;
    };
    if (arg === '--json') json = true;
    else if (arg === '--from' || arg.startsWith('--from=')) from = number('--from');
    else if (arg === '--limit' || arg.startsWith('--limit=')) limit = number('--limit');
    else if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}'`);
    else if (file === undefined) file = arg;
    else throw new UsageError(`more than one FILE given ('${file}', '${arg}')`);
  }
  if (file === undefined) throw new UsageError('no FILE given');
  return { file, json, from, limit };
}

/** JSON.stringify that writes bigints as strings (int64 fields). */
function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

function cell(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value !== null && typeof value === 'object') return toJson(value);
  return String(value);
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

function inspect(args: Args): void {
  const fd = openSync(args.file, 'r');
  try {
    const size = fstatSync(fd).size;
    const fixed = readAt(fd, 0, FIXED_HEADER_SIZE);
    let decoded = decodeHeader(fixed, size);
    if (isProblem(decoded) && decoded.field === 'size' && fixed.length === FIXED_HEADER_SIZE) {
      const headerSize = fixed.readUInt32LE(OFFSET.headerSize);
      if (headerSize <= size) decoded = decodeHeader(readAt(fd, 0, headerSize), size);
    }
    if (isProblem(decoded)) throw headerError(decoded, args.file);
    const header: Header = decoded;
    const record = fromSchema(header.schema);
    const from = Math.min(args.from, header.count);
    const to = Math.min(header.count, from + args.limit);
    const bytes = readAt(fd, header.headerSize + from * header.recordSize, (to - from) * header.recordSize);
    const records: unknown[] = [];
    for (let i = 0; i < to - from; i++) records.push(record.read(bytes, i * header.recordSize));
    const c = record.toC('record');
    if (args.json) {
      process.stdout.write(
        toJson(
          {
            path: args.file,
            version: header.version,
            headerSize: header.headerSize,
            recordSize: header.recordSize,
            recordAlign: header.recordAlign,
            count: header.count,
            capacity: header.capacity,
            fileSize: size,
            flags: header.flags,
            byteOrder: header.flags & FLAG_BIG_ENDIAN ? 'big' : 'little',
            schemaHash: header.schemaHash,
            schema: JSON.parse(header.schema) as unknown,
            c,
            from,
            records,
          },
          2,
        ) + '\n',
      );
      return;
    }
    const lines = [
      `record file  ${args.file}`,
      `format       version ${header.version}, ${header.flags & FLAG_BIG_ENDIAN ? 'big' : 'little'}-endian records`,
      `header       ${header.headerSize} bytes (records start at byte ${header.headerSize})`,
      `record       ${header.recordSize} bytes, aligned to ${header.recordAlign}`,
      `count        ${header.count} committed`,
      `capacity     ${header.capacity} (file ${size} bytes)`,
      `schema hash  ${header.schemaHash}`,
      '',
      c.trimEnd(),
      '',
    ];
    if (args.limit === 0) {
      // No records asked for.
    } else if (to === from) {
      lines.push(header.count === 0 ? 'no records' : `no records from ${args.from} (count ${header.count})`);
    } else {
      const names = record.fields.map((f) => f.name);
      lines.push(`records ${from}..${to - 1} of ${header.count}:`, '');
      lines.push(`| # | ${names.join(' | ')} |`, `|---:|${names.map(() => '---').join('|')}|`);
      records.forEach((r, k) => {
        const values = names.map((name) => cell((r as Record<string, unknown>)[name]).replaceAll('|', '\\|'));
        lines.push(`| ${from + k} | ${values.join(' | ')} |`);
      });
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    closeSync(fd);
  }
}

function main(): void {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`memmap: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  try {
    inspect(args);
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    process.stderr.write(`memmap: ${code ? `${code}: ` : ''}${message ?? String(error)}\n`);
    process.exit(1);
  }
}

main();
