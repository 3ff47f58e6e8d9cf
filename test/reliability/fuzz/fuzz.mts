// A seeded, reproducible fuzzer of the safe API across two processes. This process drives random sequences of
// open / resize (grow and shrink) / refresh / close / view creation / reads and writes through current and retired
// views / flush / flushAsync / advise / residency on a MappedFile, and sends a second process (peer.mts, with its own
// MappedFile of the same file) writes, resizes, flushes and truncate-then-regrow of the file. A model of the file
// and of what this process's mapping must read, in plain JavaScript, predicts every byte and every error:
// - no crash, no hang (the test's timeout), every failure a coded error, and exactly the predicted one;
// - after another process shrinks the file, accesses past its end go on (SIGBUS repaired: those pages read zeros,
//   then what this process wrote into them), `truncated` is true, flush/flushAsync/resize throw
//   ERR_MAPPING_TRUNCATED, and refresh() maps the file as it is;
// - at the end the file's contents equal the model.
// A share of the operations (MEMMAP_FUZZ_ATTACKS, default 0.08) are the attack classes of issue #11, each described
// where it is defined: re-entrant argument getters that retire the mapping mid-call (reentrantGetter), thread-pool
// consumers of views racing close/resize/refresh (consumerRace), a cut by the peer under several faulting threads
// (cutUnderThreads), hostile Mutex words written by the peer (hostileWord), and record writes rejected part-way
// (rejectedWrite). Every error's code must be on memmap's closed list (test/helpers/fuzz-checks.ts).
// A view of a retired mapping (closed, resized, refreshed) is kept attached at its length over the file mapped
// privately (src/mapping-faces.ts): the model predicts each of its pages (following the file, a private copy once
// written or repaired with zeros past the file's end, back to the file when a truncation removes a written page)
// and checks that a write through it never reaches the file and that a record of the layout over it throws. For a
// third of the run the budget of kept ranges is held full (ballast), so retirements fall back to detaching the view,
// which must then read as detached; with --expose-gc the ballast is collected afterwards and retirements keep again.
// Prints a JSON report last; on a mismatch it throws with the seed and the operation's number.
//   fuzz.mts SEED OPS DIR
import { spawnSync } from 'node:child_process';
import { createHash, randomFill } from 'node:crypto';
import { closeSync, openSync, read, readFileSync, statSync, write, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzip } from 'node:zlib';
import { int32, MappedFile, Mutex, PAGE_SIZE, struct } from '../../../src/index.ts';
import { KEPT_BYTES_BUDGET, KEPT_RANGES_BUDGET } from '../../../src/mapping-faces.ts';
import { native } from '../../../src/native.ts';
import { FuzzChecks, Mismatch } from '../../helpers/fuzz-checks.ts';
import { seededRandom } from '../../helpers/random.ts';
import { startPeer } from './peer-link.mts';

const seed = Number(process.argv[2]);
const totalOps = Number(process.argv[3]);
const dir = process.argv[4]!;
const path = join(dir, `fuzz-${seed}.bin`);
const scratch = join(dir, `fuzz-${seed}.scratch`); // fs.write's output and fs.read's input
const MAX_SIZE = 24 * PAGE_SIZE;
/**
 * zlib is given at most this much of a view when the budget of kept ranges is full: one pass. Given more, zlib keeps
 * the Buffer between passes, and a retirement past the budget detaches it (length 0): Node's own
 * CHECK(IsWithinBounds) in node_zlib.cc then aborts the process. Within the budget the view is kept, and zlib is
 * given the whole range (several passes) while the mapping is retired under it: it must finish with the file's bytes.
 */
const ZLIB_ONE_PASS = 16 << 10;
/** The code the fuzzer's own hostile getters throw: memmap must let it through unchanged. */
const HOSTILE = 'HOSTILE';
/** The share of operations that are attacks (they cost more than the plain ones). */
const ATTACKS = Number(process.env.MEMMAP_FUZZ_ATTACKS ?? 0.08);

const { next: random, int, chance, pick, bytes } = seededRandom(seed);
/** A size that lands on, just before or just after page boundaries as often as anywhere else. */
function size(min = 1): number {
  const n = chance(0.5) ? int(1, MAX_SIZE / PAGE_SIZE) * PAGE_SIZE + int(-2, 2) : int(1, MAX_SIZE);
  return Math.max(min, Math.min(MAX_SIZE, n));
}

// ---- the model ------------------------------------------------------------------------------------------------
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

/**
 * What a page of a retired, kept mapping holds now: the file's bytes (mapped privately, not yet written: it follows
 * the file), a private page whose bytes the model knows where `known` is set (written through a kept view; `cow` for
 * a copy of a file page, which a truncation of the file below it throws away, so that it follows the file again;
 * otherwise the zero page the SIGBUS handler put past the file's end, which no truncation touches), or unknown (a
 * thread-pool consumer was still working on it when the mapping was retired).
 */
type PageState =
  { kind: 'private'; bytes: Uint8Array; known: Uint8Array; cow: boolean } | { kind: 'unknown' } | undefined; // the file's
interface RetiredGeneration {
  kept: boolean; // kept attached, or (past the budget) detached
  offset: number;
  delta: number;
  pageOffset: number;
  pages: Map<number, PageState>;
}
const retiredGenerations = new Map<number, RetiredGeneration>();

