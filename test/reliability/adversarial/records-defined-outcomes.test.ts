/**
 * Promise: every RecordFile call ends in a defined, coded outcome, and nothing a program writes is silently
 * dropped: exits without close(), a flush racing close() or a growth, special files, a file cut by another
 * program. Each attack runs in a child process; the test asserts how it ended, the codes, and the file after.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { char, int32, RecordFile, struct } from '../../../src/index.js';
import { runScript, SRC_INDEX, type ChildResult } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';
import { stageForUser } from '../../helpers/as-user.js';

const tmp = useTempDir('memmap-adv-outcomes-');
const Student = struct({ name: char(8), age: int32 });

function script(name: string, body: string, args: string[] = []): Promise<ChildResult> {
  const code = `
    import { RecordFile, struct, char, int32 } from __SRC__;
    const Student = struct({ name: char(8), age: int32 });
    const codeOf = (fn) => { try { fn(); return 'none'; } catch (e) { return e.code ?? String(e); } };
    ${body}
  `;
  return runScript(tmp, name, code, args, { timeoutMs: 60_000 });
}

function committed(path: string): { count: number; names: string[] } {
  using db = RecordFile.open(path, Student, { mode: 'r' });
  return { count: db.length, names: db.toArray().map((s) => s.name) };
}

describe('a program that exits without close()', () => {
  const push3 = `const db = RecordFile.open(process.argv[2], Student, OPTIONS); db.push({ name: 'a', age: 1 }); db.flush(); db.push({ name: 'b', age: 2 }, { name: 'c', age: 3 });`;

  it('the event loop runs dry: the writer is committed at exit, silently', async () => {
    const path = tmp('dry.db');
    const r = await script('exit-dry', push3.replace('OPTIONS', '{}'), [path]);
    expect(r).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(committed(path)).toEqual({ count: 3, names: ['a', 'b', 'c'] });
  });

  it('process.exit(3): committed at exit, and the exit code is kept', async () => {
    const path = tmp('exit.db');
    const r = await script(
      'exit-call',
      push3.replace('OPTIONS', '{ flush: { everyWrites: 1000 } }') + ' process.exit(3);',
      [path],
    );
    expect(r).toMatchObject({ code: 3, signal: null, stderr: '' });
    expect(committed(path).count).toBe(3);
  });

  it("flush: 'manual': not committed; a warning names the file and what was left", async () => {
    const path = tmp('manual.db');
    const r = await script('exit-manual', push3.replace('OPTIONS', "{ flush: 'manual' }"), [path]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(path);
    expect(r.stderr).toMatch(/2 record\(s\)/);
    expect(committed(path)).toEqual({ count: 1, names: ['a'] });
  });

  it('an uncaught exception: the last completed flush is what the file keeps (crash semantics), and a warning', async () => {
    const path = tmp('throw.db');
    const r = await script('exit-throw', push3.replace('OPTIONS', '{}') + " throw new Error('boom');", [path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('boom');
    expect(r.stderr).toContain(path);
    expect(committed(path)).toEqual({ count: 1, names: ['a'] });
  });

  it('a closed writer is forgotten: nothing is said or done at exit', async () => {
    const path = tmp('closed.db');
    const r = await script('exit-closed', push3.replace('OPTIONS', "{ flush: 'manual' }") + ' db.close();', [path]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(committed(path).count).toBe(3);
  });
});

describe('flushAsync() against close() and growth', () => {
  it('flushAsync() then close(), at once or a tick later: the promise resolves and everything is committed', async () => {
    const path = tmp('async-close.db');
    const r = await script(
      'async-close',
      `const path = process.argv[2];
       const results = [];
       for (const wait of [0, 1, 2, 5]) {
         const db = RecordFile.open(path, Student, { initialCapacity: 4 });
         for (let i = 0; i < 1000; i++) db.push({ name: 'w' + wait, age: i });
         const pending = db.flushAsync();
         for (let k = 0; k < wait; k++) await Promise.resolve();
         db.close();
         results.push(await pending.then(() => 'resolved', (e) => e.code));
       }
       console.log(JSON.stringify(results));`,
      [path],
    );
    expect(r).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual(['resolved', 'resolved', 'resolved', 'resolved']);
    expect(committed(path).count).toBe(4000);
  });

  it('flush: { intervalMs } while push() keeps growing the file: no background error, the next flush() commits all', async () => {
    const path = tmp('interval.db');
    const r = await script(
      'interval-growth',
      `const path = process.argv[2];
       const db = RecordFile.open(path, Student, { initialCapacity: 1, flush: { intervalMs: 1 } });
       let n = 0;
       for (let round = 0; round < 200; round++) {
         for (let i = 0; i < 50 * (1 + (round % 7)); i++) db.push({ name: 'i', age: n++ });
         await new Promise((resolve) => setImmediate(resolve)); // let the timer's flushAsync start its msync
         if (round % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
       }
       const code = (() => { try { db.flush(); return 'none'; } catch (e) { return e.code; } })();
       console.log(JSON.stringify({ code, length: db.length, committed: db.committedLength }));
       db.close();`,
      [path],
    );
    expect(r).toMatchObject({ code: 0, signal: null, stderr: '' });
    const out = JSON.parse(r.stdout) as { code: string; length: number; committed: number };
    expect(out.code).toBe('none');
    expect(out.committed).toBe(out.length);
    expect(committed(path).count).toBe(out.length);
  });
});

describe('special files and a path that is not one', () => {
  it('a directory: EISDIR with path in every mode; a FIFO: ERR_NOT_REGULAR_FILE at once (never blocks), both untouched', async () => {
    const dir = tmp('a-dir');
    mkdirSync(dir);
    const fifo = tmp('a-fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await script(
      'special',
      `const out = {};
       for (const path of process.argv.slice(2))
         out[path] = ['r', 'r+', 'a+', 'w+'].map((mode) => { try { RecordFile.open(path, Student, { mode }); return 'none'; } catch (e) { return e.code + ':' + (e.path === path); } });
       console.log(JSON.stringify(out));`,
      [dir, fifo],
    );
    expect(r).toMatchObject({ code: 0, signal: null, stderr: '' });
    const out = JSON.parse(r.stdout) as Record<string, string[]>;
    expect(out[dir]).toEqual(['EISDIR:true', 'EISDIR:true', 'EISDIR:true', 'EISDIR:true']);
    expect(out[fifo]).toEqual(Array(4).fill('ERR_NOT_REGULAR_FILE:true'));
  });
});

describe('a directory this process cannot write (no file can be built beside)', () => {
  const canDrop = (() => {
    try {
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true'], { stdio: 'ignore' });
      return process.getuid?.() === 0;
    } catch {
      return false;
    }
  })();

  it.skipIf(!canDrop)("'a+' on an empty file and 'w+' build in place under the lock held; a new name is EACCES", () => {
    chmodSync(tmp('.'), 0o755); // mkdtemp makes it 0700: the other user must reach its files
    const dir = tmp('read-only-dir');
    mkdirSync(dir, { mode: 0o755 });
    for (const name of ['empty.db', 'w.db']) {
      execFileSync('touch', [`${dir}/${name}`]);
      chownSync(`${dir}/${name}`, 65534, 65534);
    }
    const file = tmp('read-only-dir.mts');
    writeFileSync(
      file,
      `import { RecordFile, struct, char, int32 } from ${JSON.stringify(SRC_INDEX)};
       const S = struct({ name: char(8), age: int32 });
       const dir = process.argv[2];
       const out = {};
       const a = RecordFile.open(dir + '/empty.db', S); a.push({ name: 'x', age: 1 }); a.close();
       const w = RecordFile.open(dir + '/w.db', S, { mode: 'w+' }); w.push({ name: 'y', age: 2 }); w.close();
       const w2 = RecordFile.open(dir + '/w.db', S, { mode: 'w+' }); out.replaced = w2.length; w2.push({ name: 'z', age: 3 }); w2.close();
       out.empty = RecordFile.open(dir + '/empty.db', S, { mode: 'r' }).toArray();
       out.w = RecordFile.open(dir + '/w.db', S, { mode: 'r' }).toArray();
       try { RecordFile.open(dir + '/new.db', S); out.created = 'none'; } catch (e) { out.created = e.code; }
       console.log(JSON.stringify(out));`,
    );
    // Bundled into a place that user can read: the checkout (src/, tsx) may live in a private directory.
    const staged = stageForUser(file, 65534);
    if (!staged.ok) {
      console.log(`records-defined-outcomes: the run as user nobody does not happen: ${staged.reason}`);
      return;
    }
    const stdout = execFileSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', staged.node, staged.script, dir],
      { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } },
    );
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
      replaced: 0,
      empty: [{ name: 'x', age: 1 }],
      w: [{ name: 'z', age: 3 }],
      created: 'EACCES',
    });
  });
});

describe('a file cut by another program', () => {
  it('the first get() or at() that meets the cut throws ERR_MAPPING_TRUNCATED; no fabricated record is returned', async () => {
    const path = tmp('cut.db');
    {
      using db = RecordFile.open(path, Student, { mode: 'w+', initialCapacity: 4096 });
      db.pushMany(Array.from({ length: 4096 }, (_, i) => ({ name: 'r', age: i })));
    }
    const r = await script(
      'cut-read',
      `import { truncateSync } from 'node:fs';
       const path = process.argv[2];
       const db = RecordFile.open(path, Student, { mode: 'r' });
       truncateSync(path, db.dataOffset + 100 * Student.size); // "another program"
       const first = (() => { try { return db.get(4000); } catch (e) { return e.code; } })();
       const again = (() => { try { return db.get(0); } catch (e) { return e.code; } })();
       console.log(JSON.stringify({ first, again }));`,
      [path],
    );
    expect(r).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual({ first: 'ERR_MAPPING_TRUNCATED', again: 'ERR_MAPPING_TRUNCATED' });
    // at(): the same, on a writer
    const path2 = tmp('cut-at.db');
    {
      using db = RecordFile.open(path2, Student, { mode: 'w+', initialCapacity: 4096 });
      db.pushMany(Array.from({ length: 4096 }, (_, i) => ({ name: 'r', age: i })));
    }
    const r2 = await script(
      'cut-at',
      `import { truncateSync } from 'node:fs';
       const path = process.argv[2];
       const db = RecordFile.open(path, Student);
       truncateSync(path, db.dataOffset + 100 * Student.size);
       const first = (() => { try { return db.at(4000).age; } catch (e) { return e.code; } })();
       console.log(JSON.stringify({ first, length: db.refresh(), last: db.get(99) }));
       db.close();`,
      [path2],
    );
    expect(r2).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(JSON.parse(r2.stdout)).toEqual({
      first: 'ERR_MAPPING_TRUNCATED',
      length: 100,
      last: { name: 'r', age: 99 },
    });
    truncateSync(path2, 0);
  });
});
