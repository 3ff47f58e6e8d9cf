import {
  closeSync,
  existsSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MappedFile, MAX_MAPPING_LENGTH, PAGE_SIZE, struct, uint32 } from '../src/index.js';
import { KEPT_RANGES_BUDGET } from '../src/mapping-faces.js';
import { native } from '../src/native.js';
import { useTempDir } from './helpers/temp.js';
import { codeOf } from './helpers/thrown.js';

/** This process's umask, as the kernel reports it (process.umask() without an argument writes it twice: racy). */
function umask(): number {
  const line = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (line?.[1] === undefined) throw new Error('no Umask line in /proc/self/status');
  return Number.parseInt(line[1], 8);
}

const tmp = useTempDir();
/** A record over a mapping: the layout builds it on the mapping's guarded face, which retirement detaches. */
const Word = struct({ value: uint32 });

function fileWith(name: string, bytes: Buffer | string): string {
  const path = tmp(name);
  writeFileSync(path, bytes);
  return path;
}

describe('MappedFile.open modes', () => {
  it("'w+' creates the file at `size`, zero-filled, and writes reach it", () => {
    const path = tmp('wplus.bin');
    const file = MappedFile.open(path, { mode: 'w+', size: 10_000 });
    expect(file.length).toBe(10_000);
    expect(file.buffer.every((byte) => byte === 0)).toBe(true);
    file.buffer.write('hello', 100);
    file.flush();
    file.close();
    expect(statSync(path).size).toBe(10_000);
    expect(readFileSync(path).toString('latin1', 100, 105)).toBe('hello');
  });

  it("'w+' truncates an existing file", () => {
    const path = fileWith('truncate.bin', Buffer.alloc(8192, 7));
    using file = MappedFile.open(path, { mode: 'w+', size: 100 });
    expect(file.buffer.every((byte) => byte === 0)).toBe(true);
    expect(statSync(path).size).toBe(100);
  });

  it("'w+' creates files with `fileMode` permission bits (default 0o644)", () => {
    const defaults = tmp('default-mode.bin');
    MappedFile.open(defaults, { mode: 'w+', size: 1 }).close();
    expect(statSync(defaults).mode & 0o777).toBe(0o644 & ~umask());
    const custom = tmp('custom-mode.bin');
    MappedFile.open(custom, { mode: 'w+', size: 1, fileMode: 0o600 }).close();
    expect(statSync(custom).mode & 0o777).toBe(0o600);
  });

  it("'r+' maps an existing file shared: writes reach the file without a flush (same page cache)", () => {
    const path = fileWith('rplus.bin', 'abcdef');
    using file = MappedFile.open(path, { mode: 'r+' });
    expect(file.buffer.toString()).toBe('abcdef');
    file.buffer.write('X', 0);
    expect(readFileSync(path, 'latin1')).toBe('Xbcdef');
  });

  it("'r+' with a larger `size` grows the file (like numpy.memmap)", () => {
    const path = fileWith('grow.bin', 'abc');
    using file = MappedFile.open(path, { mode: 'r+', size: 5000 });
    expect(statSync(path).size).toBe(5000);
    expect(file.buffer.toString('latin1', 0, 3)).toBe('abc');
    expect(file.buffer[4999]).toBe(0);
  });

  it("'r' is the default; writes stay private and never reach the file, and never fault", () => {
    const path = fileWith('readonly.bin', 'abcdef');
    using file = MappedFile.open(path);
    expect(file.mode).toBe('r');
    file.buffer.write('ZZ', 0);
    expect(file.buffer.toString()).toBe('ZZcdef');
    file.flush();
    expect(readFileSync(path, 'latin1')).toBe('abcdef');
  });

  it("'c' is copy-on-write: the map changes, the file does not", () => {
    const path = fileWith('cow.bin', 'abcdef');
    using file = MappedFile.open(path, { mode: 'c' });
    file.buffer[0] = 0x41;
    file.flush();
    expect(file.buffer.toString()).toBe('Abcdef');
    expect(readFileSync(path, 'latin1')).toBe('abcdef');
    using other = MappedFile.open(path, { mode: 'r' });
    expect(other.buffer.toString()).toBe('abcdef');
  });

  it("'r' and 'c' can map a file this process may only read", () => {
    const path = fileWith('ro-perm.bin', 'data');
    // root bypasses permission bits, so open O_RDONLY is what is asserted: it needs no write access.
    using file = MappedFile.open(path, { mode: 'c' });
    expect(file.buffer.toString()).toBe('data');
  });

  it('accepts a URL or a Buffer as the path', () => {
    const path = fileWith('url.bin', 'url');
    using byUrl = MappedFile.open(new URL(`file://${path}`));
    using byBuffer = MappedFile.open(Buffer.from(path));
    expect(byUrl.buffer.toString()).toBe('url');
    expect(byBuffer.buffer.toString()).toBe('url');
    expect(byUrl.path).toBe(path);
  });
});

