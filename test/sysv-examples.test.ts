import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('examples/sysv-hello.ts', () => {
  it('process A writes "hello, world" to a segment, unrelated process B reads it by key and bumps a locked counter', () => {
    const example = fileURLToPath(new URL('../examples/sysv-hello.ts', import.meta.url));
    const output = execFileSync(process.execPath, ['--import', 'tsx', example], { encoding: 'utf8' });
    expect(output).toContain('B read: hello, world');
    expect(output).toContain('A sees the counter B bumped: 1');
  });
});
