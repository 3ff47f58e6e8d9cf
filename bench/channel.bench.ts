/**
 * Channel between two processes against Node's other ways for processes to talk, and against C on the same
 * protocol (bench/c/channel-bench.c through include/memmap/channel.h):
 * - throughput of 64-byte and 4 KiB messages, one producer process to one consumer process: the Channel with the
 *   batch API (sendMany/receiveMany) and one message a call, process.send (Node's IPC channel), a Unix domain
 *   socket through `net`, and the C program;
 * - round-trip latency of a 64-byte message (ping-pong through two channels) against the same.
 * Each row is the time for MESSAGES messages (ratios > 1 are faster than process.send), timed by the parent from
 * the moment the child is ready, so process start-up is not counted.
 * Standalone: `node --import tsx bench/channel.bench.ts`. This file is also its own worker (MEMMAP_BENCH_CHANNEL).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, printTable, type BenchTable, type Measurement } from './harness.ts';
import { Channel } from '../src/shared/channel.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const CAPACITY = 1 << 22;
/** Messages per throughput row (scaled down for the slow baselines, and reported per this many). */
const SCALE = Number(process.env.MEMMAP_BENCH_SCALE ?? 1);
const MESSAGES = 1_000_000 * SCALE;
const ROUND_TRIPS = 20_000 * SCALE;

type Role = { mode: string; args: string[] };

// ---------------------------------------------------------------------------------------------- child side
async function child(role: Role): Promise<void> {
  const [a, b, countText, sizeText] = role.args;
  const count = Number(countText);
  const size = Number(sizeText);
  const payload = Buffer.alloc(size || 0, 0x78);
  if (role.mode === 'channel-batch' || role.mode === 'channel-single') {
    const out = Channel.open(a!);
    const control = Channel.open(b!);
    process.send!('ready');
    control.receive();
    const batch = Math.max(1, Math.floor(65536 / (size + 8)));
    if (role.mode === 'channel-batch') {
      const messages = new Array<Buffer>(batch).fill(payload);
      for (let n = 0; n < count; n += batch) out.sendMany(n + batch <= count ? messages : messages.slice(0, count - n));
    } else for (let n = 0; n < count; n++) out.send(payload);
  } else if (role.mode === 'process-send') {
    const text = 'x'.repeat(size);
    process.on('message', () => {
      void (async () => {
        // Respect back-pressure: process.send returns false when the pipe is full.
        for (let n = 0; n < count; n++) if (!process.send!(text)) await new Promise((resolve) => setImmediate(resolve));
      })();
    });
    process.send!('ready');
    return;
  } else if (role.mode === 'socket') {
    const socket = createConnection(a!);
    await new Promise((resolve) => socket.once('connect', resolve));
    process.send!('ready');
    await new Promise((resolve) => process.once('message', resolve));
    for (let n = 0; n < count; n++) {
      if (!socket.write(payload)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    // Until every byte is handed to the kernel: process.exit() below drops what is still queued, and the parent
    // would wait for ever for the rest.
    await new Promise<void>((resolve) => socket.end(resolve));
  } else if (role.mode === 'channel-echo') {
    const input = Channel.open(a!);
    const output = Channel.open(b!);
    process.send!('ready');
    for (let n = 0; n < count; n++) output.send(input.receiveBorrowed());
  } else if (role.mode === 'process-echo') {
    process.on('message', (message) => process.send!(message));
    process.send!('ready');
    return;
  } else if (role.mode === 'socket-echo') {
    const socket = createConnection(a!);
    socket.on('data', (chunk) => socket.write(chunk));
    await new Promise((resolve) => socket.once('connect', resolve));
    process.send!('ready');
    return;
  }
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------- parent side
function start(mode: string, args: string[]): Promise<ChildProcess> {
  const worker = fork(SELF, [], {
    env: { ...process.env, MEMMAP_BENCH_CHANNEL: JSON.stringify({ mode, args }) },
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
  });
  return new Promise((resolve, reject) => {
    worker.once('message', () => resolve(worker));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`bench worker ${mode} exited (${code}) before it was ready`)));
  });
}

function ended(worker: ChildProcess): Promise<void> {
  return worker.exitCode !== null ? Promise.resolve() : new Promise((resolve) => worker.once('exit', () => resolve()));
}

