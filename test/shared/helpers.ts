/** Helpers of the shared-memory tests: spawning workers and cleaning up System V objects even when tests fail. */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { Segment, Semaphore } from '../../src/sysv/index.js';
import { runFile, type ChildResult } from '../helpers/child.js';

/** The worker fixture run by every cross-process test here. */
export const WORKER = new URL('./fixtures/shared-worker.mts', import.meta.url).pathname;

/** Runs the worker to completion. */
export function runWorker(memory: string, args: string[], options: { timeoutMs?: number } = {}): Promise<ChildResult> {
  return runFile(WORKER, [memory, ...args], { timeoutMs: options.timeoutMs ?? 120_000 });
}

/** Starts the worker and resolves once it printed `line` (the child keeps running). */
export function startWorker(memory: string, args: string[], line: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, memory, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(line)) resolve(child);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      reject(new Error(`worker ended (${code ?? signal}) before printing ${line}: ${output}`)),
    );
  });
}

/** Waits for a child to end; returns its exit code and signal. */
export function ended(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * Tracks the System V objects a test file makes and removes them after each test (IPC_RMID), pass or fail.
 * Also kills children the test left running.
 */
export function useIpcCleanup(): {
  segment: (segment: Segment) => Segment;
  semaphore: (semaphore: Semaphore) => Semaphore;
  child: (child: ChildProcess) => ChildProcess;
  segmentId: (id: number) => void;
} {
  const segments = new Set<number>();
  const semaphores = new Set<number>();
  const children = new Set<ChildProcess>();
  afterEach(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    children.clear();
    for (const id of segments) {
      try {
        Segment.fromId(id).remove();
      } catch {
        // already removed by the test
      }
    }
    segments.clear();
    for (const id of semaphores) {
      try {
        Semaphore.fromId(id).remove();
      } catch {
        // already removed by the test
      }
    }
    semaphores.clear();
  });
  return {
    segment: (segment) => (segments.add(segment.id), segment),
    semaphore: (semaphore) => (semaphores.add(semaphore.id), semaphore),
    child: (child) => (children.add(child), child),
    segmentId: (id) => void segments.add(id),
  };
}

/** A random key in a range only these tests use (0x6d6d____, "mm"), different in every call. */
export function randomKey(): number {
  return 0x6d6d0000 + Math.floor(Math.random() * 0xffff) + 1;
}
