/**
 * Another process truncates a file this process has mapped: the access past the new end is repaired by memmap's
 * SIGBUS handler (the process lives on), and the loss is reported as ERR_MAPPING_TRUNCATED at the next flush,
 * flushAsync or resize. Each case runs in its own child process and asserts how the child ended.
 */
import { truncateSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/native.js';
import { useTempDir } from '../helpers/temp.js';
import { reliabilityFixture, report, startNode } from './helpers.js';

const tmp = useTempDir();
const SIZE = 256 * PAGE_SIZE; // 1 MiB with 4 KiB pages

interface Report {
  thread: string;
  length: number;
  sizeSeen: number;
  passesAfter: number;
  truncated: boolean;
  lastValueReadBack: boolean;
  checkIntact: { threw: boolean; code?: string; path?: string };
  otherIntact: { threw: boolean };
  flush: { threw: boolean; code?: string; path?: string };
  flushAsync: { threw: boolean; code?: string; path?: string };
  resize: { threw: boolean; code?: string; path?: string } | null;
  fileAfter: { size: number; allLastValue: boolean };
  refresh: Record<string, unknown>;
}

/** Starts the child on a fresh file, truncates the file to `newSize` once it is mapped, returns its report. */
async function truncateUnder(name: string, newSize: number, mode: 'r+' | 'r', where: 'main' | 'worker' = 'main') {
  const path = tmp(name);
  writeFileSync(path, Buffer.alloc(SIZE, 0x5a));
  const child = startNode(reliabilityFixture('truncated-while-mapped.mts'), [path, mode, where]);
  await child.waitForLine('ready');
  truncateSync(path, newSize); // while the child is reading and writing every page
  const result = await child.result;
  expect(result.stderr).toBe('');
  expect(result.signal).toBeNull(); // not killed by SIGBUS
  expect(result.code).toBe(0);
  return { path, report: report<Report>(result.stdout) };
}

describe('a file truncated by another process while mapped', () => {
  it('to 0: the child keeps reading and writing, then flush, flushAsync and resize throw ERR_MAPPING_TRUNCATED', async () => {
    const { path, report: r } = await truncateUnder('zero.bin', 0, 'r+');
    expect(r.sizeSeen).toBe(0);
    expect(r.passesAfter).toBe(3);
    expect(r.truncated).toBe(true);
    // every page now holds private zero-filled memory that took the child's writes (they are not in the file)
    expect(r.lastValueReadBack).toBe(true);
    expect(r.checkIntact).toEqual({ threw: true, code: 'ERR_MAPPING_TRUNCATED', path, name: 'Error' });
    expect(r.otherIntact).toEqual({ threw: false }); // only the mapping that lost pages reports it
    expect(r.flush).toEqual({ threw: true, code: 'ERR_MAPPING_TRUNCATED', path, name: 'Error' });
    expect(r.flushAsync).toEqual({ threw: true, code: 'ERR_MAPPING_TRUNCATED', path });
    expect(r.resize).toEqual({ threw: true, code: 'ERR_MAPPING_TRUNCATED', path, name: 'Error' });
    expect(r.fileAfter).toEqual({ size: 0, allLastValue: true }); // resize changed nothing; nothing was saved
    expect(r.refresh).toMatchObject({ threw: true, code: 'ERR_MAPPING_EMPTY', path });
  });

  it('to half: the first half keeps the writes, the second half is reported lost; refresh() maps what is left', async () => {
    const { path, report: r } = await truncateUnder('half.bin', SIZE / 2, 'r+');
    expect(r.sizeSeen).toBe(SIZE / 2);
    expect(r.truncated).toBe(true);
    expect(r.lastValueReadBack).toBe(true);
    expect(r.flush).toMatchObject({ threw: true, code: 'ERR_MAPPING_TRUNCATED', path });
    expect(r.flushAsync).toEqual({ threw: true, code: 'ERR_MAPPING_TRUNCATED', path });
    expect(r.resize).toMatchObject({ threw: true, code: 'ERR_MAPPING_TRUNCATED', path });
    expect(r.fileAfter).toEqual({ size: SIZE / 2, allLastValue: true }); // the surviving half has the last writes
    expect(r.checkIntact).toMatchObject({ threw: true, code: 'ERR_MAPPING_TRUNCATED', path });
    expect(r.refresh).toEqual({
      threw: false,
      length: SIZE / 2,
      truncated: false,
      intact: { threw: false },
      matchesFile: true,
      flush: { threw: false },
    });
  });

  it('to half, in a worker thread: the same', async () => {
    const { path, report: r } = await truncateUnder('worker.bin', SIZE / 2, 'r+', 'worker');
    expect(r.thread).toBe('worker');
    expect(r.truncated).toBe(true);
    expect(r.checkIntact).toMatchObject({ threw: true, code: 'ERR_MAPPING_TRUNCATED', path });
    expect(r.otherIntact).toEqual({ threw: false });
    expect(r.lastValueReadBack).toBe(true);
    expect(r.flush).toMatchObject({ threw: true, code: 'ERR_MAPPING_TRUNCATED', path });
    expect(r.fileAfter).toEqual({ size: SIZE / 2, allLastValue: true });
    expect(r.refresh).toMatchObject({ threw: false, length: SIZE / 2, truncated: false, matchesFile: true });
  });

  it("to a third, under a private 'r' map: reads go on, flush reports the truncation", async () => {
    const third = Math.floor(SIZE / 3); // not a page boundary: the page holding the new end stays file-backed
    const { path, report: r } = await truncateUnder('private.bin', third, 'r');
    expect(r.truncated).toBe(true);
    expect(r.lastValueReadBack).toBe(true);
    expect(r.flush).toMatchObject({ threw: true, code: 'ERR_MAPPING_TRUNCATED', path });
    expect(r.resize).toBeNull();
    expect(r.fileAfter).toEqual({ size: third, allLastValue: true }); // a private map never writes the file
    expect(r.refresh).toMatchObject({ threw: false, length: third, truncated: false, matchesFile: true });
  });
});
