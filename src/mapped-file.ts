/**
 * MappedFile: a file (or a window of one) mapped into memory, with the flushing, advice, residency, locking,
 * resizing and closing that make it safe to hold for a long time.
 *
 * | mode  | open flags          | mapping                   | writes through `.buffer`                         |
 * |-------|---------------------|---------------------------|--------------------------------------------------|
 * | 'r'   | O_RDONLY            | MAP_PRIVATE, read/write   | stay in this process, never reach the file       |
 * | 'r+'  | O_RDWR              | MAP_SHARED                | reach the file and every process mapping it      |
 * | 'w+'  | O_RDWR|O_CREAT|O_TRUNC | MAP_SHARED             | as 'r+', on a file created (or emptied) at `size` |
 * | 'c'   | O_RDONLY            | MAP_PRIVATE, read/write   | copy-on-write, like numpy's 'c': never saved      |
 *
 * Why 'r' is a private writable map: a JavaScript Buffer cannot be made read-only, so a PROT_READ mapping would
 * kill the process (SIGSEGV) on the first stray write. A private copy-on-write map of a file opened O_RDONLY can
 * never write the file back, and a write only costs a private copy of one page.
 *
 * What the kernel does and does not promise: a MAP_SHARED mapping and read(2)/write(2) of the same file see the
 * same page cache, so other processes see writes at once, before any flush. `flush()` (msync MS_SYNC) returns
 * once the dirty pages are written to the device; a power loss before then can lose them, and writes are not
 * atomic beyond what the hardware gives. A page of a 'r' or 'c' map that this process has written no longer
 * follows the file.
 *
 * If another program shrinks the file, the pages past its new end would raise SIGBUS on access (and kill the
 * process, in every other mmap library). memmap's SIGBUS handler (native/sigbus.c) replaces them with zero-filled
 * memory instead, so the access goes on; then `truncated` is true and the next `flush()`, `flushAsync()` or
 * `resize()` throws ERR_MAPPING_TRUNCATED: whatever was written past the file's new end is not in the file.
 * `refresh()` maps the file as it is now. The same handler deals with a page the file covers but the kernel cannot
 * provide (a sparse file on a full filesystem or /dev/shm, an I/O error): `faulted`, ERR_MAPPING_FAULTED.
 */
import { fileURLToPath } from 'node:url';
import { constants as bufferConstants } from 'node:buffer';
import {
  callNative,
  fromNative,
  tryNative,
  invalidArgType,
  invalidArgValue,
  memmapError,
  outOfRange,
  validateBoolean,
  validateInteger,
  validateObject,
  type CodedError,
} from './errors.js';
import { checkRegularFile, closeFile, createFile, fileSize, openFile, reserveSpace, truncateFile } from './file-io.js';
import { guardFace, keepPublicFace } from './mapping-faces.js';
import { native, PAGE_SIZE } from './native.js';

/** How a file is opened and mapped: see the table in this module's doc. */
export type MapMode = 'r' | 'r+' | 'w+' | 'c';

/** Advice for `advise()` and the `advise` option, each the madvise(2) flag of the same name (MADV_*). */
export type Advice = 'normal' | 'random' | 'sequential' | 'willneed' | 'dontneed' | 'hugepage' | 'nohugepage';

/** A byte range of the mapping, relative to the start of `.buffer`. Defaults: the whole mapping. */
export interface ByteRange {
  /** First byte (default 0). */
  offset?: number;
  /** Number of bytes (default: to the end of the mapping). */
  length?: number;
}

/** Options of `MappedFile.open`. */
export interface OpenOptions {
  /** 'r' (default), 'r+', 'w+' or 'c': see the module's table. */
  mode?: MapMode;
  /**
   * The file's size in bytes. Required for 'w+' (the file is created or truncated to it). With 'r+', a file
   * smaller than `size` is grown to it (like numpy.memmap). With 'r' and 'c' it must not exceed the file.
   */
  size?: number;
  /** Byte offset in the file where the mapping starts: any value; the page alignment mmap needs is done inside. */
  offset?: number;
  /** Bytes to map from `offset` (default: to the end of the file). Must not reach past the end of the file. */
  length?: number;
  /** Prefault the pages now (MAP_POPULATE): slower open, no page faults later. */
  populate?: boolean;
  /** madvise(2) the whole mapping right after mapping it. */
  advise?: Advice;
  /** Permission bits of a file that 'w+' creates (default 0o644), as fs.open's `mode`. */
  fileMode?: number;
  /**
   * Keep created or grown files sparse (default false). By default the blocks are reserved with
   * posix_fallocate, so a full disk is an ENOSPC error at the call that asked for the space instead of a SIGBUS
   * when a page is first touched.
   */
  sparse?: boolean;
}

