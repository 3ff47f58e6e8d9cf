/**
 * The closed set of error codes (src/error-codes.ts): every code written in src/ is in it, and the README's Errors
 * table lists exactly memmap's own codes, each once. tsc already refuses a code memmapError() does not know; this
 * catches codes set some other way and a README that drifted from the list.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MEMMAP_ERROR_CODES, NODE_ERROR_CODES } from '../src/error-codes.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const own = Object.keys(MEMMAP_ERROR_CODES).sort();
const known = new Set([...own, ...Object.keys(NODE_ERROR_CODES)]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('error codes', () => {
  it('every code string in src/ is in the one list', () => {
    const written = new Set<string>();
    for (const file of sources(join(root, 'src')))
      for (const match of readFileSync(file, 'utf8').matchAll(/'((?:ERR|ABORT)_[A-Z0-9_]+)'/g)) written.add(match[1]!);
    expect([...written].filter((code) => !known.has(code))).toEqual([]);
    // And the list holds no code nothing throws.
    expect(own.filter((code) => !written.has(code))).toEqual([]);
  });

  it("the README's Errors table lists exactly memmap's own codes", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('\n## Errors'),
      readme.indexOf('\n## ', readme.indexOf('\n## Errors') + 1),
    );
    const rows = section.split('\n').filter((line) => line.startsWith('| `ERR_'));
    const listed = rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`(ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]!));
    expect([...listed].sort()).toEqual(own);
    expect(new Set(listed).size).toBe(listed.length);
  });
});
