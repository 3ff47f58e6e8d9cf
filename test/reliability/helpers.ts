/**
 * A child process the test talks to while it runs: wait for a line it prints, write lines to its stdin, then
 * collect how it ended. (test/helpers/child.ts only reports the end, which is not enough to act mid-run.)
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { ChildResult } from '../helpers/child.js';

export interface LiveChild {
  /** Resolves when the child has printed a line equal to `line` (rejects if it ends first). */
  waitForLine(line: string): Promise<void>;
  /** Writes `line` and a newline to the child's stdin. */
  send(line: string): void;
  /** How the child ended (stdout and stderr in full). */
  result: Promise<ChildResult>;
  process: ChildProcessWithoutNullStreams;
}

/** Starts `command args` with piped stdio; the child is SIGKILLed after `timeoutMs` (default 120 s). */
export function startChild(command: string, args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): LiveChild {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let stdout = '';
  let stderr = '';
  const waiters: { line: string; resolve: () => void; reject: (error: Error) => void }[] = [];
  const seen = new Set<string>();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const line of stdout.split('\n')) seen.add(line.trim());
    for (const waiter of [...waiters]) {
      if (seen.has(waiter.line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const result = new Promise<ChildResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const waiter of waiters.splice(0))
        waiter.reject(new Error(`child ended (${code ?? signal}) before printing '${waiter.line}': ${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });
  child.stdin.on('error', () => {}); // the child may end before reading everything
  return {
    waitForLine: (line) =>
      seen.has(line) ? Promise.resolve() : new Promise((resolve, reject) => waiters.push({ line, resolve, reject })),
    send: (line) => void child.stdin.write(`${line}\n`),
    result,
    process: child,
  };
}

/** `node --import tsx file args`, as a live child. */
export function startNode(file: string, args: string[] = [], options: { nodeArgs?: string[]; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): LiveChild {
  return startChild(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', file, ...args], options);
}

/** The last line of a child's stdout parsed as JSON (the fixtures print their report last). */
export function report<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** Path of a fixture in test/reliability/fixtures. */
export function reliabilityFixture(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}
