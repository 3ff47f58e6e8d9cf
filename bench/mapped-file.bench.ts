/**
 * The foundation benchmark: how close MappedFile's Buffer comes to C over the same kind of mapping, what fs costs
 * for the same bytes, and how memmap compares with @riaskov/mmap-io.
 *
 * 1. Sequential write / copy-out / sum of a 256 MiB MAP_SHARED file mapping. The limit is bench/c/seqio.c,
 *    compiled here with `cc -O2`; it times its own passes (no process start, no mmap), as the JavaScript rows do
 *    (one untimed warm-up pass, then the median of five). Goal: memmap >= 0.90x of C.
 * 2. Map + touch one byte per page + flush (msync MS_SYNC) + unmap of a 32 MiB file: memmap vs mmap-io.
 *    Goal: no slower (>= 1.00x).
 * 3. Open + map of a 1 GiB file vs fs.readFileSync of it.
 * All files live in one directory under os.tmpdir(), removed at the end even on failure.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, optionalPeer, type BenchTable, type Measurement } from './harness.ts';
import { MappedFile } from '../src/mapped-file.ts';
import { PAGE_SIZE } from '../src/native.ts';
import compat from '../src/compat/mmap-io.ts';

interface MmapIo {
  map(size: number, protection: number, flags: number, fd: number, offset?: number): Buffer;
  sync(buffer: Buffer, blocking: boolean): void;
  PROT_READ: number;
  PROT_WRITE: number;
  MAP_SHARED: number;
}

const MiB = 1 << 20;
const SEQ_SIZE = 256 * MiB;
const CHUNK = 1 * MiB;
const TOUCH_SIZE = 32 * MiB;
const BIG_SIZE = 1024 * MiB;
const RUNS = 5;

const here = dirname(fileURLToPath(import.meta.url));

/** A CHUNK of doubles (0, 0.5, 1, ...): normal numbers, so summing never meets a slow denormal or NaN. */
function sourceChunk(): Buffer {
  const values = new Float64Array(CHUNK / 8);
  for (let i = 0; i < values.length; i++) values[i] = i * 0.5;
  return Buffer.from(values.buffer);
}