/**
 * A Unix socket server at `path` and its first connection. The server's 'connection' event and the child's 'ready'
 * message race, so a row waits for both.
 */
async function listen(path: string): Promise<{ server: Server; connection: Promise<Socket> }> {
  let connected!: (socket: Socket) => void;
  const connection = new Promise<Socket>((resolve) => (connected = resolve));
  const server = createServer((socket) => {
    connected(socket);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, connection };
}

function fresh(dir: string, name: string): Channel {
  return Channel.open(join(dir, name), { create: true, capacity: CAPACITY });
}

async function channelThroughput(dir: string, size: number, count: number, batch: boolean): Promise<number> {
  const data = fresh(dir, `data-${size}-${batch}`);
  const control = fresh(dir, `control-${size}-${batch}`);
  const mode = batch ? 'channel-batch' : 'channel-single';
  const worker = await start(mode, [data.path, control.path, String(count), String(size)]);
  const begin = performance.now();
  control.send('go');
  let received = 0;
  if (batch) while (received < count) received += data.receiveMany(4096).length;
  else
    while (received < count) {
      data.receiveBorrowed();
      received++;
    }
  const ms = performance.now() - begin;
  await ended(worker);
  data.close();
  control.close();
  return ms;
}

async function processSendThroughput(size: number, count: number): Promise<number> {
  const worker = await start('process-send', ['', '', String(count), String(size)]);
  let received = 0;
  const done = new Promise<void>((resolve) =>
    worker.on('message', () => {
      if (++received === count) resolve();
    }),
  );
  const begin = performance.now();
  worker.send('go');
  await done;
  const ms = performance.now() - begin;
  worker.kill();
  return ms;
}

async function socketThroughput(dir: string, size: number, count: number): Promise<number> {
  const path = join(dir, `sock-${size}`);
  const { server, connection } = await listen(path);
  const worker = await start('socket', [path, '', String(count), String(size)]);
  const socket = await connection;
  let bytes = 0;
  const total = count * size;
  const done = new Promise<void>((resolve) =>
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes >= total) resolve();
    }),
  );
  const begin = performance.now();
  worker.send('go');
  await done;
  const ms = performance.now() - begin;
  await ended(worker);
  server.close();
  return ms;
}

function cThroughput(binary: string, dir: string, size: number, count: number): number {
  const data = fresh(dir, `c-${size}`);
  data.close();
  return Number(execFileSync(binary, ['throughput', data.path, String(count), String(size)], { encoding: 'utf8' }));
}

async function channelRoundTrip(dir: string, count: number): Promise<number> {
  const ping = fresh(dir, 'ping');
  const pong = fresh(dir, 'pong');
  const worker = await start('channel-echo', [ping.path, pong.path, String(count)]);
  const message = Buffer.alloc(64, 0x70);
  const begin = performance.now();
  for (let n = 0; n < count; n++) {
    ping.send(message);
    pong.receiveBorrowed();
  }
  const ms = performance.now() - begin;
  await ended(worker);
  ping.close();
  pong.close();
  return ms;
}

async function processRoundTrip(count: number): Promise<number> {
  const worker = await start('process-echo', []);
  const text = 'p'.repeat(64);
  const begin = performance.now();
  for (let n = 0; n < count; n++) {
    const reply = new Promise((resolve) => worker.once('message', resolve));
    worker.send(text);
    await reply;
  }
  const ms = performance.now() - begin;
  worker.kill();
  return ms;
}

async function socketRoundTrip(dir: string, count: number): Promise<number> {
  const path = join(dir, 'sock-rt');
  const { server, connection: accepted } = await listen(path);
  const worker = await start('socket-echo', [path]);
  const connection = await accepted;
  const message = Buffer.alloc(64, 0x70);
  const begin = performance.now();
  for (let n = 0; n < count; n++) {
    let got = 0;
    const reply = new Promise<void>((resolve) => {
      const onData = (chunk: Buffer): void => {
        got += chunk.length;
        if (got >= 64) {
          connection.off('data', onData);
          resolve();
        }
      };
      connection.on('data', onData);
    });
    connection.write(message);
    await reply;
  }
  const ms = performance.now() - begin;
  worker.kill();
  server.close();
  return ms;
}

