/**
 * The kernel's own count of a file's dirty pages, for tests that prove what a flush wrote back without timing it:
 * cachestat(2) (Linux 6.5+), read by a small C program, since Node has no binding for it.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { compileC } from './cc.js';

/**
 * Compiles the probe into `dir` and returns its path: run with a file's path, it prints the file's dirty (and
 * under-writeback) pages. `undefined` where there is no C compiler or the kernel lacks cachestat(2).
 */
export function dirtyPageProbe(dir: (name: string) => string): string | undefined {
  let probe: string;
  try {
    probe = compileC(
      dir,
      'dirty-pages',
      `#include <stdio.h>
       #include <stdint.h>
       #include <fcntl.h>
       #include <unistd.h>
       #include <sys/syscall.h>
       struct range { uint64_t off, len; };
       struct stat_ { uint64_t cache, dirty, writeback, evicted, recently_evicted; };
       int main(int argc, char **argv) {
         int fd = open(argv[1], O_RDONLY);
         struct range r = { 0, 0 };
         struct stat_ s;
         if (fd < 0 || syscall(451, fd, &r, &s, 0) != 0) { printf("unsupported\\n"); return 0; }
         printf("%llu\\n", (unsigned long long)(s.dirty + s.writeback));
         return 0;
       }`,
    );
  } catch {
    return undefined;
  }
  writeFileSync(dir('dirty-pages-probe.bin'), 'x');
  const answer = execFileSync(probe, [dir('dirty-pages-probe.bin')], { encoding: 'utf8' }).trim();
  return answer === 'unsupported' ? undefined : probe;
}
