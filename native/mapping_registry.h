/*
 * The table of live file mappings, readable from a signal handler.
 *
 * The SIGBUS handler (signals.c) must tell whether a faulting address lies in one of our mappings without taking a
 * lock or calling malloc, so the table is a fixed array of slots updated with atomics only. Each mapping keeps a
 * pointer to its own slot, so the addon's per-call queries (faults, lost offset) are O(1); only the handler scans,
 * and only up to the highest slot ever used.
 *
 * The registry owns a descriptor of each mapped file, opened when the first mapping of the file (by device and inode)
 * is registered and closed when the last is removed: the handler needs the file's current size, and the caller may
 * close its own descriptor right after mmap (the usual mmap-io pattern) or reuse its number. It is an O_PATH
 * descriptor on a description of its own, never a duplicate of the caller's: that would keep the caller's flock(2)
 * lock (a record file writer's) held for as long as any other mapping of the file lives.
 */
#ifndef MEMMAP_MAPPING_REGISTRY_H
#define MEMMAP_MAPPING_REGISTRY_H

#include "signals.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The number of slots: more live file mappings than this fail at mmap (vm.max_map_count defaults to 65530). */
#define MEMMAP_REGISTRY_SLOTS 65536

typedef struct {
  uintptr_t address;  /* 0: free slot; 1: being filled (claimed, not yet readable) */
  size_t length;      /* bytes mapped, a whole number of pages */
  int fd;             /* the registry's own descriptor of the mapped file (close-on-exec), shared per file */
  size_t file_record; /* which shared descriptor (mapping_registry.c), released by remove */
  off_t file_offset;  /* file offset of the first mapped page */
  dev_t dev;          /* the file's identity when mapped: the handler repairs only if fd still names it */
  ino_t ino;
  uint32_t faults;    /* truncation faults repaired in this mapping (see signals.c) */
  uint32_t io_faults; /* pages the file covers but the kernel could not provide (full filesystem, I/O error) */
  size_t lost_from;   /* bytes from the mapping's start to the first page replaced by zero-filled memory;
                         == length while nothing has been replaced */
  bool retired;       /* the mapping was retired: the range maps the file MAP_PRIVATE, and the handler repairs
                         a fault in it with zero-filled memory from the fault page to lost_from, without asking the
                         file (whose descriptor the slot no longer owns) */
  int busy;           /* a spin flag: held by the one handler repairing this mapping, and by remove, so two threads
                         faulting at once never repair the same pages twice and a slot is never freed mid-repair */
} memmap_registry_entry;

/*
 * Registers the file mapping of `length` bytes at `address`, of `fd` from `file_offset`, and stores its slot in
 * `*out`. Returns 0, or an errno and registers nothing: ENOMEM when every slot is taken, or why the descriptor
 * could not be duplicated or examined (EMFILE...). Not async-signal-safe (takes a mutex). The caller must then unmap
 * and fail the call: a file mapping handed out unregistered would kill the process on the first access past a truncated
 * end.
 */
int memmap_registry_add(void *address, size_t length, int fd, off_t file_offset, memmap_registry_entry **out);

/* Frees the slot (and the file's descriptor if no other slot maps that file), before the mapping is unmapped. Waits
   for a repair in progress. NULL: nothing. Not async-signal-safe. */
void memmap_registry_remove(memmap_registry_entry *entry);

/*
 * Retires a live file mapping in place: with `remap_private` (a MAP_SHARED one) maps the same bytes of the file
 * MAP_PRIVATE over its range (one mmap MAP_FIXED, so no thread ever finds the addresses unmapped); then marks the
 * slot retired and lets go of the file's descriptor, so a range kept until it is collected holds none. A reader still
 * working in the range (a thread-pool thread) goes on reading the file; a late write stays in this process. The slot
 * stays registered until memmap_registry_remove: a page past the file's end can still fault. Returns 0, or the errno of
 * mmap: the mapping is then as it was. Not async-signal-safe.
 */
int memmap_registry_retire(memmap_registry_entry *entry, bool remap_private);

/* Async-signal-safe: the slot whose range holds `address`, or NULL. */
memmap_registry_entry *memmap_registry_find(uintptr_t address);

/* Async-signal-safe spin flag of a slot (see `busy`). */
void memmap_registry_lock(memmap_registry_entry *entry);
void memmap_registry_unlock(memmap_registry_entry *entry);

#endif
