/*
 * memmap/channel.h: a header-only C peer of memmap's Channel (src/shared/channel.ts), Linux only.
 *
 * It speaks the protocol of docs/channel.md, format version 1: a C process can send to and receive from Node
 * processes (or other C processes) through a channel file that `Channel.open(path, { create: true })` made.
 * C11 atomics (sequentially consistent, as JavaScript's Atomics) on the shared words; futex(2) without
 * FUTEX_PRIVATE_FLAG to sleep, so waiters and wakers in different processes meet.
 *
 *   mm_channel ch;
 *   if (mm_channel_open(&ch, "/dev/shm/jobs") != 0) ...;     // 0, or a negative errno (-EPROTO: not a channel)
 *   mm_channel_send(&ch, "hello", 5, -1);                      // 0, -EMSGSIZE, -ETIMEDOUT
 *   char buf[4096]; long n = mm_channel_receive(&ch, buf, sizeof buf, 1000);   // length, or -ETIMEDOUT
 *   mm_channel_close(&ch);
 *
 * Timeouts are milliseconds; -1 waits for ever, 0 never waits. Thread ids mark owned frames, so (as in Node)
 * all peers must share one PID namespace. Define MM_CHANNEL_STALL_HOOK to honour MEMMAP_CHANNEL_TEST_STALL.
 */
#ifndef MEMMAP_CHANNEL_H
#define MEMMAP_CHANNEL_H

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MM_CHANNEL_MAGIC 0x48434d4du /* "MMCH" */
#define MM_CHANNEL_VERSION 1u
#define MM_CHANNEL_HEADER 512u
#define MM_CHANNEL_FRAME_HEADER 8u
#define MM_CHANNEL_MIN_CAPACITY 64u
#define MM_CHANNEL_MAX_CAPACITY (1u << 30)

/* Byte offsets of the header's words. */
#define MM_CH_OFF_MAGIC 0
#define MM_CH_OFF_VERSION 4
#define MM_CH_OFF_CAPACITY 8
#define MM_CH_OFF_HEADER_SIZE 12
#define MM_CH_OFF_MAX_MESSAGE 16
#define MM_CH_OFF_FLAGS 20
#define MM_CH_OFF_WRITE 64
#define MM_CH_OFF_READ 128
#define MM_CH_OFF_RELEASED 192
#define MM_CH_OFF_NOT_EMPTY 256
#define MM_CH_OFF_NOT_EMPTY_WAITERS 260
#define MM_CH_OFF_NOT_FULL 320
#define MM_CH_OFF_NOT_FULL_WAITERS 324

/* Frame states. */
#define MM_CH_FREE 0u
#define MM_CH_KIND_MASK 0xc0000000u
#define MM_CH_TID_MASK 0x3fffffffu
#define MM_CH_CLAIMED 0x40000000u
#define MM_CH_WRITING 0x80000000u
#define MM_CH_READING 0xc0000000u
#define MM_CH_COMMITTED 1u
#define MM_CH_CONSUMED 2u
#define MM_CH_PADDING 3u
#define MM_CH_ABANDONED 4u

#define MM_CH_SLICE_MS 50
#define MM_CH_SPINS 2000

typedef struct mm_channel {
  uint8_t *base;        /* the mapping: header, then the ring */
  size_t size;          /* MM_CHANNEL_HEADER + capacity */
  uint32_t capacity;    /* bytes in the ring, a power of two */
  uint32_t mask;        /* capacity - 1 */
  uint32_t max_message; /* capacity - 16 */
  uint32_t tid;         /* this thread's id: the owner written in CLAIMED/WRITING/READING */
} mm_channel;

typedef _Atomic uint32_t mm_ch_word;

/*
 * Memory orders: the state word is read with acquire and published with release (a payload and a length written
 * before the release store are seen by whoever acquires the state); the two Dekker pairs (commit / not-empty
 * waiters, release / not-full waiters) and every read-modify-write are sequentially consistent, as in JavaScript,
 * whose Atomics are all sequentially consistent: mixing the two is sound because each pair is SC on both sides.
 */