/** Options of `flush()`. */
export interface FlushOptions {
  /** MS_ASYNC: schedule the write-back and return at once (default false: MS_SYNC waits for it). */
  async?: boolean;
  /** MS_INVALIDATE: also ask the kernel to invalidate other cached copies of the range. */
  invalidate?: boolean;
}

/** What `residency()` returns: how much of a range is in RAM (mincore(2)). */
export interface Residency {
  /** Pages of the range that are resident. */
  resident: number;
  /** Pages the range covers. */
  total: number;
  /** With `{ pages: true }`: one entry per page, 1 when resident. */
  pages?: Uint8Array;
}

const MODES: readonly MapMode[] = ['r', 'r+', 'w+', 'c'];
const ADVICE: Record<Advice, number> = {
  normal: native.constants.MADV_NORMAL,
  random: native.constants.MADV_RANDOM,
  sequential: native.constants.MADV_SEQUENTIAL,
  willneed: native.constants.MADV_WILLNEED,
  dontneed: native.constants.MADV_DONTNEED,
  hugepage: native.constants.MADV_HUGEPAGE,
  nohugepage: native.constants.MADV_NOHUGEPAGE,
};

/** The largest Buffer Node can make: a longer window must be mapped in parts with `offset` and `length`. */
export const MAX_MAPPING_LENGTH: number = bufferConstants.MAX_LENGTH;

/**
 * Closes the descriptor of a MappedFile dropped without `close()`, once its current mapping is collected (the
 * MappedFile and every view of that mapping are gone; the addon unmaps the range then, too).
 */
const closeWhenCollected = new FinalizationRegistry<{ fd: number }>((held) => {
  if (held.fd >= 0) closeFile(held.fd);
});

/** Moves whenever the SIGBUS handler repairs a fault anywhere in the process ([1] = 1: it cannot tell, always ask). */
const FAULT_EPOCH = new Uint32Array(native.faultEpoch());
/** FAULT_EPOCH[0] now (the addon's array has its two elements from load on). */
const repairEpoch = (): number => FAULT_EPOCH[0] ?? 0;

/** A `flushAsync()` in flight; `completedBy` is set when the mapping was retired, after flushing it, meanwhile. */
interface PendingFlush {
  mapping: ArrayBuffer;
  completedBy?: { failure: Error | undefined };
}

/** A range argument as given, each property read once (a getter runs once, before the mapping is captured). */
interface RawRange {
  offset: unknown;
  length: unknown;
}

function readRange(range: unknown, name: string): RawRange {
  const r = validateObject<ByteRange>(range, name);
  return { offset: r.offset, length: r.length };
}

/** Reads and checks flush options (each getter once): the msync(2) flags. */
function msyncFlags(options: unknown): number {
  const opts = validateObject<FlushOptions>(options, 'options');
  const async = validateBoolean(opts.async, 'options.async', false);
  const invalidate = validateBoolean(opts.invalidate, 'options.invalidate', false);
  const { MS_SYNC, MS_ASYNC, MS_INVALIDATE } = native.constants;
  return (async ? MS_ASYNC : MS_SYNC) | (invalidate ? MS_INVALIDATE : 0);
}

/** The window of the file a mapping covers, and where `.buffer` starts inside the mapped pages. */
interface Window {
  /** File offset of the first mapped page (a multiple of the page size). */
  pageOffset: number;
  /** Bytes between the first mapped page and the first byte of `.buffer`. */
  delta: number;
  /** Bytes in `.buffer`. */
  length: number;
}

function pageWindow(offset: number, length: number): Window {
  const pageOffset = offset - (offset % PAGE_SIZE);
  return { pageOffset, delta: offset - pageOffset, length };
}

/**
 * Throws ERR_OUT_OF_RANGE unless a window of `length` bytes at file offset `offset` fits one ArrayBuffer of this
 * runtime: the addon maps from the page boundary below `offset`, so the mapping is up to a page longer than the
 * window, and that whole mapping must be one ArrayBuffer.
 */
function checkMappable(offset: number, length: number, name: string): void {
  const delta = offset % PAGE_SIZE;
  if (delta + length > MAX_MAPPING_LENGTH)
    throw outOfRange(
      name,
      `<= ${MAX_MAPPING_LENGTH - delta} (the runtime's largest ArrayBuffer, ${MAX_MAPPING_LENGTH}, less the ${delta} ` +
        'bytes between the page boundary and the offset): map a window of the file with options.offset and options.length',
      length,
    );
}

/** A mode and its size: 'w+' creates the file, so it needs one. */
type ModeAndSize = { mode: 'w+'; size: number } | { mode: Exclude<MapMode, 'w+'>; size: number | undefined };

/** OpenOptions, checked: what `open` and `fromDescriptor` act on once every argument has been read once. */
type OpenRequest = ModeAndSize & {
  offset: number;
  length: number | undefined;
  populate: boolean;
  sparse: boolean;
  fileMode: number;
  advice: number | undefined;
};

