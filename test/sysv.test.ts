import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { char, int32, struct } from '../src/layout/index.js';
import { AtomicInt32 } from '../src/shared/index.js';
import { Attachment, Segment, Semaphore, ftok } from '../src/sysv/index.js';
import { attachReadOnlyRaw } from '../src/unsafe.js';
import { stageForUser, type StagedChild } from './helpers/as-user.js';
import { compileC, runC } from './helpers/cc.js';
import { scriptReport } from './helpers/child.js';
import { useTempDir } from './helpers/temp.js';
import { ended, randomKey, runWorker, startWorker, useIpcCleanup } from './shared/helpers.js';

const tmp = useTempDir();
const track = useIpcCleanup();
const CHILD = new URL('./shared/fixtures/sysv-child.mts', import.meta.url).pathname;
const SYSV = new URL('../src/sysv/index.ts', import.meta.url).pathname;
const FACES = new URL('../src/mapping-faces.ts', import.meta.url).pathname;
const NATIVE = new URL('../src/native.ts', import.meta.url).pathname;

/** A new segment under a fresh random key (exclusive, so never one another test made). */
function fresh(size = 4096, mode = 0o600): Segment {
  for (;;) {
    try {
      return track.segment(Segment.create(randomKey(), size, { mode, exclusive: true }));
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
  }
}

/** The child bundled where another user can read it (a checkout may live in a private home directory). */
const staged = new Map<number, ReturnType<typeof stageForUser>>();
function stagedFor(uid: number): StagedChild {
  if (!staged.has(uid)) staged.set(uid, stageForUser(CHILD, uid));
  const child = staged.get(uid)!;
  if (!child.ok) throw new Error(child.reason);
  return child;
}

/** Runs the sysv child on a segment, optionally as another user; returns its trimmed stdout. */
function child(
  id: number,
  command: string,
  options: { uid?: number } = {},
): Promise<{ out: string; code: number | null; signal: string | null; err: string }> {
  const [node, args] =
    options.uid === undefined
      ? [process.execPath, ['--import', 'tsx', CHILD]]
      : [stagedFor(options.uid).node, [stagedFor(options.uid).script]];
  return new Promise((resolve, reject) => {
    const proc = spawn(node, [...args, String(id), command], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ out: out.trim(), code, signal, err }));
  });
}

const NOBODY = 65534;

