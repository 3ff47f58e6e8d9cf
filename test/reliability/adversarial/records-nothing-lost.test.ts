/**
 * Promise: a rejected RecordFile call changes no file, and a returned flush covers every byte written through any
 * view handed out. Each attack runs in a child process; the test asserts how the child ended, the error's code,
 * and the file's bytes before and after.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runScript } from '../../helpers/child.js';
import { dirtyPageProbe } from '../../helpers/dirty-pages.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir('memmap-adv-records-');

/** Runs `body` in a child with RecordFile and a Student struct in scope; it prints one JSON line, returned here. */
async function child(name: string, body: string, args: string[] = []): Promise<Record<string, unknown>> {
  const code = `
    import { RecordFile, struct, char, int32, array, uint8 } from __SRC__;
    const Student = struct({ name: char(8), age: int32 });
    const codeOf = (fn) => { try { fn(); return 'none'; } catch (e) { return e.code ?? String(e); } };
    const out = {};
    ${body}
    console.log(JSON.stringify(out));
  `;
  const result = await runScript(tmp, name, code, args);
  expect(result.stderr).toBe('');
  expect(result.signal).toBeNull();
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe("opening never starts again a file memmap did not make ('a+')", () => {
  it('1 MiB of zeros, random bytes, a text file: ERR_RECORD_FILE_MISMATCH, byte-identical after', async () => {
    const files = {
      zeros: Buffer.alloc(1 << 20),
      random: Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) & 0xff)),
      text: Buffer.from('hello\n'.repeat(100)),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(tmp(name), bytes);
    const r = await child(
      'a-plus-foreign',
      `for (const path of process.argv.slice(2)) out[path] = ['a+', 'r+', 'r'].map((mode) => codeOf(() => RecordFile.open(path, Student, { mode })));`,
      Object.keys(files).map((name) => tmp(name)),
    );
    for (const [name, bytes] of Object.entries(files)) {
      expect(r[tmp(name)]).toEqual([
        'ERR_RECORD_FILE_MISMATCH',
        'ERR_RECORD_FILE_MISMATCH',
        'ERR_RECORD_FILE_MISMATCH',
      ]);
      expect(readFileSync(tmp(name)).equals(bytes), name).toBe(true);
    }
  });

  it('a reader racing a creating writer never sees a half-made file: the file whole, or ENOENT', async () => {
    const dir = tmp('race');
    mkdirSync(dir);
    const writer = child(
      'race-writer',
      `const dir = process.argv[2];
       for (let k = 0; k < 30; k++) { RecordFile.open(dir + '/r' + k + '.db', Student, { initialCapacity: 1 << 14 }).close(); await new Promise((r) => setTimeout(r, 5)); }`,
      [dir],
    );
    const reader = child(
      'race-reader',
      `const dir = process.argv[2];
       const codes = {};
       const deadline = Date.now() + 60000;
       for (let k = 0; k < 30 && Date.now() < deadline; ) {
         let code;
         try { RecordFile.open(dir + '/r' + k + '.db', Student, { mode: 'r' }).close(); code = 'ok'; k++; } catch (e) { code = e.code; }
         codes[code] = (codes[code] ?? 0) + 1;
       }
       out.codes = codes;`,
      [dir],
    );
    const [, r] = await Promise.all([writer, reader]);
    expect(Object.keys(r.codes as object).sort()).toEqual(expect.arrayContaining(['ok']));
    for (const code of Object.keys(r.codes as object)) expect(['ok', 'ENOENT']).toContain(code);
    expect((r.codes as Record<string, number>).ok).toBe(30);
    expect(readdirSync(dir).filter((name) => name.startsWith('.'))).toEqual([]); // no temporary file left behind
  });

  it('two processes creating the same file at once: one file, both open it, neither erases the other', async () => {
    const dir = tmp('both');
    mkdirSync(dir);
    const script = `
      const [path, who] = process.argv.slice(2);
      for (;;) {
        try { const db = RecordFile.open(path, Student, { shared: true }); db.withLock((f) => f.push({ name: who, age: 1 })); db.close(); break; }
        catch (e) { if (e.code !== 'ERR_RECORD_FILE_LOCKED') throw e; }
      }
      out.ok = true;
    `;
    for (let k = 0; k < 5; k++) {
      const path = `${dir}/both${k}.db`;
      const results = await Promise.all([child(`both-a`, script, [path, 'a']), child(`both-b`, script, [path, 'b'])]);
      expect(results).toEqual([{ ok: true }, { ok: true }]);
      const names = await child(
        'both-read',
        `using db = RecordFile.open(process.argv[2], Student, { mode: 'r' }); out.names = db.toArray().map((s) => s.name).sort();`,
        [path],
      );
      expect(names).toEqual({ names: ['a', 'b'] });
    }
    expect(readdirSync(dir).filter((name) => name.startsWith('.'))).toEqual([]);
  });
});