/**
 * Reads every option once (a getter runs once) and checks everything that can be checked without the file, so that
 * nothing is opened, created or sized for a call that will be refused for an argument.
 */
function validateOpenOptions(options: unknown): OpenRequest {
  const opts = validateObject<OpenOptions>(options, 'options');
  const raw = {
    mode: opts.mode,
    size: opts.size,
    offset: opts.offset,
    length: opts.length,
    populate: opts.populate,
    sparse: opts.sparse,
    fileMode: opts.fileMode,
    advise: opts.advise,
  };
  const mode = raw.mode ?? 'r';
  if (!MODES.includes(mode)) throw invalidArgValue('options.mode', mode, "must be one of 'r', 'r+', 'w+', 'c'");
  const size = raw.size === undefined ? undefined : validateInteger(raw.size, 'options.size', 1);
  const offset = validateInteger(raw.offset ?? 0, 'options.offset', 0);
  const length =
    raw.length === undefined ? undefined : validateInteger(raw.length, 'options.length', 1, MAX_MAPPING_LENGTH);
  const populate = validateBoolean(raw.populate, 'options.populate', false);
  const sparse = validateBoolean(raw.sparse, 'options.sparse', false);
  const fileMode = validateInteger(raw.fileMode ?? 0o644, 'options.fileMode', 0, 0o7777);
  const advice = raw.advise === undefined ? undefined : validateAdvice(raw.advise);
  let sized: ModeAndSize;
  if (mode !== 'w+') sized = { mode, size };
  else if (size !== undefined) sized = { mode, size };
  else throw invalidArgType('options.size', "a positive integer when mode is 'w+'", size);
  if (size !== undefined && length !== undefined && offset + length > size)
    throw outOfRange('options.length', `<= options.size - options.offset (${size - offset})`, length);
  if (size !== undefined && length === undefined && offset >= size)
    throw outOfRange('options.offset', `< options.size (${size})`, offset);
  // With a size, the mapped length is known now: refuse a window too large before any file is created or grown.
  if (size !== undefined)
    checkMappable(offset, length ?? size - offset, length === undefined ? 'options.size' : 'options.length');
  else if (length !== undefined) checkMappable(offset, length, 'options.length');
  return { ...sized, offset, length, populate, sparse, fileMode, advice };
}

function displayPath(path: string | URL | Buffer): string {
  if (path instanceof URL) return fileURLToPath(path);
  return typeof path === 'string' ? path : path.toString();
}

function validateAdvice(advice: unknown): number {
  if (typeof advice !== 'string' || !(advice in ADVICE))
    throw invalidArgValue('advice', advice, `must be one of ${Object.keys(ADVICE).join(', ')}`);
  return ADVICE[advice as Advice];
}

/** A file mapped into memory. Create with `MappedFile.open` or `MappedFile.anonymous`; release with `close()`. */
export class MappedFile implements Disposable {
  /** The path given to `open` (undefined for anonymous memory). */
  readonly path: string | undefined;
  /** The mode the file was opened with ('r+' for anonymous shared memory, 'c' for anonymous private memory). */
  readonly mode: MapMode;
  // The file offset of the first byte of `.buffer`: private, so that a property a program gives the object (an own
  // `offset` of 0 on a mapping at 8192) cannot move where resize() truncates the file or refresh() maps it.
  readonly #offset: number;

  #fd: number;
  /** Whether `close()` closes `#fd` (false when a caller of `fromDescriptor` keeps it). */
  readonly #ownsFd: boolean;
  /** What the collector needs to close `#fd` if this MappedFile is dropped without `close()`. */
  readonly #collected: { fd: number } = { fd: -1 };
  #mapping: ArrayBuffer | undefined;
  /** The mapping's guarded face (mapping-faces.ts), detached by #unmap. */
  #guarded: ArrayBuffer | undefined;
  /** `flushAsync()` calls whose msync is still on the thread pool (see `#unmap`). */
  readonly #pendingFlushes = new Set<PendingFlush>();
  #buffer: Buffer | undefined;
  #window: Window;
  readonly #shared: boolean;
  readonly #flags: number;
  readonly #sparse: boolean;
  /** Opened without `length`: `refresh()` maps to the file's current end. */
  readonly #followsFile: boolean;
  /** FAULT_EPOCH[0] when this mapping was last known to have no replaced page. */
  #epochSeen = 0;