/** Whether a retirement now keeps the public face (the budget of src/mapping-faces.ts, for a file's pages). */
function keepsNow(): boolean {
  const [ranges, held] = native.retired();
  return ranges < KEPT_RANGES_BUDGET && held <= KEPT_BYTES_BUDGET;
}

/**
 * Call before a retirement of `m`; the function returned, after it succeeded, records the retired generation and
 * checks that its buffer was kept at its length or detached, as the budget said.
 */
function retiring(m: Main): () => void {
  const keep = keepsNow();
  const bytes = m.file.buffer;
  const buffer = bytes.buffer as ArrayBuffer;
  return () => {
    const want = keep ? m.delta + m.length : 0;
    check(buffer.byteLength === want, `a retired mapping's buffer has ${buffer.byteLength} bytes, expected ${want}`);
    count(keep ? 'kept' : 'fellBack');
    if (!keep) {
      // Checked now, whatever views the run happens to hold of this generation: `.buffer` itself, detached.
      checkDetached({ kind: 'buffer', view: bytes, start: 0, length: m.length, generation: m.generation });
      count('detached');
    }
    retiredGenerations.set(m.generation, {
      kept: keep,
      offset: m.offset,
      delta: m.delta,
      pageOffset: m.pageOffset,
      pages: new Map(),
    });
    for (const gen of retiredGenerations.keys())
      if (!views.some((v) => v.generation === gen)) retiredGenerations.delete(gen);
  };
}

/** The file shrank to `n`: copies of file pages wholly past it are thrown away (they follow the file again). */
function truncateRetired(n: number): void {
  for (const g of retiredGenerations.values())
    for (const [page, state] of g.pages)
      if (state?.kind === 'private' && state.cow && g.pageOffset + page * PAGE_SIZE >= n) g.pages.delete(page);
}

/** Buffer positions [a, b) of retired generation `g` are accessed (`write`: these bytes are written). */
function accessRetired(g: RetiredGeneration, a: number, b: number, write?: Uint8Array): void {
  const first = Math.floor((g.delta + a) / PAGE_SIZE);
  const last = Math.floor((g.delta + b - 1) / PAGE_SIZE);
  for (let page = first; page <= last; page++) {
    let state = g.pages.get(page);
    const fileStart = g.pageOffset + page * PAGE_SIZE;
    if (state === undefined && fileStart >= fileModel.length) {
      // wholly past the file's end: the access faults and the handler maps a zero page there
      state = {
        kind: 'private',
        bytes: new Uint8Array(PAGE_SIZE),
        known: new Uint8Array(PAGE_SIZE).fill(1),
        cow: false,
      };
    } else if (state === undefined && write) {
      // the write copies the file's page; past the file's end (in the page holding it) its bytes are not the model's
      const inFile = Math.min(PAGE_SIZE, fileModel.length - fileStart);
      const bytes = new Uint8Array(PAGE_SIZE);
      bytes.set(fileModel.subarray(fileStart, fileStart + inFile));
      const known = new Uint8Array(PAGE_SIZE);
      known.fill(1, 0, inFile);
      state = { kind: 'private', bytes, known, cow: true };
    }
    if (state !== undefined) g.pages.set(page, state);
    if (write && state?.kind === 'private') {
      const from = Math.max(a, page * PAGE_SIZE - g.delta);
      const to = Math.min(b, (page + 1) * PAGE_SIZE - g.delta);
      for (let p = from; p < to; p++) {
        state.bytes[g.delta + p - page * PAGE_SIZE] = write[p - a]!;
        state.known[g.delta + p - page * PAGE_SIZE] = 1;
      }
    }
  }
}

/** What byte `p` of retired generation `g` reads (after accessRetired), or undefined where nothing is promised. */
function retiredByte(g: RetiredGeneration, p: number): number | undefined {
  const page = Math.floor((g.delta + p) / PAGE_SIZE);
  const state = g.pages.get(page);
  if (state === undefined) return g.offset + p < fileModel.length ? fileModel[g.offset + p] : undefined;
  if (state.kind === 'unknown') return undefined;
  const i = g.delta + p - page * PAGE_SIZE;
  return state.known[i] ? state.bytes[i] : undefined;
}

/** A thread-pool consumer was working on positions [a, b) of generation `gen` when it was retired. */
function taintRetired(gen: number, a: number, b: number): void {
  const g = retiredGenerations.get(gen);
  if (g === undefined) return;
  for (let page = Math.floor((g.delta + a) / PAGE_SIZE); page <= Math.floor((g.delta + b - 1) / PAGE_SIZE); page++)
    g.pages.set(page, { kind: 'unknown' });
}

/** Keeps the budget of kept ranges full (a third of the run): retirements then detach. */
let ballast: Buffer[] | undefined;
const checks = new FuzzChecks(
  seed,
  () => {
    const m = main;
    const where = m ? `map ${m.offset}+${m.length} stale=${m.staleSize} lost=${m.lostFromPage}` : 'closed';
    return `file ${fileModel.length}, ${where}`;
  },
  40,
  [HOSTILE],
);
const { counts } = checks;
const count = checks.count.bind(checks);
const fail = checks.fail.bind(checks);
const check = checks.check.bind(checks);
const expectCode = checks.expectCode.bind(checks);
const expectCodeAsync = checks.expectCodeAsync.bind(checks);

