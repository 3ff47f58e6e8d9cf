/**
 * record-encoder.ts: a value is checked once, whole, in a scratch record (with the layout's `fill`), and only a
 * value that passed reaches the file. Nested records, arrays, live views and hostile getters, through set and push.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { array, char, float64, int32, RecordFile, struct } from '../../src/index.js';
import { useTempDir } from '../helpers/temp.js';

const tmp = useTempDir('memmap-encoder-');
const Point = struct({ x: float64, y: float64 });
const Shape = struct({ name: char(8), at: Point, tags: array(int32, 3) });
const good = { name: 'a', at: { x: 1, y: 2 }, tags: [1, 2, 3] };

describe('RecordEncoder', () => {
  it('a nested value rejected deep inside, after valid members, leaves the record and the file as they were', () => {
    const path = tmp('nested.db');
    const db = RecordFile.open(path, Shape, { mode: 'w+' });
    try {
      db.push(good);
      db.flush();
      const before = readFileSync(path);
      for (const bad of [
        { name: 'mallory', at: { x: 9, y: 9 }, tags: [9, 9, 2 ** 40] },
        { name: 'mallory', at: { x: 9, y: 'no' }, tags: [9, 9, 9] },
        { name: 'mallory', at: { x: 9, y: 9 }, tags: [9, 9] },
        { name: 'far too long a name', at: { x: 9, y: 9 }, tags: [9, 9, 9] },
      ]) {
        const code = (call: () => unknown): unknown => {
          try {
            call();
            return 'none';
          } catch (error) {
            return (error as { code?: unknown }).code;
          }
        };
        expect(code(() => db.set(0, bad as never))).toMatch(/^ERR_(OUT_OF_RANGE|INVALID_ARG_TYPE|INVALID_ARG_VALUE)$/);
        expect(code(() => db.push(bad as never))).toMatch(/^ERR_(OUT_OF_RANGE|INVALID_ARG_TYPE|INVALID_ARG_VALUE)$/);
      }
      expect(db.length).toBe(1);
      expect(db.get(0)).toEqual(good);
      db.flush();
      expect(readFileSync(path).equals(before)).toBe(true);
    } finally {
      db.close();
    }
  });

  it('every getter of a nested value runs once', () => {
    const db = RecordFile.open(tmp('getters.db'), Shape, { mode: 'w+' });
    try {
      const reads: Record<string, number> = {};
      const counted = <T extends object>(name: string, target: T): T =>
        new Proxy(target, {
          get(object, key, receiver) {
            if (typeof key === 'string') reads[`${name}.${key}`] = (reads[`${name}.${key}`] ?? 0) + 1;
            return Reflect.get(object, key, receiver) as unknown;
          },
        });
      db.push(counted('v', { name: 'p', at: counted('at', { x: 3, y: 4 }), tags: [7, 8, 9] }));
      expect(db.get(0)).toEqual({ name: 'p', at: { x: 3, y: 4 }, tags: [7, 8, 9] });
      for (const key of ['v.name', 'v.at', 'v.tags', 'at.x', 'at.y']) expect(reads[key], key).toBe(1);
    } finally {
      db.close();
    }
  });

  it('a live view of the same record type (with an array member) is copied whole, from this file or another', () => {
    const source = RecordFile.open(tmp('source.db'), Shape, { mode: 'w+' });
    const db = RecordFile.open(tmp('views.db'), Shape, { mode: 'w+' });
    try {
      source.push({ name: 'src', at: { x: 5, y: 6 }, tags: [4, 5, 6] });
      db.push(good);
      // The types take plain values; at run time the layout's write copies a view of its own type byte for byte.
      db.push(source.at(0) as never);
      db.set(0, db.at(1) as never);
      expect(db.toArray()).toEqual([source.get(0), source.get(0)]);
    } finally {
      db.close();
      source.close();
    }
  });
});
