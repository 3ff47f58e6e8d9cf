/**
 * System V shared memory segments: `Segment` (shmget, shmctl) and its `Attachment` (shmat, shmdt).
 *
 * What the kernel promises: a segment outlives every process that made or attached it, until it is removed
 * (`remove()`, IPC_RMID) and its last attachment detaches, or the machine reboots. Every process that attaches
 * it sees the same bytes at once; the kernel gives no ordering or locking of its own (see src/shared/ for atomics,
 * Mutex and wait/notify). Segments are zero-filled when created.
 *
 * | call                          | syscall                                           |
 * |-------------------------------|---------------------------------------------------|
 * | `Segment.create(key, size)`   | shmget(key, size, IPC_CREAT [| IPC_EXCL] | mode)  |
 * | `Segment.open(key)`           | shmget(key, 0, 0)                                 |
 * | `Segment.private(size)`       | shmget(IPC_PRIVATE, size, IPC_CREAT | mode)       |
 * | `segment.attach()`            | shmat(id, NULL, 0)                                |
 * | `attachment.detach()`         | shmdt(2), after every view is detached            |
 * | `segment.stat()` / `set()`    | shmctl IPC_STAT / IPC_SET                         |
 * | `segment.remove()`            | shmctl IPC_RMID                                   |
 */
import { constants as bufferConstants } from 'node:buffer';
import { invalidArgType, memmapError, validateBoolean, validateInteger, validateObject } from '../errors.js';
import { guardFace, keepPublicFace } from '../mapping-faces.js';
import { native, type NativeSegmentStat } from '../native.js';
import { detachedError, segmentTooLargeError, sysvCall } from './errors.js';
import {
  IPC_CREAT,
  IPC_EXCL,
  IPC_PRIVATE,
  SHM_DEST,
  SHM_RDONLY,
  IpcObject,
  isIpcObject,
  ownIdOf,
  targetOfObject,
  validateId,
  validateKey,
  validateMode,
} from './ipc.js';

/** The largest segment one ArrayBuffer of this runtime can hold, so the largest one `attach` can map. */
const MAX_SEGMENT_SIZE: number = bufferConstants.MAX_LENGTH;

function validateSize(size: unknown): number {
  return validateInteger(size, 'size', 1, MAX_SEGMENT_SIZE);
}

/** Proves that a call of the Attachment constructor comes from this module (it is not public API). */
const CONSTRUCTING = Symbol('Attachment');

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
export class Segment extends IpcObject {
  private constructor(id: number, key: number) {
    super(id, key);
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
    const id = sysvCall({ key: k }, () => native.shmget(k, size, IPC_CREAT | (exclusive ? IPC_EXCL : 0) | mode));
    return new Segment(id, k);
  }

  /** Opens the existing segment with `key` (shmget(key, 0, 0)): ENOENT if there is none. */
  static open(key: number): Segment {
    const k = validateKey(key);
    return new Segment(
      sysvCall({ key: k }, () => native.shmget(k, 0, 0)),
      k,
    );
  }

  /** Creates a new segment no key can find (IPC_PRIVATE). Share its `id` with other processes to let them attach. */
  static private(size: number, options: Pick<CreateSegmentOptions, 'mode'> = {}): Segment {
    validateSize(size);
    const opts = validateObject<CreateSegmentOptions>(options, 'options');
    const mode = validateMode(opts.mode ?? 0o600, 'options.mode');
    const id = sysvCall({ key: IPC_PRIVATE }, () => native.shmget(IPC_PRIVATE, size, IPC_CREAT | mode));
    return new Segment(id, IPC_PRIVATE);
  }

  /**
   * A segment by the id another process gave. Not checked here (IPC_STAT would need read permission): a gone
   * segment is an EINVAL or EIDRM error at the first call that uses it.
   */
  static fromId(id: number): Segment {
    return new Segment(validateId(id), IPC_PRIVATE);
  }

