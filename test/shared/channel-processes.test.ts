/**
 * Channel between real processes: several producers to one consumer (exactly once, per-producer order), and
 * kill -9 of a producer or a consumer stopped in the middle of a step by the MEMMAP_CHANNEL_TEST_STALL hook.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Channel } from '../../src/index.js';
import { useTempDir } from '../helpers/temp.js';

const WORKER = new URL('./fixtures/channel-worker.mts', import.meta.url).pathname;
const dir = useTempDir('memmap-channel-proc-');
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

interface Worker {
  child: ChildProcess;
  /** Resolves once the worker printed `line`. */
  printed(line: string): Promise<void>;
  /** Resolves with everything it printed once it exits. */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

function worker(args: string[], env: Record<string, string> = {}): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  let output = '';
  const listeners: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, output })),
  );
  return {
    child,
    ended,
    printed: (line) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (output.includes(line)) resolve();
        };
        listeners.push(check);
        check();
        void ended.then(() =>
          output.includes(line) ? resolve() : reject(new Error(`worker ended before "${line}": ${output}`)),
        );
      }),
  };
}

function message(id: string, n: number): string {
  return `${id}:${n}:${'x'.repeat((n * 13) % 97)}`;
}

/** Receives `count` messages on the event loop (the pool does the waiting). */
async function receiveAll(channel: Channel, count: number): Promise<string[]> {
  const got: string[] = [];
  while (got.length < count) {
    for (const bytes of await channel.receiveManyAsync(64, { timeout: 60_000 })) got.push(bytes.toString());
  }
  return got;
}

