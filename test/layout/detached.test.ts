/**
 * A buffer whose mapping was closed is detached: every access through it must throw ERR_DETACHED_BUFFER, never
 * read zeros and never crash. Detached two ways: by transferring an ArrayBuffer, and by closing a real mapping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MappedFile } from '../../src/mapped-file.js';
import { array, bytes, char, int32, int64, struct } from '../../src/layout/index.js';

const Record = struct({
  name: char(4),
  age: int32,
  big: int64,
  raw: bytes(2),
  list: array(int32, 2),
  inner: struct({ x: int32 }),
});
const value = { name: 'ann', age: 1, big: 2n, raw: new Uint8Array([1, 2]), list: [3, 4], inner: { x: 5 } };

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'no error';
}

/** Everything taken before the detach, then every access after it. */
function accessesAfterDetach(source: Buffer | ArrayBuffer, detach: () => void): Record<string, string | undefined> {
  Record.write(source, 0, value);
  const view = Record.view(source, 0);
  const records = Record.array(source, { length: 1 });
  const inner = view.inner;
  const list = view.list;
  detach();
  return {
    read: code(() => Record.read(source, 0)),
    write: code(() => Record.write(source, 0, value)),
    view: code(() => Record.view(source, 0)),
    array: code(() => Record.array(source)),
    getter: code(() => view.age),
    bigGetter: code(() => view.big),
    setter: code(() => (view.age = 2)),
    charGetter: code(() => view.name),
    charSetter: code(() => (view.name = 'bo')),
    bytesGetter: code(() => view.raw),
    nested: code(() => inner.x),
    nestedFromView: code(() => view.inner.x),
    listGet: code(() => list.get(0)),
    listAt: code(() => list.at(0)),
    toJSON: code(() => view.toJSON()),
    get: code(() => records.get(0)),
    set: code(() => records.set(0, value)),
    atField: code(() => records.at(0).age),
    iterate: code(() => [...records].map((r) => r.age)),
    toArray: code(() => records.toArray()),
    fill: code(() => records.fill(value)),
    column: code(() => records.column('age')),
    byteOffset: code(() => records.byteOffset),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'memmap-layout-detach-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('detached buffers', () => {
  it('throw ERR_DETACHED_BUFFER after an ArrayBuffer is transferred', () => {
    const ab = new ArrayBuffer(Record.size);
    const results = accessesAfterDetach(ab, () => structuredClone(ab, { transfer: [ab] }));
    expect(Object.entries(results).filter(([, c]) => c !== 'ERR_DETACHED_BUFFER')).toEqual([]);
  });

  it('throw ERR_DETACHED_BUFFER after a mapping is closed', () => {
    const file = MappedFile.open(join(dir, 'records.bin'), { mode: 'w+', size: Record.size });
    const results = accessesAfterDetach(file.buffer, () => file.close());
    expect(Object.entries(results).filter(([, c]) => c !== 'ERR_DETACHED_BUFFER')).toEqual([]);
  });

  it('is a TypeError with a message that says what to do, and an empty buffer is not mistaken for one', () => {
    const ab = new ArrayBuffer(8);
    const view = struct({ a: int32 }).view(ab);
    structuredClone(ab, { transfer: [ab] });
    expect(() => view.a).toThrow(TypeError);
    expect(() => view.a).toThrow(/detached.*Map the file again/);
    expect(code(() => struct({ a: int32 }).read(new ArrayBuffer(0)))).toBe('ERR_OUT_OF_RANGE');
  });
});
