/**
 * Promise defended: a file mapping is never handed out without truncation protection. When the table of
 * protected mappings (65,536 slots) or the descriptors the registry needs run out, the mapping call fails with a
 * coded error, and every mapping already made stays protected: the files are then truncated under all of them and
 * they are written to (each write faults and must be repaired). A mapping unmap() keeps (its Buffer attached until
 * collected) keeps its slot, and stays protected, until then. Each case runs in a child process.
 */
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScript, SRC_INDEX, type ChildResult } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir();
const COMPAT = join(dirname(SRC_INDEX), 'compat/mmap-io.ts');

const PRELUDE = `
import { closeSync, ftruncateSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const mmap = (await import(${JSON.stringify(COMPAT)})).default;
const RW = mmap.PROT_READ | mmap.PROT_WRITE;
const dir = process.argv[2];
function sparseFile(name, pages) {
  const path = join(dir, name);
  writeFileSync(path, '');
  const fd = openSync(path, 'r+');
  ftruncateSync(fd, pages * mmap.PAGESIZE);
  return { path, fd };
}
function attempt(fn) {
  try { return { value: fn() }; } catch (error) { return { error: { code: error.code, syscall: error.syscall } }; }
}
`;

// The registry keeps one descriptor per mapped file. With the process's descriptor table full, mapping a file no
// mapping holds yet needs one more: map() fails with EMFILE (the fd was fine). Mapping a file already held does not.
const DESCRIPTORS = `${PRELUDE}
const held = sparseFile('held.bin', 2);
const first = mmap.map(mmap.PAGESIZE, RW, mmap.MAP_SHARED, held.fd, 0);
const fresh = sparseFile('fresh.bin', 2);
const fillers = [];
for (;;) {
  try { fillers.push(openSync('/dev/null', 'r')); } catch (error) { if (error.code === 'EMFILE') break; throw error; }
}
const freshWhenFull = attempt(() => mmap.map(mmap.PAGESIZE, RW, mmap.MAP_SHARED, fresh.fd, 0));
const heldWhenFull = attempt(() => mmap.map(mmap.PAGESIZE, RW, mmap.MAP_SHARED, held.fd, mmap.PAGESIZE));
for (const fd of fillers) closeSync(fd);
const freshAfter = mmap.map(mmap.PAGESIZE, RW, mmap.MAP_SHARED, fresh.fd, 0);
closeSync(held.fd); // the usual mmap-io pattern: the caller's descriptor is gone, the protection is not
closeSync(fresh.fd);
truncateSync(held.path, 0);
truncateSync(fresh.path, 0);
first[0] = 1;
heldWhenFull.value[0] = 1;
freshAfter[0] = 1;
console.log(JSON.stringify({ freshWhenFull: freshWhenFull.error, heldWhenFull: 'value' in heldWhenFull }));
`;

// 65,600 one-page windows of one sparse file, at decreasing offsets so that the kernel merges neighbours into few
// areas and vm.max_map_count (65,530 by default) is not what runs out first.
const TABLE = `${PRELUDE}
const COUNT = 65_600;
const file = sparseFile('table.bin', COUNT + 1);
const maps = [];
let failure = null;
for (let i = 0; i < COUNT; i++) {
  const result = attempt(() => mmap.map(mmap.PAGESIZE, RW, mmap.MAP_SHARED, file.fd, (COUNT - i) * mmap.PAGESIZE));
  if (result.error) { failure = result.error; break; }
  maps.push(result.value);
}
closeSync(file.fd);
truncateSync(file.path, 0);
let touched = 0;
for (let i = 0; i < maps.length; i += 997) { maps[i][0] = 1; touched++; }
maps.at(-1)[1] = 1;
// unmap() keeps the Buffer attached (privately) until it is collected, and its slot with it: the SIGBUS handler
// still repairs it (its page is past the file's end), so the next map() still finds the table full.
let unmapped = maps.pop();
mmap.unmap(unmapped);
const kept = { fullLength: unmapped.length === mmap.PAGESIZE, read: unmapped[5] };
unmapped[5] = 9; // past the file's end: repaired, then written privately
kept.written = unmapped[5];
const again = sparseFile('again.bin', 1);
const whileKept = attempt(() => mmap.map(mmap.PAGESIZE, RW, mmap.MAP_SHARED, again.fd, 0));
// Once the Buffer is collected its slot is free: the next map() succeeds again.
unmapped = undefined;
let collections = 0;
let next = whileKept;
while (next.error && collections < 20) {
  globalThis.gc();
  await new Promise(setImmediate);
  collections++;
  next = attempt(() => mmap.map(mmap.PAGESIZE, RW, mmap.MAP_SHARED, again.fd, 0));
}
console.log(
  JSON.stringify({
    mapped: maps.length + 1,
    failure,
    touched,
    kept,
    whileKept: whileKept.error ?? 'mapped',
    nextAfterCollected: 'value' in next,
    collected: collections > 0,
  }),
);
`;

function lastLine(result: ChildResult): unknown {
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

describe('the mapping registry at its limits (issue 11, leaks and limits)', () => {
  it('descriptor table full: map() of a new file fails with EMFILE at the call; mappings made stay protected after the fds are closed', async () => {
    const result = await runScript(tmp, 'descriptors', DESCRIPTORS, [tmp('')]);
    expect(result.stderr).toBe('');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    expect(lastLine(result)).toEqual({ freshWhenFull: { code: 'EMFILE', syscall: 'mmap' }, heldWhenFull: true });
  }, 60_000);

  it('all 65,536 slots taken: the next map() fails with ENOMEM at the call, and every mapping made is protected, an unmapped one until collected', async () => {
    const result = await runScript(tmp, 'table', TABLE, [tmp('')], { timeoutMs: 170_000, nodeArgs: ['--expose-gc'] });
    expect(result.stderr).toBe('');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    expect(lastLine(result)).toEqual({
      mapped: 65_536,
      failure: { code: 'ENOMEM', syscall: 'mmap' },
      touched: 66,
      kept: { fullLength: true, read: 0, written: 9 },
      whileKept: { code: 'ENOMEM', syscall: 'mmap' }, // the kept Buffer still holds its slot
      nextAfterCollected: true,
      collected: true,
    });
  }, 180_000);
});
