/**
 * Every error code memmap throws, in one list (as Node registers its codes in one place): memmap's own codes with
 * what each means and what to do, and the Node codes it uses for arguments and aborts. `memmapError()` takes only
 * these, so a new code is added here first; test/error-codes.test.ts holds the README's Errors table to this list.
 */

/** memmap's own codes: what each means. The README's Errors table lists exactly these. */
export const MEMMAP_ERROR_CODES = {
  ERR_MAPPING_CLOSED: 'a call on a closed MappedFile (or a closed mmap-io buffer, atomic or mutex over it)',
  ERR_MAPPING_EMPTY: 'mapping an empty file, or one cut to nothing',
  ERR_MAPPING_NOT_RESIZABLE: 'resize() of a private or anonymous map',
  ERR_MAPPING_TRUNCATED: 'another program cut the file under the mapping; the pages past its end read as zeros',
  ERR_MAPPING_FAULTED: 'the kernel could not provide a page the file covers (a full disk under a sparse file)',
  ERR_NOT_REGULAR_FILE: 'the path names a FIFO, socket or device: only regular files are mapped',
  ERR_DETACHED_BUFFER: 'a record read or written through the buffer of a closed or resized mapping',
  ERR_ILLEGAL_CONSTRUCTOR: 'an internal class (StructArray, StructType, Attachment, ...) called with new by user code',
  ERR_LAYOUT_MISMATCH: "a stored schema does not match this machine's C ABI",
  ERR_RECORD_FILE_MISMATCH: 'the file is not a record file of this layout (magic, version, record size or schema)',
  ERR_RECORD_FILE_CORRUPT: 'a damaged header, or a file too short for its header or count (the file is not written)',
  ERR_RECORD_FILE_LOCKED: 'another process is writing the record file',
  ERR_RECORD_FILE_NOT_LOCKED: 'a shared writer wrote outside withLock()',
  ERR_RECORD_FILE_READ_ONLY: "a write to a record file opened with mode 'r'",
  ERR_RECORD_FILE_CLOSED: 'a use of a record file after close()',
  ERR_RECORD_FILE_FULL: 'growing past the largest mapping the runtime can hold',
  ERR_RECORD_FILE_CHANGED: 'the path was given to another file while it was being opened or read',
  ERR_RECORD_FILE_TRUNCATED: 'the writer took back records a follower had already yielded',
  ERR_RECORD_FILE_WAIT_TIMEOUT: 'waitFor()/follow() reached its timeout',
  ERR_SEGMENT_DETACHED: 'a System V attachment used after detach()',
  ERR_SEGMENT_TOO_LARGE: "a System V segment larger than the runtime's largest ArrayBuffer",
  ERR_MUTEX_TIMEOUT: 'lock() or lockAsync() reached its timeout',
  ERR_MUTEX_NOT_OWNER: 'unlock() by a thread that does not hold the Mutex',
  ERR_MUTEX_DEADLOCK: 'lock() or lockAsync() by the thread that already holds the Mutex',
  ERR_CHANNEL_INVALID: 'the file is not a channel (or one of another version): it is left untouched',
  ERR_CHANNEL_CORRUPT: 'a word in the channel holds what no peer following the protocol writes',
  ERR_CHANNEL_TIMEOUT: 'a send or receive reached its timeout',
  ERR_CHANNEL_FULL: "the channel is full and the sender asked not to wait (whenFull: 'error')",
  ERR_MEMMAP_OPTIONAL_DEPENDENCY: 'a feature needs an optional package that is not installed (the message names it)',
} as const;

/** Node's own codes that memmap throws, with Node's meaning. */
export const NODE_ERROR_CODES = {
  ERR_INVALID_ARG_TYPE: 'an argument of the wrong type (TypeError)',
  ERR_INVALID_ARG_VALUE: 'an argument of the right type with a value not allowed (TypeError)',
  ERR_OUT_OF_RANGE: 'a number outside its allowed range (RangeError)',
  ERR_MISSING_ARGS: 'a required argument is missing (TypeError)',
  ERR_TOO_MANY_ARGS: 'more arguments than the call takes (TypeError)',
  ERR_INVALID_THIS:
    'an accessor or method called on an object of the wrong kind, such as a Proxy of a view (TypeError)',
  ABORT_ERR: "an AbortSignal aborted the operation (an AbortError, the signal's reason as its cause)",
} as const;

/** A code one of memmap's errors carries (besides the errno names of system errors: 'ENOENT', 'EACCES', ...). */
export type MemmapErrorCode = keyof typeof MEMMAP_ERROR_CODES | keyof typeof NODE_ERROR_CODES;
