#!/usr/bin/env node
/**
 * `npm run format` / `npm run format:check`: clang-format (the WebAssembly build, a dev dependency, so every machine
 * and runtime formats alike and nothing has to be installed) over the C of native/, include/ and examples/ with the
 * style in .clang-format. `--check` lists the files that differ and fails; without it, rewrites them.
 */
import { format } from '@wasm-fmt/clang-format';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const style = readFileSync(join(root, '.clang-format'), 'utf8');

/** @param {string} dir @returns {string[]} */
function cFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.[ch]$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

const check = process.argv.includes('--check');
const files = ['native', 'include', 'examples', 'test/fixtures'].flatMap((dir) => cFiles(join(root, dir))).sort();
const differ = [];
for (const file of files) {
  const source = readFileSync(file, 'utf8');
  const formatted = format(source, file, style);
  if (formatted === source) continue;
  differ.push(relative(root, file));
  if (!check) writeFileSync(file, formatted);
}
if (check && differ.length > 0) {
  console.error(
    `clang-format: ${differ.length} file(s) differ (npm run format rewrites them):\n  ${differ.join('\n  ')}`,
  );
  process.exit(1);
}
