/* Lock-free table of live file mappings: see mapping_registry.h for why. */
#include "mapping_registry.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static memmap_registry_entry slots[MEMMAP_REGISTRY_SLOTS];

/* One past the highest slot ever claimed: the handler's scan stops here instead of walking all 65536 slots. */
static size_t high_water;

/* Where the next add starts looking: just past the slot claimed last, so filling the table is not quadratic. */
static size_t next_hint;

/*
 * The descriptors the slots own: one per mapped file (device and inode), shared by every slot mapping that file, so
 * that 65,536 mappings of one file hold one descriptor, not 65,536. Only add and remove use this table (never the
 * handler, which reads the descriptor copied into its slot), under a mutex.
 */
typedef struct {
  dev_t dev;
  ino_t ino;
  int fd;
  size_t users; /* 0: free record */
} owned_file;

static owned_file files[MEMMAP_REGISTRY_SLOTS];
static size_t files_high_water;
static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;

/* A close-on-exec descriptor of the file `fd` names, on an open file description of its own (O_PATH, reopened
   through /proc): never a duplicate of `fd`. A duplicate shares the caller's description, and with it any flock(2)
   lock taken through it; shared by every later mapping of the file, it kept a record file writer's LOCK_EX alive
   after close() for as long as another mapping of the file (a reader in the same process) stayed open. An O_PATH
   descriptor needs no permission on the file, can be fstat'ed (the SIGBUS handler) and reopened for reading through
   /proc (memmap_registry_retire). Without /proc, a duplicate as before. Returns it, or -1 with errno set. */
static int own_descriptor(int fd, const struct stat *st) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int own = open(path, O_PATH | O_CLOEXEC);
  if (own >= 0) {
    struct stat reopened;
    if (fstat(own, &reopened) == 0 && reopened.st_dev == st->st_dev && reopened.st_ino == st->st_ino) return own;
    close(own);
  }
  return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/* The shared descriptor of the file `fd` names, made (a close-on-exec duplicate) if no slot holds one yet; sets
   `*record` to its index. Returns 0 or an errno. Called with files_lock held. */
static int acquire_file(int fd, size_t *record, struct stat *st) {
  if (fstat(fd, st) != 0) return errno;
  size_t free_record = MEMMAP_REGISTRY_SLOTS;
  for (size_t i = 0; i < files_high_water; i++) {
    if (files[i].users == 0) {
      if (free_record == MEMMAP_REGISTRY_SLOTS) free_record = i;
    } else if (files[i].dev == st->st_dev && files[i].ino == st->st_ino) {
      files[i].users++;
      *record = i;
      return 0;
    }
  }
  if (free_record == MEMMAP_REGISTRY_SLOTS) {
    if (files_high_water == MEMMAP_REGISTRY_SLOTS) return ENOMEM;
    free_record = files_high_water++;
  }
  int own = own_descriptor(fd, st);
  if (own < 0) return errno;
  files[free_record] = (owned_file){.dev = st->st_dev, .ino = st->st_ino, .fd = own, .users = 1};
  *record = free_record;
  return 0;
}

/* Called with files_lock held. */
static void release_file(size_t record) {
  if (--files[record].users == 0) close(files[record].fd);
}

void memmap_registry_lock(memmap_registry_entry *entry) {
  /* Held only around a few system calls by another thread (a handler never waits for its own thread: the signal
     is blocked while its handler runs), so the wait is short. sched_yield is a plain system call. */
  while (__atomic_exchange_n(&entry->busy, 1, __ATOMIC_ACQUIRE) != 0) sched_yield();
}

void memmap_registry_unlock(memmap_registry_entry *entry) {
  __atomic_store_n(&entry->busy, 0, __ATOMIC_RELEASE);
}