function cRoundTrip(binary: string, dir: string, count: number): number {
  const a = fresh(dir, 'c-ping');
  const b = fresh(dir, 'c-pong');
  a.close();
  b.close();
  return Number(execFileSync(binary, ['pingpong', a.path, b.path, String(count)], { encoding: 'utf8' }));
}

/** Scales a time for `count` messages to MESSAGES messages. */
function per(name: string, ms: number, count: number, scale = MESSAGES): Measurement {
  return { name, ms: (ms * scale) / count };
}

/** The channel tables: throughput at 64 B and 4 KiB, and the round trip. */
export default async function run(): Promise<BenchTable[]> {
  const dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : tmpdir(), 'memmap-bench-channel-'));
  const binary = join(dir, 'channel-bench');
  const source = join(here, 'c/channel-bench.c');
  execFileSync('cc', ['-std=gnu11', '-O2', '-I', join(here, '../include'), '-o', binary, source]);
  const tables: BenchTable[] = [];
  try {
    for (const size of [64, 4096]) {
      const big = size > 64;
      const n = big ? MESSAGES / 10 : MESSAGES;
      const rows: Measurement[] = [];
      rows.push(per('process.send', await processSendThroughput(size, n / 10), n / 10));
      rows.push(per('unix socket (net)', await socketThroughput(dir, size, n), n));
      rows.push(per('Channel sendMany/receiveMany', await channelThroughput(dir, size, n, true), n));
      rows.push(per('Channel send/receive', await channelThroughput(dir, size, n / 4, false), n / 4));
      rows.push(per('C channel.h send/receive', cThroughput(binary, dir, size, n), n));
      tables.push({
        title:
          `Channel throughput, ${size}-byte messages between two processes ` +
          `(ms per ${MESSAGES.toLocaleString('en')} messages)`,
        baseline: 'process.send',
        rows,
        note: ratios(rows, 'C channel.h send/receive', false),
      });
    }
    const rows: Measurement[] = [];
    rows.push(per('process.send', await processRoundTrip(ROUND_TRIPS / 4), ROUND_TRIPS / 4, ROUND_TRIPS));
    rows.push(per('unix socket (net)', await socketRoundTrip(dir, ROUND_TRIPS / 4), ROUND_TRIPS / 4, ROUND_TRIPS));
    rows.push(per('Channel send + receive', await channelRoundTrip(dir, ROUND_TRIPS), ROUND_TRIPS, ROUND_TRIPS));
    rows.push(per('C channel.h', cRoundTrip(binary, dir, ROUND_TRIPS), ROUND_TRIPS, ROUND_TRIPS));
    tables.push({
      title:
        'Channel round trip of a 64-byte message between two processes ' +
        `(ms per ${ROUND_TRIPS.toLocaleString('en')} round trips)`,
      baseline: 'process.send',
      rows,
      note: ratios(rows, 'C channel.h', true),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tables;
}

/** The goals' ratios: the best Channel row against process.send, the socket and C (issue 17). */
function ratios(rows: Measurement[], c: string, latency: boolean): string {
  const ms = (name: string): number => rows.find((row) => row.name.startsWith(name))!.ms;
  const best = rows.filter((row) => row.name.startsWith('Channel')).reduce((m, row) => Math.min(m, row.ms), Infinity);
  const against =
    `${(ms('process.send') / best).toFixed(1)}× process.send, ` +
    `${(ms('unix socket') / best).toFixed(1)}× the Unix socket`;
  return latency
    ? `Channel round trip: ${against}; it takes ${(best / ms(c)).toFixed(2)}× C's time (goal: <= 2×).`
    : `Best Channel row: ${against}, ${(ms(c) / best).toFixed(2)}× C's throughput on the same header ` +
        '(goal: >= 0.5×; ' +
        'goal for 64 B: >= 100× process.send).';
}

const role = process.env.MEMMAP_BENCH_CHANNEL;
if (role !== undefined) await child(JSON.parse(role) as Role);
else if (process.argv[1] === SELF) {
  console.log(`# memmap channel benchmark\n\nMachine: ${machine()}`);
  for (const table of await run()) printTable(table);
}
