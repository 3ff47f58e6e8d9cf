/**
 * Promise defended: nothing in memmap/mmap-io can crash the process, also when used as mmap-io usually is: the
 * descriptor closed right after map(), and the file then truncated by another process. Before the fix the handler
 * recognised the file by the caller's descriptor, so the closed one left the access past the new end to kill the
 * process with SIGBUS. The child maps windows of a file (one rounded up to whole pages), closes its descriptor,
 * waits for this process to truncate the file, then reads and writes every page of every window.
 */
import { truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC_INDEX } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';
import { startNode } from '../helpers.js';

const tmp = useTempDir();
const COMPAT = join(dirname(SRC_INDEX), 'compat/mmap-io.ts');

const CHILD = `
import { closeSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
const mmap = (await import(${JSON.stringify(COMPAT)})).default;
const [path, sizeText] = process.argv.slice(2);
const size = Number(sizeText);
const P = mmap.PAGESIZE;
const fd = openSync(path, 'r+');
const whole = mmap.map(Math.ceil(size / P) * P, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd);
const window = mmap.map(4 * P, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 8 * P);
const readOnly = mmap.map(4 * P, mmap.PROT_READ, mmap.MAP_SHARED | mmap.MAP_POPULATE, fd, 4 * P, mmap.MADV_SEQUENTIAL);
closeSync(fd);
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) if (line === 'touch') break;
process.stdin.destroy(); // let the process end
let sum = 0;
for (const buffer of [whole, window, readOnly]) {
  for (let offset = 0; offset < buffer.length; offset += P) {
    sum += buffer[offset];
    buffer[offset] = 0xab;
  }
}
mmap.sync(whole, true);
console.log(JSON.stringify({ survived: true, wrote: whole[whole.length - 1 - ((whole.length - 1) % P)] }));
`;

describe('memmap/mmap-io: a file truncated by another process after the descriptor was closed (issue 11 #6, issue 15)', () => {
  it('every page of every window is read and written; the process lives', async () => {
    const path = tmp('cut.bin');
    const size = 16 * 4096 + 100; // not a whole number of pages
    writeFileSync(path, Buffer.alloc(size, 7));
    const file = tmp('child.mts');
    writeFileSync(file, CHILD);
    const child = startNode(file, [path, String(size)]);
    await child.waitForLine('ready');
    truncateSync(path, 4096); // everything but the first page is gone
    child.send('touch');
    const result = await child.result;
    expect(result.stderr).toBe('');
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual({ survived: true, wrote: 0xab });
  });
});