#define MM_CH_LOAD(p) atomic_load_explicit((p), memory_order_acquire)
#define MM_CH_STORE(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define MM_CH_RELAXED_STORE(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)

static inline mm_ch_word *mm_ch_word_at(const mm_channel *ch, uint32_t byte_offset) {
  return (mm_ch_word *)(void *)(ch->base + byte_offset);
}
/* The state word of the frame at `position` (its place in the ring: position & mask; frames are 8-aligned). */
static inline mm_ch_word *mm_ch_state(const mm_channel *ch, uint32_t position) {
  return mm_ch_word_at(ch, MM_CHANNEL_HEADER + (position & ch->mask));
}
static inline mm_ch_word *mm_ch_length(const mm_channel *ch, uint32_t position) {
  return mm_ch_word_at(ch, MM_CHANNEL_HEADER + (position & ch->mask) + 4);
}
static inline uint32_t mm_ch_frame_size(uint32_t length) {
  return MM_CHANNEL_FRAME_HEADER + ((length + 7u) & ~7u);
}

static inline void mm_ch_stall(const char *step) {
#ifdef MM_CHANNEL_STALL_HOOK
  const char *want = getenv("MEMMAP_CHANNEL_TEST_STALL");
  if (want && strcmp(want, step) == 0) {
    printf("stalled %s\n", step);
    fflush(stdout);
    for (;;) pause();
  }
#else
  (void)step;
#endif
}

