/*
 * A C writer of a record file of samples (follow-sample.h) that wakes followers: it appends by the rules of
 * docs/format.md (grow, write, msync, count, commit word, msync header) and advances the commit word
 * (follow-commit.h) at every commit.
 *
 * usage: follow-writer FILE COUNT BATCH [PAUSE_US]
 * Appends COUNT samples after those already committed, committing every BATCH records (sleeping PAUSE_US
 * microseconds after each commit), holding flock(LOCK_EX) like a memmap writer. Prints "wrote COUNT, count N".
 * Build: cc -std=gnu11 -O2 -o follow-writer follow-writer.c
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "follow-commit.h"
#include "follow-sample.h"

static int fail(const char *what) {
  perror(what);
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: follow-writer FILE COUNT BATCH [PAUSE_US]\n");
    return 64;
  }
  const char *path = argv[1];
  uint64_t total = strtoull(argv[2], NULL, 10), batch = strtoull(argv[3], NULL, 10);
  long pause_us = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
  if (batch == 0) return 64;
  int fd = open(path, O_RDWR);
  if (fd < 0) return fail("open");
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) return fail("flock");
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
  uint64_t count, capacity;
  memcpy(&count, head + OFFSET_COUNT, 8);
  memcpy(&capacity, head + OFFSET_CAPACITY, 8);
  struct stat st;
  if (fstat(fd, &st) != 0) return fail("fstat");
  if ((uint64_t)st.st_size < header_size + capacity * record_size) capacity = (st.st_size - header_size) / record_size;
  size_t size = header_size + capacity * record_size;
  char *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return fail("mmap");
  uint64_t end = count + total;
  while (count < end) {
    uint64_t n = count + batch < end ? count + batch : end;
    if (n > capacity) {
      /* Grow: the file first, then the capacity in the header. */
      uint64_t grown = capacity * 2 > n ? capacity * 2 : n;
      if (ftruncate(fd, (off_t)(header_size + grown * record_size)) != 0) return fail("ftruncate");
      munmap(base, size);
      size = header_size + grown * record_size;
      base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (base == MAP_FAILED) return fail("mmap");
      capacity = grown;
      __atomic_store_n((uint64_t *)(base + OFFSET_CAPACITY), capacity, __ATOMIC_SEQ_CST);
    }
    struct sample *records = (struct sample *)(base + header_size);
    for (uint64_t i = count; i < n; i++) {
      records[i].seq = i;
      records[i].value = (double)i * 0.5;
    }
    size_t first = (header_size + count * record_size) & ~(size_t)4095;
    if (msync(base + first, header_size + n * record_size - first, MS_SYNC) != 0) return fail("msync records");
    __atomic_store_n((uint64_t *)(base + OFFSET_COUNT), n, __ATOMIC_SEQ_CST);
    commit_advance(commit_word(base, header_size), 0);
    if (msync(base, 4096, MS_SYNC) != 0) return fail("msync header");
    count = n;
    if (pause_us > 0) usleep((useconds_t)pause_us);
  }
  printf("wrote %llu, count %llu\n", (unsigned long long)total, (unsigned long long)count);
  return 0;
}
