/** Compiles a C program with the machine's `cc`: the oracle for layout and the peer for interop tests. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/** Writes `source` to `<dir>/<name>.c`, compiles it to `<dir>/<name>`, and returns the executable's path. */
export function compileC(dir: (name: string) => string, name: string, source: string, flags: string[] = []): string {
  const sourcePath = dir(`${name}.c`);
  const binary = dir(name);
  writeFileSync(sourcePath, source);
  execFileSync('cc', ['-std=gnu11', '-O2', '-Wall', '-o', binary, sourcePath, ...flags], { stdio: 'pipe' });
  return binary;
}

/** Runs a compiled program and returns its stdout (throws with its stderr if it exits non-zero). */
export function runC(binary: string, args: string[] = []): string {
  return execFileSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
