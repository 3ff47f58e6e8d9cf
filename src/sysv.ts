/**
 * System V shared memory: `ftok` and `Segment` (shmget, shmat, shmdt, shmctl), and a System V `Semaphore`
 * (semget, semop with SEM_UNDO, semctl) that C programs use with the same key.
 *
 * What the kernel promises: a segment outlives every process that made or attached it, until it is removed
 * (`remove()`, IPC_RMID) and its last attachment detaches, or the machine reboots. Every process that attaches
 * it sees the same bytes at once; the kernel gives no ordering or locking of its own (see src/shared/ for atomics,
 * Mutex and wait/notify). Segments are zero-filled when created.
 *
 * | call                          | syscall                                           |
 * |-------------------------------|---------------------------------------------------|
 * | `ftok(path, id)`              | ftok(3) (stat of `path`: ENOENT when it is gone)   |
 * | `Segment.create(key, size)`   | shmget(key, size, IPC_CREAT [| IPC_EXCL] | mode)  |
 * | `Segment.open(key)`           | shmget(key, 0, 0)                                 |
 * | `Segment.private(size)`       | shmget(IPC_PRIVATE, size, IPC_CREAT | mode)       |
 * | `segment.attach()`            | shmat(id, NULL, 0)                                |
 * | `attachment.detach()`         | shmdt(2), after every view is detached            |
 * | `segment.stat()` / `set()`    | shmctl IPC_STAT / IPC_SET                         |
 * | `segment.remove()`            | shmctl IPC_RMID                                   |
 */
import { constants as bufferConstants } from 'node:buffer';
import { constants as osConstants } from 'node:os';
import {
  type CodedError,
  type SystemError,
  invalidArgType,
  invalidArgValue,
  memmapError,
  systemError,
  validateBoolean,
  validateInteger,
  validateObject,
} from './errors.js';
import { native, type NativeSegmentStat } from './native.js';

const { IPC_PRIVATE, IPC_CREAT, IPC_EXCL, IPC_NOWAIT, SEM_UNDO, SHM_DEST } = native.constants;

/** An error of a System V call: Node's system error shape, plus the segment's (or set's) `key` and `id`. */
export interface SysvError extends SystemError {
  /** The IPC key the call used, when it had one. */
  key?: number;
  /** The segment's or semaphore set's id, when it had one. */
  id?: number;
}

/** What to do, per errno, for System V calls (the generic file hints of errors.ts would mislead here). */
const HINTS: Record<string, string> = {
  EEXIST: 'a segment with this key already exists: open it with Segment.open(key), or remove it first',
  ENOENT: 'nothing has this key: create it first (Segment.create(key, size)), or check the key',
  EACCES: "its mode does not let this user do that: check stat().mode and the owner, or attach with { readOnly: true }",
  EINVAL: 'the size is out of range (SHMMIN..SHMMAX) or larger than the existing segment with this key, or the id no longer exists',
  EIDRM: 'it was removed: create it again',
  EPERM: 'only its owner, its creator or a privileged process may change or remove it',
  ENOSPC: 'the system-wide limit of segments (SHMMNI) or of shared memory (SHMALL) is reached: remove unused segments (ipcs -m)',
  ENOMEM: 'not enough memory for the segment or its page tables',
  EFAULT: 'the address is not mapped',
};

/** Kernel texts for errnos libuv does not name. */
const SYSV_TEXT: Record<string, string> = { EIDRM: 'identifier removed' };

function hex(key: number): string {
  return `0x${(key >>> 0).toString(16).padStart(8, '0')}`;
}

