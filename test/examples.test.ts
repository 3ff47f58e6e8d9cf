/**
 * The examples: each runs as its header says (`node --import tsx examples/NAME.ts`: Node 20 runs TypeScript
 * through tsx), imports `memmap` itself as a user's program would (resolved through the package's exports to dist/),
 * and is run by a test. The seed's students example is run here; the examples of the other parts are run by their
 * own parts' tests (test/records/example.test.ts, test/records/interop-numpy.test.ts, test/sysv-examples.test.ts,
 * ...), and this file checks that none is left out.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const examplesDir = join(root, 'examples');
const example = (name: string) => join(examplesDir, name);
const run = (name: string) => execFileSync(process.execPath, ['--import', 'tsx', example(name)], { encoding: 'utf8' });

/** The example programs: TypeScript, Python and C files directly in examples/. */
const examples = readdirSync(examplesDir)
  .filter((name) => /\.(ts|mts|py|c)$/.test(name))
  .sort();

/** Every test file's path and text. */
function testFiles(dir = join(root, 'test')): { path: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [{ path: relative(root, path), text: readFileSync(path, 'utf8') }] : [];
  });
}

describe('examples', () => {
  it('students.ts: process A writes 5 records, unrelated process B reads them', () => {
    const output = run('students.ts');
    for (let i = 0; i < 5; i++) expect(output).toContain(`student ${i}: name=${'abcde'[i]} age=${20 + i}`);
  });

  it('c-segment.ts: a C program (examples/c-segment.c) and Node share a System V segment both ways', () => {
    const output = run('c-segment.ts');
    expect(output).toContain('C wrote "hello, world"');
    expect(output).toContain('Node read "hello, world"');
    expect(output).toContain(`C read Node's answer: "hello from Node"`);
  });

  it('lock.ts: four processes increment a counter under a Mutex in a mapped file, and the total is exact', () => {
    expect(run('lock.ts')).toContain('counter = 80000 (expected 80000)');
  });

  it.each(examples)('%s is run by a test', (name) => {
    // A test that runs it names the file and the examples folder (as a path or a URL).
    const runners = testFiles().filter(({ text }) => text.includes(name) && text.includes('examples'));
    expect(
      runners.map(({ path }) => path),
      `no test under test/ runs examples/${name}`,
    ).not.toEqual([]);
  });

  it.each(examples.filter((name) => /\.m?ts$/.test(name)))('%s imports memmap as a user would, not ../src', (name) => {
    const source = readFileSync(example(name), 'utf8');
    expect(source).toMatch(/from 'memmap(\/[\w-]+)?'/);
    expect(source).not.toMatch(/from '\.\.?\/(src|dist)\//);
  });

  it.runIf(examples.some((name) => name.endsWith('.py')))(
    'python3 has numpy, so the Python examples run instead of being skipped',
    () => {
      // numpy is part of this machine image's python3 (pip cannot reach PyPI here; Debian's python3-numpy is the
      // other way to get it). Without it the numpy example's test would skip; this says so as a failure.
      const probe = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
      expect(probe.status, `python3 cannot import numpy:\n${probe.stderr}`).toBe(0);
    },
  );
});
