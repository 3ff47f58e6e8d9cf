/*
 * The C limit for bench/mapped-file.bench.ts: sequential passes over a MAP_SHARED mapping of a file, timed inside
 * the program (so process start and mmap are not counted), the same operations the JavaScript rows perform.
 *
 *   seqio PATH SIZE MODE RUNS CHUNK
 *     write  memcpy a CHUNK-byte source into the mapping, chunk after chunk, to the end
 *     copy   memcpy the mapping out into a CHUNK-byte buffer, chunk after chunk
 *     sum    add up the mapping as doubles
 *     touch  write one byte per page
 *
 * One untimed warm-up pass first (it faults the pages into this process), then RUNS timed passes. Prints the
 * median nanoseconds of one pass and a checksum (which keeps the compiler from dropping the work).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int compare_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Tells the compiler that memory may be read here, so no copy into it counts as dead. */
#define CLOBBER(p) __asm__ volatile("" : : "r"(p) : "memory")

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s PATH SIZE write|copy|sum|touch RUNS CHUNK\n", argv[0]);
    return 2;
  }
  const char *path = argv[1];
  size_t size = strtoull(argv[2], NULL, 10);
  const char *mode = argv[3];
  int runs = atoi(argv[4]);
  size_t chunk = strtoull(argv[5], NULL, 10);
  if (size == 0 || runs <= 0 || chunk == 0 || size % chunk != 0 || size % sizeof(double) != 0) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  int fd = open(path, O_RDWR);
  if (fd < 0) {
    perror("open");
    return 1;
  }
  char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  double *source = malloc(chunk);
  if (source == NULL) return 1;
  for (size_t i = 0; i < chunk / sizeof(double); i++) source[i] = (double)i * 0.5;
  long page = sysconf(_SC_PAGESIZE);

  uint64_t *times = calloc((size_t)runs, sizeof *times);
  double checksum = 0;
  for (int run = -1; run < runs; run++) {
    uint64_t start = now_ns();
    if (strcmp(mode, "write") == 0) {
      for (size_t offset = 0; offset < size; offset += chunk) memcpy(map + offset, source, chunk);
      CLOBBER(map);
    } else if (strcmp(mode, "copy") == 0) {
      for (size_t offset = 0; offset < size; offset += chunk) {
        memcpy(source, map + offset, chunk);
        CLOBBER(source);
      }
      checksum += source[1];
    } else if (strcmp(mode, "sum") == 0) {
      const double *values = (const double *)map;
      double sum = 0;
      for (size_t i = 0; i < size / sizeof(double); i++) sum += values[i];
      checksum += sum;
    } else if (strcmp(mode, "touch") == 0) {
      for (size_t offset = 0; offset < size; offset += (size_t)page) map[offset] = (char)(run + 2);
      CLOBBER(map);
    } else {
      fprintf(stderr, "unknown mode %s\n", mode);
      return 2;
    }
    uint64_t elapsed = now_ns() - start;
    if (run >= 0) times[run] = elapsed;
  }
  qsort(times, (size_t)runs, sizeof *times, compare_u64);
  printf("%llu %g\n", (unsigned long long)times[runs / 2], checksum);
  munmap(map, size);
  close(fd);
  return 0;
}
