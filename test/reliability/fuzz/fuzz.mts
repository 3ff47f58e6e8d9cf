// A seeded, reproducible fuzzer of the safe API across two processes. This process drives random sequences of
// open / resize (grow and shrink) / refresh / close / view creation / reads and writes through current and detached
// views / flush / flushAsync / advise / residency on a MappedFile, and sends a second process (peer.mts, with its own
// MappedFile of the same file) writes, resizes, flushes and truncate-then-regrow of the file. A model of the file
// and of what this process's mapping must read, in plain JavaScript, predicts every byte and every error:
// - no crash, no hang (the test's timeout), every failure a coded error, and exactly the predicted one;
// - after another process shrinks the file, accesses past its end go on (SIGBUS repaired: those pages read zeros,
//   then what this process wrote into them), `truncated` is true, flush/flushAsync/resize throw
//   ERR_MAPPING_TRUNCATED, and refresh() maps the file as it is;
// - at the end the file's contents equal the model.
// Prints a JSON report last; on a mismatch it throws with the seed and the operation's number.
//   fuzz.mts SEED OPS DIR
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { MappedFile, PAGE_SIZE } from '../../../src/index.ts';
import { native } from '../../../src/native.ts';

const seed = Number(process.argv[2]);
const totalOps = Number(process.argv[3]);
const dir = process.argv[4]!;
const path = join(dir, `fuzz-${seed}.bin`);
const MAX_SIZE = 24 * PAGE_SIZE;

// ---- seeded randomness (mulberry32) -------------------------------------------------------------------------
let state = seed >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1)); // inclusive
const chance = (p: number) => random() < p;
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}
function bytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}
/** A size that lands on, just before or just after page boundaries as often as anywhere else. */
function size(min = 1): number {
  const n = chance(0.5) ? int(1, MAX_SIZE / PAGE_SIZE) * PAGE_SIZE + int(-2, 2) : int(1, MAX_SIZE);
  return Math.max(min, Math.min(MAX_SIZE, n));
}

// ---- the model ------------------------------------------------------------------------------------------------
let op = 0;
let fileModel = new Uint8Array(0); // the file's bytes, as every process must see them

interface ViewRecord {
  kind: 'buffer' | 'u8' | 'dataview';
  view: Buffer | Uint8Array | DataView;
  start: number; // position in the mapping's `.buffer`
  length: number;
  generation: number;
}

interface Main {
  file: MappedFile;
  offset: number; // file offset of buffer position 0
  length: number;
  pageOffset: number;
  delta: number;
  expected: Uint8Array; // what each byte of `.buffer` must read
  lostFromPage: number; // mapping pages from here on were replaced by the SIGBUS handler (this process's only)
  staleSize: number | undefined; // set while the file is shorter than the mapping (another process shrank it)
  generation: number;
  followsFile: boolean; // opened without `length`: refresh() maps to the file's end
}

let main: Main | undefined;
let generation = 0;
const views: ViewRecord[] = [];
const counts: Record<string, number> = {};
const codes: Record<string, number> = {};
const recent: string[] = []; // the last operations, printed with a mismatch
function count(name: string, detail = ''): void {
  counts[name] = (counts[name] ?? 0) + 1;
  const m = main;
  const where = m ? `map ${m.offset}+${m.length} stale=${m.staleSize} lost=${m.lostFromPage}` : 'closed';
  recent.push(`#${op} ${name} ${detail} [file ${fileModel.length}, ${where}]`);
  if (recent.length > 40) recent.shift();
}

class Mismatch extends Error {}
function fail(message: string): never {
  throw new Mismatch(`seed ${seed}, op ${op}: ${message}\nlast operations:\n  ${recent.join('\n  ')}`);
}
function check(condition: boolean, message: string): void {
  if (!condition) fail(message);
}

