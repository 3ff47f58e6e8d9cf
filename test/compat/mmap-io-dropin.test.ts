/**
 * memmap/mmap-io used the way real projects use mmap-io 1.4, with no oracle needed: lengths rounded up to whole
 * pages, read-only populated maps with an advice, the descriptor closed right after map(), windows at page offsets,
 * sync and incore in each of their argument forms, and code written for mmap-io 1.5+ (Buffer.from(mapping)).
 * Also the refusals that keep the entry from crashing: flags that can fault, views that lie about their range.
 */
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import mmap from '../../src/compat/mmap-io.ts';
import { useTempDir } from '../helpers/temp.ts';
import { codeOf, returned } from '../helpers/thrown.ts';
import type { MmapIo } from '../helpers/mmap-io-oracle.ts';

const P = mmap.PAGESIZE;
const RW = mmap.PROT_READ | mmap.PROT_WRITE;
const tmp = useTempDir('memmap-dropin-');

/** mmap-io 1.4's API as its users program against it (its published types, restated once for the tests). */
type MmapIo14 = MmapIo;

/** A file of `size` bytes, byte i = (i * 13 + 5) & 0xff. */
function fileOf(name: string, size: number): { path: string; bytes: Buffer } {
  const path = tmp(name);
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 13 + 5) & 0xff;
  writeFileSync(path, bytes);
  return { path, bytes };
}

