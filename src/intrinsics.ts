/**
 * The engine's own accessors of views and ArrayBuffers, bound once at load: no subclass, own property or later
 * change of a prototype (or of `Function.prototype.call`) can make them lie. Checks that guard memory read a
 * view's buffer, offset and length through these, never through the object. Each throws a TypeError for a receiver
 * of the wrong kind, as the getter does.
 */

/** The getter `name` of `prototype`, callable as a plain function of its receiver. */
function intrinsic(prototype: object, name: string): (self: object) => unknown {
  const getter = optionalIntrinsic(prototype, name);
  if (getter === undefined) throw new Error(`the engine has no ${name} getter`); // cannot happen in V8
  return getter;
}

// Each export states its getter's receiver and result, as the ECMAScript specification defines them.
type TypedArray = NodeJS.TypedArray;
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;

/** The ArrayBuffer (or SharedArrayBuffer) under a typed array. */
export const typedArrayBuffer = intrinsic(typedArrayPrototype, 'buffer') as (view: TypedArray) => ArrayBufferLike;
/** A typed array's offset in its buffer, in bytes (0 once the buffer is detached). */
export const typedArrayByteOffset = intrinsic(typedArrayPrototype, 'byteOffset') as (view: TypedArray) => number;
/** A typed array's length in bytes (0 once the buffer is detached). */
export const typedArrayByteLength = intrinsic(typedArrayPrototype, 'byteLength') as (view: TypedArray) => number;
/** A typed array's length in elements (0 once the buffer is detached). */
export const typedArrayLength = intrinsic(typedArrayPrototype, 'length') as (view: TypedArray) => number;
/** The ArrayBuffer (or SharedArrayBuffer) under a DataView. */
export const dataViewBuffer = intrinsic(DataView.prototype, 'buffer') as (view: DataView) => ArrayBufferLike;
/** A DataView's offset in its buffer, in bytes (throws once the buffer is detached). */
export const dataViewByteOffset = intrinsic(DataView.prototype, 'byteOffset') as (view: DataView) => number;
/** A DataView's length in bytes (throws once the buffer is detached). */
export const dataViewByteLength = intrinsic(DataView.prototype, 'byteLength') as (view: DataView) => number;
/** An ArrayBuffer's length in bytes (0 once detached); throws for a SharedArrayBuffer. */
export const arrayBufferByteLength = intrinsic(ArrayBuffer.prototype, 'byteLength') as (buffer: ArrayBuffer) => number;

/**
 * `prototype[name]`, a method, as a plain function of its receiver, bound at load: a later patch of the prototype
 * (or of `Function.prototype.call`) is not seen.
 */
export function uncurried(prototype: object, name: string): (self: unknown, ...args: unknown[]) => unknown {
  const descriptor: { value?: unknown } | undefined = Object.getOwnPropertyDescriptor(prototype, name);
  const method = descriptor?.value;
  if (typeof method !== 'function') throw new Error(`the engine has no ${name} method`); // cannot happen in V8
  return Function.prototype.call.bind(method) as (self: unknown, ...args: unknown[]) => unknown;
}

/** The engine's Function.prototype.toString: a function's source text, whatever a program patched. */
export const functionSourceText = uncurried(Function.prototype, 'toString') as (fn: unknown) => string;

/** The getter `name` of `prototype` as a plain function, or undefined where the engine has none (older engines). */
function optionalIntrinsic(prototype: object | undefined, name: PropertyKey): ((self: object) => unknown) | undefined {
  if (prototype === undefined) return undefined;
  const descriptor: { get?: (this: object) => unknown } | undefined = Object.getOwnPropertyDescriptor(prototype, name);
  return descriptor?.get === undefined
    ? undefined
    : (Function.prototype.call.bind(descriptor.get) as (self: object) => unknown);
}

/** A SharedArrayBuffer's length in bytes (undefined where there is no SharedArrayBuffer); throws for others. */
export const sharedArrayBufferByteLength = optionalIntrinsic(
  typeof SharedArrayBuffer === 'function' ? (SharedArrayBuffer.prototype as object) : undefined,
  'byteLength',
) as ((buffer: object) => number) | undefined;
/** Whether an ArrayBuffer is resizable (undefined on an engine without resizable buffers); throws for others. */
export const arrayBufferResizable = optionalIntrinsic(ArrayBuffer.prototype, 'resizable') as
  ((buffer: object) => boolean) | undefined;
/** A typed array's kind ('Uint8Array', ...), undefined (no throw) for anything else: the engine's brand check. */
export const typedArrayTag = (optionalIntrinsic(typedArrayPrototype, Symbol.toStringTag) ?? (() => undefined)) as (
  value: unknown,
) => unknown;
/** The engine's ArrayBuffer.isView as loaded: true for typed arrays and DataViews, never throws. */
export const isArrayBufferView: (value: unknown) => boolean = ArrayBuffer.isView.bind(ArrayBuffer);
