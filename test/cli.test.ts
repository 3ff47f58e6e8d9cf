import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytes, char, float64, int64, RecordFile, struct, uint8 } from '../src/index.js';
import { runChild, runFile } from './helpers/child.js';
import { compileC } from './helpers/cc.js';
import { useTempDir } from './helpers/temp.js';

const tmp = useTempDir('memmap-cli-');
const mkfifoSync = (path: string) => execFileSync('mkfifo', [path]);
const cli = new URL('../src/cli.ts', import.meta.url).pathname;
const builtCli = new URL('../dist/cli.cjs', import.meta.url).pathname;
const inspect = (...args: string[]) => runFile(cli, ['inspect', ...args]);

const Student = struct({ name: char(4), age: uint8, score: float64, id: int64 });

function studentFile(n: number): string {
  const path = tmp(`students-${n}.db`);
  using db = RecordFile.open(path, Student, { mode: 'w+' });
  for (let i = 0; i < n; i++)
    db.push({ name: `s${i}`, age: 20 + (i % 5), score: i / 2, id: BigInt(i) * 1_000_000_007n });
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

  it('a file it cannot read: one clean line with the code and the path, never advice to erase or create', async () => {
    mkfifoSync(tmp('fifo'));
    const zeros = tmp('zeros.img');
    writeFileSync(zeros, Buffer.alloc(4096));
    const cases: [string, string][] = [
      [tmp('nope.db'), 'ENOENT'],
      [tmp('.'), 'EISDIR'],
      [tmp('fifo'), 'ERR_NOT_REGULAR_FILE'], // opened O_NONBLOCK: never waits for a writer
      [zeros, 'ERR_RECORD_FILE_MISMATCH'],
    ];
    for (const [file, code] of cases) {
      const result = await inspect(file);
      expect(result.code, file).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`^memmap: ${code}: [^\n]*\n$`));
      expect(result.stderr).toContain(file);
      expect(result.stderr).not.toMatch(/w\+|erase|create/);
    }
    expect(readFileSync(zeros).equals(Buffer.alloc(4096))).toBe(true);
  });

  it('bytes(n) fields: hex in the table, base64 in --json', async () => {
    const Blob = struct({ tag: uint8, data: bytes(4), nested: struct({ raw: bytes(2) }) });
    const file = tmp('blobs.db');
    {
      using db = RecordFile.open(file, Blob, { mode: 'w+' });
      db.push({ tag: 1, data: Uint8Array.of(0xde, 0xad, 0xbe, 0xef), nested: { raw: Uint8Array.of(1, 255) } });
    }
    expect((await inspect(file)).stdout).toContain('| 0 | 1 | deadbeef | {"raw":"01ff"} |');
    const parsed = JSON.parse((await inspect(file, '--json')).stdout) as { records: unknown[] };
    expect(parsed.records).toEqual([{ tag: 1, data: '3q2+7w==', nested: { raw: 'Af8=' } }]);
  });

  it('a large --limit streams: 1,000,000 records print in a heap far smaller than they would take at once', async () => {
    const Tiny = struct({ v: uint8 });
    const file = tmp('tiny.db');
    {
      using db = RecordFile.open(file, Tiny, { mode: 'w+', initialCapacity: 1_000_000 });
      db.pushMany(
        (function* () {
          for (let i = 0; i < 1_000_000; i++) yield { v: i & 0xff };
        })(),
      );
    }
    for (const json of [false, true]) {
      const args = ['inspect', file, '--limit', '100000000', ...(json ? ['--json'] : [])];
      // The built CLI (npm test builds dist/ first): under tsx, the transpiler's own memory crowds a 24 MiB heap.
      const result = await runChild(process.execPath, ['--max-old-space-size=24', builtCli, ...args], {
        timeoutMs: 120_000,
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout.split('\n').filter((line) => (json ? /^ {4}\{/ : /^\| \d/).test(line)).length).toBe(
        1_000_000,
      );
      expect(result.stdout).toContain(json ? '{"v":63}' : '| 999999 | 63 |');
    }
  }, 240_000);

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

  it('--version prints the package version', async () => {
    const { code, stdout } = await runFile(cli, ['--version']);
    expect(code).toBe(0);
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(stdout).toBe(`memmap ${version}\n`);
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await runFile(cli, ['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('usage: memmap inspect FILE');
  });
});
