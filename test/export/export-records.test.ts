import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import {
  array,
  bool,
  bytes,
  char,
  exportRecords,
  float32,
  float64,
  int16,
  int64,
  int8,
  RecordFile,
  struct,
  uint32,
  uint64,
  uint8,
  union,
} from '../../src/index.js';
import { runFile } from '../helpers/child.js';
import { useTempDir } from '../helpers/temp.js';

const tmp = useTempDir('memmap-export-');

const Point = struct({ x: float32, y: float32 });
const Reading = struct({
  name: char(8),
  group: uint8,
  small: int8,
  mid: int16,
  big: uint32,
  id: int64,
  huge: uint64,
  value: float64,
  ok: bool,
  raw: bytes(3),
  samples: array(int16, 3),
  at: Point,
  either: union({ i: int16, u: uint16Like() }),
});

// A union member of another width, so the union's JSON holds both views of the same bytes.
function uint16Like() {
  return array(uint8, 2);
}

const N = 2500;
function readingAt(i: number) {
  return {
    name: `r${i}`,
    group: i % 7,
    small: (i % 256) - 128,
    mid: (i * 31) % 32768,
    big: 4_000_000_000 + i,
    id: BigInt(i) * 1_000_000_007n - 5n,
    huge: 2n ** 64n - 1n - BigInt(i),
    value: i / 4,
    ok: i % 3 === 0,
    raw: new Uint8Array([i & 255, 0, 255]),
    samples: [i % 100, -(i % 100), 7],
    at: { x: i, y: -i },
    either: { i: i % 1000 },
  };
}