function setFileSize(n: number): void {
  if (n < fileModel.length) truncateRetired(n);
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

/** A view of a generation retired past the budget must read as detached: length 0, reads undefined, writes nowhere. */
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
    Reflect.set(u8, 0, 1); // a write through a detached view goes nowhere (and TypeScript must not narrow u8[0])
    check(u8.length === 0 && u8[0] === undefined, 'a view of an unmapped mapping is not detached');
  }
}

/**
 * A view of a retired generation: detached if it was retired past the budget; else kept at its length, a record of
 * the layout over it throws ERR_DETACHED_BUFFER (its guarded face is detached), a read gives what the model predicts
 * for each of its pages, and a write lands in the view and never in the file.
 */
function checkRetired(record: ViewRecord): void {
  const g = retiredGenerations.get(record.generation);
  if (g === undefined) return fail(`no record of retired generation ${record.generation}`);
  if (!g.kept) {
    checkDetached(record);
    count('detached');
    return;
  }
  const length = record.kind === 'dataview' ? (record.view as DataView).byteLength : (record.view as Uint8Array).length;
  check(length === record.length, `a kept ${record.kind} has ${length} bytes, expected ${record.length}`);
  if (record.length >= Pair.size) {
    const layout = attempt('a record over a kept view', () => Pair.read(record.view));
    check(layout.code === 'ERR_DETACHED_BUFFER', `a record over a kept view: ${layout.code ?? 'read'}`);
  }
  const at = int(0, record.length - 1);
  const n = int(1, Math.min(record.length - at, 512));
  const a = record.start + at;
  if (chance(0.5)) {
    accessRetired(g, a, a + n);
    const got = readView(record, at, n);
    for (let i = 0; i < n; i++) {
      const want = retiredByte(g, a + i);
      if (want !== undefined && got[i] !== want)
        fail(`kept ${record.kind} of generation ${record.generation}: byte ${a + i} is ${got[i]}, expected ${want}`);
    }
    count('keptRead', `${record.kind} ${a}+${n}`);
  } else {
    const data = bytes(n);
    accessRetired(g, a, a + n, data);
    writeView(record, at, data);
    compare(readView(record, at, n), data, `kept ${record.kind} written`);
    compare(readFileSync(path), fileModel, `the file after a write through a kept ${record.kind}`);
    count('keptWrite', `${record.kind} ${a}+${n}`);
  }
}

function compare(got: Uint8Array, want: Uint8Array, what: string): void {
  if (got.length !== want.length) fail(`${what}: ${got.length} bytes, expected ${want.length}`);
  for (let i = 0; i < got.length; i++)
    if (got[i] !== want[i]) fail(`${what}: byte ${i} is ${got[i]}, expected ${want[i]}`);
}

// ---- the peer -------------------------------------------------------------------------------------------------
const peer = startPeer(new URL('./peer.mts', import.meta.url).pathname, [path], checks);
const peerDo = peer.run;

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

/** resize(newLength) of `m`, predicted: grows or shrinks the file to offset + newLength and maps that. */
function resizeMain(m: Main, newLength: number): boolean {
  const truncatedCode = m.staleSize !== undefined ? 'ERR_MAPPING_TRUNCATED' : undefined;
  const retiredNow = retiring(m);
  const done = expectCode(truncatedCode, 'resize', () => (m.file.resize(newLength), true));
  if (done) {
    retiredNow();
    setFileSize(m.offset + newLength);
    mapMain(m.file, m.followsFile, newLength);
  }
  count('resize', String(newLength));
  return done === true;
}

/** refresh() of `m`, predicted: maps the file as it is (or ERR_MAPPING_EMPTY when nothing is left past offset). */
function refreshMain(m: Main): boolean {
  const available = fileModel.length - m.offset;
  const retiredNow = retiring(m);
  const done = expectCode(available <= 0 ? 'ERR_MAPPING_EMPTY' : undefined, 'refresh', () => (m.file.refresh(), true));
  if (done) retiredNow();
  if (done) mapMain(m.file, m.followsFile, m.followsFile ? available : Math.min(m.length, available));
  count('refresh');
  return done === true;
}

function closeMain(m: Main): void {
  const retiredNow = retiring(m);
  m.file.close();
  retiredNow();
  main = undefined;
  generation++;
  count('close');
}

type Retire = 'close' | 'resize' | 'refresh';
/** Runs one of the operations that retire the mapping; true when the old mapping is gone. */
function retire(m: Main, how: Retire): boolean {
  if (how === 'close') {
    closeMain(m);
    return true;
  }
  if (how === 'resize') return resizeMain(m, int(1, Math.max(1, MAX_SIZE - m.offset)));
  return refreshMain(m);
}

