import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { char, float64, int64, RecordFile, struct, uint8 } from '../src/index.js';
import { runFile } from './helpers/child.js';
import { compileC } from './helpers/cc.js';
import { useTempDir } from './helpers/temp.js';

const tmp = useTempDir('memmap-cli-');
const cli = new URL('../src/cli.ts', import.meta.url).pathname;
const inspect = (...args: string[]) => runFile(cli, ['inspect', ...args]);

const Student = struct({ name: char(4), age: uint8, score: float64, id: int64 });

function studentFile(n: number): string {
  const path = tmp(`students-${n}.db`);
  using db = RecordFile.open(path, Student, { mode: 'w+' });
  for (let i = 0; i < n; i++) db.push({ name: `s${i}`, age: 20 + (i % 5), score: i / 2, id: BigInt(i) * 1_000_000_007n });
  return path;
}

describe('memmap inspect', () => {
  const path = studentFile(25);

  it('prints the header, the record as C, count/capacity and the first records as a table', async () => {
    const { code, stdout, stderr } = await inspect(path);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('format       version 2, little-endian records');
    expect(stdout).toContain('record       24 bytes, aligned to 8');
    expect(stdout).toContain('count        25 committed');
    expect(stdout).toContain('capacity     1024');
    expect(stdout).toContain(`schema hash  ${Student.hash}`);
    expect(stdout).toContain('records 0..9 of 25:');
    expect(stdout).toContain('| # | name | age | score | id |');
    expect(stdout).toContain('| 3 | "s3" | 23 | 1.5 | 3000000021n |');
    expect(stdout).not.toContain('| 10 |');
  });

  it('the C declaration it prints compiles, with the layout the file was written with', async () => {
    const { stdout } = await inspect(path, '--limit', '0');
    const declaration = stdout.slice(stdout.indexOf('#include'));
    expect(declaration).not.toContain('records ');
    // _Static_asserts in the declaration check size, alignment and every offset.
    compileC(tmp, 'decl', `${declaration}\nint main(void) { return sizeof(struct record) == 24 ? 0 : 1; }\n`);
  });

  it('--from and --limit choose the records; --json prints one object for machines', async () => {
    const text = await inspect(path, '--from', '20', '--limit=3');
    expect(text.stdout).toContain('records 20..22 of 25:');
    const { code, stdout } = await inspect(path, '--json', '--from=23');
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({ version: 2, recordSize: 24, recordAlign: 8, count: 25, capacity: 1024, from: 23 });
    expect(parsed.schemaHash).toBe(Student.hash);
    expect(parsed.schema).toEqual(Student.toJSON());
    expect(parsed.records).toEqual([
      { name: 's23', age: 23, score: 11.5, id: String(23n * 1_000_000_007n) },
      { name: 's24', age: 24, score: 12, id: String(24n * 1_000_000_007n) },
    ]);
  });

  it('an empty file, and --from past the end', async () => {
    const empty = studentFile(0);
    expect((await inspect(empty)).stdout).toContain('no records');
    expect((await inspect(path, '--from', '99')).stdout).toContain('no records from 99 (count 25)');
  });

  it('a file that is not a record file: exit 1 with the error code, and the file is not written', async () => {
    const other = tmp('other.bin');
    writeFileSync(other, 'x'.repeat(200));
    const { code, stderr } = await inspect(other);
    expect(code).toBe(1);
    expect(stderr).toContain('ERR_RECORD_FILE_MISMATCH');
    expect(readFileSync(other, 'latin1')).toBe('x'.repeat(200));
    const missing = await inspect(tmp('nope.db'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ENOENT');
  });

  it('usage errors exit 2 with the reason and the usage', async () => {
    const cases: [string[], string][] = [
      [[], 'no command given'],
      [['inspect'], 'no FILE given'],
      [['inspect', 'a', 'b'], 'more than one FILE'],
      [['inspect', 'a', '--limit', '-1'], '--limit needs a whole number'],
      [['inspect', 'a', '--from'], '--from needs a whole number'],
      [['inspect', 'a', '--bogus'], "unknown option '--bogus'"],
      [['frobnicate'], "unknown command 'frobnicate'"],
    ];
    const results = await Promise.all(cases.map(([args]) => runFile(cli, args)));
    results.forEach(({ code, stderr }, k) => {
      expect(code, cases[k]![1]).toBe(2);
      expect(stderr).toContain(cases[k]![1]);
      expect(stderr).toContain('usage: memmap inspect');
    });
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await runFile(cli, ['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('usage: memmap inspect FILE');
  });
});
