/**
 * A System V counting semaphore (semget, semop with SEM_UNDO, semctl) that C programs use with the same key.
 */
import { validateBoolean, validateInteger, validateObject, type SystemError } from '../errors.js';
import { native } from '../native.js';
import { timeoutMs } from '../shared/wait.js';
import { sysvCall, sysvError } from './errors.js';
import {
  IPC_CREAT,
  IPC_EXCL,
  IPC_NOWAIT,
  IPC_PRIVATE,
  SEM_UNDO,
  IpcObject,
  ownIdOf,
  targetOfObject,
  validateId,
  validateKey,
  validateMode,
} from './ipc.js';

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
export class Semaphore extends IpcObject {
  private constructor(id: number, key: number) {
    super(id, key);
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
      const id = sysvCall({ key: k }, () => native.semget(k, 1, IPC_CREAT | IPC_EXCL | mode));
      sysvCall({ key: k, id }, () => native.semctlSetValue(id, 0, initial));
      return new Semaphore(id, k);
    } catch (error) {
      if (exclusive || (error as SystemError).code !== 'EEXIST') throw error;
    }
    return Semaphore.open(k);
  }

  /** Opens the existing set with `key`: ENOENT if there is none. */
  static open(key: number): Semaphore {
    const k = validateKey(key);
    return new Semaphore(
      sysvCall({ key: k }, () => native.semget(k, 1, 0)),
      k,
    );
  }

  /** A new semaphore no key can find (IPC_PRIVATE); pass its `id` to other processes (`Semaphore.fromId`). */
  static private(options: Pick<CreateSemaphoreOptions, 'initial' | 'mode'> = {}): Semaphore {
    const opts = validateObject<CreateSemaphoreOptions>(options, 'options');
    const initial = validateInteger(opts.initial ?? 1, 'options.initial', 0, 32767);
    const mode = validateMode(opts.mode ?? 0o600, 'options.mode');
    const id = sysvCall({ key: IPC_PRIVATE }, () => native.semget(IPC_PRIVATE, 1, IPC_CREAT | mode));
    sysvCall({ id }, () => native.semctlSetValue(id, 0, initial));
    return new Semaphore(id, IPC_PRIVATE);
  }

  /** A set by the id another process gave. */
  static fromId(id: number): Semaphore {
    validateId(id);
    sysvCall({ id }, () => native.semctlGetValue(id, 0));
    return new Semaphore(id, IPC_PRIVATE);
  }

  /** The current value (semctl GETVAL): units available now. */
  get value(): number {
    return sysvCall(this.#what(), () => native.semctlGetValue(ownIdOf(this), 0));
  }

  /**
   * Takes `count` units (default 1), blocking this thread until they are free (semop -count, SEM_UNDO). Returns
   * false if `timeout` ms passed first. EIDRM if the set is removed while waiting.
   */
  acquire(count = 1, options: AcquireOptions = {}): boolean {
    validateInteger(count, 'count', 1, 32767);
    const timeout = timeoutOf(options);
    return sysvCall(this.#what(), () => native.semop(ownIdOf(this), 0, -count, SEM_UNDO, timeout));
  }

  /** Takes `count` units if they are free now (IPC_NOWAIT); false otherwise. */
  tryAcquire(count = 1): boolean {
    validateInteger(count, 'count', 1, 32767);
    return sysvCall(this.#what(), () => native.semop(ownIdOf(this), 0, -count, SEM_UNDO | IPC_NOWAIT, -1));
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
        acquired = await native.semopAsync(ownIdOf(this), 0, -count, SEM_UNDO, slice);
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
    sysvCall(this.#what(), () => native.semop(ownIdOf(this), 0, count, SEM_UNDO, -1));
  }

  /** Removes the set (semctl IPC_RMID) at once: waiters wake with EIDRM. Owner, creator or root (EPERM). */
  remove(): void {
    sysvCall(this.#what(), () => native.semctlRemove(ownIdOf(this)));
  }

  #what(): { key?: number; id: number } {
    return targetOfObject(this);
  }
}

/** The timeout of `options` in whole ms (-1: none; as for wait and Mutex, one past 2^40 ms is none). */
function timeoutOf(options: AcquireOptions): number {
  const ms = timeoutMs(validateObject<AcquireOptions>(options, 'options').timeout, 'options.timeout');
  return ms < 0 ? -1 : Math.ceil(ms);
}
