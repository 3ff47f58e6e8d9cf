/*
 * Shared helpers of the memmap addon.
 *
 * The contract between TypeScript and C: TypeScript checks every argument (types, ranges, page alignment) and
 * only then calls in; C asserts that contract (a failed assert is a bug in the TypeScript layer, not bad user
 * input) and reports syscall failures as an Error carrying `errno` and `syscall`, which src/errors.ts turns into
 * a Node-style error.
 */
#ifndef MEMMAP_COMMON_H
#define MEMMAP_COMMON_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Throws (unless an exception is already pending, which is never overwritten) and returns NULL from the caller. */
#define NAPI_CALL(env, call)                                                                                           \
  do {                                                                                                                 \
    napi_status memmap_status_ = (call);                                                                               \
    if (memmap_status_ != napi_ok) {                                                                                   \
      memmap_throw_napi_failure((env), memmap_status_, #call);                                                         \
      return NULL;                                                                                                     \
    }                                                                                                                  \
  } while (0)

/* The same, for functions that return void (async work callbacks, finalizers). */
#define NAPI_CALL_VOID(env, call)                                                                                      \
  do {                                                                                                                 \
    napi_status memmap_status_ = (call);                                                                               \
    if (memmap_status_ != napi_ok) {                                                                                   \
      memmap_throw_napi_failure((env), memmap_status_, #call);                                                         \
      return;                                                                                                          \
    }                                                                                                                  \
  } while (0)

void memmap_throw_napi_failure(napi_env env, napi_status status, const char *call);

/* Throws an Error with numeric `errno` and string `syscall` (what TypeScript needs to build a Node-style error). */
napi_value memmap_throw_errno(napi_env env, int error_number, const char *syscall);

/* Builds the same Error without throwing, for rejecting promises. */
napi_value memmap_errno_error(napi_env env, int error_number, const char *syscall);

/* Reads exactly `count` arguments; asserts the count (TypeScript always passes them all). */
bool memmap_get_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv);

bool memmap_get_int64(napi_env env, napi_value value, int64_t *out);
bool memmap_get_int32(napi_env env, napi_value value, int32_t *out);
bool memmap_get_bool(napi_env env, napi_value value, bool *out);

/* Base address and length of an ArrayBuffer, or of the bytes a TypedArray/Buffer views. */
bool memmap_get_bytes(napi_env env, napi_value value, void **data, size_t *length);

napi_value memmap_int64(napi_env env, int64_t value);
napi_value memmap_undefined(napi_env env);

/* Adds a named function to `exports`. */
bool memmap_export(napi_env env, napi_value exports, const char *name, napi_callback callback);

/* Each concern registers its functions from its own file. */
bool memmap_init_mapping(napi_env env, napi_value exports);
bool memmap_init_file(napi_env env, napi_value exports);
bool memmap_init_sysv(napi_env env, napi_value exports);
bool memmap_init_sync(napi_env env, napi_value exports);
bool memmap_init_signals(napi_env env, napi_value exports);

#endif
