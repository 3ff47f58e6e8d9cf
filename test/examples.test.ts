import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const example = (name: string) => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
const run = (name: string) => execFileSync(process.execPath, ['--import', 'tsx', example(name)], { encoding: 'utf8' });

describe('examples', () => {
  it('students.ts: process A writes 5 records, unrelated process B reads them', () => {
    const output = run('students.ts');
    for (let i = 0; i < 5; i++) expect(output).toContain(`student ${i}: name=${'abcde'[i]} age=${20 + i}`);
  });
});
