/**
 * The contract every layout type keeps: a kind, a C size and alignment, and (types only) the TypeScript values it
 * reads as, accepts for writing, and shows in a live view.
 */

/** The phantom slot carrying a field type's TypeScript types; it never exists at runtime. */
export interface TypeSlot<TOutput, TInput, TView> {
  readonly output: TOutput;
  readonly input: TInput;
  readonly view: TView;
}

/** A field type: anything that can be a struct member, with its C size and alignment in bytes. */
export interface FieldType<TOutput = unknown, TInput = TOutput, TView = TOutput> {
  /** What the type is: 'int32', 'char', 'array', 'struct', ... */
  readonly kind: string;
  /** `sizeof` in bytes, as the host C compiler gives it. */
  readonly size: number;
  /** `_Alignof` in bytes, as the host C compiler gives it. */
  readonly align: number;
  /** Types only: `Infer`, `InferInput` and `InferView` read them; undefined at runtime. */
  readonly '~types'?: TypeSlot<TOutput, TInput, TView>;
}

/** Any field type, whatever it holds. */
export type AnyFieldType = FieldType<unknown, unknown, unknown>;

/** The value a read gives for a field type: `Infer<typeof Student>` is `{ name: string; age: number }`. */
export type Infer<T extends AnyFieldType> = NonNullable<T['~types']>['output'];

/** The value a write accepts for a field type (a union accepts one member at a time). */
export type InferInput<T extends AnyFieldType> = NonNullable<T['~types']>['input'];

/** What a live view shows for a field type: numbers and strings for scalars, live views for nested records. */
export type InferView<T extends AnyFieldType> = NonNullable<T['~types']>['view'];

/** Byte order of multi-byte fields. */
export type Endian = 'little' | 'big';

/** The byte order of this machine, used when a struct does not name one. */
export const hostEndian: Endian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'little' : 'big';
