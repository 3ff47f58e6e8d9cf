#!/usr/bin/env node
/**
 * `memmap export FILE --to parquet|csv|jsonl`: see export/export-command.ts.
 *
 * `memmap inspect FILE [--json] [--from N] [--limit N]`: prints a record file's header, its schema as a C
 * declaration, its count and capacity, and records as a table, decoded from the schema stored in the file (no
 * program needed). Reads the file with read(2) and never writes it. Exit codes: 0 ok, 1 a file that cannot be
 * read (one line: its code and what is wrong), 2 bad usage. Records are read and printed a chunk at a time, so
 * memory does not grow with --limit.
 */
// node:fs here only for this process's stdout and memmap's own package.json (file-io.ts states the rule).
import { readFileSync, writeSync } from 'node:fs';
import { fromSchema } from './layout/schema.js';
import { FLAG_BIG_ENDIAN, type Header } from './records/format.js';
import { closeFile, readAt } from './file-io.js';
import { readHeader } from './records/header-io.js';
import { openForReading } from './records/opening.js';
import { EXPORT_USAGE, ExportUsageError, parseExportArgs, runExport } from './export/export-command.js';

const USAGE = `usage: memmap inspect FILE [--json] [--from N] [--limit N]
       memmap export FILE --to parquet|csv|jsonl [--out PATH] [--chunk N]
       memmap --version

  Prints a record file's header, its record as a C struct, count and capacity, and records as a table.
  --json       one JSON object instead of text
  --from N     first record to print (default 0)
  --limit N    how many records to print (default 10; 0 for none)

  bytes(n) fields print as hex in the table and as base64 in --json; int64 fields as strings in --json.
`;

/** The package's version, from the package.json beside src/ and dist/. */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

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
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`memmap ${version()}\n`);
    process.exit(0);
  }
  if (command !== 'inspect')
    throw new UsageError(command === undefined ? 'no command given' : `unknown command '${command}'`);
  let file: string | undefined;
  let json = false;
  let from = 0;
  let limit = 10;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
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

/** JSON.stringify that writes bigints as strings (int64 fields) and bytes(n) fields as base64. */
function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) =>
      typeof v === 'bigint'
        ? v.toString()
        : v instanceof Uint8Array
          ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')
          : v,
    indent,
  );
}

/** A table cell: strings quoted, bigints with `n`, bytes(n) as hex, nested values as JSON (their bytes as hex). */
function cell(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return hex(value);
  if (value !== null && typeof value === 'object')
    return JSON.stringify(value, (_key, v: unknown) =>
      typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? hex(v) : v,
    );
  return String(value);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Writes to stdout at once (bounded memory however much is printed); a closed pipe (`| head`) ends quietly. */
function out(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(1, bytes, done, bytes.length - done);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EPIPE') process.exit(0);
      if (code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1); // a non-blocking stdout that is full: wait for the reader
    }
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));
/** Records decoded and printed per read: the memory `inspect` needs does not grow with --limit. */
const RECORDS_PER_CHUNK = 4096;

function inspect(args: Args): void {
  const { fd, size } = openForReading(args.file);
  try {
    const header: Header = readHeader(fd, size, args.file, 'reader');
    const record = fromSchema(header.schema);
    const from = Math.min(args.from, header.count);
    const to = Math.min(header.count, from + args.limit);
    /** Calls `each` with every record in [from, to), reading a chunk at a time. */
    const forEachRecord = (each: (value: unknown, index: number) => void): void => {
      for (let start = from; start < to; start += RECORDS_PER_CHUNK) {
        const end = Math.min(to, start + RECORDS_PER_CHUNK);
        const bytes = readAt(
          fd,
          header.headerSize + start * header.recordSize,
          (end - start) * header.recordSize,
          args.file,
        );
        const whole = Math.floor(bytes.length / header.recordSize); // a file cut meanwhile: print what is there
        for (let k = 0; k < whole; k++) each(record.read(bytes, k * header.recordSize), start + k);
        if (whole < end - start) break;
      }
    };
    const c = record.toC('record');
    if (args.json) {
      const head = toJson(
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
        },
        2,
      );
      out(`${head.slice(0, head.lastIndexOf('\n}'))},\n  "records": [`);
      // An object, not a let: TypeScript does not see the callback change it.
      const seen = { any: false };
      forEachRecord((value) => {
        out(`${seen.any ? ',' : ''}\n    ${toJson(value)}`);
        seen.any = true;
      });
      out(seen.any ? '\n  ]\n}\n' : ']\n}\n');
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
      out(lines.join('\n') + '\n');
      return;
    }
    if (to === from) {
      lines.push(header.count === 0 ? 'no records' : `no records from ${args.from} (count ${header.count})`);
      out(lines.join('\n') + '\n');
      return;
    }
    const names = record.fields.map((f) => f.name);
    lines.push(`records ${from}..${to - 1} of ${header.count}:`, '');
    lines.push(`| # | ${names.join(' | ')} |`, `|---:|${names.map(() => '---').join('|')}|`);
    out(lines.join('\n') + '\n');
    let chunk = '';
    forEachRecord((r, index) => {
      const values = names.map((name) => cell((r as Record<string, unknown>)[name]).replaceAll('|', '\\|'));
      chunk += `| ${index} | ${values.join(' | ')} |\n`;
      if (chunk.length > 65536) {
        out(chunk);
        chunk = '';
      }
    });
    out(chunk);
  } finally {
    closeFile(fd);
  }
}

/**
 * One line on stderr: `memmap: CODE: what went wrong`. A system error's text loses the library's hint (it is
 * written for programs that open files to write them; this tool only reads).
 */
function describe(error: unknown): string {
  const { code, message, syscall } = error as { code?: string; message?: string; syscall?: string };
  let text = message ?? String(error);
  if (code !== undefined && text.startsWith(`${code}: `)) text = text.slice(code.length + 2);
  if (syscall !== undefined) text = text.replace(/ \([^()]*\)$/, '');
  return `memmap: ${code ? `${code}: ` : ''}${text}\n`;
}

/** `memmap export ...`: exit 0 done, 1 the export failed (one coded line), 2 bad usage. */
async function exportMain(rest: string[]): Promise<void> {
  let args;
  try {
    args = parseExportArgs(rest);
  } catch (error) {
    if (!(error instanceof ExportUsageError)) throw error;
    process.stderr.write(`memmap: ${error.message}\n\n${EXPORT_USAGE}`);
    process.exit(2);
  }
  try {
    await runExport(args);
  } catch (error) {
    process.stderr.write(describe(error));
    process.exit(1);
  }
}

function main(): void {
  if (process.argv[2] === 'export') {
    void exportMain(process.argv.slice(3));
    return;
  }
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
    process.stderr.write(describe(error));
    process.exit(1);
  }
}

main();
