/**
 * RecordFile against its peers, on 1e6 `{ name: char(4), age: int32 }` student records (8 bytes each):
 *
 * 1. Push 1e6 records, then one flush (msync MS_SYNC + commit), into a new file that starts at 1024 records and
 *    grows by doubling; vs fs.writeSync of each record (the same 8 bytes), vs lmdb-js putSync of each record in one
 *    transactionSync, vs better-sqlite3 inserts in one transaction. Goals: >= 20x writeSync, >= 5x lmdb and sqlite.
 * 2. Random get of 1e6 records (the same shuffled indexes for everyone): RecordFile.get vs the layout module's own
 *    read (StructArray.get over the same mapping: the ceiling get() adds its checks to), vs lmdb get, vs
 *    better-sqlite3 get by id, each timed run after an untimed run of the same reads. Goals: >= 20x lmdb, >= 5x
 *    better-sqlite3.
 * 3. flush() after touching k random records of a 1 GiB record file (134M records), for k = 1 .. 10^4, against
 *    writing back the whole file: the cost must grow with k, not with the file's size.
 * The rows of tables 1 and 2 that are compared with each other are timed in turns (harness.ts measureTogether), so
 * drift on a shared machine lands on every row alike; better-sqlite3's random get (~10 s a run) is timed alone.
 * Every file lives in one directory under os.tmpdir(), removed at the end even on failure.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { open as openLmdb } from 'lmdb';
import { measure, measureTogether, optionalPeer, type BenchTable, type Case, type Measurement } from './harness.ts';
import { char, int32, MappedFile, RecordFile, struct } from '../src/index.ts';
import { OFFSET } from '../src/records/format.ts';

/**
 * better-sqlite3 is a native addon built for one Node ABI (bench/node_modules is installed by one Node): where it does
 * not load (tried on an in-memory database), its rows are left out and the rest of the tables still run.
 */
const Database = ((): typeof BetterSqlite3 | undefined => {
  const peer = optionalPeer('better-sqlite3') as typeof BetterSqlite3 | undefined;
  try {
    // The package loads its addon at the first `new Database`, not when required.
    new (peer as typeof BetterSqlite3)(':memory:').close();
    return peer;
  } catch (error) {
    if (peer !== undefined)
      console.log(
        `\n(better-sqlite3 does not load on Node ${process.version}: ${String(error).split('\n')[0]}; its rows are left out)`,
      );
    return undefined;
  }
})();

const Student = struct({ name: char(4), age: int32 });
const N = 1_000_000;
const GiB = 1 << 30;
/** The rows of a table compared with each other, measured in turns (measureTogether): one warm-up, five rounds. */
const TOGETHER = { runs: 5, warmup: 1 };
/** better-sqlite3's random get takes ~10 s a run: one timed run after the warm-up. */
const SLOWEST = { runs: 1, warmup: 1 };

const names = Array.from({ length: 1000 }, (_, i) => i.toString(36).padStart(4, 'x'));
const studentAt = (i: number) => ({ name: names[i % 1000]!, age: i });

