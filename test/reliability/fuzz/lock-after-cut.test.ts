/**
 * Found by the MappedFile fuzzer (seed 8, operation 605,082 of 10^6): lock() of a mapping whose file another
 * program had cut threw ENOMEM and left the range locked (mlock(2) marks the range before faulting its pages in, and
 * keeps the mark when a page past the end cannot be provided): RLIMIT_MEMLOCK spent, and the next
 * advise('dontneed') threw EINVAL. A refused lock() now locks nothing: ERR_MAPPING_TRUNCATED before mlock(2).
 */
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MappedFile, PAGE_SIZE } from '../../../src/index.js';
import { useTempDir } from '../../helpers/temp.js';
import { codeOf } from '../../helpers/thrown.js';

const tmp = useTempDir();
const lockedKiB = () => Number(/VmLck:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);

describe('lock() of a mapping cut by another program', () => {
  it('throws ERR_MAPPING_TRUNCATED and locks nothing; after refresh() it locks', () => {
    const path = tmp('cut.bin');
    writeFileSync(path, Buffer.alloc(4 * PAGE_SIZE, 1));
    using file = MappedFile.open(path, { mode: 'r+' });
    truncateSync(path, PAGE_SIZE); // another program
    const before = lockedKiB();
    expect(codeOf(() => file.lock())).toBe('ERR_MAPPING_TRUNCATED'); // was ENOMEM, with the range left locked
    expect(lockedKiB()).toBe(before);
    expect(codeOf(() => file.advise('dontneed'))).toBeUndefined(); // was EINVAL: locked pages
    file.refresh();
    file.lock();
    expect(lockedKiB()).toBe(before + PAGE_SIZE / 1024);
    file.unlock();
    expect(lockedKiB()).toBe(before);
  });
});
