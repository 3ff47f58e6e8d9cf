/**
 * The README's quick start runs as written: its ```ts block is saved as a module in an empty directory whose
 * node_modules has only `memmap` (this repository, resolved through its package.json exports to dist/, which
 * `npm test` builds first) and tsx, then run there with `node --import tsx`.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp.ts';
import { describeResult, expectedOutput, quickStart, REPO, run } from './helpers.ts';

describe('README quick start', () => {
  const dir = useTempDir('memmap-readme-');

  it('is about ten lines of TypeScript that import from memmap', () => {
    const code = quickStart();
    const lines = code.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.length).toBeLessThanOrEqual(14);
    expect(code).toMatch(/from 'memmap'/);
    expect(expectedOutput(code).length).toBeGreaterThan(0);
  });

  it('runs as written in a project that depends on memmap', () => {
    mkdirSync(dir('node_modules'));
    symlinkSync(REPO, dir('node_modules/memmap'), 'dir');
    symlinkSync(join(REPO, 'node_modules/tsx'), dir('node_modules/tsx'), 'dir');
    writeFileSync(dir('package.json'), JSON.stringify({ name: 'quick-start', private: true, type: 'module' }));
    writeFileSync(dir('quick-start.mts'), quickStart());
    const result = run(process.execPath, ['--import', 'tsx', 'quick-start.mts'], { cwd: dir('') });
    expect(result.status, describeResult('node --import tsx quick-start.mts', result)).toBe(0);
    // What the comments after `console.log(...)` say is printed, is printed, in that order.
    expect(result.stdout.trim().split('\n')).toEqual(expectedOutput(quickStart()));
  });
});
