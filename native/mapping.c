/*
 * mmap, msync, madvise, mincore, mlock, munlock: one function each, no policy; and the retirement of a mapping.
 *
 * A mapping reaches JavaScript as one external ArrayBuffer over exactly the mapped pages (the public face), and
 * memmap's own views read through a second one over the same pages (the guarded face, js_alias; retire.h says why
 * there are two). Retiring a mapping (close, resize, refresh) detaches the guarded face, so every record view throws,
 * and keeps the public face attached: native code (zlib, crypto, fs, streams on the thread pool) may still be working
 * on it, and Node's zlib ends the process if its input is detached between two passes. So that a late write through
 * the public face can never reach the file, a MAP_SHARED file mapping is mapped again MAP_PRIVATE over the same
 * addresses (dirty pages of the shared mapping stay in the page cache and are written back as after munmap). The
 * range is released (munmap) only when every hold is dropped: the public backing store's (its finalizer, or when a
 * native consumer drops its hold on the store), the public object's (the napi_wrap finalizer: a consumer that keeps
 * the JavaScript object keeps the range) and the guarded face's. Until then the range is reserved, so the kernel
 * cannot hand the address to a new mapping while a live object still points at it. Past TypeScript's budget of
 * kept ranges, retirement detaches the public face too and maps anonymous memory over the range.
 *
 * The two finalizers run at different times on each runtime (measured with Node 20, Bun 1.4.4, Deno 2.9.6; all
 * three hand out the mapped memory itself, never a copy):
 *   - napi_detach_arraybuffer: Node runs the backing store's finalizer on a later tick; Bun and Deno run it inside
 *     the call, before it returns (so a record freed by that finalizer must not be touched after the detach: the
 *     cause of the EINVAL from munmap that the first close() gave on Bun and Deno before this design).
 *   - a failed napi_create_external_arraybuffer (a length past the largest buffer): Node runs the finalizer inside
 *     the failed call; Bun never runs it; Deno does not fail but aborts the process (a V8 CHECK) past V8's largest
 *     ArrayBuffer, so TypeScript must never ask for one.
 *   - the napi_wrap finalizer runs when the ArrayBuffer object is collected, on all three.
 */
#include "common.h"
#include "mapping_registry.h"
#include "retire.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* One per mmap call. Freed by the last of its two finalizers (see the top of this file and retire.h). */
typedef struct {
  memmap_range range; /* first: unregister_mapping gets the record from it */
  /* This mapping's slot in the registry the SIGBUS handler reads (NULL for anonymous memory and once unregistered). */
  memmap_registry_entry *entry;
  int flags; /* the mmap flags: retirement depends on whether the pages are the file's (MAP_SHARED) */
} memmap_mapping;

/* The type tag of memmap's mapping ArrayBuffers: C unwraps a record only from an object carrying it. */
static const napi_type_tag mapping_tag = {0x6d656d6d61702d6dULL, 0x617070696e672d31ULL}; /* "memmap-mapping-1" */

/* The range's unregister hook (retire.h): the SIGBUS handler stops repairing faults in it. */
static void unregister_mapping(memmap_range *range) {
  memmap_mapping *mapping = (memmap_mapping *)range;
  memmap_registry_remove(mapping->entry);
  mapping->entry = NULL;
}

/* Drops one of the two holds on the range; the last one unmaps it and frees the record. */
static void release_mapping(memmap_mapping *mapping) {
  if (memmap_range_release(&mapping->range)) free(mapping);
}

static void finalize_backing_store(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  release_mapping(hint);
}

static void finalize_object(napi_env env, void *data, void *hint) {
  (void)hint;
  memmap_mapping *mapping = data;
  memmap_range_forget_held(env, &mapping->range);
  release_mapping(mapping);
}

