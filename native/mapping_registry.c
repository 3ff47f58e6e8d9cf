/* Lock-free table of live file mappings: see mapping_registry.h for why. */
#include "mapping_registry.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

static memmap_registry_entry slots[MEMMAP_REGISTRY_SLOTS];

/* One past the highest slot ever claimed: the handler's scan stops here instead of walking all 65536 slots. */
static size_t high_water;

void memmap_registry_lock(memmap_registry_entry *entry) {
  /* Held only around a few system calls by another thread (a handler never waits for its own thread: the signal
     is blocked while its handler runs), so the wait is short. sched_yield is a plain system call. */
  while (__atomic_exchange_n(&entry->busy, 1, __ATOMIC_ACQUIRE) != 0) sched_yield();
}

void memmap_registry_unlock(memmap_registry_entry *entry) { __atomic_store_n(&entry->busy, 0, __ATOMIC_RELEASE); }

int memmap_registry_add(void *address, size_t length, int fd, off_t file_offset, memmap_registry_entry **out) {
  *out = NULL;
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return errno;
  struct stat st;
  if (fstat(own, &st) != 0) {
    int error = errno;
    close(own);
    return error;
  }
  for (size_t i = 0; i < MEMMAP_REGISTRY_SLOTS; i++) {
    uintptr_t expected = 0;
    /* Claim the slot with a sentinel, fill it, then publish the address: a reader never sees half an entry. */
    if (__atomic_compare_exchange_n(&slots[i].address, &expected, (uintptr_t)1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
      memmap_registry_entry *entry = &slots[i];
      entry->length = length;
      entry->fd = own;
      entry->file_offset = file_offset;
      entry->dev = st.st_dev;
      entry->ino = st.st_ino;
      __atomic_store_n(&entry->faults, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&entry->io_faults, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&entry->lost_from, length, __ATOMIC_RELAXED);
      size_t seen = __atomic_load_n(&high_water, __ATOMIC_RELAXED);
      while (seen < i + 1 &&
             !__atomic_compare_exchange_n(&high_water, &seen, i + 1, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
      }
      __atomic_store_n(&entry->address, (uintptr_t)address, __ATOMIC_RELEASE);
      *out = entry;
      return 0;
    }
  }
  close(own);
  return ENOMEM; /* what mmap(2) itself says at vm.max_map_count */
}

void memmap_registry_remove(memmap_registry_entry *entry) {
  if (entry == NULL) return;
  int fd = entry->fd;
  /* A handler holds the flag while it reads the slot: freeing waits for it, and a handler that takes the flag
     after this finds the address gone and lets the access run again. */
  memmap_registry_lock(entry);
  __atomic_store_n(&entry->address, 0, __ATOMIC_RELEASE);
  memmap_registry_unlock(entry);
  close(fd);
}

memmap_registry_entry *memmap_registry_find(uintptr_t address) {
  size_t end = __atomic_load_n(&high_water, __ATOMIC_ACQUIRE);
  for (size_t i = 0; i < end; i++) {
    uintptr_t start = __atomic_load_n(&slots[i].address, __ATOMIC_ACQUIRE);
    /* The release store of `address` in add() orders the other fields before it: they are complete here. */
    if (start > 1 && address >= start && address - start < slots[i].length) return &slots[i];
  }
  return NULL;
}
