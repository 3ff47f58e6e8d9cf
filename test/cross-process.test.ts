import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MappedFile } from '../src/index.js';
import { runFile } from './helpers/child.js';
import { useTempDir } from './helpers/temp.js';

const tmp = useTempDir();
const worker = new URL('./fixtures/map-worker.mts', import.meta.url).pathname;

describe('MAP_SHARED between unrelated processes', () => {
  it('a write in one process is seen by another at once, before any flush, while both are mapped', async () => {
    const path = tmp('live.bin');
    writeFileSync(path, Buffer.alloc(4096));
    using mine = MappedFile.open(path, { mode: 'r+' });
    const child = spawn(process.execPath, ['--import', 'tsx', worker, path, 'wait-for', '100', 'ping'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('ready')) resolve();
      }),
    );
    mine.buffer.write('ping', 100, 'latin1');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(output).toContain('seen');
    // The child's answer arrived through the same pages.
    expect(mine.buffer.toString('latin1', 104, 107)).toBe('ack');
  });

  it("what one process writes with 'r+' another reads after it exits", async () => {
    const path = tmp('handoff.bin');
    writeFileSync(path, Buffer.alloc(100));
    expect((await runFile(worker, [path, 'write', 'r+', '10', 'shared'])).code).toBe(0);
    const read = await runFile(worker, [path, 'read', '10', '6']);
    expect(read.stdout.trim()).toBe('shared');
  });

  it.each(['r', 'c'])("a write through a '%s' map in another process never reaches the file", async (mode) => {
    const path = tmp(`private-${mode}.bin`);
    writeFileSync(path, 'original');
    using mine = MappedFile.open(path, { mode: 'r' });
    const result = await runFile(worker, [path, 'write', mode, '0', 'CHANGED!']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('done');
    expect(readFileSync(path, 'latin1')).toBe('original');
    expect(mine.buffer.toString('latin1')).toBe('original');
  });
});