/** Runs `call`, expecting it to throw the coded error `code` (or nothing when undefined). */
function expectCode<T>(code: string | undefined, what: string, call: () => T): T | undefined {
  let result: T;
  try {
    result = call();
  } catch (error) {
    if (error instanceof Mismatch) throw error;
    const got = (error as { code?: unknown }).code;
    if (typeof got !== 'string') fail(`${what} threw an error without a code: ${String(error)}`);
    check(got === code, `${what} threw ${got}, expected ${code ?? 'no error'}: ${(error as Error).message}`);
    codes[got] = (codes[got] ?? 0) + 1;
    return undefined;
  }
  check(code === undefined, `${what} succeeded, expected ${code}`);
  return result;
}
async function expectCodeAsync(code: string | undefined, what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (error instanceof Mismatch) throw error;
    const got = (error as { code?: unknown }).code;
    if (typeof got !== 'string') fail(`${what} rejected without a code: ${String(error)}`);
    check(got === code, `${what} rejected with ${got}, expected ${code ?? 'no error'}`);
    codes[got] = (codes[got] ?? 0) + 1;
    return;
  }
  check(code === undefined, `${what} resolved, expected ${code}`);
}

function setFileSize(n: number): void {
  const next = new Uint8Array(n);
  next.set(fileModel.subarray(0, Math.min(n, fileModel.length)));
  fileModel = next;
}

const pageOf = (m: Main, position: number) => Math.floor((m.delta + position) / PAGE_SIZE);
/** First mapping page wholly past the file's end `fileSize`. */
const eofPage = (m: Main, fileSize: number) => Math.max(0, Math.ceil((fileSize - m.pageOffset) / PAGE_SIZE));

/** Positions [a, b) of the mapping are about to be accessed: while stale, the SIGBUS handler may replace pages. */
function touch(m: Main, a: number, b: number): void {
  if (m.staleSize === undefined || a >= b) return;
  const first = eofPage(m, m.staleSize);
  if (Math.max(pageOf(m, a), first) < m.lostFromPage && pageOf(m, b - 1) >= first) {
    m.lostFromPage = first;
    counts.repairs = (counts.repairs ?? 0) + 1;
  }
}

/** The file shrank to `n` (this process or another) while `main` maps it: what its bytes must read now. */
function shrinkUnderMain(n: number): void {
  const m = main;
  if (m === undefined || n >= m.offset + m.length) return;
  for (let p = Math.max(0, n - m.offset); p < m.length; p++) if (pageOf(m, p) < m.lostFromPage) m.expected[p] = 0;
  m.staleSize = n;
}

function mapMain(file: MappedFile, followsFile: boolean, expectedLength: number): void {
  check(file.length === expectedLength, `mapped ${file.length} bytes, expected ${expectedLength}`);
  const offset = file.offset;
  const delta = offset % PAGE_SIZE;
  generation++;
  main = {
    file,
    offset,
    length: file.length,
    pageOffset: offset - delta,
    delta,
    expected: fileModel.slice(offset, offset + file.length),
    lostFromPage: Math.ceil((delta + file.length) / PAGE_SIZE),
    staleSize: undefined,
    generation,
    followsFile,
  };
  check(
    main.expected.length === file.length,
    `mapped ${file.length} bytes at ${offset} of a ${fileModel.length}-byte file`,
  );
}

// ---- views ----------------------------------------------------------------------------------------------------
function makeView(m: Main): void {
  const buffer = m.file.buffer;
  const start = int(0, m.length - 1);
  const length = int(1, Math.min(m.length - start, 3 * PAGE_SIZE));
  const kind = pick(['buffer', 'u8', 'dataview'] as const);
  const view =
    kind === 'buffer'
      ? buffer.subarray(start, start + length)
      : kind === 'u8'
        ? new Uint8Array(buffer.buffer, buffer.byteOffset + start, length)
        : new DataView(buffer.buffer, buffer.byteOffset + start, length);
  views.push({ kind, view, start, length, generation: m.generation });
  if (views.length > 12) views.splice(int(0, views.length - 1), 1);
}

function readView(record: ViewRecord, at: number, n: number): Uint8Array {
  if (record.kind === 'dataview') {
    const dv = record.view as DataView;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getUint8(at + i);
    return out;
  }
  return Uint8Array.from((record.view as Uint8Array).subarray(at, at + n));
}