int memmap_registry_add(void *address, size_t length, int fd, off_t file_offset, memmap_registry_entry **out) {
  *out = NULL;
  struct stat st;
  size_t record = 0;
  pthread_mutex_lock(&files_lock);
  int error = acquire_file(fd, &record, &st);
  pthread_mutex_unlock(&files_lock);
  if (error != 0) return error;
  size_t hint = __atomic_load_n(&next_hint, __ATOMIC_RELAXED);
  for (size_t n = 0; n < MEMMAP_REGISTRY_SLOTS; n++) {
    size_t i = (hint + n) % MEMMAP_REGISTRY_SLOTS;
    uintptr_t expected = 0;
    if (__atomic_load_n(&slots[i].address, __ATOMIC_RELAXED) != 0) continue;
    /* Claim the slot with a sentinel, fill it, then publish the address: a reader never sees half an entry. */
    if (__atomic_compare_exchange_n(&slots[i].address, &expected, (uintptr_t)1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
      memmap_registry_entry *entry = &slots[i];
      entry->length = length;
      entry->fd = files[record].fd;
      entry->file_record = record;
      entry->file_offset = file_offset;
      entry->dev = st.st_dev;
      entry->ino = st.st_ino;
      __atomic_store_n(&entry->faults, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&entry->io_faults, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&entry->lost_from, length, __ATOMIC_RELAXED);
      entry->retired = false;
      size_t seen = __atomic_load_n(&high_water, __ATOMIC_RELAXED);
      while (seen < i + 1 &&
             !__atomic_compare_exchange_n(&high_water, &seen, i + 1, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
      }
      __atomic_store_n(&next_hint, (i + 1) % MEMMAP_REGISTRY_SLOTS, __ATOMIC_RELAXED);
      __atomic_store_n(&entry->address, (uintptr_t)address, __ATOMIC_RELEASE);
      *out = entry;
      return 0;
    }
  }
  pthread_mutex_lock(&files_lock);
  release_file(record);
  pthread_mutex_unlock(&files_lock);
  return ENOMEM; /* what mmap(2) itself says at vm.max_map_count */
}

void memmap_registry_remove(memmap_registry_entry *entry) {
  if (entry == NULL) return;
  size_t record = entry->file_record;
  /* A handler holds the flag while it reads the slot: freeing waits for it, and a handler that takes the flag
     after this finds the address gone and lets the access run again. */
  memmap_registry_lock(entry);
  bool retired = entry->retired; /* a retired slot let go of its descriptor already */
  __atomic_store_n(&entry->address, 0, __ATOMIC_RELEASE);
  memmap_registry_unlock(entry);
  if (retired) return;
  pthread_mutex_lock(&files_lock);
  release_file(record);
  pthread_mutex_unlock(&files_lock);
}

int memmap_registry_retire(memmap_registry_entry *entry, bool remap_private) {
  /* The private mapping is made from a new open file description, not from the registry's descriptor: a mapping
     holds its description, and with it any flock(2) lock taken through it (a record file's writer lock), which
     would then outlive close() until the range is collected. */
  int fresh = -1;
  if (remap_private) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", entry->fd);
    fresh = open(path, O_RDONLY | O_CLOEXEC);
    if (fresh < 0) return errno;
  }
  /* Under the slot's flag: no handler is repairing the range while it is replaced, and one that comes after sees
     `retired`. */
  memmap_registry_lock(entry);
  void *start = (void *)__atomic_load_n(&entry->address, __ATOMIC_ACQUIRE);
  if (remap_private && mmap(start, entry->length, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE, fresh,
                            entry->file_offset) == MAP_FAILED) {
    int error_number = errno;
    memmap_registry_unlock(entry);
    close(fresh);
    return error_number;
  }
  if (remap_private) __atomic_store_n(&entry->lost_from, entry->length, __ATOMIC_RELEASE); /* the file's again */
  __atomic_store_n(&entry->retired, true, __ATOMIC_RELEASE);
  memmap_registry_unlock(entry);
  if (fresh >= 0) close(fresh); /* the mapping keeps what it needs of it */
  pthread_mutex_lock(&files_lock);
  release_file(entry->file_record);
  pthread_mutex_unlock(&files_lock);
  return 0;
}

memmap_registry_entry *memmap_registry_find(uintptr_t address) {
  size_t end = __atomic_load_n(&high_water, __ATOMIC_ACQUIRE);
  for (size_t i = 0; i < end; i++) {
    uintptr_t start = __atomic_load_n(&slots[i].address, __ATOMIC_ACQUIRE);
    /* The release store of `address` in add() orders the other fields before it: they are complete here. */
    if (start > 1 && address >= start && address - start < slots[i].length) return &slots[i];
  }
  return NULL;
}
