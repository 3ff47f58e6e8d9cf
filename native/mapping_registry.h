/*
 * The table of live mappings, readable from a signal handler.
 *
 * The SIGBUS handler (sigbus.c) must tell whether a faulting address lies in one of our mappings without taking a
 * lock or calling malloc, so the table is a fixed array of slots updated with atomics only. Each mapping keeps a
 * pointer to its own slot, so the addon's per-call queries (faults, lost offset) are O(1); only the handler scans,
 * and only up to the highest slot ever used.
 */
#ifndef MEMMAP_MAPPING_REGISTRY_H
#define MEMMAP_MAPPING_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
  uintptr_t address;   /* 0: free slot; 1: being filled (claimed, not yet readable) */
  size_t length;       /* bytes mapped, a whole number of pages */
  int fd;              /* -1 for anonymous mappings */
  off_t file_offset;   /* file offset of the first mapped page */
  dev_t dev;           /* the file's identity when mapped: the handler repairs only if fd still names it */
  ino_t ino;
  uint32_t faults;     /* truncation faults repaired in this mapping (see sigbus.c) */
  uint32_t io_faults;  /* pages the file covers but the kernel could not provide (full filesystem, I/O error) */
  size_t lost_from;    /* bytes from the mapping's start to the first page replaced by zero-filled memory;
                          == length while nothing has been replaced */
} memmap_registry_entry;

/* Registers a mapping; returns its slot, or NULL if the table is full (the mapping then works, but a truncation
   fault in it is not repaired: it kills the process as it would without memmap). */
memmap_registry_entry *memmap_registry_add(void *address, size_t length, int fd, off_t file_offset, dev_t dev,
                                           ino_t ino);

/* Frees the slot, before the mapping is unmapped. */
void memmap_registry_remove(memmap_registry_entry *entry);

/* Async-signal-safe: the slot whose range holds `address`, or NULL. */
memmap_registry_entry *memmap_registry_find(uintptr_t address);

/* Installs memmap's SIGBUS handler unless it is the current disposition (sigbus.c); false if sigaction fails. */
bool memmap_sigbus_ensure(void);

#endif