/** 1e6 indexes in a shuffled order (a fixed seed: every run and every peer reads the same sequence). */
function shuffled(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

function ratioNote(rows: Measurement[], subject: string): string {
  const ours = rows.find((r) => r.name === subject)!;
  return rows
    .filter((r) => r !== ours)
    .map((r) => `${subject} is ${(r.ms / ours.ms).toFixed(1)}× ${r.name}`)
    .join('; ');
}

async function pushTable(dir: string): Promise<BenchTable> {
  let run = 0;
  const record = Buffer.alloc(8);
  const sqliteRows: Case[] = [];
  if (Database !== undefined)
    sqliteRows.push({
      name: 'better-sqlite3 insert ×1e6 in one transaction',
      fn: () => {
        const db = new Database(join(dir, `sqlite-${run++}.db`));
        db.exec('CREATE TABLE students (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER NOT NULL)');
        const insert = db.prepare('INSERT INTO students (id, name, age) VALUES (?, ?, ?)');
        db.transaction(() => {
          for (let i = 0; i < N; i++) {
            const s = studentAt(i);
            insert.run(i, s.name, s.age);
          }
        })();
        db.close();
      },
    });
  // Every row in turns (measureTogether): what drifts during the table (load on the shared machine, V8's young
  // generation) lands on every row alike, so the ratios between rows hold. Five rounds for every row: the peers'
  // rows cost seconds a round, and RecordFile's ratio to the hand-written mapping (0.8x goal) needs its five.
  const rows = await measureTogether(
    [
      {
        name: 'RecordFile push ×1e6 + flush',
        fn: () => {
          const db = RecordFile.open(join(dir, `push-${run++}.db`), Student, { mode: 'w+', flush: 'manual' });
          for (let i = 0; i < N; i++) db.push(studentAt(i));
          db.flush();
          db.close();
        },
      },
      // The bar: the same bytes written by hand into a mapping made big enough up front (no growth, no
      // header, no checks: the fastest hand-written code), then one msync. Goal: RecordFile >= 0.8x of it.
      {
        name: 'hand-written DataView into a mapping + msync',
        fn: () => {
          const file = MappedFile.open(join(dir, `mapped-${run++}.bin`), { mode: 'w+', size: N * 8 });
          const dv = new DataView(file.buffer.buffer, file.buffer.byteOffset, file.buffer.byteLength);
          for (let i = 0; i < N; i++) {
            const s = studentAt(i);
            for (let k = 0; k < 4; k++) dv.setUint8(i * 8 + k, k < s.name.length ? s.name.charCodeAt(k) : 0);
            dv.setInt32(i * 8 + 4, s.age, true);
          }
          file.flush();
          file.close();
        },
      },
      {
        name: 'fs.writeSync per record',
        fn: () => {
          const fd = openSync(join(dir, `write-${run++}.bin`), 'w');
          for (let i = 0; i < N; i++) {
            Student.write(record, 0, studentAt(i));
            writeSync(fd, record, 0, 8);
          }
          closeSync(fd);
        },
      },
      {
        name: 'lmdb putSync ×1e6 in one transaction',
        fn: async () => {
          const db = openLmdb<{ name: string; age: number }, number>({
            path: join(dir, `lmdb-${run++}`),
            keyEncoding: 'uint32',
          });
          db.transactionSync(() => {
            for (let i = 0; i < N; i++) db.putSync(i, studentAt(i));
          });
          await db.close();
        },
      },
      ...sqliteRows,
    ],
    TOGETHER,
  );
  return {
    title: 'Push 1e6 student records, then make them durable',
    baseline: 'fs.writeSync per record',
    rows,
    note:
      `${ratioNote(rows, 'RecordFile push ×1e6 + flush')}. Goals: >= 0.8× the hand-written mapping, ` +
      `>= 20× writeSync, >= 5× lmdb and better-sqlite3.`,
  };
}

async function getTable(dir: string): Promise<BenchTable> {
  const order = shuffled(N);
  const path = join(dir, 'get.db');
  {
    using db = RecordFile.open(path, Student, { mode: 'w+', initialCapacity: N });
    for (let i = 0; i < N; i++) db.push(studentAt(i));
  }
  const lmdb = openLmdb<{ name: string; age: number }, number>({ path: join(dir, 'lmdb-get'), keyEncoding: 'uint32' });
  lmdb.transactionSync(() => {
    for (let i = 0; i < N; i++) lmdb.putSync(i, studentAt(i));
  });
  const sqlite = Database === undefined ? undefined : new Database(join(dir, 'sqlite-get.db'));
  if (sqlite !== undefined) {
    sqlite.exec('CREATE TABLE students (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER NOT NULL)');
    const insert = sqlite.prepare('INSERT INTO students (id, name, age) VALUES (?, ?, ?)');
    sqlite.transaction(() => {
      for (let i = 0; i < N; i++) insert.run(i, studentAt(i).name, studentAt(i).age);
    })();
  }
  const select = sqlite?.prepare<[number], { name: string; age: number }>(
    'SELECT name, age FROM students WHERE id = ?',
  );

  const db = RecordFile.open(path, Student, { mode: 'r' });
  // The layout module's own read over the same file, mapped: the ceiling that get() adds its checks to.
  const mapping = MappedFile.open(path, { mode: 'r' });
  let sink = 0;
  const check = (total: number) => {
    // Every row reads the same records: the same sum of ages, or a reader is wrong.
    if (sink === 0) sink = total;
    else if (sink !== total) throw new Error(`a reader summed ${total}, expected ${sink}`);
  };
  const rows: Measurement[] = [];
  try {
    const students = Student.array(mapping.buffer, { offset: db.dataOffset, length: N });
    // One loop per reader, written out: a shared loop taking a callback would make its call site megamorphic.
    const readers: [string, () => number][] = [
      [
        'RecordFile get ×1e6',
        () => {
          let total = 0;
          for (let k = 0; k < N; k++) total += db.get(order[k]!).age;
          return total;
        },
      ],
      [
        'layout StructArray.get ×1e6 (same mapping)',
        () => {
          let total = 0;
          for (let k = 0; k < N; k++) total += students.get(order[k]!).age;
          return total;
        },
      ],
      [
        'lmdb get ×1e6',
        () => {
          let total = 0;
          for (let k = 0; k < N; k++) total += lmdb.get(order[k]!)!.age;
          return total;
        },
      ],
    ];
    // RecordFile, its ceiling and lmdb in turns (measureTogether): their ratios are the table's point. Each timed run
    // follows an untimed run of the same reads, so every row starts with its own data in the caches: in turns
    // without it, the row timed after lmdb's found the 8 MB it reads evicted and the next one found them cached (the
    // RecordFile row read 0.3x of StructArray.get first, 0.6x second). CPU time: the reads are in this process.
    rows.push(
      ...(await measureTogether(
        readers.map(([name, read]) => ({ name, fn: () => check(read()), options: { setup: read, cpu: true } })),
        TOGETHER,
      )),
    );
    // Alone: ~10 s a run, one timed run after the warm-up (in turns it would hold the table for a minute).
    if (select !== undefined)
      rows.push(
        await measure(
          'better-sqlite3 get by id ×1e6',
          () => {
            let total = 0;
            for (let k = 0; k < N; k++) total += select.get(order[k]!)!.age;
            check(total);
          },
          SLOWEST,
        ),
      );
  } finally {
    mapping.close();
    db.close();
    await lmdb.close();
    sqlite?.close();
  }
  return {
    title: 'Random get of 1e6 student records',
    baseline: 'lmdb get ×1e6',
    rows,
    note: `${ratioNote(rows, 'RecordFile get ×1e6')}. Goals: >= 20× lmdb, >= 5× better-sqlite3.`,
  };
}

async function flushTable(dir: string): Promise<BenchTable> {
  const path = join(dir, 'big.db');
  const capacity = Math.floor((GiB - 4096) / Student.size);
  {
    // A 1 GiB record file, full: made at its capacity, then its count set in the header (docs/format.md) as any
    // program could do, instead of pushing 134M records.
    RecordFile.open(path, Student, { mode: 'w+', initialCapacity: capacity }).close();
    const fd = openSync(path, 'r+');
    const count = Buffer.alloc(8);
    count.writeBigUInt64LE(BigInt(capacity));
    writeSync(fd, count, 0, 8, OFFSET.count);
    closeSync(fd);
  }
  const db = RecordFile.open(path, Student, { mode: 'r+', flush: 'manual' });
  let seed = 99;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed);
  const rows: Measurement[] = [];
  try {
    // Write the whole file once (untimed): every page is then allocated and clean, as in a file in use.
    for (let i = 0; i < capacity; i += 512) db.set(i, studentAt(i));
    db.flush();
    rows.push(
      await measure('touch every page (1 GiB) + flush', () => db.flush(), {
        runs: 1,
        warmup: 0,
        setup: () => {
          for (let i = 0; i < capacity; i += 512) db.set(i, studentAt(i + 1));
        },
      }),
    );
    for (const k of [1, 10, 100, 1000, 10_000]) {
      rows.push(
        await measure(`touch ${k} random records + flush`, () => db.flush(), {
          runs: 5,
          setup: () => {
            for (let j = 0; j < k; j++) db.set(random() % capacity, studentAt(j));
          },
        }),
      );
    }
    let next = 0;
    rows.push(
      await measure('touch 1000 records in a row (2 pages) + flush', () => db.flush(), {
        runs: 5,
        setup: () => {
          const from = (next += 1_000_000);
          for (let j = 0; j < 1000; j++) db.set(from + j, studentAt(j));
        },
      }),
    );
    rows.push(await measure('flush with nothing touched', () => db.flush(), { runs: 5 }));
    // Random writes cost more the farther apart they land on the device: the same k within 64 MiB of the 1 GiB file.
    for (const k of [100, 1000]) {
      rows.push(
        await measure(`1 GiB file: touch ${k} random records in its first 64 MiB + flush`, () => db.flush(), {
          runs: 5,
          setup: () => {
            for (let j = 0; j < k; j++) db.set(random() % (capacity / 16), studentAt(j));
          },
        }),
      );
    }
  } finally {
    db.close();
    rmSync(path);
  }
  // The same k in a whole file 16 times smaller: if the cost followed the file's size, these rows would be cheaper
  // than the rows above that touch the first 64 MiB of the 1 GiB file.
  const small = join(dir, 'small.db');
  const smallCapacity = Math.floor((GiB / 16 - 4096) / Student.size);
  const sdb = RecordFile.open(small, Student, { mode: 'w+', initialCapacity: smallCapacity, flush: 'manual' });
  try {
    for (let i = 0; i < smallCapacity; i++) sdb.push(studentAt(i));
    sdb.flush();
    for (const k of [100, 1000]) {
      rows.push(
        await measure(`64 MiB file: touch ${k} random records + flush`, () => sdb.flush(), {
          runs: 5,
          setup: () => {
            for (let j = 0; j < k; j++) sdb.set(random() % smallCapacity, studentAt(j));
          },
        }),
      );
    }
  } finally {
    sdb.close();
  }
  return {
    title: `flush() after touching k records of a 1 GiB record file (${capacity} records)`,
    baseline: 'touch every page (1 GiB) + flush',
    rows,
    note:
      'Cost grows with k (the pages dirtied) and with how far apart they lie on the device, not with the size of the ' +
      'file: k records within 64 MiB cost the same in the 1 GiB file as in a 64 MiB file, and nothing touched costs ' +
      'nothing. The dirty record range is one msync, and the kernel writes back only the dirty pages in it; k random ' +
      'records spread over 1 GiB are k random 4 KiB writes, so at k = 10^4 they cost what writing the whole 1 GiB ' +
      'sequentially does.',
  };
}

export default async function (): Promise<BenchTable[]> {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-bench-records-'));
  try {
    return [await pushTable(dir), await getTable(dir), await flushTable(dir)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