  /** shmctl(IPC_STAT): size, permissions, owners, attachment count and times. Needs read permission (EACCES). */
  stat(): SegmentStat {
    return statOf(sysvCall(this.#what(), () => native.shmctlStat(ownIdOf(this))));
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
    const given: unknown = changes; // from JavaScript, anything
    if (given === undefined) throw invalidArgType('changes', 'of type object', given);
    const opts = validateObject<{ uid: number; gid: number; mode: number }>(given, 'changes');
    // uid_t and gid_t are unsigned 32-bit; 0xffffffff is (uid_t)-1, "no change" to chown and never an owner.
    const uid = opts.uid === undefined ? undefined : validateInteger(opts.uid, 'changes.uid', 0, 0xfffffffe);
    const gid = opts.gid === undefined ? undefined : validateInteger(opts.gid, 'changes.gid', 0, 0xfffffffe);
    const mode = opts.mode === undefined ? undefined : validateMode(opts.mode, 'changes.mode');
    // IPC_SET sets all three: read the ones not given (IPC_STAT, which needs read permission) unless all are.
    const current = uid !== undefined && gid !== undefined && mode !== undefined ? { uid, gid, mode } : this.stat();
    const [newUid, newGid, newMode] = [uid ?? current.uid, gid ?? current.gid, mode ?? current.mode];
    sysvCall(this.#what(), () => native.shmctlSet(ownIdOf(this), newUid, newGid, newMode));
  }

  /**
   * shmctl(IPC_RMID): marks the segment for removal. Its key is free at once (a new `create` makes a new
   * segment); the bytes stay until the last attachment, in any process, detaches. Owner, creator or root (EPERM).
   */
  remove(): void {
    sysvCall(this.#what(), () => native.shmctlRemove(ownIdOf(this)));
  }

  /**
   * shmat: maps the segment into this process. The attachment's `.buffer` is a Buffer over the segment's bytes
   * (no copy); `detach()` (or `using`) ends the attachment: record views and atomics over it throw from then on, and
   * a Buffer taken from it keeps its length over a private copy of the bytes (see `Attachment.detach`).
   */
  attach(options: AttachOptions = {}): Attachment {
    const opts = validateObject<AttachOptions>(options, 'options');
    const readOnly = validateBoolean(opts.readOnly, 'options.readOnly', false);
    const what = this.#what();
    const id = ownIdOf(this);
    const size = attachableSize(id, sysvCall(what, () => native.shmctlStat(id)).size);
    const mapping = sysvCall(what, () => attachNative(id, size, readOnly));
    return new Attachment(CONSTRUCTING, this, mapping, readOnly);
  }

  #what(): { key?: number; id: number } {
    return targetOfObject(this);
  }
}

/**
 * The segment's size, if one ArrayBuffer of this runtime can hold it (buffer.constants.MAX_LENGTH); otherwise
 * ERR_SEGMENT_TOO_LARGE, before shmat. A segment made by C, or by a runtime with a larger limit, can be larger.
 */
function attachableSize(id: number, size: number): number {
  if (size > MAX_SEGMENT_SIZE) throw segmentTooLargeError(id, size, MAX_SEGMENT_SIZE);
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
  // Private, read through getters: detach() names the segment's id in its errors after it has let the mapping go,
  // so a `segment` a program replaced must not be able to throw there and leave the segment attached.
  readonly #segment: Segment;
  readonly #id: number;
  readonly #readOnly: boolean;
  #mapping: ArrayBuffer | undefined;
  /** The attachment's guarded face (mapping-faces.ts), detached by `detach()`. */
  #guarded: ArrayBuffer | undefined;
  #buffer: Buffer | undefined;
  // Private, so that a property a program gives the object cannot change what detach() counts against the budget.
  readonly #length: number;

  /** Not public: attachments come from `segment.attach()` (any other call throws ERR_ILLEGAL_CONSTRUCTOR). */
  constructor(token: symbol, segment: Segment, mapping: ArrayBuffer, readOnly: boolean) {
    if (token !== CONSTRUCTING)
      throw memmapError('ERR_ILLEGAL_CONSTRUCTOR', 'Illegal constructor: attach a segment with segment.attach()', {
        kind: 'TypeError',
      });
    this.#segment = segment;
    this.#id = ownIdOf(segment);
    this.#readOnly = readOnly;
    this.#mapping = mapping;
    this.#guarded = sysvCall({ id: this.#id }, () => guardFace(mapping, true));
    this.#buffer = Buffer.from(mapping);
    this.#length = mapping.byteLength;
  }

  /** The segment this attachment maps. */
  get segment(): Segment {
    return this.#segment;
  }

  /** True when attached with `{ readOnly: true }` (SHM_RDONLY). */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** Bytes in `.buffer` (the segment's size). */
  get length(): number {
    return this.#length;
  }

  /** The segment's bytes (no copy). Throws ERR_SEGMENT_DETACHED after `detach()`. */
  get buffer(): Buffer {
    if (this.#buffer === undefined) throw detachedError(this.#id);
    return this.#buffer;
  }

  /** True after `detach()`. */
  get detached(): boolean {
    return this.#mapping === undefined;
  }

  /**
   * shmdt: every layout view, atomic word and mutex over the attachment throws from now on; a Buffer handed out
   * keeps its length and reads a private copy of the segment's bytes, which no other process sees (a write by a
   * thread-pool thread racing this call may reach the segment and not the copy). Past the budget of kept ranges
   * (256 MiB of copies, 4,096 ranges: mapping-faces.ts) the Buffer is detached instead (length 0). Idempotent.
   */
  detach(): void {
    const mapping = this.#mapping;
    const guarded = this.#guarded;
    if (mapping === undefined) return;
    this.#mapping = undefined;
    this.#guarded = undefined;
    this.#buffer = undefined;
    sysvCall({ id: this.#id }, () => native.shmdt(mapping, guarded, keepPublicFace(this.#length)));
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
  // instanceof alone would take a Proxy or an Object.create(Segment.prototype), which have no id of their own.
  if (!(segment instanceof Segment && isIpcObject(segment)))
    throw invalidArgType('segment', 'an instance of Segment', segment);
  const id = ownIdOf(segment);
  const what = targetOfObject(segment);
  const size = attachableSize(id, sysvCall(what, () => native.shmctlStat(id)).size);
  const mapping = sysvCall(what, () => native.shmat(id, size, SHM_RDONLY));
  return new Attachment(CONSTRUCTING, segment, mapping, true);
}
