/*
 * memmap's two signal handlers, and the one way both are installed and pass on what they do not repair.
 *
 * SIGBUS from a truncated file (or a full filesystem) becomes an error instead of a crash.
 * When another program shrinks a file we have mapped, the kernel removes the pages past the new end from every
 * mapping of it, and the next access to one of them raises SIGBUS (si_code BUS_ADRERR). The SIGBUS handler looks the
 * faulting address up in the registry of live file mappings (mapping_registry.h). If it lies in one of ours, and the
 * file really ends before the faulting page, the handler replaces the mapping's pages from the first page past the
 * file's new end (mmap MAP_FIXED of zero-filled private anonymous memory over exactly those pages), counts the
 * fault in the mapping's slot and returns: the faulting instruction runs again and succeeds. The TypeScript layer
 * reads the count (native.faults) and turns it into ERR_MAPPING_TRUNCATED at the next flush or resize, so the
 * writes made into the replaced pages are reported as lost rather than silently dropped.
 * The same BUS_ADRERR also comes from a page the file does cover but the kernel cannot provide: a hole of a sparse
 * file whose filesystem (or tmpfs, /dev/shm) is full, a quota, an I/O error reading the page. Then only the faulting
 * page is replaced and counted apart (io_faults; ERR_MAPPING_FAULTED in TypeScript).
 *
 * Several threads may fault in one mapping at once (thread-pool work such as crypto.randomFill over a view). One
 * repairs at a time (the slot's busy flag); each then looks again: a fault on pages another thread has repaired in
 * the meantime is a success (the access runs again and finds memory there), never a foreign fault. So the handler
 * passes a SIGBUS on only when it is not ours: outside our mappings, a hardware memory error (BUS_MCEERR_*), a
 * descriptor that no longer names the mapped file, a SIGBUS sent with kill(2), or a repair the kernel refused
 * (mmap failing at vm.max_map_count): then the process dies as it would without memmap.
 *
 * SIGSEGV from a write into a read-only System V attachment becomes a private copy of the page.
 * SHM_RDONLY maps a segment without PROT_WRITE (and mprotect cannot add it). A JavaScript Buffer cannot refuse a
 * write, so such a write raises SIGSEGV (SEGV_ACCERR). The SIGSEGV handler catches exactly those faults, inside an
 * attachment registered with memmap_readonly_add: it copies the faulting page into a fresh private anonymous page
 * and moves that page over the original (mremap MREMAP_FIXED, which replaces it atomically), then returns; the write
 * runs again and lands in the private copy, never in the segment (copy-on-write by hand, as a MappedFile opened
 * 'r'). Every other SIGSEGV (V8's WebAssembly bounds checks among them) goes on to the handler before ours.
 *
 * Both handlers are async-signal-safe: no malloc, no stdio; only atomics, a spin flag held around a few system calls
 * by another thread (see mapping_registry.c), plain system calls (fstat, mmap, mremap, madvise, munmap), memcpy;
 * errno is restored. They run on the thread's alternate signal stack when it has one (SA_ONSTACK), otherwise on the
 * faulting thread's own stack (a fault in a mapping is not a stack overflow, so that stack has room).
 *
 * Signal dispositions are process-wide, so the first module instance (main thread or a worker) installs each handler
 * and every thread's mappings are in the same tables. Something else may take a signal later (libuv does when a
 * program calls process.on('SIGBUS'), and resets it to SIG_DFL when the last listener goes): each new mapping or
 * read-only attachment checks the disposition and, if it is no longer ours, installs ours again in front of the new
 * one (install_in_front), so what is about to be handed out is protected.
 */
#include "common.h"
#include "mapping_registry.h"
#include "signals.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels answer EINVAL and the page is replaced as before */
#endif

static uintptr_t page_size;

/* ---- Install in front, chain to what was before -------------------------------------------------------------- */

/* One signal's handler and the disposition it replaced. */
typedef struct {
  int signal_number;
  void (*handler)(int, siginfo_t *, void *);
  int extra_flags;
  /* Two copies, so that a re-install never rewrites the one a running handler may be reading: it fills the other
     and then flips `current`. */
  struct sigaction previous[2];
  int current;
  int installing; /* a flag: one thread (re)installs at a time */
} signal_chain;