describe('a rejected write changes no byte', () => {
  it('set() with a value that fails late (a field after the first, inside a nested array): the file is unchanged', async () => {
    const path = tmp('set.db');
    const r = await child(
      'set-rejected',
      `
      import { readFileSync } from 'node:fs';
      const path = process.argv[2];
      const T = struct({ name: char(8), tags: array(uint8, 3), age: int32 });
      const db = RecordFile.open(path, T, { mode: 'w+', flush: 'manual' });
      db.push({ name: 'alice', tags: [1, 2, 3], age: 30 });
      db.flush();
      const before = readFileSync(path);
      out.codes = [
        codeOf(() => db.set(0, { name: 'mallory', tags: [9, 9, 9], age: 1.5 })),
        codeOf(() => db.set(0, { name: 'mallory', tags: [9, 9, 300], age: 1 })),
        codeOf(() => db.set(0, { name: 'mallory', tags: [9, 9], age: 1 })),
        codeOf(() => db.set(0, { name: 'mallory-is-too-long', tags: [9, 9, 9], age: 1 })),
        codeOf(() => db.push({ name: 'bob', tags: [1, 2, 3], age: 'x' })),
      ];
      out.same = readFileSync(path).equals(before);
      out.record = db.get(0);
      out.length = db.length;
      db.close();
      out.sameAfterClose = readFileSync(path).equals(before);
      `,
      [path],
    );
    expect(r.codes).toEqual([
      'ERR_OUT_OF_RANGE',
      'ERR_OUT_OF_RANGE',
      expect.stringMatching(/^ERR_/),
      expect.stringMatching(/^ERR_/),
      'ERR_INVALID_ARG_TYPE',
    ]);
    expect(r).toMatchObject({
      same: true,
      sameAfterClose: true,
      record: { name: 'alice', tags: [1, 2, 3], age: 30 },
      length: 1,
    });
  });

  it('hostile getters: close(), push() and truncate() from inside a value being written', async () => {
    const path = tmp('hostile.db');
    const r = await child(
      'hostile-getters',
      `
      import { readFileSync } from 'node:fs';
      const path = process.argv[2];
      const db = RecordFile.open(path, Student, { mode: 'w+', initialCapacity: 2 });
      db.push({ name: 'a', age: 1 }, { name: 'b', age: 2 });
      db.flush();
      // A getter that pushes (and so grows the file: a remap) while push() encodes its own value.
      out.reentrant = codeOf(() => db.push({ name: 'c', get age() { db.push({ name: 'inner', age: 9 }); return 3; } }));
      out.afterReentrant = db.toArray();
      // A getter that shortens the array under set().
      out.shortened = codeOf(() => db.set(3, { name: 'x', get age() { db.truncate(1); return 5; } }));
      out.afterShortened = db.toArray();
      db.flush();
      const before = readFileSync(path);
      // A getter that closes the file under set() and under push().
      out.closedSet = codeOf(() => db.set(0, { name: 'z', get age() { db.close(); return 7; } }));
      out.same = readFileSync(path).equals(before);
      const again = RecordFile.open(path, Student);
      out.closedPush = codeOf(() => again.push({ name: 'z', get age() { again.close(); return 7; } }));
      const last = RecordFile.open(path, Student, { mode: 'r' });
      out.final = last.toArray();
      `,
      [path],
    );
    expect(r.reentrant).toBe('none');
    expect(r.afterReentrant).toEqual([
      { name: 'a', age: 1 },
      { name: 'b', age: 2 },
      { name: 'inner', age: 9 },
      { name: 'c', age: 3 },
    ]);
    expect(r.shortened).toBe('ERR_OUT_OF_RANGE');
    expect(r.afterShortened).toEqual([{ name: 'a', age: 1 }]);
    expect(r.closedSet).toBe('ERR_RECORD_FILE_CLOSED');
    expect(r.same).toBe(true);
    expect(r.closedPush).toBe('ERR_RECORD_FILE_CLOSED');
    expect(r.final).toEqual([{ name: 'a', age: 1 }]);
  });
});

