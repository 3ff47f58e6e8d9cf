/**
 * Another program cuts a RecordFile while it is open: the next operation throws ERR_MAPPING_TRUNCATED (never a
 * crash, never a silent flush of lost records), and refresh() recovers with what is left.
 */
import { truncateSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { char, int32, RecordFile, struct } from '../../src/index.js';
import { useTempDir } from '../helpers/temp.js';

const tmp = useTempDir();
const Student = struct({ name: char(4), age: int32 });

describe('a RecordFile cut by another program', () => {
  it('throws ERR_MAPPING_TRUNCATED on the next operation, and refresh() recovers what is left', () => {
    const path = tmp('cut.rec');
    using db = RecordFile.open(path, Student, { mode: 'w+', initialCapacity: 4096 });
    for (let i = 0; i < 4096; i++) db.push({ name: 'r', age: i });
    db.flush();
    const recordsEnd = db.dataOffset + 4096 * Student.size;
    const cutAt = db.dataOffset + 1024 * Student.size;
    truncateSync(path, cutAt);
    expect(recordsEnd).toBeGreaterThan(cutAt + 4096); // the cut removes whole pages of records
    // The read that meets the cut throws (the SIGBUS handler repaired the page; its zeros are never returned).
    expect(() => db.get(4095)).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_TRUNCATED', path }));
    for (const call of [
      () => db.get(0),
      () => db.set(0, { name: 'x', age: 1 }),
      () => db.push({ name: 'y', age: 2 }),
      () => db.flush(),
    ])
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_TRUNCATED', path }));
    expect(db.refresh()).toBe(1024);
    expect(db.length).toBe(1024);
    expect(db.capacity).toBe(1024);
    expect(db.get(1023)).toEqual({ name: 'r', age: 1023 });
    db.push({ name: 'z', age: 9 }); // grows the file again
    db.flush();
    expect(db.get(1024)).toEqual({ name: 'z', age: 9 });
  });

  it('a reader refuses a header that counts records the cut removed, until the writer repairs it', () => {
    const path = tmp('cut-reader.rec');
    using writer = RecordFile.open(path, Student, { mode: 'w+', initialCapacity: 4096 });
    for (let i = 0; i < 4096; i++) writer.push({ name: 'r', age: i });
    writer.flush();
    using reader = RecordFile.open(path, Student, { mode: 'r' });
    expect(reader.length).toBe(4096);
    truncateSync(path, reader.dataOffset + 100 * Student.size);
    expect(() => reader.get(4095)).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_TRUNCATED' }));
    expect(() => reader.get(0)).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_TRUNCATED' }));
    expect(() => reader.refresh()).toThrow(
      expect.objectContaining({ code: 'ERR_RECORD_FILE_CORRUPT', field: 'count' }),
    );
    expect(writer.refresh()).toBe(100); // the writer makes the header true again
    expect(reader.refresh()).toBe(100);
    expect(reader.get(99)).toEqual({ name: 'r', age: 99 });
  });
});
