import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { native, PAGE_SIZE } from '../src/native.js';
import { report, scriptReport, SRC_INDEX } from './helpers/child.js';
import { useTempDir } from './helpers/temp.js';

const tmp = useTempDir();
const SRC = dirname(SRC_INDEX);

/**
 * What every script below starts with: the package, the addon, the budget of kept ranges (src/mapping-faces.ts), a
 * collector that lets Node run its finalizers (they run after the event loop turns, never inside a synchronous
 * loop), and whether an address is mapped at all.
 */
const PRELUDE = `
import { readFileSync, writeFileSync } from 'node:fs';
import { setImmediate as tick } from 'node:timers/promises';
import { MappedFile, PAGE_SIZE, struct, uint32 } from __SRC__;
import { native } from ${JSON.stringify(join(SRC, 'native.ts'))};
import { KEPT_RANGES_BUDGET } from ${JSON.stringify(join(SRC, 'mapping-faces.ts'))};
const gc = globalThis.gc;
async function collect() {
  for (let i = 0; i < 5; i++) {
    gc();
    await tick();
  }
}
/** The /proc/self/maps line of the mapping that covers \`address\`, or undefined. */
function mapping(address) {
  return readFileSync('/proc/self/maps', 'utf8').trim().split('\\n').find((line) => {
    const [from, to] = line.split(' ')[0].split('-').map((hex) => BigInt('0x' + hex));
    return from <= address && address < to;
  });
}
const Word = struct({ value: uint32 });
function codeOf(call) {
  try {
    call();
    return 'none';
  } catch (error) {
    return error.code ?? error.constructor.name;
  }
}
`;

// The address range of a closed mapping stays reserved until every face of it is collected, so a new mapping never
// lands on it while a Buffer of the old one lives (V8's backing-store bookkeeping would not survive two live
// ArrayBuffers over one address); that Buffer keeps its length and its bytes; once collected, the range is unmapped
// exactly once: a newer mapping at the same address survives later collections (a SIGSEGV there means a finalizer
// unmapped twice).
const GC_UNMAP_ONCE = `${PRELUDE}
const size = 16 * PAGE_SIZE;
let collidedBeforeGc = 0;
let reused = 0;
let heldStayedMapped = true; // the kept Buffer's range is still mapped while the Buffer lives
let heldKeptBytes = true; // and the Buffer reads what was written before close(), at its full length
let heldWritable = true; // and takes writes
let releasedAfterGc = true;
let keptWhileHeld = true; // native.retired() counts the kept range until it is released
for (let round = 0; round < 20; round++) {
  let first = MappedFile.anonymous(size);
  first.buffer.fill(0x11);
  let view = first.buffer;
  const firstAddress = native.address(first.buffer.buffer);
  const keptBefore = native.retired()[0];
  first.close();
  if (native.retired()[0] !== keptBefore + 1) keptWhileHeld = false;
  first = undefined;
  const second = MappedFile.anonymous(size);
  if (native.address(second.buffer.buffer) === firstAddress) collidedBeforeGc++;
  await collect();
  if (mapping(firstAddress) === undefined) heldStayedMapped = false;
  if (view.length !== size || view[0] !== 0x11 || view[size - 1] !== 0x11) heldKeptBytes = false;
  view.fill(0x22, 0, PAGE_SIZE);
  if (view[PAGE_SIZE - 1] !== 0x22 || view[PAGE_SIZE] !== 0x11) heldWritable = false;
  if (native.retired()[0] < 1) keptWhileHeld = false;
  view = undefined;
  await collect();
  if (mapping(firstAddress) !== undefined) releasedAfterGc = false;
  const third = MappedFile.anonymous(size);
  const thirdAddress = native.address(third.buffer.buffer);
  if (thirdAddress === firstAddress) reused++;
  await collect();
  third.buffer.fill(7); // SIGSEGV here if the first mapping's finalizer unmapped again
  second.buffer.fill(7);
  if (third.buffer[size - 1] !== 7 || mapping(thirdAddress) === undefined) throw new Error('third mapping lost');
  second.close();
  third.close();
}

// A file mapping kept after close(): mapped privately (no longer the file's shared pages) until collected.
const path = process.argv[2];
writeFileSync(path, Buffer.alloc(4 * PAGE_SIZE, 0x33));
let file = MappedFile.open(path, { mode: 'r+' });
let fileView = file.buffer;
const fileAddress = native.address(fileView.buffer);
const sharedWhileOpen = mapping(fileAddress)?.split(' ')[1];
file.close();
file = undefined;
await collect();
const privateWhileHeld = mapping(fileAddress)?.split(' ')[1];
const fileViewBytes = fileView.length === 4 * PAGE_SIZE && fileView.every((byte) => byte === 0x33);
fileView = undefined;
await collect();
const fileReleased = mapping(fileAddress) === undefined;

// A mapping that is never closed is unmapped by the GC, without ever being counted as kept.
let forgotten = MappedFile.anonymous(size);
const forgottenAddress = native.address(forgotten.buffer.buffer);
const wasMapped = mapping(forgottenAddress) !== undefined;
forgotten = undefined;
await collect();
console.log(
  JSON.stringify({
    collidedBeforeGc,
    heldStayedMapped,
    heldKeptBytes,
    heldWritable,
    keptWhileHeld,
    releasedAfterGc,
    reused,
    sharedWhileOpen,
    privateWhileHeld,
    fileViewBytes,
    fileReleased,
    wasMapped,
    unmappedByGc: mapping(forgottenAddress) === undefined,
    retiredAtEnd: native.retired(),
  }),
);
`;

