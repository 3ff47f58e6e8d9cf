// One producer, two consumers (a Node process and a C program) sharing a work queue through a Channel:
// each job goes to exactly one of them, and together they handle every job once.
// The C consumer is examples/channel-consumer.c, compiled here with cc against include/memmap/channel.h.
// Run: node --import tsx examples/channel.ts
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Channel } from 'memmap';

const JOBS = 1000;

if (process.argv[2] === 'consume') {
  // The Node consumer: the same file, started by the producer below.
  using jobs = Channel.open(process.argv[3]!);
  console.log('ready');
  let handled = 0;
  let sum = 0;
  for (;;) {
    const message = (await jobs.receiveAsync({ timeout: 30_000 })).toString();
    if (message === 'stop') break;
    handled++;
    sum += Number(message.slice(4));
  }
  console.log(`Node consumer handled ${handled} jobs (sum ${sum})`);
} else {
  // Memory only: a file under /dev/shm is RAM; on disk the same channel would survive a restart.
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'memmap-channel-example-'));
  try {
    const consumerC = join(dir, 'channel-consumer');
    const include = fileURLToPath(new URL('../include', import.meta.url));
    const source = fileURLToPath(new URL('./channel-consumer.c', import.meta.url));
    execFileSync('cc', ['-std=gnu11', '-O2', '-I', include, '-o', consumerC, source]);

    using jobs = Channel.open(join(dir, 'jobs'), { create: true, capacity: 4096 });
    const self = fileURLToPath(import.meta.url);
    const consumers = [
      spawn(process.execPath, [...process.execArgv, self, 'consume', jobs.path], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
      spawn(consumerC, [jobs.path], { stdio: ['ignore', 'pipe', 'inherit'] }),
    ];
    let nodeReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (nodeReady = resolve));
    const outputs = consumers.map(
      (child) =>
        new Promise<string>((resolve) => {
          let output = '';
          child.stdout.on('data', (chunk: Buffer) => {
            output += chunk.toString();
            if (output.startsWith('ready\n')) nodeReady();
          });
          child.on('close', () => resolve(output.replace(/^ready\n/, '')));
        }),
    );
    await ready; // so that both consumers are there when the jobs start

    // A 4 KiB ring holds far fewer than 1000 jobs: sendAsync waits (off the event loop) while it is full.
    let expected = 0;
    for (let n = 1; n <= JOBS; n++) {
      await jobs.sendAsync(`job ${n}`);
      expected += n;
    }
    await jobs.sendManyAsync(['stop', 'stop']); // one each: a message goes to exactly one consumer

    let total = 0;
    let sum = 0;
    for (const output of await Promise.all(outputs)) {
      process.stdout.write(output);
      const match = /handled (\d+) jobs \(sum (\d+)\)/.exec(output);
      total += Number(match?.[1] ?? 0);
      sum += Number(match?.[2] ?? 0);
    }
    console.log(`total ${total} jobs (expected ${JOBS}), sum ${sum} (expected ${expected})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
