/**
 * refresh(), truncated and checkIntact() where no page faults: in process (nothing here touches a page past a
 * file's end; the faulting cases run in child processes in truncation.test.ts and space.test.ts).
 */
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MappedFile, PAGE_SIZE, struct, uint8 } from '../../src/index.js';
import { useTempDir } from '../helpers/temp.js';
import { thrown } from '../helpers/thrown.js';

const tmp = useTempDir();
const Word = struct({ value: uint8 });
let counter = 0;
function fileOf(size: number, byte = 7): string {
  const path = tmp(`refresh-${counter++}.bin`);
  writeFileSync(path, Buffer.alloc(size, byte));
  return path;
}
describe('refresh()', () => {
  it('maps a file another program grew, to its new end; earlier Buffers keep their length and reach the file no more', () => {
    const path = fileOf(PAGE_SIZE);
    using file = MappedFile.open(path, { mode: 'r+' });
    const before = file.buffer;
    const word = Word.view(before);
    truncateSync(path, 3 * PAGE_SIZE + 5);
    expect(file.truncated).toBe(false);
    file.refresh();
    expect(file.length).toBe(3 * PAGE_SIZE + 5);
    expect(file.buffer.buffer).not.toBe(before.buffer);
    // The earlier Buffer is kept: its length and the file's bytes, but a write through it stays in this process.
    expect(before.length).toBe(PAGE_SIZE);
    expect(before[0]).toBe(7);
    expect(before[PAGE_SIZE - 1]).toBe(7);
    before.fill(9, 0, 16);
    expect(before[15]).toBe(9);
    expect(file.buffer[0]).toBe(7);
    expect(readFileSync(path)[0]).toBe(7);
    // A record view built before refresh() is on the guarded face: it throws, never reads the old mapping.
    expect(thrown(() => word.value)).toMatchObject({ code: 'ERR_DETACHED_BUFFER' });
    expect(file.buffer[0]).toBe(7);
    expect(file.buffer[3 * PAGE_SIZE + 4]).toBe(0);
    // The new mapping is the file's: a write through it reaches the file, and not the kept Buffer.
    file.buffer[1] = 5;
    expect(readFileSync(path)[1]).toBe(5);
    expect(before[1]).toBe(9);
  });

  it('keeps at most the length a window was opened with', () => {
    const path = fileOf(4 * PAGE_SIZE);
    using file = MappedFile.open(path, { mode: 'r+', offset: 100, length: PAGE_SIZE });
    truncateSync(path, 8 * PAGE_SIZE);
    file.refresh();
    expect(file.length).toBe(PAGE_SIZE);
    truncateSync(path, 100 + 50);
    expect(file.truncated).toBe(true);
    file.refresh();
    expect(file.length).toBe(50);
    expect(file.offset).toBe(100);
    expect(file.truncated).toBe(false);
  });

  it('throws ERR_MAPPING_EMPTY, changing nothing, when the file now ends before the offset', () => {
    const path = fileOf(2 * PAGE_SIZE);
    using file = MappedFile.open(path, { mode: 'r+', offset: PAGE_SIZE });
    const view = file.buffer;
    truncateSync(path, PAGE_SIZE);
    expect(thrown(() => file.refresh())).toMatchObject({ code: 'ERR_MAPPING_EMPTY', path });
    expect(file.closed).toBe(false);
    expect(view.length).toBe(PAGE_SIZE); // still the same mapping (not touched: its page is past the end)
  });

  it('does nothing for anonymous memory, and throws ERR_MAPPING_CLOSED after close()', () => {
    const memory = MappedFile.anonymous(PAGE_SIZE);
    memory.buffer[0] = 1;
    memory.refresh();
    expect(memory.buffer[0]).toBe(1);
    expect(memory.truncated).toBe(false);
    expect(memory.faulted).toBe(false);
    memory.close();
    expect(thrown(() => memory.refresh())).toMatchObject({ code: 'ERR_MAPPING_CLOSED' });
  });
});

describe('truncated without a fault', () => {
  it('is true once the file is shorter than the mapping; flush and resize throw ERR_MAPPING_TRUNCATED', async () => {
    const path = fileOf(4 * PAGE_SIZE);
    using file = MappedFile.open(path, { mode: 'r+' });
    file.buffer[0] = 9; // below the new end: kept
    truncateSync(path, 2 * PAGE_SIZE);
    expect(file.truncated).toBe(true);
    expect(file.faulted).toBe(false);
    expect(() => file.checkIntact()).not.toThrow(); // no page was replaced: only flush can tell
    expect(thrown(() => file.flush())).toMatchObject({ code: 'ERR_MAPPING_TRUNCATED', path });
    await expect(file.flushAsync()).rejects.toMatchObject({ code: 'ERR_MAPPING_TRUNCATED', path });
    expect(thrown(() => file.resize(PAGE_SIZE))).toMatchObject({ code: 'ERR_MAPPING_TRUNCATED', path });
    expect(readFileSync(path).length).toBe(2 * PAGE_SIZE); // resize changed nothing
    expect(readFileSync(path)[0]).toBe(9); // flush wrote back what the file still holds
    file.refresh();
    expect(file.truncated).toBe(false);
    file.flush();
  });

  it('is false after close() and for anonymous memory; checkIntact() throws ERR_MAPPING_CLOSED after close()', () => {
    const file = MappedFile.open(fileOf(PAGE_SIZE), { mode: 'r' });
    expect(file.truncated).toBe(false);
    file.close();
    expect(file.truncated).toBe(false);
    expect(file.faulted).toBe(false);
    expect(thrown(() => file.checkIntact())).toMatchObject({ code: 'ERR_MAPPING_CLOSED' });
  });
});
