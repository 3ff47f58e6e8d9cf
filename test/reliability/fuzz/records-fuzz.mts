// The RecordFile part of the fuzzer: this process writes a record file (push, set, live views, pop, truncate,
// flush, flushAsync, refresh, close and reopen, growth), a reader in a second process (records-peer.mts) refreshes
// and must see exactly the committed records, and now and then a third program cuts the file (truncate(2)) under
// both. A model of the records and the committed count, in plain JavaScript, predicts every value. After a cut:
// no crash; every failure of the writer is a coded error, and its flush reports ERR_MAPPING_TRUNCATED unless
// nothing was left to write; then the writer reopens (a cut file is refused with a coded error, or taken as a new
// empty one) and starts again with 'w+', the reader reopens, and the model checks resume. At the end the file,
// reopened, equals the model. Prints a JSON report last.
//   records-fuzz.mts SEED OPS DIR
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { int32, RecordFile, struct } from '../../../src/index.ts';
import { FuzzChecks, Mismatch } from '../../helpers/fuzz-checks.ts';
import { seededRandom } from '../../helpers/random.ts';
import { startPeer } from './peer-link.mts';

const Pair = struct({ a: int32, b: int32 });
interface Pair {
  a: number;
  b: number;
}
const seed = Number(process.argv[2]);
const totalOps = Number(process.argv[3]);
const path = join(process.argv[4]!, `records-${seed}.db`);
const MAX_RECORDS = 3000;
const HOSTILE = 'HOSTILE'; // the code of the error a hostile getter throws: it must come through unchanged

const { next: random, int } = seededRandom(seed);
const pair = (): Pair => ({ a: int(-(2 ** 31), 2 ** 31 - 1), b: int(-1000, 1000) });

let records: Pair[] = [];
let committed = 0;
const checks = new FuzzChecks(seed, () => `length ${records.length}, committed ${committed}`, 30, [HOSTILE]);
const { counts, codes } = checks;
const count = checks.count.bind(checks);
const fail = checks.fail.bind(checks);
const check = checks.check.bind(checks);
const codeOf = checks.codeOf.bind(checks);
const hashOf = (items: Pair[]) =>
  createHash('sha1')
    .update(items.map(({ a, b }) => `${a},${b}`).join(';'))
    .digest('hex');

const peer = startPeer(new URL('./records-peer.mts', import.meta.url).pathname, [path], checks);
const peerDo = peer.run;

// ---- the writer ----
const open = (mode: 'a+' | 'w+') => RecordFile.open(path, Pair, { mode, initialCapacity: int(1, 8) });
let db = open('w+');

/** A few operations right after a cut, and the way back: nothing may crash, every failure must be coded. */
async function afterCut(): Promise<void> {
  const size = statSync(path).size;
  const cut = int(0, Math.max(0, size - 1));
  await peerDo({ op: 'cut', size: cut });
  count('cut', String(cut));
  let recovered = false;
  for (let i = int(0, 4); i > 0; i--) {
    try {
      const n = db.length;
      const which = int(0, 3);
      if (which === 0) db.push(pair());
      else if (which === 1 && n > 0) db.set(int(0, n - 1), pair());
      else if (which === 2 && n > 0) db.get(int(0, n - 1));
      else {
        db.refresh();
        recovered = true; // refresh() maps what the cut left: push and flush may then succeed
      }
    } catch (error) {
      codeOf(error, 'an operation after a cut');
    }
  }
  // Something to write back, so that the flush must reach the file and report the cut (unless the push, growing
  // the file, reported it already).
  let reported: string | undefined;
  try {
    db.push(pair());
  } catch (error) {
    reported = codeOf(error, 'push after a cut');
  }
  try {
    db.flush();
  } catch (error) {
    reported = codeOf(error, 'flush after a cut');
  }
  check(
    reported === 'ERR_MAPPING_TRUNCATED' || (recovered && reported === undefined),
    `push and flush after a cut gave ${reported ?? 'no error'}${recovered ? ' (after a refresh)' : ''}`,
  );
  try {
    db.close();
  } catch (error) {
    codeOf(error, 'close after a cut');
  }
  check(db.closed, 'close after a cut left the file open');
  try {
    open('a+').close(); // a cut file is refused (coded), or an empty one taken as new
    count('reopen.accepted');
  } catch (error) {
    codeOf(error, 'reopen after a cut');
    count('reopen.refused');
  }
  db = open('w+');
  records = [];
  committed = 0;
  await peerDo({ op: 'open' }); // the documented way back for a reader: reopen
}

