/**
 * Two unrelated processes share `struct student { char name[4]; int age; }` records
 * through a memory-mapped file.
 *
 *   node --import tsx examples/students.ts            runs both: A writes, then B (a new process) reads
 *   node --import tsx examples/students.ts write FILE  process A: create, map, write 5 records, flush, exit
 *   node --import tsx examples/students.ts read FILE   process B: map the same file and print the records
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MappedFile } from 'memmap';

const RECORD_SIZE = 8; // char name[4]; int age;  -> 4 + 4 bytes, int aligned at 4
const COUNT = 5;

function write(path: string): void {
  using file = MappedFile.open(path, { mode: 'w+', size: COUNT * RECORD_SIZE });
  for (let i = 0; i < COUNT; i++) {
    const at = i * RECORD_SIZE;
    file.buffer.write(String.fromCharCode(97 + i), at, 4, 'latin1'); // 'a'..'e', NUL-padded by the zeroed file
    file.buffer.writeInt32LE(20 + i, at + 4);
  }
  file.flush(); // msync(MS_SYNC): the records are on disk before this process exits
}

function read(path: string): void {
  using file = MappedFile.open(path, { mode: 'r' });
  for (let i = 0; i < file.length / RECORD_SIZE; i++) {
    const at = i * RECORD_SIZE;
    const raw = file.buffer.subarray(at, at + 4);
    const end = raw.indexOf(0);
    const name = raw.toString('latin1', 0, end === -1 ? 4 : end);
    console.log(`student ${i}: name=${name} age=${file.buffer.readInt32LE(at + 4)}`);
  }
}

const [command, path] = process.argv.slice(2);
if (command === 'write' && path) write(path);
else if (command === 'read' && path) read(path);
else {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-students-'));
  const file = join(dir, 'students.bin');
  const self = fileURLToPath(import.meta.url);
  try {
    const run = (step: string) =>
      execFileSync(process.execPath, [...process.execArgv, self, step, file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
    process.stdout.write(run('write'));
    console.log(`process A wrote ${COUNT} students to ${file} and exited; process B reads them:`);
    process.stdout.write(run('read'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
