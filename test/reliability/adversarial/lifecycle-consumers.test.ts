/**
 * Promise: no access through a view can kill the process, even from native code. Node's thread-pool consumers of
 * a buffer (zlib, crypto, fs, streams) keep working on a view's raw pointer after JavaScript has moved on; closing,
 * resizing or refreshing the mapping meanwhile must not unmap memory under them (it did: SIGSEGV in zlib and
 * crypto). Each pair runs in a child process, which must exit 0 with the file holding what it held.
 */
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../helpers/temp.js';
import { report, startNode } from '../helpers.js';

const tmp = useTempDir();
const fixture = new URL('./fixtures/lifecycle-consumer-race.mts', import.meta.url).pathname;
const CONSUMERS = ['gzip', 'gzip-stream', 'randomFill', 'fs-write', 'fs-read', 'write-stream'];
const OPERATIONS = ['close', 'resize', 'refresh'];

describe('a thread-pool consumer of a view racing the retirement of its mapping', () => {
  for (const consumer of CONSUMERS) {
    it(`${consumer} while close(), resize(), refresh(): the child exits 0, the consumer settles, the file keeps its bytes`, async () => {
      const dir = tmp(consumer);
      mkdirSync(dir);
      const result = await startNode(fixture, [dir, consumer, OPERATIONS.join(','), '2']).result;
      expect(result.stderr).toBe('');
      expect(result.signal).toBeNull(); // SIGSEGV before the fix (zlib, crypto)
      expect(result.code).toBe(0);
      // The consumer saw the file's pages (shared, then private once retired), never an unmapped range (fs would
      // say EFAULT), and a late write of a consumer reached the file only before the retirement.
      expect(report(result.stdout)).toEqual({
        rounds: 6,
        settled: ['resolved'],
        sizeOk: true,
        bytesOk: true,
        outputOk: true, // zlib, fs.write and the stream wrote the file's bytes, never zeros of a replaced range
      });
    }, 60_000);
  }
});

describe('RecordFile.push() growing the file under thread-pool consumers of record views', () => {
  it('zlib.gzip and crypto.randomFill on records while push() remaps: exit 0, record 0 keeps its bytes', async () => {
    const dir = tmp('record-growth');
    mkdirSync(dir);
    const result = await startNode(new URL('./fixtures/lifecycle-record-growth.mts', import.meta.url).pathname, [
      dir,
      '3',
    ]).result;
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(report(result.stdout)).toEqual({ outcomes: ['gzip ok', 'randomFill ok'], intact: true, lengths: true });
  }, 60_000);
});
