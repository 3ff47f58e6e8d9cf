/**
 * Followers across languages, by the protocol of docs/format.md "Commit word": a C writer (examples/follow-writer.c)
 * appends and wakes a Node follower; a Node writer appends and wakes a C follower (examples/follow-reader.c)
 * asleep in futex(FUTEX_WAIT) on the same word. Both check every record.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordFile } from '../../src/index.js';
import { useTempDir } from '../helpers/temp.js';
import { Sample, sampleAt } from './fixtures/follow-sample.mts';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
const build = useTempDir('memmap-follow-c-');
const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const dir = mkdtempSync(join(base, 'memmap-follow-c-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function compile(file: string): string {
  const name = file.replace(/\.c$/, '');
  const binary = build(name);
  const flags = ['-std=gnu11', '-O2', '-Wall', '-Werror', '-I', examples];
  execFileSync('cc', [...flags, '-o', binary, join(examples, file)], { stdio: 'pipe' });
  return binary;
}

/** Runs a binary; resolves with its exit code (or signal), stdout and stderr. */
function run(binary: string, args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ?? code ?? -1, stdout, stderr });
    });
  });
}

describe('followers in C and Node, woken by the commit word', () => {
  const reader = compile('follow-reader.c');
  const writer = compile('follow-writer.c');

  it('docs/format.md shows the same commit-word functions as examples/follow-commit.h', () => {
    const doc = readFileSync(new URL('../../docs/format.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Commit word'));
    const block = /```c\n([\s\S]*?)```/.exec(section)![1]!;
    const header = readFileSync(join(examples, 'follow-commit.h'), 'utf8');
    const functions = (text: string): string => text.slice(text.indexOf('/* header:'), text.lastIndexOf('}') + 1);
    expect(functions(header)).toBe(functions(block));
  });

  it('a C writer appends (a commit per 7 records, growing the file); a Node follower sees each once', async () => {
    const path = join(dir, 'c-writes.db');
    RecordFile.open(path, Sample, { mode: 'w+', initialCapacity: 4 }).close();
    using db = RecordFile.open(path, Sample, { mode: 'r' });
    expect(db.followsByCommitWord).toBe(true);
    const writing = run(writer, [path, '20000', '7']);
    let n = 0;
    for await (const record of db.follow()) {
      expect(record).toEqual(sampleAt(n));
      if (++n === 20_000) break;
    }
    expect(await writing).toEqual({ code: 0, stdout: 'wrote 20000, count 20000\n', stderr: '' });
  });

  it('a Node writer appends (a flush per 3 records, growing the file); a C follower sees every record', async () => {
    const path = join(dir, 'node-writes.db');
    using db = RecordFile.open(path, Sample, { mode: 'w+', initialCapacity: 4, flush: 'manual' });
    db.flush();
    const following = run(reader, [path, '5000', '20000']);
    // The C follower is asleep on the word before the first record comes (or finds the records already there).
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let i = 0; i < 5000; i++) {
      db.push(sampleAt(i));
      if (i % 3 === 2) db.flush();
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    db.flush();
    expect(await following).toEqual({ code: 0, stdout: 'followed 5000\n', stderr: '' });
  });

  it('the C follower reports a truncation below what it read (exit 5)', async () => {
    const path = join(dir, 'truncated.db');
    using db = RecordFile.open(path, Sample, { mode: 'w+', initialCapacity: 4, flush: 'manual' });
    for (let i = 0; i < 10; i++) db.push(sampleAt(i));
    db.flush();
    const following = run(reader, [path, '100', '20000']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    db.truncate(5);
    const result = await following;
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/truncated/);
  });
});