// ---- attacks --------------------------------------------------------------------------------------------------
/** The outcome of a call: the code it threw (checked against the closed list and counted) or its value. */
function attempt<T>(what: string, call: () => T): { code: string | undefined; value: T | undefined } {
  try {
    return { code: undefined, value: call() };
  } catch (error) {
    return { code: checks.codeOf(error, what), value: undefined };
  }
}
async function attemptAsync<T>(what: string, promise: Promise<T>): Promise<{ code: string | undefined; value?: T }> {
  try {
    return { code: undefined, value: await promise };
  } catch (error) {
    return { code: checks.codeOf(error, what) };
  }
}
const hostileError = () => Object.assign(new Error('thrown by the fuzzer'), { code: HOSTILE });
/** mlock(2) may be refused by RLIMIT_MEMLOCK: the kernel's answers. */
const LOCK_REFUSALS = new Set(['ENOMEM', 'EAGAIN', 'EPERM']);

/** The file's bytes [from, to) as read(2) sees them now. */
const fileBytes = (from: number, to: number) => Uint8Array.from(readFileSync(path).subarray(from, to));

/** The file bytes [from, to) changed behind the model (by a thread-pool consumer): take them into the model. */
function adoptFromFile(from: number, to: number, allowed?: (i: number, byte: number) => boolean): void {
  to = Math.min(to, fileModel.length);
  if (from >= to) return;
  const got = fileBytes(from, to);
  for (let i = 0; i < got.length; i++) {
    if (allowed && !allowed(from + i, got[i]!)) fail(`file byte ${from + i} is ${got[i]}, neither old nor new`);
    fileModel[from + i] = got[i]!;
  }
  const m = main;
  if (m === undefined) return;
  for (let q = Math.max(from, m.offset); q < Math.min(to, m.offset + m.length); q++)
    m.expected[q - m.offset] = fileModel[q]!;
}

type Method = 'flush' | 'flushAsync' | 'advise' | 'residency' | 'lock' | 'unlock';
const METHODS: readonly Method[] = ['flush', 'flushAsync', 'advise', 'residency', 'lock', 'unlock'];
const SAFE_ADVICE = ['normal', 'random', 'sequential', 'willneed'] as const;

/**
 * A range (or options) getter that retires the mapping in the middle of the call reading it: close(), resize() or
 * refresh() runs (predicted as usual), the getter then returns its value or throws, and the call must answer for
 * the mapping as it is after the getter: ERR_MAPPING_CLOSED, ERR_OUT_OF_RANGE against the new length, the
 * truncation, the getter's own error, or success. It never touches the retired mapping (an addon assertion did).
 */
async function reentrantGetter(m: Main): Promise<void> {
  const method = pick(METHODS);
  const inner = pick(['close', 'resize', 'refresh'] as const);
  const onOptions = (method === 'flush' || method === 'flushAsync' || method === 'residency') && chance(0.4);
  const where = onOptions ? 'options' : pick(['offset', 'length'] as const);
  const throwAfter = chance(0.15);
  const offset = chance(0.8) ? int(0, m.length) : undefined;
  const length = chance(0.8) ? int(0, m.length) : undefined;
  let ran = false;
  const hijack = (): void => {
    if (ran) return;
    ran = true;
    retire(m, inner);
    if (throwAfter) throw hostileError();
  };
  const range: { offset?: number; length?: number } = {};
  if (where === 'offset') Object.defineProperty(range, 'offset', { enumerable: true, get: () => (hijack(), offset) });
  else if (offset !== undefined) range.offset = offset;
  if (where === 'length') Object.defineProperty(range, 'length', { enumerable: true, get: () => (hijack(), length) });
  else if (length !== undefined) range.length = length;
  const flag = chance(0.5);
  const options = {};
  if (where === 'options')
    Object.defineProperty(options, method === 'residency' ? 'pages' : 'invalidate', {
      enumerable: true,
      get: () => (hijack(), flag),
    });
  const what = `${method} with a ${where} getter that calls ${inner}()`;
  const file = m.file;
  let outcome: { code: string | undefined; value?: unknown };
  switch (method) {
    case 'flushAsync':
      outcome = await attemptAsync(what, file.flushAsync(range, options));
      break;
    case 'flush':
      outcome = attempt(what, () => file.flush(range, options));
      break;
    case 'advise':
      outcome = attempt(what, () => file.advise(pick(SAFE_ADVICE), range));
      break;
    case 'residency':
      outcome = attempt(what, () => file.residency(range, options));
      break;
    case 'lock':
      outcome = attempt(what, () => file.lock(range));
      break;
    case 'unlock':
      outcome = attempt(what, () => file.unlock(range));
      break;
  }
  check(ran, `${what}: the getter was never read`);
  // What the call must have answered, for the mapping as the getter left it.
  const now = main;
  let want: string | undefined;
  if (throwAfter) want = HOSTILE;
  else if (now === undefined) want = 'ERR_MAPPING_CLOSED';
  else if (offset !== undefined && offset > now.length) want = 'ERR_OUT_OF_RANGE';
  else if (length !== undefined && length > now.length - (offset ?? 0)) want = 'ERR_OUT_OF_RANGE';
  else if ((method.startsWith('flush') || method === 'lock') && now.staleSize !== undefined)
    want = 'ERR_MAPPING_TRUNCATED'; // lock() refuses a cut mapping before mlock(2) could leave the range locked
  if (method === 'lock' && want === undefined && outcome.code !== undefined && LOCK_REFUSALS.has(outcome.code)) {
    want = outcome.code;
  }
  check(outcome.code === want, `${what}: gave ${outcome.code ?? 'no error'}, expected ${want ?? 'no error'}`);
  if (method === 'lock' && outcome.code === undefined) now!.file.unlock(range);
  if (method === 'residency' && want === undefined) {
    const total = (outcome.value as { total: number }).total;
    const first = now!.delta + (offset ?? 0);
    const end = Math.min(now!.delta + now!.length, first + (length ?? now!.length - (offset ?? 0)));
    const pages = end <= first ? 0 : Math.ceil(end / PAGE_SIZE) - Math.floor(first / PAGE_SIZE);
    check(total === pages, `${what}: ${total} pages, expected ${pages}`);
  }
  count('reentrant', `${method} ${where} ${inner}${throwAfter ? ' +throw' : ''}`);
}

