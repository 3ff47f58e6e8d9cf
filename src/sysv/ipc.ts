/**
 * What System V segments and semaphores share: keys (ftok and their check), permission modes, and the IPC
 * constants the addon reads from <sys/ipc.h>.
 */
import { invalidArgType, invalidArgValue, validateInteger } from '../errors.js';
import { native } from '../native.js';
import { sysvCall } from './errors.js';

/** What a Segment or a Semaphore serializes and prints as (`JSON.stringify`, `console.log`). */
export interface IpcIdentity {
  /** The kernel's id (shmid or semid): another process opens the same object with `fromId(id)`. */
  id: number;
  /** The key it was created or opened with (0 for a private one, or one opened by id). */
  key: number;
}

/** The id of a Segment or a Semaphore, the target of its errors, and whether a value is one (see IpcObject). */
export let ownIdOf: (object: IpcObject) => number;
export let targetOfObject: (object: IpcObject) => { key?: number; id: number };
export let isIpcObject: (value: unknown) => value is IpcObject;

/**
 * What a System V `Segment` and `Semaphore` are: a kernel object known by its id, and the key it was found by.
 * Both are private, read through getters: every call acts on the id, so an id a program could assign (an own
 * property, or a write to a public field) would make `remove()` remove another program's segment.
 */
export class IpcObject {
  readonly #id: number;
  readonly #key: number;

  protected constructor(id: number, key: number) {
    this.#id = id;
    this.#key = key;
  }

  static {
    ownIdOf = (object) => object.#id;
    targetOfObject = (object) => targetOf(object.#key, object.#id);
    isIpcObject = (value): value is IpcObject => typeof value === 'object' && value !== null && #id in value;
  }

  /** The kernel's id (shmid, semid): valid in every process for as long as the object exists; see `fromId`. */
  get id(): number {
    return this.#id;
  }

  /** The key it was created or opened with (IPC_PRIVATE, 0, for a private one or one opened by id). */
  get key(): number {
    return this.#key;
  }

  /** `{ id, key }`, for JSON.stringify (another process opens the same object with `fromId(id)`). */
  toJSON(): IpcIdentity {
    return { id: this.#id, key: this.#key };
  }

  /** What console.log and util.inspect show: the id and the key. */
  [Symbol.for('nodejs.util.inspect.custom')](): IpcIdentity {
    return this.toJSON();
  }
}

/** The addon's IPC constants (IPC_PRIVATE is 0 on Linux). */
export const { IPC_PRIVATE, IPC_CREAT, IPC_EXCL, IPC_NOWAIT, SEM_UNDO, SHM_DEST, SHM_RDONLY } = native.constants;

/** Checks a key: a 32-bit integer, not IPC_PRIVATE; returns it as the signed key_t. */
export function validateKey(key: unknown, name = 'key'): number {
  if (typeof key !== 'number') throw invalidArgType(name, 'of type number', key);
  const value = validateInteger(key, name, -0x80000000, 0xffffffff);
  if (value === IPC_PRIVATE)
    throw invalidArgValue(
      name,
      key,
      'must not be IPC_PRIVATE (0): use Segment.private(size) for a new private segment',
    );
  return value | 0; // key_t is a signed int: 0xffffffff and -1 are the same key
}

/** Checks permission bits (0..0o777). */
export function validateMode(mode: unknown, name: string): number {
  return validateInteger(mode, name, 0, 0o777);
}

/** Checks an id another process gave (shmid or semid: 0..INT32_MAX). */
export function validateId(id: unknown): number {
  return validateInteger(id, 'id', 0, 0x7fffffff);
}

/** The target of an error about the object with `key` and `id` (private ones are known by id only). */
export function targetOf(key: number, id: number): { key?: number; id: number } {
  return key === IPC_PRIVATE ? { id } : { key, id };
}

/**
 * ftok(3): a System V key from the path of an existing file and a project id (1..255). The same path and id
 * give the same key in every process (and in C), as long as the file is not replaced: ftok uses its inode.
 */
export function ftok(path: string, projectId: number): number {
  if (typeof path !== 'string') throw invalidArgType('path', 'of type string', path);
  if (path.includes('\0')) throw invalidArgValue('path', path, 'must be a string without null bytes');
  validateInteger(projectId, 'projectId', 1, 255);
  return sysvCall({ path }, () => native.ftok(path, projectId));
}