async function step(): Promise<void> {
  const roll = random();
  const n = records.length;
  if (roll < 0.25) {
    const values = Array.from({ length: int(1, 3) }, pair);
    check(db.push(...values) === n + values.length, 'push returned another length');
    records.push(...values);
    count('push', String(values.length));
  } else if (roll < 0.35 && n > 0) {
    const i = int(0, n - 1);
    const value = pair();
    db.set(i, value);
    records[i] = value;
    count('set', String(i));
  } else if (roll < 0.42 && n > 0) {
    const i = int(0, n - 1);
    const view = db.at(i);
    const value = pair();
    view.a = value.a;
    view.b = value.b;
    records[i] = value;
    count('at', String(i));
  } else if (roll < 0.55 && n > 0) {
    const i = int(0, n - 1);
    const got = db.get(i);
    check(
      got.a === records[i]!.a && got.b === records[i]!.b,
      `get(${i}) is ${JSON.stringify(got)}, expected ${JSON.stringify(records[i])}`,
    );
    count('get');
  } else if (roll < 0.58) {
    check(hashOf(db.slice()) === hashOf(records), 'slice() differs from the model');
    count('slice');
  } else if (roll < 0.61) {
    const got = db.pop();
    const want = records.pop();
    check(
      JSON.stringify(got) === JSON.stringify(want),
      `pop() gave ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`,
    );
    committed = Math.min(committed, records.length);
    count('pop');
  } else if (roll < 0.64 || n > MAX_RECORDS) {
    const length = int(0, n);
    db.truncate(length);
    records.length = length;
    committed = Math.min(committed, length);
    count('truncate', String(length));
  } else if (roll < 0.72) {
    db.flush();
    committed = records.length;
    count('flush');
  } else if (roll < 0.76) {
    await db.flushAsync();
    committed = records.length;
    count('flushAsync');
  } else if (roll < 0.79) {
    check(db.refresh() === records.length, 'refresh() of the writer changed its length');
    count('refresh');
  } else if (roll < 0.82) {
    db.close();
    committed = records.length; // close flushes
    db = open('a+');
    check(db.length === records.length, `reopened with ${db.length} records, expected ${records.length}`);
    count('reopen');
  } else if (roll < 0.95) {
    const answer = await peerDo({ op: 'check' });
    check(
      answer.length === committed,
      `the reader sees ${String(answer.length)} records, expected the ${committed} committed`,
    );
    check(answer.hash === hashOf(records.slice(0, committed)), 'the reader sees other records than the model');
  } else if (roll < 0.97) {
    await peerDo({ op: 'open' });
  } else if (roll < 0.975) {
    await afterCut();
  } else if (roll < 0.985) {
    // A value rejected late (its second field): nothing of it reaches the file, the model stays as it is.
    const bad =
      random() < 0.5
        ? { a: 1, b: 1.5 }
        : {
            a: 1,
            get b(): number {
              throw Object.assign(new Error('hostile'), { code: HOSTILE });
            },
          };
    const target = n > 0 && random() < 0.5 ? int(0, n - 1) : -1;
    try {
      if (target >= 0) db.set(target, bad);
      else db.push(bad);
      fail('a rejected value was accepted');
    } catch (error) {
      if (error instanceof Mismatch) throw error;
      const code = codeOf(error, 'a rejected value');
      check(code === 'ERR_OUT_OF_RANGE' || code === HOSTILE, `a rejected value gave ${code}`);
    }
    check(db.length === n, 'a rejected push changed the length');
    if (target >= 0) {
      const got = db.get(target);
      check(got.a === records[target]!.a && got.b === records[target]!.b, `a rejected set changed record ${target}`);
    }
    count('rejected', target >= 0 ? 'set' : 'push');
  } else if (roll < 0.995) {
    // A getter that writes to the file while its own value is being encoded: both writes land, in order.
    const inner = pair();
    const outer = pair();
    const hostile = {
      a: outer.a,
      get b(): number {
        db.push(inner);
        return outer.b;
      },
    };
    if (n > 0 && random() < 0.5) {
      const i = int(0, n - 1);
      db.set(i, hostile);
      records.push(inner);
      records[i] = outer;
      count('reentrant', 'set');
    } else {
      db.push(hostile);
      records.push(inner, outer);
      count('reentrant', 'push');
    }
  } else {
    const values = Array.from({ length: int(1, 40) }, pair);
    check(
      db.pushMany(
        (function* () {
          yield* values;
        })(),
      ) ===
        n + values.length,
      'pushMany returned another length',
    );
    records.push(...values);
    count('pushMany', String(values.length));
  }
}

let exitCode = 0;
try {
  for (checks.op = 0; checks.op < totalOps; checks.op++) await step();
  db.close();
  committed = records.length;
  const final = RecordFile.open(path, Pair, { mode: 'r' });
  check(final.length === records.length, `the file holds ${final.length} records, expected ${records.length}`);
  check(hashOf(final.slice()) === hashOf(records), 'the file holds other records than the model');
  final.close();
  await peerDo({ op: 'close' });
  console.log(JSON.stringify({ seed, ops: totalOps, finalLength: records.length, counts, codes, ok: true }));
} catch (error) {
  console.error(error instanceof Mismatch ? error.message : error);
  exitCode = 1;
} finally {
  peer.end();
}
process.exitCode = exitCode;
