/**
 * The one way tests start other processes: to probe for crashes (how did the child end?), to act while a child runs
 * (wait for a line it prints, write to its stdin), and to run commands the way a user's shell would (npm, tsc).
 *
 * - `startChild(command, args)` is the core: a live child with `waitForLine`, `send` and its `result`.
 * - `runChild` waits for that result; `startNode` / `runFile` start TypeScript in a new Node process through tsx.
 * - `runCommand` runs a command to completion synchronously (the package tests' npm and tsc).
 *
 * Every Node child started here loads the disk guard first (test/helpers/reservation-guard.mjs), as the test
 * processes themselves do, so a child can no more fill the disk than a test can.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'vitest';

const HELPERS = dirname(fileURLToPath(import.meta.url));

/** Absolute path of src/index.ts, for `import ... from` inside child scripts. */
export const SRC_INDEX = resolve(HELPERS, '../../src/index.ts');

/** The Node options that load the disk guard, given to every Node child started here. */
export const GUARD_NODE_ARGS: readonly string[] = [
  '--import',
  pathToFileURL(join(HELPERS, 'reservation-guard.mjs')).href,
];

/** How a child process ended. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of a child started asynchronously. */
export interface ChildOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** SIGKILLed after this long (default 120 s). */
  timeoutMs?: number;
  /** Written to its stdin, which is then closed (runChild, runFile); a live child's stdin stays open. */
  input?: string;
  cwd?: string;
}

/** Options of a Node child. */
export interface NodeChildOptions extends ChildOptions {
  /** Node's own options, before `--import tsx`. */
  nodeArgs?: string[];
}

/** A child the test talks to while it runs. */
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
export function startChild(command: string, args: string[], options: ChildOptions = {}): LiveChild {
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  let stdout = '';
  let stderr = '';
  const waiters: { line: string; resolve: () => void; reject: (error: Error) => void }[] = [];
  const seen = new Set<string>();
  // Lines are collected as they complete: splitting all of stdout again per chunk made large outputs quadratic.
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stdout += text;
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) seen.add(line.trim());
    if (partial !== '') seen.add(partial.trim()); // a line still being written may already be what a waiter wants
    for (const waiter of [...waiters]) {
      if (seen.has(waiter.line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const result = new Promise<ChildResult>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const waiter of waiters.splice(0))
        waiter.reject(new Error(`child ended (${code ?? signal}) before printing '${waiter.line}': ${stderr}`));
      resolvePromise({ code, signal, stdout, stderr });
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

/** Runs `command args` to its end, with `options.input` (or nothing) on its stdin. */
export function runChild(command: string, args: string[], options: ChildOptions = {}): Promise<ChildResult> {
  const child = startChild(command, args, options);
  child.process.stdin.end(options.input ?? '');
  return child.result;
}

/** The arguments of `node` running `file` (TypeScript, through tsx) with the disk guard. */
function nodeArguments(file: string, args: string[], options: NodeChildOptions): string[] {
  return [...GUARD_NODE_ARGS, ...(options.nodeArgs ?? []), '--import', 'tsx', file, ...args];
}

/** `node --import tsx file args` as a live child. */
export function startNode(file: string, args: string[] = [], options: NodeChildOptions = {}): LiveChild {
  return startChild(process.execPath, nodeArguments(file, args, options), options);
}

/** Runs `file` (a .mts/.ts file) with tsx in a new Node process, to its end (default timeout 60 s). */
export function runFile(file: string, args: string[] = [], options: NodeChildOptions = {}): Promise<ChildResult> {
  return runChild(process.execPath, nodeArguments(file, args, options), { timeoutMs: 60_000, ...options });
}

/**
 * Writes `code` to `<dir>/<name>.mts` and runs it. `code` may use `__SRC__` for the path of src/index.ts.
 */
export function runScript(
  dir: (name: string) => string,
  name: string,
  code: string,
  args: string[] = [],
  options: NodeChildOptions = {},
): Promise<ChildResult> {
  const file = dir(`${name}.mts`);
  writeFileSync(file, code.replaceAll('__SRC__', JSON.stringify(SRC_INDEX)));
  return runFile(file, args, options);
}

/**
 * Runs `code` as `runScript` does, expects the child to exit 0 without a signal (the failure shows its stderr),
 * and returns its stdout, trimmed: the report of a script that prints what it saw.
 */
export async function scriptReport(
  dir: (name: string) => string,
  name: string,
  code: string,
  args: string[] = [],
  options: NodeChildOptions = {},
): Promise<string> {
  const result = await runScript(dir, name, code, args, options);
  expect(result, result.stderr).toMatchObject({ code: 0, signal: null });
  return result.stdout.trim();
}

/** The last line of a child's stdout parsed as JSON (fixtures print their report last). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- JSON has no type: the caller names it
export function report<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** Path helper for fixtures next to a test file. */
export function fixture(testUrl: string, name: string): string {
  return join(dirname(fileURLToPath(testUrl)), 'fixtures', name);
}

/** How a command run by `runCommand` ended. */
export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment for a nested command: this process's, without what `npm test` adds about *this* package
 * (npm_package_*, npm_lifecycle_*, the local prefix, INIT_CWD). Left in, a nested `npm` would act on the repository
 * instead of the directory it is started in.
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_/.test(key)) continue;
    if (key === 'npm_config_local_prefix' || key === 'INIT_CWD' || key === 'npm_command') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command to completion (no shell) and returns its status and output; never throws on failure. */
export function runCommand(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string },
): CommandResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? cleanEnv(),
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    input: options.input ?? '',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A failed command's output, for an assertion message. */
export function describeResult(what: string, result: CommandResult): string {
  return `${what} exited with ${result.status}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}
