/**
 * Channel between Node and C: a C program built from include/memmap/channel.h with `cc` sends to and receives
 * from Node processes, both ways and across the ring's end, and agrees with the TypeScript on every constant.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../src/index.js';
import * as format from '../../src/shared/channel-format.js';
import { compileC } from '../helpers/cc.js';
import { useTempDir } from '../helpers/temp.js';

const INCLUDE = fileURLToPath(new URL('../../include', import.meta.url));
const SOURCE = readFileSync(new URL('./fixtures/channel-peer.c', import.meta.url), 'utf8');
const dir = useTempDir('memmap-channel-c-');
let peer = '';
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

beforeAll(() => {
  peer = compileC(dir, 'channel-peer', SOURCE, ['-I', INCLUDE, '-Wextra', '-Werror']);
});

interface Peer {
  child: ChildProcess;
  output: Promise<{ code: number | null; signal: string | null; stdout: string }>;
  printed: (line: string) => Promise<void>;
}

function run(args: string[], env: Record<string, string> = {}): Peer {
  const child = spawn(peer, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let stdout = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters) waiter();
  });
  const output = new Promise<{ code: number | null; signal: string | null; stdout: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout })),
  );
  const printed = (line: string): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (stdout.includes(line)) resolve();
      };
      waiters.push(check);
      check();
    });
  return { child, output, printed };
}

function message(id: string, n: number): string {
  return `${id}:${n}:${'x'.repeat((n * 13) % 97)}`;
}

async function receiveAll(channel: Channel, count: number): Promise<string[]> {
  const got: string[] = [];
  while (got.length < count)
    for (const bytes of await channel.receiveManyAsync(64, { timeout: 60_000 })) got.push(bytes.toString());
  return got;
}

describe('Channel with a C peer (include/memmap/channel.h)', () => {
  it('agrees with the TypeScript on the magic, the offsets and the states', () => {
    const numbers = execFileSync(peer, ['constants'], { encoding: 'utf8' }).trim().split(' ').map(Number);
    expect(numbers).toEqual([
      format.MAGIC,
      format.VERSION,
      format.HEADER_SIZE,
      format.FRAME_HEADER,
      format.I_WRITE * 4,
      format.I_READ * 4,
      format.I_RELEASED * 4,
      format.I_NOT_EMPTY * 4,
      format.I_NOT_EMPTY_WAITERS * 4,
      format.I_NOT_FULL * 4,
      format.I_NOT_FULL_WAITERS * 4,
      format.CLAIMED >>> 0,
      format.WRITING >>> 0,
      format.READING >>> 0,
      format.COMMITTED,
      format.CONSUMED,
      format.PADDING,
      format.ABANDONED,
    ]);
  });

  it('C sends to Node through a ring it wraps many times', async () => {
    const path = dir('c-to-node');
    const channel = Channel.open(path, { create: true, capacity: 512 });
    const sender = run(['send', path, '2000']);
    const got = await receiveAll(channel, 2000);
    expect((await sender.output).code).toBe(0);
    expect(got).toEqual(Array.from({ length: 2000 }, (_, n) => message('c', n)));
    channel.close();
  }, 60_000);

  it('Node sends to C, and C echoes back to Node: both directions at once, every size, across the end', async () => {
    const toC = dir('to-c');
    const fromC = dir('from-c');
    const out = Channel.open(toC, { create: true, capacity: 1024 });
    const back = Channel.open(fromC, { create: true, capacity: 256 });
    const sizes = Array.from({ length: back.maxMessage + 1 }, (_, size) => size);
    const messages = sizes.map((size) => Buffer.from(Array.from({ length: size }, (_, i) => 97 + ((i + size) % 26))));
    const echo = run(['echo', toC, fromC, String(messages.length)]);
    const sending = (async () => {
      for (const bytes of messages) await out.sendAsync(bytes, { timeout: 60_000 });
    })();
    const got: Buffer[] = [];
    while (got.length < messages.length) got.push(await back.receiveAsync({ timeout: 60_000 }));
    await sending;
    expect((await echo.output).code).toBe(0);
    got.forEach((bytes, i) => expect(bytes.equals(Buffer.from(messages[i]!).reverse())).toBe(true));
    out.close();
    back.close();
  }, 60_000);

  it('Node producers and a C consumer: the C receives every message once, in order', async () => {
    const path = dir('node-to-c');
    const channel = Channel.open(path, { create: true, capacity: 512 });
    const receiver = run(['receive', path, '500']);
    await receiver.printed('ready');
    const all = Array.from({ length: 500 }, (_, n) => message('n', n));
    for (let n = 0; n < 500; n += 25) await channel.sendManyAsync(all.slice(n, n + 25), { timeout: 60_000 });
    const { code, stdout } = await receiver.output;
    expect(code).toBe(0);
    expect(stdout.split('\n').filter((line) => line.startsWith('n:'))).toEqual(all);
    channel.close();
  }, 60_000);

  it('a Node consumer skips a C producer killed -9 mid-send; C gets -EPROTO for a foreign file', async () => {
    const path = dir('dead-c');
    const channel = Channel.open(path, { create: true, capacity: 512 });
    const victim = run(['send', path, '1'], { MEMMAP_CHANNEL_TEST_STALL: 'writing' });
    await victim.printed('stalled writing');
    victim.child.kill('SIGKILL');
    await victim.output;
    channel.send('after');
    expect(channel.receive({ timeout: 10_000 }).toString()).toBe('after');
    channel.close();
    const foreign = await run(['receive', dir('c-to-node') + '.missing', '1']).output;
    expect(foreign.code).toBe(2);
    const notChannel = dir('not-a-channel');
    execFileSync('sh', ['-c', `head -c 4096 /dev/zero > '${notChannel}'`]);
    expect((await run(['receive', notChannel, '1']).output).code).toBe(2);
  }, 60_000);
});
