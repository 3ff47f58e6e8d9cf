// A lock across processes: four unrelated Node processes map the same file and each adds 1 to a counter in it
// 20,000 times, with a plain read-modify-write (not atomic) protected by a memmap Mutex living in the same
// file. The total is exact. Run: npm run example examples/lock.ts
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MappedFile, Mutex } from 'memmap';

const WORKERS = 4;
const ROUNDS = 20_000;
const MUTEX_AT = 0; // 4 bytes: the lock word (zero = unlocked, as a new file is)
const COUNTER_AT = 8; // the protected counter

const [role, path] = process.argv.slice(2);
if (role === 'worker') {
  using file = MappedFile.open(path!, { mode: 'r+' });
  const mutex = new Mutex(file.buffer, MUTEX_AT);
  for (let i = 0; i < ROUNDS; i++) {
    mutex.lock();
    file.buffer.writeUInt32LE(file.buffer.readUInt32LE(COUNTER_AT) + 1, COUNTER_AT); // not atomic: the lock makes it safe
    mutex.unlock();
  }
} else {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-lock-'));
  try {
    const counterFile = join(dir, 'counter');
    using file = MappedFile.open(counterFile, { mode: 'w+', size: 4096 });
    const self = fileURLToPath(import.meta.url);
    const exits = Array.from({ length: WORKERS }, () => {
      const child = spawn(process.execPath, [...process.execArgv, self, 'worker', counterFile], { stdio: 'inherit' });
      return new Promise<number | null>((resolve) => child.on('close', resolve));
    });
    const codes = await Promise.all(exits);
    if (codes.some((code) => code !== 0)) throw new Error(`a worker failed: exit codes ${codes.join(', ')}`);
    console.log(
      `${WORKERS} processes x ${ROUNDS} locked increments: counter = ${file.buffer.readUInt32LE(COUNTER_AT)} (expected ${WORKERS * ROUNDS})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
