/**
 * The options of RecordFile.open: their types, and their validation, all of it done before anything is opened (a
 * rejected call has touched no file).
 */
import { fileURLToPath } from 'node:url';
import { invalidArgType, invalidArgValue, validateBoolean, validateInteger, validateObject } from '../errors.js';
import { MAX_MAPPING_LENGTH } from '../mapped-file.js';
import { validateLayout, type RecordLayout } from './layout-adapter.js';

/** How a record file is opened: see the table in record-file.ts. */
export type RecordFileMode = 'r' | 'r+' | 'w+' | 'a+';

/**
 * When records are flushed (msync MS_SYNC, then the committed count):
 * - `'close'` (default) and `'manual'`: only when the program calls `flush()`/`flushAsync()`, and at `close()`.
 *   The two behave the same; `'manual'` says that the program commits at points of its choosing.
 * - `{ everyWrites: N }`: also after every N writes (a push of k values counts k, a set counts 1), synchronously.
 * - `{ intervalMs: T }`: also every T ms while there is something to flush (records written, or live `at()` views
 *   that may have written), with `flushAsync()` from a timer that does not keep the process alive. A failed
 *   background flush is thrown by the next `flush()` or `close()`.
 */
export type FlushPolicy =
  | 'manual'
  | 'close'
  | {
      /** Flush after this many writes (>= 1). */
      everyWrites: number;
    }
  | {
      /** Flush every this many milliseconds while something is unflushed (>= 1). */
      intervalMs: number;
    };

/** Options of `RecordFile.open`. */
export interface RecordFileOptions {
  /** 'a+' (default), 'r+', 'w+' or 'r': see the module's table. */
  mode?: RecordFileMode;
  /** Records a new file has room for before it first grows (default 1024). Ignored when the file exists. */
  initialCapacity?: number;
  /** The flush policy (default 'close'). */
  flush?: FlushPolicy;
  /**
   * Cooperative writing by several processes (default false). No lock is held while the file is open; instead
   * every writer writes inside `withLock()`, which takes flock LOCK_EX, refreshes, runs the callback and flushes.
   * Writes outside it throw ERR_RECORD_FILE_NOT_LOCKED. Every writer of the file must open it with `shared: true`.
   */
  shared?: boolean;
  /** How long `withLock()` waits for the lock before it throws ERR_RECORD_FILE_LOCKED (default 10000 ms). */
  lockTimeoutMs?: number;
  /** Grow the file sparse (ftruncate) instead of reserving its blocks (posix_fallocate). Default false. */
  sparse?: boolean;
  /** Permission bits of a file this call creates (default 0o644). */
  fileMode?: number;
}

/** The arguments of RecordFile.open, each read once and checked. */
export interface OpenRequest {
  /** The path as a string (a file: URL converted). */
  path: string;
  codec: RecordLayout;
  mode: RecordFileMode;
  policy: FlushPolicy;
  shared: boolean;
  sparse: boolean;
  lockTimeoutMs: number;
  fileMode: number;
  initialCapacity: number;
}

const MODES: readonly RecordFileMode[] = ['r', 'r+', 'w+', 'a+'];
const DEFAULT_CAPACITY = 1024;
/** Room left for the header when the largest capacity is computed (the header is at most this long). */
const HEADER_ROOM = 65536;

/** Reads and checks every argument of RecordFile.open: coded errors, and nothing opened yet. */
export function validateOpen(path: unknown, layout: unknown, options: unknown): OpenRequest {
  if (typeof path !== 'string' && !(path instanceof URL))
    throw invalidArgType('path', 'of type string or an instance of URL', path);
  const codec = validateLayout(layout);
  const opts = validateObject<RecordFileOptions>(options, 'options');
  const mode = opts.mode ?? 'a+';
  if (!MODES.includes(mode)) throw invalidArgValue('options.mode', mode, "must be one of 'r', 'r+', 'w+', 'a+'");
  const policy = validatePolicy(opts.flush);
  const shared = validateBoolean(opts.shared, 'options.shared', false);
  const sparse = validateBoolean(opts.sparse, 'options.sparse', false);
  const lockTimeoutMs = validateInteger(opts.lockTimeoutMs ?? 10_000, 'options.lockTimeoutMs', 0, 2 ** 31 - 1);
  const fileMode = validateInteger(opts.fileMode ?? 0o644, 'options.fileMode', 0, 0o7777);
  const maxCapacity = Math.floor((MAX_MAPPING_LENGTH - HEADER_ROOM) / codec.size);
  const initialCapacity = validateInteger(
    opts.initialCapacity ?? Math.min(DEFAULT_CAPACITY, maxCapacity),
    'options.initialCapacity',
    1,
    maxCapacity,
  );
  const shown = path instanceof URL ? fileURLToPath(path) : path;
  return { path: shown, codec, mode, policy, shared, sparse, lockTimeoutMs, fileMode, initialCapacity };
}

function validatePolicy(policy: unknown): FlushPolicy {
  if (policy === undefined) return 'close';
  if (policy === 'manual' || policy === 'close') return policy;
  if (policy !== null && typeof policy === 'object' && !Array.isArray(policy)) {
    const p = policy as { everyWrites?: unknown; intervalMs?: unknown };
    if ('everyWrites' in p && !('intervalMs' in p))
      return { everyWrites: validateInteger(p.everyWrites, 'options.flush.everyWrites', 1) };
    if ('intervalMs' in p && !('everyWrites' in p))
      return { intervalMs: validateInteger(p.intervalMs, 'options.flush.intervalMs', 1, 2 ** 31 - 1) };
  }
  throw invalidArgValue('options.flush', policy, "must be 'manual', 'close', { everyWrites: N } or { intervalMs: T }");
}
