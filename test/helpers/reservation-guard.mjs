/**
 * The test suite's disk guard: refuses, in every test process, any reservation of real disk (posix_fallocate, the one
 * call through which memmap reserves blocks) larger than MAX_TEST_RESERVATION, with an error coded
 * ERR_TEST_RESERVATION_LIMIT. A test whose expectation is wrong (a size it expects refused is accepted, as happens
 * when a limit assumed Node 20's 4 GiB largest Buffer) then fails alone, instead of reserving a file as large as the
 * disk and failing every test after it with ENOSPC. Sparse files reserve nothing and are not limited.
 *
 * Loaded by vitest in each worker (vitest.config.ts setupFiles) and by test/helpers/child.ts in every Node child it
 * starts (`--import`). Plain JavaScript so that it loads before tsx. It does not load the addon itself (a child that
 * installs a signal handler "before memmap loaded" must stay that way): it wraps Node's loader of `.node` files, and
 * when memmap.node is loaded, wraps the fallocate function on its exports object before anyone else sees it.
 * RLIMIT_FSIZE would be no guard here: it caps a file's size, sparse or not, and the tests map sparse files far
 * larger than any disk.
 */
import Module from 'node:module';
import { basename } from 'node:path';

/** The largest reservation a test may make, in bytes (MEMMAP_TEST_MAX_RESERVATION overrides it). */
export const MAX_TEST_RESERVATION = Number(process.env.MEMMAP_TEST_MAX_RESERVATION ?? 64 * 1024 * 1024);

const GUARDED = Symbol.for('memmap.test.reservationGuard');

/** Wraps `addon.fallocate` (memmap.node's exports) with the limit, once. */
function guard(addon) {
  if (addon[GUARDED] || typeof addon.fallocate !== 'function') return;
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
}

/** Puts the guard on every memmap.node this process loads from now on (once per process). */
export function installReservationGuard() {
  const extensions = Module._extensions;
  const loadNative = extensions['.node'];
  if (loadNative[GUARDED]) return;
  const guardedLoad = function (module, filename) {
    loadNative.call(this, module, filename);
    if (basename(filename) === 'memmap.node') guard(module.exports);
  };
  Object.defineProperty(guardedLoad, GUARDED, { value: true });
  extensions['.node'] = guardedLoad;
}

installReservationGuard();
