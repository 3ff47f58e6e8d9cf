/**
 * Crash consistency with real kills: a writer appends and flushes in a loop in another process, and is SIGKILLed
 * at seeded random moments. After every kill the file must open, hold no record that was not fully written, and
 * hold every record that a completed flush covered, with its value.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { RecordFile } from '../../src/index.js';
import { useTempDir } from '../helpers/temp.js';
import { Entry, entryAt } from './fixtures/student.mts';

const tmp = useTempDir('memmap-crash-');
const writer = new URL('./fixtures/crash-writer.mts', import.meta.url).pathname;

/** mulberry32: a small seeded generator, so a failing run can be repeated with the same kill moments. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts the writer, waits for "ready", lets it run `delayMs`, SIGKILLs it; returns the last flushed count it printed. */
function runAndKill(
  path: string,
  seed: number,
  delayMs: number,
): Promise<{ flushed: number; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, path, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let flushed = 0;
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        const [word, value] = line.split(' ');
        if (word === 'flushed') flushed = Math.max(flushed, Number(value));
        if (word === 'ready' && timer === undefined) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      resolve({ flushed, signal, stderr });
    });
  });
}

describe('crash consistency under SIGKILL', () => {
  it('after each of 16 seeded kills the file opens with every flushed record and no torn one', async () => {
    const random = seeded(20261123);
    const path = tmp('crash.db');
    let mustHave = 0;
    for (let round = 0; round < 16; round++) {
      const delay = Math.floor(random() * 120);
      const { flushed, signal, stderr } = await runAndKill(path, Math.floor(random() * 2 ** 31), delay);
      expect(signal, `round ${round}: the writer ended by itself: ${stderr}`).toBe('SIGKILL');
      mustHave = Math.max(mustHave, flushed);

      using db = RecordFile.open(path, Entry, { mode: 'r' });
      // Every completed flush is kept...
      expect(db.length, `round ${round} (delay ${delay} ms)`).toBeGreaterThanOrEqual(mustHave);
      // ...and nothing past what was fully written is counted: each record has its own value.
      for (let i = 0; i < db.length; i++) {
        const record = db.get(i);
        if (record.index !== i || record.check !== entryAt(i).check || record.name !== entryAt(i).name)
          expect.fail(`round ${round}: record ${i} of ${db.length} is ${JSON.stringify(record)}`);
      }
      mustHave = db.length;
      if (process.env.MEMMAP_CRASH_LOG)
        console.log(`round ${round}: delay ${delay} ms, flushed ${flushed}, length ${db.length}`);
    }
    expect(mustHave).toBeGreaterThan(0);
  });
});