/* mmap(length, prot, flags, fd, offset) -> ArrayBuffer. offset is page-aligned, length > 0 and no larger than the
   runtime's largest ArrayBuffer (checked in TS: a larger one would fail in napi_create_external_arraybuffer). */
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
  memmap_range_init(&mapping->range, address, (size_t)length, unregister_mapping);
  mapping->entry = NULL;
  mapping->flags = flags;

  napi_value arraybuffer;
  napi_status status =
      napi_create_external_arraybuffer(env, address, (size_t)length, finalize_backing_store, mapping, &arraybuffer);
  if (status != napi_ok) {
    /* The finalizer has been handed the record: Node runs it inside the failed call (a length past its largest
       buffer), another runtime may run it later or never. Drop the object's hold only; whichever of the two comes
       last unmaps and frees, and nothing is freed twice. (If the runtime never runs it, the range leaks.) */
    release_mapping(mapping);
    memmap_throw_napi_failure(env, status, "napi_create_external_arraybuffer");
    return NULL;
  }
  /* The ArrayBuffer carries its record so C can find it; the wrap's finalizer is the object's hold. */
  status = napi_wrap(env, arraybuffer, mapping, finalize_object, NULL, NULL);
  if (status != napi_ok) {
    release_mapping(mapping); /* no wrap, so no object finalizer: the backing store's finalizer frees */
    memmap_throw_napi_failure(env, status, "napi_wrap");
    return NULL;
  }
  NAPI_CALL(env, napi_type_tag_object(env, arraybuffer, &mapping_tag)); /* on failure both finalizers still run */
  /* A file mapping is handed out only registered with the SIGBUS handler (mapping_registry.h): if the table is
     full or its descriptor cannot be duplicated, the call fails instead. Anonymous memory cannot be truncated. */
  if (!(flags & MAP_ANONYMOUS)) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    int error =
        memmap_registry_add(address, ((size_t)length + page - 1) / page * page, fd, (off_t)offset, &mapping->entry);
    if (error != 0) {
      /* No JavaScript has seen the ArrayBuffer: retire it as close() would (detach, drop the file's pages); the
         finalizers release the range. */
      NAPI_CALL(env, napi_detach_arraybuffer(env, arraybuffer));
      memmap_range_retire(&mapping->range);
      return memmap_throw_errno(env, error, "mmap");
    }
  }
  return arraybuffer;
}

/* The record of a mapping ArrayBuffer made by js_mmap; asserts the tag (TypeScript passes only those). */
static memmap_mapping *unwrap_mapping(napi_env env, napi_value arraybuffer) {
  bool tagged = false;
  NAPI_CALL(env, napi_check_object_type_tag(env, arraybuffer, &mapping_tag, &tagged));
  assert(tagged && "TypeScript passes only ArrayBuffers made by mmap");
  void *record = NULL;
  NAPI_CALL(env, napi_unwrap(env, arraybuffer, &record));
  return record;
}

/* alias(arraybuffer) -> the mapping's guarded face (retire.h): another ArrayBuffer over the same bytes, which retire
   detaches. Only of a live mapping. */
static napi_value js_alias(napi_env env, napi_callback_info info) {
  napi_value argv[1], alias;
  if (!memmap_get_args(env, info, 1, argv)) return NULL;
  memmap_mapping *mapping = unwrap_mapping(env, argv[0]);
  if (mapping == NULL || !memmap_range_alias(env, &mapping->range, &alias)) return NULL;
  return alias;
}

/* retire(arraybuffer, alias, keep): detaches the guarded face `alias` (every view built on it throws). With `keep`,
   the public face stays attached for whoever still works on it (retire.h), and nothing written through it can reach
   the file any more: a MAP_SHARED file mapping is mapped again MAP_PRIVATE over the same addresses
   (mapping_registry.h); private and anonymous memory reaches no file already. Without `keep` (TypeScript's budget of
   kept ranges is spent), or if the file cannot be mapped privately, the public face is detached too and the range
   holds anonymous memory: nothing reaches the file and no unmapped page is touched, but a zlib stream with passes
   left then ends the process (Node refuses a detached input). Once per mapping. */
