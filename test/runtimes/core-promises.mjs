// memmap's core promises, checked on whichever runtime runs this file: Node, Bun or Deno.
//   node test/runtimes/core-promises.mjs | bun test/runtimes/core-promises.mjs | deno run -A test/runtimes/core-promises.mjs
// Plain JavaScript over the built package (dist/: run `npx tsup` first). Prints one line per promise checked,
// "ok <promise>"; the first broken promise throws, so the process exits non-zero. Child processes are started
// with the same runtime. Everything it creates is in one temporary directory, removed at the end.
import { spawn, execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzip } from 'node:zlib';
import { MappedFile, Mutex, RecordFile, char, int32, struct } from '../../dist/index.js';

const self = fileURLToPath(import.meta.url);
const runtime =
  typeof globalThis.Deno !== 'undefined' ? 'deno' : typeof globalThis.Bun !== 'undefined' ? 'bun' : 'node';
/** The command line that runs this file again, as a child, on the same runtime. */
const again = (...args) => [process.execPath, runtime === 'deno' ? ['run', '-A', self, ...args] : [self, ...args]];

function check(condition, what) {
  if (!condition) throw new Error(`${runtime}: broken promise: ${what}`);
}

function codeOf(call) {
  try {
    call();
    return undefined;
  } catch (error) {
    return error.code;
  }
}

/** Runs this file as a child in `role`; resolves with its exit code, stdout, and a `kill` for the running child. */
function child(role, ...args) {
  const [command, argv] = again(role, ...args);
  const proc = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  const lines = [];
  const waiters = [];
  proc.stdout.on('data', (chunk) => {
    stdout += chunk;
    for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
    for (const waiter of waiters.splice(0)) {
      if (lines.includes(waiter.line)) waiter.resolve();
      else waiters.push(waiter);
    }
  });
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, stdout })));
  return {
    exited,
    kill: (signal) => proc.kill(signal),
    waitFor: (line) =>
      lines.includes(line) ? Promise.resolve() : new Promise((resolve) => waiters.push({ line, resolve })),
  };
}

const Student = struct({ name: char(8), age: int32 });
const COUNTER_AT = 8;
const ROUNDS = 2000;

