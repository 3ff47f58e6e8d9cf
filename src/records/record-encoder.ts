/**
 * How set() and push() put a value into the file: every member of the value is read and checked before the first
 * byte of the file changes, so a rejected value writes nothing; and where it goes is decided only after that, so a
 * getter of the value that closes, grows, shortens or pushes to the file meanwhile cannot make a write land in
 * memory that is no longer the file's, or in a slot that is no longer free.
 *
 * The caller says where through a PlaceTarget (src/layout/codegen.ts): `slot(arg)` runs once the value is checked,
 * checks the file again (RecordFile: still writable, the index still in range, room for a push, growing the file),
 * and returns the record's offset in `target.dv` (and `target.bytes`). Two ways there:
 *
 * - A struct of scalars, strings and bytes (the common case): the layout's generated `place`. It reads every member
 *   into locals and checks them with `write`'s own code, calls `slot`, then stores them straight into the mapping.
 *   No scratch record, no copy. Measured, CPU time per 1e6 `{ name: char(4), age: int32 }` records into a file
 *   made big enough, best of 7, Node 20 / 24: push 109 / 105 -> 77 / 79 ms, set 59 / 62 -> 36 / 37 ms.
 * - Anything else (unions, nested records and arrays) and a live view of the record's own type: the value is built
 *   whole in a reused scratch record with the layout's `fill` (the same generated code `write` runs, with the same
 *   checks; a live view goes to `write`, which copies it byte for byte), then `slot`, then one copy of the bytes
 *   with the mapping's own Uint8Array (RecordTarget.bytes: a new view per record cost a nested record's push 25%).
 */
import { compiled, type Place, type PlaceTarget } from '../layout/codegen.js';
import type { AnyFieldType } from '../layout/field.js';
import { StructType } from '../layout/struct.js';
import type { RecordLayout } from './layout-adapter.js';

/** A PlaceTarget that also shows its records as bytes, for the copy of a value built in the scratch record. */
export interface RecordTarget extends PlaceTarget {
  /** The bytes `dv` views, as a Uint8Array over the same memory (read after `slot`, as `dv`). */
  bytes: Uint8Array;
}

/** Stores `value` at offset 0 of `dv`, checking it (a rejected value may leave part of it there). */
type Store = (dv: DataView, value: unknown) => void;

/** Puts values of one layout into a file's records. */
export class RecordEncoder {
  readonly #size: number;
  readonly #store: Store;
  /** The layout's generated `place`, for a struct of leaves. */
  readonly #place: Place | undefined;
  #scratch: DataView | undefined;
  #scratchBytes: Uint8Array | undefined;
  /** An encode into the scratch record is under way (a getter may write to this file meanwhile). */
  #encoding = false;

  constructor(codec: RecordLayout, size: number) {
    this.#size = size;
    this.#store = storeOf(codec);
    this.#place = codec instanceof StructType ? compiled(codec as AnyFieldType, codec.byteOrder).place : undefined;
  }

  /**
   * Checks `value` whole, then stores it at `target.slot(arg)` in `target.dv`. A value rejected, or a `slot` that
   * throws, leaves the file as it was.
   */
  place(value: unknown, target: RecordTarget, arg: number): void {
    const place = this.#place;
    if (place !== undefined && place(value, 'value', target, arg)) return;
    const encoded = this.encode(value);
    const o = target.slot(arg);
    target.bytes.set(encoded, o);
  }

  /** Drops the scratch record (as large as a record), for a closed file that stays referenced. */
  release(): void {
    this.#scratch = undefined;
    this.#scratchBytes = undefined;
  }

  /**
   * The record's bytes for `value`, checked whole. Into the one scratch record, or, when a getter of a value being
   * encoded writes to this file again, into a fresh one (the outer value's bytes are kept). Valid until the next call.
   */
  encode(value: unknown): Uint8Array {
    if (this.#encoding) {
      const bytes = new Uint8Array(this.#size);
      this.#store(new DataView(bytes.buffer), value);
      return bytes;
    }
    // Made on first use: a reader never needs one (and a record may be large).
    const bytes = (this.#scratchBytes ??= new Uint8Array(this.#size));
    const scratch = (this.#scratch ??= new DataView(bytes.buffer));
    this.#encoding = true;
    try {
      this.#store(scratch, value);
    } finally {
      this.#encoding = false;
    }
    return bytes;
  }
}

/** The layout's `fill` for a struct made by src/layout (live views to its `write`); `write` for anything else. */
function storeOf(codec: RecordLayout): Store {
  const write: Store = (dv, value) => {
    codec.write(dv, 0, value);
  };
  if (!(codec instanceof StructType)) return write;
  const type = codec as unknown as StructType & AnyFieldType;
  // A live view of the type is told by its brand, not by a class found through a view made over a throwaway record:
  // that record (as large as one record) stayed alive with every RecordFile, open or the last one closed.
  const { fill, isView } = compiled(type, type.byteOrder);
  return (dv, value) => {
    if (isView?.(value) === true) write(dv, value);
    else fill(dv, 0, value, 'value');
  };
}
