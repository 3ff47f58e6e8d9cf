/*
 * The C side of bench/channel.bench.ts, through include/memmap/channel.h (the same protocol as the Node Channel):
 *   throughput <a> <count> <size>   forks: the child sends count messages of size bytes on <a>, the parent
 *                                   receives them; prints the parent's milliseconds from first send to last receive
 *   pingpong <a> <b> <count>        forks: the parent sends 64 bytes on <a>, the child echoes them on <b>; prints ms
 */
#include "memmap/channel.h"
#include <sys/wait.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static mm_channel open_or_die(const char *path) {
  mm_channel ch;
  int rc = mm_channel_open(&ch, path);
  if (rc != 0) {
    fprintf(stderr, "open %s: %s\n", path, strerror(-rc));
    exit(2);
  }
  return ch;
}

int main(int argc, char **argv) {
  static char buffer[1 << 16];
  if (argc == 5 && strcmp(argv[1], "throughput") == 0) {
    long count = atol(argv[3]);
    uint32_t size = (uint32_t)atol(argv[4]);
    memset(buffer, 'x', sizeof buffer);
    double start = now_ms();
    pid_t child = fork();
    if (child == 0) {
      mm_channel ch = open_or_die(argv[2]);
      for (long n = 0; n < count; n++)
        if (mm_channel_send(&ch, buffer, size, -1) != 0) _exit(3);
      _exit(0);
    }
    mm_channel ch = open_or_die(argv[2]);
    for (long n = 0; n < count; n++)
      if (mm_channel_receive(&ch, buffer, sizeof buffer, -1) != (long)size) return 3;
    double ms = now_ms() - start;
    int status;
    waitpid(child, &status, 0);
    printf("%f\n", ms);
    return 0;
  }
  if (argc == 5 && strcmp(argv[1], "pingpong") == 0) {
    long count = atol(argv[4]);
    pid_t child = fork();
    if (child == 0) {
      mm_channel in = open_or_die(argv[2]), out = open_or_die(argv[3]);
      for (long n = 0; n < count; n++) {
        long length = mm_channel_receive(&in, buffer, sizeof buffer, -1);
        if (length < 0 || mm_channel_send(&out, buffer, (uint32_t)length, -1) != 0) _exit(3);
      }
      _exit(0);
    }
    mm_channel out = open_or_die(argv[2]), in = open_or_die(argv[3]);
    memset(buffer, 'p', 64);
    double start = now_ms();
    for (long n = 0; n < count; n++) {
      if (mm_channel_send(&out, buffer, 64, -1) != 0) return 3;
      if (mm_channel_receive(&in, buffer, sizeof buffer, -1) != 64) return 3;
    }
    double ms = now_ms() - start;
    int status;
    waitpid(child, &status, 0);
    printf("%f\n", ms);
    return 0;
  }
  fprintf(stderr, "usage: throughput <path> <count> <size> | pingpong <a> <b> <count>\n");
  return 1;
}