  private constructor(init: {
    path: string | undefined;
    mode: MapMode;
    fd: number;
    ownsFd: boolean;
    window: Window;
    flags: number;
    sparse: boolean;
    followsFile: boolean;
  }) {
    this.path = init.path;
    this.mode = init.mode;
    this.#fd = init.fd;
    this.#ownsFd = init.ownsFd;
    this.#window = init.window;
    this.#offset = init.window.pageOffset + init.window.delta;
    this.#flags = init.flags;
    this.#shared = (init.flags & native.constants.MAP_SHARED) !== 0;
    this.#sparse = init.sparse;
    this.#followsFile = init.followsFile;
    if (this.#ownsFd) this.#collected.fd = this.#fd;
    this.#map();
  }

  /**
   * Opens `path` and maps it (or the window `offset`..`offset + length` of it). Every argument is checked before
   * the file is touched: a call that throws for an argument never creates, truncates, grows or writes a file.
   * 'w+' builds the new file beside the old one and renames it into place once its space is reserved (see
   * file-io.ts `createFile`), so a full disk leaves an existing file with its size and contents.
   */
  static open(path: string | URL | Buffer, options: OpenOptions = {}): MappedFile {
    if (typeof path !== 'string' && !(path instanceof URL) && !Buffer.isBuffer(path))
      throw invalidArgType('path', 'of type string or an instance of Buffer or URL', path);
    const request = validateOpenOptions(options);
    const shown = displayPath(path);
    const fd =
      request.mode === 'w+'
        ? createFile(shown, { size: request.size, fileMode: request.fileMode, sparse: request.sparse })
        : openFile(shown, request.mode === 'r+' ? 'write' : 'read');
    return MappedFile.#mapDescriptor(fd, shown, request, true);
  }

  /**
   * Maps a file its caller has already opened (RecordFile opens, locks and checks its file once, then maps that
   * descriptor). `fd` must be open read-write for 'r+' and readable for 'r' and 'c'; 'w+' is not accepted (use
   * file-io.ts `createFile`, then map with 'r+'). With `ownsFd`, the MappedFile closes `fd` in `close()` (or when
   * collected unclosed) and also if mapping fails; without, the caller keeps it and must keep it open while the
   * mapping is in use (memmap's SIGBUS handler checks through it that the file is still the one mapped).
   * @internal
   */
  static fromDescriptor(fd: number, path: string, options: OpenOptions & { ownsFd: boolean }): MappedFile {
    validateInteger(fd, 'fd', 0, 2 ** 31 - 1);
    if (typeof path !== 'string') throw invalidArgType('path', 'of type string', path);
    const ownsFd = validateBoolean(options.ownsFd, 'options.ownsFd', false);
    const request = validateOpenOptions(options);
    if (request.mode === 'w+') throw invalidArgValue('options.mode', request.mode, "must be one of 'r', 'r+', 'c'");
    try {
      checkRegularFile(fd, path);
    } catch (error) {
      if (ownsFd) closeFile(fd);
      throw error;
    }
    return MappedFile.#mapDescriptor(fd, path, request, ownsFd);
  }

  /** Sizes (for 'r+' with a larger `size`) and maps the open file `fd`; closes it on failure when it owns it. */
  static #mapDescriptor(fd: number, shown: string, request: OpenRequest, ownsFd: boolean): MappedFile {
    const { mode, size, offset, sparse } = request;
    try {
      let current = fileSize(fd, shown);
      if (size !== undefined && mode === 'r+' && size > current) {
        reserveSpace(fd, current, size, { sparse, path: shown });
        current = size;
      } else if (size !== undefined && size > current && mode !== 'w+') {
        throw outOfRange(
          'options.size',
          `<= the file's size (${current}) with mode '${mode}', which never grows a file`,
          size,
        );
      }
      const length = request.length ?? (size ?? current) - offset;
      if (current === 0)
        throw memmapError(
          'ERR_MAPPING_EMPTY',
          `cannot map the empty file '${shown}': open it with mode 'r+' and a size to grow it`,
          {
            path: shown,
            kind: 'RangeError',
          },
        );
      if (offset >= current) throw outOfRange('options.offset', `< the file's size (${current})`, offset);
      if (offset + length > current)
        throw outOfRange(
          'options.length',
          `<= the file's size past options.offset (${current - offset}); mapping past the end of a file would raise SIGBUS`,
          length,
        );
      checkMappable(offset, length, 'options.length');
      const { MAP_SHARED, MAP_PRIVATE, MAP_POPULATE } = native.constants;
      const flags = (mode === 'r' || mode === 'c' ? MAP_PRIVATE : MAP_SHARED) | (request.populate ? MAP_POPULATE : 0);
      const file = new MappedFile({
        path: shown,
        mode,
        fd,
        ownsFd,
        window: pageWindow(offset, length),
        flags,
        sparse,
        followsFile: request.length === undefined,
      });
      if (request.advice !== undefined) file.#advise(request.advice, 0, length);
      return file;
    } catch (error) {
      if (ownsFd) closeFile(fd);
      throw error;
    }
  }