describe('ftok', () => {
  it('gives the same key for the same path and project id, a different one for another id', () => {
    const path = tmp('ftok-file');
    writeFileSync(path, '');
    expect(ftok(path, 1)).toBe(ftok(path, 1));
    expect(ftok(path, 1)).not.toBe(ftok(path, 2));
  });

  it('ENOENT when the path does not exist', () => {
    expect(() => ftok(tmp('missing'), 1)).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'ftok', path: tmp('missing'), errno: -2 }),
    );
  });

  it('rejects bad arguments with Node codes', () => {
    expect(() => ftok(1 as never, 1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => ftok('a\0b', 1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => ftok('/', 0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => ftok('/', 256)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => ftok('/', '1' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});

describe('Segment: create, open, private, and their errors', () => {
  it('create makes a zero-filled segment; open by the key finds the same one', () => {
    const segment = fresh(10_000);
    const opened = Segment.open(segment.key);
    expect(opened.id).toBe(segment.id);
    expect(opened.size).toBe(10_000);
    using attachment = opened.attach();
    expect(attachment.buffer.length).toBe(10_000);
    expect(attachment.buffer.every((byte) => byte === 0)).toBe(true);
    // A getter over the size read at attach: no assignment changes what detach() counts against the kept budget.
    expect(attachment.length).toBe(10_000);
    expect(() => ((attachment as { length: number }).length = 1 << 30)).toThrow(TypeError);
  });

  it('create without exclusive opens an existing segment; exclusive gives EEXIST', () => {
    const segment = fresh();
    expect(Segment.create(segment.key, 100).id).toBe(segment.id);
    expect(() => Segment.create(segment.key, 4096, { exclusive: true })).toThrow(
      expect.objectContaining({ code: 'EEXIST', syscall: 'shmget', key: segment.key | 0 }),
    );
  });

  it('open of a key with no segment: ENOENT', () => {
    const segment = fresh();
    const key = segment.key;
    segment.remove();
    expect(() => Segment.open(key)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'shmget', errno: -2 }));
  });

  it('EINVAL: a size larger than the existing segment with the key', () => {
    const segment = fresh(4096);
    expect(() => Segment.create(segment.key, 8192)).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'shmget' }),
    );
  });

  it('private segments have key 0, and another process attaches them by id', async () => {
    const segment = track.segment(Segment.private(4096));
    expect(segment.key).toBe(0);
    expect(segment.stat().key).toBe(0);
    using attachment = segment.attach();
    attachment.buffer.write('hello, world', 'latin1');
    expect((await child(segment.id, 'read-ro')).out).toBe('hello, world');
  });

  it('rejects bad arguments with Node codes, before any syscall', () => {
    expect(() => Segment.create(0, 4096)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => Segment.create('1' as never, 4096)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => Segment.create(2 ** 32, 4096)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Segment.create(1.5, 4096)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Segment.create(randomKey(), 0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Segment.create(randomKey(), -1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Segment.create(randomKey(), '1' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => Segment.create(randomKey(), 4096, { mode: 0o1000 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => Segment.create(randomKey(), 4096, { exclusive: 1 as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => Segment.create(randomKey(), 4096, 5 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => Segment.open(0)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => Segment.private(0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Segment.fromId(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    const segment = fresh();
    expect(() => segment.attach({ readOnly: 'yes' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => segment.set({ mode: 0o7777 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => segment.set({ uid: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => segment.set(undefined as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => attachReadOnlyRaw({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    // instanceof would pass these; what makes a Segment is its private id.
    for (const fake of [Object.create(Segment.prototype), new Proxy(segment, {})])
      expect(() => attachReadOnlyRaw(fake as Segment)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
  });

  it('a Segment and a Semaphore show and serialize as their id and key', () => {
    const segment = fresh();
    expect(JSON.parse(JSON.stringify(segment))).toEqual({ id: segment.id, key: segment.key });
    expect(inspect(segment)).toContain(`id: ${segment.id}`);
    const semaphore = track.semaphore(Semaphore.private({ initial: 1 }));
    expect(JSON.parse(JSON.stringify({ semaphore }))).toEqual({ semaphore: { id: semaphore.id, key: 0 } });
    expect(inspect(semaphore)).toContain(`id: ${semaphore.id}`);
  });

  it('the Attachment constructor is not callable by users: ERR_ILLEGAL_CONSTRUCTOR, nothing mapped', () => {
    const segment = fresh();
    const construct = Attachment as unknown as new (...args: unknown[]) => Attachment;
    const forged = new ArrayBuffer(4096);
    expect(() => new construct(Symbol('Attachment'), segment, forged, false)).toThrow(
      expect.objectContaining({ code: 'ERR_ILLEGAL_CONSTRUCTOR', name: 'TypeError' }),
    );
    expect(() => new construct(segment, forged, false)).toThrow(
      expect.objectContaining({ code: 'ERR_ILLEGAL_CONSTRUCTOR' }),
    );
    expect(segment.stat().nattch).toBe(0);
    using attachment = segment.attach();
    expect(attachment).toBeInstanceOf(Attachment);
  });
});

describe('attachments', () => {
  it('two attachments see the same bytes; after detach a Buffer taken from it keeps its length over a private copy', () => {
    const segment = fresh();
    const a = segment.attach();
    const b = segment.attach();
    const kept = a.buffer;
    const view = new Int32Array(kept.buffer, kept.byteOffset, 4);
    const Header = struct({ tag: char(6), n: int32 });
    const header = Header.view(kept);
    const word = new AtomicInt32(kept, 8);
    a.buffer.write('shared', 'latin1');
    word.store(41);
    expect(b.buffer.toString('latin1', 0, 6)).toBe('shared');
    expect(b.buffer.readInt32LE(8)).toBe(41);
    expect(header.n).toBe(41);
    expect(segment.stat().nattch).toBe(2);
    a.detach();
    a.detach(); // idempotent
    expect(a.detached).toBe(true);
    expect(() => a.buffer).toThrow(expect.objectContaining({ code: 'ERR_SEGMENT_DETACHED' }));
    expect(segment.stat().nattch).toBe(1); // the kernel's attachment ended at detach(), not when `kept` is collected
    // The Buffer and a typed array over it keep their length and read the bytes as they were at detach()...
    expect(kept.length).toBe(4096);
    expect(view.length).toBe(4);
    expect(kept.toString('latin1', 0, 6)).toBe('shared');
    expect(view[2]).toBe(41);
    // ...which no longer follow the segment: another attachment's write is not seen,
    b.buffer.write('LATER!', 'latin1');
    b.buffer.writeInt32LE(7, 8);
    expect(kept.toString('latin1', 0, 6)).toBe('shared');
    expect(view[2]).toBe(41);
    // and a write through them reaches no attachment (the copy is private to this process).
    kept.write('stale!', 'latin1');
    view[2] = 99;
    kept.fill(0xee, 16);
    expect(kept.toString('latin1', 0, 6)).toBe('stale!');
    expect(b.buffer.toString('latin1', 0, 6)).toBe('LATER!');
    expect(b.buffer.readInt32LE(8)).toBe(7);
    expect(b.buffer.subarray(16).every((byte) => byte === 0)).toBe(true);
    using c = segment.attach(); // a fresh attachment sees the segment, not the copy
    expect(c.buffer.toString('latin1', 0, 6)).toBe('LATER!');
    // Layout views and atomics are built on the guarded face, which detach() detached: they throw, before and after.
    expect(() => header.n).toThrow(expect.objectContaining({ code: 'ERR_DETACHED_BUFFER' }));
    expect(() => Header.read(kept)).toThrow(expect.objectContaining({ code: 'ERR_DETACHED_BUFFER' }));
    expect(() => word.load()).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_CLOSED' }));
    expect(() => new AtomicInt32(kept, 8)).toThrow(expect.objectContaining({ code: 'ERR_MAPPING_CLOSED' }));
    expect(segment.stat().nattch).toBe(2);
    b.detach();
  });

  it('a read-only attachment, detached: its Buffer keeps the segment and its own private page, and follows neither', () => {
    const segment = fresh(8192);
    using writer = segment.attach();
    writer.buffer.write('page zero', 'latin1');
    writer.buffer.write('page one', 4096, 'latin1');
    const readOnly = segment.attach({ readOnly: true });
    const kept = readOnly.buffer;
    kept[0] = 0x50; // 'P': a private copy of page 0 (the SIGSEGV handler's), never the segment's
    readOnly.detach();
    expect(segment.stat().nattch).toBe(1);
    expect(kept.length).toBe(8192);
    expect(kept.toString('latin1', 0, 9)).toBe('Page zero');
    expect(kept.toString('latin1', 4096, 4104)).toBe('page one');
    writer.buffer.write('PAGE ONE', 4096, 'latin1'); // page 1 was still the segment's until detach(): no longer
    expect(kept.toString('latin1', 4096, 4104)).toBe('page one');
    kept.write('gone', 4096, 'latin1'); // writable now (a private copy), and still reaching nothing
    expect(kept.toString('latin1', 4096, 4100)).toBe('gone');
    expect(writer.buffer.toString('latin1', 0, 9)).toBe('page zero');
    expect(writer.buffer.toString('latin1', 4096, 4104)).toBe('PAGE ONE');
  });

  it('past the budget of kept ranges, detach() falls back to detaching the Buffer too (length 0); nattch drops either way', async () => {
    // In a child: the budget counts this process's kept ranges (mapping-faces.ts KEPT_RANGES_BUDGET), which a
    // synchronous loop cannot release (the collector frees them only after the event loop turns).
    const report = await scriptReport(
      tmp,
      'sysv-budget',
      `import { Segment } from ${JSON.stringify(SYSV)};
      import { KEPT_RANGES_BUDGET } from ${JSON.stringify(FACES)};
      import { native } from ${JSON.stringify(NATIVE)};
      const segment = Segment.private(4096);
      const held = [];
      const lengths = new Set();
      let afterDetach = 0;
      for (let i = 0; i < KEPT_RANGES_BUDGET + 3; i++) {
        const attachment = segment.attach();
        attachment.buffer[0] = i & 0xff;
        held.push(attachment.buffer);
        attachment.detach();
        afterDetach = Math.max(afterDetach, segment.stat().nattch);
      }
      for (const buffer of held.slice(0, KEPT_RANGES_BUDGET)) lengths.add(buffer.length);
      const past = held.slice(KEPT_RANGES_BUDGET).map((buffer) => [buffer.length, buffer[0] ?? null]);
      const first = held[1][0];
      const keptBefore = native.retired()[0];
      held.length = 0;
      for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((done) => setImmediate(done)); }
      const keptAfter = native.retired()[0];
      const again = segment.attach();
      const fresh = again.buffer;
      again.detach();
      console.log(JSON.stringify({ budget: KEPT_RANGES_BUDGET, lengths: [...lengths], past, first, afterDetach, nattch: segment.stat().nattch, keptBefore, keptAfter, freshLength: fresh.length }));
      segment.remove();`,
      [],
      { nodeArgs: ['--expose-gc'] },
    );
    const out = JSON.parse(report) as {
      budget: number;
      lengths: number[];
      past: [number, number | null][];
      first: number;
      afterDetach: number;
      nattch: number;
      keptBefore: number;
      keptAfter: number;
      freshLength: number;
    };
    expect(out.lengths).toEqual([4096]); // the first `budget` kept
    expect(out.first).toBe(1);
    expect(out.past).toEqual([
      [0, null],
      [0, null],
      [0, null],
    ]); // the rest detached as before faces existed
    expect(out.afterDetach).toBe(0); // each attachment ended at its detach(), kept or not
    expect(out.nattch).toBe(0);
    expect(out.keptBefore).toBe(out.budget);
    expect(out.keptAfter).toBeLessThan(out.budget); // collected: the budget is free again...
    expect(out.freshLength).toBe(4096); // ...and the next detach() keeps its Buffer
  });

  it('using detaches at the end of the scope', () => {
    const segment = fresh();
    {
      using attachment = segment.attach();
      expect(segment.stat().nattch).toBe(1);
      expect(attachment.length).toBe(4096);
    }
    expect(segment.stat().nattch).toBe(0);
  });

  it('a read-only attachment reads live; a JavaScript write does not crash and stays private to that page', async () => {
    const segment = fresh(8192);
    using mine = segment.attach();
    mine.buffer.write('hello, world', 'latin1');
    const result = await child(segment.id, 'write-ro');
    expect(result, result.err).toMatchObject({ code: 0, signal: null });
    expect(result.out).toBe('XXXXo, world'); // the child sees its own write, in its private copy of the page
    expect(mine.buffer.toString('latin1', 0, 12)).toBe('hello, world'); // the segment never changed
    // In this process too: other pages keep following the segment after one page was copied.
    using readOnly = segment.attach({ readOnly: true });
    readOnly.buffer[0] = 0x21;
    mine.buffer.write('live', 4096, 'latin1');
    expect(readOnly.buffer.toString('latin1', 0, 5)).toBe('!ello');
    expect(readOnly.buffer.toString('latin1', 4096, 4100)).toBe('live');
    expect(mine.buffer.toString('latin1', 0, 5)).toBe('hello');
  });

  it('unsafe.attachReadOnlyRaw: the same write kills the process with SIGSEGV (why it is unsafe)', async () => {
    const segment = fresh();
    const result = await child(segment.id, 'write-raw');
    expect(result.signal).toBe('SIGSEGV');
  });
});

describe('stat, set, remove', () => {
  it('stat reports size, mode, owners, creator pid, attachment count and times', () => {
    // The kernel stamps ctime in whole seconds from its coarse clock, which may trail Date.now() past a second.
    const before = Math.floor(Date.now() / 1000) * 1000 - 1000;
    const segment = fresh(5000, 0o640);
    let stat = segment.stat();
    expect(stat).toMatchObject({
      key: segment.key | 0,
      size: 5000,
      mode: 0o640,
      removed: false,
      nattch: 0,
      cpid: process.pid,
    });
    expect(stat).toMatchObject({
      uid: process.getuid!(),
      gid: process.getgid!(),
      cuid: process.getuid!(),
      cgid: process.getgid!(),
    });
    expect(stat.atime).toBeNull();
    expect(stat.dtime).toBeNull();
    expect(stat.ctime!.getTime()).toBeGreaterThanOrEqual(before);
    segment.attach().detach();
    stat = segment.stat();
    expect(stat.atime).toBeInstanceOf(Date);
    expect(stat.dtime).toBeInstanceOf(Date);
    expect(stat.lpid).toBe(process.pid);
  });

  it('set changes mode, uid and gid; the ones not given stay', () => {
    const segment = fresh();
    segment.set({ mode: 0o644 });
    expect(segment.stat()).toMatchObject({ mode: 0o644, uid: 0 });
    segment.set({ uid: NOBODY, gid: NOBODY });
    expect(segment.stat()).toMatchObject({ mode: 0o644, uid: NOBODY, gid: NOBODY, cuid: 0 });
  });

  it('remove: the key is free at once, the bytes stay until the last attachment detaches', () => {
    const segment = fresh();
    const attachment = segment.attach();
    attachment.buffer.write('still here', 'latin1');
    segment.remove();
    expect(segment.stat()).toMatchObject({ removed: true, key: 0, nattch: 1 });
    expect(() => Segment.open(segment.key)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(attachment.buffer.toString('latin1', 0, 10)).toBe('still here');
    const kept = attachment.buffer;
    attachment.detach();
    // Gone at detach(), though `kept` still holds (a private copy of) its bytes.
    expect(() => segment.stat()).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'shmctl' }));
    expect(kept.toString('latin1', 0, 10)).toBe('still here');
  });

  it('the id of a removed segment: EINVAL, even once its slot holds a new segment (EIDRM is the semaphore test below)', () => {
    const removed = track.segment(Segment.private(4096));
    removed.remove();
    expect(() => removed.stat()).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'shmctl', id: removed.id }),
    );
    // An id is slot + 32768 * sequence; slots are handed out cyclically. Even when a new segment lands in the
    // removed one's slot, Linux (since 4.x) answers EINVAL for the stale id: for segments it reports EIDRM only to
    // a call that races with the removal, which no test can schedule. Semaphores reach EIDRM deterministically.
    let reused = false;
    for (let i = 0; i < 40_000 && !reused; i++) {
      const next = Segment.private(1);
      reused = next.id % 32768 === removed.id % 32768;
      if (reused) track.segment(next);
      else next.remove();
    }
    expect(reused).toBe(true);
    expect(() => removed.stat()).toThrow(expect.objectContaining({ code: 'EINVAL', id: removed.id }));
    expect(() => removed.attach()).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('EACCES / EPERM: a process of another user (nobody) against a 0600 segment', async (context) => {
    const forNobody = stageForUser(CHILD, NOBODY);
    staged.set(NOBODY, forNobody);
    if (!forNobody.ok) {
      console.log(`memmap: the test as user nobody cannot run here: ${forNobody.reason}`);
      context.skip();
    }
    const segment = fresh(4096, 0o600);
    expect((await child(segment.id, 'attach', { uid: NOBODY })).out).toBe('EACCES');
    expect((await child(segment.id, 'attach-ro', { uid: NOBODY })).out).toBe('EACCES');
    expect((await child(segment.id, 'stat', { uid: NOBODY })).out).toBe('EACCES');
    expect((await child(segment.id, 'set', { uid: NOBODY })).out).toBe('EPERM');
    expect((await child(segment.id, 'remove', { uid: NOBODY })).out).toBe('EPERM');
    // 0604: others may read, not write. Read-only attach works, a read-write one is still EACCES.
    segment.set({ mode: 0o604 });
    using mine = segment.attach();
    mine.buffer.write('for nobody', 'latin1');
    expect((await child(segment.id, 'attach', { uid: NOBODY })).out).toBe('EACCES');
    expect((await child(segment.id, 'read-ro', { uid: NOBODY })).out).toBe('for nobody\0\0');
  });
});

// The seeds' two-process example, both ways: a C program and Node meet on a key made with ftok.
const cProgram = `
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int main(int argc, char **argv) {
  key_t key = ftok(argv[2], 'M');
  if (key == -1) { perror("ftok"); return 2; }
  if (strcmp(argv[1], "write") == 0) {
    int id = shmget(key, 4096, IPC_CREAT | 0600);
    if (id < 0) { perror("shmget"); return 2; }
    char *data = shmat(id, NULL, 0);
    if (data == (void *)-1) { perror("shmat"); return 2; }
    strcpy(data, "hello, world");
    shmdt(data);
  } else {
    int id = shmget(key, 0, 0);
    if (id < 0) { perror("shmget"); return 2; }
    char *data = shmat(id, NULL, SHM_RDONLY);
    if (data == (void *)-1) { perror("shmat"); return 2; }
    printf("%s\\n", data);
    shmdt(data);
  }
  return 0;
}
`;

describe('a C program and Node share a System V segment', () => {
  const binary = compileC(tmp, 'sysv-hello', cProgram);

  it('C creates the segment and writes "hello, world"; Node attaches by the same key and reads it', () => {
    const path = tmp('key-c-to-node');
    writeFileSync(path, '');
    const key = ftok(path, 'M'.charCodeAt(0));
    try {
      runC(binary, ['write', path]);
      using attachment = Segment.open(key).attach({ readOnly: true });
      expect(attachment.buffer.toString('latin1', 0, 12)).toBe('hello, world');
      expect(attachment.buffer[12]).toBe(0);
    } finally {
      try {
        Segment.open(key).remove();
      } catch {
        // C failed before creating it
      }
    }
  });

  it('Node creates the segment and writes "hello, world"; C attaches by the same key and reads it', () => {
    const path = tmp('key-node-to-c');
    writeFileSync(path, '');
    const segment = track.segment(Segment.create(ftok(path, 'M'.charCodeAt(0)), 4096, { exclusive: true }));
    {
      using attachment = segment.attach();
      attachment.buffer.write('hello, world\0', 'latin1');
    }
    expect(runC(binary, ['read', path])).toBe('hello, world\n');
  });
});

const cSemaphore = `
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>

/* sem-add SEMKEY SEGID N: N increments of the int at byte 8 of the segment, each under the semaphore. */
int main(int argc, char **argv) {
  int sem = semget((key_t)strtol(argv[1], NULL, 0), 1, 0);
  if (sem < 0) { perror("semget"); return 2; }
  char *data = shmat(atoi(argv[2]), NULL, 0);
  if (data == (void *)-1) { perror("shmat"); return 2; }
  volatile int *counter = (volatile int *)(data + 8);
  struct sembuf down = {0, -1, SEM_UNDO}, up = {0, +1, SEM_UNDO};
  for (long i = 0, n = atol(argv[3]); i < n; i++) {
    if (semop(sem, &down, 1) != 0) { perror("semop"); return 2; }
    *counter = *counter + 1;
    if (semop(sem, &up, 1) != 0) { perror("semop"); return 2; }
  }
  shmdt(data);
  return 0;
}
`;

describe('Semaphore (System V, SEM_UNDO)', () => {
  it('C programs and Node processes contend on one semaphore: the shared counter is exact', async () => {
    const binary = compileC(tmp, 'sem-add', cSemaphore);
    const segment = track.segment(Segment.private(4096));
    let semaphore: Semaphore;
    for (;;) {
      try {
        semaphore = track.semaphore(Semaphore.create(randomKey(), { exclusive: true }));
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== 'EEXIST') throw error;
      }
    }
    const runCProgram = () =>
      new Promise<number | null>((resolve) => {
        const proc = spawn(binary, [String(semaphore.key), String(segment.id), '20000'], { stdio: 'inherit' });
        proc.on('close', resolve);
      });
    const memory = `segment:${segment.id}`;
    const [c1, c2, n1, n2] = await Promise.all([
      runCProgram(),
      runCProgram(),
      runWorker(memory, ['sem-add', String(semaphore.key), '20000']),
      runWorker(memory, ['sem-add', String(semaphore.key), '20000']),
    ]);
    expect([c1, c2]).toEqual([0, 0]);
    expect(n1, n1.stderr).toMatchObject({ code: 0 });
    expect(n2, n2.stderr).toMatchObject({ code: 0 });
    using attachment = segment.attach();
    expect(attachment.buffer.readInt32LE(8)).toBe(80_000);
    expect(semaphore.value).toBe(1);
  });

  it('a holder killed with SIGKILL: the kernel undoes its hold (SEM_UNDO)', async () => {
    const segment = track.segment(Segment.private(4096));
    const semaphore = track.semaphore(Semaphore.create(randomKey(), { exclusive: true }));
    const holder = track.child(await startWorker(`segment:${segment.id}`, ['sem-hold', String(semaphore.key)], 'held'));
    expect(semaphore.value).toBe(0);
    expect(semaphore.tryAcquire()).toBe(false);
    holder.kill('SIGKILL');
    await ended(holder);
    expect(semaphore.acquire(1, { timeout: 5000 })).toBe(true);
    semaphore.release();
  });

  it('acquire, tryAcquire, release, timeouts, acquireAsync', async () => {
    const semaphore = track.semaphore(Semaphore.private({ initial: 2 }));
    expect(semaphore.value).toBe(2);
    expect(semaphore.acquire(2)).toBe(true);
    expect(semaphore.tryAcquire()).toBe(false);
    expect(semaphore.acquire(1, { timeout: 10 })).toBe(false);
    expect(await semaphore.acquireAsync(1, { timeout: 10 })).toBe(false);
    const later = semaphore.acquireAsync();
    semaphore.release(2);
    expect(await later).toBe(true);
    expect(semaphore.value).toBe(1);
  });

  it('EIDRM: a waiter whose semaphore is removed (errno 43, which libuv does not name); ENOENT: open of a missing key; EEXIST: exclusive create', async () => {
    const semaphore = track.semaphore(Semaphore.create(randomKey(), { initial: 0, exclusive: true }));
    expect(() => Semaphore.create(semaphore.key, { exclusive: true })).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
    const waiting = semaphore.acquireAsync();
    await new Promise((resolve) => setTimeout(resolve, 20));
    semaphore.remove();
    await expect(waiting).rejects.toMatchObject({
      code: 'EIDRM',
      syscall: 'semop',
      errno: -43,
      key: semaphore.key | 0,
    });
    expect(() => Semaphore.open(semaphore.key)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'semget' }));
    expect(() => semaphore.value).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('rejects bad arguments with Node codes', () => {
    const semaphore = track.semaphore(Semaphore.private());
    expect(() => Semaphore.create(0)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => Semaphore.create(randomKey(), { initial: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => semaphore.acquire(0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => semaphore.acquire(1, { timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => semaphore.acquire(1, { timeout: '1' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => semaphore.release(1.5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => semaphore.tryAcquire('1' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('timeouts as for wait and Mutex: Infinity and anything past 2^40 ms are none, fractions round up', async () => {
    const semaphore = track.semaphore(Semaphore.private({ initial: 3 }));
    expect(semaphore.acquire(1, { timeout: 1e13 })).toBe(true);
    expect(semaphore.acquire(1, { timeout: Infinity })).toBe(true);
    expect(await semaphore.acquireAsync(1, { timeout: Number.MAX_VALUE })).toBe(true);
    expect(semaphore.acquire(1, { timeout: 0.5 })).toBe(false);
    semaphore.release(3);
    expect(semaphore.value).toBe(3);
  });
});
