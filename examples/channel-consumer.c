/*
 * The C consumer of examples/channel.ts: takes jobs ("job <n>") from the channel at argv[1] with
 * include/memmap/channel.h until it takes "stop", then prints how many it handled and the sum of their numbers.
 * Build: cc -std=gnu11 -O2 -I include -o channel-consumer examples/channel-consumer.c
 */
#include "memmap/channel.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: channel-consumer <channel path>\n");
    return 1;
  }
  mm_channel jobs;
  int rc = mm_channel_open(&jobs, argv[1]);
  if (rc != 0) {
    fprintf(stderr, "cannot open %s: %s\n", argv[1], strerror(-rc));
    return 1;
  }
  char message[256];
  long handled = 0, sum = 0;
  for (;;) {
    long length = mm_channel_receive(&jobs, message, sizeof message - 1, 30000);
    if (length < 0) {
      fprintf(stderr, "receive: %s\n", strerror((int)-length));
      return 1;
    }
    message[length] = 0;
    if (strcmp(message, "stop") == 0) break;
    handled++;
    sum += atol(message + 4); /* after "job " */
  }
  printf("C consumer handled %ld jobs (sum %ld)\n", handled, sum);
  mm_channel_close(&jobs);
  return 0;
}
