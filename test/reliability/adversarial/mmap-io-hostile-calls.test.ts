/**
 * Promise defended: nothing in memmap/mmap-io can crash the process (issue 11 #6). A child tries what crashed it
 * before: map() with MAP_HUGETLB | MAP_NORESERVE (SIGBUS at the first write when no huge page is free) and with
 * MAP_FIXED_NOREPLACE (a mapping at address 0 as root, then a V8 abort), and advise/incore/sync given typed arrays
 * whose byteOffset/byteLength/buffer getters lie (an addon assertion, or an madvise/msync outside the mapping). Each
 * attempt must give a coded error or act on the view's real range; the child must exit 0.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScript, SRC_INDEX } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir();
const COMPAT = join(dirname(SRC_INDEX), 'compat/mmap-io.ts');

const CHILD = `
import { openSync } from 'node:fs';
const mmap = (await import(${JSON.stringify(COMPAT)})).default;
const P = mmap.PAGESIZE;
const RW = mmap.PROT_READ | mmap.PROT_WRITE;
const [path] = process.argv.slice(2);
const outcome = (fn) => { try { fn(); return 'ok'; } catch (error) { return error.code ?? 'uncoded ' + error.message; } };
const report = {};
const ANON = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS;
report.hugetlb = outcome(() => { const b = mmap.map(2 << 20, RW, ANON | 0x40000 | mmap.MAP_NORESERVE, -1); b[0] = 1; });
report.fixedNoReplace = outcome(() => { const b = mmap.map(P, RW, ANON | 0x100000, -1); b[0] = 1; });
report.fixedNoReplaceFile = outcome(() => mmap.map(P, RW, mmap.MAP_SHARED | 0x100000, openSync(path, 'r+')));
report.sharedNoReserve = outcome(() => { const b = mmap.map(P, RW, mmap.MAP_SHARED | mmap.MAP_ANONYMOUS | mmap.MAP_NORESERVE, -1); b[0] = 1; });

const buffer = mmap.map(4 * P, RW, mmap.MAP_SHARED, openSync(path, 'r+'));
buffer.fill(3);
class Liar extends Uint8Array {
  get byteOffset() { return 1 << 30; }
  get byteLength() { return 2 ** 45; }
  get length() { return 2 ** 45; }
}
const liar = new Liar(buffer.buffer, P, P);
class BufferLiar extends Uint8Array {
  get buffer() { return Liar.stolen ??= new ArrayBuffer(4 * P); }
}
const bufferLiar = new BufferLiar(buffer.buffer, 0, P);
report.adviseLiar = outcome(() => mmap.advise(liar, mmap.MADV_DONTNEED));
report.adviseLiarRange = outcome(() => mmap.advise(liar, 0, 2 ** 44, mmap.MADV_DONTNEED));
report.incoreLiar = outcome(() => mmap.incore(liar));
report.syncLiar = outcome(() => mmap.sync(liar, 0, 2 ** 44, true));
report.syncLiarWhole = outcome(() => mmap.sync(liar, true, true));
report.adviseBufferLiar = outcome(() => mmap.advise(bufferLiar, mmap.MADV_RANDOM));
const ownLiar = buffer.subarray(0, P);
Object.defineProperty(ownLiar, 'byteOffset', { get: () => -4096 });
Object.defineProperty(ownLiar, 'byteLength', { get: () => 2 ** 40 });
report.syncOwnLiar = outcome(() => mmap.sync(ownLiar, true));
report.incoreOwnLiar = mmap.incore(ownLiar);
report.bytesIntact = buffer.every((byte) => byte === 3);
console.log(JSON.stringify(report));
`;

describe('memmap/mmap-io under hostile calls (issue 11 #6)', () => {
  it('crashing flags are ERR_INVALID_ARG_VALUE; lying views act on their real range; the child exits 0', async () => {
    const path = tmp('hostile.bin');
    writeFileSync(path, Buffer.alloc(4 * 4096, 3));
    const result = await runScript(tmp, 'hostile', CHILD, [path]);
    expect(result.stderr).toBe('');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual({
      hugetlb: 'ERR_INVALID_ARG_VALUE',
      fixedNoReplace: 'ERR_INVALID_ARG_VALUE',
      fixedNoReplaceFile: 'ERR_INVALID_ARG_VALUE',
      sharedNoReserve: 'ERR_INVALID_ARG_VALUE',
      adviseLiar: 'ok', // MADV_DONTNEED of the one real page: a shared file page reads back from the file
      adviseLiarRange: 'ERR_OUT_OF_RANGE',
      incoreLiar: 'ok',
      syncLiar: 'ERR_OUT_OF_RANGE',
      syncLiarWhole: 'ok',
      adviseBufferLiar: 'ok',
      syncOwnLiar: 'ok',
      incoreOwnLiar: [0, 1],
      bytesIntact: true,
    });
  });
});
