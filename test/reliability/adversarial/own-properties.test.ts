/**
 * Promise: no property a program gives one of memmap's objects changes where memmap reads, writes, truncates or
 * maps, or which segment, semaphore or channel it acts on. The sizes, offsets, ids and targets that decide it are
 * private fields set once (at open, from the file's header, or from the kernel's answer); the public names are
 * getters over them. An own property of the same name shadows the getter for the program's own reads and nothing
 * else. Before, each of these was a plain property memmap read back: an own `offset` of 0 on a mapping at 8192
 * made resize() truncate the file 8192 bytes short, an own `dataOffset` of 0 on a record file made push() write
 * over its header, and an own segment `id` made remove() remove another program's segment.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Channel } from '../../../src/index.js';
import { MappedFile } from '../../../src/mapped-file.js';
import { RecordFile } from '../../../src/records/index.js';
import { char, int32, struct } from '../../../src/layout/index.js';
import { AtomicBigInt64 } from '../../../src/shared/index.js';
import { Segment, Semaphore, attachReadOnlyRaw } from '../../../src/sysv/index.js';
import { useTempDir } from '../../helpers/temp.js';
import { useIpcCleanup } from '../../shared/helpers.js';

const tmp = useTempDir('memmap-own-properties-');
const track = useIpcCleanup();
const Student = struct({ name: char(4), age: int32 });

/** Gives `target` an own, non-writable `key` (what `Object.defineProperty` lets any program do). */
function lie(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, configurable: true });
}

describe('own properties that lie', () => {
  it('MappedFile: an own offset moves neither resize() nor refresh()', () => {
    const path = tmp('offset.bin');
    const original = Buffer.alloc(3 * 4096);
    for (let i = 0; i < original.length; i++) original[i] = (i * 7) & 0xff;
    writeFileSync(path, original);
    const file = MappedFile.open(path, { mode: 'r+', offset: 8192 });
    expect(file.offset).toBe(8192);
    expect(() => ((file as { offset: number }).offset = 0)).toThrow(TypeError); // a getter, no setter
    lie(file, 'offset', 0);
    file.resize(8192); // the mapping from 8192 grows to 8192 bytes: the file to 16384, its first 8192 bytes kept
    expect(statSync(path).size).toBe(16384);
    expect(readFileSync(path).subarray(0, 12288).equals(original)).toBe(true);
    file.resize(4096); // shrinks it back to 12288, not to 4096
    expect(statSync(path).size).toBe(12288);
    file.refresh();
    expect(file.buffer.length).toBe(4096);
    expect(file.buffer.equals(original.subarray(8192))).toBe(true);
    file.close();
    expect(readFileSync(path).equals(original)).toBe(true);
  });

  it('RecordFile: an own dataOffset or recordSize moves neither push, set nor column', () => {
    const path = tmp('records.bin');
    const db = RecordFile.open(path, Student, { mode: 'w+' });
    db.push({ name: 'ann', age: 1 });
    db.flush();
    const header = readFileSync(path).subarray(0, db.dataOffset);
    expect(() => ((db as { dataOffset: number }).dataOffset = 0)).toThrow(TypeError);
    lie(db, 'dataOffset', 0);
    lie(db, 'recordSize', 1);
    db.push({ name: 'bob', age: 2 });
    db.set(0, { name: 'cy', age: 3 });
    expect(db.column('age')).toEqual(Int32Array.of(3, 2));
    expect([...db].map((s) => s.name)).toEqual(['cy', 'bob']);
    db.close();
    // The header is as it was but for the record count; the records are where the header says.
    const reopened = RecordFile.open(path, Student, { mode: 'r' });
    expect(reopened.toArray()).toEqual([
      { name: 'cy', age: 3 },
      { name: 'bob', age: 2 },
    ]);
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 8).equals(header.subarray(0, 8))).toBe(true); // the magic and version
    reopened.close();
  });

  it('Segment and Semaphore: an own id removes, stats and attaches nothing but their own', () => {
    const mine = track.segment(Segment.private(4096));
    const theirs = track.segment(Segment.private(4096));
    theirs.attach().buffer.write('theirs', 'latin1');
    expect(() => ((mine as { id: number }).id = theirs.id)).toThrow(TypeError); // a getter, no setter
    lie(mine, 'id', theirs.id);
    expect(mine.stat().size).toBe(4096);
    mine.attach().buffer.write('mine', 'latin1');
    const raw = attachReadOnlyRaw(mine);
    expect(raw.buffer.toString('latin1', 0, 4)).toBe('mine');
    raw.detach();
    mine.remove(); // before: removed `theirs`
    expect(Segment.fromId(theirs.id).stat().removed).toBe(false);
    expect(Segment.fromId(theirs.id).attach().buffer.toString('latin1', 0, 6)).toBe('theirs');

    const held = track.semaphore(Semaphore.private({ initial: 1 }));
    const other = track.semaphore(Semaphore.private({ initial: 5 }));
    lie(held, 'id', other.id);
    expect(held.value).toBe(1);
    expect(held.tryAcquire()).toBe(true);
    expect(other.value).toBe(5);
    held.remove();
    expect(other.value).toBe(5);
  });

  it('Attachment: a replaced or own segment cannot stop detach() or name another segment', () => {
    const mine = track.segment(Segment.private(4096));
    const theirs = track.segment(Segment.private(4096));
    const attachment = mine.attach();
    expect(() => ((attachment as { segment: unknown }).segment = theirs)).toThrow(TypeError); // a getter
    Object.defineProperty(attachment, 'segment', {
      get: () => {
        throw new Error('a getter of the program');
      },
    });
    attachment.detach(); // before: threw here, after letting go of the mapping and before shmdt
    expect(mine.stat().nattch).toBe(0);
    expect(() => attachment.buffer).toThrow(new RegExp(`segment ${mine.id} is detached`));
  });

  it('TypedChannel: an own channel redirects no send or receive', () => {
    const real = Channel.of(Student).open(tmp('typed.ring'), { create: true, capacity: 256 });
    const decoy = Channel.of(Student).open(tmp('decoy.ring'), { create: true, capacity: 256 });
    lie(real, 'channel', decoy.channel);
    real.send({ name: 'ann', age: 1 });
    expect(decoy.tryReceive()).toBeUndefined();
    expect(real.receive()).toEqual({ name: 'ann', age: 1 });
    real.close();
    decoy.close();
  });

  it('AtomicBigInt64: an own cell moves no operation', () => {
    const bytes = new ArrayBuffer(16);
    const atomic = new AtomicBigInt64(bytes, 8);
    const elsewhere = new BigInt64Array(1);
    lie(atomic, 'cell', elsewhere);
    atomic.store(7n);
    expect(new BigInt64Array(bytes)[1]).toBe(7n);
    expect(elsewhere[0]).toBe(0n);
  });
});
