/** One writer and readers in separate, unrelated processes; the writer's lock; cooperative shared writers. */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RecordFile } from '../../src/index.js';
import { runFile } from '../helpers/child.js';
import { useTempDir } from '../helpers/temp.js';
import { Student, studentAt } from './fixtures/student.mts';
import { thrown } from '../helpers/thrown.js';

const tmp = useTempDir('memmap-procs-');
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** Spawns a fixture and resolves once it printed a line starting with "ready" (with that line). */
function start(
  name: string,
  args: string[],
): Promise<{ child: ChildProcessByStdio<null, Readable, Readable>; line: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture(name), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let ready = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('ready'));
      if (!ready && line !== undefined) {
        ready = true;
        resolve({ child, line, output: () => out });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) => {
      if (!ready) reject(new Error(`${name} exited with ${code} before it was ready: ${err}`));
    });
  });
}

const ended = (child: {
  on(event: 'close', listener: (code: number | null, signal: string | null) => void): unknown;
}) =>
  new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );

describe('the writer lock', () => {
  it('a second writer is refused with ERR_RECORD_FILE_LOCKED, readers are not; SIGKILL of the holder releases it', async () => {
    const path = tmp('locked.db');
    const { child } = await start('holder.mts', [path]);
    try {
      for (const mode of ['a+', 'r+', 'w+'] as const) {
        const error = thrown(() => RecordFile.open(path, Student, { mode }));
        expect(error.code).toBe('ERR_RECORD_FILE_LOCKED');
        expect(error.syscall).toBe('flock');
        expect(error.path).toBe(path);
      }
      // 'w+' was refused before it could empty the file: the holder's first record is still counted once it closes.
      using reader = RecordFile.open(path, Student, { mode: 'r' });
      expect(reader.length).toBe(0); // the holder has not flushed: nothing is committed yet
    } finally {
      child.kill('SIGKILL');
    }
    expect((await ended(child)).signal).toBe('SIGKILL');
    // The kernel released the dead holder's lock.
    using db = RecordFile.open(path, Student, { mode: 'r+' });
    expect(db.length).toBe(0);
  });

  it('an exclusive writer refuses a shared writer, and a shared writer waiting in withLock times out', async () => {
    const path = tmp('exclusive.db');
    const { child } = await start('holder.mts', [path]);
    try {
      expect(thrown(() => RecordFile.open(path, Student, { shared: true, lockTimeoutMs: 50 })).code).toBe(
        'ERR_RECORD_FILE_LOCKED',
      );
    } finally {
      child.kill('SIGKILL');
      await ended(child);
    }
    using shared = RecordFile.open(path, Student, { shared: true, lockTimeoutMs: 50 });
    const holder = await start('holder.mts', [path]);
    try {
      expect(thrown(() => shared.withLock((db) => db.push(studentAt(0)))).code).toBe('ERR_RECORD_FILE_LOCKED');
    } finally {
      holder.child.kill('SIGKILL');
      await ended(holder.child);
    }
  });
});

describe('readers in other processes', () => {
  it('a reader sees committed records, and refresh() remaps when the writer grows the file', async () => {
    const path = tmp('shared-read.db');
    const total = 20_000;
    using db = RecordFile.open(path, Student, { initialCapacity: 16, flush: 'manual' });
    db.push(studentAt(0));
    db.flush();
    const reader = await start('reader.mts', [path, String(total)]);
    const done = ended(reader.child);
    try {
      expect(reader.line).toBe('ready 1 16');
    } catch (error) {
      reader.child.kill('SIGKILL');
      throw error;
    }
    // Grow in steps (16 -> 32768 records: many remaps on the reader's side), committing as we go.
    // The event loop turns between steps, so the reader polls while the file grows under it.
    for (let i = 1; i < total; i++) {
      db.push(studentAt(i));
      if (i % 997 === 0) {
        db.flush();
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    db.flush();
    const { code } = await done;
    expect(reader.output()).toContain(`ok ${total} ${db.capacity}`);
    expect(code).toBe(0);
  });

  it("with 'manual' flushing a reader's length is the committed count, not what the writer pushed", async () => {
    const path = tmp('manual-read.db');
    using db = RecordFile.open(path, Student, { flush: 'manual' });
    db.push(studentAt(0), studentAt(1), studentAt(2));
    const before = await runFile(fixture('reader.mts'), [path, '0']);
    expect(before.stdout).toContain('ok 0');
    db.flush();
    const after = await runFile(fixture('reader.mts'), [path, '3']);
    expect(after.stdout).toContain('ok 3');
  });
});

describe('shared writers', () => {
  it('two processes append under withLock() without losing or tearing a record', async () => {
    const path = tmp('two-writers.db');
    const [a, b] = await Promise.all([
      runFile(fixture('shared-writer.mts'), [path, '30', '20']),
      runFile(fixture('shared-writer.mts'), [path, '30', '20']),
    ]);
    expect(a.stdout + a.stderr).toContain('done');
    expect(b.stdout + b.stderr).toContain('done');
    using db = RecordFile.open(path, Student, { mode: 'r' });
    expect(db.length).toBe(1200);
    for (let i = 0; i < db.length; i++) expect(db.get(i)).toEqual(studentAt(i));
  });
});
