/**
 * examples/follow.ts: a writer and two followers in other processes, a Node one started before the file exists and
 * a C one (examples/follow-reader.c, which includes examples/follow-commit.h and examples/follow-sample.h). Both
 * must see all 10,000 records; the Node follower ends when the writer closes the file.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const example = fileURLToPath(new URL('../../examples/follow.ts', import.meta.url));

describe('examples/follow.ts', () => {
  it('a writer commits 10,000 samples; a Node follower and a C follower (follow-reader.c) see every one', () => {
    const output = execFileSync(process.execPath, ['--import', 'tsx', example], { encoding: 'utf8', timeout: 50_000 });
    expect(output).toContain('writer: committed 10000 records');
    expect(output).toContain('followed 10000'); // the C follower
    expect(output).toContain(`Node follower: 10000 records, sum of values ${(0.5 * 9999 * 10000) / 2}`);
  });
});
