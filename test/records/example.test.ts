import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const example = fileURLToPath(new URL('../../examples/record-log.ts', import.meta.url));

describe('examples/record-log.ts', () => {
  it('a writer commits events every 100 writes; an unrelated reader follows them with refresh()', () => {
    const output = execFileSync(process.execPath, ['--import', 'tsx', example], { encoding: 'utf8' });
    expect(output).toContain('writer: 1000 events committed, capacity grew from 64 to 1024 records');
    expect(output).toMatch(/reader: 1000 events in \d+ refreshes, 11 errors/);
    expect(output).toContain('reader: last event #999 [debug] event 999');
  });
});
