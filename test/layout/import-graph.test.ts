/**
 * No runtime import cycles in the layout module (issue 12): a tiny import-graph check. Type-only imports
 * (`import type`, or braces holding only `type` names) vanish at compile time and do not count.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Runtime imports of one file, as absolute .ts paths inside src/. */
export function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  const pattern = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s+['"](\.[^'"]+)['"]/gms;
  for (const match of text.matchAll(pattern)) {
    const [, , typeOnly, clause, target] = match;
    if (typeOnly) continue;
    const braces = /^\{([^}]*)\}$/s.exec(clause!.trim());
    if (braces && braces[1]!.split(',').every((name) => name.trim() === '' || /^type\s/.test(name.trim()))) continue;
    found.push(resolve(dirname(file), target!.replace(/\.js$/, '.ts')));
  }
  return found;
}

/** The first cycle found among `files`, as a list of paths, or undefined. */
export function findCycle(
  files: string[],
  importsOf: (file: string) => string[] = runtimeImports,
): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'visiting') return [...stack.slice(stack.indexOf(file)), file];
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of importsOf(file)) {
      if (!files.includes(next)) continue;
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of files) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? tsFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('import graph', () => {
  it('src/layout has no runtime import cycle', () => {
    const cycle = findCycle(tsFiles(join(root, 'layout')));
    expect(cycle?.map((file) => file.slice(root.length + 1))).toBeUndefined();
  });

  it('the check finds a cycle when there is one (type-only imports do not count)', () => {
    const dir = join(root, 'layout');
    expect(runtimeImports(join(dir, 'array.ts')).map((f) => f.slice(dir.length + 1))).toEqual(['field.ts']);
    const graph: Record<string, string[]> = { a: ['b'], b: ['c'], c: ['a'], d: ['a'] };
    expect(findCycle(['d', 'a', 'b', 'c'], (f) => graph[f]!)).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(['a', 'b'], (f) => ({ a: ['b'], b: [] })[f]!)).toBeUndefined();
  });
});
