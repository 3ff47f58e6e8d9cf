#!/usr/bin/env node
/**
 * `npm run bench [-- FILTER] [-- --save]`: installs the peers the benchmarks compare against (bench/package.json:
 * lmdb, better-sqlite3, restructure, @riaskov/mmap-io) into bench/node_modules when they are missing or older than
 * bench/package-lock.json, then runs bench/index.ts with the garbage collector exposed.
 *
 * The peers live in a package of their own so that the root package's `npm install` never builds them: they are
 * native addons rebuilt per Node ABI, and one that fails to build on a new Node (mmap-io on Node 24+) must not break
 * the library's own install. @riaskov/mmap-io is an optional dependency there for the same reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bench = join(root, 'bench');
const lock = join(bench, 'package-lock.json');
const installed = join(bench, 'node_modules', '.package-lock.json');

/** The npm that runs this script (npm sets npm_execpath), else the one on PATH. */
function npm(args) {
  const npmCli = process.env.npm_execpath;
  const result = npmCli
    ? spawnSync(process.execPath, [npmCli, ...args], { cwd: bench, stdio: 'inherit' })
    : spawnSync('npm', args, { cwd: bench, stdio: 'inherit' });
  return result.status ?? 1;
}

// The peers are native addons built for one Node ABI: a run on another Node (20, then 24) rebuilds them.
const abiStamp = join(bench, 'node_modules', '.memmap-node-abi');
const stale = !existsSync(installed) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs);
if (stale) {
  console.log('memmap bench: installing the peers in bench/package.json (once)');
  const status = npm([existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund']);
  if (status !== 0) process.exit(status);
  writeFileSync(abiStamp, process.versions.modules);
} else if (!existsSync(abiStamp) || readFileSync(abiStamp, 'utf8') !== process.versions.modules) {
  console.log(`memmap bench: rebuilding the peers for Node ${process.version} (ABI ${process.versions.modules})`);
  // @riaskov/mmap-io does not build on Node 24+; the others do. A failed rebuild is reported by the bench that needs
  // the peer, in one line, and the rest still run.
  npm(['rebuild', '--no-audit', '--no-fund']);
  writeFileSync(abiStamp, process.versions.modules);
}

// --single-threaded-gc: the CPU-time rows count the whole process, and V8's parallel scavenger adds its helper
// threads' time, which on this 2-core VM varied 2x between processes (the same layout `get` row read 0.63x, 0.80x
// and 0.91x of hand-written code in three runs). Collected on the thread that made the garbage, the same work counts
// once and alike for every row (0.87x and 0.90x in two runs). The layout bench's child inherits the flag.
const run = spawnSync(
  process.execPath,
  ['--expose-gc', '--single-threaded-gc', '--import', 'tsx', join(bench, 'index.ts'), ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);
process.exit(run.status ?? 1);
