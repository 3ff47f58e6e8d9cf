/**
 * The two faces of a mapping (src/mapping-faces.ts): retirement detaches the guarded face memmap's own views are
 * built on, and keeps the public face (the Buffer handed out) over memory that reaches no file. Each promise of the
 * README's "After close" paragraph, attacked: a stale Buffer read, written, truncated under, handed back to the
 * layout and the atomics; the writer's lock after close; the budget of kept ranges.
 */
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AtomicInt32, MappedFile, RecordFile, bytes, char, int32, struct } from '../src/index.js';
import { guardedFace, KEPT_RANGES_BUDGET, publicFace } from '../src/mapping-faces.js';
import { runScript } from './helpers/child.js';
import { useTempDir } from './helpers/temp.js';
import { codeOf } from './helpers/thrown.js';

const tmp = useTempDir();
const Student = struct({ name: char(4), age: int32 });

function fileOf(name: string, size: number, fill = 0x5a): string {
  const path = tmp(name);
  writeFileSync(path, Buffer.alloc(size, fill));
  return path;
}

describe('a Buffer taken before close()', () => {
  it('keeps its length and reads the file; a write through it never reaches the file', () => {
    const path = fileOf('kept.bin', 3 * 4096);
    const file = MappedFile.open(path, { mode: 'r+' });
    const stale = file.buffer;
    stale[0] = 1; // before close: reaches the file
    file.close();
    expect(stale.length).toBe(3 * 4096);
    expect(stale[0]).toBe(1);
    expect(stale[4096]).toBe(0x5a);
    stale[1] = 2; // after close: private to this process
    stale.fill(9, 4096, 8192);
    const onDisk = readFileSync(path);
    expect(onDisk[0]).toBe(1);
    expect(onDisk[1]).toBe(0x5a);
    expect(onDisk.subarray(4096, 8192).every((b) => b === 0x5a)).toBe(true);
  });

  it('follows the file in pages it has not written (another writer owns the file now)', () => {
    const path = fileOf('follows.bin', 2 * 4096);
    const file = MappedFile.open(path, { mode: 'r+' });
    const stale = file.buffer;
    file.close();
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.from([7]), 0, 1, 4096);
    closeSync(fd);
    expect(stale[4096]).toBe(7);
  });

  it('of a file truncated (then deleted) after close reads zeros past the new end, without a crash', async () => {
    const path = fileOf('cut.bin', 4 * 4096);
    const result = await runScript(
      tmp,
      'cut-after-close',
      `import { truncateSync, unlinkSync } from 'node:fs';
       import { MappedFile } from __SRC__;
       const file = MappedFile.open(process.argv[2], { mode: 'r+' });
       const stale = file.buffer;
       file.close();
       truncateSync(process.argv[2], 4096);
       const past = stale[3 * 4096]; // the SIGBUS handler repairs the page: zeros
       stale[3 * 4096 + 1] = 5; // and it takes writes, privately
       unlinkSync(process.argv[2]);
       console.log(JSON.stringify({ first: stale[0], past, wrote: stale[3 * 4096 + 1], length: stale.length }));`,
      [path],
    );
    expect(result.stderr).toBe('');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(result.stdout.trim())).toEqual({ first: 0x5a, past: 0, wrote: 5, length: 4 * 4096 });
  });

  it('cannot carry the layout or an atomic back to the closed mapping', () => {
    const file = MappedFile.open(fileOf('layout.bin', 4096), { mode: 'r+' });
    const stale = file.buffer;
    file.close();
    expect(codeOf(() => Student.array(stale).get(0))).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => Student.read(stale))).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => Student.view(stale).age)).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => new AtomicInt32(stale, 0))).toBe('ERR_MAPPING_CLOSED');
    expect(codeOf(() => new AtomicInt32(stale.subarray(8), 0))).toBe('ERR_MAPPING_CLOSED');
  });

  it('the guarded face is never handed out: file.buffer, subarrays and bytes members are on the public face', () => {
    const file = MappedFile.open(fileOf('faces.bin', 4096), { mode: 'r+' });
    const Blob = struct({ data: bytes(16), n: int32 });
    const guarded = guardedFace(file.buffer.buffer);
    expect(guarded).not.toBe(file.buffer.buffer);
    expect(publicFace(guarded)).toBe(file.buffer.buffer);
    const data = Blob.array(file.buffer, { length: 4 }).at(0).data;
    expect(data.buffer).toBe(file.buffer.buffer);
    const viewed = Blob.view(file.buffer.subarray(32)).data;
    expect(viewed.buffer).toBe(file.buffer.buffer);
    file.close();
    expect(data.length).toBe(16); // kept: native code still working on it finishes
    expect(guarded.byteLength).toBe(0); // detached
  });
});

describe('a RecordFile writer closed while its bytes are still referenced', () => {
  it('releases the writer lock at close: a kept range holds no descriptor of the file', () => {
    const path = tmp('lock.db');
    const Blob = struct({ data: bytes(8), n: int32 });
    const db = RecordFile.open(path, Blob, { mode: 'w+' });
    db.push({ data: new Uint8Array(8), n: 1 });
    const data = db.at(0).data; // a view of the public face: keeps the range
    db.close();
    const again = RecordFile.open(path, Blob); // a second writer: flock LOCK_EX must be free
    expect(again.length).toBe(1);
    again.close();
    expect(data.length).toBe(8);
  });
});

describe('the budget of kept ranges', () => {
  it('counts kept ranges until the collector releases them; past the budget a retirement detaches as before', async () => {
    const path = fileOf('budget.bin', 4096);
    const result = await runScript(
      tmp,
      'budget',
      `import { MappedFile } from __SRC__;
       import { native } from ${JSON.stringify(new URL('../src/native.ts', import.meta.url).pathname)};
       import { KEPT_RANGES_BUDGET } from ${JSON.stringify(new URL('../src/mapping-faces.ts', import.meta.url).pathname)};
       const turn = () => new Promise((resolve) => setImmediate(resolve));
       const settle = async () => { for (let i = 0; i < 4; i++) { globalThis.gc(); await turn(); } };
       await settle();
       const base = native.retired()[0];
       const stale = [];
       for (let i = 0; i < KEPT_RANGES_BUDGET + 10; i++) {
         const file = MappedFile.open(process.argv[2], { mode: 'r+' });
         stale.push(file.buffer);
         file.close();
       }
       const kept = native.retired()[0] - base;
       const lengths = [stale[0].length, stale.at(-1).length];
       stale.length = 0;
       await settle();
       const anonymous = MappedFile.anonymous(1 << 20);
       anonymous.close();
       const heldBytes = native.retired()[1];
       await settle();
       console.log(JSON.stringify({ kept, lengths, afterCollect: native.retired()[0] - base, heldBytes, heldAfter: native.retired()[1] }));`,
      [path],
      { nodeArgs: ['--expose-gc'] },
    );
    expect(result.stderr).toBe('');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(result.stdout.trim())).toEqual({
      kept: KEPT_RANGES_BUDGET,
      lengths: [4096, 0], // the first kept, the last past the budget: detached as before
      afterCollect: 0,
      heldBytes: 1 << 20, // an anonymous mapping's memory is held while kept
      heldAfter: 0,
    });
  }, 60_000);
});