type Consumer = 'gzip' | 'randomFill' | 'fs-write' | 'fs-read' | 'flushAsync';
const READERS: readonly Consumer[] = ['gzip', 'fs-write', 'flushAsync'];

function gzipped(view: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gzip(view, (error, out) => (error ? reject(error) : resolve(out)));
  });
}
function randomFilled(view: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    randomFill(view, (error) => (error ? reject(error) : resolve()));
  });
}
function fsCall(kind: 'fs-write' | 'fs-read', view: Uint8Array): Promise<number> {
  const fd = openSync(scratch, kind === 'fs-write' ? 'w' : 'r');
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, n: number) => {
      closeSync(fd);
      if (error) reject(error);
      else resolve(n);
    };
    if (kind === 'fs-write') write(fd, view, 0, view.length, 0, done);
    else read(fd, view, 0, view.length, 0, done);
  });
}

/**
 * A Node thread-pool consumer of a view of the mapping (zlib, crypto, fs, flushAsync), raced by close(), resize()
 * or refresh() (grow or shrink) at once or one turn of the event loop later, or left alone. It must settle without
 * killing the process; left alone it must have read or written exactly the model's bytes. Raced, what a writer
 * wrote before the retirement is in the file and nothing else changed: the model takes those bytes from the file.
 */
async function consumerRace(m: Main): Promise<void> {
  const stale = m.staleSize !== undefined;
  // writers only into a mapping the file covers (past a cut file's end their bytes would sit in the page cache)
  const kind = stale ? pick(READERS) : pick(['gzip', 'randomFill', 'fs-write', 'fs-read', 'flushAsync'] as const);
  const start = int(0, m.length - 1);
  // several passes only while a retirement keeps the view (a detached one between passes aborts Node)
  const limit = kind === 'gzip' && !keepsNow() ? ZLIB_ONE_PASS : m.length;
  const n = int(1, Math.min(m.length - start, limit));
  const race = pick(['none', 'close', 'resize', 'refresh'] as const);
  const later = chance(0.3);
  const view = m.file.buffer.subarray(start, start + n);
  const before = m.expected.slice(start, start + n);
  const fileStart = m.offset + start;
  const incoming = kind === 'fs-read' ? bytes(n) : undefined;
  if (incoming) writeFileSync(scratch, incoming);
  if (kind !== 'flushAsync' && kind !== 'fs-write') touch(m, start, start + n); // fs faults no page: it gets EFAULT
  let running: Promise<unknown>;
  switch (kind) {
    case 'gzip':
      running = gzipped(view);
      break;
    case 'randomFill':
      running = randomFilled(view);
      break;
    case 'fs-write':
    case 'fs-read':
      running = fsCall(kind, view);
      break;
    case 'flushAsync':
      running = m.file.flushAsync({ offset: start, length: n });
      break;
  }
  if (later) await new Promise(setImmediate);
  const gen = m.generation;
  const kept = keepsNow();
  const retired = race !== 'none' && retire(m, race);
  const outcome = await attemptAsync(`${kind} raced by ${race}`, running);
  const what = `${kind} of ${start}+${n} raced by ${race}${later ? ' later' : ''}`;
  if (kind === 'flushAsync') {
    const want = !retired && stale ? 'ERR_MAPPING_TRUNCATED' : undefined;
    check(outcome.code === want, `${what}: ${outcome.code ?? 'resolved'}, expected ${want ?? 'resolved'}`);
  } else if (stale && kind === 'fs-write') {
    // write(2) from pages past the file's end: the kernel's copy fails (EFAULT) or writes short; never a signal
    check(outcome.code === undefined || outcome.code === 'EFAULT', `${what}: ${outcome.code}`);
  } else if (
    retired &&
    kept &&
    (kind === 'fs-read' || kind === 'fs-write') &&
    Math.floor((fileStart + n - 1) / PAGE_SIZE) * PAGE_SIZE >= fileModel.length
  ) {
    // Kept, the view maps the file privately: once a shrinking resize() left a page of it wholly past the file's
    // end, the kernel's copy into or out of that page fails (EFAULT; no signal in the kernel) or stops short
    check(outcome.code === undefined || outcome.code === 'EFAULT', `${what}: ${outcome.code}`);
    count('consumerPastEnd', `${what}: ${outcome.code ?? 'done'}`);
  } else {
    check(outcome.code === undefined, `${what}: rejected with ${outcome.code}`);
  }
  if (retired) taintRetired(gen, start, start + n);
  if (retired && kept && kind === 'gzip' && outcome.code === undefined) {
    // Retired under zlib (kept: the file's bytes privately): below the file's end now, the bytes it had; past it,
    // those or the zeros the handler repaired the kept range with.
    const out = gunzipSync(outcome.value as Buffer);
    check(out.length === n, `${what}: ${out.length} bytes out, expected ${n}`);
    for (let i = 0; i < n; i++) {
      const ok = out[i] === before[i] || (fileStart + i >= fileModel.length && out[i] === 0);
      if (!ok) fail(`${what}: byte ${i} is ${out[i]}, expected ${before[i]}`);
    }
    count('zlibRetiredKept', n > ZLIB_ONE_PASS ? 'several passes' : 'one pass');
    if (n > ZLIB_ONE_PASS) count('zlibRetiredPasses');
  }
  if (!retired) {
    // Alone (or the retirement refused): exactly the model's bytes went out or came in.
    if (kind === 'gzip') compare(gunzipSync(outcome.value as Buffer), before, what);
    else if (kind === 'fs-write' && !stale) compare(readFileSync(scratch), before, what);
    else if (kind === 'fs-read') {
      check(outcome.value === n, `${what}: read ${String(outcome.value)} bytes, expected ${n}`);
      m.expected.set(incoming!, start);
      fileModel.set(incoming!, fileStart);
    } else if (kind === 'randomFill') {
      const filled = Uint8Array.from(view);
      m.expected.set(filled, start);
      fileModel.set(filled, fileStart);
    }
  } else if (kind === 'fs-read') {
    adoptFromFile(
      fileStart,
      fileStart + n,
      (q, byte) => byte === before[q - fileStart] || byte === incoming![q - fileStart],
    );
  } else if (kind === 'randomFill') {
    adoptFromFile(fileStart, fileStart + n);
  }
  count('consumer', what);
}

