/**
 * The writer's lock on a record file: flock(2) LOCK_EX on its descriptor. An exclusive writer holds it while the
 * file is open; a shared writer takes it around each withLock(). Readers never take it, so they never block a
 * writer. flock locks the file (the inode), not the name: the opener checks that the name still leads to it.
 */
import { constants as osConstants } from 'node:os';
import { systemError } from '../errors.js';
import { native } from '../native.js';
import { lockedError } from './errors.js';

const EWOULDBLOCK = osConstants.errno.EWOULDBLOCK;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** The lock of one open record file. */
export class WriterLock {
  readonly #fd: number;
  readonly #path: string;

  constructor(fd: number, path: string) {
    this.#fd = fd;
    this.#path = path;
  }

  /** flock(LOCK_EX | LOCK_NB), or ERR_RECORD_FILE_LOCKED when another process holds it. */
  take(): void {
    try {
      native.flock(this.#fd, native.constants.LOCK_EX | native.constants.LOCK_NB);
    } catch (error) {
      const errno = Math.abs((error as { errno?: number }).errno ?? 0);
      if (errno === EWOULDBLOCK) throw lockedError(this.#path, errno);
      throw systemError(errno, 'flock', this.#path);
    }
  }

  /** take(), retried every few ms for up to `timeoutMs` (a blocking flock could wait for ever). */
  takeWithin(timeoutMs: number): void {
    const deadline = Date.now() + timeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        this.take();
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_RECORD_FILE_LOCKED' || Date.now() >= deadline) throw error;
      }
      Atomics.wait(sleeper, 0, 0, wait);
    }
  }

  /** flock(LOCK_UN). */
  release(): void {
    native.flock(this.#fd, native.constants.LOCK_UN);
  }
}
