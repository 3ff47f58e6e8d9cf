// Two processes over System V shared memory: process A creates a segment with a key made by ftok and writes
// "hello, world"; an unrelated process B finds it by the same key and reads it. Then B takes the shared Mutex in
// the segment, bumps a counter, and A sees the result. Run: `node --import tsx examples/sysv-hello.ts` (or any way
// your project runs TypeScript: B is started the same way A was, with this process's own runtime flags).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AtomicInt32, Mutex, Segment, ftok } from 'memmap';

const [role, keyFile] = process.argv.slice(2);

if (role === 'reader') {
  // Process B: the same path and project id give the same key.
  const segment = Segment.open(ftok(keyFile!, 0x4d));
  using attachment = segment.attach();
  console.log(`B read: ${attachment.buffer.toString('latin1', 64, 64 + 12)}`);
  const mutex = new Mutex(attachment.buffer, 0);
  mutex.lock();
  new AtomicInt32(attachment.buffer, 8).add(1);
  mutex.unlock();
} else {
  // Process A.
  const dir = mkdtempSync(join(tmpdir(), 'memmap-sysv-'));
  const path = join(dir, 'key');
  writeFileSync(path, '');
  const segment = Segment.create(ftok(path, 0x4d), 4096, { exclusive: true });
  try {
    using attachment = segment.attach();
    attachment.buffer.write('hello, world', 64, 'latin1');
    console.log(`A wrote "hello, world" to segment ${segment.id} (key 0x${(segment.key >>> 0).toString(16)})`);
    const b = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'reader', path], {
      stdio: 'inherit',
    });
    if (b.status !== 0) throw new Error('process B failed');
    console.log(`A sees the counter B bumped: ${new AtomicInt32(attachment.buffer, 8).load()}`);
    console.log(`attachments now: ${segment.stat().nattch}`);
  } finally {
    segment.remove(); // the segment would otherwise outlive both processes
    rmSync(dir, { recursive: true, force: true });
  }
}
