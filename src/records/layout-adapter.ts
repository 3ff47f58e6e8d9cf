/**
 * What a record file needs from a layout (src/layout): a size and alignment, read/write/view at an offset of a
 * DataView, a StructArray over the records, and a schema text that describes the record well enough to decode it
 * without the program that wrote it. RecordFile takes a struct through `validateLayout` here; it also imports the
 * layout's types (field.ts, struct.ts) and the CLI decodes with `fromSchema`.
 */
import { invalidArgType } from '../errors.js';
import { hostEndian, type Endian } from '../layout/field.js';

/**
 * The struct methods a record file calls. `TOut`, `TIn` and `TView` are what a record reads as, accepts for
 * writing and shows as a live view (unknown here: RecordFile casts them to `Infer<S>` and friends).
 */
export interface RecordLayout<TOut = unknown, TIn = TOut, TView = TOut> {
  readonly kind: string;
  readonly size: number;
  readonly align: number;
  read(source: DataView, offset: number): TOut;
  write(source: DataView, offset: number, value: TIn): void;
  view(source: DataView, offset: number): TView;
  /** The layout module's StructArray over `length` records at `offset`: the fast path for get/set/at. */
  array(source: Buffer, options: { offset: number; length: number }): RecordArray<TOut, TIn, TView>;
}

/** What a record file uses of a StructArray. */
export interface RecordArray<TOut = unknown, TIn = TOut, TView = TOut> {
  get(index: number): TOut;
  set(index: number, value: TIn): void;
  at(index: number): TView;
}

/** Checks that `layout` is a struct from src/layout (or anything with the same methods). */
export function validateLayout(layout: unknown, name = 'layout'): RecordLayout {
  const candidate = layout as Partial<RecordLayout> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.size !== 'number' ||
    typeof candidate.align !== 'number' ||
    typeof candidate.read !== 'function' ||
    typeof candidate.write !== 'function' ||
    typeof candidate.view !== 'function' ||
    typeof candidate.array !== 'function'
  )
    throw invalidArgType(name, 'a struct made with struct() (with size, align, read, write and view)', layout);
  return candidate as RecordLayout;
}

/** The layout's byte order for the header flag: its `byteOrder` (the host's unless the struct names one). */
export function isBigEndian(layout: RecordLayout): boolean {
  const order =
    (layout as { byteOrder?: Endian; endian?: Endian }).byteOrder ??
    (layout as { endian?: Endian }).endian ??
    hostEndian;
  return order === 'big';
}

/**
 * The schema text stored in the header: the layout module's JSON description (`toJSON()`, rebuilt by
 * `fromSchema`), serialised with JSON.stringify. Deterministic for equal layouts; its hash (format.ts
 * `schemaHash`, equal to the struct's own `hash`) is what the reopen check compares.
 */
export function schemaText(layout: RecordLayout): string {
  const withSchema = layout as RecordLayout & { toJSON?: () => unknown };
  if (typeof withSchema.toJSON !== 'function')
    throw invalidArgType('layout', 'a struct made with struct() (it has no toJSON schema)', layout);
  return JSON.stringify(withSchema.toJSON());
}
