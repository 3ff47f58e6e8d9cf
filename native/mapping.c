/*
 * mmap, munmap, msync, madvise, mincore, mlock, munlock: one function each, no policy.
 *
 * A mapping reaches JavaScript as one external ArrayBuffer over exactly the mapped pages. Every view the
 * TypeScript layer hands out is built on that one ArrayBuffer, so detaching it (before munmap) turns every
 * Buffer/TypedArray/DataView over the mapping into a zero-length view instead of a pointer to freed memory.
 */
#include "common.h"
#include "mapping_registry.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* One per mmap call. Freed by the ArrayBuffer's finalizer, which runs exactly once, after GC or at exit. */
typedef struct {
  void *address;
  size_t length;
  /* Set by an explicit munmap. The finalizer then only frees this record: a later mapping may already live at
     the same address, and unmapping it a second time would pull pages out from under that newer mapping. */
  bool unmapped;
  /* This mapping's slot in the registry the SIGBUS handler reads (NULL if the table was full). */
  memmap_registry_entry *entry;
} memmap_mapping;

static void finalize_mapping(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  memmap_mapping *mapping = hint;
  if (!mapping->unmapped) {
    memmap_registry_remove(mapping->entry);
    munmap(mapping->address, mapping->length);
  }
  free(mapping);
}

/* mmap(length, prot, flags, fd, offset) -> ArrayBuffer. offset is page-aligned and length > 0 (checked in TS). */
static napi_value js_mmap(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int64_t length, offset;
  int32_t prot, flags, fd;
  if (!memmap_get_args(env, info, 5, argv)) return NULL;
  if (!memmap_get_int64(env, argv[0], &length) || !memmap_get_int32(env, argv[1], &prot) ||
      !memmap_get_int32(env, argv[2], &flags) || !memmap_get_int32(env, argv[3], &fd) ||
      !memmap_get_int64(env, argv[4], &offset))
    return NULL;
  assert(length > 0 && offset >= 0 && offset % sysconf(_SC_PAGESIZE) == 0);

  /* Another handler may have taken SIGBUS since the last mapping (process.on('SIGBUS') does): take it back, in
     front of that one, before handing out pages that can fault. */
  memmap_sigbus_ensure();
  void *address = mmap(NULL, (size_t)length, prot, flags, fd, (off_t)offset);
  if (address == MAP_FAILED) return memmap_throw_errno(env, errno, "mmap");

  memmap_mapping *mapping = malloc(sizeof *mapping);
  if (mapping == NULL) {
    munmap(address, (size_t)length);
    return memmap_throw_errno(env, ENOMEM, "mmap");
  }
  mapping->address = address;
  mapping->length = (size_t)length;
  mapping->unmapped = false;
  mapping->entry = NULL;

  napi_value arraybuffer;
  napi_status status =
      napi_create_external_arraybuffer(env, address, (size_t)length, finalize_mapping, mapping, &arraybuffer);
  if (status != napi_ok) {
    munmap(address, (size_t)length);
    free(mapping);
    memmap_throw_napi_failure(env, status, "napi_create_external_arraybuffer");
    return NULL;
  }
  /* The ArrayBuffer carries its record so munmap can find it; no wrap finalizer: the buffer's own frees it. */
  status = napi_wrap(env, arraybuffer, mapping, NULL, NULL, NULL);
  if (status != napi_ok) {
    memmap_throw_napi_failure(env, status, "napi_wrap");
    return NULL; /* the ArrayBuffer's finalizer still unmaps */
  }
  /* A file mapping is handed out only registered with the SIGBUS handler (mapping_registry.h): if the table is
     full or its descriptor cannot be duplicated, the call fails instead. Anonymous memory cannot be truncated. */
  if (!(flags & MAP_ANONYMOUS)) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    int error = memmap_registry_add(address, ((size_t)length + page - 1) / page * page, fd, (off_t)offset,
                                    &mapping->entry);
    if (error != 0) {
      NAPI_CALL(env, napi_detach_arraybuffer(env, arraybuffer));
      mapping->unmapped = true; /* the ArrayBuffer's finalizer then only frees the record */
      munmap(address, (size_t)length);
      return memmap_throw_errno(env, error, "mmap");
    }
  }
  return arraybuffer;
}

static memmap_mapping *unwrap_mapping(napi_env env, napi_value arraybuffer) {
  void *record = NULL;
  napi_status status = napi_unwrap(env, arraybuffer, &record);
  if (status != napi_ok) {
    memmap_throw_napi_failure(env, status, "napi_unwrap (not an ArrayBuffer made by mmap)");
    return NULL;
  }
  return record;
}

/* munmap(arraybuffer): detach first, so no JavaScript view can reach the pages once they are gone. */
static napi_value js_munmap(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!memmap_get_args(env, info, 1, argv)) return NULL;
  memmap_mapping *mapping = unwrap_mapping(env, argv[0]);
  if (mapping == NULL) return NULL;
  assert(!mapping->unmapped && "TypeScript unmaps a mapping once");
  NAPI_CALL(env, napi_detach_arraybuffer(env, argv[0]));
  mapping->unmapped = true;
  memmap_registry_remove(mapping->entry);
  if (munmap(mapping->address, mapping->length) != 0) return memmap_throw_errno(env, errno, "munmap");
  return memmap_undefined(env);
}

