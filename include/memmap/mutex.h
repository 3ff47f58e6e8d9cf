/*
 * memmap/mutex.h: the memmap Mutex for C programs, header-only. A C process and Node processes (memmap's `Mutex`,
 * src/shared/mutex.ts) that map the same bytes (a file mapped MAP_SHARED, or a System V segment) take the same
 * lock: this header speaks the same protocol, word for word. Linux only (futex(2), gettid(2)).
 *
 * The word: 4 bytes, 4-byte aligned; all zero bytes are an unlocked mutex.
 *   bits 0-29  the owner's thread id (gettid; the process id for a main thread), 0 when unlocked
 *   bit 30     OWNER_DIED: never written by memmap; the kernel writes it for a robust futex whose owner died
 *   bit 31     WAITERS: some thread may be asleep in futex(FUTEX_WAIT) on the word
 * A word whose owner bits are 0 is unlocked whatever its flag bits (it is taken from exactly that word, keeping
 * WAITERS; with OWNER_DIED set the caller is told EOWNERDEAD).
 *
 * lock: compare-exchange 0 -> tid. Contended: set WAITERS and futex-wait (shared, not FUTEX_PRIVATE_FLAG) on the
 * word, in slices of at most 100 ms; a thread that has waited takes the lock as tid | WAITERS. After a slice that
 * timed out, the waiter checks the owner: gone (kill(tid, 0) fails with ESRCH) or a zombie (/proc/<tid>/stat state
 * Z or X) is dead, and one compare-exchange from the dead owner's exact word takes the lock over (EOWNERDEAD: the
 * data the lock protects may be half-updated). unlock: compare-exchange tid -> 0, else exchange to 0 and, if
 * WAITERS was set, futex-wake one waiter.
 *
 * Return values follow pthread_mutex_*: 0 acquired; EOWNERDEAD acquired from a dead owner (the lock is held);
 * EBUSY (trylock) held by a live thread; ETIMEDOUT; EDEADLK the calling thread already holds it (not recursive);
 * EPERM (unlock) the calling thread does not hold it; or another errno from futex(2).
 *
 * Limits (as for Node): all processes share one PID namespace; a dead owner whose thread id was already reused
 * by a new thread is taken for alive; not a fair lock. Compile with GNU or POSIX extensions (gcc/clang default, or
 * -std=gnu11, or define _GNU_SOURCE before any include) for syscall(2) and kill(2).
 *
 *   memmap_mutex *mutex = (memmap_mutex *)((char *)base + offset);
 *   int rc = memmap_mutex_lock(mutex);               // or memmap_mutex_timedlock(mutex, 1000)
 *   if (rc == 0 || rc == EOWNERDEAD) { ...; memmap_mutex_unlock(mutex); }
 */
#ifndef MEMMAP_MUTEX_H
#define MEMMAP_MUTEX_H

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/** The Mutex: one 32-bit word in shared memory (4 bytes, 4-byte aligned; zero bytes = unlocked). */
typedef struct {
  uint32_t word;
} memmap_mutex;

#define MEMMAP_MUTEX_OWNER_MASK 0x3fffffffu
#define MEMMAP_MUTEX_OWNER_DIED 0x40000000u
#define MEMMAP_MUTEX_WAITERS 0x80000000u
/** How long a waiter sleeps before it checks whether the owner is still alive (ms), as in src/shared/mutex.ts. */
#define MEMMAP_MUTEX_LIVENESS_SLICE_MS 100
/** Compare-exchanges one attempt makes on a free word with flag bits before it waits, as in src/shared/mutex.ts. */
#define MEMMAP_MUTEX_FREE_WORD_RETRIES 16

/** The calling thread's id: the owner value it writes. */
static inline uint32_t memmap_mutex_self_(void) {
  return (uint32_t)syscall(SYS_gettid);
}

