/**
 * `exportRecords(path, { to, out })`: a record file's committed records to Parquet, CSV or JSON Lines, streamed
 * in bounded memory (one chunk of records at a time), so a file larger than RAM exports. The output is built
 * under a temporary name beside `out` and renamed into place only when complete: a failed export leaves no
 * partial file and an existing `out` untouched.
 */
import { basename, dirname, join } from 'node:path';
import { invalidArgType, invalidArgValue, validateInteger, validateObject } from '../errors.js';
import { abandonOutput, finishOutput, startOutput, type OutputFile } from '../file-io.js';
import { openRecordChunks } from './record-chunks.js';
import { csvSink, jsonLinesSink, parquetSink, type RecordSink } from './sinks.js';

/** The formats `exportRecords` writes. */
export type ExportFormat = 'parquet' | 'csv' | 'jsonl';

/** Options of {@link exportRecords}. */
export interface ExportOptions {
  /** The format: `'parquet'`, `'csv'` or `'jsonl'` (JSON Lines). */
  to: ExportFormat;
  /** The output file (replaced if it exists, only once the export is complete). Default: the input path with the
   *  format's extension (`.parquet`, `.csv`, `.jsonl`) in place of its own. */
  out?: string;
  /** Records decoded and written at a time (a Parquet row group each). Default: as many as fit in 8 MiB of
   *  record bytes, at most 100,000. */
  chunkRecords?: number;
  /** Called after each chunk with the records written so far and the total. */
  onProgress?: (written: number, total: number) => void;
}

/** What an export did. */
export interface ExportResult {
  /** The file written. */
  out: string;
  /** Records exported: the committed count when the export began. */
  records: number;
}

const FORMATS: readonly ExportFormat[] = ['parquet', 'csv', 'jsonl'];

/** The default output path: the input's with the format's extension. */
export function defaultExportPath(path: string, to: ExportFormat): string {
  const name = basename(path);
  const dot = name.lastIndexOf('.');
  return join(dirname(path), `${dot > 0 ? name.slice(0, dot) : name}.${to}`);
}

/**
 * Exports the committed records of the record file at `path` (read with read(2), never written; the schema
 * stored in the file decodes them, so no program is needed). Column mapping: see docs/export.md.
 * Errors: the record file's own codes (ERR_RECORD_FILE_CORRUPT, ENOENT, ...), ERR_MEMMAP_OPTIONAL_DEPENDENCY when
 * Parquet is asked for without `hyparquet-writer` installed, and the output file's system errors.
 */
export async function exportRecords(path: string, options: ExportOptions): Promise<ExportResult> {
  if (typeof path !== 'string' || path === '') throw invalidArgType('path', 'a non-empty string', path);
  const given = validateObject<ExportOptions>(options, 'options');
  // Read every option once, up front: nothing is opened until all of them are known to be good.
  const to = given.to;
  const outOption = given.out;
  const chunkOption = given.chunkRecords;
  const onProgress = given.onProgress;
  if (typeof to !== 'string' || !FORMATS.includes(to))
    throw invalidArgValue('options.to', to, `must be one of ${FORMATS.map((f) => `'${f}'`).join(', ')}`);
  if (outOption !== undefined && (typeof outOption !== 'string' || outOption === ''))
    throw invalidArgType('options.out', 'a non-empty string', outOption);
  const chunkRecords = chunkOption === undefined ? undefined : validateInteger(chunkOption, 'options.chunkRecords', 1);
  if (onProgress !== undefined && typeof onProgress !== 'function')
    throw invalidArgType('options.onProgress', 'a function', onProgress);
  const out = outOption ?? defaultExportPath(path, to);
  if (out === path) throw invalidArgValue('options.out', out, 'must differ from the record file it exports');

  const source = openRecordChunks(path);
  let output: OutputFile | undefined;
  try {
    output = startOutput(out);
    const sink: RecordSink =
      to === 'parquet'
        ? await parquetSink(output, source.schema)
        : to === 'csv'
          ? csvSink(output, source.schema)
          : jsonLinesSink(output);
    const total = source.count;
    const step = chunkRecords ?? Math.max(1, Math.min(100_000, Math.floor((8 << 20) / source.header.recordSize)));
    for (let from = 0; from < total; from += step) {
      const length = Math.min(step, total - from);
      await sink.write(source.read(from, length));
      onProgress?.(from + length, total);
    }
    await sink.finish();
    finishOutput(output);
    return { out, records: total };
  } catch (error) {
    if (output !== undefined) abandonOutput(output);
    throw error;
  } finally {
    source.close();
  }
}
