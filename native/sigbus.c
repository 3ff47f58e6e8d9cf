/*
 * SIGBUS from a truncated file (or a full filesystem) becomes an error instead of a crash.
 *
 * When another program shrinks a file we have mapped, the kernel removes the pages past the new end from every
 * mapping of it, and the next access to one of them raises SIGBUS (si_code BUS_ADRERR). This handler looks the
 * faulting address up in the registry of live mappings (mapping_registry.h). If it lies in one of ours, and the
 * file really ends before the faulting page, the handler replaces the mapping's pages from the first page past the
 * file's new end (mmap MAP_FIXED of zero-filled private anonymous memory over exactly those pages), counts the
 * fault in the mapping's slot and returns: the faulting instruction runs again and succeeds. The TypeScript layer
 * reads the count (native.faults) and turns it into ERR_MAPPING_TRUNCATED at the next flush or resize, so the
 * writes made into the replaced pages are reported as lost rather than silently dropped.
 *
 * The same BUS_ADRERR also comes from a page the file does cover but the kernel cannot provide: a hole of a sparse
 * file whose filesystem (or tmpfs, /dev/shm) is full, a quota, an I/O error reading the page. Then only the faulting
 * page is replaced and counted apart (io_faults; ERR_MAPPING_FAULTED in TypeScript). memmap reserves the blocks of
 * files it creates or grows, so this happens only with `sparse: true` or with files others made sparse.
 *
 * Everything else goes on to the handler installed before ours, or to the default action (the process dies with
 * SIGBUS, as it would without memmap): a fault outside our mappings, in an anonymous mapping, a hardware memory
 * error (BUS_MCEERR_*), a file descriptor that no longer names the mapped file, a SIGBUS sent with kill(2).
 *
 * Async-signal-safe: no malloc, no locks, no stdio; only atomics, fstat(2) and mmap(2) (plain system calls), and
 * errno is restored. The handler uses a few hundred bytes of stack; SA_ONSTACK makes it run on the thread's
 * alternate signal stack when the thread has one, otherwise on the faulting thread's own stack (a SIGBUS from a
 * mapping is never a stack overflow, so that stack has room). SIGSEGV is left alone: V8 uses it for WebAssembly
 * bounds checks, and no mapping of the safe API can raise it (none is made without PROT_WRITE).
 *
 * One handler per process: signal dispositions are process-wide, so the first module instance (main thread or a
 * worker) installs it and every thread's mappings are in the same registry. Something else may take SIGBUS later
 * (libuv does when a program calls process.on('SIGBUS'), and resets it to SIG_DFL when the last listener goes):
 * every new mapping checks the disposition and, if it is no longer ours, installs ours again in front of the new
 * one (memmap_sigbus_ensure), so the mapping about to be handed out is protected.
 */
#include "common.h"
#include "mapping_registry.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The disposition ours replaced. Two copies so that a re-install (memmap_sigbus_ensure) never rewrites the one a
   running handler may be reading: it fills the other and then flips `current_previous`. */
static struct sigaction previous[2];
static int current_previous;
static int installing; /* a flag: one thread (re)installs at a time */
static uintptr_t page_size;

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

/* Replaces the faulting page, or for a truncation every page of `entry` past the file's new end. Returns false
   (nothing changed) when the fault is not one of the two kinds repaired (see the top of this file). */
