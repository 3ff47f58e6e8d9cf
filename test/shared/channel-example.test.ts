/** Runs examples/channel.ts (one Node producer; a Node and a C consumer, examples/channel-consumer.c). */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const example = fileURLToPath(new URL('../../examples/channel.ts', import.meta.url));

describe('examples/channel.ts', () => {
  it('hands every job to exactly one of a Node consumer and a C consumer (examples/channel-consumer.c)', () => {
    const output = execFileSync(process.execPath, ['--import', 'tsx', example], { encoding: 'utf8', timeout: 120_000 });
    expect(output).toMatch(/Node consumer handled \d+ jobs/);
    expect(output).toMatch(/C consumer handled \d+ jobs/);
    expect(output).toContain('total 1000 jobs (expected 1000), sum 500500 (expected 500500)');
  }, 120_000);
});