function writeView(record: ViewRecord, at: number, data: Uint8Array): void {
  if (record.kind === 'dataview') {
    const dv = record.view as DataView;
    let i = 0;
    for (; i + 4 <= data.length; i += 4)
      dv.setUint32(at + i, (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0, true);
    for (; i < data.length; i++) dv.setUint8(at + i, data[i]!);
  } else if (record.kind === 'buffer' && data.length === 1) {
    (record.view as Buffer).fill(data[0]!, at, at + 1);
  } else {
    (record.view as Uint8Array).set(data, at);
  }
}

/** A view of an unmapped generation must read as detached: length 0, reads undefined, writes nowhere. */
function checkDetached(record: ViewRecord): void {
  if (record.kind === 'dataview') {
    const dv = record.view as DataView;
    let threw = false;
    try {
      dv.getUint8(0);
    } catch (error) {
      threw = error instanceof TypeError;
    }
    check(threw, 'a DataView over an unmapped mapping did not throw TypeError');
  } else {
    const u8 = record.view as Uint8Array;
    u8[0] = 1;
    check(u8.length === 0 && u8[0] === undefined, 'a view of an unmapped mapping is not detached');
  }
}

function compare(got: Uint8Array, want: Uint8Array, what: string): void {
  if (got.length !== want.length) fail(`${what}: ${got.length} bytes, expected ${want.length}`);
  for (let i = 0; i < got.length; i++)
    if (got[i] !== want[i]) fail(`${what}: byte ${i} is ${got[i]}, expected ${want[i]}`);
}

// ---- the peer -------------------------------------------------------------------------------------------------
const peer = spawn(process.execPath, ['--import', 'tsx', new URL('./peer.mts', import.meta.url).pathname, path], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const answers = createInterface({ input: peer.stdout! });
const pending: ((answer: Record<string, unknown>) => void)[] = [];
answers.on('line', (line) => pending.shift()?.(JSON.parse(line) as Record<string, unknown>));
let peerExit: string | undefined;
peer.on('exit', (code, signal) => {
  peerExit = `peer exited (${code ?? signal})`;
  for (const resolve of pending.splice(0)) resolve({ ok: false, message: peerExit });
});
function ask(command: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (peerExit !== undefined) fail(peerExit);
  return new Promise((resolve) => {
    pending.push(resolve);
    peer.stdin!.write(`${JSON.stringify(command)}\n`);
  });
}
async function peerDo(command: Record<string, unknown>): Promise<Record<string, unknown>> {
  const answer = await ask(command);
  if (answer.ok !== true) fail(`peer ${JSON.stringify(command).slice(0, 80)}: ${answer.code ?? ''} ${answer.message}`);
  count(`peer.${command.op as string}`, JSON.stringify(command).slice(0, 60));
  return answer;
}

// ---- the operations -------------------------------------------------------------------------------------------
const ADVICE = ['normal', 'random', 'sequential', 'willneed', 'dontneed', 'hugepage', 'nohugepage'] as const;

function openMain(): void {
  const fileSize = fileModel.length;
  const variant = int(0, 2);
  if (variant === 0) {
    // whole file
    const file = expectCode(fileSize === 0 ? 'ERR_MAPPING_EMPTY' : undefined, 'open', () =>
      MappedFile.open(path, { mode: 'r+' }),
    );
    if (file) mapMain(file, true, fileSize);
  } else if (variant === 1) {
    // 'r+' with a size: grows a smaller file (zeros), maps `size` bytes
    const wanted = size();
    const file = expectCode(undefined, 'open with size', () => MappedFile.open(path, { mode: 'r+', size: wanted }));
    if (wanted > fileSize) setFileSize(wanted);
    mapMain(file!, true, wanted);
  } else {
    // a window at any byte offset
    const offset = int(0, MAX_SIZE);
    const length = int(1, MAX_SIZE);
    const code =
      fileSize === 0
        ? 'ERR_MAPPING_EMPTY'
        : offset >= fileSize || offset + length > fileSize
          ? 'ERR_OUT_OF_RANGE'
          : undefined;
    const file = expectCode(code, 'open window', () => MappedFile.open(path, { mode: 'r+', offset, length }));
    if (file) mapMain(file, false, length);
  }
  count('open');
}

async function step(): Promise<void> {
  const m = main;
  if (m === undefined) {
    if (chance(0.8)) return openMain();
  }
  const roll = random();
  if (m === undefined || roll < 0.03) {
    if (chance(0.5) || fileModel.length === 0) {
      // the peer grows or shrinks the file through its own mapping (not while this mapping is stale: a file regrown
      // under a truncated mapping is covered by 'regrow' instead)
      if (m?.staleSize !== undefined) return void (await peerDo({ op: 'flush' }));
      const n = size();
      await peerDo({ op: 'resize', size: n });
      if (n < fileModel.length) shrinkUnderMain(n);
      setFileSize(n);
    } else if (chance(0.3) && fileModel.length > 0 && (m === undefined || m.staleSize === undefined)) {
      // truncated and regrown by a third program between two accesses: no fault, the mapping reads zeros there
      const back = Math.max(fileModel.length, m ? m.offset + m.length : 0);
      const to = int(0, fileModel.length);
      await peerDo({ op: 'regrow', to, back });
      setFileSize(to);
      setFileSize(back);
      if (m) for (let p = Math.max(0, to - m.offset); p < m.length; p++) m.expected[p] = 0;
    } else if (fileModel.length > 0) {
      const limit = m?.staleSize ?? fileModel.length; // the peer writes only where the file is
      if (limit === 0) return;
      const at = int(0, limit - 1);
      const data = bytes(int(1, Math.min(limit - at, 300)));
      await peerDo({ op: 'write', at, hex: Buffer.from(data).toString('hex') });
      fileModel.set(data, at);
      if (m) {
        for (let i = 0; i < data.length; i++) {
          const p = at + i - m.offset;
          if (p >= 0 && p < m.length) m.expected[p] = data[i]!; // below the file's end: never replaced
        }
      }
    }
    return;
  }
  const stale = m.staleSize !== undefined;
  const truncatedCode = stale ? 'ERR_MAPPING_TRUNCATED' : undefined;

  if (roll < 0.3) {
    // read through a current view
    const current = views.filter((v) => v.generation === m.generation);
    if (current.length === 0) return makeView(m);
    const record = pick(current);
    const at = int(0, record.length - 1);
    const n = int(1, Math.min(record.length - at, 512));
    touch(m, record.start + at, record.start + at + n);
    compare(
      readView(record, at, n),
      m.expected.subarray(record.start + at, record.start + at + n),
      `read ${record.kind}`,
    );
    count('read', `${record.kind} ${record.start + at}+${n}`);
  } else if (roll < 0.55) {
    // write through a current view; while stale, not into the page holding the file's new end (past the end,
    // those bytes sit in the page cache where no process can predict what becomes of them)
    const current = views.filter((v) => v.generation === m.generation);
    if (current.length === 0) return makeView(m);
    const record = pick(current);
    let a = record.start + int(0, record.length - 1);
    let b = Math.min(record.start + record.length, a + int(1, 512));
    if (m.staleSize !== undefined) {
      const endPos = m.staleSize - m.offset;
      const pageEndPos = Math.ceil(m.staleSize / PAGE_SIZE) * PAGE_SIZE - m.offset;
      if (b > endPos && a < pageEndPos) {
        if (a < endPos) b = endPos;
        else a = pageEndPos;
      }
      if (a >= b) return;
    }
    const data = bytes(b - a);
    touch(m, a, b);
    writeView(record, a - record.start, data);
    m.expected.set(data, a);
    const fileEnd = m.staleSize ?? fileModel.length;
    const inFile = Math.min(b, fileEnd - m.offset);
    if (inFile > a) fileModel.set(data.subarray(0, inFile - a), m.offset + a);
    count('write', `${record.kind} ${a}..${b}`);
  } else if (roll < 0.62) {
    makeView(m);
    count('view');
  } else if (roll < 0.66) {
    // a view of an earlier mapping
    const old = views.filter((v) => v.generation !== m.generation);
    if (old.length > 0) checkDetached(pick(old));
    count('detached');
  } else if (roll < 0.7) {
    const a = int(0, m.length - 1);
    expectCode(truncatedCode, 'flush', () =>
      m.file.flush({ offset: a, length: int(0, m.length - a) }, { async: chance(0.3) }),
    );
    count('flush');
  } else if (roll < 0.73) {
    await expectCodeAsync(truncatedCode, 'flushAsync', () => m.file.flushAsync());
    count('flushAsync');
  } else if (roll < 0.76) {
    const a = int(0, m.length - 1);
    const n = int(0, m.length - a);
    const advice = pick(ADVICE);
    expectCode(undefined, `advise ${advice}`, () => m.file.advise(advice, { offset: a, length: n }));
    // MADV_DONTNEED drops this process's private pages, which then read zeros: the only private pages of a 'r+'
    // mapping are those the SIGBUS handler put in. The range is rounded out to whole pages.
    if (advice === 'dontneed' && n > 0) {
      const first = Math.floor((m.delta + a) / PAGE_SIZE);
      const end = Math.ceil((m.delta + a + n) / PAGE_SIZE);
      for (let p = 0; p < m.length; p++) {
        const page = pageOf(m, p);
        if (page >= m.lostFromPage && page >= first && page < end) m.expected[p] = 0;
      }
    }
    count('advise', `${advice} ${a}+${n}`);
  } else if (roll < 0.78) {
    const r = expectCode(undefined, 'residency', () => m.file.residency())!;
    check(r.total === Math.ceil((m.delta + m.length) / PAGE_SIZE) - Math.floor(m.delta / PAGE_SIZE), 'residency total');
    count('residency');
  } else if (roll < 0.82) {
    check(m.file.truncated === stale, `truncated is ${!stale}, expected ${stale}`);
    // the pages the SIGBUS handler replaced are exactly those the model says
    const lostFrom = native.lostFrom(m.file.buffer.buffer as ArrayBuffer);
    check(
      lostFrom === m.lostFromPage * PAGE_SIZE,
      `pages replaced from byte ${lostFrom}, expected ${m.lostFromPage * PAGE_SIZE}`,
    );
    const repaired = m.lostFromPage < Math.ceil((m.delta + m.length) / PAGE_SIZE);
    expectCode(repaired ? 'ERR_MAPPING_TRUNCATED' : undefined, 'checkIntact', () => m.file.checkIntact());
    count('truncated');
  } else if (roll < 0.88) {
    // resize: grow or shrink (the file follows: offset + newLength)
    const newLength = int(1, Math.max(1, MAX_SIZE - m.offset));
    const done = expectCode(truncatedCode, 'resize', () => (m.file.resize(newLength), true));
    if (done) {
      const end = m.offset + newLength;
      setFileSize(end);
      mapMain(m.file, m.followsFile, newLength);
    }
    count('resize', String(newLength));
  } else if (roll < 0.92) {
    const available = fileModel.length - m.offset;
    const done = expectCode(
      available <= 0 ? 'ERR_MAPPING_EMPTY' : undefined,
      'refresh',
      () => (m.file.refresh(), true),
    );
    if (done) mapMain(m.file, m.followsFile, m.followsFile ? available : Math.min(m.length, available));
    count('refresh');
  } else if (roll < 0.95) {
    m.file.close();
    main = undefined;
    generation++;
    count('close');
  } else if (roll < 0.97) {
    // the whole mapping against the model
    touch(m, 0, m.length);
    compare(m.file.buffer, m.expected, 'whole mapping');
    count('verify');
  } else if (roll < 0.985) {
    // the file on disk (read(2), not the mapping) against the model
    compare(readFileSync(path), fileModel, 'file contents');
    count('verifyFile');
  } else {
    const answer = await peerDo({ op: pick(['flush', 'flushAsync', 'hash'] as const) });
    if (answer.hash !== undefined) {
      check(answer.size === fileModel.length, `peer maps ${answer.size} bytes of a ${fileModel.length}-byte file`);
      check(answer.hash === createHash('sha1').update(fileModel).digest('hex'), 'peer sees other bytes than the model');
    }
  }
}

writeFileSync(path, Buffer.alloc(0));
let exitCode = 0;
try {
  for (op = 0; op < totalOps; op++) await step();
  main?.file.close();
  main = undefined;
  compare(readFileSync(path), fileModel, 'final file contents');
  check(statSync(path).size === fileModel.length, 'final size');
  const peerStats = await peerDo({ op: 'stats' });
  console.log(
    JSON.stringify({ seed, ops: totalOps, finalSize: fileModel.length, counts, codes, peer: peerStats, ok: true }),
  );
} catch (error) {
  console.error(error instanceof Mismatch ? error.message : error);
  exitCode = 1;
} finally {
  peer.stdin!.end();
}
process.exitCode = exitCode;