static napi_value js_retire(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  bool keep = false;
  if (!memmap_get_args(env, info, 3, argv) || !memmap_get_bool(env, argv[2], &keep)) return NULL;
  memmap_mapping *mapping = unwrap_mapping(env, argv[0]);
  if (mapping == NULL) return NULL;
  assert(!__atomic_load_n(&mapping->range.retired, __ATOMIC_ACQUIRE) && "TypeScript retires a mapping once");
  if (!memmap_range_detach_alias(env, &mapping->range, argv[1])) return NULL;
  bool anonymous = (mapping->flags & MAP_ANONYMOUS) != 0;
  bool file_pages = (mapping->flags & MAP_SHARED) && !anonymous;
  /* The private mapping needs /proc and read permission on the file as it is now; it can also fail for memory. */
  if (keep && (mapping->entry == NULL || memmap_registry_retire(mapping->entry, file_pages) == 0)) {
    memmap_range_mark_kept(env, &mapping->range, anonymous ? mapping->range.length : 0);
    return memmap_undefined(env);
  }
  NAPI_CALL(env, napi_detach_arraybuffer(env, argv[0]));
  /* If even this replacement fails (no memory, vm.max_map_count), the file's pages stay mapped, and registered,
     until the last hold goes: safe to touch, though a late write would reach the file. Not an error of close():
     nothing the caller can do about it. */
  (void)memmap_range_retire(&mapping->range);
  return memmap_undefined(env);
}

/* retired() -> [ranges, bytes]: retired ranges kept with their public face attached and not yet released, and the
   anonymous bytes they hold (retire.h), for TypeScript's budget. */
static napi_value js_retired(napi_env env, napi_callback_info info) {
  (void)info;
  size_t ranges, bytes;
  memmap_retired_kept(&ranges, &bytes);
  napi_value result;
  NAPI_CALL(env, napi_create_array_with_length(env, 2, &result));
  NAPI_CALL(env, napi_set_element(env, result, 0, memmap_int64(env, (int64_t)ranges)));
  NAPI_CALL(env, napi_set_element(env, result, 1, memmap_int64(env, (int64_t)bytes)));
  return result;
}

/* faults(arraybuffer) -> how many truncation faults the SIGBUS handler repaired in this mapping (signals.c). */
static napi_value js_faults(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!memmap_get_args(env, info, 1, argv)) return NULL;
  memmap_mapping *mapping = unwrap_mapping(env, argv[0]);
  if (mapping == NULL) return NULL;
  if (mapping->range.retired || mapping->entry == NULL) return memmap_int64(env, 0);
  return memmap_int64(env, __atomic_load_n(&mapping->entry->faults, __ATOMIC_ACQUIRE));
}

/* ioFaults(arraybuffer) -> pages of this mapping the SIGBUS handler replaced because the kernel could not provide
   them though the file covers them (a full filesystem under a sparse file, an I/O error). */
static napi_value js_io_faults(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!memmap_get_args(env, info, 1, argv)) return NULL;
  memmap_mapping *mapping = unwrap_mapping(env, argv[0]);
  if (mapping == NULL) return NULL;
  if (mapping->range.retired || mapping->entry == NULL) return memmap_int64(env, 0);
  return memmap_int64(env, __atomic_load_n(&mapping->entry->io_faults, __ATOMIC_ACQUIRE));
}

/* lostFrom(arraybuffer) -> bytes from the mapping's start to the first page the handler replaced with zero-filled
   memory (the mapping's length, rounded up to pages, while none was). */
static napi_value js_lost_from(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!memmap_get_args(env, info, 1, argv)) return NULL;
  memmap_mapping *mapping = unwrap_mapping(env, argv[0]);
  if (mapping == NULL) return NULL;
  if (mapping->range.retired || mapping->entry == NULL) return memmap_int64(env, (int64_t)mapping->range.length);
  return memmap_int64(env, (int64_t)__atomic_load_n(&mapping->entry->lost_from, __ATOMIC_ACQUIRE));
}

/* Reads (arraybuffer, offset, length) and checks the range lies in the mapping (TypeScript rounded it to pages).
   The bounds come from the record js_mmap made, never from what the ArrayBuffer says about itself. */