  /**
   * Maps `size` bytes of zero-filled memory backed by no file (MAP_ANONYMOUS). `shared: true` (default) is
   * MAP_SHARED, `false` is MAP_PRIVATE. Node starts child processes with fork + exec, which drops every mapping,
   * so to share memory with another process map a file (for example in /dev/shm) or use a System V segment.
   */
  static anonymous(size: number, options: { shared?: boolean } = {}): MappedFile {
    validateInteger(size, 'size', 1, MAX_MAPPING_LENGTH);
    const opts = validateObject<{ shared: boolean }>(options, 'options');
    const shared = validateBoolean(opts.shared, 'options.shared', true);
    const { MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS } = native.constants;
    return new MappedFile({
      path: undefined,
      mode: shared ? 'r+' : 'c',
      fd: -1,
      ownsFd: false,
      window: { pageOffset: 0, delta: 0, length: size },
      flags: (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS,
      sparse: true,
      followsFile: false,
    });
  }

  #map(): void {
    const { pageOffset, delta, length } = this.#window;
    const { PROT_READ, PROT_WRITE } = native.constants;
    const mapping = callNative(this.path, () =>
      native.mmap(delta + length, PROT_READ | PROT_WRITE, this.#flags, this.#fd, pageOffset),
    );
    this.#mapping = mapping;
    this.#guarded = callNative(this.path, () => guardFace(mapping));
    // Registered on the mapping, not on this object: a view can outlive the MappedFile, and while the mapping lives
    // the SIGBUS handler needs the descriptor (it checks through it that the file is still the one mapped).
    if (this.#collected.fd >= 0) closeWhenCollected.register(mapping, this.#collected, mapping);
    this.#buffer = Buffer.from(mapping, delta, length);
    this.#epochSeen = repairEpoch(); // a new mapping has no replaced page
  }

  /**
   * Retires the mapping (native.retire, mapping-faces.ts: every layout view, record array and atomic word built on it
   * throws from now on, and a Buffer handed out keeps its length but reaches the file no more). A
   * `flushAsync()` still running on the thread pool is completed first, here, with a synchronous msync of the whole
   * mapping: its promise then settles with this flush's outcome, so a flush that returned is on disk even when
   * `close()`, `resize()` or `refresh()` came while it ran.
   */
  #unmap(): void {
    const mapping = this.#mapping;
    const guarded = this.#guarded;
    this.#mapping = undefined;
    this.#guarded = undefined;
    this.#buffer = undefined;
    if (mapping === undefined) return;
    closeWhenCollected.unregister(mapping);
    const { delta, length } = this.#window;
    const pending = [...this.#pendingFlushes].filter((flush) => flush.mapping === mapping);
    if (pending.length > 0) {
      const failure = tryNative(this.path, () => native.msync(mapping, 0, delta + length, native.constants.MS_SYNC));
      for (const flush of pending) flush.completedBy = { failure };
    }
    const anonymous = (this.#flags & native.constants.MAP_ANONYMOUS) !== 0;
    callNative(this.path, () => native.retire(mapping, guarded, keepPublicFace(anonymous ? delta + length : 0)));
  }

  #open(): ArrayBuffer {
    if (this.#mapping === undefined) throw this.#closedError();
    return this.#mapping;
  }

  #closedError(): CodedError {
    return memmapError('ERR_MAPPING_CLOSED', `the mapping of ${this.#name()} is closed: open it again to use it`, {
      ...(this.path === undefined ? {} : { path: this.path }),
    });
  }

  /** The open file under the mapping, or undefined for anonymous memory (and once closed). */
  #file(): { fd: number; path: string } | undefined {
    const path = this.path;
    return this.#fd >= 0 && path !== undefined ? { fd: this.#fd, path } : undefined;
  }

  #name(): string {
    return this.path === undefined ? 'anonymous memory' : `'${this.path}'`;
  }

