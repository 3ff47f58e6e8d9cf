/**
 * What happens to a writer the program never closed when the process exits. A plain JavaScript program on Node 20
 * has no `using`, so forgetting `close()` is easy; the pushed records are in the file, but the count that makes
 * them records is not. At a normal exit (the event loop ran dry, or `process.exit()`), every open writer is closed,
 * which commits it, as close() would have, unless its policy is 'manual' (the program commits at points of its
 * choosing). After an uncaught exception nothing is committed (a crash keeps the last completed flush, as
 * documented). Whenever records are left uncommitted, a warning naming the file goes to stderr.
 * An open writer is therefore held until it is closed, as an open file descriptor is.
 */
// node:fs here only for this process's stderr (file-io.ts states the rule).
import { writeSync } from 'node:fs';

const writers = new Map<object, OpenWriter>();
let installed = false;
let crashed = false;

/** Registers an open writer (until `forgetWriter`). */
export function rememberWriter(key: object, writer: OpenWriter): void {
  if (!installed) {
    installed = true;
    process.on('uncaughtExceptionMonitor', () => {
      crashed = true;
    });
    process.on('exit', () => {
      for (const writer of [...writers.values()]) commitAtExit(writer, crashed);
      writers.clear();
    });
  }
  writers.set(key, writer);
}

/** The writer was closed. */
export function forgetWriter(writer: object): void {
  writers.delete(writer);
}

/** What `commitAtExit` needs of a writer left open. */
export interface OpenWriter {
  /** The RecordFile. */
  readonly file: { readonly path: string; readonly closed: boolean; close(): void };
  /** Its flush policy is 'manual': the program commits at points of its choosing, so exit does not. */
  readonly manual: boolean;
  /** A shared writer commits inside withLock() only: nothing of it is left uncommitted outside. */
  readonly shared: boolean;
  /** Records pushed but not committed (throws when the file was cut). */
  uncommitted(): number;
}

/**
 * The exit hook's work for one writer: close it (which commits) at a normal exit, or, after a crash or under the
 * 'manual' policy, leave it and warn about what stays uncommitted.
 */
function commitAtExit(writer: OpenWriter, crashed: boolean): void {
  const { file } = writer;
  if (file.closed) return;
  if (crashed || writer.manual || writer.shared) {
    let left = 0;
    try {
      left = writer.shared ? 0 : writer.uncommitted();
    } catch {
      // a cut file: nothing to count
    }
    if (left > 0)
      warnAtExit(
        `record file '${file.path}' was not closed: ${String(left)} record(s) pushed since its last flush are ` +
          `not committed (${crashed ? 'the process ended with an uncaught exception' : "its flush policy is 'manual'"}). ` +
          'Call close() (or flush()) before the process ends',
      );
    return;
  }
  try {
    file.close();
  } catch (error) {
    warnAtExit(`record file '${file.path}' was not closed, and committing it at exit failed: ${String(error)}`);
  }
}

/** A warning on stderr, written at once (at exit there is no later tick for process.emitWarning). */
export function warnAtExit(message: string): void {
  try {
    writeSync(2, `(memmap) warning: ${message}\n`);
  } catch {
    // stderr closed: nowhere to say it
  }
}
