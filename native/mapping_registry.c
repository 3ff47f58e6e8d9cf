/* Lock-free table of live mappings: see mapping_registry.h for why. */
#include "mapping_registry.h"

/* vm.max_map_count defaults to 65530: a process cannot hold more mappings than this anyway. */
#define MEMMAP_REGISTRY_SLOTS 65536

static memmap_registry_entry slots[MEMMAP_REGISTRY_SLOTS];

/* One past the highest slot ever claimed: the handler's scan stops here instead of walking all 65536 slots. */
static size_t high_water;

memmap_registry_entry *memmap_registry_add(void *address, size_t length, int fd, off_t file_offset, dev_t dev,
                                           ino_t ino) {
  for (size_t i = 0; i < MEMMAP_REGISTRY_SLOTS; i++) {
    uintptr_t expected = 0;
    /* Claim the slot with a sentinel, fill it, then publish the address: a reader never sees half an entry. */
    if (__atomic_compare_exchange_n(&slots[i].address, &expected, (uintptr_t)1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
      memmap_registry_entry *entry = &slots[i];
      entry->length = length;
      entry->fd = fd;
      entry->file_offset = file_offset;
      entry->dev = dev;
      entry->ino = ino;
      __atomic_store_n(&entry->faults, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&entry->io_faults, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&entry->lost_from, length, __ATOMIC_RELAXED);
      size_t seen = __atomic_load_n(&high_water, __ATOMIC_RELAXED);
      while (seen < i + 1 &&
             !__atomic_compare_exchange_n(&high_water, &seen, i + 1, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
      }
      __atomic_store_n(&entry->address, (uintptr_t)address, __ATOMIC_RELEASE);
      return entry;
    }
  }
  return NULL;
}

void memmap_registry_remove(memmap_registry_entry *entry) {
  if (entry != NULL) __atomic_store_n(&entry->address, 0, __ATOMIC_RELEASE);
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
