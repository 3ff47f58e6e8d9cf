#!/usr/bin/env node
/**
 * `npm run format` / `npm run format:check`: clang-format over native/*.c and native/*.h (.clang-format). Where
 * clang-format is not installed (Debian: `apt-get install clang-format`), says so in one line and does nothing: the
 * TypeScript side (prettier) still runs.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = readdirSync(join(root, 'native'))
  .filter((name) => /\.[ch]$/.test(name))
  .map((name) => join('native', name));
const check = process.argv.includes('--check');
const args = check ? ['--dry-run', '-Werror', ...files] : ['-i', ...files];
const result = spawnSync('clang-format', args, { cwd: root, stdio: 'inherit' });
if (result.error && /** @type {NodeJS.ErrnoException} */ (result.error).code === 'ENOENT') {
  console.log('clang-format is not installed: native/ was not checked (apt-get install clang-format)');
  process.exit(0);
}
process.exit(result.status ?? 1);