/* faults(arraybuffer) -> how many truncation faults the SIGBUS handler repaired in this mapping (signals.c). */
static napi_value js_faults(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!memmap_get_args(env, info, 1, argv)) return NULL;
  memmap_mapping *mapping = unwrap_mapping(env, argv[0]);
  if (mapping == NULL) return NULL;
  if (mapping->unmapped || mapping->entry == NULL) return memmap_int64(env, 0);
  return memmap_int64(env, __atomic_load_n(&mapping->entry->faults, __ATOMIC_ACQUIRE));
}

/* ioFaults(arraybuffer) -> pages of this mapping the SIGBUS handler replaced because the kernel could not provide
   them though the file covers them (a full filesystem under a sparse file, an I/O error). */
static napi_value js_io_faults(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!memmap_get_args(env, info, 1, argv)) return NULL;
  memmap_mapping *mapping = unwrap_mapping(env, argv[0]);
  if (mapping == NULL) return NULL;
  if (mapping->unmapped || mapping->entry == NULL) return memmap_int64(env, 0);
  return memmap_int64(env, __atomic_load_n(&mapping->entry->io_faults, __ATOMIC_ACQUIRE));
}

/* lostFrom(arraybuffer) -> bytes from the mapping's start to the first page the handler replaced with zero-filled
   memory (the mapping's length, rounded up to pages, while none was). */
static napi_value js_lost_from(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!memmap_get_args(env, info, 1, argv)) return NULL;
  memmap_mapping *mapping = unwrap_mapping(env, argv[0]);
  if (mapping == NULL) return NULL;
  if (mapping->unmapped || mapping->entry == NULL) return memmap_int64(env, (int64_t)mapping->length);
  return memmap_int64(env, (int64_t)__atomic_load_n(&mapping->entry->lost_from, __ATOMIC_ACQUIRE));
}

/* Reads (arraybuffer, offset, length) and checks the range lies in the mapping (TypeScript rounded it to pages). */
static bool get_range(napi_env env, napi_value *argv, char **start, size_t *length) {
  void *base;
  size_t total;
  int64_t offset, count;
  if (!memmap_get_bytes(env, argv[0], &base, &total) || !memmap_get_int64(env, argv[1], &offset) ||
      !memmap_get_int64(env, argv[2], &count))
    return false;
  assert(base != NULL && "TypeScript never passes a detached mapping");
  assert(offset >= 0 && count >= 0 && (size_t)(offset + count) <= total);
  /* In bounds: offset + count <= total was asserted just above. */
  *start = (char *)base + offset;
  *length = (size_t)count;
  return true;
}

/* msync(arraybuffer, offset, length, flags): blocks the calling thread. */
static napi_value js_msync(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char *start;
  size_t length;
  int32_t flags;
  if (!memmap_get_args(env, info, 4, argv) || !get_range(env, argv, &start, &length) ||
      !memmap_get_int32(env, argv[3], &flags))
    return NULL;
  if (msync(start, length, flags) != 0) return memmap_throw_errno(env, errno, "msync");
  return memmap_undefined(env);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep_alive; /* the ArrayBuffer stays alive (so not finalized and unmapped) while msync runs */
  char *start;
  size_t length;
  int flags;
  int error_number;
} msync_job;

static void msync_execute(napi_env env, void *data) {
  (void)env;
  msync_job *job = data;
  job->error_number = msync(job->start, job->length, job->flags) == 0 ? 0 : errno;
}

static void msync_complete(napi_env env, napi_status status, void *data) {
  msync_job *job = data;
  napi_delete_reference(env, job->keep_alive);
  napi_delete_async_work(env, job->work);
  if (status == napi_ok && job->error_number == 0) {
    napi_resolve_deferred(env, job->deferred, memmap_undefined(env));
  } else {
    int error_number = status == napi_ok ? job->error_number : ECANCELED;
    napi_value error = memmap_errno_error(env, error_number, "msync");
    napi_reject_deferred(env, job->deferred, error);
  }
  free(job);
}

/* msyncAsync(arraybuffer, offset, length, flags) -> Promise: the same msync on the libuv thread pool. */
static napi_value js_msync_async(napi_env env, napi_callback_info info) {
  napi_value argv[4], promise, name;
  char *start;
  size_t length;
  int32_t flags;
  if (!memmap_get_args(env, info, 4, argv) || !get_range(env, argv, &start, &length) ||
      !memmap_get_int32(env, argv[3], &flags))
    return NULL;
  msync_job *job = calloc(1, sizeof *job);
  if (job == NULL) return memmap_throw_errno(env, ENOMEM, "msync");
  job->start = start;
  job->length = length;
  job->flags = flags;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &job->keep_alive) != napi_ok ||
      napi_create_string_utf8(env, "memmap:msync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, msync_execute, msync_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free(job); /* unreachable in practice: each call only fails on a broken environment */
    memmap_throw_napi_failure(env, napi_generic_failure, "msyncAsync setup");
    return NULL;
  }
  return promise;
}