function sysvError(error: unknown, what: { key?: number; id?: number; path?: string }): Error {
  if (!(error instanceof Error) || typeof (error as Partial<SystemError>).errno !== 'number')
    return error instanceof Error ? error : new Error(String(error));
  const native = error as SystemError;
  const result = systemError(native.errno, native.syscall, what.path) as SysvError;
  if (result.code === 'UNKNOWN') {
    // libuv's table, which errors.ts uses, lacks some System V errnos (EIDRM): take the name from os.constants.
    const name = Object.entries(osConstants.errno).find(([, value]) => value === Math.abs(native.errno))?.[0];
    if (name !== undefined) {
      result.code = name;
      result.message = `${name}: ${SYSV_TEXT[name] ?? 'system error'}${result.message.slice('UNKNOWN: system error'.length)}`;
    }
  }
  const where = what.path !== undefined ? `'${what.path}'` : what.key !== undefined ? `key ${hex(what.key)}` : `id ${what.id}`;
  const hint = native.syscall === 'ftok' && result.code === 'ENOENT'
    ? 'ftok needs an existing file: check the path, or create the file first'
    : HINTS[result.code];
  result.message = `${result.code}: ${result.message.slice(result.code.length + 2).split(',')[0]}, ${native.syscall} ${where}${hint ? ` (${hint})` : ''}`;
  if (what.key !== undefined) result.key = what.key;
  if (what.id !== undefined) result.id = what.id;
  Error.captureStackTrace?.(result, sysvError);
  return result;
}

function call<T>(what: { key?: number; id?: number; path?: string }, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw sysvError(error, what);
  }
}

function validateKey(key: unknown, name = 'key'): number {
  if (typeof key !== 'number') throw invalidArgType(name, 'of type number', key);
  const value = validateInteger(key, name, -0x80000000, 0xffffffff);
  if (value === IPC_PRIVATE)
    throw invalidArgValue(name, key, 'must not be IPC_PRIVATE (0): use Segment.private(size) for a new private segment');
  return value | 0; // key_t is a signed int: 0xffffffff and -1 are the same key
}

const MAX_SEGMENT_SIZE: number = bufferConstants.MAX_LENGTH;

function validateSize(size: unknown): number {
  return validateInteger(size, 'size', 1, MAX_SEGMENT_SIZE);
}

function validateMode(mode: unknown, name: string): number {
  return validateInteger(mode, name, 0, 0o777);
}

/**
 * ftok(3): a System V key from the path of an existing file and a project id (1..255). The same path and id
 * give the same key in every process (and in C), as long as the file is not replaced: ftok uses its inode.
 */
export function ftok(path: string, projectId: number): number {
  if (typeof path !== 'string') throw invalidArgType('path', 'of type string', path);
  if (path.includes('\0')) throw invalidArgValue('path', path, 'must be a string without null bytes');
  validateInteger(projectId, 'projectId', 1, 255);
  return call({ path }, () => native.ftok(path, projectId));
}

/** What `segment.stat()` returns (shmctl IPC_STAT). */
export interface SegmentStat {
  /** The key it was created with (0 once removed, or for a private segment). */
  key: number;
  /** Size in bytes, as created. */
  size: number;
  /** Permission bits (0o777 part of shm_perm.mode). */
  mode: number;
  /** True once `remove()`d while still attached (SHM_DEST): it goes when the last attachment detaches. */
  removed: boolean;
  /** Owner user (changeable with `set`). */
  uid: number;
  /** Owner group (changeable with `set`). */
  gid: number;
  /** Creator user. */
  cuid: number;
  /** Creator group. */
  cgid: number;
  /** Process that created it. */
  cpid: number;
  /** Process of the last shmat or shmdt. */
  lpid: number;
  /** Number of current attachments, in every process. */
  nattch: number;
  /** Time of the last shmat (null: never). */
  atime: Date | null;
  /** Time of the last shmdt (null: never). */
  dtime: Date | null;
  /** Time of the last change by IPC_SET or creation (null: never). */
  ctime: Date | null;
}

function dateOf(seconds: number): Date | null {
  return seconds === 0 ? null : new Date(seconds * 1000);
}

function statOf(raw: NativeSegmentStat): SegmentStat {
  return {
    key: raw.key,
    size: raw.size,
    mode: raw.mode & 0o777,
    removed: (raw.mode & SHM_DEST) !== 0,
    uid: raw.uid,
    gid: raw.gid,
    cuid: raw.cuid,
    cgid: raw.cgid,
    cpid: raw.cpid,
    lpid: raw.lpid,
    nattch: raw.nattch,
    atime: dateOf(raw.atime),
    dtime: dateOf(raw.dtime),
    ctime: dateOf(raw.ctime),
  };
}

/** Options of `Segment.create` and `Segment.private`. */
export interface CreateSegmentOptions {
  /** Permission bits of a segment this call creates (default 0o600: only this user). Ignored if it exists. */
  mode?: number;
  /** Fail with EEXIST if a segment with the key exists (IPC_CREAT | IPC_EXCL). Default false. */
  exclusive?: boolean;
}

