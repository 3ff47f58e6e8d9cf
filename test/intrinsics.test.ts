import { describe, expect, it } from 'vitest';
import {
  arrayBufferByteLength,
  dataViewBuffer,
  dataViewByteLength,
  dataViewByteOffset,
  functionSourceText,
  typedArrayBuffer,
  typedArrayByteLength,
  typedArrayByteOffset,
  typedArrayLength,
  uncurried,
} from '../src/intrinsics.js';

/** A Uint8Array whose every accessor lies: a subclass overrides them, and the instance shadows them again. */
class Liar extends Uint8Array {
  override get byteOffset(): number {
    return 0;
  }
  override get byteLength(): number {
    return 1 << 30;
  }
  override get length(): number {
    return 1 << 30;
  }
  override get buffer(): ArrayBuffer {
    return new ArrayBuffer(1 << 20);
  }
}

describe('intrinsics: the engine says where a view lies, whatever the view says', () => {
  it('reads a typed array, a DataView and an ArrayBuffer as the engine knows them', () => {
    const buffer = new ArrayBuffer(64);
    const ints = new Int32Array(buffer, 8, 4);
    const view = new DataView(buffer, 4, 12);
    expect(typedArrayBuffer(ints)).toBe(buffer);
    expect([typedArrayByteOffset(ints), typedArrayByteLength(ints), typedArrayLength(ints)]).toEqual([8, 16, 4]);
    expect(dataViewBuffer(view)).toBe(buffer);
    expect([dataViewByteOffset(view), dataViewByteLength(view)]).toEqual([4, 12]);
    expect(arrayBufferByteLength(buffer)).toBe(64);
  });

  it('a subclass, an own property or a patched prototype gets no say', () => {
    const buffer = new ArrayBuffer(32);
    const liar = new Liar(buffer, 16, 8);
    Object.defineProperty(liar, 'byteOffset', { value: 4 });
    const view = new DataView(buffer, 2, 6);
    Object.defineProperty(view, 'byteLength', { value: 1 << 30 });
    const saved = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!;
    const call = Object.getOwnPropertyDescriptor(Function.prototype, 'call')!;
    try {
      Object.defineProperty(ArrayBuffer.prototype, 'byteLength', { get: () => 1 << 30, configurable: true });
      Object.defineProperty(Function.prototype, 'call', { value: () => 1 << 30, configurable: true, writable: true });
      expect([typedArrayByteOffset(liar), typedArrayByteLength(liar), typedArrayLength(liar)]).toEqual([16, 8, 8]);
      expect(typedArrayBuffer(liar)).toBe(buffer);
      expect([dataViewByteOffset(view), dataViewByteLength(view)]).toEqual([2, 6]);
      expect(arrayBufferByteLength(buffer)).toBe(32);
    } finally {
      Object.defineProperty(Function.prototype, 'call', call);
      Object.defineProperty(ArrayBuffer.prototype, 'byteLength', saved);
    }
  });

  it('a detached buffer: typed arrays read 0, DataViews throw; a wrong receiver throws a TypeError', () => {
    const buffer = new ArrayBuffer(16);
    const bytes = new Uint8Array(buffer, 4);
    const view = new DataView(buffer, 4);
    structuredClone(buffer, { transfer: [buffer] });
    expect([typedArrayByteOffset(bytes), typedArrayByteLength(bytes), typedArrayLength(bytes)]).toEqual([0, 0, 0]);
    expect(arrayBufferByteLength(buffer)).toBe(0);
    expect(() => dataViewByteOffset(view)).toThrow(TypeError);
    expect(() => arrayBufferByteLength(new SharedArrayBuffer(8) as unknown as ArrayBuffer)).toThrow(TypeError);
    expect(() => typedArrayLength(new DataView(new ArrayBuffer(4)) as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('methods bound at load: a patched prototype method, toString or call is not seen', () => {
    const mapGet = uncurried(Map.prototype, 'get') as (map: Map<string, number>, key: string) => number | undefined;
    const map = new Map([['a', 1]]);
    const source = (x: number): number => x + 1;
    const text = source.toString();
    const saved = {
      get: Object.getOwnPropertyDescriptor(Map.prototype, 'get')!,
      toString: Object.getOwnPropertyDescriptor(Function.prototype, 'toString')!,
      call: Object.getOwnPropertyDescriptor(Function.prototype, 'call')!,
    };
    try {
      Object.defineProperty(Map.prototype, 'get', { value: () => 666, configurable: true, writable: true });
      Object.defineProperty(Function.prototype, 'toString', { value: () => 'lie', configurable: true, writable: true });
      Object.defineProperty(Function.prototype, 'call', { value: () => 'lie', configurable: true, writable: true });
      expect(mapGet(map, 'a')).toBe(1);
      expect(functionSourceText(source)).toBe(text);
    } finally {
      for (const [name, descriptor] of Object.entries(saved))
        Object.defineProperty(name === 'get' ? Map.prototype : Function.prototype, name, descriptor);
    }
    expect(() => uncurried(Map.prototype, 'size')).toThrow(/no size method/);
    expect(() => functionSourceText({})).toThrow(TypeError);
  });
});