static bool is_ours(const signal_chain *chain, const struct sigaction *action) {
  return (action->sa_flags & SA_SIGINFO) && action->sa_sigaction == chain->handler;
}

/* Makes chain->handler the disposition unless it already is, keeping what it replaces to pass faults on to.
   False (errno set) if sigaction fails. Not for signal handlers: called before handing out memory that can fault. */
static bool install_in_front(signal_chain *chain) {
  struct sigaction current;
  if (sigaction(chain->signal_number, NULL, &current) != 0) return false;
  if (is_ours(chain, &current)) return true;
  while (__atomic_exchange_n(&chain->installing, 1, __ATOMIC_ACQUIRE) != 0) sched_yield();
  if (page_size == 0) page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = chain->handler;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | chain->extra_flags;
  sigemptyset(&action.sa_mask);
  int spare = 1 - __atomic_load_n(&chain->current, __ATOMIC_ACQUIRE);
  bool ok = sigaction(chain->signal_number, &action, &chain->previous[spare]) == 0;
  /* Ours may have been put back by another thread in between: keep chaining to what was before it, not to us. */
  if (ok && !is_ours(chain, &chain->previous[spare])) __atomic_store_n(&chain->current, spare, __ATOMIC_RELEASE);
  __atomic_store_n(&chain->installing, 0, __ATOMIC_RELEASE);
  return ok;
}

/* Hands a signal this handler did not repair to whoever had it before us, or lets the default action happen. */
static void pass_on(signal_chain *chain, siginfo_t *info, void *context) {
  int signal_number = chain->signal_number;
  const struct sigaction *before = &chain->previous[__atomic_load_n(&chain->current, __ATOMIC_ACQUIRE)];
  bool sent = info->si_code <= 0; /* kill(2), sigqueue(2), tgkill(2): not a fault, returning does not repeat it */
  if (before->sa_flags & SA_SIGINFO) {
    if (before->sa_sigaction != NULL) {
      before->sa_sigaction(signal_number, info, context);
      return;
    }
  } else if (before->sa_handler == SIG_IGN) {
    if (sent) return; /* ignored, as before memmap */
    /* A fault cannot be ignored (the instruction would fault forever); the kernel would kill us anyway. */
  } else if (before->sa_handler != SIG_DFL) {
    before->sa_handler(signal_number);
    return;
  }
  /* The default action: the process dies of this signal, as it would without memmap. Resetting the disposition is
     what makes it die (a fault runs again on return; a sent signal is raised again and kills when we return). */
  struct sigaction fallback;
  memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  sigaction(signal_number, &fallback, NULL);
  if (sent) raise(signal_number);
}

/* ---- SIGBUS: truncated files and pages the kernel cannot provide ---------------------------------------------- */

/*
 * Fault epochs: one 32-bit word per JavaScript environment (main thread, each worker), in memory V8 owns (an
 * ArrayBuffer made by napi_create_arraybuffer, so no two ArrayBuffers ever share an address). The handler adds 1 to
 * every registered word after each repair, so JavaScript learns that *some* mapping of the process was repaired
 * with one typed-array load, and only then asks (native.faults) which: cheap enough to check on every record access.
 * A word is unregistered by its environment's cleanup hook, which then waits until no handler is running, so a
 * handler never writes into freed memory.
 */
#define MEMMAP_EPOCH_SLOTS 64
static uint32_t *epoch_words[MEMMAP_EPOCH_SLOTS];
static int handlers_running;

static void bump_epochs(void) {
  for (size_t i = 0; i < MEMMAP_EPOCH_SLOTS; i++) {
    uint32_t *word = __atomic_load_n(&epoch_words[i], __ATOMIC_ACQUIRE);
    if (word != NULL) __atomic_add_fetch(word, 1, __ATOMIC_ACQ_REL);
  }
}

/* What the SIGBUS handler made of a fault. */
typedef enum {
  FAULT_FOREIGN,  /* not ours, or the kernel refused the repair: pass it on */
  FAULT_REPAIRED, /* pages replaced now: the access runs again and succeeds */
  FAULT_SETTLED,  /* nothing to do (another thread repaired it, or the mapping went): let the access run again */
} fault_outcome;

/* Replaces the faulting page, or for a truncation every page of the mapping past the file's new end. Called with
   the slot's busy flag held, so no other thread repairs or frees this slot meanwhile. */
