/*
 * The addon's signal handlers (signals.c): what the rest of native/ may ask of them.
 *
 * SIGBUS: truncation and full-filesystem faults in file mappings registered in mapping_registry.h are repaired.
 * SIGSEGV: writes into read-only System V attachments registered here are turned into private page copies.
 * Both handlers are installed in front of whatever held the signal before and hand every fault they do not repair
 * on to it (or to the default action), with the one helper in signals.c.
 */
#ifndef MEMMAP_SIGNALS_H
#define MEMMAP_SIGNALS_H

#include <stdbool.h>
#include <stddef.h>

/* Installs memmap's SIGBUS handler unless it is the current disposition; false (errno set) if sigaction fails. */
bool memmap_sigbus_ensure(void);

/* Installs memmap's SIGSEGV handler unless it is the current disposition; false (errno set) if sigaction fails. */
bool memmap_sigsegv_ensure(void);

/* Registers a read-only System V attachment of `length` bytes (page-rounded) at `address` for the SIGSEGV
   handler; false when its table (256 slots) is full. */
bool memmap_readonly_add(void *address, size_t length);

/* Unregisters it, once its pages are replaced by anonymous memory (retire.h) or before they are unmapped. Waits for
   a page copy in progress: once it returns, the handler copies nothing into the range. Not async-signal-safe. */
void memmap_readonly_remove(void *address);

#endif