// Every way JavaScript can touch a Buffer after its mapping was shrunk by resize() and then closed: all of it works
// on private memory (the file's bytes below its new end, zeros repaired past it), nothing crashes, nothing reaches
// the file.
const STALE_ACCESS = `${PRELUDE}
const path = process.argv[2];
const file = MappedFile.open(path, { mode: 'w+', size: 1 << 20 });
file.buffer.fill(0x33);
const buffer = file.buffer;
const dataView = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
const floats = new Float64Array(buffer.buffer, buffer.byteOffset, 1000);
const slice = buffer.subarray(4096, 8192);
const record = Word.view(buffer, 8);
file.resize(100); // shrink: the file now ends at 100, every earlier Buffer is kept privately
const afterResize = file.buffer;
const first = [buffer[50], buffer[99], buffer[100], buffer[(1 << 20) - 1], slice[0], afterResize[99]];
file.close();
let caught = 0;
const attempts = [
  () => (buffer[10] = 1),
  () => (slice[10] = 1),
  () => (floats[10] = 1.5),
  () => (afterResize[0] = 1),
  () => buffer.fill(3, 16),
  () => buffer.write('abc'),
  () => dataView.setInt32(4, 1),
  () => dataView.getInt32(4),
  () => buffer.readInt32LE(4),
];
for (const attempt of attempts) {
  try {
    attempt();
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
    caught++;
  }
}
const reads = [buffer[10], slice[0], slice[10], floats[10], afterResize[0], buffer.length, afterResize.length];
const words = [dataView.getInt32(4), buffer.readInt32LE(4), buffer.toString('latin1', 0, 3), afterResize[99]];
const onDisk = readFileSync(path);
console.log(
  JSON.stringify({
    first,
    caught,
    reads,
    words,
    lengths: [dataView.byteLength, floats.length, slice.length],
    layout: codeOf(() => record.value),
    fileSize: onDisk.length,
    fileUntouched: onDisk.every((byte) => byte === 0x33),
  }),
);
`;

// Past the budget of kept ranges, close() falls back to detaching the public face as well (as before faces
// existed): length 0, reads undefined, writes go nowhere. Once the kept ranges are collected, close() keeps again.
const BUDGET_FALLBACK = `${PRELUDE}
const path = process.argv[2];
writeFileSync(path, Buffer.alloc(PAGE_SIZE, 0x44));
let ballast = [];
while (native.retired()[0] < KEPT_RANGES_BUDGET) {
  const memory = MappedFile.anonymous(1);
  ballast.push(memory.buffer);
  memory.close();
}
const full = native.retired();
const file = MappedFile.open(path, { mode: 'r+' });
const buffer = file.buffer;
const record = Word.view(buffer);
file.close();
const afterFallback = native.retired();
buffer[0] = 1;
const fallback = {
  length: buffer.length,
  read: buffer[0] ?? 'undefined',
  layout: codeOf(() => record.value),
  fileUntouched: readFileSync(path).every((byte) => byte === 0x44),
};
const ballastKept = ballast.every((b) => b.length === 1);
ballast = undefined;
await collect();
const released = native.retired();
const again = MappedFile.open(path, { mode: 'r+' });
const keptAgain = again.buffer;
again.close();
keptAgain[0] = 2;
console.log(
  JSON.stringify({
    full,
    afterFallback,
    fallback,
    ballastKept,
    released,
    keptAgain: { length: keptAgain.length, read: keptAgain[0], fileByte: readFileSync(path)[0] },
  }),
);
`;

