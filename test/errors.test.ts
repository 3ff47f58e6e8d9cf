import { describe, expect, it } from 'vitest';
import {
  fromNative,
  invalidArgType,
  invalidArgValue,
  memmapError,
  outOfRange,
  systemError,
  validateBoolean,
  validateInteger,
  validateObject,
} from '../src/errors.js';
import { thrown } from './helpers/thrown.js';

describe('system errors', () => {
  it('have the fs shape: code, negative errno, syscall, path, and a hint', () => {
    const error = systemError(2, 'open', '/x/y');
    expect(error).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: '/x/y' });
    expect(error.message).toMatch(/^ENOENT: no such file or directory, open '\/x\/y' \(.+\)$/);
  });

  it('omit path when there is none, and name an unknown errno', () => {
    const error = systemError(9999, 'mmap');
    expect(error.path).toBeUndefined();
    expect(error.code).toBe('UNKNOWN');
    expect(error.syscall).toBe('mmap');
  });

  it('name errno values libuv does not know from the OS table (EIDRM)', () => {
    expect(systemError(43, 'shmat').code).toBe('EIDRM');
    const native = Object.assign(new Error('shmat failed: Identifier removed'), { errno: 43, syscall: 'shmat' });
    expect(fromNative(native).message).toMatch(/^EIDRM: identifier removed, shmat/);
  });

  it('are built from the addon’s { errno, syscall } errors, and leave other errors alone', () => {
    const native = Object.assign(new Error('mmap failed'), { errno: 12, syscall: 'mmap' });
    expect(fromNative(native, '/f')).toMatchObject({ code: 'ENOMEM', errno: -12, syscall: 'mmap', path: '/f' });
    const other = new Error('other');
    expect(fromNative(other)).toBe(other);
    expect(fromNative('text').message).toBe('text');
  });
});

describe('argument errors', () => {
  it('ERR_INVALID_ARG_TYPE is a TypeError naming the argument and what it received', () => {
    const error = invalidArgType('size', 'of type number', '10');
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(error.name).toBe('TypeError');
    expect(error.message).toBe(`The "size" argument must be of type number. Received type string ('10')`);
    expect(error.stack).toContain('TypeError [ERR_INVALID_ARG_TYPE]');
  });

  it('ERR_OUT_OF_RANGE is a RangeError with the allowed range', () => {
    const error = outOfRange('offset', '>= 0', -1);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('ERR_OUT_OF_RANGE');
    expect(error.message).toBe('The value of "offset" is out of range. It must be >= 0. Received -1');
    expect(outOfRange('n', 'small', 5n).message).toContain('Received 5n');
  });

  it('ERR_INVALID_ARG_VALUE and memmap codes', () => {
    expect(invalidArgValue('mode', 'x', 'is bad')).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    const own = memmapError('ERR_MAPPING_CLOSED', 'closed', { path: '/p', kind: 'RangeError' });
    expect(own).toBeInstanceOf(RangeError);
    expect(own).toMatchObject({ code: 'ERR_MAPPING_CLOSED', path: '/p' });
    expect(memmapError('ERR_MAPPING_EMPTY', 'm')).toBeInstanceOf(Error);
    expect(memmapError('ERR_MAPPING_EMPTY', 'm', { kind: 'TypeError' })).toBeInstanceOf(TypeError);
  });

  it('describe every kind of received value', () => {
    expect(invalidArgType('a', 'x', null).message).toContain('Received null');
    expect(invalidArgType('a', 'x', undefined).message).toContain('Received undefined');
    expect(invalidArgType('a', 'x', () => 1).message).toContain('Received function');
    expect(invalidArgType('a', 'x', new Map()).message).toContain('an instance of Map');
    expect(invalidArgType('a', 'x', Object.create(null)).message).toContain('an object');
    expect(invalidArgType('a', 'x', 'y'.repeat(40)).message).toContain('...');
    expect(invalidArgType('a', 'x', 3n).message).toContain('bigint');
  });
});

describe('validators', () => {
  it('validateInteger: type, integer, range', () => {
    expect(validateInteger(5, 'n')).toBe(5);
    expect(thrown(() => validateInteger('5', 'n')).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => validateInteger(1.5, 'n')).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => validateInteger(NaN, 'n')).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => validateInteger(-1, 'n')).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => validateInteger(11, 'n', 0, 10)).code).toBe('ERR_OUT_OF_RANGE');
  });

  it('validateBoolean and validateObject', () => {
    expect(validateBoolean(undefined, 'b', true)).toBe(true);
    expect(validateBoolean(false, 'b', true)).toBe(false);
    expect(thrown(() => validateBoolean(0, 'b', true)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(validateObject(undefined, 'o')).toEqual({});
    for (const bad of [null, 1, 'x', []])
      expect(thrown(() => validateObject(bad, 'o')).code).toBe('ERR_INVALID_ARG_TYPE');
  });
});
