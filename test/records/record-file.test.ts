import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytes, char, float64, int32, int64, MAX_MAPPING_LENGTH, RecordFile, struct, uint8 } from '../../src/index.js';
import { FIXED_HEADER_SIZE, OFFSET } from '../../src/records/format.js';
import { useTempDir } from '../helpers/temp.js';
import { Student, studentAt } from './fixtures/student.mts';
import { thrown } from '../helpers/thrown.js';

const tmp = useTempDir('memmap-records-');
let counter = 0;
const fresh = (name = 'f') => tmp(`${name}-${counter++}.db`);

/** A record file with `n` students, closed, and its path. */
function fileWith(n: number, options: Parameters<typeof RecordFile.open>[2] = {}): string {
  const path = fresh();
  const db = RecordFile.open(path, Student, { mode: 'w+', ...options });
  for (let i = 0; i < n; i++) db.push(studentAt(i));
  db.close();
  return path;
}

describe('RecordFile basics', () => {
  it('creates a file, pushes, reads back, and reopens with the same records', () => {
    const path = fresh();
    {
      using db = RecordFile.open(path, Student);
      expect(db.length).toBe(0);
      expect(db.push(studentAt(0), studentAt(1))).toBe(2);
      expect(db.get(1)).toEqual(studentAt(1));
      expect(db.recordSize).toBe(8);
      expect(db.dataOffset % 64).toBe(0);
    }
    using again = RecordFile.open(path, Student);
    expect(again.length).toBe(2);
    expect([...again]).toEqual([studentAt(0), studentAt(1)]);
  });

  it('set, at (live view), pop, truncate, slice, find, findIndex', () => {
    using db = RecordFile.open(fresh(), Student);
    for (let i = 0; i < 10; i++) db.push(studentAt(i));
    db.set(2, { name: 'zz', age: 5 });
    expect(db.get(2)).toEqual({ name: 'zz', age: 5 });
    const view = db.at(3);
    view.age = 1234;
    expect(db.get(3).age).toBe(1234);
    expect(db.pop()).toEqual(studentAt(9));
    expect(db.length).toBe(9);
    db.truncate(5);
    expect(db.length).toBe(5);
    expect(db.slice(-2)).toEqual([studentAt(3), studentAt(4)].map((s, k) => (k === 0 ? { ...s, age: 1234 } : s)));
    expect(db.slice(1, 2)).toEqual([studentAt(1)]);
    expect(db.findIndex((s) => s.name === 'zz')).toBe(2);
    expect(db.find((s) => s.age === 1234)).toEqual({ name: studentAt(3).name, age: 1234 });
    expect(db.find(() => false)).toBeUndefined();
    db.truncate(0);
    expect(db.pop()).toBeUndefined();
  });

  it('grows by doubling, and views taken before a growth are detached, never dangling', () => {
    const path = fresh();
    using db = RecordFile.open(path, Student, { initialCapacity: 4 });
    for (let i = 0; i < 4; i++) db.push(studentAt(i));
    expect(db.capacity).toBe(4);
    const before = db.at(0);
    db.push(studentAt(4));
    expect(db.capacity).toBe(8);
    expect(thrown(() => before.age).code).toBe('ERR_DETACHED_BUFFER');
    expect(thrown(() => (before.age = 1)).code).toBe('ERR_DETACHED_BUFFER');
    expect(db.at(0).age).toBe(studentAt(0).age);
    for (let i = 5; i < 1000; i++) db.push(studentAt(i));
    expect(db.capacity).toBe(1024);
    expect(statSync(path).size).toBe(db.dataOffset + 1024 * 8);
    for (let i = 0; i < 1000; i++) expect(db.get(i)).toEqual(studentAt(i));
  });

  it('push of many values at once grows as needed', () => {
    using db = RecordFile.open(fresh(), Student, { initialCapacity: 1 });
    db.push(...Array.from({ length: 100 }, (_, i) => studentAt(i)));
    expect(db.length).toBe(100);
    expect(db.capacity).toBe(128);
    expect(db.get(99)).toEqual(studentAt(99));
  });

  it('a value that does not fit is rejected and not appended', () => {
    using db = RecordFile.open(fresh(), Student);
    db.push(studentAt(0));
    expect(thrown(() => db.push(studentAt(1), { name: 'toolong', age: 1 }, studentAt(3))).code).toBe(
      'ERR_OUT_OF_RANGE',
    );
    expect(db.length).toBe(2);
    expect(thrown(() => db.push({ name: 'ok', age: 'x' } as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(db.length).toBe(2);
  });

  it('works with wider records: 8-byte aligned fields, header padded to their alignment', () => {
    const Wide = struct({ id: int64, score: float64, flag: uint8, tag: char(3) });
    const path = fresh();
    {
      using db = RecordFile.open(path, Wide);
      db.push({ id: 1n << 40n, score: 1.5, flag: 1, tag: 'ab' });
      expect(db.dataOffset % 8).toBe(0);
    }
    using db = RecordFile.open(path, Wide, { mode: 'r' });
    expect(db.get(0)).toEqual({ id: 1n << 40n, score: 1.5, flag: 1, tag: 'ab' });
  });

  it("mode 'w+' starts the file again; mode 'r+' opens an existing one", () => {
    const path = fileWith(5);
    {
      using db = RecordFile.open(path, Student, { mode: 'r+' });
      expect(db.length).toBe(5);
    }
    {
      using db = RecordFile.open(path, Student, { mode: 'w+' });
      expect(db.length).toBe(0);
    }
    // A different struct with 'w+' replaces the file.
    using other = RecordFile.open(path, struct({ x: float64 }), { mode: 'w+' });
    other.push({ x: 2 });
    expect(other.get(0).x).toBe(2);
  });

  it("mode 'r' reads and refuses every write with ERR_RECORD_FILE_READ_ONLY; flush does nothing", () => {
    const path = fileWith(3);
    const before = readFileSync(path);
    using db = RecordFile.open(path, Student, { mode: 'r' });
    expect(db.get(2)).toEqual(studentAt(2));
    expect(thrown(() => db.push(studentAt(3))).code).toBe('ERR_RECORD_FILE_READ_ONLY');
    expect(thrown(() => db.set(0, studentAt(3))).code).toBe('ERR_RECORD_FILE_READ_ONLY');
    expect(thrown(() => db.pop()).code).toBe('ERR_RECORD_FILE_READ_ONLY');
    expect(thrown(() => db.truncate(0)).code).toBe('ERR_RECORD_FILE_READ_ONLY');
    expect(thrown(() => db.withLock(() => 1)).code).toBe('ERR_RECORD_FILE_READ_ONLY');
    // A live view of a read-only file writes a private copy, never the file.
    db.at(0).age = -1;
    db.flush();
    db.close();
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('after close every method throws ERR_RECORD_FILE_CLOSED and views are detached', () => {
    const db = RecordFile.open(fresh(), Student);
    db.push(studentAt(0));
    const view = db.at(0);
    db.close();
    db.close();
    expect(db.closed).toBe(true);
    expect(thrown(() => db.get(0)).code).toBe('ERR_RECORD_FILE_CLOSED');
    expect(thrown(() => db.push(studentAt(1))).code).toBe('ERR_RECORD_FILE_CLOSED');
    expect(thrown(() => db.flush()).code).toBe('ERR_RECORD_FILE_CLOSED');
    expect(thrown(() => db.refresh()).code).toBe('ERR_RECORD_FILE_CLOSED');
    expect(thrown(() => db.committedLength).code).toBe('ERR_RECORD_FILE_CLOSED');
    expect(thrown(() => view.age).code).toBe('ERR_DETACHED_BUFFER');
  });
});

describe('RecordFile arguments', () => {
  it.each([
    ['path', () => RecordFile.open(42 as never, Student), 'ERR_INVALID_ARG_TYPE'],
    ['layout', () => RecordFile.open(fresh(), { size: 4 } as never), 'ERR_INVALID_ARG_TYPE'],
    ['options', () => RecordFile.open(fresh(), Student, 'a+' as never), 'ERR_INVALID_ARG_TYPE'],
    ['mode', () => RecordFile.open(fresh(), Student, { mode: 'x' as never }), 'ERR_INVALID_ARG_VALUE'],
    ['initialCapacity 0', () => RecordFile.open(fresh(), Student, { initialCapacity: 0 }), 'ERR_OUT_OF_RANGE'],
    [
      'initialCapacity type',
      () => RecordFile.open(fresh(), Student, { initialCapacity: '1' as never }),
      'ERR_INVALID_ARG_TYPE',
    ],
    ['flush string', () => RecordFile.open(fresh(), Student, { flush: 'sometimes' as never }), 'ERR_INVALID_ARG_VALUE'],
    [
      'flush both',
      () => RecordFile.open(fresh(), Student, { flush: { everyWrites: 1, intervalMs: 1 } as never }),
      'ERR_INVALID_ARG_VALUE',
    ],
    ['everyWrites 0', () => RecordFile.open(fresh(), Student, { flush: { everyWrites: 0 } }), 'ERR_OUT_OF_RANGE'],
    ['intervalMs 1.5', () => RecordFile.open(fresh(), Student, { flush: { intervalMs: 1.5 } }), 'ERR_OUT_OF_RANGE'],
    ['shared', () => RecordFile.open(fresh(), Student, { shared: 1 as never }), 'ERR_INVALID_ARG_TYPE'],
    ['lockTimeoutMs', () => RecordFile.open(fresh(), Student, { lockTimeoutMs: -1 }), 'ERR_OUT_OF_RANGE'],
  ])('rejects a bad %s before touching the file', (_name, call, code) => {
    expect(thrown(call).code).toBe(code);
  });

  it('index and length arguments', () => {
    using db = RecordFile.open(fresh(), Student);
    db.push(studentAt(0));
    expect(thrown(() => db.get(1)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => db.get(-1)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => db.get(0.5)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => db.get('0' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => db.set(1, studentAt(1))).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => db.at(5)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => db.truncate(2)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => db.slice('a' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => db.findIndex(1 as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => db.withLock(1 as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('initialCapacity past the largest mapping is ERR_OUT_OF_RANGE, and creates nothing', () => {
    const path = fresh('huge');
    // One record more than the largest mapping of this runtime holds (4 GiB on Node 20, 2^53 - 1 bytes on Node 22+).
    const initialCapacity = Math.floor(MAX_MAPPING_LENGTH / Student.size) + 1;
    expect(thrown(() => RecordFile.open(path, Student, { initialCapacity })).code).toBe('ERR_OUT_OF_RANGE');
    expect(() => statSync(path)).toThrow();
  });

  // Only where the largest mapping is 4 GiB (Node 20): on Node 22+ it is 2^53 - 1 bytes, past what any filesystem
  // lets a file grow to, so a record file meets the filesystem's limit (EFBIG) long before this one.
  const fullReachable = MAX_MAPPING_LENGTH === 2 ** 32;
  if (!fullReachable) {
    console.log(
      `memmap: ERR_RECORD_FILE_FULL is not reachable on Node ${process.version}: the largest mapping is ` +
        `${MAX_MAPPING_LENGTH} bytes, more than a file can hold`,
    );
  }
  it.runIf(fullReachable)('growing past the largest mapping is ERR_RECORD_FILE_FULL, and changes nothing', () => {
    // Records of 256 MiB: a sparse file of 15 is full, and a 16th cannot fit in a 4 GiB mapping with the header.
    const Huge = struct({ payload: bytes(2 ** 28) });
    const path = fresh('full');
    RecordFile.open(path, Huge, { initialCapacity: 15, sparse: true }).close();
    // Count the three (zero) records as committed, as a writer following docs/format.md would.
    const fd = openSync(path, 'r+');
    const count = Buffer.alloc(8);
    count.writeBigUInt64LE(15n);
    writeSync(fd, count, 0, 8, OFFSET.count);
    closeSync(fd);
    const sizeBefore = statSync(path).size;
    using db = RecordFile.open(path, Huge, { mode: 'r+', sparse: true });
    expect(db.length).toBe(15);
    const error = thrown(() => db.push({ payload: new Uint8Array(1) }));
    expect(error.code).toBe('ERR_RECORD_FILE_FULL');
    expect(db.length).toBe(15);
    expect(statSync(path).size).toBe(sizeBefore);
  });

  it("'r+' on a missing file is ENOENT in fs's shape, and creates nothing", () => {
    const path = fresh('missing');
    const error = thrown(() => RecordFile.open(path, Student, { mode: 'r+' }));
    expect(error.code).toBe('ENOENT');
    expect(error.syscall).toBe('open');
    expect(error.path).toBe(path);
    expect(() => statSync(path)).toThrow();
  });
});

describe('RecordFile reopen checks: rejected files are never written', () => {
  /** Asserts that opening `path` throws `code` about `field`, in every writing mode and read-only, leaving it unchanged. */
  function rejects(
    path: string,
    layout: typeof Student | ReturnType<typeof struct>,
    code: string,
    field: string,
  ): void {
    const before = readFileSync(path);
    for (const mode of ['a+', 'r+', 'r'] as const) {
      const error = thrown(() => RecordFile.open(path, layout as typeof Student, { mode }));
      expect(error.code, `${mode}: ${error.message}`).toBe(code);
      expect(error.field).toBe(field);
      expect(error.path).toBe(path);
    }
    expect(readFileSync(path).equals(before)).toBe(true);
  }

  /** A copy of a valid file with `edit` applied to its bytes. */
  function edited(edit: (bytes: Buffer) => Buffer | undefined): string {
    const bytes = readFileSync(fileWith(3));
    const path = fresh('edited');
    writeFileSync(path, edit(bytes) ?? bytes);
    return path;
  }

  it('a different struct of the same size: ERR_RECORD_FILE_MISMATCH schemaHash', () => {
    rejects(fileWith(3), struct({ name: char(4), score: int32 }), 'ERR_RECORD_FILE_MISMATCH', 'schemaHash');
  });

  it('a struct of another size: ERR_RECORD_FILE_MISMATCH recordSize', () => {
    rejects(fileWith(3), struct({ name: char(4), age: int32, id: int32 }), 'ERR_RECORD_FILE_MISMATCH', 'recordSize');
  });

  it('another byte order: ERR_RECORD_FILE_MISMATCH (schema hash, which records the byte order)', () => {
    rejects(
      fileWith(3),
      struct({ name: char(4), age: int32 }, { endian: 'big' }),
      'ERR_RECORD_FILE_MISMATCH',
      'schemaHash',
    );
  });

  it('not a record file: ERR_RECORD_FILE_MISMATCH magic', () => {
    const path = fresh('text');
    writeFileSync(path, 'hello, this is not a record file at all, but it is longer than a header is: '.repeat(3));
    rejects(path, Student, 'ERR_RECORD_FILE_MISMATCH', 'magic');
  });

  it('another format version: ERR_RECORD_FILE_MISMATCH version', () => {
    rejects(
      edited((b) => void b.writeUInt32LE(3, OFFSET.version)),
      Student,
      'ERR_RECORD_FILE_MISMATCH',
      'version',
    );
  });

  it('unknown flag bits: ERR_RECORD_FILE_MISMATCH flags', () => {
    rejects(
      edited((b) => void b.writeUInt32LE(0x10, OFFSET.flags)),
      Student,
      'ERR_RECORD_FILE_MISMATCH',
      'flags',
    );
  });

  it('too short for a header: ERR_RECORD_FILE_CORRUPT size', () => {
    rejects(
      edited((b) => b.subarray(0, 40)),
      Student,
      'ERR_RECORD_FILE_CORRUPT',
      'size',
    );
  });

  it('too short for its schema: ERR_RECORD_FILE_CORRUPT size', () => {
    rejects(
      edited((b) => b.subarray(0, FIXED_HEADER_SIZE + 10)),
      Student,
      'ERR_RECORD_FILE_CORRUPT',
      'size',
    );
  });

  it('too short for its count: ERR_RECORD_FILE_CORRUPT count', () => {
    rejects(
      edited((b) => b.subarray(0, b.readUInt32LE(OFFSET.headerSize) + 8)),
      Student,
      'ERR_RECORD_FILE_CORRUPT',
      'count',
    );
  });

  it('shorter than its capacity but long enough for its count: opens, with the capacity it holds', () => {
    // What a power loss can leave after a growth: the header page (new capacity) on disk, the new size not.
    const path = edited((b) => b.subarray(0, b.readUInt32LE(OFFSET.headerSize) + 3 * 8 + 5));
    {
      using reader = RecordFile.open(path, Student, { mode: 'r' });
      expect(reader.capacity).toBe(3);
      expect(reader.slice()).toEqual([studentAt(0), studentAt(1), studentAt(2)]);
    }
    using db = RecordFile.open(path, Student);
    expect(db.capacity).toBe(3);
    db.push(studentAt(3));
    expect(db.capacity).toBe(6);
    expect(db.get(3)).toEqual(studentAt(3));
  });

  it('count above capacity: ERR_RECORD_FILE_CORRUPT count', () => {
    rejects(
      edited((b) => void b.writeBigUInt64LE(5000n, OFFSET.count)),
      Student,
      'ERR_RECORD_FILE_CORRUPT',
      'count',
    );
  });

  it('a damaged schema: ERR_RECORD_FILE_CORRUPT schemaHash', () => {
    rejects(
      edited((b) => void (b[OFFSET.schema + 3] = b[OFFSET.schema + 3]! ^ 1)),
      Student,
      'ERR_RECORD_FILE_CORRUPT',
      'schemaHash',
    );
  });

  it('a schema length past the header: ERR_RECORD_FILE_CORRUPT schemaLength', () => {
    rejects(
      edited((b) => void b.writeUInt32LE(100000, OFFSET.schemaLength)),
      Student,
      'ERR_RECORD_FILE_CORRUPT',
      'schemaLength',
    );
  });

  it('a record size of 0 or a bad alignment: ERR_RECORD_FILE_CORRUPT', () => {
    rejects(
      edited((b) => void b.writeUInt32LE(0, OFFSET.recordSize)),
      Student,
      'ERR_RECORD_FILE_CORRUPT',
      'recordSize',
    );
    rejects(
      edited((b) => void b.writeUInt32LE(3, OFFSET.recordAlign)),
      Student,
      'ERR_RECORD_FILE_CORRUPT',
      'recordAlign',
    );
  });

  it("an empty file: 'r' and 'r+' report it corrupt, 'a+' starts it", () => {
    const path = fresh('empty');
    writeFileSync(path, '');
    for (const mode of ['r', 'r+'] as const)
      expect(thrown(() => RecordFile.open(path, Student, { mode })).code).toBe('ERR_RECORD_FILE_CORRUPT');
    expect(statSync(path).size).toBe(0);
    using db = RecordFile.open(path, Student);
    expect(db.length).toBe(0);
  });

  it("'a+' refuses a file whose first bytes are zeros (a disk image, a preallocated file), and leaves it untouched", () => {
    const path = fresh('zeros');
    writeFileSync(path, Buffer.alloc(4096));
    for (const mode of ['a+', 'r+', 'r'] as const) {
      const error = thrown(() => RecordFile.open(path, Student, { mode }));
      expect(error).toMatchObject({ code: 'ERR_RECORD_FILE_MISMATCH', field: 'magic', path });
      expect(error.message.includes('w+')).toBe(mode !== 'r'); // a reader is never advised to erase
    }
    expect(readFileSync(path).equals(Buffer.alloc(4096))).toBe(true);
  });

  it("the header records the struct: its schema hash is the struct's own hash", () => {
    const path = fileWith(1);
    const bytes = readFileSync(path);
    expect(bytes.toString('hex', OFFSET.schemaHash, OFFSET.schemaHash + 32)).toBe(Student.hash);
    const schema = bytes.toString('utf8', OFFSET.schema, OFFSET.schema + bytes.readUInt32LE(OFFSET.schemaLength));
    expect(JSON.parse(schema)).toEqual(Student.toJSON());
  });
});

describe('RecordFile shared writers (in one process)', () => {
  it('writes outside withLock() are refused with ERR_RECORD_FILE_NOT_LOCKED; inside, they are committed', () => {
    const path = fresh();
    using db = RecordFile.open(path, Student, { shared: true });
    expect(thrown(() => db.push(studentAt(0))).code).toBe('ERR_RECORD_FILE_NOT_LOCKED');
    expect(db.length).toBe(0);
    const length = db.withLock((file) => {
      file.push(studentAt(0), studentAt(1));
      // Nested calls run under the same lock.
      file.withLock((inner) => inner.set(1, studentAt(1)));
      return file.length;
    });
    expect(length).toBe(2);
    expect(db.committedLength).toBe(2);
    for (const write of [
      () => db.set(0, studentAt(0)),
      () => db.pop(),
      () => db.truncate(0),
      () => db.push(studentAt(2), studentAt(3)),
    ])
      expect(thrown(write).code).toBe('ERR_RECORD_FILE_NOT_LOCKED');
    expect(db.get(1)).toEqual(studentAt(1));
  });

  it('an exclusive writer may use withLock() too: it runs the callback and flushes', () => {
    using db = RecordFile.open(fresh(), Student, { flush: 'manual' });
    db.withLock((file) => file.push(studentAt(0)));
    expect(db.committedLength).toBe(1);
  });
});

describe('RecordFile flushing', () => {
  /** The committed count as another process would read it: from the file, through read(2). */
  const committedOnDisk = (path: string) => Number(readFileSync(path).readBigUInt64LE(OFFSET.count));

  it('the committed count moves only on flush: records first, count after', () => {
    const path = fresh();
    using db = RecordFile.open(path, Student, { flush: 'manual' });
    db.push(studentAt(0), studentAt(1));
    expect(db.length).toBe(2);
    expect(db.committedLength).toBe(0);
    expect(committedOnDisk(path)).toBe(0);
    db.flush();
    expect(db.committedLength).toBe(2);
    expect(committedOnDisk(path)).toBe(2);
    db.flush(); // nothing to do
    expect(committedOnDisk(path)).toBe(2);
  });

  it("'manual' and 'close' commit at close", () => {
    for (const flush of ['manual', 'close'] as const) {
      const path = fresh();
      const db = RecordFile.open(path, Student, { flush });
      db.push(studentAt(0));
      expect(committedOnDisk(path)).toBe(0);
      db.close();
      expect(committedOnDisk(path)).toBe(1);
    }
  });

  it('[Symbol.dispose] commits like close()', () => {
    const path = fresh();
    {
      using db = RecordFile.open(path, Student);
      db.push(studentAt(0), studentAt(1), studentAt(2));
    }
    expect(committedOnDisk(path)).toBe(3);
  });

  it('{ everyWrites: N } commits after every N writes (pushes and sets)', () => {
    const path = fresh();
    using db = RecordFile.open(path, Student, { flush: { everyWrites: 3 } });
    db.push(studentAt(0), studentAt(1));
    expect(db.committedLength).toBe(0);
    db.set(0, studentAt(0));
    expect(db.committedLength).toBe(2);
    db.push(studentAt(2), studentAt(3), studentAt(4));
    expect(db.committedLength).toBe(5);
  });

  it('{ intervalMs: T } commits from a timer that does not keep the process alive', async () => {
    const path = fresh();
    const db = RecordFile.open(path, Student, { flush: { intervalMs: 5 } });
    db.push(studentAt(0), studentAt(1));
    await expect.poll(() => committedOnDisk(path), { timeout: 20_000, interval: 10 }).toBe(2);
    db.push(studentAt(2));
    await expect.poll(() => committedOnDisk(path), { timeout: 20_000, interval: 10 }).toBe(3);
    db.close();
  });

  it('an intervalMs timer does not hold a process open', async () => {
    const { runScript } = await import('../helpers/child.js');
    const path = fresh();
    const result = await runScript(
      tmp,
      'interval-exit',
      `import { RecordFile, struct, int32 } from __SRC__;
       const db = RecordFile.open(${JSON.stringify(path)}, struct({ a: int32 }), { flush: { intervalMs: 100000 } });
       db.push({ a: 1 });
       console.log('pushed');`,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('pushed');
  });

  it("a closed RecordFile keeps neither its mapping's address range nor its scratch record alive", async () => {
    // RecordFile keeps the file it closed last referenced (lastClosed, for V8's shapes). The address range of a
    // closed mapping stays reserved while a view of it lives, and the scratch record is as large as a record: both
    // were kept until another RecordFile was closed.
    const { report, runScript } = await import('../helpers/child.js');
    const result = await runScript(
      tmp,
      'closed-holds-nothing',
      `import { readFileSync } from 'node:fs';
       import { setImmediate as tick } from 'node:timers/promises';
       import { RecordFile, struct, bytes, int32 } from __SRC__;
       const collect = async () => { for (let i = 0; i < 5; i++) { globalThis.gc(); await tick(); } };
       const buffers = () => process.memoryUsage().arrayBuffers;
       const maps = () => readFileSync('/proc/self/maps', 'utf8').trim().split('\\n');
       const range = (line) => line.split(' ')[0].split('-').map((hex) => BigInt('0x' + hex));
       const mapped = (at) => maps().some((line) => { const [from, to] = range(line); return from <= at && at < to; });
       // A nested record: push() encodes it in the file's scratch record (1 MiB).
       const Nested = struct({ inner: struct({ b: bytes(1 << 20) }), n: int32 });
       const value = { inner: { b: new Uint8Array(1 << 20).fill(1) }, n: 1 };
       const use = (name) => {
         const db = RecordFile.open(${JSON.stringify(tmp('held-'))} + name, Nested, { mode: 'w+', initialCapacity: 1 });
         db.push(value);
         const line = maps().find((l) => l.includes(name));
         db.close();
         return range(line)[0];
       };
       use('warm.db'); // what the type itself allocates once
       RecordFile.open(${JSON.stringify(tmp('held-other.db'))}, struct({ a: int32 }), { mode: 'w+' }).close();
       await collect();
       const before = buffers();
       const address = use('measured.db');
       await collect();
       console.log(JSON.stringify({ reserved: mapped(address), kept: buffers() - before }));`,
      [],
      { nodeArgs: ['--expose-gc'] },
    );
    expect(result.code, result.stderr).toBe(0);
    const seen = report<{ reserved: boolean; kept: number }>(result.stdout);
    expect(seen.reserved).toBe(false);
    expect(seen.kept).toBeLessThan(1 << 19);
  });

  it('flushAsync commits off the event loop; concurrent calls run in order', async () => {
    const path = fresh();
    using db = RecordFile.open(path, Student, { flush: 'manual', initialCapacity: 2 });
    db.push(studentAt(0), studentAt(1));
    const first = db.flushAsync();
    db.push(studentAt(2), studentAt(3), studentAt(4)); // grows (remaps) while the first flush runs
    const second = db.flushAsync();
    await Promise.all([first, second]);
    expect(committedOnDisk(path)).toBe(5);
  });

  it('a flushAsync still running when the file is closed resolves: close() flushed', async () => {
    const path = fresh();
    const db = RecordFile.open(path, Student, { flush: 'manual' });
    for (let i = 0; i < 5000; i++) db.push(studentAt(i));
    const pending = db.flushAsync();
    db.close();
    await expect(pending).resolves.toBeUndefined();
    expect(committedOnDisk(path)).toBe(5000);
    await expect(db.flushAsync()).rejects.toMatchObject({ code: 'ERR_RECORD_FILE_CLOSED' });
  });

  it('truncate lowers the committed count at once; a later flush raises it again', () => {
    const path = fresh();
    using db = RecordFile.open(path, Student, { flush: 'manual' });
    db.push(studentAt(0), studentAt(1), studentAt(2));
    db.flush();
    db.truncate(1);
    expect(committedOnDisk(path)).toBe(1);
    db.push(studentAt(1));
    expect(committedOnDisk(path)).toBe(1);
    db.flush();
    expect(committedOnDisk(path)).toBe(2);
  });

  it('in-place sets are flushed too (read back after reopening)', () => {
    const path = fileWith(100);
    {
      using db = RecordFile.open(path, Student, { flush: 'manual' });
      db.set(50, { name: 'mid', age: -5 });
      db.at(99).age = 77;
      db.flush();
    }
    using db = RecordFile.open(path, Student, { mode: 'r' });
    expect(db.get(50)).toEqual({ name: 'mid', age: -5 });
    expect(db.get(99).age).toBe(77);
  });
});
