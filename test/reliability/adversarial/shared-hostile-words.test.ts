/**
 * Promise: whatever another process, a C peer or the kernel leaves in a Mutex word gives a LockResult, `false`,
 * or a coded error; never an abort. Each run is a child process, so an abort shows as a signal, not a lost runner.
 */
import { describe, expect, it } from 'vitest';
import { scriptReport } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir();

/** Every interesting 32-bit pattern, then `RANDOM` seeded ones, written into the word before each call. */
const FUZZ = `
import { spawnSync } from 'node:child_process';
import { MappedFile, Mutex } from __SRC__;

const RANDOM = Number(process.argv[2]);
using file = MappedFile.anonymous(4096);
const mutex = new Mutex(file.buffer, 0);
const word = new Int32Array(file.buffer.buffer, file.buffer.byteOffset, 1);
const tid = process.pid; // the main thread's id
// A thread id that existed and is gone (a child that ran and was reaped).
const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
const deadTid = Number(dead.stdout);
const patterns = [
  0x80000000, 0x40000000, 0xc0000000, 0xffffffff, 0x7fffffff, 0x3fffffff, 0xbfffffff, 0x20000000, 1, 0x40000001,
  0x80000001, 0xc0000001, tid, tid | 0x40000000, tid | 0x80000000, tid | 0xc0000000, deadTid, deadTid | 0x40000000,
  deadTid | 0x80000000, deadTid | 0xc0000000, 0x3ffffffe, 0x00400000, 0x00400001,
];
let seed = 0x2545f491;
for (let i = 0; i < RANDOM; i++) {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  patterns.push(seed >>> 0);
}

const counts = { acquired: 0, ownerDied: 0, busy: 0, deadlock: 0, timeout: 0 };
function check(pattern: number, how: string, outcome: unknown): void {
  const owner = pattern & 0x3fffffff;
  const fail = (why: string) => { throw new Error(\`\${how} on 0x\${pattern.toString(16)}: \${why} (\${String(outcome)})\`); };
  if (outcome === 'acquired' || outcome === 'owner-died') {
    if (owner === tid) fail('took a lock this thread holds');
    if (owner === 0 && outcome !== ((pattern & 0x40000000) ? 'owner-died' : 'acquired')) fail('wrong result on a free word');
    if (mutex.owner !== tid) fail('not the owner after acquiring');
    mutex.unlock();
    if (word[0] !== 0) fail('unlock left ' + word[0]);
    outcome === 'acquired' ? counts.acquired++ : counts.ownerDied++;
  } else if (outcome === false) {
    if (owner === 0) fail('a free word was refused');
    counts.busy++;
  } else if (outcome instanceof Error) {
    const code = (outcome as { code?: string }).code;
    if (code === 'ERR_MUTEX_DEADLOCK' && owner === tid) counts.deadlock++;
    else if (code === 'ERR_MUTEX_TIMEOUT' && owner !== 0 && owner !== tid) counts.timeout++;
    else fail('unexpected error ' + code + ' ' + outcome.message);
  } else fail('unexpected outcome');
}

for (const pattern of patterns) {
  word[0] = pattern | 0;
  check(pattern, 'tryLock', mutex.tryLock());
  word[0] = pattern | 0;
  // Owner bits 0: lock() takes the free word at once, with no timeout; otherwise a zero timeout bounds it.
  const timeout = (pattern & 0x3fffffff) === 0 ? undefined : 0;
  try { check(pattern, 'lock', mutex.lock({ timeout })); } catch (error) { check(pattern, 'lock', error); }
  word[0] = pattern | 0;
  try { check(pattern, 'lockAsync', await mutex.lockAsync({ timeout })); } catch (error) { check(pattern, 'lockAsync', error); }
  word[0] = pattern | 0;
  try {
    mutex.unlock();
    if ((pattern & 0x3fffffff) !== tid) throw new Error('unlock of a word this thread does not own succeeded');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MUTEX_NOT_OWNER') throw error;
  }
}
console.log(JSON.stringify({ patterns: patterns.length, ...counts }));
`;

