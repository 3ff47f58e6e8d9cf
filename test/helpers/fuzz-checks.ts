/**
 * What every fuzzer checks after each operation, and how it reports a failure: the seed, the operation number and
 * the last operations it ran, so that the run is repeated by its seed and the failure read without a debugger.
 * Coded errors are counted by code (a fuzzer prints the counts, which shows which refusals it reached), and every
 * code must be one memmap may throw: its closed list (src/error-codes.ts) or an errno name, or one of the codes the
 * fuzzer's own hostile callbacks throw (passed as `ownCodes`, which memmap must let through unchanged).
 */
import { constants } from 'node:os';
import { MEMMAP_ERROR_CODES, NODE_ERROR_CODES } from '../../src/error-codes.js';

/** Whether memmap may throw `code`: one of its own or Node's listed codes, or an errno name (ENOENT, EIO, ...). */
export function isListedCode(code: string): boolean {
  return (
    Object.hasOwn(MEMMAP_ERROR_CODES, code) ||
    Object.hasOwn(NODE_ERROR_CODES, code) ||
    Object.hasOwn(constants.errno, code)
  );
}

/** A fuzzer's model and the library disagreed. Never swallowed by `expectCode` / `codeOf`. */
export class Mismatch extends Error {}

/** One fuzz run's bookkeeping. */
export class FuzzChecks {
  /** The number of the operation running now. */
  op = 0;
  /** How many times each operation ran. */
  readonly counts: Record<string, number> = {};
  /** How many times each error code was thrown (as expected). */
  readonly codes: Record<string, number> = {};
  readonly #recent: string[] = [];

  /**
   * @param seed the run's seed, printed with a failure
   * @param state describes the model's state, appended to each operation in the trail
   * @param keep how many of the last operations a failure prints
   * @param ownCodes codes the fuzzer's own callbacks throw (a hostile getter's error must come through as it is)
   */
  constructor(
    readonly seed: number,
    private readonly state: () => string = () => '',
    private readonly keep = 40,
    private readonly ownCodes: readonly string[] = [],
  ) {}

  /** Records that operation `name` ran (with `detail`), for the counts and the trail. */
  count(name: string, detail = ''): void {
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    this.#recent.push(`#${this.op} ${name} ${detail} [${this.state()}]`);
    if (this.#recent.length > this.keep) this.#recent.shift();
  }

  /** Throws a Mismatch with the seed, the operation and the trail. */
  fail(message: string): never {
    const trail = this.#recent.join('\n  ');
    throw new Mismatch(`seed ${this.seed}, op ${this.op}: ${message}\nlast operations:\n  ${trail}`);
  }

  /** Fails with `message` unless `condition`. */
  check(condition: boolean, message: string): void {
    if (!condition) this.fail(message);
  }

  /** The code of a thrown error, counted; fails if it has none or one off the closed list; rethrows a Mismatch. */
  codeOf(error: unknown, what: string): string {
    if (error instanceof Mismatch) throw error;
    const code = (error as { code?: unknown } | undefined)?.code;
    if (typeof code !== 'string') this.fail(`${what} threw an error without a code: ${String(error)}`);
    if (!isListedCode(code) && !this.ownCodes.includes(code))
      this.fail(`${what} threw ${code}, which is not on memmap's closed list of codes: ${String(error)}`);
    this.codes[code] = (this.codes[code] ?? 0) + 1;
    return code;
  }

  /** Runs `call`, expecting it to throw the coded error `code` (or nothing when undefined). */
  expectCode<T>(code: string | undefined, what: string, call: () => T): T | undefined {
    let result: T;
    try {
      result = call();
    } catch (error) {
      const got = this.codeOf(error, what);
      this.check(got === code, `${what} threw ${got}, expected ${code ?? 'no error'}: ${(error as Error).message}`);
      return undefined;
    }
    this.check(code === undefined, `${what} succeeded, expected ${code}`);
    return result;
  }

  /** `expectCode` for a promise. */
  async expectCodeAsync(code: string | undefined, what: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      const got = this.codeOf(error, what);
      this.check(got === code, `${what} rejected with ${got}, expected ${code ?? 'no error'}`);
      return;
    }
    this.check(code === undefined, `${what} resolved, expected ${code}`);
  }
}
