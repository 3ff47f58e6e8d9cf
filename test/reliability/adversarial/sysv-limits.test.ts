/**
 * Promise: a System V segment or owner that another program made, however large or unusual, gives a coded error
 * or works; the addon never aborts or frees twice. Each attack runs in a child process.
 */
import { constants as bufferConstants } from 'node:buffer';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Segment } from '../../../src/sysv/index.js';
import { compileC, runC } from '../../helpers/cc.js';
import { scriptReport } from '../../helpers/child.js';
import { useTempDir } from '../../helpers/temp.js';
import { randomKey, useIpcCleanup } from '../../shared/helpers.js';

const tmp = useTempDir();
const track = useIpcCleanup();
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

/** A C program that makes a private segment of argv[1] bytes and prints its id (nothing is touched: no memory). */
const MAKE_SEGMENT = `
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/shm.h>
int main(int argc, char **argv) {
  (void)argc;
  int id = shmget(IPC_PRIVATE, strtoull(argv[1], NULL, 10), IPC_CREAT | 0600);
  if (id < 0) { perror("shmget"); return 1; }
  printf("%d\\n", id);
  return 0;
}
`;

describe('System V limits and unusual owners (child processes)', () => {
  it("a segment larger than the runtime's largest ArrayBuffer: ERR_SEGMENT_TOO_LARGE before shmat, by every attach", async () => {
    const size = bufferConstants.MAX_LENGTH + 4096; // from the running runtime, never a constant
    let made: string;
    try {
      made = runC(compileC(tmp, 'make-segment', MAKE_SEGMENT), [String(size)]);
    } catch (error) {
      // Node 22+ allow buffers of 2^53 bytes: no kernel gives a segment that large, so the case cannot arise there.
      console.log(
        `sysv-limits: no segment of ${size} bytes can be made here, so none can outgrow the largest ArrayBuffer (${(error as Error).message.split('\n')[1] ?? ''})`,
      );
      return;
    }
    const id = Number(made.trim());
    track.segmentId(id);
    const report = await scriptReport(
      tmp,
      'attach-too-large',
      `import { Segment } from ${JSON.stringify(`${SRC}/sysv/index.ts`)};
      import { attachReadOnlyRaw } from ${JSON.stringify(`${SRC}/unsafe.ts`)};
      import { native } from ${JSON.stringify(`${SRC}/native.ts`)};
      const segment = Segment.fromId(${id});
      const out = [];
      for (const attach of [() => segment.attach(), () => segment.attach({ readOnly: true }), () => attachReadOnlyRaw(segment)]) {
        try { attach(); out.push('attached'); } catch (error) { out.push(error.code); }
      }
      out.push(segment.stat().nattch);
      // Below the TypeScript check: the addon's own hand-off. Node-API runs the finalizer (shmdt + free) inside the
      // failing napi_create_external_arraybuffer; the error path must neither detach nor free a second time.
      for (let i = 0; i < 3; i++) {
        try { native.shmat(${id}, ${size}, 0); out.push('attached'); } catch (error) { out.push(error.code ?? error.name); }
      }
      out.push(segment.stat().nattch);
      console.log(out.join(' '));`,
    );
    const out = report.split(' ');
    expect(out.slice(0, 4)).toEqual([...Array<string>(3).fill('ERR_SEGMENT_TOO_LARGE'), '0']);
    expect(out.slice(4, 7).every((code) => code !== 'attached')).toBe(true);
    expect(out[7]).toBe('0'); // each failed hand-off detached exactly once
    expect(Segment.fromId(id).stat().nattch).toBe(0);
  });

  it('an owner uid above 2^31 (as 4294967294, "nobody" on some systems): set() keeps it, never an addon assertion', async () => {
    const segment = track.segment(Segment.create(randomKey(), 4096, { exclusive: true }));
    const report = await scriptReport(
      tmp,
      'large-uid',
      `import { Segment } from ${JSON.stringify(`${SRC}/sysv/index.ts`)};
      const segment = Segment.fromId(${segment.id});
      const out = [];
      try { segment.set({ uid: 4294967294 }); out.push('set'); } catch (error) { out.push(error.code); }
      try { segment.set({ mode: 0o640 }); out.push('set'); } catch (error) { out.push(error.code); }
      try { segment.set({ uid: 4294967295 }); out.push('set'); } catch (error) { out.push(error.code); }
      const stat = segment.stat();
      console.log(out.join(' '), stat.uid, stat.mode.toString(8));`,
    );
    if (process.getuid?.() === 0) {
      // Root may give the segment to any uid; the mode-only set then reads that uid back and passes it on.
      expect(report).toBe('set set ERR_OUT_OF_RANGE 4294967294 640');
    } else {
      expect(report).toBe(`EPERM set ERR_OUT_OF_RANGE ${process.getuid?.()} 640`);
    }
  });

  it('a semaphore at its limit (SEMVMX 32767) and a removed set: coded errors from every form, never an abort', async () => {
    const report = await scriptReport(
      tmp,
      'semaphore-limits',
      `import { Semaphore } from ${JSON.stringify(`${SRC}/sysv/index.ts`)};
      const semaphore = Semaphore.private({ initial: 32767 });
      const out = [];
      const attempt = async (fn) => { try { out.push(String(await fn())); } catch (error) { out.push(error.code); } };
      await attempt(() => semaphore.release(1)); // past SEMVMX
      await attempt(() => semaphore.value);
      await attempt(() => semaphore.acquire(32767, { timeout: 0 }));
      semaphore.remove();
      await attempt(() => semaphore.release(1));
      await attempt(() => semaphore.tryAcquire(1));
      await attempt(() => semaphore.acquireAsync(1, { timeout: 10 }));
      await attempt(() => semaphore.value);
      console.log(out.join(' '));`,
    );
    expect(report).toBe('ERANGE 32767 true EINVAL EINVAL EINVAL EINVAL');
  });
});
