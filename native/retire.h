/*
 * The retirement of an address range handed to JavaScript as an external ArrayBuffer (mapping.c, sysv.c).
 *
 * Detaching an ArrayBuffer does not stop native code that already holds its pointer: zlib, crypto and fs work on a
 * view's memory from a thread-pool thread while JavaScript goes on. Nor can such code be told apart from the owner:
 * Node's zlib checks its input's length before each pass, and a detached input (length 0) then ends the process. So
 * the ArrayBuffer handed to JavaScript (the public face) is never detached and its range is never unmapped while
 * anything can touch it. What JavaScript must stop using at once reads through an alias instead: a second external
 * ArrayBuffer over the same range (the guarded face, made by memmap_range_alias), which the layout module, the
 * atomics and the record files build their views on and which retirement detaches, so those views throw.
 *
 * Retiring a range leaves the public face working on memory that can no longer reach the file or segment: a file
 * mapped MAP_SHARED is mapped again MAP_PRIVATE over the same addresses (mapping.c), so an in-flight reader sees the
 * file's bytes and a late write stays in this process; a System V attachment is replaced by a private copy of its
 * bytes (memmap_range_retire_copy), which ends the attachment at once; private and anonymous memory is left as it
 * is. The range is unmapped only when every hold is dropped: the public backing store's (its finalizer), the public
 * ArrayBuffer object's (the napi_wrap finalizer), and one per alias (the alias's backing store finalizer), in any
 * order, on whatever thread the runtime runs them (mapping.c's top comment says when each runtime does).
 */
#ifndef MEMMAP_RETIRE_H
#define MEMMAP_RETIRE_H

#include "common.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct memmap_range memmap_range;

struct memmap_range {
  void *address;
  size_t length;  /* bytes reserved: a whole number of pages */
  size_t visible; /* bytes of the public ArrayBuffer (and of every alias): <= length */
  int holds;      /* 2 at creation (the public backing store's and object's), one more per alias */
  bool retired;   /* set once retired (before the pages are replaced) */
  bool unregistered;
  bool kept; /* retired with its public face left attached: counted in memmap_retired_kept until released */
  /* Bytes of anonymous memory kept after retirement for whoever still works on them (0 for a file's pages, which
     the kernel can always drop), counted in memmap_retired_kept and reported to the engine as external memory (so
     the collector comes sooner) until the public object is collected. */
  size_t held;
  bool held_reported;
  /* Takes the range out of a signal handler's registry (NULL: none): called once, through memmap_range_unregister,
     by retirement or before the final munmap. Not from a signal handler. */
  void (*unregister)(memmap_range *range);
};

/* Fills in a live range of `visible` bytes (rounded up to pages here) at `address`, with its two holds. */
void memmap_range_init(memmap_range *range, void *address, size_t visible, void (*unregister)(memmap_range *));

/* Maps private anonymous memory over the range (its bytes are lost), then unregisters it. For a range no JavaScript
   has seen. Returns 0, or the errno of mmap: the range is then as it was. Once per range. */
int memmap_range_retire(memmap_range *range);

/* Replaces the range by a private anonymous copy of its bytes in one step (mremap over it), then unregisters it.
   Returns 0, or the errno of mmap or mremap: the range is then as it was. Once per range. */
int memmap_range_retire_copy(memmap_range *range);

/* Calls the range's unregister hook unless it already ran. */
void memmap_range_unregister(memmap_range *range);

/* Drops one hold. The last one unregisters the range if that has not happened, unmaps it and returns true: the
   caller then frees the record holding it (the range is its first member). Any thread. */
bool memmap_range_release(memmap_range *range);

/* Makes the guarded face: another external ArrayBuffer over the range's `visible` bytes, holding the range until
   its backing store is freed. Returns false with an exception pending. Not on a retired range. */
bool memmap_range_alias(napi_env env, memmap_range *range, napi_value *alias);

/* Detaches `alias` if it is a live alias of the range (an ArrayBuffer over exactly its visible bytes); anything
   else is left alone, so a JavaScript object can never make C detach the wrong buffer. */
bool memmap_range_detach_alias(napi_env env, memmap_range *range, napi_value alias);

/* Marks the range retired with its public face left attached (kept), holding `held` bytes of anonymous memory:
   counts it in memmap_retired_kept until its release, and reports `held` to the engine as external memory (undone by
   memmap_range_forget_held when the public object is collected). */
void memmap_range_mark_kept(napi_env env, memmap_range *range, size_t held);

/* Retired ranges kept (public face attached) and not yet released, and the anonymous bytes they hold: what
   TypeScript weighs against its budget before keeping one more (mapping-faces.ts). */
void memmap_retired_kept(size_t *ranges, size_t *bytes);

/* Undoes the external-memory report of memmap_range_mark_retired (the napi_wrap finalizer of the public object). */
void memmap_range_forget_held(napi_env env, memmap_range *range);

#endif
