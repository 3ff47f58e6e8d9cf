/**
 * include/memmap/mutex.h: a C program and Node processes take the same Mutex in a mapped file. The header is
 * compiled with the machine's `cc`; the C peer is test/shared/fixtures/mutex-peer.c.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { MappedFile } from '../../src/mapped-file.js';
import { Mutex } from '../../src/shared/index.js';
import { compileC, runC } from '../helpers/cc.js';
import { type ChildResult } from '../helpers/child.js';
import { useTempDir } from '../helpers/temp.js';
import { ended, runWorker, startWorker, useIpcCleanup } from './helpers.js';

const tmp = useTempDir();
const cleanup = useIpcCleanup();
const INCLUDE = fileURLToPath(new URL('../../include', import.meta.url));
const PEER_SOURCE = readFileSync(new URL('./fixtures/mutex-peer.c', import.meta.url), 'utf8');
let peer: string;

beforeAll(() => {
  peer = compileC(tmp, 'mutex-peer', PEER_SOURCE, [`-I${INCLUDE}`, '-Wextra', '-Werror']);
});

function sharedFile(name: string): string {
  const path = tmp(name);
  writeFileSync(path, Buffer.alloc(4096));
  return path;
}

/** Runs the C peer to completion. */
function runPeer(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(peer, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Starts the C peer and resolves once it printed `line` (it keeps running). */
function startPeer(args: string[], line: string): Promise<ChildProcess> {
  const child = spawn(peer, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(line)) resolve(child);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => reject(new Error(`peer ended (${code ?? signal}) before ${line}: ${output}`)));
  });
}

describe('include/memmap/mutex.h: C and Node take the same Mutex', () => {
  it('the header compiles with -Wall -Wextra -pedantic in C11 and C++, and its return values hold on hostile words', () => {
    const probe = `#include "memmap/mutex.h"\nint main(void) { memmap_mutex m = {0}; return memmap_mutex_lock(&m) | memmap_mutex_unlock(&m); }\n`;
    compileC(tmp, 'probe-c11', probe, [`-I${INCLUDE}`, '-std=c11', '-D_GNU_SOURCE', '-Wextra', '-pedantic', '-Werror']);
    writeFileSync(tmp('probe.cc'), probe);
    runC('c++', ['-x', 'c++', `-I${INCLUDE}`, '-Wall', '-Wextra', '-Werror', '-o', tmp('probe-cc'), tmp('probe.cc')]);
    expect(runC(tmp('probe-cc'))).toBe('');
    const path = sharedFile('selftest.bin');
    expect(runC(peer, [path, 'selftest'])).toBe('ok\n');
  });

  it('2 C processes and 3 Node processes (lock and lockAsync) increment one counter non-atomically: exact', async () => {
    const path = sharedFile('contend.bin');
    const results = await Promise.all([
      runPeer([path, 'add', '50000']),
      runPeer([path, 'add', '50000']),
      runWorker(path, ['mutex-add', '20000']),
      runWorker(path, ['mutex-add', '20000']),
      runWorker(path, ['mutex-add-async', '5000']),
    ]);
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0, signal: null });
    using file = MappedFile.open(path, { mode: 'r' });
    expect(file.buffer.readInt32LE(8)).toBe(2 * 50_000 + 2 * 20_000 + 5_000);
    expect(file.buffer.readInt32LE(0)).toBe(0); // unlocked, no waiter bit left behind
  });

  it("a C owner killed -9 in the critical section: Node takes the lock and is told 'owner-died'", async () => {
    const path = sharedFile('c-dies.bin');
    const holder = cleanup.child(await startPeer([path, 'hold'], 'locked'));
    using file = MappedFile.open(path, { mode: 'r+' });
    const mutex = new Mutex(file.buffer, 0);
    expect(mutex.owner).toBe(holder.pid);
    expect(mutex.tryLock()).toBe(false);
    const taker = runWorker(path, ['take', '10000']);
    holder.kill('SIGKILL');
    expect(await ended(holder)).toEqual({ code: null, signal: 'SIGKILL' });
    const result = await taker;
    expect(result, result.stderr).toMatchObject({ code: 0, signal: null });
    expect(result.stdout.trim()).toBe('owner-died 1');
    expect(mutex.owner).toBe(0);
  });

  it("a Node owner killed -9 in the critical section: C takes the lock and is told 'owner-died'", async () => {
    const path = sharedFile('node-dies.bin');
    const holder = cleanup.child(await startWorker(path, ['hold'], 'locked'));
    expect((await runPeer([path, 'trylock'])).stdout.trim()).toBe('busy');
    const taker = runPeer([path, 'take', '10000']);
    holder.kill('SIGKILL');
    expect(await ended(holder)).toEqual({ code: null, signal: 'SIGKILL' });
    const result = await taker;
    expect(result, result.stderr).toMatchObject({ code: 0, signal: null });
    expect(result.stdout.trim()).toBe('owner-died 1');
    using file = MappedFile.open(path, { mode: 'r' });
    expect(new Mutex(file.buffer, 0).owner).toBe(0);
  });

  it('C times out while Node holds the lock, and Node times out while C holds it', async () => {
    const path = sharedFile('timeouts.bin');
    using file = MappedFile.open(path, { mode: 'r+' });
    const mutex = new Mutex(file.buffer, 0);
    expect(mutex.lock()).toBe('acquired');
    expect((await runPeer([path, 'take', '50'])).stdout.trim()).toBe('timed-out 0');
    mutex.unlock();
    const holder = cleanup.child(await startPeer([path, 'hold'], 'locked'));
    expect(() => mutex.lock({ timeout: 50 })).toThrow(expect.objectContaining({ code: 'ERR_MUTEX_TIMEOUT' }));
    await expect(mutex.lockAsync({ timeout: 50 })).rejects.toMatchObject({ code: 'ERR_MUTEX_TIMEOUT' });
    expect(() => mutex.unlock()).toThrow(expect.objectContaining({ code: 'ERR_MUTEX_NOT_OWNER' }));
    holder.kill('SIGKILL');
    await ended(holder);
  });
});