/** Writes `size` bytes of `chunk` repeated to a new file at `path`. */
function writeFile(path: string, size: number, chunk: Buffer): void {
  const fd = openSync(path, 'w');
  try {
    for (let offset = 0; offset < size; offset += chunk.length) writeSync(fd, chunk, 0, chunk.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Runs the C program and returns its own median time for one pass. */
function cPass(binary: string, path: string, mode: string, name: string): Measurement {
  const out = execFileSync(binary, [path, String(SEQ_SIZE), mode, String(RUNS), String(CHUNK)], { encoding: 'utf8' });
  const ns = Number(out.trim().split(/\s+/)[0]);
  if (!Number.isFinite(ns) || ns <= 0) throw new Error(`bench/c/seqio.c printed ${JSON.stringify(out)}`);
  return { name, ms: ns / 1e6 };
}

function sumFloat64(buffer: Buffer): number {
  const values = new Float64Array(buffer.buffer, buffer.byteOffset, buffer.length / 8);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum;
}

let sink = 0; // results go here so no loop is dead code

async function sequential(dir: string, binary: string): Promise<BenchTable[]> {
  const path = join(dir, 'seq.bin');
  const chunk = sourceChunk();
  writeFile(path, SEQ_SIZE, chunk);
  const out = Buffer.alloc(CHUNK);
  const fd = openSync(path, 'r+');
  const file = MappedFile.open(path, { mode: 'r+' });
  try {
    const buffer = file.buffer;
    const write: Measurement[] = [
      cPass(binary, path, 'write', 'C memcpy into the mapping'),
      await measure('memmap: buffer.set(chunk, offset)', () => {
        for (let offset = 0; offset < SEQ_SIZE; offset += CHUNK) buffer.set(chunk, offset);
      }),
      await measure('memmap: buffer.fill(byte)', () => buffer.fill(7)),
      await measure('fs.writeSync(chunk)', () => {
        for (let offset = 0; offset < SEQ_SIZE; offset += CHUNK) writeSync(fd, chunk, 0, CHUNK, offset);
      }),
    ];
    // Put the doubles back after fill(7) so the sums below add normal numbers.
    for (let offset = 0; offset < SEQ_SIZE; offset += CHUNK) buffer.set(chunk, offset);
    const copy: Measurement[] = [
      cPass(binary, path, 'copy', 'C memcpy out of the mapping'),
      await measure('memmap: buffer.copy(out, 0, offset)', () => {
        for (let offset = 0; offset < SEQ_SIZE; offset += CHUNK) buffer.copy(out, 0, offset, offset + CHUNK);
        sink += out[1]!;
      }),
      await measure('fs.readSync(out)', () => {
        for (let offset = 0; offset < SEQ_SIZE; offset += CHUNK) readSync(fd, out, 0, CHUNK, offset);
        sink += out[1]!;
      }),
    ];
    const sum: Measurement[] = [
      cPass(binary, path, 'sum', 'C sum of doubles in the mapping'),
      await measure('memmap: Float64Array sum over buffer', () => {
        sink += sumFloat64(buffer);
      }),
      await measure('fs.readSync + Float64Array sum', () => {
        for (let offset = 0; offset < SEQ_SIZE; offset += CHUNK) {
          readSync(fd, out, 0, CHUNK, offset);
          sink += sumFloat64(out);
        }
      }),
    ];
    const note = `${cpuNote()}; one pass over 256 MiB in 1 MiB chunks, warm (page cache and page tables), median of ${RUNS}; the C rows time themselves inside bench/c/seqio.c (cc -O2). Ratio = C time / row time: goal for memmap >= 0.90.`;
    return [
      { title: 'Sequential write, 256 MiB MAP_SHARED file mapping', baseline: write[0]!.name, rows: write, note },
      {
        title: 'Sequential read (copy out), 256 MiB MAP_SHARED file mapping',
        baseline: copy[0]!.name,
        rows: copy,
        note,
      },
      {
        title: 'Sequential read (sum as float64), 256 MiB MAP_SHARED file mapping',
        baseline: sum[0]!.name,
        rows: sum,
        note,
      },
    ];
  } finally {
    file.close();
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

async function touchAndFlush(dir: string): Promise<BenchTable> {
  // A benchmark peer that builds on Node 20 and 22 only: where it is absent, its row is left out (and said so).
  const mmapIo = optionalPeer('@riaskov/mmap-io') as MmapIo | undefined;
  const path = join(dir, 'touch.bin');
  writeFile(path, TOUCH_SIZE, sourceChunk());
  let round = 0;
  const touch = (buffer: Buffer) => {
    round = (round + 1) & 0xff;
    for (let offset = 0; offset < buffer.length; offset += PAGE_SIZE) buffer[offset] = round;
  };
  const RW = compat.PROT_READ | compat.PROT_WRITE;
  try {
    const rows = [
      ...(mmapIo === undefined
        ? []
        : [
            await measure('@riaskov/mmap-io: openSync + map + touch + sync(blocking) + closeSync', () => {
              const fd = openSync(path, 'r+');
              const buffer = mmapIo.map(TOUCH_SIZE, RW, mmapIo.MAP_SHARED, fd);
              touch(buffer);
              mmapIo.sync(buffer, true);
              closeSync(fd); // the mapping stays until GC: mmap-io cannot unmap
            }),
          ]),
      await measure('memmap: MappedFile.open + touch + flush + close', () => {
        const file = MappedFile.open(path, { mode: 'r+' });
        touch(file.buffer);
        file.flush();
        file.close();
      }),
      await measure('memmap/mmap-io: openSync + map + touch + sync(blocking) + unmap + closeSync', () => {
        const fd = openSync(path, 'r+');
        const buffer = compat.map(TOUCH_SIZE, RW, compat.MAP_SHARED, fd);
        touch(buffer);
        compat.sync(buffer, true);
        compat.unmap(buffer);
        closeSync(fd);
      }),
    ];
    return {
      title: 'Map + touch one byte per page + flush, 32 MiB file (8192 dirty pages)',
      baseline: rows[0]!.name,
      rows,
      note: `${cpuNote()}; each run dirties every page and waits for msync(MS_SYNC), so the disk is part of every row; median of ${RUNS}. Goal: memmap >= 1.00 (no slower than mmap-io).`,
    };
  } finally {
    rmSync(path, { force: true });
  }
}

async function openBig(dir: string): Promise<BenchTable> {
  const path = join(dir, 'big.bin');
  const chunk = Buffer.alloc(8 * MiB, 1);
  writeFile(path, BIG_SIZE, chunk);
  try {
    const rows = [
      await measure('fs.readFileSync', () => {
        sink += readFileSync(path)[BIG_SIZE - 1]!;
      }),
      await measure(
        'memmap: MappedFile.open + close',
        () => {
          const file = MappedFile.open(path);
          sink += file.length;
          file.close();
        },
        { warmup: 5, runs: 9 },
      ), // microseconds each: more warm-up runs so the JIT has settled
      await measure('memmap: MappedFile.open + read one byte per page + close', () => {
        const file = MappedFile.open(path);
        const buffer = file.buffer;
        for (let offset = 0; offset < buffer.length; offset += PAGE_SIZE) sink += buffer[offset]!;
        file.close();
      }),
    ];
    return {
      title: 'Open a 1 GiB file: map vs read it all',
      baseline: rows[0]!.name,
      rows,
      note: `${cpuNote()}; the file is in the page cache (just written); mode 'r' (private, read-only file); median of ${RUNS}. Mapping costs no copy: pages are read when first touched.`,
    };
  } finally {
    rmSync(path, { force: true });
  }
}

function cpuNote(): string {
  return `CPU: ${cpus()[0]?.model.trim() ?? 'unknown'} (${cpus().length} cores), page size ${PAGE_SIZE} B`;
}

/** Compiles bench/c/seqio.c into `dir` and returns the executable. */
function compile(dir: string): string {
  const binary = join(dir, 'seqio');
  execFileSync('cc', ['-std=gnu11', '-O2', '-Wall', '-o', binary, join(here, 'c', 'seqio.c')], { stdio: 'pipe' });
  return binary;
}

export default async function (): Promise<BenchTable[]> {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-bench-'));
  try {
    const binary = compile(dir);
    const tables = await sequential(dir, binary);
    tables.push(await touchAndFlush(dir));
    tables.push(await openBig(dir));
    if (sink === -1) console.log(sink);
    return tables;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