  /**
   * The mapped bytes as a Buffer (no copy). After `close()`, `resize()` or `refresh()` an earlier Buffer keeps its
   * length over a private copy-on-write mapping of the file, which no write reaches the file through (record views
   * over it throw): take `.buffer` again. See mapping-faces.ts.
   */
  get buffer(): Buffer {
    // Set and cleared with #mapping (#map, #unmap).
    if (this.#buffer === undefined) throw this.#closedError();
    return this.#buffer;
  }

  /** Bytes in `.buffer`. */
  get length(): number {
    return this.#window.length;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#mapping === undefined;
  }

  /**
   * True when another program has shrunk the file below the end of this mapping: either an access past the file's
   * new end was repaired by memmap's SIGBUS handler (those pages now hold zero-filled memory private to this
   * process, and writes to them are lost), or the file is simply shorter now (writes made past its new end before
   * the truncation were discarded by the kernel). `flush()`, `flushAsync()` and `resize()` then throw
   * ERR_MAPPING_TRUNCATED; `refresh()` maps the file as it is now. False after `close()` and for anonymous memory.
   * Costs one fstat(2).
   */
  get truncated(): boolean {
    return this.#truncation() !== undefined;
  }

  /** What happened to the file under the mapping, or undefined when it still covers the whole window. */
  #truncation(): { fileSize: number; lostFrom: number | undefined } | undefined {
    const mapping = this.#mapping;
    const file = this.#file();
    if (mapping === undefined || file === undefined) return undefined;
    const repaired = native.faults(mapping) > 0;
    const size = fileSize(file.fd, file.path);
    if (!repaired && size >= this.#offset + this.#window.length) return undefined;
    // lostFrom counts from the first mapped page: as a file offset, the first byte whose writes went nowhere.
    const lostFrom = repaired ? this.#window.pageOffset + native.lostFrom(mapping) : undefined;
    return { fileSize: size, lostFrom };
  }

  /**
   * True when the kernel could not provide a page of the mapping that the file does cover (a hole of a sparse file
   * on a full filesystem or tmpfs, a disk quota, an I/O error reading it): memmap's SIGBUS handler replaced that page
   * with zero-filled memory private to this process, so the access went on, but what was written there is not in
   * the file and what was read there was zeros. `flush()`, `flushAsync()` and `resize()` then throw
   * ERR_MAPPING_FAULTED; `refresh()` maps the file again. Files memmap creates or grows have their blocks reserved,
   * so this needs `sparse: true` or a sparse file made by another program. False after `close()`.
   */
  get faulted(): boolean {
    const mapping = this.#mapping;
    return mapping !== undefined && this.#fd >= 0 && native.ioFaults(mapping) > 0;
  }

  /**
   * ERR_MAPPING_TRUNCATED if another program shrank the file under this mapping (see `truncated`), else
   * ERR_MAPPING_FAULTED if a page could not be provided (see `faulted`).
   */
  #checkLost(cause?: unknown): void {
    const truncation = this.#truncation();
    if (truncation === undefined) {
      const mapping = this.#mapping;
      const file = this.#file();
      if (mapping === undefined || file === undefined) return;
      const pages = native.ioFaults(mapping);
      if (pages === 0) return;
      const error = memmapError(
        'ERR_MAPPING_FAULTED',
        `${pages} page(s) of ${this.#name()} could not be read or allocated (the filesystem is full under a sparse ` +
          `file, or an I/O error): they were replaced with zero-filled memory, and what was written there is not in ` +
          `the file. Free space (or open without sparse: true), then call refresh() or close() it and open it again`,
        { path: file.path },
      );
      if (cause !== undefined) (error as Error & { cause?: unknown }).cause = cause;
      throw error;
    }
    const { fileSize, lostFrom } = truncation;
    const end = this.#offset + this.#window.length;
    const lost =
      lostFrom === undefined
        ? `anything written past byte ${fileSize} before the truncation was discarded`
        : `the pages from file offset ${lostFrom} on were replaced with zero-filled memory after an access past the ` +
          `end, and anything written past byte ${fileSize} is not in the file`;
    const error = memmapError(
      'ERR_MAPPING_TRUNCATED',
      `${this.#name()} was truncated to ${fileSize} bytes by another program while mapped up to byte ${end}: ` +
        `${lost}. Call refresh() to map the file as it is now, or close() it and open it again`,
      this.path === undefined ? {} : { path: this.path },
    );
    if (cause !== undefined) (error as Error & { cause?: unknown }).cause = cause;
    throw error;
  }

