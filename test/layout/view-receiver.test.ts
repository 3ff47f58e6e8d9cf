/**
 * A live view's accessors on something that is not a view of their type: a Proxy of a view (a reactive store wraps
 * objects in Proxies, which do not carry private fields), or an accessor taken off the prototype and called on
 * another object. Each gets ERR_INVALID_THIS, never a plain TypeError, and a write of such a value changes no byte.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { char, int32, RecordFile, struct, uint8 } from '../../src/index.js';
import { codeOf } from '../helpers/thrown.js';
import { useTempDir } from '../helpers/temp.js';

const Student = struct({ name: char(4), age: int32 });
const Nested = struct({ tag: uint8, student: Student });
const tmp = useTempDir();

describe('a view accessor called on what is not a view of its type', () => {
  it('a Proxy of a view: every read, write and copy is ERR_INVALID_THIS, and no byte changes', () => {
    const bytes = Buffer.alloc(Student.size * 2);
    const students = Student.array(bytes);
    students.set(0, { name: 'ann', age: 30 });
    const proxy = new Proxy(students.at(0), {});
    const before = Buffer.from(bytes);
    expect(codeOf(() => proxy.age)).toBe('ERR_INVALID_THIS');
    expect(codeOf(() => proxy.name)).toBe('ERR_INVALID_THIS');
    expect(codeOf(() => (proxy.age = 31))).toBe('ERR_INVALID_THIS');
    expect(codeOf(() => proxy.toJSON())).toBe('ERR_INVALID_THIS');
    expect(codeOf(() => students.set(1, proxy))).toBe('ERR_INVALID_THIS');
    expect(codeOf(() => Student.write(bytes, Student.size, proxy))).toBe('ERR_INVALID_THIS');
    expect(bytes.equals(before)).toBe(true);
    // the view itself still works, and copies byte for byte
    students.set(1, students.at(0));
    expect(students.get(1)).toEqual({ name: 'ann', age: 30 });
  });

  it('an accessor taken off the prototype and called on a plain object or another type’s view', () => {
    const students = Student.array(Buffer.alloc(Student.size));
    const nested = Nested.array(Buffer.alloc(Nested.size));
    const prototype = Object.getPrototypeOf(students.at(0)) as object;
    const age = Object.getOwnPropertyDescriptor(prototype, 'age');
    for (const receiver of [{}, nested.at(0), Object.create(prototype) as object]) {
      expect(codeOf(() => age?.get?.call(receiver))).toBe('ERR_INVALID_THIS');
      expect(codeOf(() => age?.set?.call(receiver, 1))).toBe('ERR_INVALID_THIS');
    }
  });

  it('RecordFile set and push of a Proxy of a view: coded, and the file keeps its bytes and length', () => {
    const path = tmp('proxy.db');
    const db = RecordFile.open(path, Student, { mode: 'w+' });
    db.push({ name: 'ann', age: 30 });
    db.flush();
    const proxy = new Proxy(db.at(0), {});
    const nestedProxy = new Proxy(Nested.array(Buffer.alloc(Nested.size)).at(0), {});
    expect(codeOf(() => db.push(proxy))).toBe('ERR_INVALID_THIS');
    expect(codeOf(() => db.set(0, proxy))).toBe('ERR_INVALID_THIS');
    expect(codeOf(() => db.push({ name: 'x', age: nestedProxy.tag }))).toBe('ERR_INVALID_THIS');
    expect(db.length).toBe(1);
    db.flush();
    db.close();
    const reopened = RecordFile.open(path, Student, { mode: 'r' });
    expect(reopened.toArray()).toEqual([{ name: 'ann', age: 30 }]);
    reopened.close();
    expect(readFileSync(path).length).toBeGreaterThan(0);
  });
});