/* madvise(arraybuffer, offset, length, advice) */
static napi_value js_madvise(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char *start;
  size_t length;
  int32_t advice;
  if (!memmap_get_args(env, info, 4, argv) || !get_range(env, argv, &start, &length) ||
      !memmap_get_int32(env, argv[3], &advice))
    return NULL;
  if (madvise(start, length, advice) != 0) return memmap_throw_errno(env, errno, "madvise");
  return memmap_undefined(env);
}

/* mincore(arraybuffer, offset, length) -> Uint8Array, one byte per page (bit 0: resident). */
static napi_value js_mincore(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  char *start;
  size_t length;
  if (!memmap_get_args(env, info, 3, argv) || !get_range(env, argv, &start, &length)) return NULL;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t pages = (length + page - 1) / page;
  void *vector;
  NAPI_CALL(env, napi_create_buffer(env, pages == 0 ? 1 : pages, &vector, &result));
  if (pages > 0 && mincore(start, length, vector) != 0) return memmap_throw_errno(env, errno, "mincore");
  return result;
}

static napi_value lock_call(napi_env env, napi_callback_info info, bool lock) {
  napi_value argv[3];
  char *start;
  size_t length;
  if (!memmap_get_args(env, info, 3, argv) || !get_range(env, argv, &start, &length)) return NULL;
  int rc = lock ? mlock(start, length) : munlock(start, length);
  if (rc != 0) return memmap_throw_errno(env, errno, lock ? "mlock" : "munlock");
  return memmap_undefined(env);
}

/* mlock(arraybuffer, offset, length) */
static napi_value js_mlock(napi_env env, napi_callback_info info) { return lock_call(env, info, true); }

/* munlock(arraybuffer, offset, length) */
static napi_value js_munlock(napi_env env, napi_callback_info info) { return lock_call(env, info, false); }

/* pageSize() -> sysconf(_SC_PAGESIZE) */
static napi_value js_page_size(napi_env env, napi_callback_info info) {
  (void)info;
  return memmap_int64(env, sysconf(_SC_PAGESIZE));
}

/* address(arraybuffer) -> the mapping's base address as a bigint (for tests and diagnostics only). */
static napi_value js_address(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  void *base;
  size_t total;
  if (!memmap_get_args(env, info, 1, argv) || !memmap_get_bytes(env, argv[0], &base, &total)) return NULL;
  NAPI_CALL(env, napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)base, &result));
  return result;
}

static bool set_constant(napi_env env, napi_value object, const char *name, int64_t value) {
  napi_value number;
  return napi_create_int64(env, value, &number) == napi_ok &&
         napi_set_named_property(env, object, name, number) == napi_ok;
}

#define CONSTANT(name) ok = ok && set_constant(env, constants, #name, name)

bool memmap_init_mapping(napi_env env, napi_value exports) {
  napi_value constants;
  if (napi_create_object(env, &constants) != napi_ok) return false;
  bool ok = true;
  CONSTANT(PROT_NONE); CONSTANT(PROT_READ); CONSTANT(PROT_WRITE); CONSTANT(PROT_EXEC);
  CONSTANT(MAP_SHARED); CONSTANT(MAP_PRIVATE); CONSTANT(MAP_ANONYMOUS); CONSTANT(MAP_FIXED);
  CONSTANT(MAP_NORESERVE); CONSTANT(MAP_POPULATE); CONSTANT(MAP_NONBLOCK);
  CONSTANT(MS_ASYNC); CONSTANT(MS_SYNC); CONSTANT(MS_INVALIDATE);
  CONSTANT(MADV_NORMAL); CONSTANT(MADV_RANDOM); CONSTANT(MADV_SEQUENTIAL); CONSTANT(MADV_WILLNEED);
  CONSTANT(MADV_DONTNEED); CONSTANT(MADV_REMOVE); CONSTANT(MADV_DONTFORK); CONSTANT(MADV_DOFORK);
  CONSTANT(MADV_HUGEPAGE); CONSTANT(MADV_NOHUGEPAGE); CONSTANT(MADV_FREE);
  return ok && napi_set_named_property(env, exports, "constants", constants) == napi_ok &&
         memmap_export(env, exports, "mmap", js_mmap) && memmap_export(env, exports, "munmap", js_munmap) &&
         memmap_export(env, exports, "msync", js_msync) && memmap_export(env, exports, "msyncAsync", js_msync_async) &&
         memmap_export(env, exports, "madvise", js_madvise) && memmap_export(env, exports, "mincore", js_mincore) &&
         memmap_export(env, exports, "mlock", js_mlock) && memmap_export(env, exports, "munlock", js_munlock) &&
         memmap_export(env, exports, "pageSize", js_page_size) && memmap_export(env, exports, "address", js_address) &&
         memmap_export(env, exports, "faults", js_faults) && memmap_export(env, exports, "lostFrom", js_lost_from) &&
         memmap_export(env, exports, "ioFaults", js_io_faults);
}
