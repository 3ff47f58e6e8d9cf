/* The retirement of an address range and its release on the last of two holds: see retire.h. */
#include "retire.h"

#include <errno.h>

#include <sys/mman.h>
#include <unistd.h>

void memmap_range_init(memmap_range *range, void *address, size_t length, void (*unregister)(memmap_range *)) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  range->address = address;
  range->length = (length + page - 1) / page * page;
  range->holds = 2;
  range->retired = false;
  range->unregister = unregister;
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
  if (range->unregister != NULL) range->unregister(range);
  return 0;
}

bool memmap_range_release(memmap_range *range) {
  if (__atomic_sub_fetch(&range->holds, 1, __ATOMIC_ACQ_REL) != 0) return false;
  if (!__atomic_load_n(&range->retired, __ATOMIC_ACQUIRE) && range->unregister != NULL) range->unregister(range);
  munmap(range->address, range->length);
  return true;
}