/**
 * Another process cuts the file while several thread-pool threads fault on the mapping past the cut: zlib reading
 * (one pass each) and crypto.randomFill writing into pages wholly past the new end, each in a loop until the cut is
 * done and once more. Every fault is repaired (the handler must survive concurrent faults on pages another thread
 * repairs), every consumer settles, the bytes below the cut never change, and later truncations still fault
 * safely (the rest of the run).
 */
async function cutUnderThreads(m: Main): Promise<void> {
  if (m.staleSize !== undefined) return;
  const end = m.offset + m.length;
  const to = int(Math.max(0, m.offset - PAGE_SIZE), end - 1);
  const firstCut = Math.max(0, eofPage(m, to) * PAGE_SIZE - m.delta); // first buffer position of a page wholly past
  const keep = Math.max(0, Math.min(m.length, to - m.offset)); // positions below the cut: never change
  const stable = m.expected.slice(0, keep);
  const buffer = m.file.buffer;
  const readers = Array.from({ length: int(2, 4) }, () => {
    const a = int(0, m.length - 1);
    return { start: a, view: buffer.subarray(a, a + int(1, Math.min(m.length - a, ZLIB_ONE_PASS))) };
  });
  const writers =
    firstCut < m.length
      ? Array.from({ length: int(0, 2) }, () => {
          const a = int(firstCut, m.length - 1);
          return { start: a, view: buffer.subarray(a, a + int(1, m.length - a)) };
        })
      : [];
  let cut = false;
  let rounds = 0;
  const loop = async (work: () => Promise<void>): Promise<void> => {
    let after = 0;
    while (after < 2) {
      if (cut) after++;
      await work();
      rounds++;
    }
  };
  const running = [
    ...readers.map(({ start, view }) =>
      loop(async () => {
        const out = gunzipSync(await gzipped(view));
        const below = Math.max(0, Math.min(view.length, keep - start));
        compare(out.subarray(0, below), stable.subarray(start, start + below), 'gzip below the cut');
      }),
    ),
    ...writers.map(({ view }) => loop(() => randomFilled(view))),
  ];
  await peerDo({ op: 'cut', size: to });
  cut = true;
  const outcomes = await Promise.allSettled(running);
  for (const outcome of outcomes)
    if (outcome.status === 'rejected') checks.codeOf(outcome.reason, 'a faulting consumer');
  check(
    outcomes.every((o) => o.status === 'fulfilled'),
    'a consumer faulting past the cut failed',
  );
  shrinkUnderMain(to);
  setFileSize(to);
  if (to >= end) return;
  // Which pages the handler replaced depends on whether a thread touched them after the cut: take it from the
  // mapping, which must say either "none" or "all from the first page past the end".
  const lostFrom = native.lostFrom(buffer.buffer as ArrayBuffer) / PAGE_SIZE;
  check(
    lostFrom === m.lostFromPage || lostFrom === eofPage(m, to),
    `pages replaced from ${lostFrom}, expected ${m.lostFromPage} or ${eofPage(m, to)}`,
  );
  if (lostFrom !== m.lostFromPage) counts.repairs = (counts.repairs ?? 0) + 1;
  m.lostFromPage = lostFrom;
  for (const { start, view } of writers) {
    touch(m, start, start + view.length);
    m.expected.set(Uint8Array.from(view), start); // private pages: what randomFill left there
  }
  count('cutUnderThreads', `cut ${to}, ${readers.length} readers, ${writers.length} writers, ${rounds} rounds`);
}

