/** A temporary directory per test file, removed after the file's tests even when they fail. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** Creates a fresh directory now and registers its removal; returns a function joining names onto it. */
export function useTempDir(prefix = 'memmap-test-'): (name: string) => string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return (name: string) => join(dir, name);
}