/** Options of `segment.attach`. */
export interface AttachOptions {
  /**
   * Attach for reading only: the kernel checks read permission only (a user who may not write the segment can
   * attach it). See `Attachment` for what a JavaScript write through such an attachment does: it never crashes.
   */
  readOnly?: boolean;
}

/** A System V shared memory segment, known by its id. Holds no resources itself: attachments do. */
export class Segment {
  /** The kernel's id of the segment (shmid): valid in every process, for as long as the segment exists. */
  readonly id: number;
  /** The key it was created or opened with (IPC_PRIVATE, 0, for private segments or `Segment.fromId`). */
  readonly key: number;

  private constructor(id: number, key: number) {
    this.id = id;
    this.key = key;
  }

  /**
   * Creates the segment with `key`, or opens it if it exists (shmget with IPC_CREAT; with `exclusive`, also
   * IPC_EXCL, and an existing one is an EEXIST error). An existing segment smaller than `size` is EINVAL.
   */
  static create(key: number, size: number, options: CreateSegmentOptions = {}): Segment {
    const k = validateKey(key);
    validateSize(size);
    const opts = validateObject<CreateSegmentOptions>(options, 'options');
    const mode = validateMode(opts.mode ?? 0o600, 'options.mode');
    const exclusive = validateBoolean(opts.exclusive, 'options.exclusive', false);
    const id = call({ key: k }, () => native.shmget(k, size, IPC_CREAT | (exclusive ? IPC_EXCL : 0) | mode));
    return new Segment(id, k);
  }

  /** Opens the existing segment with `key` (shmget(key, 0, 0)): ENOENT if there is none. */
  static open(key: number): Segment {
    const k = validateKey(key);
    return new Segment(call({ key: k }, () => native.shmget(k, 0, 0)), k);
  }

  /** Creates a new segment no key can find (IPC_PRIVATE). Share its `id` with other processes to let them attach. */
  static private(size: number, options: Pick<CreateSegmentOptions, 'mode'> = {}): Segment {
    validateSize(size);
    const opts = validateObject<CreateSegmentOptions>(options, 'options');
    const mode = validateMode(opts.mode ?? 0o600, 'options.mode');
    return new Segment(call({ key: IPC_PRIVATE }, () => native.shmget(IPC_PRIVATE, size, IPC_CREAT | mode)), IPC_PRIVATE);
  }

  /**
   * A segment by the id another process gave. Not checked here (IPC_STAT would need read permission): a gone
   * segment is an EINVAL or EIDRM error at the first call that uses it.
   */
  static fromId(id: number): Segment {
    validateInteger(id, 'id', 0, 0x7fffffff);
    return new Segment(id, IPC_PRIVATE);
  }

