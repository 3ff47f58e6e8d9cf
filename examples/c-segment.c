/* The C side of examples/c-segment.ts: a C program that speaks System V shared memory.
 *   c-segment create KEY   creates a 4096-byte segment with KEY, writes "hello, world" at offset 0, detaches
 *   c-segment reply KEY    attaches to the same segment, prints what Node wrote at offset 64, removes the segment
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s create|reply KEY\n", argv[0]);
    return 2;
  }
  key_t key = (key_t)strtol(argv[2], NULL, 10);
  int creating = strcmp(argv[1], "create") == 0;
  int id = shmget(key, 4096, creating ? IPC_CREAT | IPC_EXCL | 0600 : 0);
  if (id < 0) {
    perror("shmget");
    return 1;
  }
  char *memory = shmat(id, NULL, 0);
  if (memory == (void *)-1) {
    perror("shmat");
    return 1;
  }
  if (creating) {
    strcpy(memory, "hello, world");
    printf("C wrote \"%s\" to segment %d\n", memory, id);
  } else {
    printf("C read Node's answer: \"%.64s\"\n", memory + 64);
    if (shmctl(id, IPC_RMID, NULL) != 0) {
      perror("shmctl");
      return 1;
    }
  }
  if (shmdt(memory) != 0) {
    perror("shmdt");
    return 1;
  }
  return 0;
}
