/* The file syscalls node:fs lacks: posix_fallocate and flock (every other file syscall goes through node:fs, from
   src/file-io.ts). */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

/* fallocate(fd, offset, length): posix_fallocate, which returns the error instead of setting errno. */
static napi_value js_fallocate(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  int64_t offset, length;
  if (!memmap_get_args(env, info, 3, argv) || !memmap_get_int32(env, argv[0], &fd) ||
      !memmap_get_int64(env, argv[1], &offset) || !memmap_get_int64(env, argv[2], &length))
    return NULL;
  assert(fd >= 0 && offset >= 0 && length > 0);
  int error_number = posix_fallocate(fd, (off_t)offset, (off_t)length);
  if (error_number != 0) return memmap_throw_errno(env, error_number, "posix_fallocate");
  return memmap_undefined(env);
}

/* flock(fd, operation): LOCK_SH / LOCK_EX / LOCK_UN, optionally | LOCK_NB. Released by the kernel on exit. */
static napi_value js_flock(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, operation;
  if (!memmap_get_args(env, info, 2, argv) || !memmap_get_int32(env, argv[0], &fd) ||
      !memmap_get_int32(env, argv[1], &operation))
    return NULL;
  if (flock(fd, operation) != 0) return memmap_throw_errno(env, errno, "flock");
  return memmap_undefined(env);
}

bool memmap_init_file(napi_env env, napi_value exports) {
  napi_value constants;
  if (napi_get_named_property(env, exports, "constants", &constants) != napi_ok) return false;
  napi_value value;
  int values[] = {LOCK_SH, LOCK_EX, LOCK_UN, LOCK_NB};
  const char *names[] = {"LOCK_SH", "LOCK_EX", "LOCK_UN", "LOCK_NB"};
  for (int i = 0; i < 4; i++) {
    if (napi_create_int32(env, values[i], &value) != napi_ok ||
        napi_set_named_property(env, constants, names[i], value) != napi_ok)
      return false;
  }
  return memmap_export(env, exports, "fallocate", js_fallocate) && memmap_export(env, exports, "flock", js_flock);
}
