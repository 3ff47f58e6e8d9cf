/**
 * Runs TypeScript in a separate, unrelated Node process (spawned, not forked memory) and reports how it ended:
 * the way tests probe for crashes and prove what crosses between processes.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of src/index.ts, for `import ... from` inside child scripts. */
export const SRC_INDEX = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/index.ts');

/** How a child process ended. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `file` (a .mts/.ts file) with tsx in a new Node process. */
export function runFile(
  file: string,
  args: string[] = [],
  options: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', file, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Writes `code` to `<dir>/<name>.mts` and runs it. `code` may use `__SRC__` for the path of src/index.ts.
 */
export function runScript(
  dir: (name: string) => string,
  name: string,
  code: string,
  args: string[] = [],
  options: Parameters<typeof runFile>[2] = {},
): Promise<ChildResult> {
  const file = dir(`${name}.mts`);
  writeFileSync(file, code.replaceAll('__SRC__', JSON.stringify(SRC_INDEX)));
  return runFile(file, args, options);
}

/** Path helper for fixtures next to a test file. */
export function fixture(testUrl: string, name: string): string {
  return join(dirname(fileURLToPath(testUrl)), 'fixtures', name);
}
