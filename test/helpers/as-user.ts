/**
 * Children that run as another user (`nobody`) cannot read what a checkout keeps in a private directory: a clone in
 * root's home (mode 0700, as in many containers) holds the child script, tsx, src/ and the built addon out of their
 * reach. `stageForUser` carries what such a child needs to a directory that user can read: the child script bundled
 * with the memmap sources it imports (esbuild, the same compiler tsx uses; `using` lowered for Node 20), the built
 * addon and node-gyp-build, and, if the user cannot reach this Node binary, a copy of it.
 */
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, parse, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A child staged for another user: run `node` with `script` as its first argument, as that user. */
export interface StagedChild {
  ok: true;
  /** The Node binary the user can execute (this one, or a copy when this one is out of the user's reach). */
  node: string;
  /** The bundled child script (.mjs). */
  script: string;
}

/** Why a child could not be staged for the user (the test prints it, in one line, and does not run). */
export interface NotStaged {
  ok: false;
  reason: string;
}

/** True if `uid`/`gid` may search every directory above `path` and has the `want` bits (r=4, x=1) on `path`. */
export function reachableBy(path: string, uid: number, gid: number, want: number): boolean {
  const permitted = (target: string, bits: number): boolean => {
    const { mode, uid: owner, gid: group } = statSync(target);
    if (uid === 0) return true;
    const granted = owner === uid ? (mode >> 6) & 7 : group === gid ? (mode >> 3) & 7 : mode & 7;
    return (granted & bits) === bits;
  };
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if (!permitted(dir, 1)) return false;
    if (dir === parse(dir).root) break;
  }
  return permitted(path, want);
}

/** Makes `dir` and everything under it readable (and its directories and programs searchable) by every user. */
function openToAll(dir: string): void {
  // mkdtemp makes the directory 0700, and copies and the bundle take the process umask: set every mode explicitly.
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, name);
    const stats = statSync(path);
    chmodSync(path, stats.isDirectory() || (stats.mode & 0o100) !== 0 ? 0o755 : 0o644);
  }
}

/**
 * Stages `childScript` (a .mts/.ts test fixture importing memmap's sources) for the user `uid`/`gid`, in a new
 * directory under the system's temporary directory that is removed after the test file. Call at a test file's top
 * level or inside a test; the bundle takes well under a second.
 */
export function stageForUser(childScript: string, uid: number, gid: number = uid): StagedChild | NotStaged {
  const addon = join(REPO, 'build', 'Release', 'memmap.node');
  const candidates = [...new Set([tmpdir(), '/tmp'])];
  const base = candidates.find((dir) => reachableBy(dir, uid, gid, 1));
  if (base === undefined) {
    return { ok: false, reason: `no temporary directory (${candidates.join(', ')}) is reachable by uid ${uid}` };
  }
  const dir = mkdtempSync(join(base, 'memmap-as-user-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const script = join(dir, 'dist', `${parse(childScript).name}.mjs`);
    // src/native.ts finds the addon one level above the file that loads it: dist/.. is the staged root.
    buildSync({
      entryPoints: [childScript],
      outfile: script,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['node-gyp-build'],
      logLevel: 'silent', // errors are thrown, and reported as the reason
    });
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    copyFileSync(addon, join(dir, 'build', 'Release', 'memmap.node'));
    const loader = join('node_modules', 'node-gyp-build');
    cpSync(join(REPO, loader), join(dir, loader), { recursive: true });
    let node = process.execPath;
    if (!reachableBy(node, uid, gid, 1)) {
      node = join(dir, 'bin', basename(process.execPath));
      mkdirSync(dirname(node));
      copyFileSync(process.execPath, node);
    }
    openToAll(dir);
    return { ok: true, node, script };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    return { ok: false, reason: `could not stage ${basename(childScript)} for uid ${uid}: ${message}` };
  }
}