function recordFile(n = N): string {
  const path = tmp(`readings-${Math.random().toString(36).slice(2)}.db`);
  const db = RecordFile.open(path, Reading, { mode: 'w+' });
  for (let i = 0; i < n; i++) db.push(readingAt(i));
  db.close();
  return path;
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJS();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** What DuckDB must agree on, computed from the records themselves. */
function expected(n = N) {
  const rows = Array.from({ length: n }, (_, i) => readingAt(i));
  const byGroup = new Map<number, { count: number; sum: number }>();
  for (const r of rows) {
    const g = byGroup.get(r.group) ?? { count: 0, sum: 0 };
    g.count++;
    g.sum += r.value;
    byGroup.set(r.group, g);
  }
  return {
    count: n,
    sumBig: rows.reduce((s, r) => s + BigInt(r.big), 0n),
    sumId: rows.reduce((s, r) => s + r.id, 0n),
    sumMid: rows.reduce((s, r) => s + r.mid, 0),
    trues: rows.filter((r) => r.ok).length,
    byGroup: [...byGroup.entries()].sort((a, b) => a[0] - b[0]).map(([group, g]) => ({ group, ...g })),
  };
}

describe('exportRecords to Parquet, read by DuckDB', () => {
  it('agrees with the records on count, sums, a group-by and every kind of field', async () => {
    const path = recordFile();
    const out = tmp('readings.parquet');
    // Small chunks: many row groups, so streaming across chunk boundaries is what is tested.
    const progress: number[] = [];
    const result = await exportRecords(path, {
      to: 'parquet',
      out,
      chunkRecords: 700,
      onProgress: (w) => progress.push(w),
    });
    expect(result).toEqual({ out, records: N });
    expect(progress).toEqual([700, 1400, 2100, 2500]);
    const want = expected();
    const file = `read_parquet('${out}')`;
    const [totals] = await query(
      `select count(*) as n, sum(big) as big, sum(id) as id, sum(mid) as mid, count(*) filter (where ok) as trues from ${file}`,
    );
    expect(totals).toEqual({
      n: BigInt(want.count),
      big: want.sumBig,
      id: want.sumId,
      mid: BigInt(want.sumMid),
      trues: BigInt(want.trues),
    });
    const groups = await query(
      `select "group", count(*) as count, sum(value) as sum from ${file} group by "group" order by "group"`,
    );
    expect(groups).toEqual(want.byGroup.map((g) => ({ group: g.group, count: BigInt(g.count), sum: g.sum })));
    const [row] = await query(
      `select name, small, huge, raw, samples, "at.x" as x, "at.y" as y, either from ${file} where name = 'r1234'`,
    );
    const r = readingAt(1234);
    expect(row!.name).toBe(r.name);
    expect(row!.small).toBe(r.small);
    expect(row!.huge).toBe(r.huge);
    expect(Buffer.from(row!.raw as Uint8Array).equals(Buffer.from(r.raw))).toBe(true);
    expect(row!.samples).toEqual(r.samples);
    expect([row!.x, row!.y]).toEqual([r.at.x, r.at.y]);
    expect((JSON.parse(row!.either as string) as { i: unknown }).i).toBe(r.either.i);
    // The record's memmap schema travels with the data.
    const [meta] = await query(`select value from parquet_kv_metadata('${out}') where key = 'memmap.schema'`);
    const schema = JSON.parse(Buffer.from(meta!.value as Uint8Array).toString()) as { fields: { name: string }[] };
    expect(schema.fields[0]!.name).toBe('name');
  });

  it('exports an empty record file as a valid empty table', async () => {
    const out = tmp('empty.parquet');
    await exportRecords(recordFile(0), { to: 'parquet', out });
    expect(await query(`select count(*) as n from read_parquet('${out}')`)).toEqual([{ n: 0n }]);
  });
});

describe('exportRecords to CSV and JSON Lines', () => {
  it('CSV: DuckDB reads it and agrees on count, sums and a group-by', async () => {
    const path = recordFile();
    const out = tmp('readings.csv');
    await exportRecords(path, { to: 'csv', out, chunkRecords: 999 });
    const want = expected();
    const file = `read_csv('${out}', header = true)`;
    const [totals] = await query(`select count(*) as n, sum(big) as big, sum(mid) as mid from ${file}`);
    expect(totals).toEqual({ n: BigInt(want.count), big: want.sumBig, mid: BigInt(want.sumMid) });
    const groups = await query(
      `select "group", count(*) as count, sum(value) as sum from ${file} group by "group" order by "group"`,
    );
    expect(groups).toEqual(want.byGroup.map((g) => ({ group: BigInt(g.group), count: BigInt(g.count), sum: g.sum })));
    const header = readFileSync(out, 'utf8').split('\n', 1)[0];
    expect(header).toBe('name,group,small,mid,big,id,huge,value,ok,raw,samples,at.x,at.y,either');
  });

  it('JSON Lines: one object per record, nested as the record is, int64 as strings and bytes as base64', async () => {
    const path = recordFile(3);
    const out = tmp('readings.jsonl');
    await exportRecords(path, { to: 'jsonl', out });
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const first = JSON.parse(lines[2]!) as { raw: string };
    const r = readingAt(2);
    expect(first).toMatchObject({
      name: r.name,
      id: r.id.toString(),
      huge: r.huge.toString(),
      at: r.at,
      samples: r.samples,
    });
    expect(Buffer.from(first.raw, 'base64').equals(Buffer.from(r.raw))).toBe(true);
    const [totals] = await query(
      `select count(*) as n, sum(id::hugeint) as id from read_json('${out}', format = 'newline_delimited')`,
    );
    expect(totals).toEqual({ n: 3n, id: [0, 1, 2].reduce((s, i) => s + readingAt(i).id, 0n) });
  });
});

describe('exportRecords: bad input changes nothing', () => {
  it('rejects bad options with codes before opening anything', async () => {
    const path = recordFile(1);
    const out = tmp('never.csv');
    await expect(exportRecords(path, { to: 'xml' as never, out })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
    await expect(exportRecords(path, { to: 'csv', out: 5 as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
    await expect(exportRecords(path, { to: 'csv', out, chunkRecords: 0 })).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    await expect(exportRecords(path, { to: 'csv', out: path })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
    await expect(exportRecords(123 as never, { to: 'csv' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(existsSync(out)).toBe(false);
  });

  it('a file that is not a record file is refused with its code, and an existing output is left as it was', async () => {
    const notRecords = tmp('plain.bin');
    writeFileSync(notRecords, Buffer.alloc(4096, 1));
    const out = tmp('kept.csv');
    writeFileSync(out, 'keep me\n');
    await expect(exportRecords(notRecords, { to: 'csv', out })).rejects.toMatchObject({
      code: 'ERR_RECORD_FILE_MISMATCH',
    });
    await expect(exportRecords(tmp('missing.db'), { to: 'csv', out })).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');
    expect(readdirSync(tmp('.')).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('an onProgress that throws aborts the export: no partial output, the old one kept', async () => {
    const path = recordFile(50);
    const out = tmp('aborted.csv');
    writeFileSync(out, 'old\n');
    const boom = new Error('stop');
    await expect(
      exportRecords(path, {
        to: 'csv',
        out,
        chunkRecords: 10,
        onProgress: (written) => {
          if (written === 20) throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect(readFileSync(out, 'utf8')).toBe('old\n');
    expect(readdirSync(tmp('.')).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });
});

describe('memmap export (the CLI)', () => {
  const cli = new URL('../../src/cli.ts', import.meta.url).pathname;

  it('exports to the default path beside the file and says what it wrote', async () => {
    const path = recordFile(10);
    const result = await runFile(cli, ['export', path, '--to', 'jsonl']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = path.replace(/\.db$/, '.jsonl');
    expect(result.stdout).toContain(`10 records -> ${out}`);
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(10);
  });

  it('bad usage exits 2 with the reason; a file that is not a record file exits 1 with its code', async () => {
    const usage = await runFile(cli, ['export', recordFile(1), '--to', 'xml']);
    expect([usage.code, usage.stderr]).toEqual([
      2,
      expect.stringContaining("--to must be parquet, csv or jsonl (got 'xml')"),
    ]);
    const plain = tmp('plain-cli.bin');
    writeFileSync(plain, 'not records');
    const refused = await runFile(cli, ['export', plain, '--to', 'csv']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^memmap: ERR_RECORD_FILE_/);
  });
});
