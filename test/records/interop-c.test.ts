/**
 * A C program, compiled with `cc` from the struct's toC() output and the header declaration in docs/format.md,
 * reads a record file Node wrote and checks every record, then appends records (growing the file by the
 * documented rules) that Node reads back.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RecordFile } from '../../src/index.js';
import { compileC, runC } from '../helpers/cc.js';
import { useTempDir } from '../helpers/temp.js';
import { Student, studentAt } from './fixtures/student.mts';

const tmp = useTempDir('memmap-records-c-');

/** The ```c block of docs/format.md: the C program uses the document, not a copy of the code. */
function headerFromDocs(): string {
  const doc = readFileSync(new URL('../../docs/format.md', import.meta.url), 'utf8');
  const block = /```c\n([\s\S]*?)```/.exec(doc);
  if (!block) throw new Error('docs/format.md has no ```c block');
  return block[1]!;
}

const program = (header: string, record: string) => `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
${header}
${record}

/* studentAt(i) of the tests: the base-36 index in 4 characters, and i * 7919 as an int32. */
static void student_at(uint64_t i, struct student *out) {
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  uint64_t v = i % 1679616;
  for (int k = 3; k >= 0; k--) { out->name[k] = digits[v % 36]; v /= 36; }
  out->age = (int32_t)(uint32_t)(i * 7919u);
}

static int fail(const char *what) { perror(what); return 2; }

int main(int argc, char **argv) {
  if (argc < 4) return 64;
  const char *mode = argv[1], *path = argv[2];
  uint64_t n = strtoull(argv[3], NULL, 10);
  int fd = open(path, O_RDWR);
  if (fd < 0) return fail("open");
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) return fail("flock");
  struct mmrecord_header h;
  if (pread(fd, &h, sizeof h, 0) != sizeof h) return fail("pread");
  if (memcmp(h.magic, MMRECORD_MAGIC, 8) != 0 || h.version != MMRECORD_VERSION || (h.flags & ~MMRECORD_FLAG_BIG_ENDIAN) != 0) {
    fprintf(stderr, "not a version 1 record file\\n");
    return 3;
  }
  if (h.record_size != sizeof(struct student) || h.record_align != _Alignof(struct student)) {
    fprintf(stderr, "record size %u, expected %zu\\n", h.record_size, sizeof(struct student));
    return 3;
  }
  if (argc > 4) { /* the expected schema hash, as hex */
    for (int k = 0; k < 32; k++) {
      unsigned byte;
      sscanf(argv[4] + 2 * k, "%2x", &byte);
      if (h.schema_hash[k] != byte) { fprintf(stderr, "schema hash differs at byte %d\\n", k); return 3; }
    }
  }
  struct stat st;
  if (fstat(fd, &st) != 0) return fail("fstat");
  if (h.count > h.capacity || (uint64_t)st.st_size < h.header_size + h.count * h.record_size) {
    fprintf(stderr, "corrupt\\n");
    return 3;
  }

  if (strcmp(mode, "check") == 0) {
    size_t size = (size_t)st.st_size;
    char *base = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) return fail("mmap");
    /* Read count once; records past it are not ours to read. */
    uint64_t count = __atomic_load_n((uint64_t *)(base + 24), __ATOMIC_ACQUIRE);
    const struct student *records = (const struct student *)(base + h.header_size);
    for (uint64_t i = 0; i < count; i++) {
      struct student want;
      student_at(i, &want);
      if (memcmp(records[i].name, want.name, 4) != 0 || records[i].age != want.age) {
        fprintf(stderr, "record %llu differs\\n", (unsigned long long)i);
        return 1;
      }
    }
    printf("checked %llu of capacity %llu\\n", (unsigned long long)count, (unsigned long long)h.capacity);
    return count == n ? 0 : 1;
  }

  /* append n records: grow first (file, then capacity), write, msync, then count, then msync the header. */
  uint64_t count = h.count, capacity = h.capacity;
  if (count + n > capacity) {
    uint64_t grown = capacity * 2 > count + n ? capacity * 2 : count + n;
    if (ftruncate(fd, (off_t)(h.header_size + grown * h.record_size)) != 0) return fail("ftruncate");
    capacity = grown;
  } else if ((uint64_t)st.st_size < h.header_size + capacity * h.record_size) {
    /* Shorter than its capacity (docs/format.md): make the file as long as the header says. */
    if (ftruncate(fd, (off_t)(h.header_size + capacity * h.record_size)) != 0) return fail("ftruncate");
  }
  size_t size = h.header_size + capacity * h.record_size;
  char *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return fail("mmap");
  __atomic_store_n((uint64_t *)(base + 32), capacity, __ATOMIC_RELEASE);
  struct student *records = (struct student *)(base + h.header_size);
  for (uint64_t i = count; i < count + n; i++) student_at(i, &records[i]);
  if (msync(base, size, MS_SYNC) != 0) return fail("msync records");
  __atomic_store_n((uint64_t *)(base + 24), count + n, __ATOMIC_RELEASE);
  if (msync(base, 4096, MS_SYNC) != 0) return fail("msync header");
  printf("appended %llu, count %llu, capacity %llu\\n", (unsigned long long)n, (unsigned long long)(count + n), (unsigned long long)capacity);
  munmap(base, size);
  close(fd);
  return 0;
}
`;

describe('a C program reads and appends to a record file', () => {
  const binary = compileC(tmp, 'records', program(headerFromDocs(), Student.toC('student')));

  it('C checks every record Node wrote, then appends records (growing the file) that Node reads back', () => {
    const path = tmp('students.db');
    {
      using db = RecordFile.open(path, Student, { initialCapacity: 125 });
      for (let i = 0; i < 1000; i++) db.push(studentAt(i));
    }
    expect(runC(binary, ['check', path, '1000', Student.hash])).toBe('checked 1000 of capacity 1000\n');
    expect(runC(binary, ['append', path, '500'])).toBe('appended 500, count 1500, capacity 2000\n');
    {
      using db = RecordFile.open(path, Student, { mode: 'r+' });
      expect(db.length).toBe(1500);
      expect(db.capacity).toBe(2000);
      for (let i = 0; i < 1500; i++) expect(db.get(i)).toEqual(studentAt(i));
      // Node carries on after C: the file stays readable by both.
      for (let i = 1500; i < 3000; i++) db.push(studentAt(i));
    }
    expect(runC(binary, ['check', path, '3000', Student.hash])).toBe('checked 3000 of capacity 4000\n');
  });

  it('C refuses a file whose struct differs (the schema hash check), as Node does', () => {
    const path = tmp('other.db');
    {
      using db = RecordFile.open(path, Student);
      db.push(studentAt(0));
    }
    const wrongHash = '00'.repeat(32);
    expect(() => runC(binary, ['check', path, '1', wrongHash])).toThrow(/schema hash differs/);
  });
});