describe('hostile words in a Mutex (child processes)', () => {
  it('every interesting pattern and 3,000 seeded random ones: a result or a coded error, never an abort', async () => {
    const report = await scriptReport(tmp, 'mutex-words', FUZZ, ['3000'], { timeoutMs: 120_000 });
    const counts = JSON.parse(report) as Record<string, number>;
    expect(counts.patterns).toBe(3023);
    // Each class was reached: free words with flag bits, dead owners, live foreign owners, this thread's own word.
    expect(counts.acquired).toBeGreaterThan(0);
    expect(counts.ownerDied).toBeGreaterThan(0);
    expect(counts.busy).toBeGreaterThan(0);
    expect(counts.timeout).toBeGreaterThan(0);
    expect(counts.deadlock).toBe(2 * 4); // lock and lockAsync on tid with each of the 4 flag combinations
  });

  it("0x80000000 and 0x40000000 (the kernel's FUTEX_OWNER_DIED) left by another process: free, 'owner-died' for the latter", async () => {
    const report = await scriptReport(
      tmp,
      'mutex-flags',
      `import { MappedFile, Mutex } from __SRC__;
      using file = MappedFile.anonymous(4096);
      const mutex = new Mutex(file.buffer, 0);
      const out = [];
      for (const word of [0x80000000, 0x40000000, 0xc0000000]) {
        file.buffer.writeUInt32LE(word, 0);
        const result = mutex.tryLock();
        out.push(result, file.buffer.readUInt32LE(0).toString(16));
        mutex.unlock();
        file.buffer.writeUInt32LE(word, 0);
        out.push(await mutex.lockAsync());
        mutex.unlock();
        file.buffer.writeUInt32LE(word, 0);
        out.push(mutex.lock());
        mutex.unlock();
      }
      console.log(out.join(' '));`,
    );
    const pid = (n: number) => (n >>> 0).toString(16);
    const [a, b, c] = report
      .trim()
      .split(' ')
      .reduce<string[][]>((rows, item, i) => {
        (rows[Math.floor(i / 4)] ??= []).push(item);
        return rows;
      }, []);
    expect(a![0]).toBe('acquired');
    expect(b![0]).toBe('owner-died');
    expect(c![0]).toBe('owner-died');
    // WAITERS is kept (a sleeper may exist), OWNER_DIED is dropped; the rest is the owner's id.
    expect(Number.parseInt(a![1]!, 16) & 0x80000000).not.toBe(0);
    expect(Number.parseInt(b![1]!, 16) >>> 30).toBe(0);
    expect(pid(Number.parseInt(c![1]!, 16) & 0x3fffffff)).toBe(pid(Number.parseInt(b![1]!, 16)));
    expect([a![2], a![3], b![2], b![3], c![2], c![3]]).toEqual([
      'acquired',
      'acquired',
      'owner-died',
      'owner-died',
      'owner-died',
      'owner-died',
    ]);
  });

  it("a caller that shadows an atomic's cell with a lying view: wait/notify use the real one", async () => {
    const report = await scriptReport(
      tmp,
      'lying-cell',
      `import { AtomicInt32, MappedFile, notify, wait } from __SRC__;
      using file = MappedFile.anonymous(4096);
      const word = new AtomicInt32(file.buffer, 0);
      word.store(7);
      // A detached Int32Array whose length getter says 1: the addon would see a NULL base.
      const other = MappedFile.anonymous(4096);
      const liar = new Int32Array(other.buffer.buffer, 0, 1);
      other.close();
      Object.defineProperty(liar, 'length', { get: () => 1 });
      Object.defineProperty(word, 'cell', { value: liar });
      console.log(wait(word, 0, 1e9), notify(word));`,
    );
    expect(report).toBe('not-equal 0');
  });
});

describe('views and prototypes that lie about memory (child processes)', () => {
  it('a patched TypedArray length getter and lying views: closed memory is ERR_MAPPING_CLOSED, never the addon', async () => {
    const report = await scriptReport(
      tmp,
      'lying-prototype',
      `import { AtomicInt32, MappedFile, Mutex, notify, wait, waitAsync } from __SRC__;
      const codes = [];
      const attempt = async (fn) => { try { await fn(); codes.push('returned'); } catch (error) { codes.push(error.code ?? error.name); } };
      // A view whose byteOffset and byteLength getters lie: the engine's own values decide.
      const file = MappedFile.anonymous(4096);
      class Liar extends Uint8Array {
        get byteOffset() { return 4093; }
        get byteLength() { return 1 << 30; }
      }
      const liar = new Liar(file.buffer.buffer, 0, 8);
      await attempt(() => new AtomicInt32(liar, 8)); // past the real 8 bytes
      await attempt(() => new AtomicInt32(liar, 4).store(1));
      // Every typed array now says it has one element, even detached ones.
      const word = new AtomicInt32(file.buffer, 0);
      const mutex = new Mutex(file.buffer, 8);
      file.buffer.writeUInt32LE(1, 8); // held by init: lock takes the slow path
      const prototype = Object.getPrototypeOf(Uint8Array.prototype);
      Object.defineProperty(prototype, 'length', { get: () => 1, configurable: true });
      file.close();
      await attempt(() => wait(word, 0, 10));
      await attempt(() => waitAsync(word, 0, 10));
      await attempt(() => notify(word));
      await attempt(() => mutex.lock({ timeout: 10 }));
      await attempt(() => mutex.lockAsync({ timeout: 10 }));
      await attempt(() => mutex.tryLock());
      await attempt(() => mutex.unlock());
      console.log(codes.join(' '));`,
    );
    const codes = report.split(' ');
    expect(codes.slice(0, 2)).toEqual(['ERR_OUT_OF_RANGE', 'returned']);
    // wait, waitAsync, notify, lockAsync, tryLock: coded. The one-instruction fast paths of lock and unlock meet
    // the detached view through Atomics, which throws its own TypeError: no native call is ever reached.
    const [waited, waitedAsync, notified, locked, lockedAsync, tried, unlocked] = codes.slice(2);
    expect([waited, waitedAsync, notified, lockedAsync, tried], codes.join(' ')).toEqual(
      Array(5).fill('ERR_MAPPING_CLOSED'),
    );
    expect(['ERR_MAPPING_CLOSED', 'TypeError']).toContain(locked);
    expect(['ERR_MAPPING_CLOSED', 'TypeError']).toContain(unlocked);
  });
});
