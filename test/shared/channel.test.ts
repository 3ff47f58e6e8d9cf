/** Channel in one process: framing, wrap-around, every size, batches, waiting, typed messages, bad input. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Channel, MappedFile, char, int32, struct } from '../../src/index.js';
import { HEADER_SIZE, I_CAPACITY, I_RELEASED, I_WRITE } from '../../src/shared/channel-format.js';
import { useTempDir } from '../helpers/temp.js';

const dir = useTempDir('memmap-channel-');
let serial = 0;
/** Matches an error with this code. */
const code = (name: string): unknown => expect.objectContaining({ code: name });
/** The header words of the file at `path`, read with fs (not through the channel). */
function header(path: string): Int32Array {
  return new Int32Array(new Uint8Array(readFileSync(path).subarray(0, HEADER_SIZE)).buffer);
}
function fresh(capacity = 256): Channel {
  return Channel.open(dir(`c${serial++}`), { create: true, capacity });
}

describe('Channel', () => {
  it('creates a file of header + capacity and reopens it by path', () => {
    const path = dir('reopen');
    const a = Channel.open(path, { create: true, capacity: 1024 });
    expect(readFileSync(path).length).toBe(HEADER_SIZE + 1024);
    a.send('hello');
    const b = Channel.open(path);
    expect(b.capacity).toBe(1024);
    expect(b.maxMessage).toBe(1024 - 16);
    expect(b.receive().toString()).toBe('hello');
    a.close();
    b.close();
  });

  it('carries every size from 0 to maxMessage through many wrap-arounds, byte for byte', () => {
    const channel = fresh(256);
    for (let round = 0; round < 3; round++) {
      for (let size = 0; size <= channel.maxMessage; size++) {
        const message = Buffer.alloc(size);
        for (let i = 0; i < size; i++) message[i] = (i * 31 + size + round) & 0xff;
        channel.send(message);
        expect(channel.receive({ timeout: 0 }).equals(message)).toBe(true);
      }
    }
    expect(channel.tryReceive()).toBeUndefined();
    channel.close();
  });

  it('keeps order when many messages of mixed sizes wait in the ring across its end', () => {
    const channel = fresh(512);
    let sent = 0;
    let received = 0;
    for (let round = 0; round < 200; round++) {
      const batch: string[] = [];
      for (let k = 0; k < 1 + (round % 5); k++) batch.push(`${sent++}:${'y'.repeat((sent * 7) % 60)}`);
      channel.sendMany(batch);
      for (const message of channel.receiveMany(3 + (round % 4), { timeout: 0 }))
        expect(message.toString().split(':')[0]).toBe(String(received++));
    }
    for (let message = channel.tryReceive(); message; message = channel.tryReceive())
      expect(message.toString().split(':')[0]).toBe(String(received++));
    expect(received).toBe(sent);
    channel.close();
  });

  it('rejects a message longer than maxMessage with ERR_OUT_OF_RANGE and sends nothing of a bad batch', () => {
    const channel = fresh(128);
    expect(() => channel.send(Buffer.alloc(channel.maxMessage + 1))).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => channel.sendMany(['ok', Buffer.alloc(1000)])).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => channel.sendMany(['ok', 42 as unknown as string])).toThrow(code('ERR_INVALID_ARG_TYPE'));
    // A lone surrogate has no UTF-8 form: Buffer.write would send U+FFFD in its place.
    expect(() => channel.sendMany(['ok', 'a\ud800b'])).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => channel.send('\udfff')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(channel.tryReceive()).toBeUndefined();
    channel.send(Buffer.alloc(channel.maxMessage, 7));
    expect(channel.receive().length).toBe(channel.maxMessage);
    channel.close();
  });

  it('keeps to the ring in the header when the object is given a capacity or maxMessage of its own', () => {
    // Before, both were plain properties the channel read back: an own capacity of 2^20 on a 128-byte ring moved
    // where frames were written and read, and an own maxMessage let a message longer than the ring through.
    const channel = fresh(128);
    const other = Channel.open(channel.path);
    expect(() => ((channel as { capacity: number }).capacity = 1 << 20)).toThrow(TypeError); // a getter
    for (const [key, value] of [
      ['capacity', 1 << 20],
      ['maxMessage', 1 << 20],
    ] as const)
      Object.defineProperty(channel, key, { value });
    expect(() => channel.send(Buffer.alloc(113))).toThrow(code('ERR_OUT_OF_RANGE'));
    for (let round = 0; round < 40; round++) {
      const message = Buffer.alloc(1 + ((round * 37) % 112), round);
      channel.send(message);
      expect(other.receive({ timeout: 0 }).equals(message)).toBe(true);
    }
    expect(header(channel.path)[I_CAPACITY]).toBe(128);
    expect(statSync(channel.path).size).toBe(HEADER_SIZE + 128);
    other.close();
    channel.close();
  });

  it('sends a batch larger than the ring in parts while a consumer drains it', async () => {
    const channel = fresh(256);
    const messages = Array.from({ length: 100 }, (_, i) => `m${i}`);
    const sending = channel.sendManyAsync(messages);
    const got: string[] = [];
    while (got.length < 100) got.push((await channel.receiveAsync({ timeout: 5000 })).toString());
    await sending;
    expect(got).toEqual(messages);
    channel.close();
  });

  it('times out (ERR_CHANNEL_TIMEOUT), aborts (ABORT_ERR), and fails fast when full with whenFull: error', async () => {
    const channel = fresh(128);
    expect(() => channel.receive({ timeout: 0 })).toThrow(code('ERR_CHANNEL_TIMEOUT'));
    expect(() => channel.receive({ timeout: 30 })).toThrow(code('ERR_CHANNEL_TIMEOUT'));
    await expect(channel.receiveAsync({ timeout: 30 })).rejects.toMatchObject({ code: 'ERR_CHANNEL_TIMEOUT' });
    const controller = new AbortController();
    const pending = channel.receiveAsync({ signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORT_ERR', name: 'AbortError' });
    await expect(channel.receiveAsync({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });

    const strict = Channel.open(channel.path, { whenFull: 'error' });
    let sent = 0;
    expect(() => {
      for (;;) {
        strict.send('12345678');
        sent++;
      }
    }).toThrow(code('ERR_CHANNEL_FULL'));
    expect(sent).toBe(Math.floor((128 - 8) / 16));
    expect(() => channel.send('x', { timeout: 20 })).toThrow(code('ERR_CHANNEL_TIMEOUT'));
    // A waiting sender goes on when a consumer frees room.
    const waiting = channel.sendAsync('after', { timeout: 5000 });
    channel.receive();
    await waiting;
    for (let i = 0; i < sent - 1; i++) channel.receive();
    expect(channel.receive().toString()).toBe('after');
    strict.close();
    channel.close();
  });

  it('wakes an async receiver when a message arrives, without blocking the event loop', async () => {
    const channel = fresh(256);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const pending = channel.receiveAsync({ timeout: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    channel.send('wake');
    expect((await pending).toString()).toBe('wake');
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(2);
    channel.close();
  });

  it('lends a view into the ring until the next receive', () => {
    const channel = fresh(128);
    channel.sendMany(['first', 'second']);
    const view = channel.receiveBorrowed();
    expect(view.toString()).toBe('first');
    // The borrowed frame holds its bytes: the ring cannot reuse them.
    const released = header(channel.path)[I_RELEASED];
    expect(released).toBe(0);
    expect(channel.receive().toString()).toBe('second');
    expect(header(channel.path)[I_RELEASED]).toBeGreaterThan(0);
    channel.close();
  });

  it('iterates with for await until closed', async () => {
    const channel = fresh(256);
    channel.sendMany(['a', 'b', 'c']);
    const got: string[] = [];
    for await (const message of channel) {
      got.push(message.toString());
      if (got.length === 3) setTimeout(() => channel.close(), 20);
    }
    expect(got).toEqual(['a', 'b', 'c']);
    expect(() => channel.send('x')).toThrow(code('ERR_MAPPING_CLOSED'));
    expect(() => channel.tryReceive()).toThrow(code('ERR_MAPPING_CLOSED'));
  });

  it('carries typed records through Channel.of(struct)', async () => {
    const Student = struct({ name: char(8), age: int32 });
    const path = dir('typed');
    const out = Channel.of(Student).open(path, { create: true, capacity: 256 });
    const into = Channel.of(Student).open(path);
    out.send({ name: 'ada', age: 36 });
    out.sendMany([
      { name: 'alan', age: 41 },
      { name: 'grace', age: 85 },
    ]);
    const first = into.receive();
    expect(first).toEqual({ name: 'ada', age: 36 });
    expect(into.receiveMany(5)).toEqual([
      { name: 'alan', age: 41 },
      { name: 'grace', age: 85 },
    ]);
    await out.sendAsync({ name: 'bob', age: 1 });
    expect(await into.receiveAsync()).toEqual({ name: 'bob', age: 1 });
    expect(into.tryReceive()).toBeUndefined();
    into.channel.send('nonsense');
    expect(() => into.receive()).toThrow(code('ERR_CHANNEL_CORRUPT'));
    out.close();
    into.close();
  });

  it('rejects bad arguments with codes before touching anything', () => {
    expect(() => Channel.open(42 as unknown as string)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => Channel.open(dir('x'), { create: true, capacity: 100 })).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => Channel.open(dir('x'), { create: true, capacity: 32 })).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => Channel.open(dir('x'), { create: true, capacity: '1' as unknown as number })).toThrow(
      code('ERR_INVALID_ARG_TYPE'),
    );
    expect(() => Channel.open(dir('x'), { whenFull: 'drop' as 'wait' })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => Channel.open(dir('missing'))).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open' }));
    const channel = fresh(128);
    expect(() => Channel.open(channel.path, { capacity: 256 })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => channel.send(null as unknown as string)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => channel.sendMany('abc' as unknown as string[])).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => channel.receive({ timeout: -1 })).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => channel.receive({ signal: {} as AbortSignal })).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => channel.receiveMany(0)).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => Channel.of({} as never)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    channel.send('kept');
    expect(channel.receive().toString()).toBe('kept');
    channel.close();
  });

  it('sends the batch it checked, whatever the caller does to the array after (a getter, or during an await)', async () => {
    const channel = fresh(256);
    const grown = ['a', 'b'];
    channel.sendMany(grown, {
      get timeout() {
        grown.push('late');
        return 1000;
      },
    });
    const emptied = ['c', 'd'];
    await channel.sendManyAsync(emptied, {
      get timeout() {
        emptied.length = 0;
        return 1000;
      },
    });
    expect(channel.receiveMany(10).map(String)).toEqual(['a', 'b', 'c', 'd']);
    // An error names the message it is about.
    expect(() => channel.sendMany(['ok', 'ok', 7 as unknown as string])).toThrow(/messages\[2\]/);
    expect(channel.tryReceive()).toBeUndefined();
    channel.close();
  });

  it('a view that lies about its length, or items swapped while a send waits, never write past their frame', async () => {
    const channel = fresh(256);
    class Liar extends Uint8Array {
      override get byteLength(): number {
        return 4;
      }
    }
    // The engine's length counts: a liar longer than the largest message is refused, a shorter one sent whole.
    expect(() => channel.send(new Liar(channel.maxMessage + 1))).toThrow(code('ERR_OUT_OF_RANGE'));
    channel.sendMany([new Liar(40).fill(7), 'next']);
    expect([...channel.receive()]).toEqual(new Array<number>(40).fill(7));
    expect(channel.receive().toString()).toBe('next');
    channel.close();
    // Fill the ring so that the batch waits; then swap its items for longer ones and detach one it holds.
    const ring = fresh(256);
    ring.send(Buffer.alloc(220), { timeout: 5000 });
    const small = new Uint8Array(8).fill(1);
    const batch: (string | Uint8Array)[] = [small, 'b'];
    const sending = ring.sendManyAsync(batch, { timeout: 5000 });
    batch[0] = Buffer.alloc(200, 9);
    batch[1] = Buffer.alloc(200, 9);
    structuredClone(small.buffer, { transfer: [small.buffer] });
    expect((await ring.receiveAsync({ timeout: 5000 })).length).toBe(220);
    await sending;
    const [first, second] = ring.receiveMany(2, { timeout: 5000 });
    expect([first?.length, second?.toString()]).toEqual([8, 'b']); // the detached one: its length, no bytes
    ring.send('after', { timeout: 5000 });
    expect(ring.receive({ timeout: 5000 }).toString()).toBe('after');
    ring.close();
  });

  it('rejects foreign and damaged files with ERR_CHANNEL_INVALID and leaves them untouched', () => {
    const cases: Record<string, Buffer> = {
      empty: Buffer.alloc(0),
      short: Buffer.from('MMCH'),
      text: Buffer.from('a'.repeat(4096)),
      zeros: Buffer.alloc(HEADER_SIZE + 256),
    };
    const good = fresh(256);
    good.close();
    const original = readFileSync(good.path);
    const mutate = (at: number, value: number): Buffer => {
      const copy = Buffer.from(original);
      copy.writeInt32LE(value, at);
      return copy;
    };
    cases.version = mutate(4, 2);
    cases.capacity = mutate(8, 200);
    cases.maxMessage = mutate(16, 250);
    cases.flags = mutate(20, 1);
    cases.truncated = original.subarray(0, HEADER_SIZE + 128);
    for (const [name, bytes] of Object.entries(cases)) {
      const path = dir(`foreign-${name}`);
      writeFileSync(path, bytes);
      expect(() => Channel.open(path), name).toThrow(expect.objectContaining({ code: 'ERR_CHANNEL_INVALID', path }));
      expect(() => Channel.open(path, { create: true }), name).toThrow(code('ERR_CHANNEL_INVALID'));
      expect(readFileSync(path).equals(bytes), name).toBe(true);
    }
  });

  it('refuses a FIFO or a directory with a code at once (open(2) of a FIFO would wait for a writer for ever)', () => {
    const fifo = dir('fifo');
    execFileSync('mkfifo', [fifo]);
    for (const options of [{}, { create: true }])
      expect(() => Channel.open(fifo, options)).toThrow(expect.objectContaining({ code: 'ERR_NOT_REGULAR_FILE' }));
    const directory = dir('directory');
    mkdirSync(directory);
    for (const options of [{}, { create: true }])
      expect(() => Channel.open(directory, options)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });

  it('creates through a temporary file and leaves none behind, whether it or another creator won', () => {
    const parent = dir('creators');
    mkdirSync(parent);
    const path = join(parent, 'ring');
    const first = Channel.open(path, { create: true, capacity: 256 });
    const second = Channel.open(path, { create: true, capacity: 256 }); // EEXIST inside: opens the first's file
    first.send('one');
    expect(second.receive().toString()).toBe('one');
    expect(readdirSync(parent)).toEqual(['ring']);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    first.close();
    second.close();
  });

  it('answers hostile words in the shared memory with ERR_CHANNEL_CORRUPT, never a crash or a hang', () => {
    const path = dir('hostile');
    const channel = Channel.open(path, { create: true, capacity: 256 });
    channel.send('abc');
    using raw = MappedFile.open(path, { mode: 'r+' });
    const words = new Int32Array(raw.buffer.buffer, raw.buffer.byteOffset, raw.length / 4);
    words[HEADER_SIZE / 4 + 1] = 0x7fffffff; // the frame's length word
    expect(() => channel.receive({ timeout: 0 })).toThrow(code('ERR_CHANNEL_CORRUPT'));
    words[I_WRITE] = 0; // a stale hint (legal: a producer died before moving it) that leads over the broken frame
    expect(() => channel.send('x')).toThrow(code('ERR_CHANNEL_CORRUPT'));
    words[HEADER_SIZE / 4 + 1] = 3;
    words[HEADER_SIZE / 4] = 77; // an unknown state
    expect(() => channel.receive({ timeout: 0 })).toThrow(code('ERR_CHANNEL_CORRUPT'));
    // Every frame says "consumed, 0 bytes": the chain never reaches a free word.
    for (let i = 0; i < 256 / 4; i += 2) {
      words[HEADER_SIZE / 4 + i] = 2;
      words[HEADER_SIZE / 4 + i + 1] = 0;
    }
    words[I_RELEASED] = 8;
    expect(() => channel.send('x')).toThrow(code('ERR_CHANNEL_CORRUPT'));
    channel.close();
  });
});
