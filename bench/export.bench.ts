/**
 * Export of 1e6 `{ char name[4]; int32_t age; }` records to Parquet (hyparquet-writer), against the same rows read
 * out of better-sqlite3 and written with the same writer in the same chunks: what a program moving its records to
 * an analytics engine pays with each store. Also CSV and JSON Lines from the record file, for scale.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { measure, type BenchTable } from './harness.ts';
import { char, exportRecords, int32, RecordFile, struct } from '../src/index.ts';

const N = 1_000_000;
const CHUNK = 100_000;

export default async function exportBench(): Promise<BenchTable[]> {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-bench-export-'));
  try {
    const Student = struct({ name: char(4), age: int32 });
    const path = join(dir, 'students.db');
    const db = RecordFile.open(path, Student, { mode: 'w+' });
    for (let i = 0; i < N; i++) db.push({ name: `s${i % 1000}`, age: i % 100 });
    db.close();

    const sqlite = new Database(join(dir, 'students.sqlite'));
    sqlite.pragma('journal_mode = OFF');
    sqlite.exec('create table students (id integer primary key, name text, age integer)');
    const insert = sqlite.prepare('insert into students (id, name, age) values (?, ?, ?)');
    sqlite.transaction(() => {
      for (let i = 0; i < N; i++) insert.run(i, `s${i % 1000}`, i % 100);
    })();

    const sqliteToParquet = async (): Promise<void> => {
      const writer = new ParquetWriter({
        writer: fileWriter(join(dir, 'sqlite.parquet')),
        schema: [
          { name: 'root', num_children: 2 },
          { name: 'name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
          { name: 'age', type: 'INT32', converted_type: 'INT_32', repetition_type: 'REQUIRED' },
        ],
      });
      const page = sqlite.prepare('select name, age from students where id >= ? and id < ? order by id').raw();
      for (let from = 0; from < N; from += CHUNK) {
        const rows = page.all(from, from + CHUNK) as [string, number][];
        void writer.write({
          columnData: [
            { name: 'name', data: rows.map((r) => r[0]) },
            { name: 'age', data: rows.map((r) => r[1]) },
          ],
          rowGroupSize: rows.length,
        });
      }
      await writer.finish();
    };

    const out = (name: string) => join(dir, name);
    const rows = [
      await measure('better-sqlite3 rows → Parquet (same writer)', sqliteToParquet, { runs: 1, warmup: 0 }),
      await measure(
        'memmap exportRecords → Parquet',
        () => exportRecords(path, { to: 'parquet', out: out('a.parquet'), chunkRecords: CHUNK }),
        { runs: 1, warmup: 0 },
      ),
      await measure(
        'memmap exportRecords → CSV',
        () => exportRecords(path, { to: 'csv', out: out('a.csv'), chunkRecords: CHUNK }),
        { runs: 1, warmup: 0 },
      ),
      await measure(
        'memmap exportRecords → JSON Lines',
        () => exportRecords(path, { to: 'jsonl', out: out('a.jsonl'), chunkRecords: CHUNK }),
        { runs: 1, warmup: 0 },
      ),
    ];
    sqlite.close();
    return [
      {
        title: `Export of ${N.toLocaleString('en')} {char[4], int32} records`,
        baseline: rows[0]!.name,
        rows,
        note: 'Parquet from both stores goes through hyparquet-writer to a file, in 100,000-row groups.',
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
