/* Lock-free table of live mappings: see mapping_registry.h for why. */
#include "mapping_registry.h"

#define MEMMAP_REGISTRY_SLOTS 65536

static memmap_registry_entry slots[MEMMAP_REGISTRY_SLOTS];

void memmap_registry_add(void *address, size_t length, int fd) {
  for (size_t i = 0; i < MEMMAP_REGISTRY_SLOTS; i++) {
    uintptr_t expected = 0;
    /* Claim the slot with a sentinel, fill it, then publish the address: a reader never sees half an entry. */
    if (__atomic_compare_exchange_n(&slots[i].address, &expected, (uintptr_t)1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
      slots[i].length = length;
      slots[i].fd = fd;
      __atomic_store_n(&slots[i].faults, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&slots[i].address, (uintptr_t)address, __ATOMIC_RELEASE);
      return;
    }
  }
  /* Full: the mapping works, only a truncation fault in it cannot be repaired (it crashes as without memmap). */
}

void memmap_registry_remove(void *address) {
  for (size_t i = 0; i < MEMMAP_REGISTRY_SLOTS; i++) {
    if (__atomic_load_n(&slots[i].address, __ATOMIC_ACQUIRE) == (uintptr_t)address) {
      __atomic_store_n(&slots[i].address, 0, __ATOMIC_RELEASE);
      return;
    }
  }
}

memmap_registry_entry *memmap_registry_find(uintptr_t address) {
  for (size_t i = 0; i < MEMMAP_REGISTRY_SLOTS; i++) {
    uintptr_t start = __atomic_load_n(&slots[i].address, __ATOMIC_ACQUIRE);
    if (start > 1 && address >= start && address - start < slots[i].length) return &slots[i];
  }
  return NULL;
}

uint32_t memmap_registry_faults(void *address) {
  for (size_t i = 0; i < MEMMAP_REGISTRY_SLOTS; i++) {
    if (__atomic_load_n(&slots[i].address, __ATOMIC_ACQUIRE) == (uintptr_t)address)
      return __atomic_load_n(&slots[i].faults, __ATOMIC_ACQUIRE);
  }
  return 0;
}
