/**
 * flushing.ts: what the interval policy's background flush writes back. The kernel's own count of dirty pages
 * (cachestat(2), Linux 6.5+, read by a C child) is the judge, never a timing.
 */
import { describe, expect, it } from 'vitest';
import { report, runScript } from '../helpers/child.js';
import { dirtyPageProbe } from '../helpers/dirty-pages.js';
import { useTempDir } from '../helpers/temp.js';

const tmp = useTempDir('memmap-flushing-');

const probe = dirtyPageProbe(tmp);
const supported = probe !== undefined;

describe('the { intervalMs } policy', () => {
  it.skipIf(!supported)(
    'writes back what at() views wrote, with no flush() called: the kernel is left with no dirty page',
    async () => {
      const path = tmp('views.db');
      // The child writes only through views after its last explicit flush, then waits (event loop free, so the
      // timer runs) until the probe reports no dirty page, for at most 20 s; the kernel's own writeback would take
      // 30 s (vm.dirty_expire_centisecs), so a clean file within the bound is the timer's doing.
      const result = await runScript(
        tmp,
        'interval-views',
        `import { execFileSync } from 'node:child_process';
         import { RecordFile, struct, int32 } from __SRC__;
         const [path, probe] = process.argv.slice(2);
         const dirty = () => Number(execFileSync(probe, [path], { encoding: 'utf8' }).trim());
         const db = RecordFile.open(path, struct({ age: int32 }), { mode: 'w+', initialCapacity: 4096, flush: { intervalMs: 20 } });
         for (let i = 0; i < 4096; i++) db.push({ age: i });
         db.flush();
         const out = { afterFlush: dirty() };
         const early = db.at(10);
         const far = db.at(4000);
         // Synchronous from open to here: no tick has run yet, so the probe sees the views' writes dirty.
         early.age = 1234;
         far.age = 4321;
         out.afterViewWrites = dirty();
         const deadline = Date.now() + 20000;
         while (dirty() !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
         out.atEnd = dirty();
         out.values = [db.get(10).age, db.get(4000).age];
         db.close();
         console.log(JSON.stringify(out));`,
        [path, probe!],
      );
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const out = report<Record<string, unknown>>(result.stdout);
      expect(out.afterFlush).toBe(0);
      expect(out.afterViewWrites).toBeGreaterThan(0); // the probe sees what the views wrote
      expect(out.atEnd).toBe(0);
      expect(out.values).toEqual([1234, 4321]);
    },
  );
});
