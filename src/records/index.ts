/** Persistent record files: a header (docs/format.md) and fixed-size records in a mapped file. */
export { RecordFile, type FlushPolicy, type RecordFileMode, type RecordFileOptions } from './record-file.js';
export type { RecordFileError } from './errors.js';
export type { Column } from './columns.js';
export { FORMAT_VERSION as RECORD_FILE_FORMAT_VERSION } from './format.js';
export { followFile } from './follow-file.js';
export type {
  FollowFileOptions,
  FollowOptions,
  TruncatedError,
  WaitForAsyncOptions,
  WaitForOptions,
} from './follow.js';
