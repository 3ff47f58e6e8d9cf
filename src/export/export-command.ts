/**
 * `memmap export FILE --to parquet|csv|jsonl [--out PATH] [--chunk N]`: the CLI face of exportRecords, with a
 * progress line on a terminal (stderr) for long exports.
 */
import { exportRecords, type ExportFormat } from './export-records.js';

/** Usage text of the export command. */
export const EXPORT_USAGE = `usage: memmap export FILE --to parquet|csv|jsonl [--out PATH] [--chunk N]

  Writes a record file's committed records to Parquet, CSV or JSON Lines, in bounded memory.
  --to FORMAT  parquet, csv or jsonl
  --out PATH   the output file (default: FILE with the format's extension)
  --chunk N    records per chunk (a Parquet row group each)
`;

/** Bad usage of the command (exit code 2). */
export class ExportUsageError extends Error {}

interface ExportArgs {
  file: string;
  to: ExportFormat;
  out?: string;
  chunk?: number;
}

/** Parses the arguments after `export`. */
export function parseExportArgs(rest: readonly string[]): ExportArgs {
  let file: string | undefined;
  let to: string | undefined;
  let out: string | undefined;
  let chunk: number | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    const value = (name: string): string => {
      const text = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : rest[++i];
      if (text === undefined || text === '') throw new ExportUsageError(`${name} needs a value`);
      return text;
    };
    if (arg === '--to' || arg.startsWith('--to=')) to = value('--to');
    else if (arg === '--out' || arg.startsWith('--out=')) out = value('--out');
    else if (arg === '--chunk' || arg.startsWith('--chunk=')) {
      const text = value('--chunk');
      chunk = Number(text);
      if (!Number.isSafeInteger(chunk) || chunk < 1)
        throw new ExportUsageError(`--chunk needs a whole number >= 1 (got '${text}')`);
    } else if (arg.startsWith('-')) throw new ExportUsageError(`unknown option '${arg}'`);
    else if (file === undefined) file = arg;
    else throw new ExportUsageError(`more than one FILE given ('${file}', '${arg}')`);
  }
  if (file === undefined) throw new ExportUsageError('no FILE given');
  if (to !== 'parquet' && to !== 'csv' && to !== 'jsonl')
    throw new ExportUsageError(
      to === undefined ? '--to is required' : `--to must be parquet, csv or jsonl (got '${to}')`,
    );
  return { file, to, ...(out === undefined ? {} : { out }), ...(chunk === undefined ? {} : { chunk }) };
}

/** Runs the export; prints where it wrote and how many records. */
export async function runExport(args: ExportArgs): Promise<void> {
  // Undefined when stderr is not a terminal, whatever the type says.
  const terminal = (process.stderr as { isTTY?: boolean }).isTTY ?? false;
  const started = Date.now();
  const result = await exportRecords(args.file, {
    to: args.to,
    ...(args.out === undefined ? {} : { out: args.out }),
    ...(args.chunk === undefined ? {} : { chunkRecords: args.chunk }),
    onProgress: terminal
      ? (written, total) => {
          const percent = total === 0 ? 100 : Math.floor((written / total) * 100);
          process.stderr.write(`\rexported ${written} of ${total} records (${percent}%)`);
        }
      : undefined,
  });
  if (terminal) process.stderr.write('\n');
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`${result.records} records -> ${result.out} (${args.to}, ${seconds} s)\n`);
}
