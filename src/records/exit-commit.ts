/**
 * What happens to a writer the program never closed when the process exits. A plain JavaScript program on Node 20
 * has no `using`, so forgetting `close()` is easy; the pushed records are in the file, but the count that makes
 * them records is not. At a normal exit (the event loop ran dry, or `process.exit()`), every open writer is closed,
 * which commits it, as close() would have, unless its policy is 'manual' (the program commits at points of its
 * choosing). After an uncaught exception nothing is committed (a crash keeps the last completed flush, as
 * documented). Whenever records are left uncommitted, a warning naming the file goes to stderr.
 * An open writer is therefore held until it is closed, as an open file descriptor is.
 */
import { writeSync } from 'node:fs';

/** What the exit hook asks of a writer: commit (or not) and say what was left. */
export type AtExit = (crashed: boolean) => void;

const writers = new Map<object, AtExit>();
let installed = false;
let crashed = false;

/** Registers an open writer (until `forget`). */
export function rememberWriter(writer: object, atExit: AtExit): void {
  if (!installed) {
    installed = true;
    process.on('uncaughtExceptionMonitor', () => {
      crashed = true;
    });
    process.on('exit', () => {
      for (const atExit of [...writers.values()]) atExit(crashed);
      writers.clear();
    });
  }
  writers.set(writer, atExit);
}

/** The writer was closed. */
export function forgetWriter(writer: object): void {
  writers.delete(writer);
}

/** A warning on stderr, written at once (at exit there is no later tick for process.emitWarning). */
export function warnAtExit(message: string): void {
  try {
    writeSync(2, `(memmap) warning: ${message}\n`);
  } catch {
    // stderr closed: nowhere to say it
  }
}