let tids: { self: number; peer: number; dead: number } | undefined;
async function threadIds(): Promise<{ self: number; peer: number; dead: number }> {
  if (tids === undefined) {
    const peerPid = (await peerDo({ op: 'pid' })).pid as number;
    // a thread id that existed and is gone: a child that ran and was reaped
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    tids = { self: process.pid, peer: peerPid, dead: Number(dead.stdout) };
  }
  return tids;
}
const OWNER_MASK = 0x3fffffff;
const FLAGS = [0, 0x40000000, 0x80000000, 0xc0000000];

/**
 * The peer writes a hostile word into the file where this process keeps a Mutex (flag bits with no owner, its own
 * thread id, this thread's id, a dead thread's id, random bits), and this process calls tryLock, lock, lockAsync or
 * unlock on it: a LockResult, false, or a coded error, as the word says; never an abort. Taking the lock and
 * releasing it leaves 0; anything else leaves the word (the waiters bit aside).
 */
async function hostileWord(m: Main): Promise<void> {
  if (m.staleSize !== undefined) return;
  const first = (4 - (m.delta % 4)) % 4;
  if (first + 4 > m.length) return;
  const at = first + 4 * int(0, Math.floor((m.length - 4 - first) / 4));
  const ids = await threadIds();
  const word = chance(0.3)
    ? int(0, 2 ** 32 - 1)
    : (pick([0, 1, OWNER_MASK, ids.self, ids.peer, ids.dead]) | pick(FLAGS)) >>> 0;
  const data = new Uint8Array(new Uint32Array([word]).buffer);
  await peerDo({ op: 'write', at: m.offset + at, hex: Buffer.from(data).toString('hex') });
  fileModel.set(data, m.offset + at);
  m.expected.set(data, at);
  const mutex = new Mutex(m.file.buffer, at);
  const owner = word & OWNER_MASK;
  const how = pick(['tryLock', 'lock', 'lockAsync', 'unlock'] as const);
  const timeout = owner === 0 ? undefined : 0;
  const outcome =
    how === 'tryLock'
      ? attempt(how, () => mutex.tryLock())
      : how === 'lock'
        ? attempt(how, () => mutex.lock({ timeout }))
        : how === 'lockAsync'
          ? await attemptAsync(how, mutex.lockAsync({ timeout }))
          : attempt(how, () => mutex.unlock());
  const what = `${how} on 0x${word.toString(16)}`;
  const cell = new Int32Array(m.file.buffer.buffer, m.file.buffer.byteOffset + at, 1);
  const { code, value } = outcome;
  if (how === 'unlock') {
    check(code === (owner === ids.self ? undefined : 'ERR_MUTEX_NOT_OWNER'), `${what}: ${code ?? 'unlocked'}`);
  } else if (value === 'acquired' || value === 'owner-died') {
    check(owner !== ids.self, `${what}: took a lock this thread holds`);
    if (owner === 0) check(value === (word & 0x40000000 ? 'owner-died' : 'acquired'), `${what}: ${value}`);
    check(mutex.owner === ids.self, `${what}: not the owner after ${value}`);
    mutex.unlock();
    check(cell[0] === 0, `${what}: unlock left 0x${(cell[0]! >>> 0).toString(16)}`);
  } else if (value === false) {
    check(owner !== 0, `${what}: a free word was refused`);
  } else {
    const want = owner === ids.self ? 'ERR_MUTEX_DEADLOCK' : 'ERR_MUTEX_TIMEOUT';
    check(owner !== 0 && code === want, `${what}: ${code ?? String(value)}, expected ${want}`);
  }
  const left = cell[0]! >>> 0;
  if (left !== 0)
    check((left | 0x80000000) >>> 0 === (word | 0x80000000) >>> 0, `${what}: left 0x${left.toString(16)}`);
  const leftBytes = new Uint8Array(new Uint32Array([left]).buffer);
  fileModel.set(leftBytes, m.offset + at);
  m.expected.set(leftBytes, at);
  count('hostileWord', `${what} → ${code ?? String(value)}`);
}

const Pair = struct({ a: int32, b: int32 });
/**
 * A record write through the layout whose value is rejected part-way (a field out of range, of the wrong type, a
 * getter that throws) changes no byte; a getter that retires the mapping mid-write gives ERR_DETACHED_BUFFER and
 * writes nowhere; a valid value lands whole.
 */
