import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MappedFile } from '../src/index.js';
import { compileC, runC } from './helpers/cc.js';
import { useTempDir } from './helpers/temp.js';

const tmp = useTempDir();

// The seed's record, and a C program that writes or checks 5 of them through its own MAP_SHARED mapping.
const program = `
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct student { char name[4]; int age; };
_Static_assert(sizeof(struct student) == 8, "layout");

int main(int argc, char **argv) {
  int writing = strcmp(argv[1], "write") == 0;
  int fd = open(argv[2], writing ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR, 0644);
  if (fd < 0) { perror("open"); return 2; }
  size_t size = 5 * sizeof(struct student);
  if (writing && ftruncate(fd, size) != 0) { perror("ftruncate"); return 2; }
  struct student *s = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (s == MAP_FAILED) { perror("mmap"); return 2; }
  for (int i = 0; i < 5; i++) {
    if (writing) {
      static const char *names[5] = {"w", "xy", "yza", "zzzz", "e"}; /* "zzzz" fills the field: no NUL */
      memset(s[i].name, 0, 4);
      memcpy(s[i].name, names[i], strlen(names[i]));
      s[i].age = -1000 * i + 7;
    } else {
      printf("%.4s %d\\n", s[i].name, s[i].age);
    }
  }
  if (msync(s, size, MS_SYNC) != 0) { perror("msync"); return 2; }
  munmap(s, size);
  close(fd);
  return 0;
}
`;

describe('a C program and Node share a mapped file', () => {
  const binary = compileC(tmp, 'students', program);

  it('C writes the records, Node maps the file and reads every field', () => {
    const path = tmp('from-c.bin');
    runC(binary, ['write', path]);
    using file = MappedFile.open(path);
    const names = ['w', 'xy', 'yza', 'zzzz', 'e'];
    for (let i = 0; i < 5; i++) {
      const raw = file.buffer.subarray(i * 8, i * 8 + 4);
      const end = raw.indexOf(0);
      expect(raw.toString('latin1', 0, end === -1 ? 4 : end)).toBe(names[i]);
      expect(file.buffer.readInt32LE(i * 8 + 4)).toBe(-1000 * i + 7);
    }
  });

  it('Node writes the records, C maps the file and reads them', () => {
    const path = tmp('from-node.bin');
    {
      using file = MappedFile.open(path, { mode: 'w+', size: 40 });
      ['ann', 'bob', 'cyd', 'dora', 'e'].forEach((name, i) => {
        file.buffer.write(name, i * 8, 4, 'latin1');
        file.buffer.writeInt32LE(2_000_000_000 + i, i * 8 + 4);
      });
      file.flush();
    }
    expect(readFileSync(path).length).toBe(40);
    expect(runC(binary, ['read', path])).toBe(
      'ann 2000000000\nbob 2000000001\ncyd 2000000002\ndora 2000000003\ne 2000000004\n',
    );
  });
});
