/*
 * The memmap addon: module registration only. Each concern lives in its own file (mapping.c, file.c, sysv.c,
 * sync.c, signals.c) and registers its functions here. The syscalls on memory are made in native/; the file
 * syscalls node:fs makes well go through node:fs from src/file-io.ts, and file.c adds only what fs lacks
 * (posix_fallocate, flock).
 */
#include "common.h"

static napi_value init(napi_env env, napi_value exports) {
  if (!memmap_init_mapping(env, exports) || !memmap_init_file(env, exports) || !memmap_init_sysv(env, exports) ||
      !memmap_init_sync(env, exports) || !memmap_init_signals(env, exports)) {
    memmap_throw_napi_failure(env, napi_generic_failure, "memmap module init");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
