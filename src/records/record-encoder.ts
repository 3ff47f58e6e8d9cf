/**
 * A record's bytes for a value, built off the file: the layout's write checks the whole value and stores it into a
 * scratch record, and only then does RecordFile copy those bytes into the mapping. So a rejected value writes
 * nothing, and a getter of the value that closes, grows or shortens the file meanwhile cannot make a write land in
 * memory that is no longer the file's (RecordFile checks the file again after the encode, before it copies).
 */
import type { RecordLayout } from './layout-adapter.js';

/** Encodes values of one layout into a reused scratch record. */
export class RecordEncoder {
  readonly #codec: RecordLayout;
  readonly #size: number;
  #scratch: DataView | undefined;
  #scratchBytes: Uint8Array | undefined;
  /** An encode into the scratch record is under way (a getter may write to this file meanwhile). */
  #encoding = false;

  constructor(codec: RecordLayout, size: number) {
    this.#codec = codec;
    this.#size = size;
  }

  /**
   * The record's bytes for `value`, checked whole by the layout's write. Into the one scratch record, or, when a
   * getter of a value being encoded writes to this file again, into a fresh one (the outer value's bytes are kept).
   * Valid until the next call.
   */
  encode(value: unknown): Uint8Array {
    if (this.#encoding) {
      const bytes = new Uint8Array(this.#size);
      this.#codec.write(new DataView(bytes.buffer), 0, value);
      return bytes;
    }
    // Made on first use: a reader never needs one (and a record may be large).
    const bytes = (this.#scratchBytes ??= new Uint8Array(this.#size));
    const scratch = (this.#scratch ??= new DataView(bytes.buffer));
    this.#encoding = true;
    try {
      this.#codec.write(scratch, 0, value);
    } finally {
      this.#encoding = false;
    }
    return bytes;
  }
}