static bool get_range(napi_env env, napi_value *argv, char **start, size_t *length) {
  int64_t offset, count;
  memmap_mapping *mapping = unwrap_mapping(env, argv[0]);
  if (mapping == NULL || !memmap_get_int64(env, argv[1], &offset) || !memmap_get_int64(env, argv[2], &count))
    return false;
  assert(!__atomic_load_n(&mapping->range.retired, __ATOMIC_ACQUIRE) && "TypeScript never passes a retired mapping");
  assert(offset >= 0 && count >= 0 && (uint64_t)offset + (uint64_t)count <= mapping->range.length);
  /* In bounds: offset + count <= the mapped length was asserted just above. */
  *start = (char *)mapping->range.address + offset;
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
  /* Each step only fails on a broken environment; undo exactly what was made before it (the deferred of a promise
     that is never returned needs no settling). */
  napi_status status = napi_create_promise(env, &job->deferred, &promise);
  if (status == napi_ok) status = napi_create_reference(env, argv[0], 1, &job->keep_alive);
  if (status == napi_ok) status = napi_create_string_utf8(env, "memmap:msync", NAPI_AUTO_LENGTH, &name);
  if (status == napi_ok)
    status = napi_create_async_work(env, NULL, name, msync_execute, msync_complete, job, &job->work);
  if (status == napi_ok) status = napi_queue_async_work(env, job->work);
  if (status != napi_ok) {
    if (job->work != NULL) napi_delete_async_work(env, job->work);
    if (job->keep_alive != NULL) napi_delete_reference(env, job->keep_alive);
    free(job);
    memmap_throw_napi_failure(env, status, "msyncAsync setup");
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
static napi_value js_mlock(napi_env env, napi_callback_info info) {
  return lock_call(env, info, true);
}

/* munlock(arraybuffer, offset, length) */
static napi_value js_munlock(napi_env env, napi_callback_info info) {
  return lock_call(env, info, false);
}

/* pageSize() -> sysconf(_SC_PAGESIZE) */
static napi_value js_page_size(napi_env env, napi_callback_info info) {
  (void)info;
  return memmap_int64(env, sysconf(_SC_PAGESIZE));
}

/* address(arraybuffer) -> the mapping's base address as a bigint, also once retired (tests and diagnostics). */
static napi_value js_address(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  if (!memmap_get_args(env, info, 1, argv)) return NULL;
  memmap_mapping *mapping = unwrap_mapping(env, argv[0]);
  if (mapping == NULL) return NULL;
  NAPI_CALL(env, napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)mapping->range.address, &result));
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
  CONSTANT(PROT_NONE);
  CONSTANT(PROT_READ);
  CONSTANT(PROT_WRITE);
  CONSTANT(PROT_EXEC);
  CONSTANT(MAP_SHARED);
  CONSTANT(MAP_PRIVATE);
  CONSTANT(MAP_ANONYMOUS);
  CONSTANT(MAP_FIXED);
  CONSTANT(MAP_NORESERVE);
  CONSTANT(MAP_POPULATE);
  CONSTANT(MAP_NONBLOCK);
  CONSTANT(MS_ASYNC);
  CONSTANT(MS_SYNC);
  CONSTANT(MS_INVALIDATE);
  CONSTANT(MADV_NORMAL);
  CONSTANT(MADV_RANDOM);
  CONSTANT(MADV_SEQUENTIAL);
  CONSTANT(MADV_WILLNEED);
  CONSTANT(MADV_DONTNEED);
  CONSTANT(MADV_REMOVE);
  CONSTANT(MADV_DONTFORK);
  CONSTANT(MADV_DOFORK);
  CONSTANT(MADV_HUGEPAGE);
  CONSTANT(MADV_NOHUGEPAGE);
  CONSTANT(MADV_FREE);
  return ok && napi_set_named_property(env, exports, "constants", constants) == napi_ok &&
         memmap_export(env, exports, "mmap", js_mmap) && memmap_export(env, exports, "retire", js_retire) &&
         memmap_export(env, exports, "alias", js_alias) && memmap_export(env, exports, "retired", js_retired) &&
         memmap_export(env, exports, "msync", js_msync) && memmap_export(env, exports, "msyncAsync", js_msync_async) &&
         memmap_export(env, exports, "madvise", js_madvise) && memmap_export(env, exports, "mincore", js_mincore) &&
         memmap_export(env, exports, "mlock", js_mlock) && memmap_export(env, exports, "munlock", js_munlock) &&
         memmap_export(env, exports, "pageSize", js_page_size) && memmap_export(env, exports, "address", js_address) &&
         memmap_export(env, exports, "faults", js_faults) && memmap_export(env, exports, "lostFrom", js_lost_from) &&
         memmap_export(env, exports, "ioFaults", js_io_faults);
}
