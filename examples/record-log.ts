/**
 * A persistent event log as a RecordFile: one process appends events and commits them every 100 writes; another,
 * unrelated process follows the log with refresh() and sees each batch as soon as it is committed.
 *
 *   node --import tsx examples/record-log.ts                 runs both (the writer here, the reader as a child)
 *   node --import tsx examples/record-log.ts follow FILE N   the reader: waits for N committed events, prints them
 *   npx memmap inspect FILE                                  the log's header, its struct as C, its first events
 *
 * The reader is started the way this process was (the same runtime flags), so it runs however your project runs
 * TypeScript (tsx, Node 24's type stripping, Bun). examples/follow.ts shows the same without polling.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { char, float64, RecordFile, struct, uint8, uint32 } from 'memmap';

/** struct event { double time; uint32_t id; uint8_t level; char message[19]; }: 32 bytes. */
const Event = struct({ time: float64, id: uint32, level: uint8, message: char(19) });
const LEVELS = ['debug', 'info', 'warn', 'error'];

async function follow(path: string, want: number): Promise<void> {
  using log = RecordFile.open(path, Event, { mode: 'r' });
  console.log(`reader: following ${path}`);
  let seen = 0;
  let batches = 0;
  while (seen < want) {
    // refresh() reads the committed count (and remaps if the writer grew the file).
    if (log.refresh() > seen) {
      batches++;
      seen = log.length;
    } else await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const errors = log.slice().filter((event) => LEVELS[event.level] === 'error').length;
  const last = log.get(log.length - 1);
  console.log(`reader: ${log.length} events in ${batches} refreshes, ${errors} errors`);
  console.log(`reader: last event #${last.id} [${LEVELS[last.level]}] ${last.message}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-log-'));
  try {
    const path = join(dir, 'events.log');
    const total = 1000;
    // The writer: commits (msync the new events, then the count) after every 100 events.
    const log = RecordFile.open(path, Event, { mode: 'w+', initialCapacity: 64, flush: { everyWrites: 100 } });
    const reader = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), 'follow', path, String(total)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const done = new Promise<number | null>((resolve) => reader.on('close', resolve));
    // Start writing once the reader follows the log.
    await new Promise<void>((resolve) =>
      reader.stdout.on('data', (chunk: Buffer) => {
        process.stdout.write(chunk);
        if (chunk.toString().includes('following')) resolve();
      }),
    );
    for (let id = 0; id < total; id++) {
      log.push({ time: Date.now(), id, level: id % 97 === 0 ? 3 : id % 3, message: `event ${id}` });
      if (id % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 2)); // let the reader run meanwhile
    }
    const capacity = log.capacity;
    log.close(); // commits whatever the last batch left
    console.log(`writer: ${total} events committed, capacity grew from 64 to ${capacity} records`);
    const code = await done;
    if (code !== 0) throw new Error(`the reader exited with ${code}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [command, path, want] = process.argv.slice(2);
if (command === 'follow') await follow(path!, Number(want));
else await main();