  /**
   * Throws ERR_MAPPING_TRUNCATED or ERR_MAPPING_FAULTED if memmap's SIGBUS handler has replaced pages of this
   * mapping (see `truncated` and `faulted`): what was read there was zeros, what was written there is lost.
   * ERR_MAPPING_CLOSED after `close()`. Costs a memory load or two while no fault was repaired anywhere in the
   * process since the last check, so layers built on MappedFile can call it on every access. Unlike `truncated`,
   * it does not notice a file that shrank under pages nobody touched since; `flush()` does.
   */
  checkIntact(): void {
    if (this.#mapping !== undefined && FAULT_EPOCH[0] === this.#epochSeen && FAULT_EPOCH[1] === 0) return;
    const mapping = this.#open();
    const epoch = repairEpoch(); // read first: a repair after this read moves it again
    if (this.#fd >= 0 && (native.faults(mapping) > 0 || native.ioFaults(mapping) > 0)) this.#checkLost();
    this.#epochSeen = epoch;
  }

  /** The file offset of the first byte of `.buffer`. */
  get offset(): number {
    return this.#offset;
  }

  /** The open file descriptor (-1 for anonymous memory); valid until `close()`. */
  get fd(): number {
    this.#open();
    return this.#fd;
  }

  /**
   * Checks a range (read before, by `readRange`) against the mapping and rounds it out to whole pages, relative to
   * the mapped pages. Runs no code of the caller's: every method reads its arguments first, then captures the
   * mapping (`#open`), then calls this, so a getter cannot close or resize the mapping between the two.
   */
  #pages(r: RawRange, name = 'range'): { start: number; length: number } {
    const offset = validateInteger(r.offset ?? 0, `${name}.offset`, 0, this.#window.length);
    const length = validateInteger(
      r.length ?? this.#window.length - offset,
      `${name}.length`,
      0,
      this.#window.length - offset,
    );
    const first = this.#window.delta + offset;
    const start = first - (first % PAGE_SIZE);
    const end = Math.min(Math.ceil((first + length) / PAGE_SIZE) * PAGE_SIZE, this.#window.delta + this.#window.length);
    return { start, length: Math.max(0, end - start) };
  }

  /**
   * Writes dirty pages of `range` (default: all) back to the file with msync(2): MS_SYNC (wait until written),
   * or MS_ASYNC with `{ async: true }`; `{ invalidate: true }` adds MS_INVALIDATE. The range is rounded out to
   * whole pages. Private ('r', 'c') and anonymous maps have no file to write to: flushing them does nothing.
   * Throws ERR_MAPPING_TRUNCATED if another program shrank the file under the mapping (see `truncated`), or
   * ERR_MAPPING_FAULTED if pages of it could not be provided (see `faulted`), after writing back what the file
   * still holds.
   */
  flush(range?: ByteRange, options?: FlushOptions): void {
    const raw = readRange(range, 'range');
    const flags = msyncFlags(options);
    const mapping = this.#open();
    const { start, length } = this.#pages(raw);
    const failure =
      length > 0 && this.#shared && this.#fd >= 0
        ? tryNative(this.path, () => native.msync(mapping, start, length, flags))
        : undefined;
    this.#checkLost(failure);
    if (failure !== undefined) throw failure;
  }

  /**
   * As `flush()` with MS_SYNC, on the libuv thread pool: the event loop keeps running while the disk writes. If
   * `close()`, `resize()` or `refresh()` comes while it runs, that call completes the flush first (a synchronous
   * msync of the whole mapping) and this promise settles with its outcome: it resolves only once the range is on
   * disk, and rejects with that msync's error (EIO, ...) otherwise; never with an error from the unmapped range.
   */
  async flushAsync(range?: ByteRange, options?: Pick<FlushOptions, 'invalidate'>): Promise<void> {
    const raw = readRange(range, 'range');
    const opts = validateObject<FlushOptions>(options, 'options');
    const flags = msyncFlags({ invalidate: opts.invalidate ?? false });
    const mapping = this.#open();
    const { start, length } = this.#pages(raw);
    let failure: Error | undefined;
    if (length > 0 && this.#shared && this.#fd >= 0) {
      const pending: PendingFlush = { mapping };
      this.#pendingFlushes.add(pending);
      try {
        await native.msyncAsync(mapping, start, length, flags);
      } catch (error) {
        failure = fromNative(error, this.path);
      } finally {
        this.#pendingFlushes.delete(pending);
      }
      if (pending.completedBy !== undefined) failure ??= pending.completedBy.failure;
    }
    // Retired meanwhile: the flush was completed by #unmap; nothing mapped now can have been lost since.
    if (this.#mapping === mapping) this.#checkLost(failure);
    if (failure !== undefined) throw failure;
  }

  /** Tells the kernel how the range will be used (madvise(2)); see `Advice`. */
  advise(advice: Advice, range?: ByteRange): void {
    const flag = validateAdvice(advice);
    const raw = readRange(range, 'range');
    this.#open();
    const { start, length } = this.#pages(raw);
    this.#advise(flag, start, length);
  }

  #advise(flag: number, start: number, length: number): void {
    const mapping = this.#open();
    if (length > 0) callNative(this.path, () => native.madvise(mapping, start, length, flag));
  }

  /** Which pages of `range` are in RAM (mincore(2)); `{ pages: true }` adds the per-page map. */
  residency(range?: ByteRange, options: { pages?: boolean } = {}): Residency {
    const raw = readRange(range, 'range');
    const withPages = validateBoolean(
      validateObject<{ pages: boolean }>(options, 'options').pages,
      'options.pages',
      false,
    );
    const mapping = this.#open();
    const { start, length } = this.#pages(raw);
    const total = Math.ceil(length / PAGE_SIZE);
    // mincore gives one byte per page of the range: `total` of them; bit 0 is residency, the rest is reserved.
    const pages =
      total === 0
        ? new Uint8Array(0)
        : callNative(this.path, () => native.mincore(mapping, start, length)).map((page) => page & 1);
    let resident = 0;
    for (const page of pages) resident += page;
    return withPages ? { resident, total, pages } : { resident, total };
  }

  /**
   * Locks the range's pages in RAM (mlock(2)); limited by RLIMIT_MEMLOCK (EAGAIN/ENOMEM/EPERM past it). Throws
   * ERR_MAPPING_TRUNCATED or ERR_MAPPING_FAULTED, locking nothing, if pages of the mapping were lost (see
   * `truncated`, `faulted`): `refresh()` first.
   */
  lock(range?: ByteRange): void {
    const raw = readRange(range, 'range');
    const mapping = this.#open();
    const { start, length } = this.#pages(raw);
    // mlock(2) marks the whole range locked before it faults the pages in, and keeps the mark when a page past a
    // cut file's end cannot be provided (ENOMEM): the range stayed locked (RLIMIT_MEMLOCK spent, MADV_DONTNEED then
    // EINVAL). Refuse before calling it, as resize() does.
    this.#checkLost();
    if (length > 0) callNative(this.path, () => native.mlock(mapping, start, length));
  }

  /** Undoes `lock()` (munlock(2)). */
  unlock(range?: ByteRange): void {
    const raw = readRange(range, 'range');
    const mapping = this.#open();
    const { start, length } = this.#pages(raw);
    if (length > 0) callNative(this.path, () => native.munlock(mapping, start, length));
  }

  /**
   * Sets the file's size to `offset + newLength` and maps the new window. Record views taken before throw, and a
   * Buffer taken before is left over the old window mapped privately (see `buffer`), never over unmapped pages:
   * take `.buffer` again afterwards.
   * Growing reserves the new blocks (posix_fallocate) unless the file was opened `sparse`; their contents are
   * zeros. Only for 'r+' and 'w+' files. Throws ERR_MAPPING_TRUNCATED or ERR_MAPPING_FAULTED (and changes
   * nothing) if pages of the mapping were lost (see `truncated`, `faulted`): `refresh()` first.
   */
  resize(newLength: number): void {
    this.#open();
    const file = this.#file();
    if (file === undefined || !this.#shared)
      throw memmapError(
        'ERR_MAPPING_NOT_RESIZABLE',
        `${this.#name()} is mapped with mode '${this.mode}': only files opened with 'r+' or 'w+' can be resized`,
        this.path === undefined ? {} : { path: this.path },
      );
    validateInteger(newLength, 'newLength', 1, MAX_MAPPING_LENGTH);
    checkMappable(this.#offset, newLength, 'newLength');
    this.#checkLost();
    const newEnd = this.#offset + newLength;
    const size = fileSize(file.fd, file.path);
    if (newEnd > size) {
      // Reserve first: if the disk is full, nothing has changed yet.
      reserveSpace(file.fd, size, newEnd, { sparse: this.#sparse, path: file.path });
      this.#unmap();
    } else {
      // Unmap first: no view may see the pages that the truncation removes.
      this.#unmap();
      if (newEnd < size) truncateFile(file.fd, newEnd, file.path);
    }
    this.#window = { ...this.#window, length: newLength };
    try {
      this.#map();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /**
   * Maps the file as it is now, after another program shrank or grew it: ends the mapping (as `close()` does to
   * earlier views) and maps the window again, up to the file's current end (a file opened with `length` keeps at most that
   * length). Clears `truncated` and `faulted`; what was lost stays lost. Throws ERR_MAPPING_EMPTY, changing nothing, when the file
   * now ends at or before `offset`: close it then. Does nothing for anonymous memory.
   */
  refresh(): void {
    this.#open();
    const file = this.#file();
    if (file === undefined) return;
    const available = fileSize(file.fd, file.path) - this.#offset;
    if (available <= 0)
      throw memmapError(
        'ERR_MAPPING_EMPTY',
        `${this.#name()} now ends at or before the mapping's offset ${this.#offset}: nothing is left to map; close() it`,
        { path: file.path, kind: 'RangeError' },
      );
    const largest = MAX_MAPPING_LENGTH - this.#window.delta; // the mapping (delta + length) is one ArrayBuffer
    const length = Math.min(this.#followsFile ? available : this.#window.length, available, largest);
    this.#unmap();
    this.#window = { ...this.#window, length };
    try {
      this.#map();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /**
   * Ends the mapping (record views over it throw; earlier Buffers stay readable, reaching the file no more, until
   * collected: see `buffer`) and closes the file. Idempotent. Does not flush: see `flush()`.
   */
  close(): void {
    if (this.#mapping === undefined) return;
    try {
      this.#unmap();
    } finally {
      if (this.#fd >= 0 && this.#ownsFd) {
        this.#collected.fd = -1;
        closeFile(this.#fd);
      }
      this.#fd = -1;
    }
  }

  /** `using file = MappedFile.open(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}
