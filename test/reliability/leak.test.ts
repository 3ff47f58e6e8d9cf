/**
 * 100,000 open/map/close cycles with no forced GC, no mapping ever landing on the range of the one closed just
 * before (it stays reserved until collected): nothing aborts, and no mapping or file descriptor is left behind.
 * Runs in a child (a GC-heavy run of its own).
 */
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp.js';
import { reliabilityFixture, report, startNode } from './helpers.js';

const tmp = useTempDir();

describe('open/map/close cycles', () => {
  it('100,000 cycles leave as many /proc/self/maps entries and open fds as before, and never abort', async () => {
    const result = await startNode(reliabilityFixture('leak.mts'), [tmp('.'), '100000'], { timeoutMs: 150_000 }).result;
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    const r = report<{
      cycles: number;
      reused: number;
      repaired: number;
      before: { maps: number; ours: number; fds: number };
      after: { maps: number; ours: number; fds: number };
      stillRepairs: boolean;
      whileOpen: number;
    }>(result.stdout);
    expect(r.cycles).toBe(100_000);
    // A closed mapping's range stays reserved until its ArrayBuffer is collected: the next mapping never lands on it
    expect(r.reused).toBe(0);
    expect(r.repaired).toBe(100);
    expect(r.after.fds).toBe(r.before.fds);
    expect(r.before.ours).toBe(0);
    expect(r.after.ours).toBe(0); // no mapping of the files, no shared anonymous memory left
    // V8's own heap pages come and go (a few dozen entries either way); one leaked mapping per cycle kind would
    // be 20,000 entries
    expect(r.after.maps - r.before.maps).toBeLessThan(200);
    expect(r.stillRepairs).toBe(true);
    expect(r.whileOpen).toBe(3);
  }, 180_000);
});