static bool repair(uintptr_t address, memmap_registry_entry *entry) {
  uintptr_t start = __atomic_load_n(&entry->address, __ATOMIC_ACQUIRE);
  size_t length = entry->length;
  int fd = entry->fd;
  if (start <= 1 || address < start || address - start >= length || fd < 0) return false;

  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_dev != entry->dev || st.st_ino != entry->ino) return false;

  uintptr_t fault_page = address & ~(page_size - 1);
  /* In bounds: fault_page >= start because start is page-aligned and address >= start. */
  uint64_t fault_file_offset = (uint64_t)entry->file_offset + (fault_page - start);
  if (st.st_size < 0) return false;
  if (fault_file_offset < (uint64_t)st.st_size) {
    /* The file covers the page, yet the kernel could not provide it: no block or memory for it (a sparse file on a
       full filesystem or tmpfs, a quota) or an I/O error reading it. Only this page is replaced. */
    if (fault_page - start >= __atomic_load_n(&entry->lost_from, __ATOMIC_ACQUIRE)) return false; /* cannot be */
    if (mmap((void *)fault_page, page_size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
             0) == MAP_FAILED)
      return false;
    __atomic_add_fetch(&entry->io_faults, 1, __ATOMIC_ACQ_REL);
    return true;
  }

  /* The first page wholly past the file's end, as an offset into the mapping (0 when the file now ends before the
     mapping starts). It is <= the fault page: the fault page is itself wholly past the end. */
  uint64_t end_page = ((uint64_t)st.st_size + page_size - 1) & ~(uint64_t)(page_size - 1);
  size_t from = end_page <= (uint64_t)entry->file_offset ? 0 : (size_t)(end_page - (uint64_t)entry->file_offset);
  /* Pages from lost_from on were replaced by an earlier fault and hold what this process wrote since: keep them. */
  size_t to = __atomic_load_n(&entry->lost_from, __ATOMIC_ACQUIRE);
  if (from >= to) return false; /* cannot happen: the fault page lies in [from, to) */

  void *replaced = mmap((void *)(start + from), to - from, PROT_READ | PROT_WRITE,
                        MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (replaced == MAP_FAILED) return false; /* e.g. vm.max_map_count reached: crash as without memmap */

  size_t seen = to;
  while (from < seen &&
         !__atomic_compare_exchange_n(&entry->lost_from, &seen, from, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
  }
  __atomic_add_fetch(&entry->faults, 1, __ATOMIC_ACQ_REL);
  return true;
}

/* Hands the signal to whoever had it before us, or lets the default action (terminate with SIGBUS) happen. */
static void chain(int signal_number, siginfo_t *info, void *context) {
  const struct sigaction *before = &previous[__atomic_load_n(&current_previous, __ATOMIC_ACQUIRE)];
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
  struct sigaction fallback;
  memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  sigaction(SIGBUS, &fallback, NULL);
  /* A fault re-executes the instruction on return and dies of the default action; a sent signal is raised again
     (it stays pending while this handler runs, then kills). */
  if (sent) raise(SIGBUS);
}

static void on_sigbus(int signal_number, siginfo_t *info, void *context) {
  int saved_errno = errno;
  __atomic_add_fetch(&handlers_running, 1, __ATOMIC_ACQ_REL);
  bool repaired = false;
  if (info->si_code == BUS_ADRERR) {
    memmap_registry_entry *entry = memmap_registry_find((uintptr_t)info->si_addr);
    repaired = entry != NULL && repair((uintptr_t)info->si_addr, entry);
    if (repaired) bump_epochs();
  }
  __atomic_sub_fetch(&handlers_running, 1, __ATOMIC_ACQ_REL);
  errno = saved_errno;
  if (!repaired) chain(signal_number, info, context);
}

static bool is_ours(const struct sigaction *action) {
  return (action->sa_flags & SA_SIGINFO) && action->sa_sigaction == on_sigbus;
}

bool memmap_sigbus_ensure(void) {
  struct sigaction current;
  if (sigaction(SIGBUS, NULL, &current) == 0 && is_ours(&current)) return true;
  int expected = 0;
  if (!__atomic_compare_exchange_n(&installing, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return true; /* another thread is installing it right now */
  if (page_size == 0) page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&action.sa_mask);
  int spare = 1 - __atomic_load_n(&current_previous, __ATOMIC_ACQUIRE);
  bool ok = sigaction(SIGBUS, &action, &previous[spare]) == 0;
  /* If ours was put back in between (another thread), keep chaining to what was before it, not to ourselves. */
  if (ok && !is_ours(&previous[spare])) __atomic_store_n(&current_previous, spare, __ATOMIC_RELEASE);
  __atomic_store_n(&installing, 0, __ATOMIC_RELEASE);
  return ok;
}

/* sigbusHandler() -> true while memmap's handler is the process's SIGBUS disposition (diagnostics and tests). */
static napi_value js_sigbus_handler(napi_env env, napi_callback_info info) {
  (void)info;
  struct sigaction current;
  napi_value result;
  bool ours = sigaction(SIGBUS, NULL, &current) == 0 && is_ours(&current);
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
    if (__atomic_compare_exchange_n(&epoch_words[i], &expected, &words[0], false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
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

bool memmap_init_sigbus(napi_env env, napi_value exports) {
  return memmap_sigbus_ensure() && memmap_export(env, exports, "sigbusHandler", js_sigbus_handler) &&
         memmap_export(env, exports, "faultEpoch", js_fault_epoch);
}
