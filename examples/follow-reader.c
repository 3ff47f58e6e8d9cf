/*
 * A C follower of a record file of samples (follow-sample.h): sleeps on the header's commit word (follow-commit.h,
 * docs/format.md "Commit word") and checks every record as the writer commits it, across growth of the file.
 *
 * usage: follow-reader FILE COUNT [IDLE_MS]
 * Exits 0 after COUNT records ("followed COUNT"), 1 on a wrong record, 3 on a file it cannot follow, 4 after
 * IDLE_MS (default 10000) without a new record, 5 when the writer truncated below what it had read.
 * Build: cc -std=gnu11 -O2 -o follow-reader follow-reader.c
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "follow-commit.h"
#include "follow-sample.h"

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int fail(const char *what) {
  perror(what);
  return 3;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: follow-reader FILE COUNT [IDLE_MS]\n");
    return 64;
  }
  const char *path = argv[1];
  uint64_t target = strtoull(argv[2], NULL, 10);
  long idle_ms = argc > 3 ? strtol(argv[3], NULL, 10) : 10000;
  int fd = open(path, O_RDWR); /* read-write: setting the WAITERS bit is a write */
  if (fd < 0) return fail("open");
  char head[80];
  if (pread(fd, head, sizeof head, 0) != sizeof head) return fail("pread");
  uint32_t version, header_size, record_size;
  memcpy(&version, head + OFFSET_VERSION, 4);
  memcpy(&header_size, head + OFFSET_HEADER_SIZE, 4);
  memcpy(&record_size, head + OFFSET_RECORD_SIZE, 4);
  if (memcmp(head, HEADER_MAGIC, 8) != 0 || version != 2 || record_size != sizeof(struct sample)) {
    fprintf(stderr, "not a version 2 record file of samples\n");
    return 3;
  }
  char *header = mmap(NULL, header_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (header == MAP_FAILED) return fail("mmap header");
  uint32_t *commit = commit_word(header, header_size);
  uint64_t *count = (uint64_t *)(header + OFFSET_COUNT);
  uint64_t *capacity = (uint64_t *)(header + OFFSET_CAPACITY);
  uint32_t truncations = __atomic_load_n(commit + 1, __ATOMIC_SEQ_CST);

  char *data = NULL;
  size_t mapped = 0; /* bytes of `data` */
  uint64_t next = 0;
  long last_progress = now_ms();
  while (next < target) {
    uint64_t n = commit_wait(commit, count, next + 1, 1000);
    if (n < next || __atomic_load_n(commit + 1, __ATOMIC_SEQ_CST) != truncations) {
      fprintf(stderr, "truncated: count %llu after %llu records\n", (unsigned long long)n, (unsigned long long)next);
      return 5;
    }
    if (n == next) {
      if (now_ms() - last_progress > idle_ms) {
        fprintf(stderr, "idle at %llu\n", (unsigned long long)next);
        return 4;
      }
      continue;
    }
    size_t needed = header_size + n * record_size;
    if (needed > mapped) {
      /* The writer grew the file (it makes the file longer before it stores capacity): map it all again. */
      uint64_t cap = __atomic_load_n(capacity, __ATOMIC_SEQ_CST);
      struct stat st;
      if (fstat(fd, &st) != 0) return fail("fstat");
      size_t want = header_size + cap * record_size;
      if (want > (size_t)st.st_size) want = (size_t)st.st_size;
      if (want < needed) {
        fprintf(stderr, "file shorter than its count\n");
        return 3;
      }
      if (data) munmap(data, mapped);
      data = mmap(NULL, want, PROT_READ, MAP_SHARED, fd, 0);
      if (data == MAP_FAILED) return fail("mmap records");
      mapped = want;
    }
    const struct sample *records = (const struct sample *)(data + header_size);
    for (uint64_t i = next; i < n && i < target; i++) {
      if (records[i].seq != i || records[i].value != (double)i * 0.5) {
        fprintf(stderr, "record %llu differs: seq %llu\n", (unsigned long long)i, (unsigned long long)records[i].seq);
        return 1;
      }
    }
    next = n;
    last_progress = now_ms();
  }
  printf("followed %llu\n", (unsigned long long)next);
  return 0;
}
