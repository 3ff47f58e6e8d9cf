// The fuzzer's second process: holds its own MappedFile of the same file and, one JSON command per stdin line,
// writes through it, resizes it, flushes it, or truncates the file with plain fs calls. Answers one JSON line per
// command, in order. Before each command it catches up with what the other process did to the file: a file now
// shorter than its mapping must show `truncated` and make flush() throw ERR_MAPPING_TRUNCATED; then refresh().
//   peer.mts PATH
import { createHash } from 'node:crypto';
import { statSync, truncateSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { MappedFile } from '../../../src/index.ts';

const path = process.argv[2]!;
let file: MappedFile | undefined;
let refreshed = 0;
let sawTruncated = 0;

function codeOf(call: () => unknown): string | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string') throw error;
    return code;
  }
}

/** Maps the file as it is now; returns false when it is empty (nothing to map). */
function catchUp(): boolean {
  const size = statSync(path).size;
  if (file !== undefined) {
    const end = file.offset + file.length;
    if (size < end) {
      // the other process shrank it: this mapping must say so, and flush must refuse to pretend
      if (!file.truncated)
        throw new Error(`peer: file shrank to ${size} under a mapping to ${end}, truncated is false`);
      const code = codeOf(() => file!.flush());
      if (code !== 'ERR_MAPPING_TRUNCATED') throw new Error(`peer: flush after truncation gave ${code}`);
      sawTruncated++;
    } else if (file.truncated) {
      throw new Error(`peer: truncated is true but the file (${size}) covers the mapping (${end})`);
    }
    if (size === 0) {
      file.close();
      file = undefined;
    } else if (size !== end) {
      file.refresh();
      refreshed++;
    }
  }
  if (file === undefined && size > 0) file = MappedFile.open(path, { mode: 'r+' });
  return file !== undefined;
}

type Command =
  | { op: 'write'; at: number; hex: string }
  | { op: 'resize'; size: number }
  | { op: 'regrow'; to: number; back: number }
  | { op: 'cut'; size: number }
  | { op: 'pid' }
  | { op: 'flush' }
  | { op: 'flushAsync' }
  | { op: 'hash' }
  | { op: 'stats' };

async function handle(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'write': {
      if (!catchUp()) throw new Error('peer: write to an empty file');
      file!.buffer.set(Buffer.from(command.hex, 'hex'), command.at);
      return { ok: true };
    }
    case 'resize': {
      if (catchUp()) file!.resize(command.size);
      else file = MappedFile.open(path, { mode: 'r+', size: command.size });
      return { ok: true };
    }
    case 'regrow': {
      // another program entirely: shrink, then grow back, between two of the first process's accesses
      truncateSync(path, command.to);
      truncateSync(path, command.back);
      return { ok: true };
    }
    case 'cut':
      // another program shrinks the file while the first process's threads work on its mapping
      truncateSync(path, command.size);
      return { ok: true };
    case 'pid':
      return { ok: true, pid: process.pid };
    case 'flush':
      if (catchUp()) file!.flush();
      return { ok: true };
    case 'flushAsync':
      if (catchUp()) await file!.flushAsync();
      return { ok: true };
    case 'hash': {
      const bytes = catchUp() ? file!.buffer : Buffer.alloc(0);
      return { ok: true, size: bytes.length, hash: createHash('sha1').update(bytes).digest('hex') };
    }
    case 'stats':
      file?.close();
      file = undefined;
      return { ok: true, refreshed, sawTruncated };
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  let answer: unknown;
  try {
    answer = await handle(JSON.parse(line) as Command);
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    answer = { ok: false, code, message };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