static inline long mm_ch_futex_wait(mm_ch_word *word, uint32_t expected, int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  return syscall(SYS_futex, (void *)word, FUTEX_WAIT, expected, &ts, NULL, 0);
}
static inline void mm_ch_futex_wake(mm_ch_word *word) {
  syscall(SYS_futex, (void *)word, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

static inline int64_t mm_ch_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True unless the thread `tid` is gone or a zombie (the check Node's Mutex and Channel make). */
static inline int mm_ch_thread_alive(uint32_t tid) {
  if (kill((pid_t)tid, 0) != 0 && errno == ESRCH) return 0;
  char path[64], stat[512];
  snprintf(path, sizeof path, "/proc/%u/stat", tid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(stat, 1, sizeof stat - 1, f);
  fclose(f);
  stat[n] = 0;
  char *close_paren = strrchr(stat, ')');
  if (!close_paren || close_paren[1] == 0) return 1;
  return close_paren[2] != 'Z' && close_paren[2] != 'X';
}

/* Opens an existing channel: 0, or a negative errno (-EPROTO when the file is not a version-1 channel). */
static inline int mm_channel_open(mm_channel *ch, const char *path) {
  int fd = open(path, O_RDWR);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  if (st.st_size < (off_t)MM_CHANNEL_HEADER) {
    close(fd);
    return -EPROTO;
  }
  void *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int e = errno;
  close(fd);
  if (base == MAP_FAILED) return -e;
  ch->base = (uint8_t *)base;
  ch->size = (size_t)st.st_size;
  uint32_t capacity = atomic_load(mm_ch_word_at(ch, MM_CH_OFF_CAPACITY));
  if (atomic_load(mm_ch_word_at(ch, MM_CH_OFF_MAGIC)) != MM_CHANNEL_MAGIC ||
      atomic_load(mm_ch_word_at(ch, MM_CH_OFF_VERSION)) != MM_CHANNEL_VERSION ||
      atomic_load(mm_ch_word_at(ch, MM_CH_OFF_HEADER_SIZE)) != MM_CHANNEL_HEADER ||
      capacity < MM_CHANNEL_MIN_CAPACITY || capacity > MM_CHANNEL_MAX_CAPACITY || (capacity & (capacity - 1)) != 0 ||
      atomic_load(mm_ch_word_at(ch, MM_CH_OFF_MAX_MESSAGE)) != capacity - 16 ||
      atomic_load(mm_ch_word_at(ch, MM_CH_OFF_FLAGS)) != 0 || ch->size != (size_t)MM_CHANNEL_HEADER + capacity) {
    munmap(base, ch->size);
    return -EPROTO;
  }
  ch->capacity = capacity;
  ch->mask = capacity - 1;
  ch->max_message = capacity - 16;
  ch->tid = (uint32_t)syscall(SYS_gettid);
  return 0;
}

static inline void mm_channel_close(mm_channel *ch) {
  if (ch->base) munmap(ch->base, ch->size);
  ch->base = NULL;
}

/* Where a walk starts: the hint at `hint_offset` unless it is not within one ring after released. */
static inline uint32_t mm_ch_walk_start(const mm_channel *ch, uint32_t hint_offset) {
  uint32_t released = MM_CH_LOAD(mm_ch_word_at(ch, MM_CH_OFF_RELEASED));
  uint32_t start = MM_CH_LOAD(mm_ch_word_at(ch, hint_offset));
  return start - released <= ch->capacity ? start : released;
}
static inline int mm_ch_current(const mm_channel *ch, uint32_t position) {
  return position - MM_CH_LOAD(mm_ch_word_at(ch, MM_CH_OFF_RELEASED)) <= ch->capacity;
}
/* The size of the frame at `position`, or 0 if its length word breaks the protocol. */
static inline uint32_t mm_ch_frame_at(const mm_channel *ch, uint32_t position) {
  uint32_t length = MM_CH_LOAD(mm_ch_length(ch, position));
  if (length > ch->max_message + MM_CHANNEL_FRAME_HEADER) return 0;
  uint32_t size = mm_ch_frame_size(length);
  if ((position & ch->mask) + size > ch->capacity) return 0;
  return size;
}
static inline void mm_ch_advance(const mm_channel *ch, uint32_t hint_offset, uint32_t position) {
  mm_ch_word *hint = mm_ch_word_at(ch, hint_offset);
  uint32_t seen = MM_CH_LOAD(hint);
  while ((int32_t)(position - seen) > 0 && !atomic_compare_exchange_weak(hint, &seen, position)) {
  }
}
static inline void mm_ch_wake_if_waited(const mm_channel *ch, uint32_t seq_offset) {
  if (atomic_load(mm_ch_word_at(ch, seq_offset + 4)) != 0) {
    atomic_fetch_add(mm_ch_word_at(ch, seq_offset), 1);
    mm_ch_futex_wake(mm_ch_word_at(ch, seq_offset));
  }
}
/* Moves the released cursor over every done frame at its front; wakes producers waiting for room. */
static inline void mm_ch_release(const mm_channel *ch) {
  mm_ch_word *released_word = mm_ch_word_at(ch, MM_CH_OFF_RELEASED);
  int moved = 0;
  for (uint32_t steps = 0; steps <= ch->capacity / 8 + 2; steps++) {
    uint32_t released = MM_CH_LOAD(released_word);
    uint32_t state = MM_CH_LOAD(mm_ch_state(ch, released));
    if (state != MM_CH_CONSUMED && state != MM_CH_PADDING && state != MM_CH_ABANDONED) break;
    uint32_t size = mm_ch_frame_at(ch, released);
    if (size == 0) break;
    if (atomic_compare_exchange_strong(released_word, &released, released + size)) moved = 1;
  }
  if (moved) mm_ch_wake_if_waited(ch, MM_CH_OFF_NOT_FULL);
}
/* Repairs the frame at `position` if its state is still `seen` and its owner is dead (see docs/channel.md). */
static inline void mm_ch_repair(const mm_channel *ch, uint32_t position, uint32_t seen) {
  uint32_t kind = seen & MM_CH_KIND_MASK, owner = seen & MM_CH_TID_MASK;
  if (kind == 0 || owner == ch->tid || mm_ch_thread_alive(owner)) return;
  uint32_t repaired = kind == MM_CH_CLAIMED ? MM_CH_FREE : kind == MM_CH_WRITING ? MM_CH_ABANDONED : MM_CH_CONSUMED;
  if (!atomic_compare_exchange_strong(mm_ch_state(ch, position), &seen, repaired)) return;
  if (kind == MM_CH_WRITING) { /* the rest of the dead producer's batch: the frames that follow with the same word */
    uint32_t next = position + mm_ch_frame_at(ch, position);
    for (uint32_t steps = 0; steps <= ch->capacity / 8; steps++) {
      uint32_t expected = seen;
      if (!atomic_compare_exchange_strong(mm_ch_state(ch, next), &expected, MM_CH_ABANDONED)) break;
      uint32_t size = mm_ch_frame_at(ch, next);
      if (size == 0) break;
      next += size;
    }
  }
  mm_ch_release(ch);
  mm_ch_wake_if_waited(ch, MM_CH_OFF_NOT_EMPTY);
  mm_ch_wake_if_waited(ch, MM_CH_OFF_NOT_FULL);
}

#define MM_CH_FULL (-1L)
#define MM_CH_BLOCKED (-2L)
#define MM_CH_CORRUPT (-3L)
#define MM_CH_TOO_BIG (-4L)

/* One attempt to claim `bytes` at the tail: the position (CLAIMED by this thread), or MM_CH_FULL/BLOCKED/CORRUPT. */
static inline int64_t mm_ch_try_claim(mm_channel *ch, uint32_t bytes, uint32_t *stuck_at, uint32_t *stuck_word) {
  uint32_t position = mm_ch_walk_start(ch, MM_CH_OFF_WRITE);
  for (uint32_t steps = 0; steps <= ch->capacity / 8 + 2; steps++) {
    uint32_t offset = position & ch->mask;
    mm_ch_word *state = mm_ch_state(ch, position);
    uint32_t word = MM_CH_LOAD(state);
    uint32_t released = MM_CH_LOAD(mm_ch_word_at(ch, MM_CH_OFF_RELEASED));
    uint32_t used = position - released;
    if (used > ch->capacity) {
      position = mm_ch_walk_start(ch, MM_CH_OFF_WRITE);
      continue;
    }
    if (word == MM_CH_FREE) {
      uint32_t pad = offset + bytes > ch->capacity ? ch->capacity - offset : 0;
      if ((pad == 0 ? bytes : pad) + MM_CHANNEL_FRAME_HEADER > ch->capacity - used) return MM_CH_FULL;
      uint32_t expected = MM_CH_FREE;
      if (!atomic_compare_exchange_strong(state, &expected, MM_CH_CLAIMED | ch->tid)) continue;
      if (!mm_ch_current(ch, position)) { /* the same word one lap later (ABA): give it back */
        atomic_store(state, MM_CH_FREE);
        position = mm_ch_walk_start(ch, MM_CH_OFF_WRITE);
        continue;
      }
      if (pad == 0) return position;
      MM_CH_RELAXED_STORE(mm_ch_word_at(ch, MM_CHANNEL_HEADER), MM_CH_FREE);
      MM_CH_RELAXED_STORE(mm_ch_length(ch, position), pad - MM_CHANNEL_FRAME_HEADER);
      MM_CH_STORE(state, MM_CH_PADDING);
      position += pad;
      mm_ch_advance(ch, MM_CH_OFF_WRITE, position);
      mm_ch_release(ch);
      continue;
    }
    if ((word & MM_CH_KIND_MASK) == MM_CH_CLAIMED) {
      *stuck_at = position;
      *stuck_word = word;
      return MM_CH_BLOCKED;
    }
    uint32_t size = mm_ch_frame_at(ch, position);
    if (!mm_ch_current(ch, position)) {
      position = mm_ch_walk_start(ch, MM_CH_OFF_WRITE);
      continue;
    }
    if (size == 0) return MM_CH_CORRUPT;
    position += size;
  }
  return MM_CH_CORRUPT;
}

/*
 * One attempt to take the next committed frame: its position (READING by this thread), or FULL (empty), BLOCKED,
 * CORRUPT, or TOO_BIG (the first committed message is longer than `room`; it is not taken). With `peek`, only
 * says whether a committed frame is first in line (0) without taking it.
 */
static inline int64_t mm_ch_try_take(mm_channel *ch, uint32_t room, int peek, uint32_t *stuck_at,
                                     uint32_t *stuck_word) {
  uint32_t position = mm_ch_walk_start(ch, MM_CH_OFF_READ);
  for (uint32_t steps = 0; steps <= ch->capacity / 8 + 2; steps++) {
    mm_ch_word *state = mm_ch_state(ch, position);
    uint32_t word = MM_CH_LOAD(state);
    if (!mm_ch_current(ch, position)) {
      position = mm_ch_walk_start(ch, MM_CH_OFF_READ);
      continue;
    }
    if (word == MM_CH_FREE) return MM_CH_FULL;
    uint32_t kind = word & MM_CH_KIND_MASK;
    if (kind == MM_CH_CLAIMED || kind == MM_CH_WRITING) {
      *stuck_at = position;
      *stuck_word = word;
      return MM_CH_BLOCKED;
    }
    uint32_t size = mm_ch_frame_at(ch, position);
    if (!mm_ch_current(ch, position)) { /* reused under us: what was read may be anything */
      position = mm_ch_walk_start(ch, MM_CH_OFF_READ);
      continue;
    }
    if (kind == 0 && (word < MM_CH_COMMITTED || word > MM_CH_ABANDONED)) return MM_CH_CORRUPT;
    if (size == 0) return MM_CH_CORRUPT;
    if (word == MM_CH_COMMITTED) {
      if (peek) return 0;
      if (MM_CH_LOAD(mm_ch_length(ch, position)) > room) return MM_CH_TOO_BIG;
      uint32_t expected = MM_CH_COMMITTED;
      if (!atomic_compare_exchange_strong(state, &expected, MM_CH_READING | ch->tid)) continue;
      if (!mm_ch_current(ch, position)) { /* ABA: a frame one lap later; deliver it at its true position */
        uint32_t released = MM_CH_LOAD(mm_ch_word_at(ch, MM_CH_OFF_RELEASED));
        return released + ((position - released) & ch->mask);
      }
      mm_ch_advance(ch, MM_CH_OFF_READ, position + size);
      return position;
    }
    position += size;
  }
  return MM_CH_CORRUPT;
}

/*
 * Waits once after a step returned `result` (FULL or BLOCKED): 0 to try again, -ETIMEDOUT. `seq_offset` is the
 * not-full sequence for producers, not-empty for consumers; `released_seen` the released cursor when the step ran.
 */
static inline int mm_ch_wait(mm_channel *ch, int64_t result, uint32_t seq_offset, int is_consumer, int64_t deadline,
                             int *spins, uint32_t stuck_at, uint32_t stuck_word, uint32_t released_seen) {
  int64_t left = deadline < 0 ? MM_CH_SLICE_MS : deadline - mm_ch_now_ms();
  if (left <= 0) return -ETIMEDOUT;
  /* Spin a while first: the frame in the way is a few instructions from done, or a peer is about to act. */
  if ((*spins)++ < MM_CH_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    return 0;
  }
  int busy = result == MM_CH_BLOCKED && !is_consumer;
  int ms = (int)(left < (busy ? 1 : MM_CH_SLICE_MS) ? left : (busy ? 1 : MM_CH_SLICE_MS));
  mm_ch_word *seq = mm_ch_word_at(ch, seq_offset);
  mm_ch_word *waiters = mm_ch_word_at(ch, seq_offset + 4);
  if (!busy) atomic_fetch_add(waiters, 1);
  atomic_thread_fence(memory_order_seq_cst); /* the peeks below use acquire loads: order them after the count */
  uint32_t seen = atomic_load(seq);
  int ready;
  if (busy)
    ready = 0;
  else if (is_consumer) {
    uint32_t at, word;
    ready = mm_ch_try_take(ch, 0, 1, &at, &word) >= 0;
  } else
    ready = atomic_load(mm_ch_word_at(ch, MM_CH_OFF_RELEASED)) != released_seen;
  long rc = ready ? 0 : mm_ch_futex_wait(seq, seen, ms);
  int timed_out = !ready && rc != 0 && errno == ETIMEDOUT;
  if (!busy) atomic_fetch_sub(waiters, 1);
  if (timed_out) {
    if (result == MM_CH_BLOCKED)
      mm_ch_repair(ch, stuck_at, stuck_word);
    else {
      uint32_t released = atomic_load(mm_ch_word_at(ch, MM_CH_OFF_RELEASED));
      mm_ch_repair(ch, released, atomic_load(mm_ch_state(ch, released)));
    }
  }
  return 0;
}

/* Sends `length` bytes: 0, -EMSGSIZE (longer than max_message), -ETIMEDOUT, -EPROTO (corrupt shared memory). */
static inline int mm_channel_send(mm_channel *ch, const void *data, uint32_t length, int timeout_ms) {
  if (length > ch->max_message) return -EMSGSIZE;
  uint32_t size = mm_ch_frame_size(length);
  int64_t deadline = timeout_ms < 0 ? -1 : mm_ch_now_ms() + timeout_ms;
  int spins = 0;
  for (;;) {
    uint32_t at = 0, word = 0;
    uint32_t released = atomic_load(mm_ch_word_at(ch, MM_CH_OFF_RELEASED));
    int64_t position = mm_ch_try_claim(ch, size, &at, &word);
    if (position == MM_CH_CORRUPT) return -EPROTO;
    if (position < 0) {
      int rc = mm_ch_wait(ch, position, MM_CH_OFF_NOT_FULL, 0, deadline, &spins, at, word, released);
      if (rc != 0) return rc;
      continue;
    }
    uint32_t p = (uint32_t)position;
    mm_ch_stall("claimed");
    MM_CH_RELAXED_STORE(mm_ch_state(ch, p + size), MM_CH_FREE);
    MM_CH_RELAXED_STORE(mm_ch_length(ch, p), length);
    MM_CH_STORE(mm_ch_state(ch, p), MM_CH_WRITING | ch->tid);
    mm_ch_stall("writing");
    mm_ch_advance(ch, MM_CH_OFF_WRITE, p + size);
    memcpy(ch->base + MM_CHANNEL_HEADER + (p & ch->mask) + MM_CHANNEL_FRAME_HEADER, data, length);
    atomic_store(mm_ch_state(ch, p), MM_CH_COMMITTED);
    mm_ch_wake_if_waited(ch, MM_CH_OFF_NOT_EMPTY);
    return 0;
  }
}

/*
 * Receives the next message into `buffer` (`room` bytes): its length, -ETIMEDOUT, -EMSGSIZE (the message is longer
 * than `room`; it stays first in line), -EPROTO (corrupt shared memory).
 */
static inline long mm_channel_receive(mm_channel *ch, void *buffer, uint32_t room, int timeout_ms) {
  int64_t deadline = timeout_ms < 0 ? -1 : mm_ch_now_ms() + timeout_ms;
  int spins = 0;
  for (;;) {
    uint32_t at = 0, word = 0;
    int64_t position = mm_ch_try_take(ch, room, 0, &at, &word);
    if (position == MM_CH_CORRUPT) return -EPROTO;
    if (position == MM_CH_TOO_BIG) return -EMSGSIZE;
    if (position < 0) {
      int rc = mm_ch_wait(ch, position, MM_CH_OFF_NOT_EMPTY, 1, deadline, &spins, at, word, 0);
      if (rc != 0) return rc;
      continue;
    }
    uint32_t p = (uint32_t)position;
    uint32_t length = MM_CH_LOAD(mm_ch_length(ch, p));
    memcpy(buffer, ch->base + MM_CHANNEL_HEADER + (p & ch->mask) + MM_CHANNEL_FRAME_HEADER, length);
    mm_ch_stall("reading");
    MM_CH_STORE(mm_ch_state(ch, p), MM_CH_CONSUMED);
    mm_ch_release(ch);
    return (long)length;
  }
}

#endif /* MEMMAP_CHANNEL_H */
