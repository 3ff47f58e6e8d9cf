/*
 * The commit word of a version 2 record file (docs/format.md, "Commit word"): the writer's advance and a reader's
 * wait, for Linux (futex(2)). The functions are the ones docs/format.md shows; test/records/follow-c.test.ts checks
 * that the two stay the same.
 */
#ifndef FOLLOW_COMMIT_H
#define FOLLOW_COMMIT_H
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* header: a MAP_SHARED, PROT_READ | PROT_WRITE mapping of the file's first header_size bytes */
static inline uint32_t *commit_word(char *header, uint32_t header_size) {
  return (uint32_t *)(header + header_size - 8);
}

/* The writer, after storing a new count (truncated: the store lowered it). */
static inline void commit_advance(uint32_t *commit, int truncated) {
  if (truncated) __atomic_fetch_add(commit + 1, 1, __ATOMIC_SEQ_CST);
  uint32_t sequence = __atomic_load_n(commit, __ATOMIC_SEQ_CST) & 0x7fffffffu;
  uint32_t old = __atomic_exchange_n(commit, (sequence + 1) & 0x7fffffffu, __ATOMIC_SEQ_CST);
  if (old & 0x80000000u) syscall(SYS_futex, commit, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* A reader: waits until count >= wanted, or about timeout_ms; returns the count it read. */
static inline uint64_t commit_wait(uint32_t *commit, uint64_t *count, uint64_t wanted, long timeout_ms) {
  for (;;) {
    uint32_t seen = __atomic_load_n(commit, __ATOMIC_SEQ_CST);
    uint64_t n = __atomic_load_n(count, __ATOMIC_SEQ_CST);
    if (n >= wanted || timeout_ms <= 0) return n;
    if (!(seen & 0x80000000u)) {
      uint32_t expected = seen;
      if (!__atomic_compare_exchange_n(commit, &expected, seen | 0x80000000u, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        continue;
      seen |= 0x80000000u;
    }
    struct timespec slice = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
    syscall(SYS_futex, commit, FUTEX_WAIT, seen, &slice, NULL, 0);
    timeout_ms = 0; /* one bounded sleep per call: the caller loops, re-checking what it needs */
  }
}

#endif
