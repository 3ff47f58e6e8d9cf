/**
 * What a call threw, for tests that assert codes (never messages): `thrown` returns the error itself, `codeOf` its
 * code, and `caught` / `caughtAsync` a plain description that a child process can print as JSON for its parent.
 * `returned` is the other outcome: what a call typed `void` gave back.
 */

/** An error as the tests look at it: Node's coded shape, every field optional. */
export interface Thrown extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  /** Which part of a record file's header differs (ERR_RECORD_FILE_MISMATCH). */
  field?: string;
}

/** Runs `call`, which must throw; returns what it threw (a call that returns fails the test). */
export function thrown(call: () => unknown): Thrown {
  try {
    call();
  } catch (error) {
    return error as Thrown;
  }
  throw new Error('expected a throw');
}

/** The `code` of what `call` threw, or undefined when it returned (or threw something without a code). */
export function codeOf(call: () => unknown): string | undefined {
  try {
    call();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/**
 * What `call` did, as one string to compare: the code it threw, `uncoded <error>` for an error without a code (a
 * bug: every error memmap throws has one), or `no error`.
 */
export function outcome(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    return (error as { code?: string }).code ?? `uncoded ${String(error)}`;
  }
  return 'no error';
}

/** What `call` returned: for asserting what a function typed `void` really returns (undefined, as mmap-io's do). */
export function returned(call: () => unknown): unknown {
  return call();
}

/** The fields `caught` reports by default: the code, and where a system error has them, errno, syscall and path. */
const SYSTEM_FIELDS = ['code', 'errno', 'syscall', 'path'] as const;

/**
 * What `call` did, as plain data: `{ threw: false }`, or `{ threw: true }` with each of `fields` that the error
 * has (an absent field is left out, as JSON would).
 */
export function caught(call: () => unknown, fields: readonly string[] = SYSTEM_FIELDS): Record<string, unknown> {
  try {
    call();
    return { threw: false };
  } catch (error) {
    return describe(error, fields);
  }
}

/** As `caught`, for a promise-returning call: how it settled. */
export async function caughtAsync(
  call: () => Promise<unknown>,
  fields: readonly string[] = SYSTEM_FIELDS,
): Promise<Record<string, unknown>> {
  try {
    await call();
    return { threw: false };
  } catch (error) {
    return describe(error, fields);
  }
}

function describe(error: unknown, fields: readonly string[]): Record<string, unknown> {
  const described: Record<string, unknown> = { threw: true };
  for (const field of fields) {
    const value: unknown = (error as Record<string, unknown>)[field];
    if (value !== undefined) described[field] = value;
  }
  return described;
}