describe('the addon', () => {
  it('reports the page size and the constants of <sys/mman.h>', () => {
    expect(PAGE_SIZE).toBeGreaterThanOrEqual(4096);
    expect(PAGE_SIZE & (PAGE_SIZE - 1)).toBe(0);
    expect(native.constants).toMatchObject({ PROT_READ: 1, PROT_WRITE: 2, MAP_SHARED: 1, MAP_PRIVATE: 2, MS_ASYNC: 1 });
  });

  it('throws errno and syscall from a failed syscall', () => {
    const { PROT_READ, MAP_SHARED } = native.constants;
    let error: { errno?: number; syscall?: string } = {};
    try {
      native.mmap(4096, PROT_READ, MAP_SHARED, 12345, 0);
    } catch (caught) {
      error = caught as typeof error;
    }
    expect(error).toMatchObject({ errno: 9, syscall: 'mmap' }); // EBADF
  });

  it('keeps a closed range reserved and readable until its Buffer is collected, then unmaps it exactly once', async () => {
    const stdout = await scriptReport(tmp, 'gc-unmap-once', GC_UNMAP_ONCE, [tmp('gc-unmap-once.bin')], {
      nodeArgs: ['--expose-gc'],
    });
    expect(report<Record<string, unknown>>(stdout)).toEqual({
      collidedBeforeGc: 0, // never a new mapping over a closed one whose Buffer lives
      heldStayedMapped: true, // a kept Buffer's range stays mapped while the Buffer lives
      heldKeptBytes: true,
      heldWritable: true,
      keptWhileHeld: true,
      releasedAfterGc: true, // and is unmapped once it is collected
      reused: expect.any(Number) as unknown, // the kernel's choice, reported
      sharedWhileOpen: 'rw-s',
      privateWhileHeld: 'rw-p', // the file's pages are no longer shared once closed
      fileViewBytes: true,
      fileReleased: true,
      wasMapped: true,
      unmappedByGc: true,
      retiredAtEnd: [0, 0], // every kept range was released, and its anonymous bytes with it
    });
  });

  it('reads and writes through Buffers of a closed or resized mapping without crashing, and nothing reaches the file', async () => {
    const stdout = await scriptReport(tmp, 'stale-access', STALE_ACCESS, [tmp('stale.bin')]);
    expect(report<Record<string, unknown>>(stdout)).toEqual({
      // before any write: the file's bytes below its new end, zeros past it (the SIGBUS handler repaired them)
      first: [0x33, 0x33, 0, 0, 0, 0x33],
      caught: 0,
      reads: [1, 3, 3, new Float64Array(new Uint8Array(8).fill(3).buffer)[0], 1, 1 << 20, 100],
      words: [1, 0x01000000, 'abc', 0x33],
      lengths: [1 << 20, 1000, 4096],
      layout: 'ERR_DETACHED_BUFFER',
      fileSize: 100,
      fileUntouched: true,
    });
  });

  it('past the budget of kept ranges close() detaches the Buffer as well; once they are collected it keeps again', async () => {
    const stdout = await scriptReport(tmp, 'budget', BUDGET_FALLBACK, [tmp('budget.bin')], {
      nodeArgs: ['--expose-gc'],
      timeoutMs: 120_000,
    });
    const r = report<Record<string, unknown>>(stdout);
    expect(r).toEqual({
      full: [4096, 4096 * PAGE_SIZE], // a page of anonymous memory held per ballast range
      afterFallback: [4096, 4096 * PAGE_SIZE], // the file's range was not kept
      fallback: { length: 0, read: 'undefined', layout: 'ERR_DETACHED_BUFFER', fileUntouched: true },
      ballastKept: true,
      released: [0, 0],
      keptAgain: { length: PAGE_SIZE, read: 2, fileByte: 0x44 },
    });
  }, 130_000);
});
