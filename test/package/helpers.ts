/**
 * Helpers for the package tests: run a command in a clean environment, copy the repository aside to pack it,
 * and read the README's quick start. These tests look at memmap the way a user's project does.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// Commands run through test/helpers/child.ts, the one launcher every test shares (`run` is its runCommand).
export { cleanEnv, describeResult, runCommand as run, type CommandResult } from '../helpers/child.js';

/** Top-level names never copied when staging: installed, built or generated, not sources. */
const NOT_SOURCES = new Set(['node_modules', '.git', 'build', 'dist', 'prebuilds', 'tmp']);

/**
 * The repository's source files as paths relative to it: what git tracks plus untracked files it does not ignore
 * (the work tree as it is now, so uncommitted edits are packed too), or, outside a git checkout, every file but
 * node_modules, build output and .git.
 */
function sourceFiles(): string[] | undefined {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (listed.status !== 0) return undefined;
  return listed.stdout.split('\0').filter((path) => path !== '' && existsSync(join(REPO, path)));
}

/**
 * Copies the repository's sources into `dir`, so that `npm pack` can build its prebuild and dist there without
 * touching the build/ and dist/ that other tests of the same run are loading. node_modules is the caller's to link.
 */
export function stageRepository(dir: string): void {
  const files = sourceFiles();
  if (files) {
    for (const path of files) {
      if (NOT_SOURCES.has(path.split('/')[0]!)) continue;
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      copyFileSync(join(REPO, path), join(dir, path));
    }
    return;
  }
  cpSync(REPO, dir, {
    recursive: true,
    filter: (source) => {
      const path = relative(REPO, source);
      return path === '' || (!NOT_SOURCES.has(path.split(sep)[0]!) && !path.endsWith('.tgz'));
    },
  });
}

/** The first ```LANG block under the README's "## Quick start" heading. */
function quickStartBlock(lang: 'js' | 'ts', readme: string): string {
  const section = readme.split(/^## Quick start\s*$/m)[1];
  if (section === undefined) throw new Error('README.md has no "## Quick start" section');
  const body = section.split(/^## /m)[0]!;
  const match = new RegExp(`^\`\`\`${lang}\n([\\s\\S]*?)^\`\`\``, 'm').exec(body);
  if (!match) throw new Error(`the "## Quick start" section of README.md has no \`\`\`${lang} block`);
  return match[1]!;
}

/** The README's quick start in plain JavaScript (const, try/finally, close()): runs as written on Node 20+. */
export function quickStart(readme = readFileSync(join(REPO, 'README.md'), 'utf8')): string {
  return quickStartBlock('js', readme);
}

/** The README's quick start with `using` (TypeScript): Node 24+ as it is, older Node through a compiler. */
export function quickStartUsing(readme = readFileSync(join(REPO, 'README.md'), 'utf8')): string {
  return quickStartBlock('ts', readme);
}

/** What a README code block says it prints: the comments of its `console.log(...); // printed text` lines, in order. */
export function expectedOutput(code: string): string[] {
  return [...code.matchAll(/^\s*console\.log\(.*\);\s*\/\/\s*(.+?)\s*$/gm)].map((match) => match[1]!);
}
