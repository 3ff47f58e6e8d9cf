/*
 * The retirement of an address range handed to JavaScript as an external ArrayBuffer (mapping.c, sysv.c).
 *
 * Detaching an ArrayBuffer does not stop native code that already holds its pointer: zlib, crypto and fs work on a
 * view's memory from a thread-pool thread while JavaScript goes on. So such a range is never unmapped while anything
 * can touch it. Retiring it maps private anonymous memory over it (mmap MAP_FIXED): whatever was mapped there (a
 * file's pages, a System V attachment, whose shm_nattch drops at once) is gone, but the addresses stay reserved, and
 * a late write lands in memory nobody reads. The range is unmapped only when both of its holds are dropped: the
 * backing store's (the external ArrayBuffer's finalizer) and the ArrayBuffer object's (the napi_wrap finalizer), in
 * either order, on whatever thread the runtime runs them (mapping.c's top comment says when each runtime does).
 */
#ifndef MEMMAP_RETIRE_H
#define MEMMAP_RETIRE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct memmap_range memmap_range;

struct memmap_range {
  void *address;
  size_t length; /* bytes reserved: a whole number of pages */
  int holds;     /* 2 at creation: the backing store's and the ArrayBuffer object's */
  bool retired;  /* set (before the pages are replaced) once retired: the range then holds anonymous memory */
  /* Takes the range out of a signal handler's registry (NULL: none): called once, after the replacement when the
     range is retired, or before the final munmap when it never was. Not from a signal handler. */
  void (*unregister)(memmap_range *range);
};

/* Fills in a live range of `length` bytes (rounded up to pages here) at `address`, with its two holds. */
void memmap_range_init(memmap_range *range, void *address, size_t length, void (*unregister)(memmap_range *));

/* Maps private anonymous memory over the range, then unregisters it. Returns 0, or the errno of mmap: the range is
   then as it was (still mapped, still registered, not retired). Once per range; the caller detached its
   ArrayBuffer first. */
int memmap_range_retire(memmap_range *range);

/* Drops one hold. The last one unregisters the range if it was never retired, unmaps it and returns true: the
   caller then frees the record holding it. Any thread. */
bool memmap_range_release(memmap_range *range);

#endif
