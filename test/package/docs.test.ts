/**
 * The API reference builds: TypeDoc with typedoc.json (the `npm run docs` configuration), which treats every
 * warning as an error, so an exported item without a doc comment, a broken {@link} or a public type that is used
 * but not exported fails this test. Built into a temporary directory; `npm run docs` writes docs/api.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../helpers/temp.ts';
import { cleanEnv, describeResult, REPO, run } from './helpers.ts';

describe('API reference (TypeDoc)', () => {
  const dir = useTempDir('memmap-docs-');

  it('builds with every public item documented', () => {
    const typedoc = join(REPO, 'node_modules/typedoc/bin/typedoc');
    const result = run(process.execPath, [typedoc, '--options', join(REPO, 'typedoc.json'), '--out', dir('api')], {
      cwd: REPO,
      env: cleanEnv({ NO_COLOR: '1' }),
      timeoutMs: 180_000,
    });
    expect(result.status, describeResult('typedoc', result)).toBe(0);
    expect(existsSync(dir('api/index.html'))).toBe(true);
  }, 180_000);
});