const mountPoint = tmp('full');
mkdirSync(mountPoint);
const mounted = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
});

describe('a full disk (a 1 MiB tmpfs) is an error at the call, never a sparse file', () => {
  it.skipIf(!mounted)(
    'create: ENOSPC and no file; w+ over a record file: ENOSPC and its bytes; growth: ENOSPC and its records',
    async () => {
      const r = await child(
        'full-disk',
        `
      import { readFileSync, readdirSync, existsSync } from 'node:fs';
      const dir = process.argv[2];
      out.create = codeOf(() => RecordFile.open(dir + '/big.db', Student, { initialCapacity: 1 << 18 })); // 2 MiB
      out.createdFile = existsSync(dir + '/big.db');
      const small = dir + '/small.db';
      const db = RecordFile.open(small, Student, { initialCapacity: 16 });
      db.push({ name: 'keep', age: 1 });
      db.close();
      const before = readFileSync(small);
      out.replace = codeOf(() => RecordFile.open(small, Student, { mode: 'w+', initialCapacity: 1 << 18 }));
      out.sameAfterReplace = readFileSync(small).equals(before);
      const grow = RecordFile.open(small, Student);
      out.grow = codeOf(() => grow.pushMany(Array.from({ length: 1 << 17 }, (_, i) => ({ name: 'g', age: i }))));
      out.grown = grow.length;
      grow.close();
      const reader = RecordFile.open(small, Student, { mode: 'r' });
      out.first = reader.get(0);
      out.leftovers = readdirSync(dir).filter((name) => name.startsWith('.'));
      `,
        [mountPoint],
      );
      expect(r).toMatchObject({
        create: 'ENOSPC',
        createdFile: false,
        replace: 'ENOSPC',
        sameAfterReplace: true,
        grow: 'ENOSPC',
      });
      expect(r.first).toEqual({ name: 'keep', age: 1 });
      expect(r.leftovers).toEqual([]);
    },
  );
});

describe('a returned flush covers every write through any view handed out', () => {
  // cachestat(2) (Linux 6.5+) reports the file's dirty pages as the kernel sees them.
  const probe = dirtyPageProbe(tmp);
  const supported = probe !== undefined;

  it.skipIf(!supported)(
    'a view taken before an earlier flush: after the next flush the kernel holds no dirty page',
    async () => {
      const path = tmp('views.db');
      const r = await child(
        'old-view',
        `
      import { execFileSync } from 'node:child_process';
      const [path, probe] = process.argv.slice(2);
      const dirty = () => Number(execFileSync(probe, [path], { encoding: 'utf8' }).trim());
      const db = RecordFile.open(path, Student, { mode: 'w+', initialCapacity: 4096, flush: 'manual' });
      for (let i = 0; i < 4096; i++) db.push({ name: 'n', age: i });
      const early = db.at(10);     // taken before the first flush
      const far = db.at(4000);
      db.flush();
      out.afterFirst = dirty();
      early.age = 1234;            // written after that flush, through the old views
      far.age = 4321;
      out.beforeSecond = dirty();
      db.flush();
      out.afterSecond = dirty();
      // And across a growth (a remap detaches the views; what they wrote is still flushed).
      const view = db.at(20);
      db.flush();
      view.age = 77;
      db.push({ name: 'grow', age: 0 });  // capacity 4096 is full: the file grows and is mapped again
      db.flush();
      out.afterGrowth = dirty();
      out.values = [db.get(10).age, db.get(4000).age, db.get(20).age];
      db.close();
      `,
        [path, probe!],
      );
      expect(r.afterFirst).toBe(0);
      expect(r.beforeSecond).toBeGreaterThan(0); // the probe sees what the views wrote
      expect(r.afterSecond).toBe(0);
      expect(r.afterGrowth).toBe(0);
      expect(r.values).toEqual([1234, 4321, 77]);
    },
  );
});