static fault_outcome repair(uintptr_t address, memmap_registry_entry *entry) {
  uintptr_t start = __atomic_load_n(&entry->address, __ATOMIC_ACQUIRE);
  size_t length = entry->length;
  /* The slot was freed (or reused) between the lookup and taking the flag: whatever is at `address` now, running
     the access again meets it, and a fault then is looked up afresh. */
  if (start <= 1 || address < start || address - start >= length) return FAULT_SETTLED;
  uintptr_t fault_page = address & ~(page_size - 1);
  /* In bounds: fault_page >= start because start is page-aligned and address >= start. */
  size_t fault_offset = fault_page - start;
  /* Pages from lost_from on are private anonymous memory, which cannot raise SIGBUS: another thread replaced this
     page after our access faulted and before we took the flag. */
  if (fault_offset >= __atomic_load_n(&entry->lost_from, __ATOMIC_ACQUIRE)) return FAULT_SETTLED;
  /* A retired mapping (mapping_registry.h) maps the file privately for whoever still reads it; a page of it past the
     file's end faults like any other. Nobody counts its losses any more, and its descriptor is gone, so the file's
     size cannot be asked: the fault page is past the end, and so is every page after it, which become zeros with it
     in one mapping (up to lost_from: pages an earlier repair replaced hold what was written since). One page at a
     time instead, a reader striding through a kept range of a truncated file (a field of every other page) split it
     into a memory map per page until mmap failed at vm.max_map_count, and the fault then killed the process.
     Nothing of this process's is lost: truncation drops the private copies of pages past the end too. (A page the
     kernel could not read, an I/O error, also becomes zeros with every page after it.) */
  if (__atomic_load_n(&entry->retired, __ATOMIC_ACQUIRE)) {
    size_t to = __atomic_load_n(&entry->lost_from, __ATOMIC_ACQUIRE);
    if (mmap((void *)fault_page, to - fault_offset, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
             0) == MAP_FAILED)
      return FAULT_FOREIGN;
    __atomic_store_n(&entry->lost_from, fault_offset, __ATOMIC_RELEASE);
    return FAULT_REPAIRED;
  }

  struct stat st;
  if (fstat(entry->fd, &st) != 0 || st.st_dev != entry->dev || st.st_ino != entry->ino || st.st_size < 0)
    return FAULT_FOREIGN;
  uint64_t fault_file_offset = (uint64_t)entry->file_offset + fault_offset;
  if (fault_file_offset < (uint64_t)st.st_size) {
    /* The file covers the page, yet the kernel could not provide it: no block or memory for it (a sparse file on a
       full filesystem or tmpfs, a quota) or an I/O error reading it, or another thread already replaced it (or
       the file grew back over it). Ask the kernel to provide the page for writing, which faults nothing: if it can
       now, there is nothing to repair. */
    if (madvise((void *)fault_page, page_size, MADV_POPULATE_WRITE) == 0) return FAULT_SETTLED;
    if (mmap((void *)fault_page, page_size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
        MAP_FAILED)
      return FAULT_FOREIGN;
    __atomic_add_fetch(&entry->io_faults, 1, __ATOMIC_ACQ_REL);
    return FAULT_REPAIRED;
  }

  /* The first page wholly past the file's end, as an offset into the mapping (0 when the file now ends before the
     mapping starts). It is <= the fault page, which is itself wholly past the end; and the fault page is below
     lost_from (checked above), so [from, to) holds it. */
  uint64_t end_page = ((uint64_t)st.st_size + page_size - 1) & ~(uint64_t)(page_size - 1);
  size_t from = end_page <= (uint64_t)entry->file_offset ? 0 : (size_t)(end_page - (uint64_t)entry->file_offset);
  /* Pages from lost_from on were replaced by an earlier fault and hold what this process wrote since: keep them. */
  size_t to = __atomic_load_n(&entry->lost_from, __ATOMIC_ACQUIRE);
  void *replaced =
      mmap((void *)(start + from), to - from, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (replaced == MAP_FAILED) return FAULT_FOREIGN; /* e.g. vm.max_map_count reached: crash as without memmap */
  __atomic_store_n(&entry->lost_from, from, __ATOMIC_RELEASE);
  __atomic_add_fetch(&entry->faults, 1, __ATOMIC_ACQ_REL);
  return FAULT_REPAIRED;
}

static void on_sigbus(int signal_number, siginfo_t *info, void *context);
static signal_chain sigbus_chain = {.signal_number = SIGBUS, .handler = on_sigbus};

static void on_sigbus(int signal_number, siginfo_t *info, void *context) {
  (void)signal_number;
  int saved_errno = errno;
  __atomic_add_fetch(&handlers_running, 1, __ATOMIC_ACQ_REL);
  fault_outcome outcome = FAULT_FOREIGN;
  if (info->si_code == BUS_ADRERR) {
    memmap_registry_entry *entry = memmap_registry_find((uintptr_t)info->si_addr);
    if (entry != NULL) {
      memmap_registry_lock(entry);
      outcome = repair((uintptr_t)info->si_addr, entry);
      memmap_registry_unlock(entry);
    }
    if (outcome == FAULT_REPAIRED) bump_epochs();
  }
  __atomic_sub_fetch(&handlers_running, 1, __ATOMIC_ACQ_REL);
  errno = saved_errno;
  if (outcome == FAULT_FOREIGN) pass_on(&sigbus_chain, info, context);
}

bool memmap_sigbus_ensure(void) {
  return install_in_front(&sigbus_chain);
}

/* ---- SIGSEGV: writes into read-only System V attachments ------------------------------------------------------ */

#define READONLY_SLOTS 256
static struct {
  uintptr_t address; /* 0: free; 1: being filled */
  size_t length;     /* page-rounded */
} readonly_slots[READONLY_SLOTS];

/* Held by the one thread copying a read-only page (see mapping_registry.c for why a spin flag is safe here). */
static int readonly_busy;

/* Replaces the page holding `address` in a registered read-only attachment with a private writable copy. True when
   the write can run again: the page was copied now, or another thread copied it meanwhile. */
static bool repair_readonly(uintptr_t address) {
  for (int i = 0; i < READONLY_SLOTS; i++) {
    uintptr_t start = __atomic_load_n(&readonly_slots[i].address, __ATOMIC_ACQUIRE);
    if (start <= 1 || address < start || address - start >= readonly_slots[i].length) continue;
    uintptr_t page = address & ~(page_size - 1);
    while (__atomic_exchange_n(&readonly_busy, 1, __ATOMIC_ACQUIRE) != 0) sched_yield();
    /* Unregistered meanwhile (memmap_readonly_remove clears under the same flag): the range is no longer ours to
       copy into. Run the write again; if it faults again, nothing claims it and it is passed on. */
    if (__atomic_load_n(&readonly_slots[i].address, __ATOMIC_ACQUIRE) != start) {
      __atomic_store_n(&readonly_busy, 0, __ATOMIC_RELEASE);
      return true;
    }
    bool repaired = true;
    /* Another thread faulted on this page at the same time and copied it first: the page is writable now, and
       copying it again could drop what that thread wrote between our copy and our replacement. */
    if (madvise((void *)page, page_size, MADV_POPULATE_WRITE) != 0) {
      void *copy = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      /* In bounds: page lies inside [start, start + length), and the attachment maps whole pages. */
      if (copy == MAP_FAILED) {
        repaired = false;
      } else {
        memcpy(copy, (void *)page, page_size);
        if (mremap(copy, page_size, page_size, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)page) == MAP_FAILED) {
          munmap(copy, page_size);
          repaired = false;
        }
      }
    }
    __atomic_store_n(&readonly_busy, 0, __ATOMIC_RELEASE);
    return repaired;
  }
  return false;
}

static void on_sigsegv(int signal_number, siginfo_t *info, void *context);
/* SA_NODEFER: the handlers we pass faults on to (V8's WebAssembly trap handler) were installed expecting SIGSEGV
   not to be blocked while they run. */
static signal_chain sigsegv_chain = {.signal_number = SIGSEGV, .handler = on_sigsegv, .extra_flags = SA_NODEFER};

static void on_sigsegv(int signal_number, siginfo_t *info, void *context) {
  (void)signal_number;
  int saved_errno = errno;
  bool repaired = info->si_code == SEGV_ACCERR && repair_readonly((uintptr_t)info->si_addr);
  /* A write into a read-only attachment that was retired (sysv.c) between the fault and this handler: the slot is
     gone and the page is now writable anonymous memory, so the write can simply run again. Any other write fault
     (a page that really is read-only or PROT_NONE) fails this probe and is passed on as before. */
  if (!repaired && info->si_code == SEGV_ACCERR)
    repaired = madvise((void *)((uintptr_t)info->si_addr & ~(page_size - 1)), page_size, MADV_POPULATE_WRITE) == 0;
  errno = saved_errno;
  if (!repaired) pass_on(&sigsegv_chain, info, context);
}

bool memmap_sigsegv_ensure(void) {
  return install_in_front(&sigsegv_chain);
}

bool memmap_readonly_add(void *address, size_t length) {
  for (int i = 0; i < READONLY_SLOTS; i++) {
    uintptr_t expected = 0;
    /* Claim with a sentinel, fill, then publish: the handler never reads a length that is not this address's. */
    if (__atomic_compare_exchange_n(&readonly_slots[i].address, &expected, (uintptr_t)1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
      readonly_slots[i].length = length;
      __atomic_store_n(&readonly_slots[i].address, (uintptr_t)address, __ATOMIC_RELEASE);
      return true;
    }
  }
  return false;
}

void memmap_readonly_remove(void *address) {
  /* Under the copying flag: once this returns, no handler is copying a page into the range or will start to. */
  while (__atomic_exchange_n(&readonly_busy, 1, __ATOMIC_ACQUIRE) != 0) sched_yield();
  for (int i = 0; i < READONLY_SLOTS; i++) {
    uintptr_t expected = (uintptr_t)address;
    if (__atomic_compare_exchange_n(&readonly_slots[i].address, &expected, 0, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
      break;
  }
  __atomic_store_n(&readonly_busy, 0, __ATOMIC_RELEASE);
}

/* ---- JavaScript side ------------------------------------------------------------------------------------------ */

/* sigbusHandler() -> true while memmap's handler is the process's SIGBUS disposition (diagnostics and tests). */
static napi_value js_sigbus_handler(napi_env env, napi_callback_info info) {
  (void)info;
  struct sigaction current;
  napi_value result;
  bool ours = sigaction(SIGBUS, NULL, &current) == 0 && is_ours(&sigbus_chain, &current);
  NAPI_CALL(env, napi_get_boolean(env, ours, &result));
  return result;
}

typedef struct {
  size_t slot;
  napi_ref keep_alive;
  napi_env env;
} epoch_registration;

/* Environment teardown: stop the handler from writing into the word, then let V8 free it. */
static void release_epoch(void *data) {
  epoch_registration *registration = data;
  __atomic_store_n(&epoch_words[registration->slot], NULL, __ATOMIC_RELEASE);
  while (__atomic_load_n(&handlers_running, __ATOMIC_ACQUIRE) > 0) sched_yield();
  napi_delete_reference(registration->env, registration->keep_alive);
  free(registration);
}

/* faultEpoch() -> ArrayBuffer of two uint32: [0] counts repairs anywhere in the process (from now on), [1] is 1
   when no slot was free (then [0] never moves and the caller must ask native.faults every time). Call once per
   environment. */
static napi_value js_fault_epoch(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arraybuffer;
  void *data;
  NAPI_CALL(env, napi_create_arraybuffer(env, 2 * sizeof(uint32_t), &data, &arraybuffer));
  uint32_t *words = data;
  words[0] = 0;
  words[1] = 1;
  epoch_registration *registration = malloc(sizeof *registration);
  if (registration == NULL) return arraybuffer;
  registration->env = env;
  for (size_t i = 0; i < MEMMAP_EPOCH_SLOTS; i++) {
    uint32_t *expected = NULL;
    if (__atomic_compare_exchange_n(&epoch_words[i], &expected, &words[0], false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      registration->slot = i;
      if (napi_create_reference(env, arraybuffer, 1, &registration->keep_alive) != napi_ok ||
          napi_add_env_cleanup_hook(env, release_epoch, registration) != napi_ok) {
        __atomic_store_n(&epoch_words[i], NULL, __ATOMIC_RELEASE);
        break;
      }
      words[1] = 0;
      return arraybuffer;
    }
  }
  free(registration);
  return arraybuffer;
}

bool memmap_init_signals(napi_env env, napi_value exports) {
  return memmap_sigbus_ensure() && memmap_export(env, exports, "sigbusHandler", js_sigbus_handler) &&
         memmap_export(env, exports, "faultEpoch", js_fault_epoch);
}
