/*
 * The table of live mappings, readable from a signal handler.
 *
 * The SIGBUS handler (sigbus.c) must tell whether a faulting address lies in one of our mappings without taking a
 * lock or calling malloc, so the table is a fixed array of slots updated with atomics only.
 */
#ifndef MEMMAP_MAPPING_REGISTRY_H
#define MEMMAP_MAPPING_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uintptr_t address; /* 0: free slot */
  size_t length;
  int fd;            /* -1 for anonymous mappings */
  uint32_t faults;   /* pages repaired after a truncation (see sigbus.c) */
} memmap_registry_entry;

void memmap_registry_add(void *address, size_t length, int fd);
void memmap_registry_remove(void *address);

/* Async-signal-safe: the slot holding `address`, or NULL. */
memmap_registry_entry *memmap_registry_find(uintptr_t address);

/* Async-signal-safe: the number of truncation faults repaired in the mapping that starts at `address`. */
uint32_t memmap_registry_faults(void *address);

#endif
