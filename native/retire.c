/* The retirement of an address range, its guarded alias, and its release on the last hold: see retire.h. */
#include "retire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void memmap_range_init(memmap_range *range, void *address, size_t visible, void (*unregister)(memmap_range *)) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  range->address = address;
  range->length = (visible + page - 1) / page * page;
  range->visible = visible;
  range->holds = 2;
  range->retired = false;
  range->unregistered = false;
  range->kept = false;
  range->held = 0;
  range->held_reported = false;
  range->unregister = unregister;
}

void memmap_range_unregister(memmap_range *range) {
  if (range->unregistered) return;
  range->unregistered = true;
  if (range->unregister != NULL) range->unregister(range);
}

int memmap_range_retire(memmap_range *range) {
  __atomic_store_n(&range->retired, true, __ATOMIC_RELEASE);
  /* MAP_NORESERVE: the replacement is never meant to be used, so it must not count against overcommit. */
  void *replaced = mmap(range->address, range->length, PROT_READ | PROT_WRITE,
                        MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (replaced == MAP_FAILED) {
    int error_number = errno;
    __atomic_store_n(&range->retired, false, __ATOMIC_RELEASE);
    return error_number;
  }
  /* After the replacement, not before: until it, a fault in the old pages must still be repaired. */
  memmap_range_unregister(range);
  return 0;
}

int memmap_range_retire_copy(memmap_range *range) {
  void *copy = mmap(NULL, range->length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (copy == MAP_FAILED) return errno;
  /* In bounds: both ranges are range->length bytes. A write racing this copy from another thread or process may
     land in the old pages after they were copied: it then reached the segment (as it would have a moment earlier)
     and not the copy, which is what the public face reads from now on. */
  memcpy(copy, range->address, range->length);
  __atomic_store_n(&range->retired, true, __ATOMIC_RELEASE);
  /* One step: mremap unmaps what was at the target (ending the attachment) and moves the copy there, so no thread
     ever finds the addresses unmapped. */
  if (mremap(copy, range->length, range->length, MREMAP_MAYMOVE | MREMAP_FIXED, range->address) == MAP_FAILED) {
    int error_number = errno;
    __atomic_store_n(&range->retired, false, __ATOMIC_RELEASE);
    munmap(copy, range->length);
    return error_number;
  }
  memmap_range_unregister(range);
  return 0;
}

static size_t kept_ranges;
static size_t kept_bytes;

void memmap_retired_kept(size_t *ranges, size_t *bytes) {
  *ranges = __atomic_load_n(&kept_ranges, __ATOMIC_ACQUIRE);
  *bytes = __atomic_load_n(&kept_bytes, __ATOMIC_ACQUIRE);
}

bool memmap_range_release(memmap_range *range) {
  if (__atomic_sub_fetch(&range->holds, 1, __ATOMIC_ACQ_REL) != 0) return false;
  if (range->kept) {
    __atomic_sub_fetch(&kept_ranges, 1, __ATOMIC_ACQ_REL);
    __atomic_sub_fetch(&kept_bytes, range->held, __ATOMIC_ACQ_REL);
  }
  memmap_range_unregister(range);
  munmap(range->address, range->length);
  return true;
}

/* An alias's backing store was freed: its hold goes. The record is freed with the last hold (range first in it). */
static void finalize_alias(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  if (memmap_range_release(hint)) free(hint);
}

bool memmap_range_alias(napi_env env, memmap_range *range, napi_value *alias) {
  assert(!__atomic_load_n(&range->retired, __ATOMIC_ACQUIRE) && "TypeScript aliases a live range only");
  __atomic_add_fetch(&range->holds, 1, __ATOMIC_ACQ_REL);
  napi_status status =
      napi_create_external_arraybuffer(env, range->address, range->visible, finalize_alias, range, alias);
  if (status != napi_ok) {
    /* The same length was made into an ArrayBuffer once already, so only a broken environment fails here; Node runs
       the finalizer inside the failed call (the hold is dropped), another runtime may not (the range then leaks,
       never freed twice). */
    memmap_throw_napi_failure(env, status, "napi_create_external_arraybuffer");
    return false;
  }
  return true;
}

bool memmap_range_detach_alias(napi_env env, memmap_range *range, napi_value alias) {
  bool is_arraybuffer = false;
  if (napi_is_arraybuffer(env, alias, &is_arraybuffer) != napi_ok || !is_arraybuffer) return true;
  void *data = NULL;
  size_t length = 0;
  if (napi_get_arraybuffer_info(env, alias, &data, &length) != napi_ok) return true;
  if (data != range->address || length != range->visible) return true; /* already detached, or not ours */
  napi_status status = napi_detach_arraybuffer(env, alias);
  if (status != napi_ok) {
    memmap_throw_napi_failure(env, status, "napi_detach_arraybuffer");
    return false;
  }
  return true;
}

void memmap_range_mark_kept(napi_env env, memmap_range *range, size_t held) {
  __atomic_store_n(&range->retired, true, __ATOMIC_RELEASE);
  range->kept = true;
  range->held = held;
  __atomic_add_fetch(&kept_ranges, 1, __ATOMIC_ACQ_REL);
  __atomic_add_fetch(&kept_bytes, held, __ATOMIC_ACQ_REL);
  int64_t ignored;
  if (held > 0 && napi_adjust_external_memory(env, (int64_t)held, &ignored) == napi_ok) range->held_reported = true;
}

void memmap_range_forget_held(napi_env env, memmap_range *range) {
  if (!range->held_reported) return;
  int64_t ignored;
  (void)napi_adjust_external_memory(env, -(int64_t)range->held, &ignored);
  range->held_reported = false;
}