describe('windows: offset and length', () => {
  const content = Buffer.alloc(3 * PAGE_SIZE + 100);
  for (let i = 0; i < content.length; i++) content[i] = i % 251;

  it('maps at any offset: the buffer starts at the byte asked for', () => {
    const path = fileWith('window.bin', content);
    for (const offset of [0, 1, 17, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 3, 3 * PAGE_SIZE + 99]) {
      using file = MappedFile.open(path, { offset });
      expect(file.offset).toBe(offset);
      expect(file.length).toBe(content.length - offset);
      expect(file.buffer.equals(content.subarray(offset))).toBe(true);
    }
  });

  it('maps `length` bytes from `offset`, and writes land at the right place in the file', () => {
    const path = fileWith('window-rw.bin', content);
    {
      using file = MappedFile.open(path, { mode: 'r+', offset: PAGE_SIZE + 10, length: 20 });
      expect(file.buffer.equals(content.subarray(PAGE_SIZE + 10, PAGE_SIZE + 30))).toBe(true);
      file.buffer.fill(0xee);
      file.flush();
    }
    const after = readFileSync(path);
    expect(after.subarray(PAGE_SIZE + 10, PAGE_SIZE + 30).every((byte) => byte === 0xee)).toBe(true);
    expect(after[PAGE_SIZE + 9]).toBe(content[PAGE_SIZE + 9]);
    expect(after[PAGE_SIZE + 30]).toBe(content[PAGE_SIZE + 30]);
  });

  it('maps a window of a sparse 16 GiB file (past the largest Buffer on Node 20)', () => {
    const path = tmp('sparse16g.bin');
    const sixteenGiB = 16 * 1024 ** 3;
    const fd = openSync(path, 'w');
    ftruncateSync(fd, sixteenGiB);
    writeSync(fd, Buffer.from('far away'), 0, 8, 12 * 1024 ** 3 + 5);
    closeSync(fd);
    using file = MappedFile.open(path, { mode: 'r+', offset: 12 * 1024 ** 3, length: 1024 * 1024 });
    expect(file.buffer.toString('latin1', 5, 13)).toBe('far away');
    file.buffer.write('written!', 100);
    file.flush();
    using tail = MappedFile.open(path, { offset: sixteenGiB - 10 });
    expect(tail.length).toBe(10);
    expect(statSync(path).blocks * 512).toBeLessThan(64 * 1024 * 1024);
    if (sixteenGiB > MAX_MAPPING_LENGTH) {
      // The whole file is longer than a Buffer can be here (Node 20: 4 GiB): refused, with a message that says to
      // map a window.
      expect(codeOf(() => MappedFile.open(path))).toBe('ERR_OUT_OF_RANGE');
    } else {
      // Node 22+ hold far larger Buffers: the whole file maps too, and reads as the window did.
      using whole = MappedFile.open(path);
      expect(whole.length).toBe(sixteenGiB);
      expect(whole.buffer.toString('latin1', 12 * 1024 ** 3 + 100, 12 * 1024 ** 3 + 108)).toBe('written!');
    }
    expect(codeOf(() => MappedFile.open(path, { length: MAX_MAPPING_LENGTH + 1 }))).toBe('ERR_OUT_OF_RANGE');
  });
});

