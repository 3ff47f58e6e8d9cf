// A C program and Node share a System V segment, both ways: C creates it by key and writes "hello, world";
// Node attaches by the same key (ftok of the same file), reads it and writes an answer; C reads the answer and
// removes the segment. The C side is examples/c-segment.c, compiled here with cc.
// Run: npm run example examples/c-segment.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Segment, ftok } from 'memmap';

const dir = mkdtempSync(join(tmpdir(), 'memmap-c-segment-'));
let segment: Segment | undefined;
try {
  const program = join(dir, 'c-segment');
  execFileSync('cc', ['-O2', '-o', program, fileURLToPath(new URL('./c-segment.c', import.meta.url))]);
  const keyFile = join(dir, 'key');
  writeFileSync(keyFile, '');
  const key = ftok(keyFile, 0x43); // the same (path, id) gives C and Node the same key

  process.stdout.write(execFileSync(program, ['create', String(key)], { encoding: 'utf8' }));
  segment = Segment.open(key);
  {
    using attachment = segment.attach();
    const text = attachment.buffer.toString('latin1', 0, attachment.buffer.indexOf(0));
    console.log(`Node read "${text}" from segment ${segment.id}`);
    attachment.buffer.write('hello from Node', 64, 'latin1');
  }
  process.stdout.write(execFileSync(program, ['reply', String(key)], { encoding: 'utf8' }));
  segment = undefined; // C removed it
} finally {
  segment?.remove(); // only if C did not get that far: a segment outlives every process otherwise
  rmSync(dir, { recursive: true, force: true });
}
