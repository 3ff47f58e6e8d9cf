/**
 * A record's bytes for a value, built off the file: the layout's checks run on the whole value while it is stored
 * into a scratch record, and only then does RecordFile copy those bytes into the mapping. So a rejected value
 * writes nothing, and a getter of the value that closes, grows or shortens the file meanwhile cannot make a write
 * land in memory that is no longer the file's (RecordFile checks the file again after the encode, before it copies).
 *
 * The scratch record is this path's all-or-nothing, so the layout's own (its `write` builds a nested record in a
 * scratch of its own, then copies it) would be the same work done twice. The encoder stores with the layout's
 * `fill` instead: the same generated code that `write` runs, with the same checks, so it rejects exactly the values
 * `write` rejects (for a struct of scalars, strings and bytes, and for a union, `fill` is `write` itself; for a
 * nested struct `write` is `fill` into a scratch, then a copy). The one input `write` treats apart, a live view of
 * the same record type (copied byte for byte), still goes to `write`. Measured on Node 20 under load (CPU time per
 * record, best of 7): set of a nested record 137 -> 100 ns, push 369 -> 330 ns; a flat record's push 225 -> 197 ns.
 */
import { compiled } from '../layout/codegen.js';
import type { AnyFieldType } from '../layout/field.js';
import { StructType } from '../layout/struct.js';
import type { RecordLayout } from './layout-adapter.js';

/** Stores `value` at offset 0 of `dv`, checking it (a rejected value may leave part of it there). */
type Store = (dv: DataView, value: unknown) => void;

/** Encodes values of one layout into a reused scratch record. */
export class RecordEncoder {
  readonly #size: number;
  readonly #store: Store;
  #scratch: DataView | undefined;
  #scratchBytes: Uint8Array | undefined;
  /** An encode into the scratch record is under way (a getter may write to this file meanwhile). */
  #encoding = false;

  constructor(codec: RecordLayout, size: number) {
    this.#size = size;
    this.#store = storeOf(codec);
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
  const { fill } = compiled(type, type.byteOrder);
  // The class of the type's live views: one made over a throwaway record.
  const View = (codec.view(new DataView(new ArrayBuffer(codec.size)), 0) as object).constructor;
  return (dv, value) => {
    if (value instanceof View) write(dv, value);
    else fill(dv, 0, value, 'value');
  };
}