describe('argument errors, before any syscall', () => {
  it('rejects a path of the wrong type', () => {
    expect(codeOf(() => MappedFile.open(42 as unknown as string))).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('rejects options of the wrong type', () => {
    expect(codeOf(() => MappedFile.open(tmp('x'), 'r'))).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('rejects a mode that is not one of the four, without creating the file', () => {
    const path = tmp('never-created.bin');
    expect(codeOf(() => MappedFile.open(path, { mode: 'w' as never, size: 10 }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(existsSync(path)).toBe(false);
  });

  it.each([
    ['negative size', { mode: 'w+', size: -1 }, 'ERR_OUT_OF_RANGE'],
    ['zero size', { mode: 'w+', size: 0 }, 'ERR_OUT_OF_RANGE'],
    ['fractional size', { mode: 'w+', size: 1.5 }, 'ERR_OUT_OF_RANGE'],
    ['string size', { mode: 'w+', size: '10' }, 'ERR_INVALID_ARG_TYPE'],
    ["'w+' without size", { mode: 'w+' }, 'ERR_INVALID_ARG_TYPE'],
    ['negative offset', { mode: 'w+', size: 10, offset: -1 }, 'ERR_OUT_OF_RANGE'],
    ['offset past size', { mode: 'w+', size: 10, offset: 10 }, 'ERR_OUT_OF_RANGE'],
    ['length 0', { mode: 'w+', size: 10, length: 0 }, 'ERR_OUT_OF_RANGE'],
    ['length past size', { mode: 'w+', size: 10, offset: 5, length: 6 }, 'ERR_OUT_OF_RANGE'],
    ['length over the largest Buffer', { mode: 'w+', size: 10, length: MAX_MAPPING_LENGTH + 1 }, 'ERR_OUT_OF_RANGE'],
    ['populate not boolean', { mode: 'w+', size: 10, populate: 1 }, 'ERR_INVALID_ARG_TYPE'],
    ['sparse not boolean', { mode: 'w+', size: 10, sparse: 'yes' }, 'ERR_INVALID_ARG_TYPE'],
    ['fileMode out of range', { mode: 'w+', size: 10, fileMode: 0o10000 }, 'ERR_OUT_OF_RANGE'],
    ['unknown advice', { mode: 'w+', size: 10, advise: 'fast' }, 'ERR_INVALID_ARG_VALUE'],
  ])('%s', (_name, options, code) => {
    const path = tmp(`rejected-${code}-${Math.random()}.bin`);
    expect(codeOf(() => MappedFile.open(path, options as never))).toBe(code);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses to map past the end of a file (it would raise SIGBUS), and leaves the file alone', () => {
    const path = fileWith('short.bin', 'abc');
    expect(codeOf(() => MappedFile.open(path, { length: 4 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => MappedFile.open(path, { offset: 3 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => MappedFile.open(path, { mode: 'c', size: 4 }))).toBe('ERR_OUT_OF_RANGE');
    expect(readFileSync(path, 'latin1')).toBe('abc');
  });

  it('refuses an empty file with a code that says so', () => {
    const path = fileWith('empty.bin', '');
    expect(codeOf(() => MappedFile.open(path))).toBe('ERR_MAPPING_EMPTY');
  });
});

describe('system errors have the fs shape', () => {
  it('ENOENT: code, errno, syscall, path and what to do', () => {
    const path = tmp('missing.bin');
    let error: NodeJS.ErrnoException | undefined;
    try {
      MappedFile.open(path);
    } catch (caught) {
      error = caught as NodeJS.ErrnoException;
    }
    expect(error).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path });
    expect(error?.message).toContain('mode "w+"');
  });

  it('EISDIR for a directory opened for writing', () => {
    expect(codeOf(() => MappedFile.open(tmp(''), { mode: 'r+' }))).toBe('EISDIR');
  });

  it('ENODEV from mmap for a regular file that cannot be mapped, with syscall and path', () => {
    let error: NodeJS.ErrnoException | undefined;
    try {
      MappedFile.open('/proc/self/status', { length: 1 });
    } catch (caught) {
      error = caught as NodeJS.ErrnoException;
    }
    // /proc files report size 0: refused before mmap. A sysfs attribute reports a page but cannot be mapped.
    expect(error?.code).toBe('ERR_MAPPING_EMPTY');
    const attribute = '/sys/kernel/mm/transparent_hugepage/enabled';
    error = undefined;
    try {
      MappedFile.open(attribute, { length: 1 });
    } catch (caught) {
      error = caught as NodeJS.ErrnoException;
    }
    expect(error).toMatchObject({ code: 'ENODEV', syscall: 'mmap', path: attribute });
  });

  it('EISDIR with the path for a directory opened read-only (open succeeds; the type check refuses it)', () => {
    let error: NodeJS.ErrnoException | undefined;
    try {
      MappedFile.open(tmp(''), { mode: 'r' });
    } catch (caught) {
      error = caught as NodeJS.ErrnoException;
    }
    expect(error).toMatchObject({ code: 'EISDIR', syscall: 'open', path: tmp('') });
  });
});

describe('flush', () => {
  it('flushes all, a range, async and invalidate; the data is in the file', async () => {
    const path = tmp('flush.bin');
    using file = MappedFile.open(path, { mode: 'w+', size: 4 * PAGE_SIZE });
    file.buffer.write('one', 0);
    file.flush();
    file.buffer.write('two', PAGE_SIZE + 5);
    file.flush({ offset: PAGE_SIZE + 5, length: 3 });
    file.buffer.write('three', 2 * PAGE_SIZE);
    file.flush({ offset: 2 * PAGE_SIZE }, { async: true });
    file.flush(undefined, { invalidate: true });
    file.buffer.write('four', 3 * PAGE_SIZE);
    await file.flushAsync({ offset: 3 * PAGE_SIZE, length: 4 });
    await file.flushAsync();
    await file.flushAsync(undefined, { invalidate: true });
    const bytes = readFileSync(path);
    expect(bytes.toString('latin1', 0, 3)).toBe('one');
    expect(bytes.toString('latin1', PAGE_SIZE + 5, PAGE_SIZE + 8)).toBe('two');
    expect(bytes.toString('latin1', 2 * PAGE_SIZE, 2 * PAGE_SIZE + 5)).toBe('three');
    expect(bytes.toString('latin1', 3 * PAGE_SIZE, 3 * PAGE_SIZE + 4)).toBe('four');
  });

  it('flushes a window that starts mid-page (the range is rounded to pages inside)', () => {
    const path = fileWith('flush-window.bin', Buffer.alloc(3 * PAGE_SIZE));
    using file = MappedFile.open(path, { mode: 'r+', offset: PAGE_SIZE + 123, length: 1000 });
    file.buffer.write('mid', 999 - 2);
    file.flush({ offset: 997, length: 3 });
    expect(readFileSync(path).toString('latin1', PAGE_SIZE + 123 + 997, PAGE_SIZE + 123 + 1000)).toBe('mid');
  });

  it('flushAsync does not block the event loop: a timer set before it can fire before it settles', async () => {
    using file = MappedFile.open(tmp('async.bin'), { mode: 'w+', size: 64 * 1024 * 1024 });
    file.buffer.fill(1);
    const order: string[] = [];
    const flushed = file.flushAsync().then(() => order.push('flush'));
    order.push('sync code after call');
    await flushed;
    expect(order[0]).toBe('sync code after call');
  });

  it('rejects bad ranges and options with codes', async () => {
    using file = MappedFile.open(tmp('flush-bad.bin'), { mode: 'w+', size: 100 });
    expect(codeOf(() => file.flush({ offset: -1 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => file.flush({ offset: 101 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => file.flush({ offset: 50, length: 51 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => file.flush({ offset: '1' as never }))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => file.flush(5 as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => file.flush(undefined, { async: 'yes' as never }))).toBe('ERR_INVALID_ARG_TYPE');
    await expect(file.flushAsync({ length: 1000 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });
});

describe('advise, residency, lock', () => {
  it('advises every kind over all or part of the mapping', () => {
    using file = MappedFile.open(tmp('advise.bin'), { mode: 'w+', size: 8 * PAGE_SIZE, advise: 'sequential' });
    for (const advice of [
      'normal',
      'random',
      'sequential',
      'willneed',
      'dontneed',
      'hugepage',
      'nohugepage',
    ] as const) {
      file.advise(advice);
      file.advise(advice, { offset: PAGE_SIZE + 1, length: 10 });
    }
    expect(codeOf(() => file.advise('remove' as never))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => file.advise('random', { length: 9 * PAGE_SIZE }))).toBe('ERR_OUT_OF_RANGE');
  });

  it('reports residency: pages touched are resident, pages dropped are not', () => {
    using file = MappedFile.anonymous(16 * PAGE_SIZE, { shared: false });
    expect(file.residency().resident).toBe(0);
    file.buffer[0] = 1;
    file.buffer[5 * PAGE_SIZE] = 1;
    const report = file.residency(undefined, { pages: true });
    expect(report.total).toBe(16);
    expect(report.resident).toBe(2);
    expect(report.pages?.[0]).toBe(1);
    expect(report.pages?.[5]).toBe(1);
    expect(report.pages?.[1]).toBe(0);
    expect(file.residency({ offset: 5 * PAGE_SIZE, length: 1 })).toEqual({ resident: 1, total: 1 });
    file.advise('dontneed');
    expect(file.residency().resident).toBe(0);
    expect(codeOf(() => file.residency(undefined, { pages: 1 as never }))).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('populate prefaults the pages', () => {
    const path = fileWith('populate.bin', Buffer.alloc(8 * PAGE_SIZE, 1));
    using file = MappedFile.open(path, { populate: true });
    expect(file.residency().resident).toBe(8);
  });

  it('locks and unlocks pages in RAM', () => {
    using file = MappedFile.open(tmp('lock.bin'), { mode: 'w+', size: 4 * PAGE_SIZE });
    file.lock();
    expect(file.residency().resident).toBe(4);
    file.unlock();
    file.lock({ offset: 10, length: 10 });
    file.unlock({ offset: 10, length: 10 });
  });
});

describe('resize', () => {
  it('grows: old Buffers keep their length over a private copy that reaches no file, layout views over them throw; the new buffer keeps the data and zero-fills the rest', () => {
    const path = tmp('resize-grow.bin');
    const file = MappedFile.open(path, { mode: 'w+', size: 100 });
    file.buffer.write('keep', 0);
    const before = file.buffer;
    const view = new DataView(before.buffer, before.byteOffset, before.length);
    const words = new Uint8Array(before.buffer);
    const record = Word.view(before, 0);
    const records = Word.array(before);
    expect(record.value).toBe(0x7065656b); // 'keep', little-endian
    expect(native.retired()[0]).toBeLessThan(KEPT_RANGES_BUDGET); // so the old mapping must be kept, not detached
    file.resize(3 * PAGE_SIZE);
    // The public face is kept: same length, the file's bytes.
    expect(before.length).toBe(100);
    expect(words.length).toBe(100);
    expect(view.getUint32(0, true)).toBe(0x7065656b);
    expect(before.toString('latin1', 0, 4)).toBe('keep');
    // The guarded face is detached: layout views made before throw, and a new one over the stale Buffer is refused.
    expect(codeOf(() => record.value)).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => records.at(0).value)).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => Word.view(before))).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => Word.read(before))).toBe('ERR_DETACHED_BUFFER');
    expect(file.buffer.buffer).not.toBe(before.buffer);
    expect(file.length).toBe(3 * PAGE_SIZE);
    expect(statSync(path).size).toBe(3 * PAGE_SIZE);
    expect(file.buffer.toString('latin1', 0, 4)).toBe('keep');
    expect(file.buffer[3 * PAGE_SIZE - 1]).toBe(0);
    // A write through the old Buffer stays in it: neither the file nor the new mapping sees it.
    before.write('LATE', 0);
    view.setUint8(50, 0xee);
    expect(before.toString('latin1', 0, 4)).toBe('LATE');
    expect(file.buffer.toString('latin1', 0, 4)).toBe('keep');
    expect(file.buffer[50]).toBe(0);
    expect(readFileSync(path).toString('latin1', 0, 4)).toBe('keep');
    file.buffer[3 * PAGE_SIZE - 1] = 9;
    file.close();
    expect(readFileSync(path).toString('latin1', 0, 4)).toBe('keep');
    expect(readFileSync(path)[50]).toBe(0);
    expect(readFileSync(path)[3 * PAGE_SIZE - 1]).toBe(9);
  });

  it('reserves the blocks it grows by (not sparse) unless asked for sparse', () => {
    const dense = tmp('dense.bin');
    using a = MappedFile.open(dense, { mode: 'w+', size: 1 });
    a.resize(8 * 1024 * 1024);
    expect(statSync(dense).blocks * 512).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    const sparse = tmp('sparse.bin');
    using b = MappedFile.open(sparse, { mode: 'w+', size: 1, sparse: true });
    b.resize(8 * 1024 * 1024);
    expect(statSync(sparse).blocks * 512).toBeLessThan(1024 * 1024);
  });

  it('shrinks: the file is truncated; a Buffer taken before keeps its length, and past the new end reads zeros (repaired), never crashes', () => {
    const path = tmp('resize-shrink.bin');
    using file = MappedFile.open(path, { mode: 'w+', size: 4 * PAGE_SIZE });
    file.buffer.write('head', 0);
    file.buffer.fill(0xab, 8, 4 * PAGE_SIZE);
    const before = file.buffer;
    expect(native.retired()[0]).toBeLessThan(KEPT_RANGES_BUDGET);
    file.resize(10);
    expect(statSync(path).size).toBe(10);
    expect(file.buffer.toString('latin1', 0, 4)).toBe('head');
    expect(before.length).toBe(4 * PAGE_SIZE);
    // Below the new end: the file's bytes. Past it: the pages the truncation removed read zeros (the SIGBUS handler
    // repairs the kept range), in the page holding the end as in the pages wholly past it.
    expect(before.toString('latin1', 0, 4)).toBe('head');
    expect(before[9]).toBe(0xab);
    expect(before[10]).toBe(0);
    expect(before[PAGE_SIZE - 1]).toBe(0);
    expect(before[4 * PAGE_SIZE - 1]).toBe(0);
    expect(before.subarray(10).every((byte) => byte === 0)).toBe(true);
    // Writes past the new end land in private memory: readable back, and the file neither grows nor changes.
    before.fill(0x5c, 2 * PAGE_SIZE, 3 * PAGE_SIZE);
    before[1] = 0x21;
    expect(before[2 * PAGE_SIZE + 7]).toBe(0x5c);
    expect(before[1]).toBe(0x21);
    expect(statSync(path).size).toBe(10);
    expect(readFileSync(path).toString('latin1', 0, 4)).toBe('head');
    expect(file.buffer.toString('latin1', 0, 4)).toBe('head');
  });

  it('resizes a window: the file ends at offset + new length', () => {
    const path = fileWith('resize-window.bin', Buffer.alloc(PAGE_SIZE + 50, 3));
    using file = MappedFile.open(path, { mode: 'r+', offset: PAGE_SIZE + 10 });
    file.resize(100);
    expect(statSync(path).size).toBe(PAGE_SIZE + 110);
    expect(file.buffer[0]).toBe(3);
    expect(file.buffer[99]).toBe(0);
  });

  it('rejects bad sizes, private maps and anonymous memory with codes', () => {
    const path = fileWith('resize-bad.bin', 'abc');
    using file = MappedFile.open(path, { mode: 'r+' });
    expect(codeOf(() => file.resize(0))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => file.resize(2.5))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => file.resize('10' as never))).toBe('ERR_INVALID_ARG_TYPE');
    using readOnly = MappedFile.open(path, { mode: 'r' });
    expect(codeOf(() => readOnly.resize(10))).toBe('ERR_MAPPING_NOT_RESIZABLE');
    using memory = MappedFile.anonymous(10);
    expect(codeOf(() => memory.resize(20))).toBe('ERR_MAPPING_NOT_RESIZABLE');
    expect(readFileSync(path, 'latin1')).toBe('abc');
  });
});

describe('close', () => {
  it('keeps every Buffer over memory that reaches no file, detaches the layout views, is idempotent, and later calls throw ERR_MAPPING_CLOSED', async () => {
    const path = tmp('close.bin');
    const file = MappedFile.open(path, { mode: 'w+', size: 2 * PAGE_SIZE });
    const buffer = file.buffer;
    buffer.write('file bytes', 0);
    buffer.write('second page', PAGE_SIZE);
    const slice = buffer.subarray(10, 20);
    const floats = new Float64Array(buffer.buffer, 0, 8);
    const record = Word.view(buffer, 4);
    expect(native.retired()[0]).toBeLessThan(KEPT_RANGES_BUDGET);
    const keptBefore = native.retired()[0];
    file.close();
    file.close();
    expect(file.closed).toBe(true);
    expect(native.retired()[0]).toBe(keptBefore + 1); // one range kept (not two: the second close did nothing)
    // Kept: same lengths, the file's bytes.
    expect(buffer.length).toBe(2 * PAGE_SIZE);
    expect(slice.length).toBe(10);
    expect(floats.length).toBe(8);
    expect(buffer.toString('latin1', 0, 10)).toBe('file bytes');
    expect(buffer.toString('latin1', PAGE_SIZE, PAGE_SIZE + 11)).toBe('second page');
    // The layout's views are built on the guarded face, which close() detached.
    expect(codeOf(() => record.value)).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => (record.value = 1))).toBe('ERR_DETACHED_BUFFER');
    // A page not written since close() follows the file (mapped privately, not copied)...
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, 'from fs', PAGE_SIZE, 'latin1');
    } finally {
      closeSync(fd);
    }
    expect(buffer.toString('latin1', PAGE_SIZE, PAGE_SIZE + 7)).toBe('from fs');
    // ...and a write through any of the views stays in this process: the file never sees it.
    buffer[0] = 0x46; // 'F'
    slice.fill(0x2a);
    floats[1] = 1.5;
    expect(buffer[0]).toBe(0x46);
    expect(buffer[19]).toBe(0x2a);
    expect(floats[1]).toBe(1.5);
    const onDisk = readFileSync(path);
    expect(onDisk.length).toBe(2 * PAGE_SIZE);
    expect(onDisk.toString('latin1', 0, 10)).toBe('file bytes');
    expect(onDisk.subarray(10, 20).every((byte) => byte === 0)).toBe(true);
    expect(onDisk.toString('latin1', PAGE_SIZE, PAGE_SIZE + 11)).toBe('from fspage');
    for (const call of [
      () => file.buffer,
      () => file.fd,
      () => file.flush(),
      () => file.advise('normal'),
      () => file.residency(),
      () => file.lock(),
      () => file.unlock(),
      () => file.resize(10),
    ]) {
      expect(codeOf(call)).toBe('ERR_MAPPING_CLOSED');
    }
    await expect(file.flushAsync()).rejects.toMatchObject({ code: 'ERR_MAPPING_CLOSED', path: tmp('close.bin') });
  });

  it('`using` closes at the end of the scope', () => {
    let outside: MappedFile;
    {
      using file = MappedFile.open(tmp('using.bin'), { mode: 'w+', size: 10 });
      outside = file;
      expect(outside.closed).toBe(false);
    }
    expect(outside.closed).toBe(true);
  });

  it('closes the file descriptor', () => {
    const before = countFds();
    for (let i = 0; i < 50; i++) MappedFile.open(tmp('fd.bin'), { mode: 'w+', size: 10 }).close();
    expect(countFds()).toBe(before);
  });
});

describe('anonymous memory', () => {
  it('is zero-filled, writable, shared by default, private on request', () => {
    using shared = MappedFile.anonymous(3 * PAGE_SIZE);
    expect(shared.mode).toBe('r+');
    expect(shared.path).toBeUndefined();
    expect(shared.fd).toBe(-1);
    expect(shared.buffer.every((byte) => byte === 0)).toBe(true);
    shared.buffer.fill(5);
    shared.flush();
    using priv = MappedFile.anonymous(10, { shared: false });
    expect(priv.mode).toBe('c');
    expect(priv.length).toBe(10);
  });

  it('rejects bad sizes and options', () => {
    expect(codeOf(() => MappedFile.anonymous(0))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => MappedFile.anonymous(-5))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => MappedFile.anonymous('5' as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => MappedFile.anonymous(5, { shared: 1 as never }))).toBe('ERR_INVALID_ARG_TYPE');
  });
});

function countFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('MappedFile.fromDescriptor: mapping a file its caller opened', () => {
  it('maps the descriptor; closes it only when it owns it', () => {
    const path = tmp('from-fd.bin');
    writeFileSync(path, Buffer.alloc(PAGE_SIZE, 7));
    const fd = openSync(path, 'r+');
    const kept = MappedFile.fromDescriptor(fd, path, { mode: 'r+', ownsFd: false });
    expect(kept.fd).toBe(fd);
    kept.buffer[0] = 9;
    kept.close();
    expect(readFileSync(path)[0]).toBe(9);
    writeSync(fd, Buffer.from([1]), 0, 1, 1); // still open: the caller keeps it
    const owned = MappedFile.fromDescriptor(fd, path, { mode: 'r', ownsFd: true });
    expect(owned.buffer[1]).toBe(1);
    owned.close();
    expect(() => writeSync(fd, Buffer.from([1]), 0, 1, 1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it("refuses 'w+' and bad descriptors before touching anything; an owned fd is closed when mapping fails", () => {
    const path = tmp('from-fd-bad.bin');
    writeFileSync(path, '');
    expect(codeOf(() => MappedFile.fromDescriptor(3, path, { mode: 'w+', size: 1, ownsFd: false }))).toBe(
      'ERR_INVALID_ARG_VALUE',
    );
    expect(codeOf(() => MappedFile.fromDescriptor(-1, path, { mode: 'r', ownsFd: false }))).toBe('ERR_OUT_OF_RANGE');
    const fd = openSync(path, 'r');
    expect(codeOf(() => MappedFile.fromDescriptor(fd, path, { mode: 'r', ownsFd: true }))).toBe('ERR_MAPPING_EMPTY');
    expect(() => closeSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    const dir = openSync(tmp(''), 'r');
    expect(codeOf(() => MappedFile.fromDescriptor(dir, tmp(''), { mode: 'r', ownsFd: false }))).toBe('EISDIR');
    closeSync(dir); // not owned: still open
    expect(codeOf(() => MappedFile.fromDescriptor(99_999, path, { mode: 'r', ownsFd: false }))).toBe('EBADF');
  });
});