const [role, ...rest] = process.argv.slice(2); // [runtime, this file, ...] on all three
if (role === 'record-writer') {
  // Writes records, flushes, says so, and waits to be killed (never closes).
  const db = RecordFile.open(rest[0], Student, { mode: 'w+' });
  for (let i = 0; i < 100; i++) db.push({ name: `s${i}`, age: i });
  db.flush();
  console.log('flushed');
  setInterval(() => {}, 1000);
} else if (role === 'locker') {
  const file = MappedFile.open(rest[0], { mode: 'r+' });
  const mutex = new Mutex(file.buffer, 0);
  for (let i = 0; i < ROUNDS; i++) {
    mutex.lock();
    file.buffer.writeUInt32LE(file.buffer.readUInt32LE(COUNTER_AT) + 1, COUNTER_AT); // not atomic: the lock makes it safe
    mutex.unlock();
  }
  file.close();
} else {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-core-'));
  try {
    await main(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(dir) {
  const ok = (what) => console.log(`ok ${runtime} ${what}`);

  // map
  const path = join(dir, 'data.bin');
  const file = MappedFile.open(path, { mode: 'w+', size: 3 * 4096 });
  check(file.length === 3 * 4096 && file.buffer.length === 3 * 4096, 'map: .buffer covers the file');
  ok('map: a file opened with w+ is mapped, .buffer covers it');

  // write
  file.buffer.write('memmap', 100);
  check(
    readFileSync(path).subarray(100, 106).toString() === 'memmap',
    'write: bytes written through .buffer are in the file',
  );
  ok('write: bytes written through .buffer are read back by fs from the file (no copy)');

  // flush
  file.flush();
  await file.flushAsync();
  ok('flush: flush() and flushAsync() return');

  // close: layout views throw; a Buffer taken before keeps its length over the file's bytes, mapped privately
  const views = [
    file.buffer,
    new Uint8Array(file.buffer.buffer),
    new Int32Array(file.buffer.buffer, 0, 4),
    file.buffer.subarray(100, 120),
  ];
  const lengths = views.map((view) => view.length);
  const record = Student.view(file.buffer, 100);
  check(record.name === 'memmap', 'close: a layout view reads the file before close');
  file.close();
  check(
    views.every((view, i) => view.length === lengths[i] && view.length > 0),
    'close: every Buffer and typed array keeps its length',
  );
  check(views[3].toString('latin1', 0, 6) === 'memmap', "close: a kept view reads the file's bytes");
  views[0].write('stale!', 100);
  views[2][0] = 0x01020304;
  check(views[3].toString('latin1', 0, 6) === 'stale!', 'close: a kept view takes a write (private memory)');
  const onDisk = readFileSync(path);
  check(
    onDisk.subarray(100, 106).toString() === 'memmap' && onDisk.readInt32LE(0) === 0,
    'close: a write through a kept view does not reach the file',
  );
  check(codeOf(() => record.name) === 'ERR_DETACHED_BUFFER', 'close: a layout view throws ERR_DETACHED_BUFFER');
  check(
    codeOf(() => Student.read(views[0], 100)) === 'ERR_DETACHED_BUFFER',
    'close: Struct.read of a kept view throws',
  );
  const maps = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(path));
  check(
    maps.length > 0 && maps.every((line) => line.split(' ')[1].endsWith('p')),
    `close: the file is no longer mapped shared (${maps.map((line) => line.split(' ')[1])})`,
  );
  check(codeOf(() => file.buffer) === 'ERR_MAPPING_CLOSED', 'close: .buffer throws ERR_MAPPING_CLOSED');
  ok('close: views keep their length over private memory, writes reach the file no more, layout views throw');

  // zlib over a view closed while it works: the output is the file's bytes
  const zipped = MappedFile.open(join(dir, 'random.bin'), { mode: 'w+', size: 256 * 1024 });
  randomFillSync(zipped.buffer);
  const original = Buffer.from(zipped.buffer);
  const pending = new Promise((resolve, reject) =>
    gzip(zipped.buffer, (error, out) => (error ? reject(error) : resolve(out))),
  );
  zipped.close();
  check(gunzipSync(await pending).equals(original), 'close: zlib over a view closed while it works gives the bytes');
  ok("close: zlib still working on a view when the file is closed finishes with the file's bytes");

  // resize retires the old mapping too and keeps the bytes
  const growing = MappedFile.open(path, { mode: 'r+' });
  const before = growing.buffer;
  growing.resize(5 * 4096);
  check(
    before.length === 3 * 4096 && before.subarray(100, 106).toString() === 'memmap',
    'resize: an old view keeps its length and bytes',
  );
  before.write('MEMMAP', 100);
  check(
    growing.buffer.subarray(100, 106).toString() === 'memmap' &&
      readFileSync(path).subarray(100, 106).toString() === 'memmap',
    'resize: a write through an old view reaches neither the new mapping nor the file',
  );
  growing.close();
  ok('resize: old views kept apart from the file, the bytes kept, the file grown');

  // truncation by another process becomes the coded error
  const victimPath = join(dir, 'victim.bin');
  const victim = MappedFile.open(victimPath, { mode: 'w+', size: 8 * 4096 });
  victim.buffer.fill(1);
  execFileSync('truncate', ['-s', '4096', victimPath]); // another process shrinks the file
  victim.buffer.fill(2); // touches pages past the new end: SIGBUS, repaired by memmap's handler
  check(victim.truncated === true, 'truncation: .truncated');
  check(codeOf(() => victim.flush()) === 'ERR_MAPPING_TRUNCATED', 'truncation: flush() throws ERR_MAPPING_TRUNCATED');
  victim.close();
  check(statSync(victimPath).size === 4096, 'truncation: the file keeps the size the other process gave it');
  ok('truncation by another process: the access goes on, flush() throws ERR_MAPPING_TRUNCATED');

  // a RecordFile written, killed, reopened
  const dbPath = join(dir, 'students.db');
  const writer = child('record-writer', dbPath);
  await writer.waitFor('flushed');
  writer.kill('SIGKILL');
  const ended = await writer.exited;
  check(ended.signal === 'SIGKILL', `record file: the writer was killed (${ended.code ?? ended.signal})`);
  const db = RecordFile.open(dbPath, Student, { mode: 'r' });
  check(db.length === 100, `record file: 100 records after the kill (got ${db.length})`);
  const last = db.get(99);
  check(last.name === 's99' && last.age === 99, 'record file: the last record intact');
  db.close();
  ok('record file: written and flushed by a process killed with SIGKILL, reopened with every record');

  // the Mutex across processes
  const counterPath = join(dir, 'counter.bin');
  MappedFile.open(counterPath, { mode: 'w+', size: 4096 }).close();
  const lockers = [child('locker', counterPath), child('locker', counterPath), child('locker', counterPath)];
  const results = await Promise.all(lockers.map((locker) => locker.exited));
  check(
    results.every((r) => r.code === 0),
    `mutex: every locker exits 0 (${results.map((r) => r.code ?? r.signal)})`,
  );
  const counter = readFileSync(counterPath).readUInt32LE(COUNTER_AT);
  check(counter === 3 * ROUNDS, `mutex: ${counter} locked increments of ${3 * ROUNDS}`);
  ok(`mutex: 3 processes x ${ROUNDS} increments under one Mutex, none lost`);
}
