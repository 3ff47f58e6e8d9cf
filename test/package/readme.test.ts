/**
 * The README's quick start runs as written, in an empty directory whose node_modules has only `memmap` (this
 * repository, resolved through its package.json exports to dist/, which `npm test` builds first) and tsx:
 * - the plain JavaScript block as a `.mjs` file with plain `node` (no compiler), on every supported Node;
 * - the `using` block through tsx (which lowers `using`) everywhere, and as plain JavaScript where the runtime has
 *   `using` itself (Node 24+), as the README says.
 * Both leave a record file whose records are committed (the JavaScript form commits at its `close()`).
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { char, int32, RecordFile, struct } from '../../src/index.js';
import { useTempDir } from '../helpers/temp.ts';
import { describeResult, expectedOutput, quickStart, quickStartUsing, REPO, run } from './helpers.ts';

/** True where this Node parses `using` declarations in plain JavaScript. */
function hasUsing(): boolean {
  try {
    new Script('{ using x = null; }'); // compiles only
    return true;
  } catch {
    return false;
  }
}

describe('README quick start', () => {
  const dir = useTempDir('memmap-readme-');
  mkdirSync(dir('node_modules'));
  symlinkSync(REPO, dir('node_modules/memmap'), 'dir');
  symlinkSync(join(REPO, 'node_modules/tsx'), dir('node_modules/tsx'), 'dir');
  writeFileSync(dir('package.json'), JSON.stringify({ name: 'quick-start', private: true, type: 'module' }));

  /** Runs `file` in the project and checks its output against the block's comments and the committed records. */
  function runsAsWritten(file: string, code: string, nodeArgs: string[] = []): void {
    writeFileSync(dir(file), code);
    const result = run(process.execPath, [...nodeArgs, file], { cwd: dir('') });
    expect(result.status, describeResult(`node ${[...nodeArgs, file].join(' ')}`, result)).toBe(0);
    // What the comments after `console.log(...)` say is printed, is printed, in that order.
    expect(result.stdout.trim().split('\n')).toEqual(expectedOutput(code));
    // The records are committed: another open of the file sees both (the issue a missing close() caused).
    using db = RecordFile.open(dir('students.db'), struct({ name: char(4), age: int32 }), { mode: 'r' });
    expect(db.length).toBe(2);
    expect(db.get(1)).toEqual({ name: 'ann', age: 21 });
  }

  it('the JavaScript form is about fifteen lines that import from memmap, const and try/finally, no `using`', () => {
    const code = quickStart();
    const lines = code.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.length).toBeLessThanOrEqual(20);
    expect(code).toMatch(/from 'memmap'/);
    expect(code).not.toMatch(/\busing\b/);
    expect(code).toMatch(/finally/);
    expect(expectedOutput(code).length).toBeGreaterThan(0);
  });

  it('the JavaScript form runs as written in a .mjs file with plain node', () => {
    runsAsWritten('quick-start.mjs', quickStart());
  });

  it('the `using` form runs through tsx (which lowers `using`) and prints the same', () => {
    const code = quickStartUsing();
    expect(code).toMatch(/^using /m);
    expect(expectedOutput(code)).toEqual(expectedOutput(quickStart()));
    runsAsWritten('quick-start-using.mts', code, ['--import', 'tsx']);
  });

  it.runIf(hasUsing())('the `using` form runs as plain JavaScript where Node has `using` (24+)', () => {
    runsAsWritten('quick-start-using.mjs', quickStartUsing());
  });
});