describe('memmap/mmap-io as a drop-in for mmap-io 1.4', () => {
  it('typechecks where mmap-io 1.4 is expected (tsc --noEmit)', () => {
    const typed: MmapIo14 = mmap;
    expect(typed).toBe(mmap);
  });

  it('maps a file rounded up to whole pages (Math.ceil(size / PAGESIZE) * PAGESIZE); one more page is refused', () => {
    const size = 2 * P + 123;
    const { path, bytes } = fileOf('rounded.bin', size);
    const fd = openSync(path, 'r+');
    const length = Math.ceil(size / mmap.PAGESIZE) * mmap.PAGESIZE;
    const buffer = mmap.map(length, RW, mmap.MAP_SHARED, fd);
    expect(buffer.length).toBe(3 * P);
    expect(buffer.subarray(0, size).equals(bytes)).toBe(true);
    expect(buffer.subarray(size).every((byte) => byte === 0)).toBe(true); // the last page's tail reads as zeros
    buffer[size - 1] = 0xee;
    mmap.sync(buffer, true);
    expect(readFileSync(path)[size - 1]).toBe(0xee);
    expect(readFileSync(path).length).toBe(size); // the tail never reaches the file
    expect(codeOf(() => mmap.map(length + P, RW, mmap.MAP_SHARED, fd))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => mmap.map(P, RW, mmap.MAP_SHARED, fd, 3 * P))).toBe('ERR_OUT_OF_RANGE');
    closeSync(fd);
    mmap.unmap(buffer);
  });

  it('a read-only, populated map with an advice; the descriptor closed right after map()', () => {
    const { path, bytes } = fileOf('readonly.bin', 8 * P);
    const fd = openSync(path, 'r');
    const buffer = mmap.map(8 * P, mmap.PROT_READ, mmap.MAP_SHARED | mmap.MAP_POPULATE, fd, 0, mmap.MADV_SEQUENTIAL);
    closeSync(fd);
    expect(buffer.equals(bytes)).toBe(true);
    expect(mmap.incore(buffer)).toEqual([0, 8]); // MAP_POPULATE read every page in
    mmap.advise(buffer, mmap.MADV_RANDOM);
    mmap.advise(buffer, 2 * P, 2 * P, mmap.MADV_WILLNEED);
    writeFileSync(path, Buffer.alloc(8 * P, 0x11)); // written by someone else: a read-only map follows the file
    expect(buffer[5 * P]).toBe(0x11);
    mmap.unmap(buffer);
  });

  it('windows at page offsets, written with the descriptor closed: the file has the bytes', () => {
    const { path } = fileOf('windows.bin', 16 * P);
    const fd = openSync(path, 'r+');
    const windows = [0, 3, 7, 12].map((page) => mmap.map(4 * P, RW, mmap.MAP_SHARED, fd, page * P));
    closeSync(fd);
    windows.forEach((window, i) => window.fill(0x40 + i, 0, P));
    for (const window of windows) mmap.sync(window, true);
    const file = readFileSync(path);
    expect([file[0], file[3 * P], file[7 * P], file[12 * P], file[P]]).toEqual([
      0x40,
      0x41,
      0x42,
      0x43,
      (P * 13 + 5) & 0xff,
    ]);
    for (const window of windows) mmap.unmap(window);
  });

  it('sync in each argument form reaches the file (and returns undefined)', () => {
    const { path } = fileOf('sync.bin', 4 * P);
    const fd = openSync(path, 'r+');
    const buffer = mmap.map(4 * P, RW, mmap.MAP_SHARED, fd);
    closeSync(fd);
    const forms: unknown[][] = [
      [],
      [true],
      [false],
      [true, true],
      [0, 4 * P],
      [0, 4 * P, true],
      [0, 4 * P, true, false],
      [P, 2 * P, true, true],
      [P],
      [2 * P, 0, true],
      [0, 0],
    ];
    const sync = mmap.sync as (buffer: Buffer, ...rest: unknown[]) => unknown;
    forms.forEach((form, i) => {
      buffer.writeUInt32LE(0xc0de0000 + i, 2 * P);
      expect(sync(buffer, ...form)).toBeUndefined();
      mmap.sync(buffer, true);
      expect(readFileSync(path).readUInt32LE(2 * P)).toBe(0xc0de0000 + i);
    });
    expect(sync(buffer.subarray(P, 3 * P), 0, P, true)).toBeUndefined(); // relative to a view
    mmap.unmap(buffer);
  });

  it('incore of the buffer, of a window of it, of an empty view and of its ArrayBuffer', () => {
    const buffer = mmap.map(8 * P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1);
    expect(mmap.incore(buffer)).toEqual([8, 0]);
    buffer.fill(1, 0, 3 * P);
    expect(mmap.incore(buffer)).toEqual([5, 3]);
    expect(mmap.incore(buffer.subarray(2 * P, 6 * P))).toEqual([3, 1]);
    expect(mmap.incore(buffer.subarray(0, 0))).toEqual([0, 0]);
    expect(mmap.incore(buffer.buffer)).toEqual([5, 3]);
    expect(mmap.incore(new DataView(buffer.buffer, P, P))).toEqual([0, 1]);
    mmap.unmap(buffer);
  });

  it('code written for mmap-io 1.5+ works: Buffer.from(mapping) is a view of the pages, the calls take the mapping', () => {
    const { path } = fileOf('v15.bin', 2 * P);
    const fd = openSync(path, 'r+');
    const mapping = mmap.map(2 * P, mmap.PROT_WRITE, mmap.MAP_SHARED, fd); // 1.5 README: PROT_WRITE, MAP_SHARED
    closeSync(fd);
    mmap.advise(mapping, mmap.MADV_RANDOM);
    const buf = Buffer.from(mapping);
    buf.writeUInt32LE(1024, 0);
    expect(mapping.readUInt32LE(0)).toBe(1024); // the same memory, not a copy
    mmap.sync(buf, true);
    expect(readFileSync(path).readUInt32LE(0)).toBe(1024);
    expect(Buffer.from(mapping, P, 4).byteOffset).toBe(P); // with an offset and length too
    const copy = Buffer.copyBytesFrom(mapping); // the documented way to copy
    copy[1] = 0;
    expect(mapping[1]).toBe(4);
    expect(mmap.unmap(mapping.buffer)).toBe(true);
    expect(mmap.unmap(mapping)).toBe(false);
    // After unmap both keep their length over the file's bytes, mapped privately: still one memory, the file's no
    // more. A write through either stays in this process, and sync refuses them.
    expect(buf.length).toBe(2 * P);
    expect(mapping.length).toBe(2 * P);
    const onDisk = readFileSync(path);
    expect(buf.equals(onDisk)).toBe(true);
    buf.writeUInt32LE(0xdeadbeef, 8);
    mapping.fill(0x11, P);
    expect(mapping.readUInt32LE(8)).toBe(0xdeadbeef);
    expect(buf[P]).toBe(0x11);
    expect(codeOf(() => mmap.sync(buf, true))).toBe('ERR_MAPPING_CLOSED');
    expect(readFileSync(path).equals(onDisk)).toBe(true);
    expect(onDisk.readUInt32LE(8)).not.toBe(0xdeadbeef);
    expect(mmap.ALLOCATIONGRANULARITY).toBe(P);
  });
});

