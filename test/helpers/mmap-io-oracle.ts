/**
 * `@riaskov/mmap-io` 1.4.3, the oracle of the differential tests of memmap/mmap-io. It is a benchmark peer, installed
 * into bench/node_modules by `npm run bench` (or `npm --prefix bench install`), never by the root package's
 * `npm install`: it is a NAN addon rebuilt per Node ABI, and it does not build on Node 24+. Where it is not installed
 * or does not load, the differential tests say so in one printed line and do not run; memmap's own tests still do.
 */
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** mmap-io's MADV_* values and PROT_* combinations. */
type Advice = 0 | 1 | 2 | 3 | 4;
type Protection = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** mmap-io 1.4.3's public type (its mmap-io.d.ts, MIT), so that tsc checks the drop-in without the package. */
export type MmapIo = {
  map(size: number, prot: Protection, flags: number, fd: number, offset?: number, advice?: Advice, id?: Buffer): Buffer;
  advise(buffer: Buffer, offset: number, length: number, advise: Advice): void;
  advise(buffer: Buffer, advise: Advice): void;
  incore(buffer: Buffer): [number, number];
  sync(buffer: Buffer, offset?: number, size?: number, blockingSync?: boolean, invalidatePages?: boolean): void;
  sync(buffer: Buffer, blockingSync: boolean, invalidatePages?: boolean): void;
  readonly PROT_READ: 1;
  readonly PROT_WRITE: 2;
  readonly PROT_EXEC: 4;
  readonly PROT_NONE: 0;
  readonly MAP_SHARED: 1;
  readonly MAP_PRIVATE: 2;
  readonly MAP_NONBLOCK: 65536;
  readonly MAP_POPULATE: 32768;
  readonly MADV_NORMAL: 0;
  readonly MADV_RANDOM: 1;
  readonly MADV_SEQUENTIAL: 2;
  readonly MADV_WILLNEED: 3;
  readonly MADV_DONTNEED: 4;
  readonly PAGESIZE: number;
};

/** The oracle as the differential tests call it: loosely typed, so that tests can pass it bad arguments. */
export type MmapIoOracle = {
  map(size: number, protection: number, flags: number, fd: number, offset?: number, advise?: number): Buffer;
  advise(...args: unknown[]): void;
  incore(...args: unknown[]): [number, number];
  sync(...args: unknown[]): void;
  [constant: string]: unknown;
};

/**
 * The file to `createRequire` from to load the oracle (bench/package.json): child scripts written by the tests
 * use it too, as `createRequire(MMAP_IO_ORACLE_FROM)('@riaskov/mmap-io')`.
 */
export const MMAP_IO_ORACLE_FROM = resolve(dirname(fileURLToPath(import.meta.url)), '../../bench/package.json');

function load(): { oracle: MmapIoOracle; absence: undefined } | { oracle: undefined; absence: string } {
  try {
    return { oracle: createRequire(MMAP_IO_ORACLE_FROM)('@riaskov/mmap-io') as MmapIoOracle, absence: undefined };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'MODULE_NOT_FOUND'
        ? 'it is not installed in bench/node_modules (`npm --prefix bench install`)'
        : `it does not load on Node ${process.version}: ${(error as Error).message.split('\n')[0]}`;
    return { oracle: undefined, absence: why };
  }
}

const loaded = load();

/** The oracle, or undefined where it is not installed or does not load on this runtime. */
export const mmapIoOracle: MmapIoOracle | undefined = loaded.oracle;

/** Why the oracle is absent (undefined when it loaded). */
export const mmapIoOracleAbsence: string | undefined = loaded.absence;

if (mmapIoOracleAbsence !== undefined) {
  console.log(`memmap: the differential tests against @riaskov/mmap-io 1.4.3 do not run: ${mmapIoOracleAbsence}`);
}