  /** shmctl(IPC_STAT): size, permissions, owners, attachment count and times. Needs read permission (EACCES). */
  stat(): SegmentStat {
    return statOf(call(this.#what(), () => native.shmctlStat(this.id)));
  }

  /** The size in bytes (IPC_STAT). */
  get size(): number {
    return this.stat().size;
  }

  /**
   * shmctl(IPC_SET): changes the owner uid, gid and permission bits; the ones not given stay (read first with
   * IPC_STAT, so a caller without read permission must give all three). Owner, creator or root (EPERM).
   */
  set(changes: { uid?: number; gid?: number; mode?: number }): void {
    const opts = validateObject<{ uid: number; gid: number; mode: number }>(changes, 'changes');
    if (changes === undefined) throw invalidArgType('changes', 'of type object', changes);
    // uid_t and gid_t are unsigned 32-bit; 0xffffffff is (uid_t)-1, "no change" to chown and never an owner.
    const uid = opts.uid === undefined ? undefined : validateInteger(opts.uid, 'changes.uid', 0, 0xfffffffe);
    const gid = opts.gid === undefined ? undefined : validateInteger(opts.gid, 'changes.gid', 0, 0xfffffffe);
    const mode = opts.mode === undefined ? undefined : validateMode(opts.mode, 'changes.mode');
    // IPC_SET sets all three: read the ones not given (IPC_STAT, which needs read permission) unless all are.
    const current = uid !== undefined && gid !== undefined && mode !== undefined ? { uid, gid, mode } : this.stat();
    call(this.#what(), () => native.shmctlSet(this.id, uid ?? current.uid, gid ?? current.gid, mode ?? current.mode));
  }

  /**
   * shmctl(IPC_RMID): marks the segment for removal. Its key is free at once (a new `create` makes a new
   * segment); the bytes stay until the last attachment, in any process, detaches. Owner, creator or root (EPERM).
   */
  remove(): void {
    call(this.#what(), () => native.shmctlRemove(this.id));
  }

  /**
   * shmat: maps the segment into this process. The attachment's `.buffer` is a Buffer over the segment's bytes
   * (no copy); `detach()` (or `using`) unmaps it, and every Buffer taken from it then reads as length 0.
   */
  attach(options: AttachOptions = {}): Attachment {
    const opts = validateObject<AttachOptions>(options, 'options');
    const readOnly = validateBoolean(opts.readOnly, 'options.readOnly', false);
    const what = this.#what();
    const size = attachableSize(this, call(what, () => native.shmctlStat(this.id)).size);
    const mapping = call(what, () => attachNative(this.id, size, readOnly));
    return new Attachment(this, mapping, readOnly);
  }

  #what(): { key?: number; id: number } {
    return this.key === IPC_PRIVATE ? { id: this.id } : { key: this.key, id: this.id };
  }
}

/**
 * The segment's size, if one ArrayBuffer of this runtime can hold it (buffer.constants.MAX_LENGTH); otherwise
 * ERR_SEGMENT_TOO_LARGE, before shmat. A segment made by C, or by a runtime with a larger limit, can be larger.
 */
function attachableSize(segment: Segment, size: number): number {
  if (size > MAX_SEGMENT_SIZE)
    throw memmapError(
      'ERR_SEGMENT_TOO_LARGE',
      `segment ${segment.id} is ${size} bytes, more than this runtime's largest ArrayBuffer (${MAX_SEGMENT_SIZE} bytes): ` +
        'attach it from a runtime with a larger buffer.constants.MAX_LENGTH, or use a smaller segment',
    );
  return size;
}

/** The one native call that maps a segment; readOnly attachments use the copy-on-write read-only path. */
function attachNative(id: number, size: number, readOnly: boolean): ArrayBuffer {
  return readOnly ? native.shmatReadOnly(id, size) : native.shmat(id, size, 0);
}

/**
 * A segment mapped into this process. `.buffer` is live: other processes' writes show at once, and this
 * process's writes reach them.
 *
 * A read-only attachment (`{ readOnly: true }`) is mapped with SHM_RDONLY, so the kernel only needed read
 * permission. A JavaScript Buffer cannot be made read-only, so a write through `.buffer` cannot be refused; it
 * does not crash either: memmap's SIGSEGV handler gives the written page a private copy (copy-on-write, as for
 * a MappedFile opened 'r'). That page then stops following the segment, and the write never reaches it or any
 * other process. Read-only attachments are for reading; `unsafe.attachReadOnlyRaw` skips the handler.
 */
export class Attachment implements Disposable {
  /** The segment this attachment maps. */
  readonly segment: Segment;
  /** True when attached with `{ readOnly: true }` (SHM_RDONLY). */
  readonly readOnly: boolean;
  #mapping: ArrayBuffer | undefined;
  #buffer: Buffer | undefined;
  /** Bytes in `.buffer` (the segment's size). */
  readonly length: number;

  /** @internal */
  constructor(segment: Segment, mapping: ArrayBuffer, readOnly: boolean) {
    this.segment = segment;
    this.readOnly = readOnly;
    this.#mapping = mapping;
    this.#buffer = Buffer.from(mapping);
    this.length = mapping.byteLength;
  }

  /** The segment's bytes (no copy). Throws ERR_SEGMENT_DETACHED after `detach()`. */
  get buffer(): Buffer {
    if (this.#buffer === undefined) throw detachedError(this.segment);
    return this.#buffer;
  }

  /** True after `detach()`. */
  get detached(): boolean {
    return this.#mapping === undefined;
  }

  /** shmdt: detaches every view first (they read as length 0), then unmaps. Idempotent. */
  detach(): void {
    const mapping = this.#mapping;
    if (mapping === undefined) return;
    this.#mapping = undefined;
    this.#buffer = undefined;
    call({ id: this.segment.id }, () => native.shmdt(mapping));
  }

  /** `using attachment = segment.attach()` detaches at the end of the scope. */
  [Symbol.dispose](): void {
    this.detach();
  }
}

/**
 * UNSAFE (exported from memmap/unsafe only): shmat with SHM_RDONLY and nothing else. The pages have no write
 * permission, and a JavaScript Buffer cannot refuse a write, so any write through `.buffer` (a stray
 * `buffer[0] = 1`, a `buffer.write`, a `fill`) kills the process with SIGSEGV. It exists for code that must see
 * the segment exactly as the kernel maps it, with no SIGSEGV handler in the process and no private copies: prefer
 * `segment.attach({ readOnly: true })`, which maps the same way but turns such a write into a private copy.
 */
export function attachReadOnlyRaw(segment: Segment): Attachment {
  if (!(segment instanceof Segment)) throw invalidArgType('segment', 'an instance of Segment', segment);
  const what = segment.key === IPC_PRIVATE ? { id: segment.id } : { key: segment.key, id: segment.id };
  const size = attachableSize(segment, call(what, () => native.shmctlStat(segment.id)).size);
  const mapping = call(what, () => native.shmat(segment.id, size, native.constants.SHM_RDONLY));
  return new Attachment(segment, mapping, true);
}

function detachedError(segment: Segment): CodedError {
  return memmapError('ERR_SEGMENT_DETACHED', `the attachment of segment ${segment.id} is detached: attach it again to use it`);
}

/** Options of `Semaphore.create`. */
export interface CreateSemaphoreOptions {
  /** The value a semaphore this call creates starts at (default 1: a lock). Ignored if it exists. */
  initial?: number;
  /** Permission bits of a set this call creates (default 0o600). */
  mode?: number;
  /** Fail with EEXIST if a set with the key exists. */
  exclusive?: boolean;
}

/** Options of `acquire`. */
export interface AcquireOptions {
  /** Give up after this many milliseconds: `acquire` then returns false. Default: wait for ever. */
  timeout?: number;
}

/** The longest single blocking call acquireAsync makes, so that no libuv pool thread is held for ever. */
const ASYNC_SLICE_MS = 250;

/**
 * A System V counting semaphore (a set of one, semget/semop/semctl), which any C program can use with the same
 * key. Every `acquire` is made with SEM_UNDO: if this process dies while it holds units, the kernel gives them
 * back, so a killed holder can never leave the others blocked for ever.
 *
 * The C side: `int id = semget(key, 1, 0); struct sembuf p = {0, -1, SEM_UNDO}; semop(id, &p, 1);` to acquire,
 * `{0, +1, SEM_UNDO}` to release (a release without SEM_UNDO would leave the undo count wrong).
 */
export class Semaphore {
  /** The kernel's id of the set (semid). */
  readonly id: number;
  /** The key it was created or opened with (0: private). */
  readonly key: number;

  private constructor(id: number, key: number) {
    this.id = id;
    this.key = key;
  }

  /**
   * Creates the semaphore with `key` at `initial` (default 1), or opens it if it exists (and `exclusive` is not
   * set). Creating and setting the value are two calls: another process that opens it in between sees 0 and waits.
   */
  static create(key: number, options: CreateSemaphoreOptions = {}): Semaphore {
    const k = validateKey(key);
    const opts = validateObject<CreateSemaphoreOptions>(options, 'options');
    const initial = validateInteger(opts.initial ?? 1, 'options.initial', 0, 32767);
    const mode = validateMode(opts.mode ?? 0o600, 'options.mode');
    const exclusive = validateBoolean(opts.exclusive, 'options.exclusive', false);
    // Exclusive create first, so that only the creator sets the initial value.
    try {
      const id = call({ key: k }, () => native.semget(k, 1, IPC_CREAT | IPC_EXCL | mode));
      call({ key: k, id }, () => native.semctlSetValue(id, 0, initial));
      return new Semaphore(id, k);
    } catch (error) {
      if (exclusive || (error as SystemError).code !== 'EEXIST') throw error;
    }
    return Semaphore.open(k);
  }

  /** Opens the existing set with `key`: ENOENT if there is none. */
  static open(key: number): Semaphore {
    const k = validateKey(key);
    return new Semaphore(call({ key: k }, () => native.semget(k, 1, 0)), k);
  }

  /** A new semaphore no key can find (IPC_PRIVATE); pass its `id` to other processes (`Semaphore.fromId`). */
  static private(options: Pick<CreateSemaphoreOptions, 'initial' | 'mode'> = {}): Semaphore {
    const opts = validateObject<CreateSemaphoreOptions>(options, 'options');
    const initial = validateInteger(opts.initial ?? 1, 'options.initial', 0, 32767);
    const mode = validateMode(opts.mode ?? 0o600, 'options.mode');
    const id = call({ key: IPC_PRIVATE }, () => native.semget(IPC_PRIVATE, 1, IPC_CREAT | mode));
    call({ id }, () => native.semctlSetValue(id, 0, initial));
    return new Semaphore(id, IPC_PRIVATE);
  }

  /** A set by the id another process gave. */
  static fromId(id: number): Semaphore {
    validateInteger(id, 'id', 0, 0x7fffffff);
    call({ id }, () => native.semctlGetValue(id, 0));
    return new Semaphore(id, IPC_PRIVATE);
  }

  /** The current value (semctl GETVAL): units available now. */
  get value(): number {
    return call(this.#what(), () => native.semctlGetValue(this.id, 0));
  }

  /**
   * Takes `count` units (default 1), blocking this thread until they are free (semop -count, SEM_UNDO). Returns
   * false if `timeout` ms passed first. EIDRM if the set is removed while waiting.
   */
  acquire(count = 1, options: AcquireOptions = {}): boolean {
    validateInteger(count, 'count', 1, 32767);
    const timeout = timeoutOf(options);
    return call(this.#what(), () => native.semop(this.id, 0, -count, SEM_UNDO, timeout));
  }

  /** Takes `count` units if they are free now (IPC_NOWAIT); false otherwise. */
  tryAcquire(count = 1): boolean {
    validateInteger(count, 'count', 1, 32767);
    return call(this.#what(), () => native.semop(this.id, 0, -count, SEM_UNDO | IPC_NOWAIT, -1));
  }

  /** As `acquire`, without blocking the event loop: waits on the libuv thread pool, in slices of at most 250 ms. */
  async acquireAsync(count = 1, options: AcquireOptions = {}): Promise<boolean> {
    validateInteger(count, 'count', 1, 32767);
    const timeout = timeoutOf(options);
    const deadline = timeout < 0 ? Infinity : Date.now() + timeout;
    for (;;) {
      const left = deadline - Date.now();
      const slice = Math.max(0, Math.min(ASYNC_SLICE_MS, left));
      let acquired: boolean;
      try {
        acquired = await native.semopAsync(this.id, 0, -count, SEM_UNDO, slice);
      } catch (error) {
        throw sysvError(error, this.#what());
      }
      if (acquired) return true;
      if (Date.now() >= deadline) return false;
    }
  }

  /** Gives back `count` units (semop +count, SEM_UNDO, which cancels the undo entry of the acquire). */
  release(count = 1): void {
    validateInteger(count, 'count', 1, 32767);
    call(this.#what(), () => native.semop(this.id, 0, count, SEM_UNDO, -1));
  }

  /** Removes the set (semctl IPC_RMID) at once: waiters wake with EIDRM. Owner, creator or root (EPERM). */
  remove(): void {
    call(this.#what(), () => native.semctlRemove(this.id));
  }

  #what(): { key?: number; id: number } {
    return this.key === IPC_PRIVATE ? { id: this.id } : { key: this.key, id: this.id };
  }
}

function timeoutOf(options: AcquireOptions): number {
  const opts = validateObject<AcquireOptions>(options, 'options');
  if (opts.timeout === undefined) return -1;
  if (typeof opts.timeout !== 'number') throw invalidArgType('options.timeout', 'of type number', opts.timeout);
  if (opts.timeout === Infinity) return -1;
  return validateInteger(Math.ceil(opts.timeout), 'options.timeout', 0, 0x7fffffff);
}