describe('memmap/mmap-io refuses what could crash', () => {
  const { path } = fileOf('flags.bin', 4 * P);
  const MAP_GROWSDOWN = 0x100;
  const MAP_HUGETLB = 0x40000;
  const MAP_FIXED_NOREPLACE = 0x100000;
  const MAP_SYNC = 0x80000;

  it('flags beyond the six harmless ones: ERR_INVALID_ARG_VALUE, nothing mapped', () => {
    const fd = openSync(path, 'r+');
    const anonymous = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS;
    for (const [flags, descriptor] of [
      [anonymous | MAP_HUGETLB, -1],
      [anonymous | MAP_HUGETLB | mmap.MAP_NORESERVE, -1],
      [anonymous | MAP_FIXED_NOREPLACE, -1],
      [mmap.MAP_SHARED | MAP_FIXED_NOREPLACE, fd],
      [mmap.MAP_SHARED | 0x10, fd], // MAP_FIXED
      [anonymous | MAP_GROWSDOWN, -1],
      [3 | MAP_SYNC, fd], // MAP_SHARED_VALIDATE | MAP_SYNC
      [mmap.MAP_SHARED | mmap.MAP_ANONYMOUS | mmap.MAP_NORESERVE, -1],
      [mmap.MAP_SHARED | 0x40000000, fd],
    ] as const)
      expect([flags, codeOf(() => mmap.map(P, RW, flags, descriptor))]).toEqual([flags, 'ERR_INVALID_ARG_VALUE']);
    expect(mmap.map(P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_NORESERVE, -1).length).toBe(P);
    expect(mmap.map(P, RW, mmap.MAP_SHARED | mmap.MAP_POPULATE | mmap.MAP_NONBLOCK, fd).length).toBe(P);
    closeSync(fd);
  });

  it('views that lie about their range: advise, incore and sync use the range the engine knows', () => {
    const fd = openSync(path, 'r+');
    const buffer = mmap.map(4 * P, RW, mmap.MAP_SHARED, fd);
    closeSync(fd);
    class Liar extends Uint8Array {
      override get byteOffset(): number {
        return -1 << 30;
      }
      override get byteLength(): number {
        return 2 ** 40;
      }
      override get length(): number {
        return 2 ** 40;
      }
      override get buffer(): ArrayBuffer {
        return new ArrayBuffer(8);
      }
    }
    const liar = new Liar(buffer.buffer as ArrayBuffer, P, 2 * P);
    expect(mmap.incore(liar)).toEqual(mmap.incore(buffer.subarray(P, 3 * P)));
    expect(returned(() => mmap.sync(liar, true))).toBeUndefined();
    expect(returned(() => mmap.sync(liar, 0, 2 * P, true))).toBeUndefined();
    expect(codeOf(() => mmap.sync(liar, 0, 3 * P))).toBe('ERR_OUT_OF_RANGE'); // 3 pages past a 2-page view
    expect(returned(() => mmap.advise(liar, P, P, mmap.MADV_DONTNEED))).toBeUndefined();
    // own properties and a swapped prototype lie the same way
    const honest = buffer.subarray(0, P);
    Object.defineProperty(honest, 'byteLength', { value: 2 ** 40 });
    Object.defineProperty(honest, 'byteOffset', { value: 2 ** 40 });
    expect(mmap.incore(honest)).toEqual(mmap.incore(buffer.subarray(0, P)));
    const view = new DataView(buffer.buffer, 0, P);
    Object.setPrototypeOf(view, {
      get byteLength() {
        return 2 ** 40;
      },
      get buffer() {
        return buffer.buffer;
      },
    });
    expect(codeOf(() => mmap.sync(view, 0, 2 * P))).toBe('ERR_OUT_OF_RANGE');
    expect(returned(() => mmap.sync(view, true))).toBeUndefined();
    mmap.unmap(buffer);
    expect(codeOf(() => mmap.incore(liar))).toBe('ERR_MAPPING_CLOSED');
  });

  it('a mapping ArrayBuffer transferred elsewhere: a copy leaves the mapping working; a detach makes it ERR_MAPPING_CLOSED', () => {
    const buffer = mmap.map(P, RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1);
    buffer[0] = 5;
    const arrayBuffer = buffer.buffer as ArrayBuffer & { transfer?: () => ArrayBuffer };
    let moved: ArrayBuffer;
    try {
      moved = structuredClone(arrayBuffer, { transfer: [arrayBuffer] });
    } catch (error) {
      // Node 22+ refuses to transfer memory it does not own: the mapping is untouched and keeps working.
      expect((error as Error).name).toBe('DataCloneError');
      expect(buffer[0]).toBe(5);
      expect(returned(() => mmap.sync(buffer, true))).toBeUndefined();
      mmap.unmap(buffer);
      return;
    }
    try {
      arrayBuffer.transfer?.(); // ES2024 (Node 22+): refused for memory Node does not own
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
    }
    expect(new Uint8Array(moved)[0]).toBe(5);
    if (arrayBuffer.byteLength === 0) {
      expect(codeOf(() => mmap.sync(buffer, true))).toBe('ERR_MAPPING_CLOSED');
    } else {
      expect(returned(() => mmap.sync(buffer, true))).toBeUndefined(); // Node copied the external memory instead of moving it
      expect(mmap.incore(buffer)).toEqual([0, 1]);
    }
  });
});
