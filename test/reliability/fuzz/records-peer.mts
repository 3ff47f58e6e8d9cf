// The RecordFile fuzzer's second process: a reader (mode 'r') of the record file, and the "third program" that
// cuts the file with a plain truncate(2). One JSON command per stdin line, one JSON answer per line, in order.
//   records-peer.mts PATH
import { createHash } from 'node:crypto';
import { truncateSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { int32, RecordFile, struct } from '../../../src/index.ts';

const Pair = struct({ a: int32, b: int32 });
const path = process.argv[2]!;
let reader: RecordFile<typeof Pair> | undefined;

type Command = { op: 'open' } | { op: 'check' } | { op: 'cut'; size: number } | { op: 'close' };

function handle(command: Command): unknown {
  switch (command.op) {
    case 'open':
      reader?.close();
      reader = undefined;
      reader = RecordFile.open(path, Pair, { mode: 'r' });
      return { ok: true };
    case 'check': {
      if (reader === undefined) reader = RecordFile.open(path, Pair, { mode: 'r' });
      const length = reader.refresh();
      const records = reader
        .slice()
        .map(({ a, b }) => `${a},${b}`)
        .join(';');
      return { ok: true, length, hash: createHash('sha1').update(records).digest('hex') };
    }
    case 'cut':
      truncateSync(path, command.size);
      return { ok: true };
    case 'close':
      reader?.close();
      reader = undefined;
      return { ok: true };
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  let answer: unknown;
  try {
    answer = handle(JSON.parse(line) as Command);
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: string };
    answer = { ok: false, code, message };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
