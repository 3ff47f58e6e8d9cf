/**
 * The test suite's disk guard: refuses, in every test process, any reservation of real disk (posix_fallocate, the one
 * call through which memmap reserves blocks) larger than MAX_TEST_RESERVATION, with an error coded
 * ERR_TEST_RESERVATION_LIMIT. A test whose expectation is wrong (a size it expects refused is accepted, as happens
 * when a limit assumed Node 20's 4 GiB largest Buffer) then fails alone, instead of reserving a file as large as the
 * disk and failing every test after it with ENOSPC. Sparse files reserve nothing and are not limited.
 *
 * Loaded by vitest in each worker (vitest.config.ts setupFiles) and by test/helpers/child.ts in every Node child it
 * starts (`--import`). Plain JavaScript so that it loads before tsx. It wraps the function on the addon's exports
 * object, which node-gyp-build's require() caches: every later load of the same addon (src/native.ts) gets the
 * guarded one. RLIMIT_FSIZE would be no guard here: it caps a file's size, sparse or not, and the tests map sparse
 * files far larger than any disk.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The largest reservation a test may make, in bytes (MEMMAP_TEST_MAX_RESERVATION overrides it). */
export const MAX_TEST_RESERVATION = Number(process.env.MEMMAP_TEST_MAX_RESERVATION ?? 64 * 1024 * 1024);

const root = fileURLToPath(new URL('../..', import.meta.url));
const GUARDED = Symbol.for('memmap.test.reservationGuard');

/** Wraps the addon's fallocate (once per process); returns false where the addon does not load. */
export function installReservationGuard() {
  let addon;
  try {
    addon = createRequire(import.meta.url)('node-gyp-build')(root);
  } catch {
    return false; // no build yet: the tests that load the addon fail on their own, with the loader's message
  }
  if (addon[GUARDED]) return true;
  const fallocate = addon.fallocate;
  addon.fallocate = function guardedFallocate(fd, offset, length) {
    if (typeof length === 'number' && length > MAX_TEST_RESERVATION) {
      const error = new Error(
        `test guard: refused to reserve ${length} bytes of disk (posix_fallocate at offset ${offset}); the test ` +
          `suite's limit is ${MAX_TEST_RESERVATION}. A size the test expected to be refused was accepted, or the ` +
          `test needs a sparse file.`,
      );
      error.code = 'ERR_TEST_RESERVATION_LIMIT';
      throw error;
    }
    return fallocate.call(this, fd, offset, length);
  };
  Object.defineProperty(addon, GUARDED, { value: true });
  return true;
}

installReservationGuard();
