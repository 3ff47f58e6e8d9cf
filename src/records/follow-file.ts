/**
 * followFile: follow a record file that may not exist yet. The follower waits for the writer to create it (woken
 * by fs.watch on its directory, with a timeout), opens it read-only and follows it (./follow.ts), and closes it
 * when the iteration ends, however it ends.
 */
import type { AnyFieldType, Infer } from '../layout/field.js';
import { invalidArgType } from '../errors.js';
import { checkFollowFileOptions, waitForFile, type FollowFileOptions } from './follow.js';
import { validateLayout } from './layout-adapter.js';
import { RecordFile } from './record-file.js';

/**
 * Every committed record of the record file at `path` (records of `layout`), from `options.from` on, as
 * `RecordFile.follow` yields them; if the file does not exist yet (or is still being created), first waits for it,
 * at most `options.createTimeoutMs` (then ERR_RECORD_FILE_WAIT_TIMEOUT). The file is opened with mode 'r' and
 * closed when the iteration ends.
 */
export function followFile<S extends AnyFieldType>(
  path: string | URL,
  layout: S,
  options: FollowFileOptions = {},
): AsyncGenerator<Infer<S>, void, undefined> {
  if (typeof path !== 'string' && !(path instanceof URL))
    throw invalidArgType('path', 'of type string or an instance of URL', path);
  validateLayout(layout);
  const { follow, createTimeout } = checkFollowFileOptions(options);
  return run(path, layout, follow, createTimeout);
}

async function* run<S extends AnyFieldType>(
  path: string | URL,
  layout: S,
  follow: ReturnType<typeof checkFollowFileOptions>['follow'],
  createTimeout: number,
): AsyncGenerator<Infer<S>, void, undefined> {
  const db = await waitForFile(
    path,
    (shown) => RecordFile.open(shown, layout, { mode: 'r' }),
    createTimeout,
    follow.recheckMs ?? 1000,
    follow.signal,
  );
  try {
    yield* db.follow(follow);
  } finally {
    db.close();
  }
}