function rejectedWrite(m: Main): void {
  const room = (m.staleSize === undefined ? m.length : Math.min(m.length, m.staleSize - m.offset)) - Pair.size;
  if (room < 0) return;
  const at = int(0, room);
  const buffer = m.file.buffer;
  const kind = pick(['range', 'fraction', 'type', 'hostile', 'retire', 'valid'] as const);
  const a = int(-(2 ** 31), 2 ** 31 - 1);
  const b = int(-(2 ** 31), 2 ** 31 - 1);
  const retirement = { done: false }; // set by the getter, inside the write
  const how = pick(['close', 'resize', 'refresh'] as const);
  const value =
    kind === 'range'
      ? { a, b: pick([2 ** 31, -(2 ** 31) - 1, Infinity, NaN]) }
      : kind === 'fraction'
        ? { a, b: 0.5 }
        : kind === 'type'
          ? { a, b: pick([10n, Symbol('b'), '1', null] as const) }
          : kind === 'hostile'
            ? {
                a,
                get b(): number {
                  throw hostileError();
                },
              }
            : kind === 'retire'
              ? {
                  a,
                  get b(): number {
                    retirement.done = retire(m, how);
                    return b;
                  },
                }
              : { a, b };
  const outcome = attempt(`write ${kind}`, () => Pair.write(buffer, at, value as { a: number; b: number }));
  const want =
    kind === 'range' || kind === 'fraction'
      ? 'ERR_OUT_OF_RANGE'
      : kind === 'type'
        ? 'ERR_INVALID_ARG_TYPE'
        : kind === 'hostile'
          ? HOSTILE
          : retirement.done
            ? 'ERR_DETACHED_BUFFER'
            : undefined;
  check(outcome.code === want, `write ${kind} at ${at}: ${outcome.code ?? 'written'}, expected ${want ?? 'written'}`);
  if (want === undefined) {
    const record = new Uint8Array(new Int32Array([a, b]).buffer);
    m.expected.set(record, at);
    fileModel.set(record, m.offset + at);
  }
  const now = main;
  if (now !== undefined && now.generation === m.generation) {
    compare(
      Uint8Array.from(now.file.buffer.subarray(at, at + Pair.size)),
      m.expected.subarray(at, at + Pair.size),
      `write ${kind}`,
    );
  }
  count('rejectedWrite', `${kind}${kind === 'retire' ? ` ${how}` : ''}`);
}

/** One of the attack classes, on the mapping `m`. */
async function attack(m: Main): Promise<void> {
  const roll = random();
  if (roll < 0.3) await reentrantGetter(m);
  else if (roll < 0.6) await consumerRace(m);
  else if (roll < 0.7) await cutUnderThreads(m);
  else if (roll < 0.85) await hostileWord(m);
  else rejectedWrite(m);
}

async function step(): Promise<void> {
  const m = main;
  if (m === undefined) {
    if (chance(0.8)) {
      openMain();
      return;
    }
  }
  const roll = random();
  if (m === undefined || roll < 0.03) {
    if (chance(0.5) || fileModel.length === 0) {
      // the peer grows or shrinks the file through its own mapping (not while this mapping is stale: a file regrown
      // under a truncated mapping is covered by 'regrow' instead)
      if (m?.staleSize !== undefined) {
        await peerDo({ op: 'flush' });
        return;
      }
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
  if (chance(ATTACKS)) return attack(m);
  const stale = m.staleSize !== undefined;
  const truncatedCode = stale ? 'ERR_MAPPING_TRUNCATED' : undefined;

  if (roll < 0.3) {
    // read through a current view
    const current = views.filter((v) => v.generation === m.generation);
    if (current.length === 0) {
      makeView(m);
      return;
    }
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
    if (current.length === 0) {
      makeView(m);
      return;
    }
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
    if (old.length > 0) checkRetired(pick(old));
    count('retiredView');
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
    resizeMain(m, int(1, Math.max(1, MAX_SIZE - m.offset)));
  } else if (roll < 0.92) {
    refreshMain(m);
  } else if (roll < 0.95) {
    closeMain(m);
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
      check(
        answer.size === fileModel.length,
        `peer maps ${String(answer.size)} bytes of a ${fileModel.length}-byte file`,
      );
      check(answer.hash === createHash('sha1').update(fileModel).digest('hex'), 'peer sees other bytes than the model');
    }
  }
}

/** Fills the budget of kept ranges with closed anonymous pages held here: retirements detach from now on. */
function fillBallast(): void {
  ballast = [];
  while (keepsNow()) {
    const memory = MappedFile.anonymous(1);
    ballast.push(memory.buffer);
    memory.close();
  }
  count('ballast', `${ballast.length} ranges`);
}

/** Lets the ballast go; with --expose-gc, collects it and checks that its ranges were released. */
async function dropBallast(): Promise<void> {
  ballast = undefined;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise(setImmediate);
  }
  check(keepsNow(), `the ballast was collected, yet ${native.retired()[0]} ranges are kept`);
  count('ballastReleased');
}

writeFileSync(path, Buffer.alloc(0));
let exitCode = 0;
try {
  for (checks.op = 0; checks.op < totalOps; checks.op++) {
    if (checks.op === Math.floor(totalOps / 3)) fillBallast();
    if (checks.op === Math.floor((2 * totalOps) / 3)) await dropBallast();
    await step();
  }
  if (main) closeMain(main);
  main = undefined;
  for (const record of views) if (record.generation !== generation) checkRetired(record);
  compare(readFileSync(path), fileModel, 'final file contents');
  check(statSync(path).size === fileModel.length, 'final size');
  const peerStats = await peerDo({ op: 'stats' });
  console.log(
    JSON.stringify({
      seed,
      ops: totalOps,
      finalSize: fileModel.length,
      counts,
      codes: checks.codes,
      peer: peerStats,
      ok: true,
    }),
  );
} catch (error) {
  console.error(error instanceof Mismatch ? error.message : error);
  exitCode = 1;
} finally {
  peer.end();
}
process.exitCode = exitCode;