static inline uint32_t memmap_mutex_cas_(memmap_mutex *mutex, uint32_t expected, uint32_t desired) {
  __atomic_compare_exchange_n(&mutex->word, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return expected; /* the value before: equal to the expected one on success */
}

/** The owner's thread id, or 0 when unlocked. */
static inline pid_t memmap_mutex_owner(const memmap_mutex *mutex) {
  return (pid_t)(__atomic_load_n(&mutex->word, __ATOMIC_SEQ_CST) & MEMMAP_MUTEX_OWNER_MASK);
}

/** 1 unless the thread `tid` is gone (ESRCH) or a zombie. */
static inline int memmap_mutex_thread_alive_(uint32_t tid) {
  char path[64], stat[512];
  if (tid == 0 || tid > MEMMAP_MUTEX_OWNER_MASK) return 0;
  if (kill((pid_t)tid, 0) != 0 && errno == ESRCH) return 0;
  snprintf(path, sizeof path, "/proc/%u/stat", tid);
  FILE *file = fopen(path, "r");
  if (file == NULL) return 0;
  size_t length = fread(stat, 1, sizeof stat - 1, file);
  fclose(file);
  stat[length] = '\0';
  /* "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'. */
  const char *close = strrchr(stat, ')');
  if (close == NULL || close[1] == '\0') return 1;
  return close[2] != 'Z' && close[2] != 'X';
}

/*
 * One attempt: 0 acquired, EOWNERDEAD (a free word the kernel marked OWNER_DIED), or EBUSY with *seen set to the
 * word (non-zero).
 */
static inline int memmap_mutex_attempt_(memmap_mutex *mutex, uint32_t self, uint32_t base, uint32_t *seen) {
  uint32_t value = memmap_mutex_cas_(mutex, 0, self | base);
  for (int retry = 0; value != 0 && (value & MEMMAP_MUTEX_OWNER_MASK) == 0 && retry < MEMMAP_MUTEX_FREE_WORD_RETRIES;
       retry++) {
    /* No owner, only flag bits: the lock is free. Keep WAITERS (someone may sleep on the word), drop OWNER_DIED. */
    uint32_t before = memmap_mutex_cas_(mutex, value, self | base | (value & MEMMAP_MUTEX_WAITERS));
    if (before == value) return (value & MEMMAP_MUTEX_OWNER_DIED) ? EOWNERDEAD : 0;
    value = before == 0 ? memmap_mutex_cas_(mutex, 0, self | base) : before;
  }
  *seen = value;
  return value == 0 ? 0 : EBUSY;
}

/** Takes over from a dead owner if the word still holds `seen`: EOWNERDEAD, or EBUSY. */
static inline int memmap_mutex_recover_(memmap_mutex *mutex, uint32_t self, uint32_t seen) {
  uint32_t owner = seen & MEMMAP_MUTEX_OWNER_MASK;
  if (owner == 0 || owner == self || memmap_mutex_thread_alive_(owner)) return EBUSY;
  return memmap_mutex_cas_(mutex, seen, self | MEMMAP_MUTEX_WAITERS) == seen ? EOWNERDEAD : EBUSY;
}

/** Takes the lock if it is free (or its owner is dead) now: 0, EOWNERDEAD, or EBUSY. Never blocks. */
static inline int memmap_mutex_trylock(memmap_mutex *mutex) {
  uint32_t self = memmap_mutex_self_(), seen;
  int rc = memmap_mutex_attempt_(mutex, self, 0, &seen);
  return rc != EBUSY ? rc : memmap_mutex_recover_(mutex, self, seen);
}

static inline int64_t memmap_mutex_now_ns_(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/**
 * Takes the lock, waiting at most `timeout_ms` milliseconds (< 0: for ever): 0, EOWNERDEAD (within 100 ms of the
 * owner's death), ETIMEDOUT, EDEADLK (this thread holds it), or an errno of futex(2).
 */
static inline int memmap_mutex_timedlock(memmap_mutex *mutex, int64_t timeout_ms) {
  uint32_t self = memmap_mutex_self_(), seen;
  if (memmap_mutex_cas_(mutex, 0, self) == 0) return 0;
  seen = __atomic_load_n(&mutex->word, __ATOMIC_SEQ_CST);
  if ((seen & MEMMAP_MUTEX_OWNER_MASK) == self) return EDEADLK;
  /* Past 2^40 ms (about 35 years) a timeout is none, as in Node: its nanoseconds would overflow. */
  int64_t deadline =
      timeout_ms < 0 || timeout_ms > ((int64_t)1 << 40) ? INT64_MAX : memmap_mutex_now_ns_() + timeout_ms * 1000000;
  for (;;) {
    int rc = memmap_mutex_attempt_(mutex, self, MEMMAP_MUTEX_WAITERS, &seen);
    if (rc != EBUSY) return rc;
    int64_t now = memmap_mutex_now_ns_();
    if (now >= deadline) return ETIMEDOUT;
    uint32_t expected = seen | MEMMAP_MUTEX_WAITERS;
    if (seen != expected && memmap_mutex_cas_(mutex, seen, expected) != seen) continue; /* changed: try again */
    int64_t slice = (int64_t)MEMMAP_MUTEX_LIVENESS_SLICE_MS * 1000000;
    int64_t until = deadline - now < slice ? deadline : now + slice;
    struct timespec absolute = {.tv_sec = (time_t)(until / 1000000000), .tv_nsec = (long)(until % 1000000000)};
    long result =
        syscall(SYS_futex, &mutex->word, FUTEX_WAIT_BITSET, expected, &absolute, NULL, FUTEX_BITSET_MATCH_ANY);
    if (result == 0 || errno == EAGAIN || errno == EINTR) continue;
    if (errno != ETIMEDOUT) return errno;
    /* A slice without a wake-up: is the owner still alive? */
    rc = memmap_mutex_recover_(mutex, self, __atomic_load_n(&mutex->word, __ATOMIC_SEQ_CST));
    if (rc != EBUSY) return rc;
  }
}

/** Takes the lock, waiting for ever: 0, EOWNERDEAD, EDEADLK, or an errno of futex(2). */
static inline int memmap_mutex_lock(memmap_mutex *mutex) {
  return memmap_mutex_timedlock(mutex, -1);
}

/** Releases the lock and wakes one waiter (in any process): 0, or EPERM unless this thread holds it. */
static inline int memmap_mutex_unlock(memmap_mutex *mutex) {
  uint32_t self = memmap_mutex_self_();
  if (memmap_mutex_cas_(mutex, self, 0) == self) return 0;
  uint32_t seen = __atomic_load_n(&mutex->word, __ATOMIC_SEQ_CST);
  if ((seen & MEMMAP_MUTEX_OWNER_MASK) != self) return EPERM;
  if (__atomic_exchange_n(&mutex->word, 0, __ATOMIC_SEQ_CST) & MEMMAP_MUTEX_WAITERS) {
    if (syscall(SYS_futex, &mutex->word, FUTEX_WAKE, 1, NULL, NULL, 0) < 0) return errno;
  }
  return 0;
}

#endif