describe('Channel between processes', () => {
  it("delivers all of three producers' messages exactly once, in per-producer order, via a small ring", async () => {
    const path = dir('mpsc');
    const channel = Channel.open(path, { create: true, capacity: 1024 });
    const count = 400;
    const producers = [
      worker(['produce', path, 'a', String(count)]),
      worker(['produce', path, 'b', String(count), '7']),
      worker(['produce', path, 'c', String(count), '50']),
    ];
    const got = await receiveAll(channel, 3 * count);
    for (const producer of producers) expect((await producer.ended).code).toBe(0);
    expect(channel.tryReceive()).toBeUndefined();
    for (const id of ['a', 'b', 'c']) {
      const mine = got.filter((line) => line.startsWith(`${id}:`));
      expect(mine).toEqual(Array.from({ length: count }, (_, n) => message(id, n)));
    }
    channel.close();
  }, 120_000);

  it('gives each message to exactly one of two consumer processes (a work queue)', async () => {
    const path = dir('mpmc');
    const channel = Channel.open(path, { create: true, capacity: 2048 });
    const consumers = [worker(['consume', path, '300']), worker(['consume-async', path, '200'])];
    await Promise.all(consumers.map((consumer) => consumer.printed('ready')));
    const all = Array.from({ length: 500 }, (_, n) => message('q', n));
    for (let n = 0; n < all.length; n += 10) await channel.sendManyAsync(all.slice(n, n + 10), { timeout: 60_000 });
    const outputs = await Promise.all(consumers.map((consumer) => consumer.ended));
    const received = outputs.flatMap(({ code, output }) => {
      expect(code).toBe(0);
      return output.split('\n').filter((line) => line.startsWith('q:'));
    });
    expect(received.length).toBe(500);
    expect(new Set(received).size).toBe(500);
    // Each consumer sees its share in ring order.
    for (const { output } of outputs) {
      const lines = output.split('\n').filter((line) => line.startsWith('q:'));
      const numbers = lines.map((line) => Number(line.split(':')[1]));
      expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
    }
    channel.close();
  }, 120_000);

  for (const step of ['claimed', 'writing'] as const) {
    it(`skips the frame of a producer killed -9 at "${step}" and never exposes it`, async () => {
      const path = dir(`dead-producer-${step}`);
      const channel = Channel.open(path, { create: true, capacity: 512 });
      channel.send('before');
      const victim = worker(['produce', path, 'victim', '1'], { MEMMAP_CHANNEL_TEST_STALL: step });
      await victim.printed(`stalled ${step}`);
      victim.child.kill('SIGKILL');
      expect((await victim.ended).signal).toBe('SIGKILL');
      // A live producer sends after the dead one's frame, and more than the ring holds in total.
      const survivor = worker(['produce', path, 's', '100', '5']);
      const got = await receiveAll(channel, 101);
      expect((await survivor.ended).code).toBe(0);
      expect(got[0]).toBe('before');
      expect(got.slice(1)).toEqual(Array.from({ length: 100 }, (_, n) => message('s', n)));
      expect(got.some((line) => line.startsWith('victim'))).toBe(false);
      channel.close();
    }, 120_000);
  }

  it('keeps a gap-free prefix of a batch whose producer was killed -9 between its commits', async () => {
    const path = dir('dead-batch');
    const channel = Channel.open(path, { create: true, capacity: 1024 });
    const victim = worker(['produce', path, 'victim', '6', '6'], { MEMMAP_CHANNEL_TEST_STALL: 'batch' });
    await victim.printed('stalled batch');
    victim.child.kill('SIGKILL');
    await victim.ended;
    const survivor = worker(['produce', path, 's', '50', '4']);
    const got = await receiveAll(channel, 52);
    expect((await survivor.ended).code).toBe(0);
    const survivors = Array.from({ length: 50 }, (_, n) => message('s', n));
    expect(got).toEqual([message('victim', 0), message('victim', 1), ...survivors]);
    expect(channel.tryReceive()).toBeUndefined();
    channel.close();
  }, 120_000);

  it('loses at most the message a consumer killed -9 mid-receive held, and the ring goes on', async () => {
    const path = dir('dead-consumer');
    const channel = Channel.open(path, { create: true, capacity: 256 });
    channel.sendMany(['m0', 'm1', 'm2']);
    const victim = worker(['consume', path, '1'], { MEMMAP_CHANNEL_TEST_STALL: 'reading' });
    await victim.printed('stalled reading');
    victim.child.kill('SIGKILL');
    await victim.ended;
    expect(channel.receive().toString()).toBe('m1');
    expect(channel.receive().toString()).toBe('m2');
    // The dead consumer's frame still holds the ring's front; a producer that needs its bytes repairs it.
    const producer = worker(['produce', path, 'p', '200', '3']);
    const got = await receiveAll(channel, 200);
    expect((await producer.ended).code).toBe(0);
    expect(got).toEqual(Array.from({ length: 200 }, (_, n) => message('p', n)));
    channel.close();
  }, 120_000);

  it('survives producers killed -9 at random moments: no torn message, each producer a gap-free prefix', async () => {
    const path = dir('random-kills');
    const channel = Channel.open(path, { create: true, capacity: 1024 });
    const victims = ['v1', 'v2', 'v3'].map((id, i) => worker(['produce', path, id, '100000', String(1 + i * 4)]));
    await Promise.all(victims.map((victim) => victim.printed('ready')));
    const got: string[] = [];
    // Drain while they run; kill each after a different delay.
    const draining = (async () => {
      for (;;) {
        const batch = await channel.receiveManyAsync(256, { timeout: 60_000 });
        for (const bytes of batch) got.push(bytes.toString());
        if (got.at(-1) === 'end') return;
      }
    })();
    for (const [i, victim] of victims.entries()) {
      await new Promise((resolve) => setTimeout(resolve, 150 + 100 * i));
      victim.child.kill('SIGKILL');
      await victim.ended;
    }
    channel.send('end');
    await draining;
    for (const id of ['v1', 'v2', 'v3']) {
      const mine = got.filter((line) => line.startsWith(`${id}:`));
      // Well-formed (the padding length follows from n) and 0, 1, 2, ... with no gap or repeat.
      mine.forEach((line, n) => expect(line).toBe(message(id, n)));
    }
    expect(got.filter((line) => !/^v\d:/.test(line))).toEqual(['end']);
    channel.close();
  }, 120_000);
});
